"""Training side: one streaming pass that reads (with optional sampling) and signs.

Reading and signing are one pass over the data, so no text is decoded twice: each batch
is read as an Arrow column (Parquet) or built from the reader's rows (JSON Lines, Arrow),
signed by the signer in a worker thread (the compiled kernels release the GIL), and
written to ``work/``:

* ``train_docs.arrow`` (row, id, n_words, n_shingles), memory-mapped later;
* ``train_texts.bin`` (+ ``.offsets``): the texts, read back by row;
* ``train_signatures.u32``: raw ``uint32[n, num_perm]`` signatures;
* ``train_doc_bands.parquet``: LSH band keys of the non-empty documents;
* ``train_anchors/``: (row, h, short) winnowing anchors (the containment index).

Null, non-string and empty texts (no shingles after normalisation) are counted; they are
kept as rows with ``n_shingles = 0`` and never indexed.

Sampling (``--sample N --seed S``) is two-pass by count: the first pass counts rows (free
for Parquet), then ``numpy.random.default_rng(S).choice(rows, N, replace=False)`` picks row
positions, and the second pass keeps them. Memory is O(N) positions whatever the size.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from audit.config import AuditConfig
from audit.engine import Engine, LocalEngine, workers
from audit.exceptions import CorruptInputError, EmptyTrainingSetError
from audit.files import TRAIN_DOC_SCHEMA, DocTableWriter, SignatureFile, TextFile
from audit.index.anchors import AnchorWriter
from audit.index.bands import BandWriter, band_table
from audit.readers import InputFile, ParquetTrainingReader, TrainingReader, open_reader
from audit.signing.contract import SignedBatch, Signer, shingle_positions

TRAIN_TEXTS = "train_texts.bin"
TRAIN_ANCHORS = "train_anchors"


@dataclass
class ReadStats:
    """What the read pass saw."""

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


@dataclass
class SignStats:
    """What signing produced."""

    documents: int = 0
    anchors: int = 0
    doc_band_rows: int = 0
    seconds: float = 0.0
    workers: int = 1


@dataclass
class ArrowBatch:
    """Ids and texts of consecutive rows of one file, as Arrow columns."""

    ids: pa.Array
    texts: pa.Array
    non_string: np.ndarray | None = None

    @property
    def non_strings(self) -> int:
        return 0 if self.non_string is None else int(self.non_string.sum())


def _sample_positions(total: int, sample: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=sample, replace=False)).astype(np.int64)


def _parquet_ids(reader: ParquetTrainingReader, rb: pa.RecordBatch, start: int) -> pa.Array:
    """The id column as strings; missing ids become ``<file>#<row>`` as in audit.readers."""
    n = rb.num_rows
    ids = rb.column(reader.id_column) if reader.id_column else None
    if ids is not None and ids.null_count == 0 and (
            pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)
            or pa.types.is_integer(ids.type)):
        return ids.cast(pa.string())
    name = reader.file.path.name
    values = ids.to_pylist() if ids is not None else [None] * n
    return pa.array([f"{name}#{start + i}" if v is None else str(v)
                     for i, v in enumerate(values)], pa.string())


def _parquet_batches(reader: ParquetTrainingReader, batch_size: int) -> Iterator[ArrowBatch]:
    """Arrow batches straight from the file's row groups (no per-row Python objects)."""
    path = reader.file.path
    cols = [reader.text_column] + ([reader.id_column] if reader.id_column else [])
    start = 0
    try:
        for rb in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=cols):
            ids = _parquet_ids(reader, rb, start)
            texts = rb.column(reader.text_column)
            if pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type):
                yield ArrowBatch(ids, texts)
            else:
                yield _rows_batch(ids, texts.to_pylist())
            start += rb.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise CorruptInputError(
            f"{path}: unreadable Parquet data after row {start} ({exc}); "
            "re-export or remove the file"
        ) from exc


def _rows_batch(ids: Any, texts: list[Any]) -> ArrowBatch:
    """An ArrowBatch from Python values; non-strings become nulls (and are flagged)."""
    mask = np.fromiter((t is not None and not isinstance(t, str) for t in texts), np.bool_,
                       len(texts))
    if mask.any():
        texts = [t if isinstance(t, str) else None for t in texts]
    if not isinstance(ids, pa.Array):
        ids = pa.array(ids, pa.string())
    try:
        column = pa.array(texts, pa.large_string())
    except UnicodeEncodeError:  # lone surrogates (JSON "\ud800"): not valid UTF-8
        column = pa.array([_without_surrogates(t) for t in texts], pa.large_string())
    return ArrowBatch(ids, column, mask if mask.any() else None)


def _without_surrogates(text: str | None) -> str | None:
    """``text`` with lone surrogates as U+FFFD; both normalise to a word separator, so the
    shingles and signatures do not change."""
    if text is None:
        return None
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _file_batches(reader: TrainingReader, batch_size: int) -> Iterator[ArrowBatch]:
    if isinstance(reader, ParquetTrainingReader):
        yield from _parquet_batches(reader, batch_size)
        return
    for raw in reader.batches(batch_size):
        yield _rows_batch(raw.ids, raw.texts)


