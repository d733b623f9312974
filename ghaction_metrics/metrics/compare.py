"""Comparison of two periods (SPEC §5): the change of every headline figure with its
direction, and, before/after a date, a Mann-Whitney U test for the duration figures.

The test is two-sided. With no ties and both samples of at most ``EXACT_LIMIT`` values the
p-value is exact (the null distribution of U counted by a generating function); otherwise it
is the normal approximation with tie correction and continuity correction. Below
``MIN_SAMPLE`` values on either side no significance is claimed at all.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ghaction_metrics.metrics.headline import COMPARED, Headline

MIN_SAMPLE = 5
EXACT_LIMIT = 50
METHOD_EXACT = "Mann-Whitney U, two-sided, exact"
METHOD_NORMAL = "Mann-Whitney U, two-sided, normal approximation with tie and continuity correction"


@dataclass(frozen=True)
class Delta:
    metric: str
    current: float | None
    previous: float | None
    change: float | None  # current - previous
    relative: float | None  # change / |previous|; None when previous is 0 or missing
    direction: str | None  # better, worse, same; None when either side has no data


def deltas(current: Headline, previous: Headline) -> tuple[Delta, ...]:
    result = []
    for figure in COMPARED:
        now, then = current.number(figure), previous.number(figure)
        if now is None or then is None:
            result.append(Delta(figure.key, now, then, None, None, None))
            continue
        change = now - then
        if change == 0:
            direction = "same"
        else:
            direction = "better" if (change > 0) == figure.higher_is_better else "worse"
        relative = change / abs(then) if then else None
        result.append(Delta(figure.key, now, then, change, relative, direction))
    return tuple(result)


@dataclass(frozen=True)
class Significance:
    """Whether a duration figure differs before and after (medians and a p-value)."""

    metric: str
    before_n: int
    after_n: int
    method: str | None  # None when no test was made (too few values)
    u: float | None  # U of the "after" sample
    p_value: float | None
    note: str | None  # why no significance is claimed


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U statistic of the first sample
    p_value: float
    method: str


def _ranks(values: Sequence[float]) -> list[float]:
    """Mid-ranks (1-based): tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for k in range(start, end + 1):
            ranks[order[k]] = shared
        start = end + 1
    return ranks


def _u_distribution(n1: int, n2: int) -> list[int]:
    """Counts of the arrangements giving U = 0..n1*n2: the coefficients of the Gaussian
    binomial coefficient [n1+n2 choose n1] in q, as the product of (1 - q^(n2+i)) / (1 - q^i)."""
    size = n1 * n2 + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, n1 + 1):
        # multiply by (1 - q^(n2+i)) ...
        step = n2 + i
        for k in range(size - 1, step - 1, -1):
            poly[k] -= poly[k - step]
        # ... and divide by (1 - q^i): a running sum with stride i
        for k in range(i, size):
            poly[k] += poly[k - i]
    return poly


def mann_whitney_u(first: Sequence[float], second: Sequence[float]) -> MannWhitney:
    n1, n2 = len(first), len(second)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks = _ranks([*first, *second])
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    ties = [t for t in Counter([*first, *second]).values() if t > 1]
    if not ties and n1 <= EXACT_LIMIT and n2 <= EXACT_LIMIT:
        counts = _u_distribution(n1, n2)
        low = min(u1, n1 * n2 - u1)
        tail = sum(counts[: int(low) + 1])
        p = min(1.0, 2 * tail / math.comb(n1 + n2, n1))
        return MannWhitney(u1, p, METHOD_EXACT)
    n = n1 + n2
    mean = n1 * n2 / 2
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1))
    variance = n1 * n2 / 12 * ((n + 1) - tie_term)
    if variance <= 0:
        return MannWhitney(u1, 1.0, METHOD_NORMAL)
    z = max(0.0, abs(u1 - mean) - 0.5) / math.sqrt(variance)
    return MannWhitney(u1, min(1.0, math.erfc(z / math.sqrt(2))), METHOD_NORMAL)


def significance(metric: str, before: Sequence[float], after: Sequence[float]) -> Significance:
    if len(before) < MIN_SAMPLE or len(after) < MIN_SAMPLE:
        return Significance(
            metric,
            len(before),
            len(after),
            None,
            None,
            None,
            f"fewer than {MIN_SAMPLE} values on a side: no significance claimed",
        )
    result = mann_whitney_u(after, before)
    return Significance(
        metric, len(before), len(after), result.method, result.u, result.p_value, None
    )
