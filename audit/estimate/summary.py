"""Per-source summary rows: both directions, documents and words, with intervals."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa

from audit.config import AuditParams
from audit.estimate.intervals import Interval, proportion_ci, ratio_ci
from audit.match.matcher import MatchTally
from audit.read.training import ReadStats

#: Columns shown by the CLI after an audit.
TABLE_COLUMNS = (
    "source", "direction", "docs", "matched", "doc_share", "doc_ci", "word_share", "word_ci",
)


def credit_threads(source_docs: pa.Table, tally: MatchTally, threshold: float) -> int:
    """Mark the posts of every thread document that is (near-)contained in the training set.

    Returns the number of posts newly credited.
    """
    kinds = source_docs.column("kind").to_numpy(zero_copy_only=False)
    threads = np.flatnonzero((kinds == "thread") & tally.source_matched)
    if len(threads) == 0:
        return 0
    doc_ids = source_docs.column("doc_id").to_numpy(zero_copy_only=False)
    parents = source_docs.column("parent_id").to_numpy(zero_copy_only=False)
    posts: dict[str, list[int]] = defaultdict(list)
    for row in np.flatnonzero(kinds == "post"):
        if parents[row] is not None:
            posts[parents[row]].append(int(row))
    credited = 0
    for t in threads:
        cover = tally.source_cover[t]
        if cover < threshold:
            continue
        for p in posts.get(doc_ids[t], []):
            credited += int(not tally.source_matched[p])
            tally.source_matched[p] = True
            tally.source_cover[p] = max(tally.source_cover[p], cover)
    return credited


def _iv(prefix: str, iv: Interval) -> dict[str, Any]:
    return {prefix: iv.estimate, f"{prefix}_low": iv.low, f"{prefix}_high": iv.high,
            f"{prefix}_ci_method": iv.method}


def summary_row(params: AuditParams, source: str, snapshot_id: str, license: str | None,
                train_docs: pa.Table, source_docs: pa.Table, tally: MatchTally,
                read: ReadStats) -> dict[str, Any]:
    """One summary row: shares of the training set in the source and of the source in it."""
    conf = params.confidence
    t_live = train_docs.column("n_shingles").to_numpy() > 0
    t_words = train_docs.column("n_words").to_numpy().astype(np.float64)[t_live]
    t_hit = tally.train_matched[t_live]
    t_y = (tally.train_overlap[t_live] * t_words)
    n, k = int(t_live.sum()), int(t_hit.sum())
    population = None
    if read.sampled and read.sampled_rows:
        population = int(round(read.population_rows * n / read.sampled_rows))
    s_live = (source_docs.column("is_unit").to_numpy(zero_copy_only=False)
              & (source_docs.column("n_shingles").to_numpy() > 0))
    s_words = source_docs.column("n_words").to_numpy().astype(np.float64)[s_live]
    s_hit = tally.source_matched[s_live]
    s_y = np.minimum(tally.source_cover[s_live], 1.0) * s_words
    sn, sk = int(s_live.sum()), int(s_hit.sum())
    cal = tally.calibration.to_dict()
    row: dict[str, Any] = {
        "source": source, "snapshot_id": snapshot_id, "license": license,
        "train_docs": n, "train_docs_matched": k,
        **_iv("train_doc_share", proportion_ci(k, n, conf, population)),
        "train_words": int(t_words.sum()), "train_words_overlap": float(t_y.sum()),
        **_iv("train_word_share", ratio_ci(t_y, t_words, conf, population)),
        "source_docs": sn, "source_docs_matched": sk,
        **_iv("source_doc_share", proportion_ci(sk, sn, conf)),
        "source_words": int(s_words.sum()), "source_words_overlap": float(s_y.sum()),
        **_iv("source_word_share", ratio_ci(s_y, s_words, conf)),
        "near_duplicates": tally.near_duplicates, "containments": tally.containments,
        "candidates": tally.candidates, "exact_checked": tally.exact_checked,
        "calibration_pairs": cal["sampled"], "calibration_fp_rate": cal["fp_rate"],
        "calibration_fn_rate": cal["fn_rate"],
        "calibration_mean_abs_error": cal["mean_abs_error"],
        "lsh_missed_near_duplicates": cal["exact_positive_missed_by_lsh"],
        "sampled": read.sampled, "population_rows": read.population_rows,
        "sample_rows": read.sampled_rows, "population_docs_estimate": population,
        "source_share_is_lower_bound": read.sampled,
        "confidence": conf, "threshold": params.threshold, "verify": params.verify,
    }
    return row


def table_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Summary rows as the CLI table (two lines per source: train->source, source->train)."""

    def ci(r: dict[str, Any], key: str) -> str:
        return f"[{r[key + '_low']:.3f}, {r[key + '_high']:.3f}]"

    out: list[list[Any]] = []
    for r in rows:
        out.append([r["source"], "training in source", r["train_docs"], r["train_docs_matched"],
                    round(r["train_doc_share"], 4), ci(r, "train_doc_share"),
                    round(r["train_word_share"], 4), ci(r, "train_word_share")])
        out.append([r["source"], "source in training", r["source_docs"],
                    r["source_docs_matched"], _round(r["source_doc_share"]),
                    ci(r, "source_doc_share"), _round(r["source_word_share"]),
                    ci(r, "source_word_share")])
    return out


def _round(v: float) -> float:
    return v if v != v else round(v, 4)
