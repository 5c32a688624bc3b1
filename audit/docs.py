"""Document tables on disk (Arrow IPC files, memory-mapped) and signature files.

Both sides of an audit keep their documents as an Arrow IPC *file* so that later stages
can fetch any row's text by position without holding the texts in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
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
        ("text", pa.large_string()),
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
        ("text", pa.large_string()),
    ]
)


def signature_schema(num_perm: int, with_start: bool = False) -> pa.Schema:
    """``(row[, start], signature)`` with a fixed-size list of ``num_perm`` uint32."""
    fields = [("row", pa.int64())]
    if with_start:
        fields.append(("start", pa.int32()))
    fields.append(("signature", pa.list_(pa.uint32(), num_perm)))
    return pa.schema(fields)


def signature_array(signatures: np.ndarray) -> pa.FixedSizeListArray:
    """``(n, num_perm)`` uint32 -> Arrow fixed-size lists."""
    flat = pa.array(np.ascontiguousarray(signatures).reshape(-1), type=pa.uint32())
    return pa.FixedSizeListArray.from_arrays(flat, signatures.shape[1])


def signatures_of(column: pa.Array | pa.ChunkedArray, num_perm: int) -> np.ndarray:
    """Arrow fixed-size lists -> ``(n, num_perm)`` uint32."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.uint32).reshape(-1, num_perm)


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


def iter_doc_batches(path: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of at most ``batch_size`` rows, memory-mapped."""
    reader = pa.ipc.open_file(pa.memory_map(str(path), "r"))
    for i in range(reader.num_record_batches):
        rb = reader.get_batch(i)
        for off in range(0, rb.num_rows, batch_size):
            yield rb.slice(off, batch_size)


class SignatureFile:
    """Signatures appended as raw uint32 rows, then memory-mapped as ``(n, num_perm)``."""

    def __init__(self, path: Path, num_perm: int) -> None:
        self.path = path
        self.num_perm = num_perm

    def writer(self) -> _RawAppender:
        return _RawAppender(self.path)

    def open(self) -> np.ndarray:
        size = self.path.stat().st_size if self.path.exists() else 0
        n = size // (4 * self.num_perm)
        if n == 0:
            return np.zeros((0, self.num_perm), dtype=np.uint32)
        return np.memmap(self.path, dtype=np.uint32, mode="r", shape=(n, self.num_perm))


class _RawAppender:
    def __init__(self, path: Path) -> None:
        self._fh = open(path, "wb")  # noqa: SIM115 (closed by close())

    def add(self, signatures: np.ndarray) -> None:
        self._fh.write(np.ascontiguousarray(signatures, dtype=np.uint32).tobytes())

    def close(self) -> None:
        self._fh.flush()
        self._fh.close()


def write_signature_parquet(path: Path, num_perm: int,
                            with_start: bool = False) -> pq.ParquetWriter:
    """A Parquet writer for :func:`signature_schema` tables."""
    return pq.ParquetWriter(path, signature_schema(num_perm, with_start), compression="zstd")
