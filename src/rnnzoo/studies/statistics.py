"""The statistics a multi-seed comparison needs, after Colas et al. 2018 ("How many random seeds?")
and Agarwal et al. 2021 ("Deep RL at the edge of the statistical precipice", rliable).

Bootstrap intervals are percentile intervals over resamples drawn from a generator with a fixed
seed, so a report is the same every time it is made from the same runs.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

RESAMPLES = 10_000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # the sample standard deviation (ddof 1); nan for one run
    ci: tuple[float, float]  # 95 % percentile bootstrap interval of the mean; nan for one run


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    low, high = np.quantile(samples, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


def bootstrap_ci(values, statistic=np.mean, *, confidence=CONFIDENCE, resamples=RESAMPLES, seed=0):
    """Percentile bootstrap interval of `statistic(values)`; (nan, nan) for fewer than two values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan"), float("nan")
    picks = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    return _interval(statistic(values[picks], axis=1), confidence)


def summarize(values, **options) -> Summary:
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return Summary(len(values), float(values.mean()), std, bootstrap_ci(values, **options))


def difference_ci(a, b, *, confidence=CONFIDENCE, resamples=RESAMPLES, seed=0) -> tuple[float, float]:
    """Bootstrap interval of mean(a) − mean(b), the two groups resampled independently."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means_a = a[rng.integers(0, len(a), size=(resamples, len(a)))].mean(axis=1)
    means_b = b[rng.integers(0, len(b), size=(resamples, len(b)))].mean(axis=1)
    return _interval(means_a - means_b, confidence)


def welch(a, b) -> tuple[float, float]:
    """Welch's t-test (unequal variances), two-sided: (t, p). nan where a group has under two runs
    or both have no spread."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2 or (a.var() == 0 and b.var() == 0):
        return float("nan"), float("nan")
    result = stats.ttest_ind(a, b, equal_var=False)
    return float(result.statistic), float(result.pvalue)


def holm(pvalues) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (nan entries stay nan, outside the family)."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m, running = len(order), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def prob_greater(a, b) -> float:
    """P(A > B): the chance a random run of A beats a random run of B, ties counting half."""
    a, b = np.asarray(a, dtype=float)[:, None], np.asarray(b, dtype=float)[None, :]
    return float(((a > b) + 0.5 * (a == b)).mean())


def iqm(values, axis=None) -> float:
    """The interquartile mean: the mean of the middle 50 % of the values (25 % cut from each end)."""
    return stats.trim_mean(values, 0.25, axis=axis)


def stratified_iqm_ci(groups, *, confidence=CONFIDENCE, resamples=RESAMPLES, seed=0):
    """IQM over all runs of several tasks (`groups`: one array of normalised scores per task) and its
    stratified bootstrap interval: each resample redraws the runs within every task separately."""
    groups = [np.asarray(g, dtype=float) for g in groups]
    rng = np.random.default_rng(seed)
    draws = [g[rng.integers(0, len(g), size=(resamples, len(g)))] for g in groups]
    samples = iqm(np.concatenate(draws, axis=1), axis=1)
    return float(iqm(np.concatenate(groups))), _interval(samples, confidence)


def loglog_slope(x, y) -> float:
    """The exponent b of y ≈ c·x^b, by least squares on the logs (1: linear growth)."""
    x, y = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    return float(np.polyfit(x, y, 1)[0]) if len(set(x.tolist())) >= 2 else float("nan")
