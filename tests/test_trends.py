"""Trends from the history branch: the tidy frame of every snapshot's figures and what the
views take from it, the monthly CSVs that spare re-reading snapshots, unreadable and newer
snapshots, retention, and the backfilled weeks of a first run."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from conftest import EmulatorFactory
from sample_reports import NOW, WINDOW, sample_report, trend_of

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.metrics.backfill import backfill_windows, collection_since
from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.tidy import figure_rows
from ghaction_metrics.metrics.trends import (
    DAILY_WEEKS,
    WEEKLY_WEEKS,
    NewerSnapshotError,
    UnreadableSnapshotError,
    expired,
    headline_table,
    page_rows,
    snapshot_files,
    snapshot_path,
)
from ghaction_metrics.publish.exports import branch_figures, export_files, one_by_one
from ghaction_metrics.publish.history import commit_files, git_blob_sha
from ghaction_metrics.publish.history_read import load_history
from ghaction_metrics_dev.emulator.harness import WORKFLOW_PERMISSIONS
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import Commit, Repository, User, World

V1_SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v1.schema.json"
    ).read_text(encoding="utf-8")
)
REPO = "acme/storefront"
TOKEN = "ghs_trends"
DAY = timedelta(days=1)
DOCUMENT = snapshot(sample_report(), "7", "1")


def _world() -> World:
    world = World(now=NOW)
    world.users["acme"] = User(login="acme", id=1000, type="Organization")
    world.users["github-actions[bot]"] = User(login="github-actions[bot]", id=41898282, type="Bot")
    repo = Repository(owner="acme", name="storefront", id=5001, created_at=NOW)
    root = Commit(oid="1" * 40, message="init", authored_at=NOW, committed_at=NOW, author="acme")
    repo.commits[root.oid] = root
    repo.refs["heads/main"] = root.oid
    world.repositories[REPO] = repo
    return world


@pytest.fixture
def server(emulator_factory: EmulatorFactory) -> EmulatorServer:
    token = TokenInfo("github-actions[bot]", "workflow", dict(WORKFLOW_PERMISSIONS))
    return emulator_factory(_world(), {TOKEN: token})


@pytest.fixture
def clients(server: EmulatorServer) -> GitHubClients:
    return connect(TOKEN, server.api_url, server.graphql_url, seconds_between_writes=0)


def _encoded(document: object) -> bytes:
    return json.dumps(document).encode()


def _snapshot_at(days_ago: int, run: str) -> tuple[str, bytes]:
    moment = NOW - timedelta(days=days_ago)
    document = dict(DOCUMENT, generated_at=moment.isoformat())
    document["current"] = json.loads(json.dumps(DOCUMENT["current"]))
    document["current"]["window"]["until"] = moment.isoformat()
    document["run"] = dict(DOCUMENT["run"], id=run)
    return snapshot_path("default", moment, run, backfill=False), _encoded(document)


def test_the_headline_table_holds_a_snapshots_figures_and_level() -> None:
    (row,) = headline_table(trend_of(DOCUMENT)).to_dict("records")
    report = sample_report()
    assert row["until"] == WINDOW.until
    assert row["merged-prs"] == report.current.pulls.merged
    assert row["lead-time-hours"] == report.current.dora.lead_time.median
    assert row["change-failure-rate"] == report.current.dora.change_failure_rate
    # The level is not among the figures: it is decided again from them, as levels.py does.
    assert row["level"] == report.current.dora.levels.overall
    assert row["backfill"] is False or not row["backfill"]


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"schema": "1"},
        {"schema": 1},
        dict(DOCUMENT, current={"window": {}}),
        dict(DOCUMENT, generated_at="yesterday"),
    ],
)
def test_malformed_snapshots_are_unreadable(document: object) -> None:
    with pytest.raises(UnreadableSnapshotError):
        figure_rows(document, "default/snapshots/x.json")  # type: ignore[arg-type]


def test_a_newer_schema_stops_with_a_clear_error() -> None:
    with pytest.raises(NewerSnapshotError, match=r"schema version 3.*use that version"):
        figure_rows(dict(DOCUMENT, schema=3), "default/snapshots/x.json")


def test_a_version_1_snapshot_is_still_read() -> None:
    # Version 2 only added sections (to the document and to each period); runs of earlier
    # versions stay on the branch for ever.
    period = V1_SCHEMA["$defs"]["period"]["properties"]
    older = {
        key: value
        for key, value in dict(json.loads(json.dumps(DOCUMENT)), schema=1).items()
        if key in V1_SCHEMA["properties"]
    }
    pulls = V1_SCHEMA["$defs"]["pull_requests"]["properties"]
    for name in ("current", "previous"):
        if isinstance(DOCUMENT[name], dict):
            older[name] = {k: v for k, v in DOCUMENT[name].items() if k in period}
            older[name]["pull_requests"] = {
                k: v for k, v in DOCUMENT[name]["pull_requests"].items() if k in pulls
            }
    if DOCUMENT["comparison"] is not None:
        deltas = V1_SCHEMA["$defs"]["comparison"]["properties"]["deltas"]
        known = deltas["items"]["properties"]["metric"]["enum"]
        comparison = DOCUMENT["comparison"]
        kept = [d for d in comparison["deltas"] if d["metric"] in known]
        older["comparison"] = dict(comparison, deltas=kept)
    jsonschema.validate(older, V1_SCHEMA)
    (row,) = headline_table(trend_of(older)).to_dict("records")
    (now,) = headline_table(trend_of(DOCUMENT)).to_dict("records")
    assert row["merged-prs"] == now["merged-prs"]
    assert math.isnan(row["bug-rate"])  # measured from version 2 on
    assert math.isnan(row["ai-assisted-share"])


def test_snapshot_names_and_backfill_suffix() -> None:
    path = snapshot_path("default", datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC), "42", backfill=True)
    assert path == "default/snapshots/2026-03-02T060005Z-run42-backfill.json"
    files = {path: "a", "default/snapshots/2026-03-01T000000Z-run41.json": "b", "other/x.json": "c"}
    found = snapshot_files(files, "default")
    assert [(f.path, f.backfill) for f in found] == [
        ("default/snapshots/2026-03-01T000000Z-run41.json", False),
        (path, True),
    ]


def test_one_window_per_end_prefers_real_runs_and_the_latest_of_a_day() -> None:
    later = dict(DOCUMENT, generated_at=(NOW + timedelta(hours=2)).isoformat())
    later["current"] = json.loads(json.dumps(DOCUMENT["current"]))
    later["current"]["pull_requests"]["merged"] = 3
    backfilled = json.loads(json.dumps(DOCUMENT))
    backfilled["current"]["pull_requests"]["merged"] = 1
    trend = trend_of(later, backfilled, DOCUMENT, backfill=[False, True, False])
    assert headline_table(trend)["merged-prs"].tolist() == [3]


def _daily(days: int) -> pd.DataFrame:
    """The trends' frame of ``days`` daily runs ending at NOW."""
    documents = []
    for day in range(days):
        _path, data = _snapshot_at(days - 1 - day, str(day))
        documents.append(json.loads(data))
    return trend_of(*documents)


