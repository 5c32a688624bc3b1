"""Fast MinHash signatures, bit-identical to ``datasketch.MinHash`` (scheme ``affine32``).

The contract (see :mod:`audit.signing.contract`): text normalised by
:func:`commons.normalize.normalize`, word n-gram shingles as in
:func:`commons.normalize.shingles`, each shingle hashed with
``xxhash.xxh32_intdigest(shingle.encode("utf-8"))``, and ``datasketch.MinHash(num_perm,
seed=seed, scheme="affine32", hashfunc=...)`` updated with every shingle. A text with no
shingle gets datasketch's empty row (every value ``2**32 - 1``). The same pass counts words
and shingles and picks the winnowing anchors; exact shingle sets are xxh64 hashes.

ASCII documents are normalised, shingled, hashed and permuted inside one numba kernel.
In other documents only the non-ASCII "islands" (see :mod:`audit.signing._kernels`) go
through Python's ``unicodedata``; the kernels do the rest from the UTF-8 bytes. Kernels release the
GIL, so threads can sign batches side by side.

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

from audit.signing import _kernels as kernels
from audit.signing.contract import ShingleSets, SignedBatch

__all__ = ["FastSigner", "fast_normalize", "string_parts", "word_char_table"]

_BATCH_ROWS = 8192


def _readonly(array: np.ndarray) -> np.ndarray:
    # One numba specialisation for every caller: data buffers are always read-only.
    array.setflags(write=False)
    return array


_NO_ISLANDS = _readonly(np.zeros(1, dtype=np.uint8))
_NO_ISLAND_OFFSETS = np.zeros(1, dtype=np.int64)
_NO_TABLE = _readonly(np.zeros(1, dtype=np.uint8))


@functools.cache
def word_char_table() -> np.ndarray:
    """``uint8[0x110000]``: 1 where this Python's Unicode category is L*, N* or M*."""
    category = unicodedata.category
    flags = bytes(category(chr(cp))[0] in "LNM" for cp in range(0x110000))
    return _readonly(np.frombuffer(flags, dtype=np.uint8))


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


