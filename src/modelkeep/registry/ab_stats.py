"""The statistics of an A/B/n report: intervals, the sample-ratio check, the sequential test.

Pure, standard library only (``statistics.NormalDist``, ``math.lgamma``); the tests check each
function against scipy and by simulation.

- Rates (error rate, accuracy): Wilson score interval, which stays inside [0, 1] and behaves
  at 0 and 1 where the normal interval does not.
- Means (latency, outcome values): mean +- z * s / sqrt(n) from the count, sum and sum of
  squares, which is all that can be added up across gateways.
- Sample-ratio mismatch: Pearson's chi-square of the arms' counts against the configured
  split; a p-value under ``SRM_ALPHA`` (0.001, the usual threshold) says the assignment is
  broken and no other number of the report should be trusted.
- Sequential test: the mixture sequential probability ratio test (mSPRT) of Johari, Pekelis
  and Walsh, "Always valid inference" (2017/2022): for the difference of an arm's mean (or
  rate) and the control's, with estimate ``d`` of variance ``v`` (sigma_A^2/n_A +
  sigma_B^2/n_B) and a normal mixing distribution N(0, tau^2) over the true difference,
  Lambda = sqrt(v / (v + tau^2)) * exp(d^2 tau^2 / (2 v (v + tau^2))). Under no difference
  Lambda is a nonnegative martingale, so by Ville's inequality P(Lambda ever >= 1/alpha) <=
  alpha: p = min(1, 1/Lambda) may be looked at after every batch without inflating false
  positives. tau is set to ``TAU`` pooled standard deviations (an effect of a tenth of a
  standard deviation is what the test is tuned to find fastest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

SRM_ALPHA = 0.001
TAU = 0.1
MIN_SAMPLES = 30  # per arm, before the sequential test judges (the variance is a guess before)


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a rate (``(0, 1)`` with no observations)."""
    if n == 0:
        return 0.0, 1.0
    z, p = _z(confidence), successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(n: int, total: float, squares: float,
                  confidence: float = 0.95) -> tuple[float, float] | None:
    """mean +- z s / sqrt(n) (None: fewer than two observations)."""
    if n < 2:
        return None
    mean = total / n
    half = _z(confidence) * math.sqrt(sample_variance(n, total, squares) / n)
    return mean - half, mean + half


def sample_variance(n: int, total: float, squares: float) -> float:
    """The unbiased variance from count, sum and sum of squares (0 below two observations)."""
    if n < 2:
        return 0.0
    return max(0.0, (squares - total * total / n) / (n - 1))


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with ``df`` degrees of freedom (the regularised
    upper incomplete gamma Q(df/2, x/2), summed in closed form for whole and half orders)."""
    if x <= 0:
        return 1.0
    y = x / 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= y / i
            total += term
        return min(1.0, math.exp(-y) * total)
    total = math.erfc(math.sqrt(y))
    for i in range(1, (df + 1) // 2):
        total += math.exp((i - 0.5) * math.log(y) - y - math.lgamma(i + 0.5))
    return min(1.0, total)


@dataclass(frozen=True)
class SampleRatioCheck:
    """Observed counts against the split: chi-square, p-value, and whether it is a mismatch."""

    chi2: float
    p_value: float
    mismatch: bool


def sample_ratio(observed: list[int], shares: list[float]) -> SampleRatioCheck:
    """Pearson's chi-square test of ``observed`` counts against expected ``shares``."""
    n = sum(observed)
    live = [(o, s) for o, s in zip(observed, shares, strict=True) if s > 0]
    if any(o and not s for o, s in zip(observed, shares, strict=True)):
        return SampleRatioCheck(math.inf, 0.0, True)  # traffic where the split sends none
    if n == 0 or len(live) < 2:
        return SampleRatioCheck(0.0, 1.0, False)
    total_share = sum(s for _, s in live)
    chi2 = sum((o - n * s / total_share) ** 2 / (n * s / total_share) for o, s in live)
    p = chi2_sf(chi2, len(live) - 1)
    return SampleRatioCheck(chi2, p, p < SRM_ALPHA)


@dataclass(frozen=True)
class Sequential:
    """The mSPRT of one arm against the control: the difference, its always-valid interval
    and p-value (None while either arm has fewer than ``MIN_SAMPLES``)."""

    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    significant: bool


def msprt(n_a: int, mean_a: float, var_a: float, n_b: int, mean_b: float, var_b: float,
          alpha: float = 0.05, tau: float = TAU) -> Sequential:
    """The mixture SPRT of mean_b - mean_a = 0 (see the module docstring)."""
    if min(n_a, n_b) < MIN_SAMPLES:
        return Sequential(None, None, None, None, False)
    d = mean_b - mean_a
    v = var_a / n_a + var_b / n_b
    t2 = tau * tau * (var_a + var_b) / 2
    if v <= 0 or t2 <= 0:  # both arms constant: no evidence either way unless they differ
        same = d == 0
        return Sequential(d, d, d, 1.0 if same else 0.0, not same)
    log_lambda = 0.5 * math.log(v / (v + t2)) + d * d * t2 / (2 * v * (v + t2))
    p = 1.0 if log_lambda <= 0 else math.exp(-log_lambda)
    half = math.sqrt(v * (v + t2) / t2 * (2 * math.log(1 / alpha) + math.log((v + t2) / v)))
    return Sequential(d, d - half, d + half, p, p < alpha)


def rate_variance(successes: int, n: int) -> float:
    """A rate's per-observation variance p(1-p), with p shrunk half an observation toward
    1/2 so that an arm with no errors yet does not claim zero variance."""
    p = (successes + 0.5) / (n + 1)
    return p * (1 - p)
