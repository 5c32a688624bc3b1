"""The match stage: decide each candidate pair, and tally per-document overlap.

For every candidate ``(training doc, source doc)`` pair:

* ``est_jaccard`` is the MinHash estimate; estimated containments follow from it and the
  shingle-set sizes (:func:`audit.match.overlap.estimated_containment`).
* Exact values (from the shingle sets, hashed by compiled kernels) are computed for every
  candidate: containment is decided on them, a seeded random subsample of about
  ``calibration_pairs`` pairs calibrates the MinHash decision against them, and
  ``verify="exact"`` decides near-duplicates on them too. They are reported for pairs
  found by the anchor index, the calibration subsample, and with ``verify="exact"``.
* ``near_duplicate``: Jaccard >= threshold (the estimate, or the exact value with
  ``verify="exact"``). ``containment``: otherwise, exact containment in either direction
  >= ``containment_threshold`` or at least ``shared_shingles_min`` shared shingles.

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

from audit.config import AuditParams
from audit.engine import bounded_map, workers
from audit.files import SideFiles, SignatureFile, TextFile, open_doc_table
from audit.index.bands import mix64
from audit.match.overlap import (
    covered_fractions,
    estimated_containment,
    estimated_jaccard,
    pair_overlaps,
)
from audit.schemas import PAIR_SCHEMA
from audit.signing.contract import ShingleSets, Signer


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


#: Candidate pairs per match chunk: their texts and shingle sets are held while in flight.
CHUNK_PAIRS = 5000


@dataclass(frozen=True)
class DocFiles:
    """One side's documents: the facts table, the texts and the signatures."""

    docs: pa.Table
    texts: TextFile
    signatures: SignatureFile

    @classmethod
    def open(cls, files: SideFiles, num_perm: int) -> DocFiles:
        """A signed side's doc table (memory-mapped), texts and signatures."""
        return cls(open_doc_table(files.docs), TextFile(files.texts),
                   SignatureFile(files.signatures, num_perm))


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
        h = mix64(tr.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                  ^ mix64(sr.astype(np.uint64) + np.uint64(seed)))
    return h < np.uint64(int(rate * 2.0**64))


