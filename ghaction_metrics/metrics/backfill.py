"""Backfill (SPEC §3 ``backfill``): on a first run with no history, weekly snapshots for the
span before the window, computed from the same collection, so trends have points from day one.

Each backfilled week is what a run at that week's end would have reported for a window of the
same length, with no comparison period. It is computed with hindsight: a failure that showed
after that week's end is already known.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, snapshot
from ghaction_metrics.metrics.trends import snapshot_path
from ghaction_metrics.records import Collection

WEEK = timedelta(days=7)


def backfill_windows(window: Window, span: timedelta | None) -> list[Window]:
    """Windows of the same length ending 1, 2, … whole weeks before ``window``, oldest first."""
    if span is None:
        return []
    weeks = max(1, span.days // 7)
    return [window.shifted(-k * WEEK) for k in range(weeks, 0, -1)]


def collection_since(window: Window, span: timedelta | None, first_run: bool) -> datetime:
    """How far back the collection reaches: the comparison period, or the oldest backfill."""
    since = window.previous().since
    if first_run:
        for earlier in backfill_windows(window, span)[:1]:
            since = min(since, earlier.since)
    return since


def backfill_snapshots(
    collection: Collection,
    settings: Settings,
    window: Window,
    span: timedelta | None,
    report_id: str,
    run_id: str,
    run_attempt: str,
) -> dict[str, bytes]:
    """Path → JSON document of each backfilled week (the snapshot schema, generated at its
    window's end)."""
    files: dict[str, bytes] = {}
    for week in backfill_windows(window, span):
        report = build_report(collection, settings, week, "none", week.until, report_id)
        document = snapshot(report, run_id, run_attempt)
        path = snapshot_path(report_id, week.until, run_id, backfill=True)
        files[path] = (json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n").encode()
    return files
