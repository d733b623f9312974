"""A snapshot's figures as tidy rows: one row per (period, repository, cohort, metric), with
the run and window it belongs to, its value and its count n. The trends page filters these.

The whole set of repositories is the repository ``""`` and every pull request the cohort
``""``; a value of None is "no data" (shown as "–", never 0).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ghaction_metrics.metrics.headline import FIGURES, Kind

ALL = ""  # the repository or cohort of a row about the whole set

# Where a repository's entry in a snapshot holds its DORA figures: metric → (value, n).
_REPOSITORY_FIGURES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "deployment-frequency": (("deployment_frequency",), ("deployments",)),
    "lead-time-hours": (("lead_time_hours", "median"), ("lead_time_hours", "n")),
    "change-failure-rate": (("change_failure_rate",), ("deployments",)),
    "recovery-time-hours": (("recovery_time_hours", "median"), ("recovery_time_hours", "n")),
    "rework-rate": (("rework_rate",), ("deployments",)),
}
# Where a period holds each headline figure's n.
_SET_COUNTS: Mapping[str, tuple[str, ...]] = {
    "deployment-frequency": ("dora", "deployments"),
    "lead-time-hours": ("dora", "lead_time_hours", "n"),
    "change-failure-rate": ("dora", "deployments"),
    "recovery-time-hours": ("dora", "recovery_time_hours", "n"),
    "rework-rate": ("dora", "deployments"),
    "cycle-time-hours": ("pull_requests", "cycle_time_hours", "n"),
    "time-to-first-review-hours": ("pull_requests", "time_to_first_review_hours", "n"),
    "time-to-first-response-hours": ("pull_requests", "time_to_first_response_hours", "n"),
    "merged-prs": ("pull_requests", "merged"),
}


@dataclass(frozen=True)
class FigureRow:
    run: str
    generated_at: str  # ISO 8601, UTC
    since: str
    until: str
    period: str  # "current" or "previous"
    repository: str  # ALL for the whole set
    cohort: str  # ALL for every pull request
    metric: str  # the headline figure's output name, e.g. "lead-time-hours"
    value: float | None
    n: int


def _at(data: Any, steps: tuple[str, ...]) -> Any:
    for step in steps:
        if not isinstance(data, Mapping) or step not in data:
            return None
        data = data[step]
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _n(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def figure_rows(document: Mapping[str, Any], path: str) -> list[FigureRow]:
    """The rows of a snapshot document (schema 1 or 2) already checked by ``check_schema``;
    ``path`` names it in errors. Fields a version did not write give no row."""
    del path  # the rows carry the run; the path only names the file in errors
    run = _at(document, ("run", "id"))
    rows: list[FigureRow] = []
    for period in ("current", "previous"):
        data = document.get(period)
        if isinstance(data, Mapping):
            rows.extend(_period_rows(str(run), str(document["generated_at"]), period, data))
    return rows


def _period_rows(
    run: str, generated_at: str, period: str, data: Mapping[str, Any]
) -> Iterator[FigureRow]:
    window = data["window"]

    def row(repository: str, metric: str, value: Any, n: Any) -> FigureRow:
        return FigureRow(
            run,
            generated_at,
            str(window["since"]),
            str(window["until"]),
            period,
            repository,
            ALL,
            metric,
            _number(value),
            _n(n),
        )

    for figure in FIGURES:
        if figure.kind is Kind.LEVEL or figure.name not in _SET_COUNTS:
            continue
        value = _at(data, figure.snapshot)
        if value is None and _at(data, figure.snapshot[:-1]) is None:
            continue  # a figure this snapshot's version did not measure
        yield row(ALL, figure.name, value, _at(data, _SET_COUNTS[figure.name]))
    for repo in data.get("repositories") or ():
        name = repo.get("repository") if isinstance(repo, Mapping) else None
        if not isinstance(name, str):
            continue
        for metric, (value_at, n_at) in _REPOSITORY_FIGURES.items():
            yield row(name, metric, _at(repo, value_at), _at(repo, n_at))