class PairMatcher:
    """Runs the match stage for one source over a candidates file (``progress``: show a
    progress bar)."""

    def __init__(self, params: AuditParams, train: DocFiles, source: DocFiles,
                 signer: Signer, progress: bool = False) -> None:
        self.params = params
        self.progress = progress
        self.signer = signer
        self.train = train
        self.source = source
        self.train_rows = train.docs.num_rows
        self.source_rows = source.docs.num_rows

    def run(self, candidates: Path, n_candidates: int, out: Path) -> MatchTally:
        """Decide the ``n_candidates`` pairs of ``candidates``, write the matches to ``out``
        (:data:`audit.schemas.PAIR_SCHEMA`) and return the tally."""
        c = self.params
        tally = MatchTally(
            train_matched=np.zeros(self.train_rows, dtype=bool),
            train_overlap=np.zeros(self.train_rows, dtype=np.float64),
            source_matched=np.zeros(self.source_rows, dtype=bool),
            source_cover=np.zeros(self.source_rows, dtype=np.float64),
            candidates=n_candidates,
        )
        rate = min(1.0, c.calibration_pairs / n_candidates) if n_candidates else 1.0
        writer = pq.ParquetWriter(out, PAIR_SCHEMA, compression="zstd")
        bar = tqdm(total=n_candidates, desc="match", unit="pair", disable=not self.progress)
        try:
            chunks = _groups(candidates, CHUNK_PAIRS)
            for t, result in bounded_map(lambda t: self._chunk(t, rate), chunks, workers()):
                table, part = result
                writer.write_table(table)
                part.add_to(tally)
                bar.update(t.num_rows)
        finally:
            writer.close()
            bar.close()
        return tally

    def _sets(self, side: DocFiles, rows: np.ndarray) -> tuple[ShingleSets, np.ndarray]:
        """Exact sets of the distinct ``rows``, and each row's position among them."""
        uniq, inverse = np.unique(rows, return_inverse=True)
        return self.signer.shingle_sets(side.texts.take(uniq)), inverse

    def _chunk(self, t: pa.Table, rate: float) -> tuple[pa.Table, _ChunkTally]:
        c = self.params
        tr = t.column("train_row").to_numpy()
        sr = t.column("source_row").to_numpy()
        via_doc = t.column("via_doc").to_numpy(zero_copy_only=False)
        via_win = t.column("via_window").to_numpy(zero_copy_only=False)
        n = len(tr)
        est_j = estimated_jaccard(self.train.signatures.take(tr),
                                  self.source.signatures.take(sr))
        calib = _calibration_mask(tr, sr, c.calibration_seed, rate)
        tsets, t_loc = self._sets(self.train, tr)
        ssets, s_loc = self._sets(self.source, sr)
        st, ss = tsets.seg[t_loc, 1], ssets.seg[s_loc, 1]  # distinct shingles
        est_ts = estimated_containment(est_j, st, ss)
        est_st = estimated_containment(est_j, ss, st)
        ex = pair_overlaps(tsets, t_loc, ssets, s_loc)
        shown = via_win | calib | (c.verify == "exact")
        j_dec = ex.jaccard if c.verify == "exact" else est_j
        near = j_dec >= c.threshold
        contained = ~near & ((np.maximum(ex.a_in_b, ex.b_in_a) >= c.containment_threshold)
                             | (ex.shared >= c.shared_shingles_min))
        matched = near | contained
        part = _ChunkTally(exact_checked=n, near=int(near.sum()), contained=int(contained.sum()))
        self._calibrate(part.calibration, calib, est_j, ex.jaccard, via_doc, via_win)
        m = np.flatnonzero(matched)
        part.train_rows, part.source_rows, part.source_cover = tr[m], sr[m], ex.b_in_a[m]
        if len(m):
            starts = np.flatnonzero(np.r_[True, tr[m][1:] != tr[m][:-1]])
            part.overlap_rows = tr[m][starts]
            part.overlap = covered_fractions(tsets, t_loc[m][starts], ssets, s_loc[m],
                                             np.r_[starts, len(m)])
        kind = np.where(near[m], "near_duplicate", "containment")
        found = np.where(via_doc[m] & via_win[m], "doc+window",
                         np.where(via_doc[m], "doc", "window"))
        hide = ~shown[m]

        def exact(values: np.ndarray) -> pa.Array:
            return pa.array(values[m], mask=hide)

        table = pa.table({
            "train_row": tr[m], "source_row": sr[m], "est_jaccard": est_j[m],
            "est_containment_train_in_source": est_ts[m],
            "est_containment_source_in_train": est_st[m],
            "exact_jaccard": exact(ex.jaccard),
            "exact_containment_train_in_source": exact(ex.a_in_b),
            "exact_containment_source_in_train": exact(ex.b_in_a),
            "shared_shingles": exact(ex.shared),
            "containment_train_in_source": ex.a_in_b[m],
            "containment_source_in_train": ex.b_in_a[m],
            "match_kind": kind, "found_by": found,
        }, schema=PAIR_SCHEMA)
        return table, part

    def _calibrate(self, cal: Calibration, calib: np.ndarray, est_j: np.ndarray,
                   ex_j: np.ndarray, via_doc: np.ndarray, via_win: np.ndarray) -> None:
        t = self.params.threshold
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


@dataclass
class _ChunkTally:
    """One chunk's contribution to a :class:`MatchTally` (built in a worker thread)."""

    exact_checked: int = 0
    near: int = 0
    contained: int = 0
    calibration: Calibration = field(default_factory=Calibration)
    train_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    source_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    source_cover: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    overlap_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    overlap: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))

    def add_to(self, tally: MatchTally) -> None:
        tally.exact_checked += self.exact_checked
        tally.near_duplicates += self.near
        tally.containments += self.contained
        for name, value in self.calibration.__dict__.items():
            setattr(tally.calibration, name, getattr(tally.calibration, name) + value)
        tally.train_matched[self.train_rows] = True
        tally.source_matched[self.source_rows] = True
        np.maximum.at(tally.source_cover, self.source_rows, self.source_cover)
        tally.train_overlap[self.overlap_rows] = self.overlap
