"""A signed side's files on disk: its document table, texts, signatures, band table and
anchors (:class:`SideFiles`).

Both sides of an audit keep per-document facts (ids, counts, provenance) as a small Arrow
IPC *file*, memory-mapped by later stages, and the texts and signatures as flat files read
back row by row with ``pread``. Reading by ``pread`` rather than through a memory map keeps
a stage's resident memory to what it asked for: a memory-mapped read maps whole runs of
neighbouring pages into the process (fault-around), so scattered reads of a large file
would count most of it as resident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TRAIN_DOC_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("id", pa.string()),
        ("n_words", pa.int32()),
        ("n_shingles", pa.int32()),
    ]
)

SOURCE_DOC_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("doc_id", pa.string()),
        ("kind", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("license", pa.string()),
        ("parent_id", pa.string()),
        ("is_unit", pa.bool_()),
        ("n_words", pa.int32()),
        ("n_shingles", pa.int32()),
    ]
)


@dataclass(frozen=True)
class SideFiles:
    """Where one side's signed documents are: a run's ``work/`` folder (training side) or a
    snapshot's signature cache folder (source side).

    Attributes:
        docs: the doc table (Arrow IPC file: row, ids, counts, provenance).
        texts: the texts (:class:`TextFile`).
        signatures: raw ``uint32[n, num_perm]`` signatures (:class:`SignatureFile`).
        bands: the LSH band table (:mod:`audit.index.bands`).
        anchors: the folder of anchor partitions (:mod:`audit.index.anchors`).
        signature_parquet: the signatures as Parquet too (``row``, ``signature``), or None.
    """

    docs: Path
    texts: Path
    signatures: Path
    bands: Path
    anchors: Path
    signature_parquet: Path | None = None


def signature_schema(num_perm: int) -> pa.Schema:
    """``(row, signature)`` with a fixed-size list of ``num_perm`` uint32."""
    return pa.schema([("row", pa.int64()), ("signature", pa.list_(pa.uint32(), num_perm))])


def signature_array(signatures: np.ndarray) -> pa.FixedSizeListArray:
    """``(n, num_perm)`` uint32 -> Arrow fixed-size lists."""
    flat = pa.array(np.ascontiguousarray(signatures).reshape(-1), type=pa.uint32())
    return pa.FixedSizeListArray.from_arrays(flat, signatures.shape[1])


class DocTableWriter:
    """Appends record batches to an Arrow IPC file."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_file(self._sink, schema)
        self.rows = 0

    def add(self, columns: dict[str, object]) -> None:
        batch = pa.record_batch(columns, schema=self.schema)  # type: ignore[arg-type]
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def close(self) -> None:
        self._writer.close()
        self._sink.close()


def open_doc_table(path: Path) -> pa.Table:
    """The memory-mapped table of an Arrow IPC doc file (texts stay on disk)."""
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()


def _runs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row, length) of each run of consecutive values in sorted distinct ``rows``."""
    cuts = np.flatnonzero(np.diff(rows) != 1) + 1
    firsts = rows[np.r_[0, cuts]]
    lengths = np.diff(np.r_[0, cuts, len(rows)])
    return firsts, lengths


class SignatureFile:
    """Signatures appended as raw uint32 rows of ``num_perm`` values."""

    def __init__(self, path: Path, num_perm: int) -> None:
        self.path = path
        self.num_perm = num_perm

    def writer(self) -> _RawAppender:
        return _RawAppender(self.path)

    def __len__(self) -> int:
        size = self.path.stat().st_size if self.path.exists() else 0
        return size // (4 * self.num_perm)

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo`` to ``hi`` (exclusive), read into memory."""
        count = max(0, min(hi, len(self)) - lo)
        row = 4 * self.num_perm
        return np.fromfile(self.path, dtype=np.uint32, count=count * self.num_perm,
                           offset=lo * row).reshape(count, self.num_perm)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """``signatures[rows]`` for any row order, by one ``pread`` per run of rows."""
        uniq, inverse = np.unique(np.asarray(rows, dtype=np.int64), return_inverse=True)
        out = np.empty((len(uniq), self.num_perm), dtype=np.uint32)
        row = 4 * self.num_perm
        with open(self.path, "rb") as fh:
            fd = fh.fileno()
            at = 0
            for first, length in zip(*_runs(uniq), strict=True):
                out[at : at + length] = np.frombuffer(
                    os.pread(fd, int(length) * row, int(first) * row), dtype=np.uint32
                ).reshape(-1, self.num_perm)
                at += int(length)
        return out[inverse]


class TextFile:
    """Texts appended as raw UTF-8 bytes (``<name>.bin``) with int64 offsets
    (``<name>.offsets``); rows are read back with ``pread``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets_path = path.with_suffix(".offsets")

    def writer(self) -> _TextAppender:
        return _TextAppender(self)

    def take(self, rows: np.ndarray) -> pa.LargeStringArray:
        """The texts of sorted distinct ``rows`` (a null or empty text reads as ``""``)."""
        rows = np.asarray(rows, dtype=np.int64)
        offsets = np.fromfile(self.offsets_path, dtype=np.int64)
        starts, ends = offsets[rows], offsets[rows + 1]
        out = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=out[1:])
        parts: list[bytes] = []
        with open(self.path, "rb") as fh:
            fd = fh.fileno()
            for first, length in zip(*_runs(rows), strict=True) if len(rows) else ():
                lo, hi = offsets[first], offsets[first + length]
                parts.append(os.pread(fd, int(hi - lo), int(lo)))
        data = b"".join(parts)
        return pa.LargeStringArray.from_buffers(len(rows), pa.py_buffer(out.tobytes()),
                                                pa.py_buffer(data))


class _TextAppender:
    def __init__(self, file: TextFile) -> None:
        self.file = file
        self._fh = open(file.path, "wb")  # noqa: SIM115 (closed by close())
        self._offsets: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self._end = 0

    def add(self, texts: pa.Array | pa.ChunkedArray) -> None:
        """Append a string column (nulls as empty texts)."""
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        if texts.null_count:
            texts = texts.fill_null("")
        texts = texts.cast(pa.large_string())
        n = len(texts)
        if n == 0:
            return
        _, off_buf, data_buf = texts.buffers()
        offsets = np.frombuffer(off_buf, dtype=np.int64, count=texts.offset + n + 1)
        offsets = offsets[texts.offset :]
        if data_buf is not None and offsets[-1] > offsets[0]:
            self._fh.write(memoryview(data_buf)[offsets[0] : offsets[-1]])
        self._offsets.append(offsets[1:] - offsets[0] + self._end)
        self._end += int(offsets[-1] - offsets[0])

    def close(self) -> None:
        self._fh.close()
        np.concatenate(self._offsets).tofile(self.file.offsets_path)


class _RawAppender:
    def __init__(self, path: Path) -> None:
        self._fh = open(path, "wb")  # noqa: SIM115 (closed by close())

    def add(self, signatures: np.ndarray) -> None:
        self._fh.write(np.ascontiguousarray(signatures, dtype=np.uint32).tobytes())

    def close(self) -> None:
        self._fh.flush()
        self._fh.close()


def write_signature_parquet(path: Path, num_perm: int) -> pq.ParquetWriter:
    """A Parquet writer for :func:`signature_schema` tables (uncompressed: MinHash values are
    random, so compressing them costs time and saves nothing)."""
    return pq.ParquetWriter(path, signature_schema(num_perm), compression="none",
                            use_dictionary=False, write_statistics=False)

