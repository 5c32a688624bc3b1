"""Fast MinHash signatures, bit-identical to ``datasketch.MinHash`` (scheme ``affine32``).

The contract: text normalised by :func:`commons.normalize.normalize`, word n-gram shingles
as in :func:`commons.normalize.shingles`, each shingle hashed with
``xxhash.xxh32_intdigest(shingle.encode("utf-8"))``, and ``datasketch.MinHash(num_perm,
seed=seed, scheme="affine32", hashfunc=...)`` updated with every shingle. A text with no
shingle gets datasketch's empty row (every value ``2**32 - 1``).

ASCII documents are normalised, shingled, hashed and permuted inside one numba kernel.
In other documents only the non-ASCII "islands" (see :mod:`audit._fastkernels`) go through
Python's ``unicodedata``; the kernels do the rest from the UTF-8 bytes.

>>> signer = FastSigner(num_perm=16)
>>> signer.sign(["The quick brown fox jumps over the lazy dog", None]).shape
(2, 16)
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import datasketch
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasketch import MinHash

from audit import _fastkernels as kernels

__all__ = ["EMPTY_VALUE", "FastSigner", "fast_normalize", "word_char_table"]

#: datasketch's affine32 sentinel: the value of every slot of an empty MinHash.
EMPTY_VALUE = np.uint32(0xFFFFFFFF)
_BATCH_ROWS = 8192


@functools.cache
def word_char_table() -> np.ndarray:
    """``uint8[0x110000]``: 1 where this Python's Unicode category is L*, N* or M*."""
    category = unicodedata.category
    flags = bytes(category(chr(cp))[0] in "LNM" for cp in range(0x110000))
    table = np.frombuffer(flags, dtype=np.uint8)
    table.setflags(write=False)
    return table


def _readonly(array: np.ndarray) -> np.ndarray:
    # One numba specialisation for every caller: data buffers are always read-only.
    array.setflags(write=False)
    return array


def _normalized_islands(
    data: np.ndarray, offsets: np.ndarray, docs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The islands of ``docs`` after NFKC, casefold, NFKC: (UTF-8 bytes, offsets).

    Islands are joined with NUL, which no island holds and no character normalises to, so
    one ``unicodedata`` call covers a whole batch. Island ``i`` is
    ``bytes[offsets[i]:offsets[i + 1] - 1]``.
    """
    spans = kernels.island_spans(data, offsets, docs, kernels.COMPOSITION_BASES)
    view = memoryview(data)  # type: ignore[arg-type]
    parts = [view[s:e] for s, e in spans.tolist()]
    joined = b"\0".join(parts) + b"\0" if parts else b""
    text = joined.decode("utf-8", "surrogatepass")
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    islands = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    ends = np.flatnonzero(islands == 0)
    assert ends.size == spans.shape[0], "an island separator was lost in normalisation"
    island_offsets = np.zeros(ends.size + 1, dtype=np.int64)
    island_offsets[1:] = ends + 1
    return _readonly(islands), island_offsets


def _encode(texts: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 data, int64 offsets) of ``texts``; anything but a string encodes as empty."""
    encoded = [t.encode("utf-8", "surrogatepass") if isinstance(t, str) else b"" for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:])
    return _readonly(np.frombuffer(b"".join(encoded), dtype=np.uint8)), offsets


