"""Real-prose fixtures: source snapshots written with the real store, planted training sets."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from audit.planted import PlantedSet, SourceDoc, plant
from commons.normalize import content_sha1, words
from commons.store import DataDir, SnapshotManifest, SnapshotWriter
from tests.harness.corpus import prose_paragraphs

FETCHED = datetime(2024, 5, 1, tzinfo=UTC)


@functools.lru_cache(maxsize=1)
def distinct_paragraphs() -> tuple[str, ...]:
    """Prose paragraphs sharing no 8-word run with an earlier kept one (the docs repeat)."""
    seen: set[tuple[str, ...]] = set()
    kept: list[str] = []
    for p in prose_paragraphs():
        toks = words(p)
        grams = {tuple(toks[i : i + 8]) for i in range(max(1, len(toks) - 7))}
        if grams & seen:
            continue
        seen |= grams
        kept.append(p)
    return tuple(kept)


def prose_pools() -> tuple[list[str], list[str]]:
    """Disjoint paragraph pools: (for sources, for unrelated training prose)."""
    paras = list(distinct_paragraphs())
    return paras[0::2], paras[1::2]


def make_pages(pool: list[str], n: int, seed: int, words_range: tuple[int, int],
               prefix: str = "page") -> list[SourceDoc]:
    """``n`` pages of consecutive pool paragraphs (no paragraph shared between pages)."""
    rng = random.Random(seed)
    pages: list[SourceDoc] = []
    i = 0
    for k in range(n):
        target = rng.randint(*words_range)
        paras: list[str] = []
        total = 0
        while total < target:
            paras.append(pool[i % len(pool)])
            total += len(pool[i % len(pool)].split())
            i += 1
        pages.append(SourceDoc(f"{prefix}-{k:04d}", "\n\n".join(paras)))
    return pages


def _row(doc: SourceDoc, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id, "kind": kind, "url": f"http://wiki.test/{doc.doc_id}",
        "title": doc.doc_id.replace("-", " ").title(), "text": doc.text,
        "n_words": len(words(doc.text)), "license": "CC-BY-SA-4.0", "authors": ["Alice"],
        "fetched_at": FETCHED, "content_sha1": content_sha1(doc.text), "is_redirect": False,
        "is_deleted": False, **extra,
    }


def write_snapshot(data: DataDir, source: str, docs: list[SourceDoc], *, snapshot_id: str =
                   "20240501T000000Z", forum: bool = False, junk: bool = True,
                   status: str = "complete") -> SnapshotManifest:
    """Write a snapshot with the real SnapshotWriter; ``junk`` adds rows that must be skipped."""
    manifest = SnapshotManifest(source=source, snapshot_id=snapshot_id, crawler="test",
                                base_url="http://wiki.test/",
                                license={"spdx": "CC-BY-SA-4.0"})
    w = SnapshotWriter(data, manifest, batch_rows=50)
    w.open()
    positions: dict[str, int] = {}
    for d in docs:
        if forum:
            pos = positions.get(d.thread or "", 0)
            positions[d.thread or ""] = pos + 1
            w.add(_row(d, "post", parent_id=d.thread, position=pos))
        else:
            w.add(_row(d, "page"))
    if junk:
        w.add(_row(SourceDoc("redirect-1", "#REDIRECT somewhere else entirely"), "page",
                   is_redirect=True, redirect_to="page-0000"))
        w.add(_row(SourceDoc("deleted-1", docs[0].text), "page", is_deleted=True))
        w.add(_row(SourceDoc("empty-1", ""), "page"))
    if status == "complete":
        w.complete()
    else:
        w.flush()
    return manifest


def make_threads(pool: list[str], n_threads: int, seed: int) -> list[SourceDoc]:
    """Forum posts: ``n_threads`` threads of 2-5 posts, one paragraph each."""
    rng = random.Random(seed)
    posts: list[SourceDoc] = []
    i = 0
    for t in range(n_threads):
        for p in range(rng.randint(2, 5)):
            posts.append(SourceDoc(f"post-{t:03d}-{p}", pool[i % len(pool)], f"thread-{t:03d}"))
            i += 1
    return posts


def write_training(path: Path, planted: PlantedSet) -> Path:
    """The planted rows as a Parquet training file (columns id, text)."""
    pq.write_table(pa.Table.from_pylist(planted.rows), path)
    return path


@dataclass
class World:
    """A data store with a wiki and a forum source, and a planted training set."""

    data: DataDir
    wiki: list[SourceDoc]
    forum: list[SourceDoc]
    planted: PlantedSet
    training: Path

    def truth(self, source: str) -> dict[str, Any]:
        docs = self.wiki if source == "wiki" else self.forum
        ids = {d.doc_id for d in docs}
        sub = PlantedSet()
        for row, lab in zip(self.planted.rows, self.planted.labels, strict=True):
            cover = {k: v for k, v in lab["source_cover"].items() if k in ids}
            keep = dict(lab)
            if not cover:
                keep["kind"] = "unrelated"
                keep["overlap_words"] = 0
            keep["source_cover"] = cover
            sub.rows.append(row)
            sub.labels.append(keep)
        return sub.truth(docs)


def build_world(root: Path, seed: int = 3, n_unrelated: int = 120) -> World:
    """Wiki of 60 pages (4 of ~2,000 words) and a forum of 12 threads; planted training set."""
    src_pool, other_pool = prose_pools()
    wiki = make_pages(src_pool[:400], 56, seed, (150, 450)) + make_pages(
        src_pool[400:600], 4, seed + 1, (2000, 2100), prefix="long")
    forum = make_threads(src_pool[600:], 12, seed + 2)
    data = DataDir(root / "data")
    write_snapshot(data, "wiki", wiki)
    write_snapshot(data, "forum", forum, forum=True)
    counts = {"copy": 8, "edit": 6, "truncation": 6, "embedded": 6, "unrelated": n_unrelated}
    planted = plant(wiki, other_pool, counts, seed)
    threads = plant(forum, other_pool, {"thread": 4}, seed + 5)
    for row, lab in zip(threads.rows, threads.labels, strict=True):
        row["id"] = lab["id"] = "thread-" + row["id"]
        planted.rows.append(row)
        planted.labels.append(lab)
    training = write_training(root / "train.parquet", planted)
    return World(data, wiki, forum, planted, training)