def test_the_page_keeps_every_recent_window_then_one_a_week_then_one_a_month() -> None:
    # The page is rewritten by every run: once the history is long, a month of daily runs
    # adds one window's rows to it, not thirty.
    trend = _daily(400)
    shown = page_rows(trend)
    ends = sorted(shown["until"].unique())
    daily = [e for e in ends if e > NOW - timedelta(weeks=DAILY_WEEKS)]
    assert len(daily) == DAILY_WEEKS * 7
    weekly = [e for e in ends if NOW - timedelta(weeks=WEEKLY_WEEKS) < e <= daily[0] - DAY]
    weeks = {e.date().isocalendar()[:2] for e in weekly}
    assert len(weekly) == len(weeks)  # one a week: each the last (a Sunday's) of its week
    assert all(e.weekday() == 6 for e in weekly[:-1])
    monthly = [e for e in ends if e <= NOW - timedelta(weeks=WEEKLY_WEEKS)]
    assert len(monthly) == len({(e.year, e.month) for e in monthly})
    # The last window of each month (but the one the weekly ones cut short).
    assert all((e + DAY).month != e.month for e in monthly[:-1])
    assert len(ends) < 28 + 22 + 14
    # Whole snapshots are kept: every row of a kept window.
    assert len(shown) == len(trend[trend["until"].isin(ends)])
    assert page_rows(_daily(20)).equals(_daily(20))  # nothing to thin yet


def test_weeks_of_the_page_are_in_the_reports_time_zone() -> None:
    trend = _daily(120)
    utc = set(page_rows(trend, "UTC")["until"].unique())
    tokyo = set(page_rows(trend, "Asia/Tokyo")["until"].unique())
    # The windows end at 06:00 UTC: 15:00 in Tokyo, the same day; at 20:00 UTC it would not be.
    assert utc == tokyo
    late = pd.concat([trend.assign(until=trend["until"] + pd.Timedelta(hours=14))])
    assert set(page_rows(late, "UTC")["until"].unique()) != set(
        page_rows(late, "Asia/Tokyo")["until"].unique()
    )


def test_retention_picks_old_snapshots_and_reports() -> None:
    files = {
        "default/snapshots/2025-01-01T000000Z-run1.json": "a",
        "default/snapshots/2026-03-01T000000Z-run2.json": "b",
        "default/reports/2025-01-01T000000Z-run1.html": "c",
        "team/snapshots/2025-01-01T000000Z-run1.json": "d",
    }
    assert expired(files, "default", NOW, timedelta(days=500)) == []
    assert expired(files, "default", NOW, timedelta(days=30)) == [
        "default/reports/2025-01-01T000000Z-run1.html",
        "default/snapshots/2025-01-01T000000Z-run1.json",
    ]
    assert expired(files, "default", NOW, None) == []