def _string_parts(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data bytes, int64 offsets, validity) of a string array, without per-row objects."""
    if pa.types.is_large_string(array.type):
        offset_type: type[np.signedinteger] = np.int64
    elif pa.types.is_string(array.type):
        offset_type = np.int32
    elif pa.types.is_string_view(array.type):
        return _string_parts(array.cast(pa.large_string()))
    else:
        raise ValueError(f"expected a string array, got {array.type}; cast the column to string")
    n = len(array)
    _, offset_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offset_buf, dtype=offset_type, count=array.offset + n + 1)
    offsets = offsets[array.offset :].astype(np.int64)
    if data_buf is None or data_buf.size == 0:
        data = np.zeros(0, dtype=np.uint8)
    else:
        data = np.frombuffer(data_buf, dtype=np.uint8)
    if array.null_count:
        valid = np.ascontiguousarray(array.is_valid().to_numpy(zero_copy_only=False))
    else:
        valid = np.ones(n, dtype=np.bool_)
    return _readonly(data), offsets, valid


class FastSigner:
    """datasketch-identical affine32 MinHash signatures of word n-grams, computed in numba.

    Args:
        num_perm: permutations per signature (datasketch's ``num_perm``).
        seed: datasketch's ``seed``; it fixes the permutations.
        ngram: words per shingle.

    Raises:
        ValueError: ``num_perm`` or ``ngram`` is below 1.
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> None:
        if num_perm < 1:
            raise ValueError(f"num_perm must be >= 1, got {num_perm}")
        if ngram < 1:
            raise ValueError(f"ngram must be >= 1, got {ngram}")
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        self._a = _readonly(np.ascontiguousarray(a, dtype=np.uint32))
        self._b = _readonly(np.ascontiguousarray(b, dtype=np.uint32))

    @property
    def params(self) -> dict[str, str | int]:
        """Everything needed to reproduce a signature; store it with every result."""
        return {
            "scheme": "affine32",
            "num_perm": self.num_perm,
            "seed": self.seed,
            "ngram": self.ngram,
            "hash": "xxh32",
            "normalize": "commons.normalize.normalize",
            "unicode": unicodedata.unidata_version,
            "datasketch": datasketch.__version__,
        }

    def warm_up(self) -> None:
        """Compile or load every kernel now rather than on the first real batch."""
        self.sign(["warm up", "warm úp"])
        fast_normalize(["warm up"])

    def sign(self, texts: Sequence[str | None]) -> np.ndarray:
        """Signatures of ``texts``: ``uint32[len(texts), num_perm]``; non-strings sign as empty."""
        data, offsets = _encode(texts)
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        self._sign_parts(data, offsets, np.ones(len(texts), dtype=np.bool_), out)
        return out

    def sign_arrow(self, array: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Signatures of a string column, read from its Arrow buffers; nulls sign as empty."""
        out = np.empty((len(array), self.num_perm), dtype=np.uint32)
        self._sign_arrow_into(array, out)
        return out

    def sign_parquet(self, path: str | Path, column: str = "text", workers: int = 1) -> np.ndarray:
        """Signatures of ``column`` of a Parquet file, row groups spread over ``workers`` threads.

        Raises:
            ValueError: ``workers`` is below 1 or the column is not a string column.
        """
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        meta = pq.ParquetFile(path).metadata
        starts = np.zeros(meta.num_row_groups + 1, dtype=np.int64)
        for i in range(meta.num_row_groups):
            starts[i + 1] = starts[i] + meta.row_group(i).num_rows
        out = np.empty((int(starts[-1]), self.num_perm), dtype=np.uint32)

        def sign_group(i: int) -> None:
            table = pq.ParquetFile(path).read_row_group(i, columns=[column], use_threads=False)
            self._sign_arrow_into(table.column(0), out[starts[i] : starts[i + 1]])

        if workers == 1:
            for i in range(meta.num_row_groups):
                sign_group(i)
        else:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(sign_group, range(meta.num_row_groups)))
        return out

    def _sign_arrow_into(self, array: pa.Array | pa.ChunkedArray, out: np.ndarray) -> None:
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        row = 0
        for chunk in chunks:
            for start in range(0, len(chunk), _BATCH_ROWS):
                part = chunk.slice(start, _BATCH_ROWS)
                data, offsets, valid = _string_parts(part)
                self._sign_parts(data, offsets, valid, out[row : row + len(part)])
                row += len(part)

    def _sign_parts(
        self, data: np.ndarray, offsets: np.ndarray, valid: np.ndarray, out: np.ndarray
    ) -> None:
        non_ascii = np.empty(len(valid), dtype=np.bool_)
        kernels.sign_ascii(
            data, offsets, valid, self._a, self._b, self.ngram, kernels.ASCII_MAP, out, non_ascii
        )
        docs = np.flatnonzero(non_ascii)
        if docs.size:
            islands, island_offsets = _normalized_islands(data, offsets, docs)
            kernels.sign_islands(
                data, offsets, docs, islands, island_offsets, word_char_table(),
                self._a, self._b, self.ngram, kernels.ASCII_MAP, kernels.COMPOSITION_BASES, out,
            )  # fmt: skip


def fast_normalize(texts: Sequence[str | None]) -> list[str]:
    """``commons.normalize.normalize`` of each text, by the kernels' own code paths.

    It exists so tests and tools can check the fast path's normalisation directly.
    """
    data, offsets = _encode(texts)
    islands, island_offsets = _normalized_islands(data, offsets, np.arange(len(texts)))
    text, text_offsets = kernels.normalize_docs(
        data, offsets, islands, island_offsets, word_char_table(),
        kernels.ASCII_MAP, kernels.COMPOSITION_BASES,
    )  # fmt: skip
    raw = text.tobytes()
    return [
        raw[s:e].decode("utf-8", "surrogatepass")
        for s, e in zip(text_offsets[:-1], text_offsets[1:], strict=True)
    ]
