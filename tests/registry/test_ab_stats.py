"""The A/B report's statistics against scipy (the reference) and by simulation: Wilson and
normal intervals, chi-square p-values and the sample-ratio check, the mSPRT's closed form
against numerical integration of its mixture, and optional stopping: A/A tests looked at after
every batch rarely declare a difference, while a real one is found."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from modelkeep.registry.ab_stats import (
    TAU,
    chi2_sf,
    mean_interval,
    msprt,
    rate_variance,
    sample_ratio,
    sample_variance,
    wilson,
)


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (5, 10), (10, 10), (37, 1000), (999, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k, n, confidence):
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert wilson(k, n, confidence) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_mean_interval_matches_the_normal_interval():
    data = np.random.default_rng(1).normal(12.0, 3.0, 500)
    low, high = mean_interval(len(data), float(data.sum()), float((data ** 2).sum()))
    ref = stats.norm.interval(0.95, loc=data.mean(), scale=stats.sem(data))
    assert (low, high) == pytest.approx(ref, rel=1e-9)
    assert sample_variance(len(data), data.sum(), (data ** 2).sum()) == pytest.approx(data.var(ddof=1))
    assert mean_interval(1, 5.0, 25.0) is None


@pytest.mark.parametrize("df", [1, 2, 3, 4, 5, 8, 25])
@pytest.mark.parametrize("x", [0.001, 0.5, 1.0, 3.84, 10.0, 40.0, 120.0])
def test_chi2_survival_matches_scipy(df, x):
    assert chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-300)


def test_sample_ratio_check_matches_scipy_and_flags_a_broken_split():
    observed, shares = [5120, 4880], [0.5, 0.5]
    ref = stats.chisquare(observed, [sum(observed) * s for s in shares])
    check = sample_ratio(observed, shares)
    assert (check.chi2, check.p_value) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-9)
    assert not check.mismatch  # p = 0.016: unusual, not broken
    three = sample_ratio([7050, 1960, 990], [0.7, 0.2, 0.1])
    ref3 = stats.chisquare([7050, 1960, 990], [7000, 2000, 1000])
    assert three.p_value == pytest.approx(ref3.pvalue, rel=1e-9) and not three.mismatch
    broken = sample_ratio([5300, 4700], [0.5, 0.5])  # 6 % fewer users on B: p ~ 2e-9
    assert broken.mismatch and broken.p_value < 1e-8
    assert sample_ratio([10, 1], [1.0, 0.0]).mismatch  # traffic where the split sends none
    assert sample_ratio([0, 0], [0.5, 0.5]).p_value == 1.0


def _mixture_lr(d: float, v: float, t2: float) -> float:
    """The mSPRT statistic by integrating the likelihood ratio over the N(0, t2) mixture."""
    def integrand(theta: float) -> float:
        return (stats.norm.pdf(d, theta, math.sqrt(v)) / stats.norm.pdf(d, 0, math.sqrt(v))
                * stats.norm.pdf(theta, 0, math.sqrt(t2)))
    width = 12 * math.sqrt(t2)
    return integrate.quad(integrand, -width, width, points=[d], limit=200)[0]


@pytest.mark.parametrize("n, mean_b", [(100, 0.0), (400, 0.05), (1000, 0.1), (2000, 0.08)])
def test_the_msprt_closed_form_is_the_mixture_likelihood_ratio(n, mean_b):
    var_a, var_b = 1.0, 1.2
    result = msprt(n, 0.0, var_a, n, mean_b, var_b)
    v, t2 = var_a / n + var_b / n, TAU ** 2 * (var_a + var_b) / 2
    expected = _mixture_lr(mean_b, v, t2)
    assert result.p_value == pytest.approx(min(1.0, 1 / expected), rel=1e-6)
    assert result.difference == mean_b
    # the always-valid interval holds exactly the differences the test would not reject
    for edge in (result.low, result.high):
        assert _mixture_lr(mean_b - edge, v, t2) == pytest.approx(20.0, rel=1e-5)


def test_too_few_samples_wait():
    assert msprt(10, 0.1, 0.09, 10, 0.9, 0.09).p_value is None


LOOKS, RUNS = 20, 200


def _false_positive_rate(sample_a, sample_b, batch: int, rate: bool) -> float:
    """Share of runs where the test said "significant" at any of LOOKS looks."""
    rng = np.random.default_rng(2026)
    hits = 0
    for _ in range(RUNS):
        a, b = sample_a(rng, batch * LOOKS), sample_b(rng, batch * LOOKS)
        for look in range(1, LOOKS + 1):
            n = look * batch
            xa, xb = a[:n], b[:n]
            if rate:
                va, vb = rate_variance(int(xa.sum()), n), rate_variance(int(xb.sum()), n)
            else:
                va, vb = xa.var(ddof=1), xb.var(ddof=1)
            if msprt(n, xa.mean(), va, n, xb.mean(), vb).significant:
                hits += 1
                break
    return hits / RUNS


def test_an_aa_test_checked_after_every_batch_rarely_declares_a_difference():
    def bernoulli(rng, size):
        return (rng.random(size) < 0.1).astype(float)

    def normal(rng, size):
        return rng.normal(50.0, 10.0, size)

    assert _false_positive_rate(bernoulli, bernoulli, 250, rate=True) < 0.05
    assert _false_positive_rate(normal, normal, 100, rate=False) < 0.05


def test_the_naive_test_checked_as_often_would_have_cried_wolf():
    """Why the sequential test: a fixed-horizon z-test looked at 20 times errs far more."""
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(RUNS):
        a, b = rng.normal(0, 1, 100 * LOOKS), rng.normal(0, 1, 100 * LOOKS)
        for look in range(1, LOOKS + 1):
            n = look * 100
            z = (b[:n].mean() - a[:n].mean()) / math.sqrt(2 / n)
            if abs(z) > 1.96:
                hits += 1
                break
    assert hits / RUNS > 0.1


def test_a_real_difference_is_detected():
    rng = np.random.default_rng(11)
    found = 0
    for _ in range(50):
        a, b = rng.random(10_000) < 0.10, rng.random(10_000) < 0.13
        for n in range(500, 10_001, 500):
            result = msprt(n, a[:n].mean(), rate_variance(int(a[:n].sum()), n),
                           n, b[:n].mean(), rate_variance(int(b[:n].sum()), n))
            if result.significant:
                assert result.difference > 0
                found += 1
                break
    assert found >= 45