def test_backfill_weeks_and_collection_reach() -> None:
    weeks = backfill_windows(WINDOW, timedelta(weeks=3))
    assert [w.until for w in weeks] == [WINDOW.until - timedelta(weeks=k) for k in (3, 2, 1)]
    assert all(w.days == WINDOW.days for w in weeks)
    assert backfill_windows(WINDOW, None) == []
    assert collection_since(
        WINDOW, timedelta(weeks=12), first_run=True
    ) == WINDOW.since - timedelta(weeks=12)
    assert collection_since(WINDOW, timedelta(weeks=12), first_run=False) == WINDOW.previous().since
    assert collection_since(WINDOW, timedelta(days=7), first_run=True) == WINDOW.previous().since


def _with_exports(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` (snapshots) and the monthly CSVs a run would write for them."""
    listing = {path: git_blob_sha(data) for path, data in files.items()}
    figures = {path: figure_rows(json.loads(data), path) for path, data in files.items()}
    exports = export_files("default", {}, listing, figures, [])
    return {**files, **exports.files}


def test_the_csvs_give_every_snapshots_rows_and_the_snapshots_fill_in() -> None:
    files = _with_exports(
        dict([_snapshot_at(21, "1"), _snapshot_at(14, "2"), _snapshot_at(7, "3")])
    )
    path, data = _snapshot_at(3, "4")  # a concurrent run's, which the CSV lacks
    files[path] = data
    listing = {p: git_blob_sha(d) for p, d in files.items()}
    blobs = {git_blob_sha(d): d for d in files.values()}
    read: list[str] = []

    def reader(sha: str) -> bytes | None:
        read.append(sha)
        return blobs.get(sha)

    found = branch_figures(listing, "default", one_by_one(reader), reader)
    assert len(found.rows) == 4
    assert found.read_from_snapshots == (path,)
    assert found.behind == ("2026-02-23",)  # its week's CSV is rewritten next
    assert len(read) == 4  # the three weeks' CSVs and the snapshot they lack
    assert found.rows[path] == tuple(figure_rows(json.loads(data), path))


def test_history_from_the_branch_with_an_unreadable_snapshot(
    clients: GitHubClients, server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    files = dict([_snapshot_at(14, "1"), _snapshot_at(7, "2")])
    broken = snapshot_path("default", NOW - timedelta(days=3), "3", backfill=False)
    files[broken] = b"{not json"
    commit_files(clients, REPO, "metrics", files, "seed")
    history = load_history(clients, REPO, "metrics", "default")
    assert not history.first_run
    assert len(history.snapshots) == 3
    assert len(history.figures) == 2
    assert history.skipped == (broken,)
    assert f"Skipping unreadable snapshot {broken}" in caplog.text
    # The branch is left as it was.
    assert load_history(clients, REPO, "metrics", "default").files[broken] == history.files[broken]


def test_the_csvs_spare_reading_snapshots_again(
    clients: GitHubClients, server: EmulatorServer
) -> None:
    snapshots = dict([_snapshot_at(21, "1"), _snapshot_at(14, "2"), _snapshot_at(7, "3")])
    commit_files(clients, REPO, "metrics", snapshots, "seed")
    first = load_history(clients, REPO, "metrics", "default")  # a branch without exports
    commit_files(clients, REPO, "metrics", _with_exports(snapshots), "exports")
    before = len(server.requests)
    second = load_history(clients, REPO, "metrics", "default")
    blob_reads = [r for r in server.requests[before:] if "/git/blobs/" in r.path]
    graphql = [r for r in server.requests[before:] if r.path.endswith("/graphql")]
    # The three weeks' CSVs in one GraphQL request, and the newest snapshot, to find a newer
    # version's schema.
    assert len(graphql) == 1
    assert len(blob_reads) == 1
    assert second.figures == first.figures
    assert first.exports_behind
    assert not second.exports_behind


def test_a_newer_snapshot_on_the_branch_stops_loading(clients: GitHubClients) -> None:
    path = snapshot_path("default", NOW, "9", backfill=False)
    commit_files(clients, REPO, "metrics", {path: _encoded(dict(DOCUMENT, schema=99))}, "future")
    with pytest.raises(NewerSnapshotError):
        load_history(clients, REPO, "metrics", "default")


def test_a_newer_snapshot_whose_rows_are_in_the_csv_stops_loading_too(
    clients: GitHubClients,
) -> None:
    # A newer version writes the same CSVs: its rows read like ours, its snapshot does not.
    older = dict([_snapshot_at(14, "1")])
    path, data = _snapshot_at(7, "2")
    seeded = _with_exports({**older, path: data})
    seeded[path] = _encoded(dict(json.loads(data), schema=99))
    commit_files(clients, REPO, "metrics", seeded, "future")
    with pytest.raises(NewerSnapshotError):
        load_history(clients, REPO, "metrics", "default")


def test_a_missing_branch_is_a_first_run(clients: GitHubClients) -> None:
    history = load_history(clients, REPO, "metrics", "default")
    assert history.first_run
    assert not history.exists
