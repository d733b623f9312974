"""Trends from the history branch: snapshot points, the index that spares re-reading them,
unreadable and newer snapshots, retention, and the backfilled weeks of a first run."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from conftest import EmulatorFactory
from sample_reports import NOW, WINDOW, sample_report

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.metrics.backfill import backfill_windows, collection_since
from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.trends import (
    NewerSnapshotError,
    UnreadableSnapshotError,
    expired,
    history_of,
    index_path,
    point_from_snapshot,
    read_index,
    series,
    snapshot_files,
    snapshot_path,
    unindexed,
)
from ghaction_metrics.publish.history import commit_files
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
    return snapshot_path("default", moment, run, backfill=False), _encoded(document)


def test_point_from_a_snapshot_holds_the_headline_figures() -> None:
    point = point_from_snapshot(DOCUMENT)
    report = sample_report()
    assert point.until == WINDOW.until
    assert point.merged_prs == report.current.pulls.merged
    assert point.lead_time_hours == report.current.dora.lead_time.median
    assert point.change_failure_rate == report.current.dora.change_failure_rate
    assert point.level == report.current.dora.levels.overall


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
        point_from_snapshot(document)


def test_a_newer_schema_stops_with_a_clear_error() -> None:
    with pytest.raises(NewerSnapshotError, match=r"schema version 3.*use that version"):
        point_from_snapshot(dict(DOCUMENT, schema=3), "default/snapshots/x.json")


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
    point = point_from_snapshot(older)
    assert point.merged_prs == point_from_snapshot(DOCUMENT).merged_prs
    assert point.bug_rate is None  # measured from version 2 on
    assert point.ai_assisted_share is None


def test_snapshot_names_and_backfill_suffix() -> None:
    path = snapshot_path("default", datetime(2026, 3, 2, 6, 0, 5, tzinfo=UTC), "42", backfill=True)
    assert path == "default/snapshots/2026-03-02T060005Z-run42-backfill.json"
    files = {path: "a", "default/snapshots/2026-03-01T000000Z-run41.json": "b", "other/x.json": "c"}
    found = snapshot_files(files, "default")
    assert [(f.path, f.backfill) for f in found] == [
        ("default/snapshots/2026-03-01T000000Z-run41.json", False),
        (path, True),
    ]


def test_series_prefers_real_runs_and_the_latest_of_a_day() -> None:
    point = point_from_snapshot(DOCUMENT)
    backfilled = point.__class__(**{**point.__dict__, "backfill": True, "merged_prs": 1})
    later = point.__class__(
        **{
            **point.__dict__,
            "generated_at": point.generated_at + timedelta(hours=2),
            "merged_prs": 3,
        }
    )
    assert [p.merged_prs for p in series([later, backfilled, point])] == [3]


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


def _listing(files: dict[str, bytes]) -> tuple[dict[str, str], dict[str, bytes]]:
    """A branch listing (path → blob sha) and its blobs (sha → bytes), as the reader gives."""
    shas = {path: hashlib.sha1(data).hexdigest() for path, data in files.items()}
    return shas, {shas[path]: data for path, data in files.items()}


def test_history_is_made_of_the_listing_the_index_and_the_blobs_alone() -> None:
    files = dict([_snapshot_at(21, "1"), _snapshot_at(14, "2"), _snapshot_at(7, "3")])
    listing, blobs = _listing(files)
    assert len(unindexed(listing, "default", {})) == 3
    first = history_of(listing, "default", {}, blobs)
    assert [p.until for p in first.points] == sorted(p.until for p in first.points)
    assert len(first.points) == 3
    # With the index, nothing is left to read and the blobs are not needed.
    assert unindexed(listing, "default", read_index(first.index)) == []
    assert history_of(listing, "default", read_index(first.index), {}).points == first.points
    # A snapshot the index does not cover is the one to read.
    path, data = _snapshot_at(3, "4")
    listing[path] = hashlib.sha1(data).hexdigest()
    assert [s.path for s in unindexed(listing, "default", read_index(first.index))] == [path]
    later = history_of(listing, "default", read_index(first.index), {listing[path]: data})
    assert len(later.points) == 4


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
    assert len(history.points) == 2
    assert history.skipped == (broken,)
    assert f"Skipping unreadable snapshot {broken}" in caplog.text
    # The branch is left as it was.
    assert load_history(clients, REPO, "metrics", "default").files[broken] == history.files[broken]


def test_the_index_spares_reading_snapshots_again(
    clients: GitHubClients, server: EmulatorServer
) -> None:
    files = dict([_snapshot_at(21, "1"), _snapshot_at(14, "2"), _snapshot_at(7, "3")])
    commit_files(clients, REPO, "metrics", files, "seed")
    first = load_history(clients, REPO, "metrics", "default")
    commit_files(clients, REPO, "metrics", {index_path("default"): first.index}, "index")
    before = len(server.requests)
    second = load_history(clients, REPO, "metrics", "default")
    blob_reads = [r for r in server.requests[before:] if "/git/blobs/" in r.path]
    assert len(blob_reads) == 1  # the index only
    assert second.points == first.points


def test_a_newer_snapshot_on_the_branch_stops_loading(clients: GitHubClients) -> None:
    path = snapshot_path("default", NOW, "9", backfill=False)
    commit_files(clients, REPO, "metrics", {path: _encoded(dict(DOCUMENT, schema=99))}, "future")
    with pytest.raises(NewerSnapshotError):
        load_history(clients, REPO, "metrics", "default")


def test_a_missing_branch_is_a_first_run(clients: GitHubClients) -> None:
    history = load_history(clients, REPO, "metrics", "default")
    assert history.first_run
    assert not history.exists
