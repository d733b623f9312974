"""Publishing against the emulator: what one history commit carries (snapshot, backfilled
weeks, charts, HTML report, trends page), retention, re-runs, and alerts end to end."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import EmulatorFactory
from sample_reports import NOW, sample_report

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.inputs.config import Inputs, RunnerEnv
from ghaction_metrics.metrics.alerts import evaluate, parse_rules
from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.trends import snapshot_path
from ghaction_metrics.publish.exports import branch_figures, one_by_one
from ghaction_metrics.publish.history import commit_files, git_blob_sha
from ghaction_metrics.publish.history_read import load_history
from ghaction_metrics.publish.targets import publish
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_PERMISSIONS,
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import Commit, Repository, User, World

REPO = "acme/home"
TOKEN = "ghs_publish"


def _world() -> World:
    world = World(now=NOW)
    world.users["acme"] = User(login="acme", id=1000, type="Organization")
    world.users["github-actions[bot]"] = User(login="github-actions[bot]", id=41898282, type="Bot")
    repo = Repository(owner="acme", name="home", id=5001, created_at=NOW)
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


def _setup(
    server: EmulatorServer, tmp: Path, run_id: str, **inputs: str
) -> tuple[Inputs, RunnerEnv]:
    environ = runner_environment(
        api_url=server.api_url,
        graphql_url=server.graphql_url,
        server_url="https://github.com",
        repository=REPO,
        workspace=tmp / f"ws{run_id}",
        token=TOKEN,
        run_id=run_id,
        overrides={"publish": "history,summary", **inputs},
    )
    return Inputs.from_environ(environ, REPO), RunnerEnv.from_environ(environ)


def test_git_blob_sha_matches_git() -> None:
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_one_commit_carries_everything_and_retention_prunes(
    server: EmulatorServer, clients: GitHubClients, tmp_path: Path
) -> None:
    old = snapshot_path("default", NOW - timedelta(days=90), "1", backfill=False)
    recent = snapshot_path("default", NOW - timedelta(days=3), "2", backfill=False)
    seed = {
        path: json.dumps(
            dict(snapshot(sample_report(), run, "1"), generated_at=when.isoformat())
        ).encode()
        for path, run, when in (
            (old, "1", NOW - timedelta(days=90)),
            (recent, "2", NOW - timedelta(days=3)),
        )
    }
    commit_files(clients, REPO, "metrics", seed, "seed")
    inputs, env = _setup(server, tmp_path, "3", **{"history-retention": "30d"})
    report = sample_report()
    history = load_history(clients, REPO, "metrics", "default")
    alerts = evaluate(parse_rules("merged-prs > 1"), report)
    published, problems = publish(
        inputs, env, clients, report, snapshot(report, "3", "1"), history=history, alerts=alerts
    )
    assert problems == []
    files = branch_files(server.world.repositories[REPO], "metrics")
    assert old not in files
    assert recent in files
    assert published.snapshot_path in files
    assert {"default/charts/trends.png", "default/index.html", "index.html", ".nojekyll"} <= set(
        files
    )
    assert published.html_report_path == "default/report.html"
    assert "default/trends-index.json" not in files  # the CSVs replace it
    summary = env.step_summary.read_text() if env.step_summary else ""
    assert f"blob/{published.history_sha}/default/charts/trends.png?raw=true" in summary
    assert "merged-prs is 36" in summary
    workspace = env.workspace / ".ghaction-metrics" / "default"
    # The workspace copy is self-contained; the branch copy shows the charts committed with it.
    assert b'src="data:image/png;base64,' in (workspace / "report.html").read_bytes()
    assert b'src="charts/trends.png"' in files[published.html_report_path]
    # The exports now hold every snapshot's rows, so the next run reads none but the newest.
    after = {path: git_blob_sha(data) for path, data in files.items()}
    blobs = {git_blob_sha(data): data for data in files.values()}
    found = branch_figures(after, "default", one_by_one(blobs.get), blobs.get)
    assert set(found.rows) == {recent, published.snapshot_path}
    assert found.read_from_snapshots == ()


def test_a_rerun_replaces_its_own_files_and_keeps_its_backfill(
    server: EmulatorServer, clients: GitHubClients, tmp_path: Path
) -> None:
    backfilled = snapshot_path("default", NOW - timedelta(days=7), "5", backfill=True)
    report = sample_report()
    document = snapshot(report, "5", "1")
    backfill = {backfilled: json.dumps(document).encode()}
    inputs, env = _setup(server, tmp_path, "5")
    first, _ = publish(inputs, env, clients, report, document, backfill=backfill)
    later = sample_report().__class__(
        **{**report.__dict__, "generated_at": NOW + timedelta(minutes=5)}
    )
    history = load_history(clients, REPO, "metrics", "default")
    second, _ = publish(inputs, env, clients, later, snapshot(later, "5", "2"), history=history)
    files = branch_files(server.world.repositories[REPO], "metrics")
    assert first.snapshot_path not in files
    assert second.snapshot_path in files
    assert second.html_report_path in files
    assert backfilled in files


def test_a_rerun_a_day_later_leaves_no_window_of_the_snapshot_it_replaces(
    server: EmulatorServer, clients: GitHubClients, tmp_path: Path
) -> None:
    report = sample_report()
    inputs, env = _setup(server, tmp_path, "5")
    publish(inputs, env, clients, report, snapshot(report, "5", "1"))
    # Re-run the next day: its window has moved on, and its snapshot replaces the first.
    later = replace(report, generated_at=NOW + timedelta(days=1))
    document = json.loads(json.dumps(snapshot(later, "5", "2")))
    window = document["current"]["window"]
    for key in ("since", "until"):
        moment = datetime.fromisoformat(window[key].replace("Z", "+00:00"))
        window[key] = (moment + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    history = load_history(clients, REPO, "metrics", "default")
    publish(inputs, env, clients, later, document, history=history)
    files = branch_files(server.world.repositories[REPO], "metrics")
    page = files["default/index.html"].decode()
    assert "1 snapshot on this branch." in page
    assert page.count("<tr><td>20") == 1


def test_alerts_end_to_end_warn_fill_the_output_and_fail_the_step(tmp_path: Path) -> None:
    dataset = generate_dataset(seed=5, now=datetime.now(UTC).replace(microsecond=0))
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=dataset.home_repository,
            workspace=tmp_path / "workspace",
            overrides={
                "alerts": "merged-prs >= 0, lead-time-hours > 100000",
                "fail-on-alert": "true",
                "publish": "summary",
                "backfill": "0",
            },
        )
        result = run_action(env)
    assert result.returncode == 1
    fired = json.loads(result.outputs["alerts"])
    assert [a["rule"] for a in fired] == ["merged-prs >= 0"]
    assert "::warning title=Engineering metrics alert::Alert: merged-prs is" in result.stdout
    assert "fail-on-alert is true" in result.stdout
    assert "[!CAUTION]" in result.summary
