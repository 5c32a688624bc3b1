"""Training-set readers (the ones the audit reads with): every supported format, streaming
Arrow batches, input expansion, and bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from audit.exceptions import (
    CorruptInputError,
    InputNotFoundError,
    MissingColumnError,
    UnsupportedInputError,
)
from audit.read.inputs import resolve_inputs
from audit.read.readers import open_reader

ROWS = [{"id": f"r{i}", "text": f"document number {i} " * 3, "lang": "en"} for i in range(25)]


def _read_all(patterns: list[str], text: str = "text", id_col: str | None = None,
              batch: int = 7) -> tuple[list[str], list[object], list[int]]:
    ids: list[str] = []
    texts: list[object] = []
    sizes: list[int] = []
    for f in resolve_inputs(patterns):
        for b in open_reader(f, text, id_col).batches(batch):
            ids += b.ids.to_pylist()
            texts += b.texts.to_pylist()
            sizes.append(len(b.texts))
    return ids, texts, sizes


def _jsonl(path: Path, rows: list[dict], opener=open) -> Path:  # type: ignore[no-untyped-def]
    with opener(path, "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    return path


def _zst(path: Path, rows: list[dict]) -> Path:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(zstandard.ZstdCompressor().compress(data))
    return path


@pytest.mark.parametrize("kind", ["parquet", "jsonl", "jsonl.gz", "jsonl.zst", "hf", "hfdict"])
def test_every_format_streams_all_rows_in_bounded_batches(tmp_path: Path, kind: str) -> None:
    expect = [r["id"] for r in ROWS]
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "a.parquet", row_group_size=10)
        target = tmp_path / "a.parquet"
    elif kind == "jsonl":
        target = _jsonl(tmp_path / "a.jsonl", ROWS)
    elif kind == "jsonl.gz":
        target = _jsonl(tmp_path / "a.jsonl.gz", ROWS, gzip.open)
    elif kind == "jsonl.zst":
        target = _zst(tmp_path / "a.jsonl.zst", ROWS)
    else:
        import datasets

        ds = datasets.Dataset.from_list(ROWS)
        target = tmp_path / "hf"
        if kind == "hf":
            ds.save_to_disk(str(target), num_shards=2)
        else:
            datasets.DatasetDict({"train": ds.select(range(20)),
                                  "test": ds.select(range(20, 25))}).save_to_disk(str(target))
    ids, texts, sizes = _read_all([str(target)])
    assert ids == expect
    assert texts == [r["text"] for r in ROWS]
    assert max(sizes) <= 7


def test_folders_and_globs_expand_in_stable_order_without_duplicates(tmp_path: Path) -> None:
    for k in range(3):
        pq.write_table(pa.Table.from_pylist(ROWS[k * 5 : k * 5 + 5]), tmp_path / f"p{k}.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    files = resolve_inputs([str(tmp_path / "p*.parquet"), str(tmp_path)])
    assert [f.path.name for f in files] == ["p0.parquet", "p1.parquet", "p2.parquet"]
    ids, _, _ = _read_all([str(tmp_path)])
    assert ids == [r["id"] for r in ROWS[:15]]


def test_missing_id_column_uses_file_and_row(tmp_path: Path) -> None:
    _jsonl(tmp_path / "x.jsonl", [{"content": "a b c"}, {"content": None}])
    ids, texts, _ = _read_all([str(tmp_path / "x.jsonl")], text="content")
    assert ids == ["x.jsonl#0", "x.jsonl#1"] and texts == ["a b c", None]


def test_missing_text_column_lists_the_columns(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "a.parquet")
    f = resolve_inputs([str(tmp_path / "a.parquet")])[0]
    with pytest.raises(MissingColumnError) as err:
        open_reader(f, "body", None)
    msg = str(err.value)
    assert "a.parquet" in msg and "'body'" in msg and "id, text, lang" in msg
    assert "--text-column" in msg and "\n" not in msg


def test_missing_id_column_named_explicitly_is_an_error(tmp_path: Path) -> None:
    _jsonl(tmp_path / "a.jsonl", ROWS[:2])
    f = resolve_inputs([str(tmp_path / "a.jsonl")])[0]
    with pytest.raises(MissingColumnError, match="--id-column"):
        open_reader(f, "text", "uuid")


def test_corrupt_and_unknown_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(CorruptInputError, match="bad.parquet"):
        open_reader(resolve_inputs([str(tmp_path / "bad.parquet")])[0], "text", None)
    lines = _jsonl(tmp_path / "bad.jsonl", ROWS[:3])
    with open(lines, "a") as fh:
        fh.write('{"id": "broken", "text": \n')
    f = resolve_inputs([str(lines)])[0]
    with pytest.raises(CorruptInputError, match=r"bad\.jsonl: unreadable JSON Lines at line 4"):
        list(open_reader(f, "text", None).batches(100))
    (tmp_path / "bad.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfd garbage")
    with pytest.raises(CorruptInputError, match="bad.jsonl.zst"):
        list(open_reader(resolve_inputs([str(tmp_path / "bad.jsonl.zst")])[0], "text",
                         None).batches(10))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UnsupportedInputError, match="notes.txt"):
        resolve_inputs([str(tmp_path / "notes.txt")])
    with pytest.raises(InputNotFoundError, match="nothing-here"):
        resolve_inputs([str(tmp_path / "nothing-here" / "*.parquet")])


def test_truncated_parquet_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS * 50), path, row_group_size=100)
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CorruptInputError, match="cut.parquet"):
        reader = open_reader(resolve_inputs([str(path)])[0], "text", None)
        list(reader.batches(100))
