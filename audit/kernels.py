"""Compile every numba kernel of the audit at once, or load them from numba's on-disk cache.

``python -m audit.kernels`` (run by ``make setup``) fills the cache, so a cold
``commons audit`` starts in well under a second; the kernels are those of the signers
(:mod:`audit.signing._kernels`), the band index and the exact overlaps of the match stage.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from audit.index.bands import band_keys, band_table
from audit.match.overlap import covered_fractions, pair_overlaps
from audit.signing.compiled import FastSigner


def warm_up() -> None:
    """Compile or load each kernel with the argument types the stages pass it."""
    signer = FastSigner(num_perm=8)
    signer.warm_up()
    texts = pa.array(["warm up the kernels now", "warm úp", None], pa.large_string())
    signed = signer.sign_batch(texts)
    band_keys(signed.signatures, 2, 4)
    band_table(np.arange(len(texts), dtype=np.int64), signed.signatures, 2, 4)
    sets = signer.shingle_sets(texts)
    rows = np.zeros(1, dtype=np.int64)
    pair_overlaps(sets, rows, sets, rows)
    covered_fractions(sets, rows, sets, rows, np.array([0, 1], dtype=np.int64))


if __name__ == "__main__":
    warm_up()
