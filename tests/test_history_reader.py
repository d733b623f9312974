"""The analysts' reader on a folder, and the DataFrame rules the trends share with it: one
snapshot per window end, weekly buckets in a time zone, and the reader's errors."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sample_reports import sample_report

from ghaction_metrics import history
from ghaction_metrics.metrics.frame import one_per_window, weekly
from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.tidy import COLUMNS, figure_rows

DOCUMENT: dict[str, Any] = snapshot(sample_report(), "7", "1")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _write(folder: Path, run: str, until: datetime, lead: float, backfill: bool = False) -> None:
    """A snapshot of a window ending at ``until``, made at ``until`` + 6 h (a real run) or
    at ``until`` (a backfilled week), whose lead time is ``lead``."""
    document = copy.deepcopy(DOCUMENT)
    made = until if backfill else until + timedelta(hours=6)
    document["run"]["id"] = run
    document["generated_at"] = _iso(made)
    document["current"]["window"]["since"] = _iso(until - timedelta(days=30))
    document["current"]["window"]["until"] = _iso(until)
    document["current"]["dora"]["lead_time_hours"]["median"] = lead
    stamp = made.strftime("%Y-%m-%dT%H%M%SZ")
    name = f"{stamp}-run{run}{'-backfill' if backfill else ''}.json"
    path = folder / "default" / "snapshots" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")


def _lead(frame: pd.DataFrame) -> pd.DataFrame:
    chosen = frame[(frame.repository == "*") & (frame.metric == "lead-time-hours")]
    return chosen.reset_index(drop=True)


def test_a_branch_without_exports_is_read_from_its_snapshots(tmp_path: Path) -> None:
    _write(tmp_path, "1", datetime(2026, 3, 2, tzinfo=UTC), 10.0, backfill=True)
    _write(tmp_path, "2", datetime(2026, 3, 2, tzinfo=UTC), 12.0)
    _write(tmp_path, "3", datetime(2026, 3, 3, tzinfo=UTC), 14.0)
    frame = history.load(tmp_path)
    assert tuple(frame.columns) == COLUMNS
    assert list(_lead(frame).value) == [10.0, 12.0, 14.0]
    assert len(frame) == 3 * len(figure_rows(DOCUMENT, "x"))
    # The run of 2 March wins over the backfilled week that ends the same day.
    chosen = _lead(one_per_window(frame))
    assert list(chosen.run) == ["2", "3"]


def test_weekly_buckets_follow_the_time_zone(tmp_path: Path) -> None:
    # Windows ending at local midnight in Los Angeles (UTC-8): Monday 2 March 00:00 PST is
    # Monday 08:00 UTC, and Tuesday 00:00 PST is Tuesday 08:00 UTC.
    zone = "America/Los_Angeles"
    ends = [datetime(2026, 3, 2, 8, tzinfo=UTC), datetime(2026, 3, 3, 8, tzinfo=UTC)]
    for run, (until, lead) in enumerate(zip(ends, (20.0, 30.0), strict=True), start=1):
        _write(tmp_path, str(run), until, lead)
    local = _lead(weekly(history.load(tmp_path, timezone=zone), zone))
    # Locally the first window's last day is Sunday 1 March: the week of 23 February.
    assert [str(w) for w in local.week] == ["2026-02-23", "2026-03-02"]
    assert list(local.value) == [20.0, 30.0]
    # In UTC both end on Monday or Tuesday: one week, the later window's figure.
    utc = _lead(history.weekly(history.load(tmp_path), "UTC"))
    assert [str(w) for w in utc.week] == ["2026-03-02"]
    assert list(utc.value) == [30.0]


def test_the_readers_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        history.load(tmp_path, timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="neither a folder nor a repository"):
        history.load(str(tmp_path / "missing" / "deep"))
    with pytest.raises(FileNotFoundError, match="no folder default"):
        history.load(tmp_path)
    with pytest.raises(ValueError, match="needs a token"):
        history.load("acme/storefront")
