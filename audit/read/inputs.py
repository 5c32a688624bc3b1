"""Training-set inputs: files, folders and globs expanded into files of a known format."""

from __future__ import annotations

import glob as globlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from audit.exceptions import CorruptInputError, InputNotFoundError, UnsupportedInputError

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson")


@dataclass(frozen=True)
class InputFile:
    """One training file and its format (``parquet``, ``jsonl`` or ``arrow``)."""

    path: Path
    format: str


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
