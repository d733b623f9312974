"""Small statistics over hour values. An empty set is "no data" (None), never 0."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def median(values: Sequence[float]) -> float | None:
    """The usual midpoint rule for even counts."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], share: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Stat:
    """Median, p75 and p90 of a set of durations in hours, with its size."""

    n: int
    median: float | None
    p75: float | None
    p90: float | None

    @staticmethod
    def of(values: Iterable[float]) -> Stat:
        collected = list(values)
        return Stat(
            n=len(collected),
            median=median(collected),
            p75=percentile(collected, 0.75),
            p90=percentile(collected, 0.90),
        )


EMPTY = Stat(0, None, None, None)
