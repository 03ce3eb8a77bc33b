"""Histogram percentiles stay within the stated error bound; Apdex, score and grade."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.performance import histogram
from plugins.performance.histogram import BUCKETS, RELATIVE_ERROR_BOUND, bucket_index, percentile


def counts_of(samples):
    counts = [0] * BUCKETS
    for value in samples:
        counts[bucket_index(value)] += 1
    return counts


def nearest_rank(samples, p):
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@given(
    samples=st.lists(st.floats(min_value=0.0, max_value=60_000.0), min_size=1, max_size=300),
    p=st.sampled_from([50, 90, 95, 99, 99.9, 100]),
)
def test_percentile_estimate_is_within_the_stated_bound(samples, p):
    estimate = percentile(counts_of(samples), p, min(samples), max(samples))
    true = nearest_rank(samples, p)
    if true < 1:
        assert abs(estimate - true) <= histogram.ABSOLUTE_ERROR_BELOW_1MS
    else:
        assert abs(estimate - true) <= RELATIVE_ERROR_BOUND * true + 1e-9


def test_bound_is_the_half_bucket_ratio():
    assert RELATIVE_ERROR_BOUND == pytest.approx(2 ** (1 / 6) - 1)
    assert RELATIVE_ERROR_BOUND < 0.125


@given(st.floats(min_value=0, max_value=1e7), st.floats(min_value=0, max_value=1e7))
def test_buckets_are_monotonic(a, b):
    if a <= b:
        assert bucket_index(a) <= bucket_index(b)
    assert 0 <= bucket_index(a) < BUCKETS


def test_percentile_of_nothing_is_none():
    assert percentile([0] * BUCKETS, 95, 0, 0) is None


def test_apdex_score_and_grade():
    assert histogram.apdex(80, 10, 100) == pytest.approx(0.85)
    assert histogram.apdex(0, 0, 0) is None
    assert histogram.score(1.0, 600.0, 300, 0.0) == 90
    assert histogram.score(0.0, 5000.0, 300, 0.5) == 0
    assert [histogram.grade(v) for v in (95, 85, 75, 65, 10, None)] == ["A", "B", "C", "D", "F", "-"]


@given(
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=1, max_value=1e5),
    st.floats(min_value=0, max_value=1),
)
def test_score_is_between_0_and_100(apdex, p95, t, error_rate):
    assert 0 <= histogram.score(apdex, p95, t, error_rate) <= 100
