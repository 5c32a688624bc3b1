"""MinHash signing: the ``Signer`` contract, the datasketch reference, and windows.

The contract every signer meets, bit for bit: for each text, the shingles are
``commons.normalize.shingles(text, ngram)`` encoded as UTF-8, each hashed with
``xxhash.xxh32_intdigest(shingle_bytes)`` (seed 0), and the signature is the
``hashvalues`` of ``datasketch.MinHash(num_perm=num_perm, seed=seed, scheme="affine32",
hashfunc=...)`` updated with those hashes. A text with no shingles (None, empty, or only
punctuation) gets datasketch's empty signature, every value ``2**32 - 1``; the stages
never index or match such a document and count it as empty instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import xxhash
from datasketch import MinHash

from audit.config import SCHEME, AuditConfig
from commons.exceptions import ConfigError
from commons.normalize import shingles

EMPTY_VALUE = np.uint32(0xFFFFFFFF)


def shingle_hash(shingle: bytes) -> int:
    """The 32-bit hash of one UTF-8 encoded shingle (the signature contract's hashfunc)."""
    return xxhash.xxh32_intdigest(shingle)


class Signer(Protocol):
    """Turns texts into MinHash signatures, bit-identical to :class:`DatasketchSigner`.

    Implementations are built as ``Signer(num_perm=..., seed=..., ngram=...)``.
    """

    def sign(self, texts: Sequence[str | None]) -> np.ndarray:
        """Signatures of ``texts``: an ``(len(texts), num_perm)`` uint32 array."""
        ...


class DatasketchSigner:
    """The reference signer: ``datasketch.MinHash.generator`` with xxh32 shingle hashes.

    >>> sig = DatasketchSigner(num_perm=4, seed=1, ngram=2).sign(["a b c", ""])
    >>> sig.shape, bool((sig[1] == 2**32 - 1).all())
    ((2, 4), True)
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self._empty = np.full(num_perm, EMPTY_VALUE, dtype=np.uint32)

    def sign(self, texts: Sequence[str | None]) -> np.ndarray:
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        encoded = [[s.encode("utf-8") for s in shingles(t, self.ngram)] for t in texts]
        nonempty = [i for i, e in enumerate(encoded) if e]
        gen = MinHash.generator(
            (encoded[i] for i in nonempty),
            num_perm=self.num_perm,
            seed=self.seed,
            scheme=SCHEME,
            hashfunc=shingle_hash,
        )
        out[:] = self._empty
        for i, m in zip(nonempty, gen, strict=True):
            out[i] = m.hashvalues
        return out


def make_signer(config: AuditConfig) -> Signer:
    """The compiled ``audit.fast.FastSigner`` when available and allowed, else the reference.

    Raises:
        ConfigError: ``engine_signer="fast"`` but ``audit.fast`` cannot be imported.
    """
    kwargs = {"num_perm": config.num_perm, "seed": config.seed, "ngram": config.ngram}
    if config.engine_signer in ("auto", "fast"):
        try:
            from audit.fast import FastSigner  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            if config.engine_signer == "fast":
                raise ConfigError(
                    f"--engine fast: audit.fast is not importable ({exc}); build it or use "
                    "--engine reference"
                ) from exc
        else:
            signer: Signer = FastSigner(**kwargs)
            return signer
    return DatasketchSigner(**kwargs)


def signer_name(signer: Signer) -> str:
    """``module.Class`` of a signer, for run.json."""
    return f"{type(signer).__module__}.{type(signer).__qualname__}"


def window_starts(n_words: int, size: int, step: int) -> list[int]:
    """Start offsets of ``size``-word windows every ``step`` words, the last flush with the end.

    A text of at most ``size`` words is one window; an empty text has none.

    >>> window_starts(120, 50, 50)
    [0, 50, 70]
    >>> window_starts(30, 50, 10)
    [0]
    """
    if n_words <= 0:
        return []
    if n_words <= size:
        return [0]
    starts = list(range(0, n_words - size + 1, step))
    if starts[-1] != n_words - size:
        starts.append(n_words - size)
    return starts


def window_texts(tokens: Sequence[str], size: int, step: int) -> list[str]:
    """The windows of normalised ``tokens`` as texts (normalising them again is a no-op)."""
    return [" ".join(tokens[s : s + size]) for s in window_starts(len(tokens), size, step)]