def _batches(files: list[InputFile], config: AuditConfig,
             stats: ReadStats) -> Iterator[ArrowBatch]:
    readers = [open_reader(f, config.text_column, config.id_column) for f in files]
    stats.files = len(readers)
    keep: np.ndarray | None = None
    if config.sample is not None:
        total = int(sum(r.count_rows() for r in readers))
        stats.population_rows = total
        if config.sample < total:
            keep = _sample_positions(total, config.sample, config.sample_seed)
            stats.sampled = True
    offset = 0
    for r in readers:
        rows_in_file = 0
        for batch in _file_batches(r, config.batch_size):
            n = len(batch.texts)
            rows_in_file += n
            if keep is not None:
                lo, hi = np.searchsorted(keep, [offset, offset + n])
                idx = keep[lo:hi] - offset
                offset += n
                if not len(idx):
                    continue
                mask = batch.non_string[idx] if batch.non_string is not None else None
                batch = ArrowBatch(batch.ids.take(pa.array(idx)),
                                   batch.texts.take(pa.array(idx)), mask)
            else:
                offset += n
            yield batch
        stats.per_file_rows[str(r.file.path)] = rows_in_file
    if config.sample is None:
        stats.population_rows = offset


class _Outputs:
    """The files one pass writes; closed together."""

    def __init__(self, config: AuditConfig, work: Path) -> None:
        bands, rows = config.doc_lsh
        self.docs = DocTableWriter(work / "train_docs.arrow", TRAIN_DOC_SCHEMA)
        self.texts = TextFile(work / TRAIN_TEXTS).writer()
        self.sigs = SignatureFile(work / "train_signatures.u32", config.num_perm).writer()
        self.bands = BandWriter(work / "train_doc_bands.parquet", bands, rows)
        self.anchors = AnchorWriter(work / TRAIN_ANCHORS, config.anchor_window)

    def close(self) -> None:
        self.docs.close()
        self.texts.close()
        self.sigs.close()
        self.bands.close()
        self.anchors.close()


def _sign(signer: Signer, texts: pa.Array, base: int, bands: int,
          rows: int) -> tuple[SignedBatch, pa.Table, float]:
    """Sign one batch whose first row is ``base``; its band table and anchors use row ids."""
    t0 = time.perf_counter()
    signed = signer.sign_batch(texts)
    live = np.flatnonzero(signed.n_shingles > 0)
    table = band_table(live + base, signed.signatures[live], bands, rows)
    signed.anchor_rows += base
    return signed, table, time.perf_counter() - t0


def _with_base(batches: Iterator[ArrowBatch]) -> Iterator[tuple[ArrowBatch, int]]:
    base = 0
    for b in batches:
        yield b, base
        base += len(b.texts)


def read_stage(config: AuditConfig, files: list[InputFile], work: Path,
               signer: Signer, engine: Engine | None = None) -> tuple[ReadStats, SignStats]:
    """Read, sign and write the training side (see the module doc); return the counts.

    Raises:
        EmptyTrainingSetError: no row has text with at least one word.
    """
    stats = ReadStats()
    sign = SignStats(workers=workers())
    out = _Outputs(config, work)
    bands, rows = config.doc_lsh
    bar = tqdm(desc="read and sign training set", unit="doc", disable=not config.progress)
    row = 0

    def job(item: tuple[ArrowBatch, int]) -> tuple[SignedBatch, pa.Table, float]:
        return _sign(signer, item[0].texts, item[1], bands, rows)

    try:
        for (batch, _), (signed, table, seconds) in (engine or LocalEngine()).map(
                job, _with_base(_batches(files, config, stats)), sign.workers):
            n = len(batch.texts)
            out.docs.add({"row": np.arange(row, row + n, dtype=np.int64), "id": batch.ids,
                          "n_words": signed.n_words, "n_shingles": signed.n_shingles})
            out.texts.add(batch.texts)
            out.sigs.add(signed.signatures)
            out.bands.add_table(table)
            out.anchors.add(signed.anchor_rows, signed.anchors, shingle_positions(
                signed.n_words[signed.anchor_rows - row], config.ngram))
            stats.null_texts += batch.texts.null_count - batch.non_strings
            stats.non_string_texts += batch.non_strings
            stats.empty_texts += int((signed.n_shingles == 0).sum())
            stats.words += int(signed.n_words.sum())
            sign.seconds += seconds
            row += n
            bar.update(n)
    finally:
        out.close()
        bar.close()
    stats.sampled_rows = row
    stats.documents = row - stats.empty_texts
    sign.documents = stats.documents
    sign.anchors = out.anchors.count
    sign.doc_band_rows = out.bands.count
    sign.seconds = round(sign.seconds, 3)
    if stats.documents == 0:
        names = ", ".join(str(f.path) for f in files[:3]) + (" ..." if len(files) > 3 else "")
        raise EmptyTrainingSetError(
            f"{names}: no document with text in column {config.text_column!r} "
            f"({row} rows: {stats.null_texts} null, {stats.non_string_texts} non-string, "
            f"{stats.empty_texts} empty); check --text-column and the files"
        )
    return stats, sign
