"""summary.md: the headline table in Markdown, ready to paste into an issue or a paper."""

from __future__ import annotations

from typing import Any

from audit.report.attribution import md_escape
from audit.report.fmt import count, pct
from audit.report.load import RunData
from commons.provenance import iso

COLUMNS = ("source", "snapshot", "licence", "training docs in source", "training words in source",
           "source docs in training", "source words in training")


def _share(r: dict[str, Any], key: str) -> str:
    return f"{pct(r[key])} [{pct(r[f'{key}_low'])}, {pct(r[f'{key}_high'])}]"


def summary_markdown(data: RunData) -> str:
    """The headline table of ``data`` with a line on the method and the run."""
    meta = data.meta
    conf = pct(data.summary[0]["confidence"], 0) if data.summary else "95%"
    lines = [
        f"### Overlap audit `{data.run}`",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---"] * 3 + ["---:"] * 4) + "|",
    ]
    for r in data.summary:
        lines.append("| " + " | ".join([
            md_escape(str(r["source"])), f"`{r['snapshot_id']}`",
            md_escape(str(r["license"] or "unknown")),
            f"{_share(r, 'train_doc_share')} ({count(r['train_docs_matched'])} of "
            f"{count(r['train_docs'])})",
            _share(r, "train_word_share"),
            f"{_share(r, 'source_doc_share')} ({count(r['source_docs_matched'])} of "
            f"{count(r['source_docs'])})",
            _share(r, "source_word_share"),
        ]) + " |")
    lines += [
        "",
        f"Shares with {conf} confidence intervals (Wilson or Clopper-Pearson for documents, "
        f"delta-method for words). MinHash LSH, {meta.get('num_perm')} permutations "
        f"(datasketch scheme `{meta.get('scheme')}`), {meta.get('ngram')}-word shingles, "
        f"near-duplicate threshold {meta.get('threshold')}, containment both ways; "
        f"verify: {meta.get('verify')}"
        + (f"; uniform sample of {count(meta.get('sample'))} documents, seed "
           f"{meta.get('sample_seed')}" if meta.get("sample") else "") + ".",
        f"Audit finished {iso(meta.get('finished_at')) or 'n/a'}; written by "
        "commons-provenance.",
    ]
    return "\n".join(lines) + "\n"
