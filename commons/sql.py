"""SQL helpers shared by every package that builds DuckDB queries (a leaf module)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa


def sql_literal(value: str) -> str:
    """A SQL string literal.

    >>> sql_literal("it's")
    "'it''s'"
    """
    return "'" + value.replace("'", "''") + "'"


def sql_list(paths: Iterable[str | Path]) -> str:
    """A SQL list of string literals (e.g. the files of ``read_parquet``).

    >>> sql_list(["a.parquet", "b.parquet"])
    "['a.parquet', 'b.parquet']"
    """
    return "[" + ", ".join(sql_literal(str(p)) for p in paths) + "]"


def empty_select(columns: Mapping[str, str]) -> str:
    """A SELECT with the given typed columns and no rows.

    >>> empty_select({"a": "INTEGER"})
    'SELECT CAST(NULL AS INTEGER) AS a WHERE false'
    """
    cols = ", ".join(f"CAST(NULL AS {typ}) AS {name}" for name, typ in columns.items())
    return f"SELECT {cols} WHERE false"


def duckdb_type(t: pa.DataType) -> str:
    """The DuckDB type of an Arrow type (the types this project's files use).

    >>> duckdb_type(pa.list_(pa.string()))
    'VARCHAR[]'
    """
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    for check, name in ((pa.types.is_int8, "TINYINT"), (pa.types.is_int16, "SMALLINT"),
                        (pa.types.is_int32, "INTEGER"), (pa.types.is_int64, "BIGINT"),
                        (pa.types.is_uint32, "UINTEGER"), (pa.types.is_uint64, "UBIGINT"),
                        (pa.types.is_float32, "FLOAT"), (pa.types.is_float64, "DOUBLE")):
        if check(t):
            return name
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"  # type: ignore[attr-defined]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return duckdb_type(t.value_type) + "[]"  # type: ignore[attr-defined]
    raise ValueError(f"no DuckDB type for Arrow type {t}")


def duckdb_columns(schema: pa.Schema) -> dict[str, str]:
    """Column name -> DuckDB type of every field of an Arrow schema."""
    return {f.name: duckdb_type(f.type) for f in schema}
