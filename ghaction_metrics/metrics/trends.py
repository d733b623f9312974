"""Trends: every past snapshot's figures on the history branch, as the tidy DataFrame of
``history.load`` (metrics/tidy.py, metrics/frame.py), and what the trend views take from it.

The figures come from the exports' weekly CSVs on the branch (publish/exports.py), which
hold every snapshot's tidy rows, and from the snapshots the CSVs lack; reading and writing
are done by publish/history_read.py and publish/targets.py, so this module does no I/O.

- ``windows``: one snapshot per window end (a real run over a backfilled week, the latest
  run of a day), the rows the trend chart draws;
- ``headline_table``: those windows' figures for the set of repositories, one row each, with
  the DORA level worked out from the four DORA figures and their n as levels.py does;
- ``page_rows``: the rows the trends page embeds for its filters: every window of the last
  ``DAILY_WEEKS`` weeks, the last window of each week up to ``WEEKLY_WEEKS`` weeks back, and
  the last of each month before (weeks and months in the report's time zone), so the page,
  rewritten by every run, grows by one window's rows a month once the history is long.

SPEC §6: a snapshot in a newer schema version than this code knows stops the run before it
writes anything; an unreadable old snapshot is skipped with a warning and left as it is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from ghaction_metrics.metrics.frame import is_backfill, last_moment, one_per_window, week_start
from ghaction_metrics.metrics.headline import BY_KEY, FIGURES, Kind
from ghaction_metrics.metrics.levels import levels_for
from ghaction_metrics.metrics.snapshot_document import NewerSnapshotError as NewerSnapshotError
from ghaction_metrics.metrics.snapshot_document import (
    UnreadableSnapshotError as UnreadableSnapshotError,
)
from ghaction_metrics.metrics.snapshot_document import check_schema as check_schema
from ghaction_metrics.metrics.snapshot_document import parse_json as parse_json
from ghaction_metrics.metrics.snapshot_document import snapshot_time as snapshot_time
from ghaction_metrics.metrics.stats import Stat
from ghaction_metrics.metrics.tidy import ALL_COHORTS, ALL_REPOSITORIES, FigureRow, figure_frame

log = logging.getLogger(__name__)

DAILY_WEEKS = 4  # the trends page's "last 4 weeks": every window
WEEKLY_WEEKS = 26  # its "last 6 months": a window a week; before that, one a month
_SNAPSHOT_NAME = re.compile(
    r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{6}Z)-run(?P<run>[A-Za-z0-9_.]+?)(?P<backfill>-backfill)?\.json$"
)
_REPORT_NAME = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{6}Z)-run[A-Za-z0-9_.]+\.html$")


def rounded(value: float | None) -> float | None:
    """A figure as the trends page embeds it: four significant digits, more than the page
    shows (the page is rewritten by every run; the snapshot and the exports keep it whole)."""
    return None if value is None else float(f"{value:.4g}")


def iso(moment: datetime) -> str:
    """A time as snapshots write it: UTC, to the second, with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snapshot_path(report_id: str, generated_at: datetime, run_id: str, backfill: bool) -> str:
    """Named by time and run id (SPEC §6); backfilled weeks carry a suffix of their own so a
    re-run, which replaces its own ``-runID.json`` snapshot, leaves them alone."""
    stamp = generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    suffix = "-backfill" if backfill else ""
    return f"{report_id}/snapshots/{stamp}-run{run_id}{suffix}.json"


@dataclass(frozen=True)
class SnapshotFile:
    path: str
    blob: str
    taken_at: datetime  # from the file name: when the run (or backfilled week) happened
    backfill: bool


def snapshot_files(files: Mapping[str, str], report_id: str) -> list[SnapshotFile]:
    """The report id's snapshot files among the branch's files (path → blob sha)."""
    folder = f"{report_id}/snapshots/"
    found: list[SnapshotFile] = []
    for path, blob in files.items():
        if not path.startswith(folder) or "/" in path[len(folder) :]:
            continue
        match = _SNAPSHOT_NAME.match(path[len(folder) :])
        if match is None:
            continue
        taken = datetime.strptime(match.group("stamp"), "%Y-%m-%dT%H%M%SZ").replace(tzinfo=UTC)
        found.append(SnapshotFile(path, blob, taken, bool(match.group("backfill"))))
    return sorted(found, key=lambda f: (f.taken_at, f.path))


@dataclass(frozen=True)
class History:
    """What the history branch holds for one report id, read before anything is written."""

    exists: bool
    files: Mapping[str, str]  # every file on the branch tip: path → blob sha
    snapshots: tuple[SnapshotFile, ...]
    figures: Mapping[str, tuple[FigureRow, ...]]  # readable snapshots: path → tidy rows
    skipped: tuple[str, ...] = ()  # unreadable snapshots
    # Weeks whose export CSV on the branch lacks some readable snapshot's rows: rewritten by
    # the next commit.
    exports_behind: tuple[str, ...] = ()

    @property
    def first_run(self) -> bool:
        return not self.snapshots

    @property
    def rows(self) -> list[FigureRow]:
        """Every readable snapshot's rows, in snapshot order."""
        return [row for snap in self.snapshots for row in self.figures.get(snap.path, ())]


