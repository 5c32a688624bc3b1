"""Training sets with planted overlap and known truth, for tests, demos and calibration.

Given source documents and a pool of prose that is *not* in the source, build training
documents of these kinds (``kind`` in the truth):

* ``copy``: a source document verbatim.
* ``edit``: a source document with light edits (about 1 word in 100 replaced, some case
  and punctuation changes).
* ``truncation``: the first 60% of a source document's words.
* ``embedded``: a passage of >= 100 words of a source document inside ~1,500 words of
  unrelated prose.
* ``thread``: all posts of one forum thread, in order.
* ``unrelated``: unrelated prose only.

Truth is measured in normalised words (:func:`commons.normalize.words`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from commons.normalize import words

KINDS = ("copy", "edit", "truncation", "embedded", "thread", "unrelated")


@dataclass(frozen=True)
class SourceDoc:
    """A source unit (page or post) as planted from."""

    doc_id: str
    text: str
    thread: str | None = None


@dataclass
class PlantedSet:
    """Training rows and the truth about each."""

    rows: list[dict[str, str]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)

    def truth(self, source_docs: list[SourceDoc]) -> dict[str, Any]:
        """True shares in both directions (documents and words)."""
        t_words = sum(lab["words"] for lab in self.labels)
        t_overlap = sum(lab["overlap_words"] for lab in self.labels)
        overlapping = sum(1 for lab in self.labels if lab["kind"] != "unrelated")
        cover: dict[str, float] = {}
        for lab in self.labels:
            for doc_id, frac in lab["source_cover"].items():
                cover[doc_id] = max(cover.get(doc_id, 0.0), frac)
        s_words = {d.doc_id: len(words(d.text)) for d in source_docs}
        total_s = sum(s_words.values())
        counts: dict[str, int] = {k: 0 for k in KINDS}
        for lab in self.labels:
            counts[lab["kind"]] += 1
        return {
            "train_docs": len(self.labels),
            "train_docs_overlapping": overlapping,
            "train_doc_share": overlapping / len(self.labels) if self.labels else 0.0,
            "train_words": t_words,
            "train_word_share": t_overlap / t_words if t_words else 0.0,
            "source_docs": len(source_docs),
            "source_docs_in_training": len(cover),
            "source_doc_share": len(cover) / len(source_docs) if source_docs else 0.0,
            "source_word_share": (sum(s_words[d] * f for d, f in cover.items()) / total_s
                                  if total_s else 0.0),
            "kinds": counts,
        }


def _edit(text: str, rng: random.Random) -> str:
    toks = text.split()
    for i in range(len(toks)):
        r = rng.random()
        if r < 0.01:
            toks[i] = rng.choice(toks)
        elif r < 0.03:
            toks[i] = toks[i].upper() if rng.random() < 0.5 else toks[i].rstrip(".,;:") + ","
    return " ".join(toks)


def _prose(pool: list[str], n_words: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    total = 0
    while total < n_words:
        p = rng.choice(pool)
        out.append(p)
        total += len(p.split())
    return out


def plant(source: list[SourceDoc], pool: list[str], counts: dict[str, int], seed: int,
          unrelated_words: tuple[int, int] = (150, 600), host_words: int = 1500,
          passage_words: int = 120, long_page_words: int = 2000) -> PlantedSet:
    """Build a training set with ``counts[kind]`` documents of each kind, shuffled.

    Args:
        source: the source units to plant from (posts carry their ``thread``).
        pool: paragraphs of prose absent from the source.
        counts: documents per kind (see module doc).
        seed: makes the set reproducible.
        unrelated_words: length range of unrelated documents.
        host_words: words of unrelated prose around an embedded passage.
        passage_words: words of an embedded passage (>= 100).
        long_page_words: embedded passages come from pages at least this long (or from the
            longest pages when there are none).
    """
    rng = random.Random(seed)
    out = PlantedSet()
    pages = [d for d in source if d.thread is None]
    threads: dict[str, list[SourceDoc]] = {}
    for d in source:
        if d.thread is not None:
            threads.setdefault(d.thread, []).append(d)
    long_pages = [d for d in pages if len(d.text.split()) >= long_page_words] or sorted(
        pages, key=lambda d: -len(d.text.split()))[:10]

    def add(text: str, kind: str, cover: dict[str, float], overlap: int) -> None:
        out.rows.append({"text": text})
        out.labels.append({"kind": kind, "words": len(words(text)), "overlap_words": overlap,
                           "source_cover": cover})

    picks = rng.sample(pages, min(len(pages), counts.get("copy", 0) + counts.get("edit", 0)
                                  + counts.get("truncation", 0)))
    for kind in ("copy", "edit", "truncation"):
        for _ in range(counts.get(kind, 0)):
            if not picks:
                break
            d = picks.pop()
            n = len(words(d.text))
            if kind == "copy":
                add(d.text, kind, {d.doc_id: 1.0}, n)
            elif kind == "edit":
                add(_edit(d.text, rng), kind, {d.doc_id: 0.98}, n)
            else:
                toks = d.text.split()
                text = " ".join(toks[: max(1, int(len(toks) * 0.6))])
                m = len(words(text))
                add(text, kind, {d.doc_id: m / n}, m)
    for _ in range(counts.get("embedded", 0)):
        d = rng.choice(long_pages)
        toks = d.text.split()
        start = rng.randint(0, max(0, len(toks) - passage_words))
        passage = " ".join(toks[start : start + passage_words])
        host = _prose(pool, host_words, rng)
        host.insert(rng.randint(1, len(host) - 1) if len(host) > 1 else 1, passage)
        m = len(words(passage))
        add("\n\n".join(host), "embedded", {d.doc_id: m / len(words(d.text))}, m)
    thread_ids = rng.sample(sorted(threads), min(len(threads), counts.get("thread", 0)))
    for tid in thread_ids:
        posts = threads[tid]
        text = "\n\n".join(p.text for p in posts)
        add(text, "thread", {p.doc_id: 1.0 for p in posts}, len(words(text)))
    for _ in range(counts.get("unrelated", 0)):
        n = rng.randint(*unrelated_words)
        add("\n\n".join(_prose(pool, n, rng)), "unrelated", {}, 0)
    order = list(range(len(out.rows)))
    rng.shuffle(order)
    shuffled = PlantedSet()
    for new_id, i in enumerate(order):
        shuffled.rows.append({"id": f"train-{new_id:06d}", **out.rows[i]})
        shuffled.labels.append({"id": f"train-{new_id:06d}", **out.labels[i]})
    return shuffled


def unrelated_pool(paragraphs: list[str], source_texts: list[str], ngram: int = 8) -> list[str]:
    """The paragraphs that share no ``ngram``-word run with any source text (or each other).

    Use it to build the "unrelated" prose of a planted set from a corpus that the source was
    itself made from.
    """
    seen: set[tuple[str, ...]] = set()
    for text in source_texts:
        toks = words(text)
        seen.update(tuple(toks[i : i + ngram]) for i in range(max(1, len(toks) - ngram + 1)))
    pool: list[str] = []
    for p in paragraphs:
        toks = words(p)
        grams = {tuple(toks[i : i + ngram]) for i in range(max(1, len(toks) - ngram + 1))}
        if grams & seen:
            continue
        seen |= grams
        pool.append(p)
    return pool


def distinct_docs(docs: list[SourceDoc], ngram: int = 8) -> list[SourceDoc]:
    """The documents that share no ``ngram``-word run with any other document.

    Planting only from these keeps the truth exact: a copy of one page then overlaps no
    other page of the source.
    """
    owners: dict[tuple[str, ...], set[str]] = {}
    grams_of: dict[str, set[tuple[str, ...]]] = {}
    for d in docs:
        toks = words(d.text)
        grams = {tuple(toks[i : i + ngram]) for i in range(max(1, len(toks) - ngram + 1))}
        grams_of[d.doc_id] = grams
        for g in grams:
            owners.setdefault(g, set()).add(d.doc_id)
    return [d for d in docs if all(len(owners[g]) == 1 for g in grams_of[d.doc_id])]
