"""The band index: LSH band keys of signatures, and band tables on disk.

A band is ``rows`` consecutive signature values, laid out as ``datasketch.MinHashLSH``
lays them out (band ``i`` covers values ``[i*rows, (i+1)*rows)``). Each band is reduced to
a 64-bit key with a fixed splitmix64 fold, so two documents are candidates exactly when
datasketch would put them in the same bucket (barring a 64-bit key collision, which the
later Jaccard check removes). A band table is the long table ``(row, band, h)`` of a side's
non-empty documents.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audit.files import SignatureFile, open_doc_table

BAND_SCHEMA = pa.schema([("row", pa.int64()), ("band", pa.int16()), ("h", pa.uint64())])
#: Rows per Parquet row group of band and anchor files: small enough for DuckDB to stream
#: them under a tight memory limit (the files are uncompressed).
ROW_GROUP = 256 * 1024
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
#: Signatures read at a time when a band table is built from a signature file.
_BUILD_ROWS = 100_000


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise on uint64 values."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(n, bands)`` uint64 keys of each band of ``(n, num_perm)`` uint32 signatures."""
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows exceed {signatures.shape[1]} values")
    sig = signatures.astype(np.uint64, copy=False)
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            h = np.full(sig.shape[0], np.uint64(b) * _GOLDEN + _GOLDEN, dtype=np.uint64)
            for j in range(b * rows, (b + 1) * rows):
                h = mix64(h ^ (sig[:, j] + _GOLDEN))
            out[:, b] = h
    return out


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """:func:`band_hashes`, computed by a compiled kernel (the same keys, ~10x faster)."""
    from audit.index._kernels import band_keys as kernel

    if bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows exceed {signatures.shape[1]} values")
    sig = np.ascontiguousarray(signatures, dtype=np.uint32).view()
    sig.setflags(write=False)
    out = np.empty((sig.shape[0], bands), dtype=np.uint64)
    kernel(sig, bands, rows, out)
    return out


def band_table(rows: np.ndarray, signatures: np.ndarray, bands: int, r: int) -> pa.Table:
    """Long table ``(row, band, h)`` for signatures whose owner ids are ``rows``."""
    from audit.index._kernels import band_rows

    if bands * r > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {r} rows exceed {signatures.shape[1]} values")
    n = len(rows) * bands
    owner = np.empty(n, dtype=np.int64)
    band = np.empty(n, dtype=np.int16)
    key = np.empty(n, dtype=np.uint64)
    sig = np.ascontiguousarray(signatures, dtype=np.uint32).view()
    sig.setflags(write=False)
    band_rows(sig, np.ascontiguousarray(rows, dtype=np.int64), bands, r, owner, band, key)
    return pa.table({"row": owner, "band": band, "h": key}, schema=BAND_SCHEMA)


class BandWriter:
    """Appends band tables to one Parquet file (one row group per batch)."""

    def __init__(self, path: Path, bands: int, rows: int) -> None:
        self.path = path
        self.bands = bands
        self.rows = rows
        # Keys are random 64-bit values: compression would cost time and save nothing.
        self._writer = pq.ParquetWriter(path, BAND_SCHEMA, compression="none",
                                        use_dictionary=False, write_statistics=False)
        self.count = 0

    def add(self, owner_rows: np.ndarray, signatures: np.ndarray) -> None:
        """Append the bands of ``signatures``, owned by ``owner_rows``."""
        if len(owner_rows) == 0:
            return
        self.add_table(band_table(owner_rows, signatures, self.bands, self.rows))

    def add_table(self, table: pa.Table) -> None:
        """Append a :func:`band_table` made elsewhere (e.g. in a worker thread)."""
        if table.num_rows:
            self._writer.write_table(table, row_group_size=ROW_GROUP)
            self.count += table.num_rows

    def close(self) -> None:
        self._writer.close()


def band_table_file(path: Path, docs: Path, signatures: SignatureFile, bands: int,
                    rows: int) -> Path:
    """``path``: the band table of a signed side's non-empty documents for a (bands, rows)
    layout, built from its doc table and signatures unless it exists (written under a
    temporary name, then renamed into place)."""
    if path.exists():
        return path
    sizes = open_doc_table(docs).column("n_shingles").to_numpy()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    writer = BandWriter(tmp, bands, rows)
    try:
        for lo in range(0, len(sizes), _BUILD_ROWS):
            live = np.flatnonzero(sizes[lo : lo + _BUILD_ROWS] > 0)
            writer.add(live.astype(np.int64) + lo, signatures.read(lo, lo + _BUILD_ROWS)[live])
        writer.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
