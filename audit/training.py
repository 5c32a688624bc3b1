"""Training side: the read stage (with optional sampling) and the sign stage.

Read: stream every input file in batches, keep a uniform random sample if asked, and write
``work/train_docs.arrow`` (row, id, n_words, n_shingles, text). Null, non-string and
empty texts (no shingles after normalisation) are counted; empty ones are kept as rows
with ``n_shingles = 0`` and never indexed.

Sampling (``--sample N --seed S``) is two-pass by count: the first pass counts rows (free
for Parquet), then ``numpy.random.default_rng(S).choice(rows, N, replace=False)`` picks row
positions, and the second pass keeps them. Memory is O(N) positions whatever the size.

Sign: document signatures to ``work/train_signatures.u32`` and band tables of documents
and of non-overlapping windows to ``work/train_doc_bands.parquet`` and
``work/train_window_bands.parquet``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from audit.config import AuditConfig
from audit.docs import TRAIN_DOC_SCHEMA, DocTableWriter, SignatureFile, iter_doc_batches
from audit.exceptions import EmptyTrainingSetError
from audit.index import BandWriter
from audit.readers import InputFile, RawBatch, open_reader
from audit.sign import Signer, window_starts
from commons.normalize import words


@dataclass
class ReadStats:
    """What the read stage saw."""

    files: int = 0
    population_rows: int = 0
    sampled_rows: int = 0
    null_texts: int = 0
    non_string_texts: int = 0
    empty_texts: int = 0
    documents: int = 0
    words: int = 0
    sampled: bool = False
    per_file_rows: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sample_positions(total: int, sample: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=sample, replace=False)).astype(np.int64)


def _batches(files: list[InputFile], config: AuditConfig, stats: ReadStats) -> Iterator[RawBatch]:
    readers = [open_reader(f, config.text_column, config.id_column) for f in files]
    stats.files = len(readers)
    keep: np.ndarray | None = None
    if config.sample is not None:
        counts = [r.count_rows() for r in readers]
        total = int(sum(counts))
        stats.population_rows = total
        if config.sample < total:
            keep = _sample_positions(total, config.sample, config.sample_seed)
            stats.sampled = True
    offset = 0
    for r in readers:
        rows_in_file = 0
        for batch in r.batches(config.batch_size):
            n = len(batch.texts)
            rows_in_file += n
            if keep is not None:
                lo, hi = np.searchsorted(keep, [offset, offset + n])
                idx = (keep[lo:hi] - offset).tolist()
                offset += n
                if not idx:
                    continue
                batch = RawBatch([batch.ids[i] for i in idx], [batch.texts[i] for i in idx])
            else:
                offset += n
            yield batch
        stats.per_file_rows[str(r.file.path)] = rows_in_file
    if config.sample is None:
        stats.population_rows = offset


def read_stage(config: AuditConfig, files: list[InputFile], work: Path) -> ReadStats:
    """Write ``work/train_docs.arrow`` from the inputs; return the counts.

    Raises:
        EmptyTrainingSetError: no row has text with at least one word.
    """
    stats = ReadStats()
    out = DocTableWriter(work / "train_docs.arrow", TRAIN_DOC_SCHEMA)
    bar = tqdm(desc="read training set", unit="doc", disable=not config.progress)
    row = 0
    try:
        for batch in _batches(files, config, stats):
            texts: list[str] = []
            n_words: list[int] = []
            n_sh: list[int] = []
            for t in batch.texts:
                if t is None:
                    stats.null_texts += 1
                    t = ""
                elif not isinstance(t, str):
                    stats.non_string_texts += 1
                    t = ""
                toks = words(t)
                if not toks:
                    stats.empty_texts += 1
                texts.append(t)
                n_words.append(len(toks))
                n_sh.append(_unique_shingles(toks, config.ngram))
            n = len(texts)
            out.add({"row": np.arange(row, row + n, dtype=np.int64), "id": batch.ids,
                     "n_words": n_words, "n_shingles": n_sh, "text": texts})
            row += n
            stats.words += sum(n_words)
            bar.update(n)
    finally:
        out.close()
        bar.close()
    stats.sampled_rows = row
    stats.documents = row - stats.empty_texts
    if stats.documents == 0:
        names = ", ".join(str(f.path) for f in files[:3]) + (" ..." if len(files) > 3 else "")
        raise EmptyTrainingSetError(
            f"{names}: no document with text in column {config.text_column!r} "
            f"({row} rows: {stats.null_texts} null, {stats.non_string_texts} non-string, "
            f"{stats.empty_texts} empty); check --text-column and the files"
        )
    return stats


def _unique_shingles(tokens: list[str], ngram: int) -> int:
    if not tokens:
        return 0
    if len(tokens) <= ngram:
        return 1
    return len({tuple(tokens[i : i + ngram]) for i in range(len(tokens) - ngram + 1)})


@dataclass
class SignStats:
    """What the sign stage produced."""

    documents: int = 0
    windows: int = 0
    doc_band_rows: int = 0
    window_band_rows: int = 0


def sign_stage(config: AuditConfig, signer: Signer, work: Path) -> SignStats:
    """Sign training documents and windows; write signatures and band tables."""
    db, dr = config.doc_lsh
    wb, wr = config.window_lsh
    sig_out = SignatureFile(work / "train_signatures.u32", config.num_perm).writer()
    doc_bands = BandWriter(work / "train_doc_bands.parquet", db, dr)
    win_bands = BandWriter(work / "train_window_bands.parquet", wb, wr)
    stats = SignStats()
    bar = tqdm(desc="sign training set", unit="doc", disable=not config.progress)
    try:
        for rb in iter_doc_batches(work / "train_docs.arrow", config.batch_size):
            rows = rb.column(0).to_numpy()
            texts = rb.column(4).to_pylist()
            nsh = rb.column(3).to_numpy()
            sigs = signer.sign(texts)
            sig_out.add(sigs)
            live = nsh > 0
            doc_bands.add(rows[live], sigs[live])
            w_rows: list[int] = []
            w_texts: list[str] = []
            for i in np.flatnonzero(live):
                toks = words(texts[i])
                for s in window_starts(len(toks), config.window_words, config.window_words):
                    w_rows.append(int(rows[i]))
                    w_texts.append(" ".join(toks[s : s + config.window_words]))
            if w_texts:
                win_bands.add(np.asarray(w_rows, dtype=np.int64), signer.sign(w_texts))
            stats.documents += int(live.sum())
            stats.windows += len(w_texts)
            bar.update(len(rows))
    finally:
        sig_out.close()
        doc_bands.close()
        win_bands.close()
        bar.close()
    stats.doc_band_rows = doc_bands.count
    stats.window_band_rows = win_bands.count
    return stats