EMPTY_HISTORY = History(False, {}, (), {})

TREND_INDEX = "trends-index.json"  # kept by versions before 2026-12; removed from the tip


# The headline figures the trends draw: the numbers (the level is worked out again).
NUMERIC = tuple(f.name for f in FIGURES if f.kind is not Kind.LEVEL)


def windows(rows: Iterable[FigureRow], timezone: str = "UTC") -> pd.DataFrame:
    """The tidy frame of ``rows`` (metrics/tidy.py ``figure_frame``, times in ``timezone``)
    with one snapshot per window end, oldest first."""
    return one_per_window(figure_frame(rows, timezone))


def headline_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per window of ``windows``' frame, oldest first: ``until``, ``generated_at``,
    ``backfill``, ``level`` and a column per numeric headline figure (its output name, NaN
    for no data), the figures of the set of repositories."""
    whole = frame[(frame["repository"] == ALL_REPOSITORIES) & (frame["cohort"] == ALL_COHORTS)]
    whole = whole.assign(backfill=is_backfill(whole))
    keys = ["until", "generated_at", "backfill"]
    values = whole.pivot(index=keys, columns="metric", values="value").reindex(
        columns=list(NUMERIC)
    )
    counts = whole.pivot(index=keys, columns="metric", values="n").reindex(columns=list(NUMERIC))
    levels = pd.Series(
        [_level(values.loc[key], counts.loc[key]) for key in values.index],
        index=values.index,
        dtype=object,
    )
    table = values.assign(level=levels).reset_index()
    table = table[["until", "generated_at", "backfill", "level", *NUMERIC]]
    return table.sort_values(["until", "generated_at"], kind="stable").reset_index(drop=True)


def _level(values: pd.Series, counts: pd.Series) -> str | None:
    """The overall DORA level of a window, decided by levels.py from the four figures."""

    def value(key: str) -> float | None:
        number = values[BY_KEY[key].name]
        return None if pd.isna(number) else float(number)

    def n(key: str) -> int:
        count = counts[BY_KEY[key].name]
        return 0 if pd.isna(count) else int(count)

    levels = levels_for(
        n("deployment_frequency"),
        value("deployment_frequency") or 0.0,
        Stat(n("lead_time_hours"), value("lead_time_hours"), None, None),
        value("change_failure_rate"),
        Stat(n("recovery_time_hours"), value("recovery_time_hours"), None, None),
    )
    return levels.overall


def page_rows(frame: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """The rows of ``windows``' frame the trends page embeds: every window ending in the last
    ``DAILY_WEEKS`` weeks before the latest, the last window ending in each earlier week up
    to ``WEEKLY_WEEKS`` weeks back, and the last of each earlier month."""
    if frame.empty:
        return frame
    snapshots = frame[["run", "generated_at", "until"]].drop_duplicates()
    age = frame["until"].max() - snapshots["until"]
    month = last_moment(snapshots["until"], timezone).dt.strftime("%Y-%m")
    week = week_start(snapshots["until"], timezone).astype(str)
    bucket = (
        snapshots["until"]
        .astype(str)
        .where(
            age < pd.Timedelta(weeks=DAILY_WEEKS),
            week.where(age < pd.Timedelta(weeks=WEEKLY_WEEKS), month),
        )
    )
    chosen = snapshots.assign(bucket=bucket).sort_values("until", kind="stable")
    chosen = chosen.drop_duplicates("bucket", keep="last")[["run", "generated_at"]]
    kept = frame.merge(chosen, on=["run", "generated_at"])
    shown: pd.DataFrame = kept.sort_values(["until", "generated_at"], kind="stable")
    return shown.reset_index(drop=True)


def expired(
    files: Mapping[str, str], report_id: str, now: datetime, retention: timedelta | None
) -> list[str]:
    """Snapshots and HTML reports of ``report_id`` older than ``retention`` (SPEC §3)."""
    if retention is None:
        return []
    cutoff = now - retention
    old = [s.path for s in snapshot_files(files, report_id) if s.taken_at < cutoff]
    folder = f"{report_id}/reports/"
    for path in files:
        match = _REPORT_NAME.match(path[len(folder) :]) if path.startswith(folder) else None
        if match:
            taken = datetime.strptime(match.group("stamp"), "%Y-%m-%dT%H%M%SZ")
            if taken.replace(tzinfo=UTC) < cutoff:
                old.append(path)
    return sorted(old)


def without(history: History, removed: Iterable[str]) -> History:
    """The history as trends should see it once ``removed`` files are pruned."""
    gone = set(removed)
    return History(
        history.exists,
        {p: b for p, b in history.files.items() if p not in gone},
        tuple(s for s in history.snapshots if s.path not in gone),
        {p: rows for p, rows in history.figures.items() if p not in gone},
        tuple(p for p in history.skipped if p not in gone),
        history.exports_behind,
    )
