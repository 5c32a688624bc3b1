"""Training-file readers, one per format: Parquet, JSON Lines (plain, .gz, .zst) and
``save_to_disk`` Arrow.

Every reader streams bounded batches of Arrow arrays (:class:`TrainingBatch`). Parquet and
Arrow columns are passed on as read, without per-row Python objects; JSON Lines values
become Arrow arrays batch by batch. Texts are never judged here: None, non-strings and empty
strings are counted later and are never fatal.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audit.exceptions import CorruptInputError, MissingColumnError
from audit.read.inputs import InputFile

DEFAULT_ID_COLUMN = "id"


def _is_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _without_surrogates(text: str | None) -> str | None:
    """``text`` with lone surrogates as U+FFFD; both normalise to a word separator, so the
    shingles and signatures do not change."""
    if text is None:
        return None
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@dataclass
class TrainingBatch:
    """Ids and texts of consecutive rows of one training file, as Arrow arrays.

    Attributes:
        ids: string ids (see :func:`row_ids`).
        texts: string or large_string texts; a value that is not a string reads as null.
        non_string: which rows held a value that is not a string (None: no such row).
    """

    ids: pa.Array
    texts: pa.Array
    non_string: np.ndarray | None = None

    @property
    def non_strings(self) -> int:
        """Rows whose value was not a string."""
        return 0 if self.non_string is None else int(self.non_string.sum())

    @classmethod
    def from_values(cls, ids: pa.Array | Sequence[str], texts: Sequence[Any]) -> TrainingBatch:
        """A batch of Python values; values that are not strings become flagged nulls."""
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
        return cls(ids, column, mask if mask.any() else None)

    @classmethod
    def from_arrow(cls, ids: pa.Array, texts: pa.Array) -> TrainingBatch:
        """A batch of Arrow columns; a text column that is not of strings is read by value."""
        if _is_string(texts.type):
            return cls(ids, texts)
        return cls.from_values(ids, texts.to_pylist())

    def take(self, positions: np.ndarray) -> TrainingBatch:
        """The rows at ``positions`` (batch positions, increasing)."""
        idx = pa.array(positions)
        mask = self.non_string[positions] if self.non_string is not None else None
        return TrainingBatch(self.ids.take(idx), self.texts.take(idx), mask)


def row_ids(ids: pa.Array | Sequence[Any] | None, file: Path, start: int, n: int) -> pa.Array:
    """The ids of ``n`` rows from row ``start`` of ``file``, as strings.

    Without an id column (``ids`` None), and for a null id, a row's id is
    ``<file name>#<row>``.

    >>> row_ids(None, Path("a.jsonl"), 3, 2).to_pylist()
    ['a.jsonl#3', 'a.jsonl#4']
    >>> row_ids(pa.array([7, None]), Path("a.parquet"), 0, 2).to_pylist()
    ['7', 'a.parquet#1']
    """
    if isinstance(ids, pa.Array):
        if ids.null_count == 0 and (_is_string(ids.type) or pa.types.is_integer(ids.type)):
            return ids.cast(pa.string())
        ids = ids.to_pylist()
    values = ids if ids is not None else [None] * n
    return pa.array([f"{file.name}#{start + i}" if v is None else str(v)
                     for i, v in enumerate(values)], pa.string())


class TrainingReader(Protocol):
    """Streams one training file."""

    file: InputFile

    def count_rows(self) -> int:
        """Rows in the file (cheap for Parquet, one pass otherwise)."""
        ...

    def batches(self, batch_size: int) -> Iterator[TrainingBatch]:
        """The file's rows, ``batch_size`` at a time."""
        ...


def _pick_id_column(path: Path, names: Sequence[str], id_column: str | None) -> str | None:
    if id_column is None:
        return DEFAULT_ID_COLUMN if DEFAULT_ID_COLUMN in names else None
    if id_column not in names:
        raise MissingColumnError(str(path), "--id-column", id_column, names)
    return id_column


class ParquetTrainingReader:
    """Reads a Parquet file by row groups, only the id and text columns."""

    def __init__(self, file: InputFile, text_column: str, id_column: str | None) -> None:
        self.file = file
        try:
            self._pf = pq.ParquetFile(file.path)
        except (pa.ArrowException, OSError) as exc:
            raise CorruptInputError(
                f"{file.path}: cannot read as Parquet ({exc}); re-export or remove the file"
            ) from exc
        names = self._pf.schema_arrow.names
        if text_column not in names:
            raise MissingColumnError(str(file.path), "--text-column", text_column, names)
        self.text_column = text_column
        self.id_column = _pick_id_column(file.path, names, id_column)

    def count_rows(self) -> int:
        return int(self._pf.metadata.num_rows)

    def batches(self, batch_size: int) -> Iterator[TrainingBatch]:
        cols = [self.text_column] + ([self.id_column] if self.id_column else [])
        start = 0
        try:
            for rb in self._pf.iter_batches(batch_size=batch_size, columns=cols):
                ids = rb.column(self.id_column) if self.id_column else None
                yield TrainingBatch.from_arrow(row_ids(ids, self.file.path, start, rb.num_rows),
                                               rb.column(self.text_column))
                start += rb.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise CorruptInputError(
                f"{self.file.path}: unreadable Parquet data after row {start} ({exc}); "
                "re-export or remove the file"
            ) from exc


