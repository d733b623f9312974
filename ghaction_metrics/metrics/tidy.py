"""A snapshot's figures as tidy rows (SPEC §7): one row per period, repository, cohort and
metric, the shape of the CSV and OpenMetrics exports and of ``history.load``'s DataFrame.

Rows are read from the snapshot document as written, not from the report, so every
snapshot on the branch, old or new, gives its rows the same way:

- the headline figures for the set of repositories (``repository`` ``*``, cohort ``all``),
  as declared in metrics/headline.py (their output names and snapshot paths);
- the DORA figures of each repository (``current.repositories[]``), which hold the same
  fields as the period's ``dora`` section;
- the cohort figures of a period's optional ``cohorts`` section
  (``{cohort: {snake_metric: {"value": v, "n": n}}}``), metric names in kebab case; entries
  of another shape are details, not figures, and are left out.

Only the ``current`` period is exported: a snapshot's ``previous`` period is the window
before it, which earlier snapshots already measured as their own ``current``. The DORA level
is a name, not a number, and is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from ghaction_metrics.metrics.headline import FIGURES, Figure, Kind
from ghaction_metrics.metrics.snapshot_document import (
    UnreadableSnapshotError,
    check_schema,
    snapshot_time,
)

ALL_REPOSITORIES = "*"
ALL_COHORTS = "all"
PERIOD = "current"
COLUMNS = (
    "run", "generated_at", "since", "until", "period",
    "repository", "cohort", "metric", "value", "n",
)  # fmt: skip

# The sample behind a figure that is not a median, by the section of the period holding it
# (mirrors the figures' ``read`` in headline.py): DORA rates are over deployments,
# pull-request figures over merged pull requests.
_SAMPLES: Mapping[str, tuple[str, ...]] = {
    "dora": ("dora", "deployments"),
    "pull_requests": ("pull_requests", "merged"),
}
_BACKFILL = re.compile(r"-backfill\.json$")
_COHORT_METRIC = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class FigureRow:
    run: str  # the snapshot's run id; backfilled weeks carry "-backfill"
    generated_at: datetime
    since: datetime  # the period's window
    until: datetime
    period: str  # "current"
    repository: str  # "owner/name", or "*" for the set of repositories
    cohort: str  # "all"; "agent-authored" / "agent-assisted" / "human" where present
    metric: str  # the headline output name (e.g. "lead-time-hours") or a cohort's metric
    value: float | None  # None: no data (an empty sample)
    n: int  # the size of the sample behind the value


def figure_rows(document: Mapping[str, Any], path: str) -> list[FigureRow]:
    """The tidy rows of a snapshot document (schema 1 or 2) read from ``path``.

    Raises NewerSnapshotError, and UnreadableSnapshotError for a document without the shape
    its schema version promises.
    """
    check_schema(document, path)
    try:
        return _rows(document, path)
    except (KeyError, TypeError, AttributeError) as exc:
        raise UnreadableSnapshotError(f"missing or malformed field: {exc!r}") from None


def _rows(document: Mapping[str, Any], path: str) -> list[FigureRow]:
    run = str(document["run"]["id"]) + ("-backfill" if _BACKFILL.search(path) else "")
    generated_at = snapshot_time(document["generated_at"])
    period: Mapping[str, Any] = document[PERIOD]
    since = snapshot_time(period["window"]["since"])
    until = snapshot_time(period["window"]["until"])

    def row(repository: str, cohort: str, metric: str, value: float | None, n: int) -> FigureRow:
        return FigureRow(
            run, generated_at, since, until, PERIOD, repository, cohort, metric, value, n
        )

    rows: list[FigureRow] = []
    for figure in _numeric_figures():
        value, n = _reading(period, figure.snapshot, _SAMPLES.get(figure.snapshot[0]))
        rows.append(row(ALL_REPOSITORIES, ALL_COHORTS, figure.name, value, n))
    for repository in period.get("repositories") or ():
        name = _text(repository["repository"])
        for figure in _numeric_figures():
            if figure.snapshot[0] != "dora":
                continue
            # A repository's entry holds the fields of the period's "dora" section.
            value, n = _reading(repository, figure.snapshot[1:], ("deployments",))
            rows.append(row(name, ALL_COHORTS, figure.name, value, n))
    cohorts = period.get("cohorts") or {}
    for cohort in sorted(cohorts):
        for key, entry in sorted(cohorts[cohort].items()):
            if not (_COHORT_METRIC.match(key) and _is_figure(entry)):
                continue  # not a figure ({value, n}): details the cohort section may carry
            value = _number(entry["value"])
            rows.append(
                row(ALL_REPOSITORIES, _text(cohort), _kebab(key), value, _count(entry["n"]))
            )
    return rows


def _is_figure(entry: object) -> bool:
    return isinstance(entry, Mapping) and set(entry) == {"value", "n"}


def figure_frame(rows: Iterable[FigureRow], timezone: str = "UTC") -> pd.DataFrame:
    """The rows as a DataFrame of ``COLUMNS``: times in ``timezone``, ``value`` a float (NaN
    for no data), ``n`` an integer."""
    frame = pd.DataFrame([astuple(r) for r in rows], columns=list(COLUMNS))
    for column in ("generated_at", "since", "until"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_convert(timezone)
    frame["value"] = pd.to_numeric(frame["value"]).astype("float64")
    frame["n"] = frame["n"].astype("int64")
    for column in ("run", "period", "repository", "cohort", "metric"):
        frame[column] = frame[column].astype(str)
    return frame


def _numeric_figures() -> tuple[Figure, ...]:
    return tuple(figure for figure in FIGURES if figure.kind is not Kind.LEVEL)


def _reading(
    section: Mapping[str, Any], steps: tuple[str, ...], sample: tuple[str, ...] | None
) -> tuple[float | None, int]:
    """The value at ``steps`` and its n: a statistic's own n, else the count at ``sample``,
    else a count's own value (None and 0 when the snapshot predates the figure)."""
    holder: Any = section
    for step in steps[:-1]:
        if step not in holder:
            return None, 0  # a figure added after the snapshot was written
        holder = holder[step]
    if steps[-1] not in holder:
        return None, 0
    raw = holder[steps[-1]]
    value = _number(raw)
    if steps[-1] != "n" and "n" in holder:  # a statistic's own sample
        return value, _count(holder["n"])
    if sample is None:
        return value, _count(raw) if isinstance(raw, int) and not isinstance(raw, bool) else 0
    count: Any = section
    for step in sample:
        count = count[step]
    return value, _count(count)


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnreadableSnapshotError(f"expected a number, found {value!r}")
    return float(value)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnreadableSnapshotError(f"expected a count, found {value!r}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise UnreadableSnapshotError(f"expected a name, found {value!r}")
    return value


def _kebab(snake: str) -> str:
    return snake.replace("_", "-")
