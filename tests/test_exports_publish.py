"""The exports through publish() against the emulator: retention that thins out a week, and
a re-run that replaces its own snapshot, leave the weekly CSVs matching the snapshots."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from conftest import EmulatorFactory
from sample_reports import NOW, sample_report

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.inputs.config import Inputs, RunnerEnv
from ghaction_metrics.metrics.report import Report, snapshot
from ghaction_metrics.metrics.trends import snapshot_path
from ghaction_metrics.publish.exports import partition_path
from ghaction_metrics.publish.history import commit_files
from ghaction_metrics.publish.history_read import load_history
from ghaction_metrics.publish.targets import publish
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_PERMISSIONS,
    branch_files,
    runner_environment,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import Commit, Repository, User, World

REPO = "acme/home"
TOKEN = "ghs_exports"


@pytest.fixture
def server(emulator_factory: EmulatorFactory) -> EmulatorServer:
    world = World(now=NOW)
    world.users["acme"] = User(login="acme", id=1000, type="Organization")
    world.users["github-actions[bot]"] = User(login="github-actions[bot]", id=41898282, type="Bot")
    repo = Repository(owner="acme", name="home", id=5001, created_at=NOW)
    root = Commit(oid="1" * 40, message="init", authored_at=NOW, committed_at=NOW, author="acme")
    repo.commits[root.oid] = root
    repo.refs["heads/main"] = root.oid
    world.repositories[REPO] = repo
    token = TokenInfo("github-actions[bot]", "workflow", dict(WORKFLOW_PERMISSIONS))
    return emulator_factory(world, {TOKEN: token})


@pytest.fixture
def clients(server: EmulatorServer) -> GitHubClients:
    return connect(TOKEN, server.api_url, server.graphql_url, seconds_between_writes=0)


def _publish(
    server: EmulatorServer, clients: GitHubClients, tmp: Path, run: str, at: datetime, **inputs: str
) -> dict[str, bytes]:
    environ = runner_environment(
        api_url=server.api_url,
        graphql_url=server.graphql_url,
        server_url="https://github.com",
        repository=REPO,
        workspace=tmp / f"ws{run}-{at:%H%M}",
        token=TOKEN,
        run_id=run,
        overrides={"publish": "history", **inputs},
    )
    report = sample_report()
    report = Report(**{**report.__dict__, "generated_at": at})
    history = load_history(clients, REPO, "metrics", "default")
    _, problems = publish(
        Inputs.from_environ(environ, REPO),
        RunnerEnv.from_environ(environ),
        clients,
        report,
        snapshot(report, run, "1"),
        history=history,
    )
    assert problems == []
    return branch_files(server.world.repositories[REPO], "metrics")


def _runs(files: dict[str, bytes], week: str) -> list[tuple[str, str]]:
    frame = pd.read_csv(io.BytesIO(files[partition_path("default", week)]), dtype={"run": str})
    return list(frame[["run", "generated_at"]].drop_duplicates().itertuples(index=False))


def test_retention_and_a_rerun_keep_the_csv_in_step_with_the_snapshots(
    server: EmulatorServer, clients: GitHubClients, tmp_path: Path
) -> None:
    document = snapshot(sample_report(), "x", "1")
    seeded = {
        "1": datetime(2026, 1, 30, 6, tzinfo=UTC),  # pruned by 30 days' retention below
        "2": datetime(2026, 1, 31, 12, tzinfo=UTC),  # kept: the same week
    }
    seed = {}
    for run, at in seeded.items():
        stamped = dict(document, run={"id": run, "attempt": "1"})
        stamped["generated_at"] = at.isoformat().replace("+00:00", "Z")
        seed[snapshot_path("default", at, run, backfill=False)] = json.dumps(stamped).encode()
    commit_files(clients, REPO, "metrics", seed, "seed")
    files = _publish(server, clients, tmp_path, "3", NOW)
    # The version before exports wrote the week of 26 January: its CSV is built from the
    # snapshots.
    assert [run for run, _ in _runs(files, "2026-01-26")] == ["1", "2"]
    assert [run for run, _ in _runs(files, "2026-03-02")] == ["3"]
    # A re-run of run 3 five minutes later replaces its own snapshot and its rows.
    files = _publish(server, clients, tmp_path, "3", NOW + timedelta(minutes=5))
    assert _runs(files, "2026-03-02") == [("3", "2026-03-02T06:05:00Z")]
    # Retention removes that week's first snapshot: its rows go, the other's stay.
    files = _publish(
        server, clients, tmp_path, "4", NOW + timedelta(hours=1), **{"history-retention": "30d"}
    )
    assert [run for run, _ in _runs(files, "2026-01-26")] == ["2"]
    assert [run for run, _ in _runs(files, "2026-03-02")] == ["3", "4"]
    latest = files["default/exports/latest.txt"].decode()
    assert latest.endswith("# EOF\n")
    assert 'ghaction_metrics_merged_prs{repository="*",cohort="all"} 36' in latest