def _open_text(path: Path) -> IO[str]:
    name = path.name.lower()
    if name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    if name.endswith(".zst"):
        import zstandard

        raw = zstandard.ZstdDecompressor().stream_reader(
            open(path, "rb"), closefd=True)  # noqa: SIM115 (closed with the reader)
        return io.TextIOWrapper(raw, encoding="utf-8")
    return open(path, encoding="utf-8")


class JsonlTrainingReader:
    """Reads JSON Lines, one object per line; blank lines are skipped."""

    def __init__(self, file: InputFile, text_column: str, id_column: str | None) -> None:
        self.file = file
        self.text_column = text_column
        records = self._records()
        first = next(records, None)
        records.close()
        keys = sorted(first[1]) if first else []
        if first is not None and text_column not in first[1]:
            raise MissingColumnError(str(file.path), "--text-column", text_column, keys)
        self.id_column = _pick_id_column(file.path, keys, id_column) if first else id_column

    def _records(self) -> Generator[tuple[int, dict[str, Any]], None, None]:
        lineno = 0
        try:
            with _open_text(self.file.path) as fh:
                for lineno, line in enumerate(fh, 1):  # noqa: B007
                    if not line.strip():
                        continue
                    rec = json.loads(line)
                    if not isinstance(rec, dict):
                        raise ValueError("line is not a JSON object")
                    yield lineno, rec
        except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
            raise CorruptInputError(
                f"{self.file.path}: unreadable JSON Lines at line {max(lineno, 1)} "
                f"({type(exc).__name__}: {exc}); fix or remove the file"
            ) from exc
        except Exception as exc:  # zstandard.ZstdError has no common base with the above
            if type(exc).__module__.startswith("zstandard"):
                raise CorruptInputError(
                    f"{self.file.path}: corrupt zstd stream ({exc}); re-compress the file"
                ) from exc
            raise

    def count_rows(self) -> int:
        return sum(1 for _ in self._records())

    def _batch(self, ids: list[Any], texts: list[Any], start: int) -> TrainingBatch:
        return TrainingBatch.from_values(
            row_ids(ids if self.id_column else None, self.file.path, start, len(texts)), texts)

    def batches(self, batch_size: int) -> Iterator[TrainingBatch]:
        ids: list[Any] = []
        texts: list[Any] = []
        start = 0
        for _, rec in self._records():
            texts.append(rec.get(self.text_column))
            ids.append(rec.get(self.id_column) if self.id_column else None)
            if len(texts) >= batch_size:
                yield self._batch(ids, texts, start)
                start += len(texts)
                ids, texts = [], []
        if texts:
            yield self._batch(ids, texts, start)


class ArrowTrainingReader:
    """Reads an Arrow IPC stream file as written by ``datasets.Dataset.save_to_disk``."""

    def __init__(self, file: InputFile, text_column: str, id_column: str | None) -> None:
        self.file = file
        with self._open() as reader:
            names = reader.schema.names
        if text_column not in names:
            raise MissingColumnError(str(file.path), "--text-column", text_column, names)
        self.text_column = text_column
        self.id_column = _pick_id_column(file.path, names, id_column)

    def _open(self) -> pa.ipc.RecordBatchStreamReader:
        try:
            return pa.ipc.open_stream(pa.memory_map(str(self.file.path), "r"))
        except (pa.ArrowException, OSError) as exc:
            raise CorruptInputError(
                f"{self.file.path}: cannot read as an Arrow stream ({exc}); re-save the dataset"
            ) from exc

    def _record_batches(self) -> Iterator[pa.RecordBatch]:
        try:
            with self._open() as reader:
                yield from reader
        except (pa.ArrowException, OSError) as exc:
            raise CorruptInputError(
                f"{self.file.path}: truncated or corrupt Arrow data ({exc}); re-save the dataset"
            ) from exc

    def count_rows(self) -> int:
        return sum(rb.num_rows for rb in self._record_batches())

    def batches(self, batch_size: int) -> Iterator[TrainingBatch]:
        start = 0
        for rb in self._record_batches():
            for off in range(0, rb.num_rows, batch_size):
                part = rb.slice(off, batch_size)
                ids = part.column(self.id_column) if self.id_column else None
                yield TrainingBatch.from_arrow(
                    row_ids(ids, self.file.path, start, part.num_rows),
                    part.column(self.text_column))
                start += part.num_rows


_READERS: dict[str, type[ParquetTrainingReader | JsonlTrainingReader | ArrowTrainingReader]] = {
    "parquet": ParquetTrainingReader,
    "jsonl": JsonlTrainingReader,
    "arrow": ArrowTrainingReader,
}


def open_reader(file: InputFile, text_column: str, id_column: str | None) -> TrainingReader:
    """The reader for ``file``'s format (checks the columns up front)."""
    return _READERS[file.format](file, text_column, id_column)
