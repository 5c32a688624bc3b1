"""The match stage: decide each candidate pair, and tally per-document overlap.

For every candidate ``(training doc, source doc)`` pair:

* ``est_jaccard`` is the MinHash estimate; estimated containments follow from it and the
  shingle-set sizes (:func:`audit.containment.estimated_containment`).
* Exact values (from the shingle sets) are computed for pairs found by the window join
  (containment is decided on them), for every pair with ``verify="exact"``, and for a
  seeded random subsample of about ``calibration_pairs`` pairs (calibration).
* ``near_duplicate``: Jaccard >= threshold (the estimate, or the exact value with
  ``verify="exact"``). ``containment``: otherwise, containment in either direction >=
  ``containment_threshold`` or at least ``shared_shingles_min`` shared shingles (exact
  values when computed, else estimates).

Per training document the overlapping fraction is the share of its shingles found in the
union of its matched source documents (exact). Per source document the covered fraction
is the largest containment of it in any matched training document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from audit.config import AuditConfig
from audit.containment import (
    ShingleCache,
    covered_fraction,
    estimated_containment,
    estimated_jaccard,
    exact_overlap,
)
from audit.index import _mix64

MATCH_SCHEMA = pa.schema([
    ("train_row", pa.int64()), ("source_row", pa.int64()),
    ("est_jaccard", pa.float64()),
    ("est_containment_train_in_source", pa.float64()),
    ("est_containment_source_in_train", pa.float64()),
    ("exact_jaccard", pa.float64()),
    ("exact_containment_train_in_source", pa.float64()),
    ("exact_containment_source_in_train", pa.float64()),
    ("shared_shingles", pa.int64()),
    ("containment_train_in_source", pa.float64()),
    ("containment_source_in_train", pa.float64()),
    ("match_kind", pa.string()), ("found_by", pa.string()),
])


@dataclass
class Calibration:
    """Exact check of the MinHash near-duplicate decision on a subsample of candidates."""

    sampled: int = 0
    predicted_positive: int = 0
    false_positive: int = 0
    predicted_negative: int = 0
    false_negative: int = 0
    exact_positive_missed_by_lsh: int = 0
    exact_positive_in_window_pairs: int = 0
    abs_error_sum: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["fp_rate"] = self.false_positive / self.predicted_positive \
            if self.predicted_positive else None
        out["fn_rate"] = self.false_negative / self.predicted_negative \
            if self.predicted_negative else None
        out["mean_abs_error"] = self.abs_error_sum / self.sampled if self.sampled else None
        del out["abs_error_sum"]
        return out


@dataclass
class MatchTally:
    """Per-document results of one source."""

    train_matched: np.ndarray
    train_overlap: np.ndarray
    source_matched: np.ndarray
    source_cover: np.ndarray
    near_duplicates: int = 0
    containments: int = 0
    candidates: int = 0
    exact_checked: int = 0
    calibration: Calibration = field(default_factory=Calibration)


def _groups(path: Path, chunk: int) -> Iterator[pa.Table]:
    """Candidate tables of about ``chunk`` rows that never split one training row."""
    pf = pq.ParquetFile(path)
    carry: pa.Table | None = None
    for rb in pf.iter_batches(batch_size=chunk):
        t = pa.Table.from_batches([rb])
        if carry is not None:
            t = pa.concat_tables([carry, t])
        tr = t.column("train_row").to_numpy()
        cut = int(np.searchsorted(tr, tr[-1], side="left"))
        if cut == 0:
            carry = t
            continue
        yield t.slice(0, cut)
        carry = t.slice(cut)
    if carry is not None and carry.num_rows:
        yield carry


def _calibration_mask(tr: np.ndarray, sr: np.ndarray, seed: int, rate: float) -> np.ndarray:
    if rate >= 1.0:
        return np.ones(len(tr), dtype=bool)
    with np.errstate(over="ignore"):
        h = _mix64(tr.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                   ^ _mix64(sr.astype(np.uint64) + np.uint64(seed)))
    return h < np.uint64(int(rate * 2.0**64))


class PairMatcher:
    """Runs the match stage for one source over a candidates file."""

    def __init__(self, config: AuditConfig, train_docs: pa.Table, train_sigs: np.ndarray,
                 source_docs: pa.Table, source_sigs: np.ndarray) -> None:
        self.config = config
        self.train_docs = train_docs
        self.source_docs = source_docs
        self.train_sigs = train_sigs
        self.source_sigs = source_sigs
        self.train_sizes = train_docs.column("n_shingles").to_numpy()
        self.source_sizes = source_docs.column("n_shingles").to_numpy()
        self.train_sets = ShingleCache(config.ngram, self._texts(train_docs), 8192)
        self.source_sets = ShingleCache(config.ngram, self._texts(source_docs), 8192)

    @staticmethod
    def _texts(table: pa.Table) -> Any:
        col = table.column("text")
        return lambda rows: col.take(pa.array(rows, type=pa.int64())).to_pylist()

    def run(self, candidates: Path, n_candidates: int, out: Path) -> MatchTally:
        c = self.config
        tally = MatchTally(
            train_matched=np.zeros(self.train_docs.num_rows, dtype=bool),
            train_overlap=np.zeros(self.train_docs.num_rows, dtype=np.float64),
            source_matched=np.zeros(self.source_docs.num_rows, dtype=bool),
            source_cover=np.zeros(self.source_docs.num_rows, dtype=np.float64),
            candidates=n_candidates,
        )
        rate = min(1.0, c.calibration_pairs / n_candidates) if n_candidates else 1.0
        writer = pq.ParquetWriter(out, MATCH_SCHEMA, compression="zstd")
        bar = tqdm(total=n_candidates, desc="match", unit="pair", disable=not c.progress)
        try:
            for t in _groups(candidates, 50_000):
                writer.write_table(self._chunk(t, rate, tally))
                bar.update(t.num_rows)
        finally:
            writer.close()
            bar.close()
        return tally

    def _chunk(self, t: pa.Table, rate: float, tally: MatchTally) -> pa.Table:
        c = self.config
        tr = t.column("train_row").to_numpy()
        sr = t.column("source_row").to_numpy()
        via_doc = t.column("via_doc").to_numpy(zero_copy_only=False)
        via_win = t.column("via_window").to_numpy(zero_copy_only=False)
        n = len(tr)
        est_j = estimated_jaccard(self.train_sigs[tr], self.source_sigs[sr])
        st, ss = self.train_sizes[tr], self.source_sizes[sr]
        est_ts = estimated_containment(est_j, st, ss)
        est_st = estimated_containment(est_j, ss, st)
        calib = _calibration_mask(tr, sr, c.calibration_seed, rate)
        need = via_win | calib | (c.verify == "exact")
        ex_j = np.full(n, np.nan)
        ex_ts = np.full(n, np.nan)
        ex_st = np.full(n, np.nan)
        shared = np.full(n, -1, dtype=np.int64)
        idx = np.flatnonzero(need)
        self.train_sets.prefetch(tr[idx].tolist())
        self.source_sets.prefetch(sr[idx].tolist())
        for i in idx:
            o = exact_overlap(self.train_sets.get(int(tr[i])), self.source_sets.get(int(sr[i])))
            ex_j[i], ex_ts[i], ex_st[i], shared[i] = o.jaccard, o.a_in_b, o.b_in_a, o.shared
        tally.exact_checked += len(idx)
        has_exact = need
        j_dec = ex_j if c.verify == "exact" else est_j
        c_ts = np.where(has_exact, ex_ts, est_ts)
        c_st = np.where(has_exact, ex_st, est_st)
        near = j_dec >= c.threshold
        contained = ~near & ((np.maximum(c_ts, c_st) >= c.containment_threshold)
                             | (has_exact & (shared >= c.shared_shingles_min)))
        matched = near | contained
        self._calibrate(tally.calibration, calib, est_j, ex_j, via_doc, via_win)
        tally.near_duplicates += int(near.sum())
        tally.containments += int(contained.sum())
        self._tally_docs(tally, tr, sr, matched, c_st)
        m = np.flatnonzero(matched)
        kind = np.where(near[m], "near_duplicate", "containment")
        found = np.where(via_doc[m] & via_win[m], "doc+window",
                         np.where(via_doc[m], "doc", "window"))
        nan_to_null = lambda a: pa.array(a[m], mask=np.isnan(a[m]))  # noqa: E731
        return pa.table({
            "train_row": tr[m], "source_row": sr[m], "est_jaccard": est_j[m],
            "est_containment_train_in_source": est_ts[m],
            "est_containment_source_in_train": est_st[m],
            "exact_jaccard": nan_to_null(ex_j),
            "exact_containment_train_in_source": nan_to_null(ex_ts),
            "exact_containment_source_in_train": nan_to_null(ex_st),
            "shared_shingles": pa.array(shared[m], mask=shared[m] < 0),
            "containment_train_in_source": c_ts[m], "containment_source_in_train": c_st[m],
            "match_kind": kind, "found_by": found,
        }, schema=MATCH_SCHEMA)

    def _calibrate(self, cal: Calibration, calib: np.ndarray, est_j: np.ndarray,
                   ex_j: np.ndarray, via_doc: np.ndarray, via_win: np.ndarray) -> None:
        t = self.config.threshold
        pred = est_j >= t
        truth = ex_j >= t
        cal.sampled += int(calib.sum())
        cal.predicted_positive += int((calib & pred).sum())
        cal.false_positive += int((calib & pred & ~truth).sum())
        cal.predicted_negative += int((calib & ~pred).sum())
        cal.false_negative += int((calib & ~pred & truth).sum())
        cal.abs_error_sum += float(np.abs(est_j[calib] - ex_j[calib]).sum())
        win_pos = via_win & truth
        cal.exact_positive_in_window_pairs += int(win_pos.sum())
        cal.exact_positive_missed_by_lsh += int((win_pos & ~(via_doc & pred)).sum())

    def _tally_docs(self, tally: MatchTally, tr: np.ndarray, sr: np.ndarray,
                    matched: np.ndarray, c_st: np.ndarray) -> None:
        m = np.flatnonzero(matched)
        if len(m) == 0:
            return
        tally.train_matched[tr[m]] = True
        np.maximum.at(tally.source_cover, sr[m], c_st[m])
        tally.source_matched[sr[m]] = True
        self.train_sets.prefetch(tr[m].tolist())
        self.source_sets.prefetch(sr[m].tolist())
        for row in np.unique(tr[m]):
            srcs = sr[m][tr[m] == row]
            tally.train_overlap[row] = covered_fraction(
                self.train_sets.get(int(row)), [self.source_sets.get(int(s)) for s in srcs])
