"""Fixed latency histogram, percentile estimates, Apdex, score and grade (pure functions).

Buckets: [0, 1 ms), then edges 2^(i/3) ms for i = 0..48 (1 ms to 65.5 s, three per doubling), then
[65.5 s, inf). A percentile is estimated as the geometric middle of the bucket that holds the
nearest-rank sample, clamped to the observed [min, max]. Error bound: the true nearest-rank value
lies in that same bucket, so the estimate is within 2^(1/6) - 1 = 12.25 % of it (relative) from
1 ms to 65.5 s, within 0.5 ms below 1 ms; above 65.5 s the estimate is the observed maximum.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

EDGES: tuple[float, ...] = tuple(2 ** (i / 3) for i in range(49))
BUCKETS = len(EDGES) + 1  # 50 counters per roll-up row
RELATIVE_ERROR_BOUND = 2 ** (1 / 6) - 1
ABSOLUTE_ERROR_BELOW_1MS = 0.5
GRADES = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))


def bucket_index(ms: float) -> int:
    """The histogram bucket of a duration in milliseconds."""
    return bisect_right(EDGES, ms)


def bucket_estimate(index: int, low: float, high: float) -> float:
    """The representative value of bucket ``index``, clamped to the observed [low, high]."""
    if index == 0:
        value = 0.5
    elif index >= len(EDGES):
        value = high
    else:
        value = EDGES[index - 1] * 2 ** (1 / 6)
    return min(max(value, low), high)


def percentile(counts: Sequence[int], p: float, low: float, high: float) -> float | None:
    """Estimate the nearest-rank ``p``-th percentile (0 < p <= 100) from bucket ``counts``."""
    total = sum(counts)
    if total <= 0:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return bucket_estimate(index, low, high)
    return high


def apdex(satisfied: int, tolerating: int, total: int) -> float | None:
    """Apdex = (satisfied + tolerating / 2) / total, or None without samples."""
    if total <= 0:
        return None
    return (satisfied + tolerating / 2) / total


def score(apdex_value: float | None, p95: float | None, apdex_t_ms: float, error_rate: float) -> int | None:
    """A 0-100 score: 70 % Apdex, 20 % p95 against 4T (the frustration line), 10 % errors."""
    if apdex_value is None or p95 is None:
        return None
    latency_part = max(0.0, 1 - p95 / (4 * apdex_t_ms))
    error_part = max(0.0, 1 - error_rate * 10)  # 10 % errors or more scores zero here
    return round(100 * (0.7 * apdex_value + 0.2 * latency_part + 0.1 * error_part))


def grade(value: int | None) -> str:
    """The letter grade of a score (A >= 90, B >= 80, C >= 70, D >= 60, else F)."""
    if value is None:
        return "-"
    for threshold, letter in GRADES:
        if value >= threshold:
            return letter
    return "F"
