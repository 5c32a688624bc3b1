"""Training-set readers: Parquet, JSON Lines (plain, .gz, .zst) and save_to_disk Arrow.

Every reader streams bounded batches of ``(ids, texts)``; texts are passed through as read
(None, non-strings and empty strings are counted later, never fatal here).
"""

from __future__ import annotations

import glob as globlib
import gzip
import io
import json
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from audit.exceptions import (
    CorruptInputError,
    InputNotFoundError,
    MissingColumnError,
    UnsupportedInputError,
)

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson")
DEFAULT_ID_COLUMN = "id"


@dataclass(frozen=True)
class InputFile:
    """One training file and its format (``parquet``, ``jsonl`` or ``arrow``)."""

    path: Path
    format: str


@dataclass
class RawBatch:
    """Ids and texts of consecutive rows of one file."""

    ids: list[str]
    texts: list[Any]


class TrainingReader(Protocol):
    """Streams one training file."""

    file: InputFile

    def count_rows(self) -> int:
        """Rows in the file (cheap for Parquet, one pass otherwise)."""
        ...

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        """The file's rows, ``batch_size`` at a time."""
        ...


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(".arrow"):
        return "arrow"
    return None


def _hf_files(folder: Path) -> list[InputFile] | None:
    """Arrow files of a ``save_to_disk`` Dataset or DatasetDict folder, else None."""
    state = folder / "state.json"
    if state.is_file():
        try:
            meta = json.loads(state.read_text("utf-8"))
            names = [f["filename"] for f in meta["_data_files"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptInputError(
                f"{state}: unreadable save_to_disk state ({exc}); re-save the dataset"
            ) from exc
        return [InputFile(folder / n, "arrow") for n in names]
    dd = folder / "dataset_dict.json"
    if dd.is_file():
        try:
            splits = json.loads(dd.read_text("utf-8"))["splits"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptInputError(f"{dd}: unreadable dataset_dict.json ({exc})") from exc
        out: list[InputFile] = []
        for split in splits:
            out += _hf_files(folder / split) or []
        return out
    return None


def _folder_files(folder: Path) -> list[InputFile]:
    hf = _hf_files(folder)
    if hf is not None:
        return hf
    found = []
    for p in sorted(folder.rglob("*")):
        fmt = _format_of(p)
        if p.is_file() and fmt in ("parquet", "jsonl") and not p.name.startswith((".", "_")):
            found.append(InputFile(p, fmt))
    return found


def resolve_inputs(patterns: Sequence[str]) -> list[InputFile]:
    """Expand files, folders and globs into training files, in a stable order.

    Raises:
        InputNotFoundError: a pattern matches nothing readable.
        UnsupportedInputError: a named file has an unknown extension.
    """
    out: list[InputFile] = []
    for pattern in patterns:
        matches = sorted(globlib.glob(pattern, recursive=True)) if globlib.has_magic(pattern) \
            else [pattern]
        found: list[InputFile] = []
        for m in matches:
            p = Path(m)
            if p.is_dir():
                found += _folder_files(p)
            elif p.is_file():
                fmt = _format_of(p)
                if fmt is None:
                    raise UnsupportedInputError(
                        f"{p}: unknown training-file type; use .parquet, .jsonl[.gz|.zst], "
                        "or a save_to_disk folder"
                    )
                found.append(InputFile(p, fmt))
        if not found:
            raise InputNotFoundError(
                f"{pattern}: no Parquet, JSON Lines or save_to_disk data found; check the path"
            )
        out += found
    seen: set[Path] = set()
    unique = []
    for f in out:
        key = f.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(InputFile(key, f.format))
    return unique


def _pick_id_column(path: Path, names: Sequence[str], id_column: str | None) -> str | None:
    if id_column is None:
        return DEFAULT_ID_COLUMN if DEFAULT_ID_COLUMN in names else None
    if id_column not in names:
        raise MissingColumnError(str(path), "--id-column", id_column, names)
    return id_column


def _ids(values: Sequence[Any] | None, path: Path, start: int, n: int) -> list[str]:
    if values is None:
        return [f"{path.name}#{start + i}" for i in range(n)]
    return [f"{path.name}#{start + i}" if v is None else str(v) for i, v in enumerate(values)]


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

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        cols = [self.text_column] + ([self.id_column] if self.id_column else [])
        start = 0
        try:
            for rb in self._pf.iter_batches(batch_size=batch_size, columns=cols):
                texts = rb.column(self.text_column).to_pylist()
                ids = rb.column(self.id_column).to_pylist() if self.id_column else None
                yield RawBatch(_ids(ids, self.file.path, start, len(texts)), texts)
                start += len(texts)
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

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        ids: list[Any] = []
        texts: list[Any] = []
        start = 0
        for _, rec in self._records():
            texts.append(rec.get(self.text_column))
            ids.append(rec.get(self.id_column) if self.id_column else None)
            if len(texts) >= batch_size:
                yield RawBatch(_ids(ids if self.id_column else None, self.file.path, start,
                                    len(texts)), texts)
                start += len(texts)
                ids, texts = [], []
        if texts:
            yield RawBatch(_ids(ids if self.id_column else None, self.file.path, start,
                                len(texts)), texts)


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

    def batches(self, batch_size: int) -> Iterator[RawBatch]:
        start = 0
        for rb in self._record_batches():
            for off in range(0, rb.num_rows, batch_size):
                part = rb.slice(off, batch_size)
                texts = part.column(self.text_column).to_pylist()
                ids = part.column(self.id_column).to_pylist() if self.id_column else None
                yield RawBatch(_ids(ids, self.file.path, start, len(texts)), texts)
                start += len(texts)


_READERS: dict[str, type[ParquetTrainingReader | JsonlTrainingReader | ArrowTrainingReader]] = {
    "parquet": ParquetTrainingReader,
    "jsonl": JsonlTrainingReader,
    "arrow": ArrowTrainingReader,
}


def open_reader(file: InputFile, text_column: str, id_column: str | None) -> TrainingReader:
    """The reader for ``file``'s format (checks the columns up front)."""
    return _READERS[file.format](file, text_column, id_column)
