"""Shares with confidence intervals.

Document shares are binomial proportions: Wilson score intervals, or Clopper-Pearson
("exact") when fewer than :data:`SMALL_COUNT` documents are on either side (k or n - k),
where Wilson under-covers. Without sampling, the documents audited are treated as a draw
from the process that produced the data set (no finite population correction).

With ``--sample n`` out of ``N`` rows, the sample is drawn without replacement, so the
variance carries the finite population correction ``fpc = (N - n) / (N - 1)``: intervals
use the effective sample size ``n / fpc`` (Wilson with ``z**2 * fpc``; Clopper-Pearson
through Beta quantiles at ``k / fpc, n / fpc``). A sample that is the whole population
gives a zero-width interval.

Word shares are ratio estimators ``R = sum(y) / sum(x)`` (y: overlapping words, x: words
of each sampled document) with a delta-method (linearisation) interval:
``Var(R) ~ fpc * s_d**2 / (n * mean(x)**2)`` with ``d = y - R * x``, clipped to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta, binomtest, norm

SMALL_COUNT = 5


@dataclass(frozen=True)
class Interval:
    """A point estimate and its two-sided interval."""

    estimate: float
    low: float
    high: float
    method: str

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def fpc(n: int, population: int | None) -> float:
    """Finite population correction ``(N - n) / (N - 1)``; 1.0 when ``N`` is unknown."""
    if population is None or population <= 1 or n >= population:
        return 1.0 if population is None or n < (population or 0) else 0.0
    return (population - n) / (population - 1)


def proportion_ci(k: int, n: int, confidence: float = 0.95,
                  population: int | None = None) -> Interval:
    """Share ``k / n`` with a Wilson or Clopper-Pearson interval.

    Args:
        k: documents that overlap.
        n: documents looked at.
        confidence: two-sided confidence level.
        population: size of the population the ``n`` were sampled from without
            replacement (None: no finite population correction).

    >>> proportion_ci(0, 100).method
    'clopper-pearson'
    >>> round(proportion_ci(50, 100).low, 3)
    0.404
    """
    if n <= 0:
        return Interval(math.nan, 0.0, 1.0, "none")
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    small = min(k, n - k) < SMALL_COUNT
    f = fpc(n, population)
    if f == 0.0:
        return Interval(p, p, p, "census")
    if f == 1.0:
        method = "exact" if small else "wilson"
        ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method=method)
        name = "clopper-pearson" if small else "wilson"
        return Interval(p, float(ci.low), float(ci.high), name)
    alpha = 1.0 - confidence
    n_eff = n / f
    if small:
        k_eff = k / f
        low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k_eff, n_eff - k_eff + 1))
        high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k_eff + 1, n_eff - k_eff))
        return Interval(p, low, high, "clopper-pearson-fpc")
    z2 = float(norm.ppf(1 - alpha / 2)) ** 2
    denom = 1 + z2 / n_eff
    center = (p + z2 / (2 * n_eff)) / denom
    half = math.sqrt(z2) / denom * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff**2))
    return Interval(p, max(0.0, center - half), min(1.0, center + half), "wilson-fpc")


def ratio_ci(y: np.ndarray, x: np.ndarray, confidence: float = 0.95,
             population: int | None = None) -> Interval:
    """Ratio estimate ``sum(y) / sum(x)`` with a delta-method interval.

    >>> iv = ratio_ci(np.array([10.0, 0, 0, 5]), np.array([10.0, 20, 10, 10]))
    >>> round(iv.estimate, 3)
    0.3
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    total = float(x.sum())
    if n == 0 or total <= 0:
        return Interval(math.nan, 0.0, 1.0, "none")
    r = float(y.sum()) / total
    f = fpc(n, population)
    if n < 2 or f == 0.0:
        return Interval(r, r, r, "census" if f == 0.0 else "ratio-delta")
    d = y - r * x
    s2 = float(np.dot(d, d)) / (n - 1)
    se = math.sqrt(f * s2 / n) / (total / n)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    return Interval(r, max(0.0, r - z * se), min(1.0, r + z * se), "ratio-delta")