def string_parts(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data bytes, int64 offsets, validity) of a string array, without per-row objects.

    Raises:
        ValueError: the array is not a string array.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_large_string(array.type):
        offset_type: type[np.signedinteger] = np.int64
    elif pa.types.is_string(array.type):
        offset_type = np.int32
    elif pa.types.is_string_view(array.type) or pa.types.is_null(array.type):
        return string_parts(array.cast(pa.large_string()))
    else:
        raise ValueError(f"expected a string array, got {array.type}; cast the column to string")
    n = len(array)
    _, offset_buf, data_buf = array.buffers()
    if offset_buf is None:
        offsets = np.zeros(n + 1, dtype=np.int64)
    else:
        offsets = np.frombuffer(offset_buf, dtype=offset_type, count=array.offset + n + 1)
        offsets = offsets[array.offset :].astype(np.int64)
    if data_buf is None or data_buf.size == 0:
        data = np.zeros(0, dtype=np.uint8)
    else:
        data = np.frombuffer(data_buf, dtype=np.uint8)
    if array.null_count:
        valid = np.array(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    else:
        valid = np.ones(n, dtype=np.bool_)
    return _readonly(data), offsets, valid


class FastSigner:
    """datasketch-identical affine32 MinHash signatures of word n-grams, computed in numba.

    Args:
        num_perm: permutations per signature (datasketch's ``num_perm``).
        seed: datasketch's ``seed``; it fixes the permutations.
        ngram: words per shingle.
        window: shingles per winnowing window of the anchors.

    Raises:
        ValueError: ``num_perm``, ``ngram`` or ``window`` is below 1.
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5,
                 window: int = 46) -> None:
        if num_perm < 1 or ngram < 1 or window < 1:
            raise ValueError(f"num_perm, ngram and window must be >= 1, got "
                             f"{num_perm}, {ngram}, {window}")
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self.window = window
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
        """Compile (or load from numba's on-disk cache) every signing kernel now, rather than
        on the first real batch."""
        texts = pa.array(["warm up the kernels now", "warm úp", None], pa.large_string())
        self.sign_batch(texts)
        self.sign(["warm up"])
        self.shingle_sets(texts)
        fast_normalize(["warm up"])

    def sign(self, texts: Sequence[str | None]) -> np.ndarray:
        """Signatures of ``texts``: ``uint32[len(texts), num_perm]``; non-strings sign as empty."""
        data, offsets = _encode(texts)
        valid = np.ones(len(texts), dtype=np.bool_)
        return self._sign_parts(data, offsets, valid, anchors=False).signatures

    def sign_batch(self, texts: pa.Array | pa.ChunkedArray) -> SignedBatch:
        """Signatures, word and shingle counts, and anchors of a string column."""
        return self._sign_parts(*string_parts(texts))

    def sign_arrow(self, array: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Signatures of a string column, read from its Arrow buffers; nulls sign as empty."""
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        parts = [self._sign_parts(*string_parts(c.slice(s, _BATCH_ROWS)), anchors=False).signatures
                 for c in chunks for s in range(0, len(c), _BATCH_ROWS)]
        if not parts:
            return np.empty((0, self.num_perm), dtype=np.uint32)
        return np.concatenate(parts)

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
            out[starts[i] : starts[i + 1]] = self.sign_arrow(table.column(0))

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(sign_group, range(meta.num_row_groups)))
        return out

    def _sign_parts(self, data: np.ndarray, offsets: np.ndarray, valid: np.ndarray,
                    anchors: bool = True) -> SignedBatch:
        """Sign documents given as UTF-8 bytes; without ``anchors`` the batch has none."""
        n = len(valid)
        sigs = np.empty((n, self.num_perm), dtype=np.uint32)
        n_words = np.empty(n, dtype=np.int32)
        n_shingles = np.empty(n, dtype=np.int32)
        args = (kernels.ASCII_MAP, kernels.COMPOSITION_BASES, self._a, self._b, self.ngram,
                self.window if anchors else 0, sigs, n_words, n_shingles)
        rows, hashes, undone = kernels.sign_docs(
            data, offsets, valid, np.arange(n, dtype=np.int64), True, _NO_ISLANDS,
            _NO_ISLAND_OFFSETS, _NO_TABLE, *args)
        if undone.size:
            islands, island_offsets = _normalized_islands(data, offsets, undone)
            more_rows, more, _ = kernels.sign_docs(
                data, offsets, valid, undone, False, islands, island_offsets,
                word_char_table(), *args)
            rows = np.concatenate([rows, more_rows])
            hashes = np.concatenate([hashes, more])
        return SignedBatch(sigs, n_words, n_shingles, rows, hashes)

    def shingle_sets(self, texts: pa.Array | pa.ChunkedArray) -> ShingleSets:
        """Exact shingle sets (sorted distinct xxh64 hashes) of a string column."""
        data, offsets, _ = string_parts(texts)
        n = len(offsets) - 1
        seg = np.zeros((n, 2), dtype=np.int64)
        flat = np.empty(max(16, (int(offsets[-1] - offsets[0])) // 5), dtype=np.uint64)
        common = (kernels.ASCII_MAP, kernels.COMPOSITION_BASES, self.ngram)
        flat, used, undone = kernels.shingle_sets(
            data, offsets, np.arange(n, dtype=np.int64), True, _NO_ISLANDS, _NO_ISLAND_OFFSETS,
            _NO_TABLE, *common, flat, 0, seg)
        if undone.size:
            islands, island_offsets = _normalized_islands(data, offsets, undone)
            flat, used, _ = kernels.shingle_sets(
                data, offsets, undone, False, islands, island_offsets, word_char_table(),
                *common, flat, used, seg)
        return ShingleSets(flat[:used], seg)


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

