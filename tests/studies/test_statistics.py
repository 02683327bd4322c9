"""The statistics against computations by hand (formulas written out, exact enumerations)."""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from rnnzoo.studies import statistics as st


def test_summary_mean_and_sample_std():
    s = st.summarize([1.0, 2.0, 4.0])
    assert s.n == 3 and s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2))


def test_bootstrap_ci_matches_the_exact_bootstrap_distribution():
    values = np.array([0.1, 0.4, 0.5, 0.9])
    # all 4^4 equally likely resamples: the exact percentile interval of the bootstrap mean
    means = np.sort([values[list(i)].mean() for i in itertools.product(range(4), repeat=4)])
    exact = np.quantile(means, [0.025, 0.975])
    low, high = st.bootstrap_ci(values, resamples=200_000)
    assert low == pytest.approx(exact[0], abs=0.01) and high == pytest.approx(exact[1], abs=0.01)
    assert st.bootstrap_ci(values) == st.bootstrap_ci(values)  # fixed seed: reports repeat
    assert all(math.isnan(v) for v in st.bootstrap_ci([0.3]))


def test_difference_ci_is_centred_on_the_difference_and_excludes_zero_for_separated_groups():
    a, b = [0.90, 0.91, 0.92, 0.93], [0.50, 0.52, 0.51, 0.49]
    low, high = st.difference_ci(a, b)
    assert 0 < low < np.mean(a) - np.mean(b) < high
    assert low >= 0.90 - 0.52 and high <= 0.93 - 0.49  # a mean difference can't leave the extremes


def test_welch_by_hand():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0])
    va, vb = a.var(ddof=1) / 4, b.var(ddof=1) / 3
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 2)  # Welch–Satterthwaite
    p = 2 * stats.t.sf(abs(t), df)
    assert st.welch(a, b) == pytest.approx((t, p))
    assert all(math.isnan(v) for v in st.welch([1.0], [2.0, 3.0]))


def test_holm_by_hand():
    # sorted p: 0.01, 0.02, 0.03, 0.5 -> 4*0.01, max(.04, 3*0.02), max(.06, 2*0.03), max(.06, 0.5)
    assert st.holm([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    assert st.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1, and monotone
    adjusted = st.holm([0.01, float("nan"), 0.04])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.04)


def test_probability_of_improvement_counts_pairs_and_half_ties():
    # pairs (a, b): 3>1 3>2 3=3 | 1<2, 1=1, 1<3 -> wins 2 + ties 2 * 0.5 = 3 of 6
    assert st.prob_greater([3, 1], [1, 2, 3]) == pytest.approx(3 / 6)
    assert st.prob_greater([5, 6], [1, 2]) == 1.0


def test_iqm_is_the_mean_of_the_middle_half():
    assert st.iqm([1, 2, 3, 4, 5, 6, 7, 100]) == pytest.approx(np.mean([3, 4, 5, 6]))


def test_stratified_bootstrap_resamples_within_each_task():
    groups = [[0.1, 0.1, 0.1, 0.1], [0.9, 0.9, 0.9, 0.9]]
    value, (low, high) = st.stratified_iqm_ci(groups)
    # each resample keeps four runs of each task, so the IQM of the 8 (the middle 4: two of each) is always 0.5
    assert value == pytest.approx(0.5) and low == pytest.approx(0.5) and high == pytest.approx(0.5)


def test_loglog_slope():
    assert st.loglog_slope([10, 100, 1000], [2, 20, 200]) == pytest.approx(1.0)
    assert st.loglog_slope([10, 100], [1, 100]) == pytest.approx(2.0)
