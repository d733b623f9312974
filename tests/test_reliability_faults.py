"""The fault matrix, end to end: entrypoint.py as a runner starts it, against an emulator that
misbehaves the way GitHub does on a bad day.

A recoverable fault must end in the report an undisturbed run gives; a fault that cuts the
collection short in a report marked partial; anything else in the documented notice or error,
with nothing half-written. Collection-level faults with a fake clock are in test_faults.py;
here the whole action runs, so retries, publishing and the runner contract are all involved.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ghaction_metrics.action import run as run_in_process
from ghaction_metrics.api.client import connect
from ghaction_metrics.collect.sync import cache_path
from ghaction_metrics.inputs.config import Inputs, RunnerEnv
from ghaction_metrics.publish.history import HistoryError, commit_files
from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_PERMISSIONS,
    WORKFLOW_TOKEN,
    ActionRun,
    branch_files,
    parse_output_file,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, Latency, RequestRecord
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import Issue

pytestmark = pytest.mark.e2e
NOW = datetime.now(UTC).replace(microsecond=0)
HOME = "acme/storefront"
# What an undisturbed run and a disturbed one must agree on.
FIGURES = (
    "deployment-frequency", "lead-time-hours", "change-failure-rate", "recovery-time-hours",
    "rework-rate", "dora-level", "cycle-time-hours", "merged-prs", "partial",
)  # fmt: skip
FAST = {"backfill": "0", "max-wait": "0"}


def is_write(record: RequestRecord) -> bool:
    """A request that changes something on GitHub (a GraphQL mutation, or a REST write)."""
    if record.kind == "graphql":
        query = json.loads(record.request_body or b"{}").get("query", "")
        return str(query).lstrip().startswith("mutation")
    return record.method not in ("GET", "HEAD")


@dataclass
class Stage:
    """One emulated GitHub holding the tiny demo organisation, and runs of the action on it."""

    dataset: GeneratedDataset
    server: EmulatorServer
    root: Path

    @property
    def repo(self) -> Any:
        return self.dataset.world.repositories[HOME]

    def environ(
        self, run_id: str = "1001", token: str = WORKFLOW_TOKEN, **overrides: str
    ) -> dict[str, str]:
        return runner_environment(
            api_url=self.server.api_url,
            graphql_url=self.server.graphql_url,
            server_url=self.server.url,
            repository=HOME,
            workspace=self.root / f"run{run_id}" / "workspace",
            token=token,
            overrides={**FAST, **overrides},
            run_id=run_id,
        )

    def run(self, run_id: str = "1001", **overrides: str) -> ActionRun:
        return run_action(self.environ(run_id, **overrides), timeout=120)

    def branch(self) -> dict[str, bytes]:
        with self.server.lock:
            return branch_files(self.repo, "metrics")

    def dashboards(self) -> list[Issue]:
        return [
            i for i in self.repo.issues if "ghaction-metrics:dashboard" in i.body and not i.deleted
        ]

    def commit(self, files: dict[str, bytes]) -> None:
        """What a person (or another tool) pushes to the history branch."""
        clients = connect(WORKFLOW_TOKEN, self.server.api_url, self.server.graphql_url)
        commit_files(clients, HOME, "metrics", files, "a person's commit")

    def writes_since(self, mark: int) -> list[RequestRecord]:
        return [r for r in self.server.requests[mark:] if is_write(r)]


def start_stage(root: Path, tokens: dict[str, TokenInfo] | None = None) -> Stage:
    dataset = generate_dataset(seed=3, now=NOW, profile="tiny")
    server = EmulatorServer(dataset.world, tokens or workflow_tokens(dataset.workflow_login))
    server.start()
    return Stage(dataset, server, root)


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    made = start_stage(tmp_path)
    yield made
    made.server.stop()


# The tests that compare with the undisturbed run share it; in parallel, on one worker.
SHARES_UNDISTURBED = pytest.mark.xdist_group("reliability-undisturbed")


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    made = start_stage(tmp_path_factory.mktemp("undisturbed"))
    try:
        run = made.run(publish="summary")
    finally:
        made.server.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    return {name: run.outputs[name] for name in FIGURES}


def figures(run: ActionRun) -> dict[str, str]:
    return {name: run.outputs[name] for name in FIGURES}


def commands(run: ActionRun, kind: str) -> list[str]:
    lines = run.stdout.splitlines()
    return [
        line.split("::", 2)[2].replace("%0A", "\n")
        for line in lines
        if line.startswith(f"::{kind}")
    ]


@SHARES_UNDISTURBED
@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("server_error", {"count": 3, "status": 502, "api": "graphql"}),
        ("server_error", {"count": 2, "status": 503, "api": "graphql"}),
        ("server_error", {"count": 2, "status": 502, "api": "rest", "method": "GET"}),
        ("secondary_limit", {"count": 2, "retry_after": 1, "api": "graphql"}),
        ("secondary_limit", {"count": 1, "status": 429, "retry_after": 1, "api": "graphql"}),
        ("secondary_limit", {"count": 1, "retry_after": 1, "api": "rest", "method": "GET"}),
        ("graphql_rate_limited", {"count": 2, "api": "graphql"}),
        ("partial", {"count": 2, "api": "graphql"}),
    ],
)
def test_recoverable_faults_end_in_the_undisturbed_report(
    stage: Stage, undisturbed: dict[str, str], kind: Any, options: dict[str, Any]
) -> None:
    stage.server.faults.arm(kind, **options)
    run = stage.run(publish="summary")
    assert run.returncode == 0, run.stdout + run.stderr
    assert [f[0] for f in stage.server.faults.fired] == [kind] * options["count"]
    assert figures(run) == undisturbed
    assert "## Engineering metrics" in run.summary


@SHARES_UNDISTURBED
def test_answers_slower_than_the_client_timeout_are_retried(
    stage: Stage, undisturbed: dict[str, str]
) -> None:
    # main() gives its client 15 seconds; the same run() with a 1-second client keeps this fast.
    stage.server.faults.arm("timeout", api="graphql", count=1, delay=1.5)
    environ = stage.environ(publish="summary")
    clients = connect(WORKFLOW_TOKEN, stage.server.api_url, stage.server.graphql_url, timeout=1)
    env = RunnerEnv.from_environ(environ)
    code = run_in_process(
        Inputs.from_environ(environ, HOME), env, clients, lambda: datetime.now(UTC)
    )
    assert code == 0
    assert stage.server.faults.fired[0][0] == "timeout"
    outputs = parse_output_file(Path(environ["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert {name: outputs[name] for name in FIGURES} == undisturbed


@SHARES_UNDISTURBED
def test_an_exhausted_primary_limit_is_waited_out_within_max_wait(
    stage: Stage, undisturbed: dict[str, str]
) -> None:
    token = stage.server.tokens[WORKFLOW_TOKEN]
    stage.server.exhaust(token, "graphql", reset_in=2)
    run = stage.run(publish="summary", **{"max-wait": "1m"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert figures(run) == undisturbed


def test_a_primary_limit_spent_past_max_wait_before_anything_is_read_is_an_error(
    stage: Stage,
) -> None:
    # Nothing measured: a report of zeros would pass for a quiet month. (What was read before
    # the limit ran out is published, marked partial: test_faults.py's whole-action test.)
    token = stage.server.tokens[WORKFLOW_TOKEN]
    stage.server.exhaust(token, "graphql", reset_in=3600)
    mark = len(stage.server.requests)
    run = stage.run(publish="summary,history,issue", **{"max-wait": "1m"})
    assert run.returncode == 1
    (error,) = commands(run, "error")
    assert "No repository was measured" in error
    assert "rate limit" in error
    assert "**Error:**" in run.summary
    assert stage.writes_since(mark) == []


@pytest.mark.parametrize("repositories", ["acme/storefront", "acme/storefront,acme/docs"])
def test_a_revoked_token_is_named_even_when_nothing_is_published(
    stage: Stage, repositories: str
) -> None:
    # With publish none nothing reads the history branch first: collection meets the 401.
    run = run_action(
        stage.environ(token="ghp_revoked0000000000000000000000000000", publish="none")
        | {"INPUT_REPOSITORIES": repositories},
        timeout=120,
    )
    assert run.returncode == 1
    errors = commands(run, "error")
    assert len(errors) == 1
    assert "Input 'token' was refused by GitHub (401 Bad credentials)" in errors[0]
    assert "cannot see" not in run.stdout


def test_one_repository_of_several_missing_or_forbidden(tmp_path: Path) -> None:
    dataset = generate_dataset(seed=3, now=NOW, profile="demo")
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        stage = Stage(dataset, server, tmp_path)
        # The first two GraphQL requests are refused (403): the one that estimates the run's
        # cost (so the repositories are collected one at a time) and the first repository's
        # first page; acme/ghost does not exist (404).
        server.faults.arm("server_error", api="graphql", status=403, count=2)
        run = stage.run(
            repositories="acme/legacy,acme/ghost,acme/docs",
            publish="summary",
            **{"per-person": "false"},
        )
    assert run.returncode == 0, run.stdout + run.stderr
    warnings = "\n".join(commands(run, "warning"))
    assert "cost could not be estimated (HTTP 403)" in warnings
    assert "acme/legacy" in warnings
    assert "acme/ghost" in warnings
    document = json.loads((run.workspace / run.outputs["report-json"]).read_text())
    window = document["current"]["window"]
    since = datetime.fromisoformat(window["since"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(window["until"].replace("Z", "+00:00"))
    truth = dataset.truth.headline(["acme/docs"], since, until)
    assert int(run.outputs["merged-prs"]) == truth.merged_prs
    assert "acme/ghost" in run.summary
    assert "acme/legacy" in run.summary


def test_missing_issues_write_still_writes_the_summary_with_the_permissions_fix(
    tmp_path: Path,
) -> None:
    permissions = {**WORKFLOW_PERMISSIONS, "issues": "read"}
    stage = start_stage(
        tmp_path, {WORKFLOW_TOKEN: TokenInfo("github-actions[bot]", "workflow", permissions)}
    )
    try:
        run = stage.run()
    finally:
        stage.server.stop()
    assert "## Engineering metrics" in run.summary
    assert "Deployment frequency" in run.summary or "deployment" in run.summary.lower()
    assert run.returncode == 0, run.stdout + run.stderr
    fix = "permissions:\n  contents: write\n  issues: write\n"
    assert any(fix in text and "issues: write" in text for text in commands(run, "notice"))
    assert "> [!NOTE]\n> The dashboard issue was not updated" in run.summary
    assert stage.dashboards() == []
    assert [p for p in stage.branch() if "/snapshots/" in p]  # contents: write still works


def test_a_concurrent_run_racing_on_the_history_ref_loses_nothing(stage: Stage) -> None:
    first = stage.run("3000", publish="history,summary")
    assert first.returncode == 0, first.stdout + first.stderr
    # Slow enough answers that both runs read the same head and one must retry its commit.
    stage.server.latency = Latency(per_request=0.02)
    envs = [stage.environ(run_id, publish="history,summary") for run_id in ("3001", "3002")]
    results: dict[str, ActionRun] = {}

    def one(env: dict[str, str]) -> None:
        results[env["GITHUB_RUN_ID"]] = run_action(env, timeout=120)

    threads = [threading.Thread(target=one, args=(env,)) for env in envs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for run in results.values():
        assert run.returncode == 0, run.stdout + run.stderr
    snapshots = sorted(p.rsplit("-", 1)[1] for p in stage.branch() if "/snapshots/" in p)
    assert snapshots == ["run3000.json", "run3001.json", "run3002.json"]
    assert not any(update.forced for update in stage.repo.ref_log)


@SHARES_UNDISTURBED
def test_an_unreadable_cache_means_a_full_collection_and_a_warning(
    stage: Stage, undisturbed: dict[str, str]
) -> None:
    assert stage.run("4001", publish="history").returncode == 0
    path = cache_path("default", HOME)
    assert path in stage.branch()
    stage.commit({path: b"\x1f\x8b not really gzip"})
    run = stage.run("4002", publish="history")
    assert run.returncode == 0, run.stdout + run.stderr
    assert any("cache" in text and "unreadable" in text for text in commands(run, "warning"))
    assert figures(run) == undisturbed
    assert stage.branch()[path] != b"\x1f\x8b not really gzip"  # rewritten from the full run


def test_an_unreadable_old_snapshot_is_skipped_and_left_as_it_is(stage: Stage) -> None:
    old = "default/snapshots/2025-01-06T060000Z-run17.json"
    stage.commit({old: b'{"schema": 1, "current": "truncated'})
    run = stage.run("5002", publish="history")
    assert run.returncode == 0, run.stdout + run.stderr
    assert any(old in text for text in commands(run, "warning"))
    files = stage.branch()
    assert files[old] == b'{"schema": 1, "current": "truncated'
    assert any(p.endswith("-run5002.json") for p in files)


def _snapshot_with(until: str) -> bytes:
    """A readable snapshot of the current schema whose window ends at ``until``."""
    from ghaction_metrics.metrics.report import SCHEMA_VERSION

    dora = {
        "deployments": 3, "deployment_frequency": 0.1, "lead_time_hours": {"median": 5.0},
        "change_failure_rate": 0.0, "recovery_time_hours": {"median": None},
        "rework_rate": 0.0, "levels": {"overall": "high"},
    }  # fmt: skip
    pulls = {
        "merged": 4, "cycle_time_hours": {"median": 3.0},
        "time_to_first_review_hours": {"median": 1.0},
    }  # fmt: skip
    window = {"since": "2024-12-01T00:00:00Z", "until": until}
    current = {"window": window, "dora": dora, "pull_requests": pulls}
    document = {
        "schema": SCHEMA_VERSION, "generated_at": until, "run": {"id": "17", "attempt": 1},
        "current": current,
    }  # fmt: skip
    return json.dumps(document).encode()


NESTED = b"[" * 100_000 + b"]" * 100_000
OLD = "default/snapshots/2025-01-06T060000Z-run17.json"
GOOD_OLD = _snapshot_with("2025-01-06T00:00:00Z")


OLD_CSV = "default/exports/figures-2025-01-06.csv"


def _csv_with(values: dict[str, str]) -> bytes:
    """OLD's week of the exports, its figures replaced by ``values`` (metric → text)."""
    head = "run,generated_at,since,until,period,repository,cohort,metric,value,n"
    times = "2025-01-06T06:00:00Z,2024-12-01T00:00:00Z,2025-01-06T00:00:00Z"
    lines = [f"17,{times},current,*,all,{metric},{value},3" for metric, value in values.items()]
    return "\n".join([head, *lines, ""]).encode()


STRINGS = {
    "deployment-frequency": "often", "lead-time-hours": "fast", "merged-prs": "many",
    "cycle-time-hours": "3.0", "change-failure-rate": "",
}  # fmt: skip


@pytest.mark.parametrize(
    ("files", "skipped"),
    [
        ({OLD: NESTED}, OLD),
        ({OLD: GOOD_OLD, OLD_CSV: NESTED}, None),
        ({OLD: GOOD_OLD, OLD_CSV: _csv_with(STRINGS)}, None),
        ({OLD: _snapshot_with("0001-01-01T00:00:00Z")}, OLD),
        ({OLD: _snapshot_with("9999-12-31T00:00:00Z")}, OLD),
    ],
    ids=["nested-snapshot", "nested-csv", "strings-in-csv", "year-1", "year-9999"],
)
def test_corrupt_history_is_skipped_with_a_warning_and_the_run_publishes(
    stage: Stage, files: dict[str, bytes], skipped: str | None
) -> None:
    stage.commit(files)
    run = stage.run("5003", publish="summary,history")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    branch = stage.branch()
    assert any(p.endswith("-run5003.json") for p in branch)
    assert "DORA level" in run.summary
    if skipped is not None:
        assert any(skipped in text for text in commands(run, "warning"))
        assert branch[skipped] == files[skipped]  # left as it is


@pytest.mark.parametrize("status", [403, 503])
def test_a_history_branch_that_cannot_be_read_stops_the_run_before_any_write(
    stage: Stage, status: int
) -> None:
    # Taken for a first run, it would store a new pseudonym salt, backfill again and rewrite
    # the trends index over the branch it could not read.
    assert stage.run("9101", publish="history").returncode == 0
    before = stage.branch()
    stage.server.faults.arm(
        "server_error", api="rest", method="GET", status=status, count=1000,
        path_contains="/git/ref/heads/metrics",
    )  # fmt: skip
    mark = len(stage.server.requests)
    run = stage.run("9102")
    assert run.returncode == 1
    (error,) = commands(run, "error")
    assert "history branch" in error
    assert f"HTTP {status}" in error
    assert stage.writes_since(mark) == []
    assert stage.branch() == before
    assert stage.dashboards() == []


@pytest.mark.parametrize(
    "site",
    [
        {"index.html": b"<html>our site</html>", "css/site.css": b"body {}"},
        {"index.html": b"<html>a one-page site</html>"},
        {"README.md": b"# notes", "default/notes.txt": b"ours, not the action's"},
    ],
    ids=["pages-site", "one-page-site", "other-files"],
)
def test_a_history_branch_holding_files_the_action_did_not_write_is_refused(
    stage: Stage, site: dict[str, bytes]
) -> None:
    # history-branch pointed at gh-pages would overwrite the site's index.html.
    stage.commit(site)
    before = stage.branch()
    mark = len(stage.server.requests)
    run = stage.run("9201")
    assert run.returncode == 1
    (error,) = commands(run, "error")
    assert "history-branch" in error
    assert sorted(site)[0] in error
    assert stage.writes_since(mark) == []
    assert stage.branch() == before


def test_a_branch_the_action_wrote_is_not_refused(stage: Stage) -> None:
    assert stage.run("9301", publish="history").returncode == 0
    assert stage.run("9302", publish="history", **{"report-id": "team-b"}).returncode == 0
    assert stage.run("9303", publish="history").returncode == 0


def test_a_snapshot_in_a_newer_schema_stops_the_run_before_any_write(stage: Stage) -> None:
    newer = "default/snapshots/2099-01-05T060000Z-run99.json"
    stage.commit({newer: json.dumps({"schema": 99, "anything": "new"}).encode()})
    mark = len(stage.server.requests)
    run = stage.run("6001")
    assert run.returncode == 1
    (error,) = commands(run, "error")
    assert newer in error
    assert "newer version" in error
    assert "Nothing was published" in run.summary
    assert stage.writes_since(mark) == []
    assert stage.dashboards() == []


@pytest.mark.parametrize("what", ["closed", "locked", "deleted"])
def test_a_dashboard_closed_locked_or_deleted_by_a_person(stage: Stage, what: str) -> None:
    assert stage.run("7001", publish="issue").returncode == 0
    (issue,) = stage.dashboards()
    with stage.server.lock:
        if what == "closed":
            issue.state, issue.closed_at = "closed", NOW
        elif what == "locked":
            issue.locked = True
        else:
            issue.deleted = True
    run = stage.run("7002", publish="issue,summary")
    assert run.returncode == 0, run.stdout + run.stderr
    (now_issue,) = stage.dashboards()
    reports = [c for c in now_issue.comments if "ghaction-metrics:report" in c.body]
    assert len(reports) == 1
    if what == "closed":
        assert now_issue is issue
        assert now_issue.state == "closed"
        assert any("closed" in text for text in commands(run, "notice"))
    elif what == "locked":
        assert now_issue is issue
    else:
        assert now_issue is not issue
        assert run.outputs["issue-url"].endswith(f"/issues/{now_issue.number}")


def test_the_pinned_issue_limit_is_a_notice(stage: Stage) -> None:
    with stage.server.lock:
        world = stage.dataset.world
        number = max(
            [i.number for i in stage.repo.issues] + [p.number for p in stage.repo.pull_requests]
        )
        for offset in (1, 2, 3):
            stage.repo.issues.append(
                Issue(
                    number + offset,
                    world.new_id(),
                    f"Pinned {offset}",
                    "",
                    "alice",
                    NOW,
                    NOW,
                    pinned=True,
                )
            )
    run = stage.run(publish="issue,summary")
    assert run.returncode == 0, run.stdout + run.stderr
    (issue,) = stage.dashboards()
    assert not issue.pinned
    assert any("pin" in text.lower() for text in commands(run, "notice"))


def test_a_fork_pull_request_with_a_read_only_token_publishes_nothing(tmp_path: Path) -> None:
    read_only = {scope: "read" for scope in WORKFLOW_PERMISSIONS}
    stage = start_stage(
        tmp_path, {WORKFLOW_TOKEN: TokenInfo("github-actions[bot]", "workflow", read_only)}
    )
    try:
        environ = stage.environ("8001")
        environ["GITHUB_EVENT_NAME"] = "pull_request"
        event = {
            "action": "opened",
            "pull_request": {
                "number": 5,
                "head": {"repo": {"full_name": "stranger/storefront", "fork": True}},
                "base": {"repo": {"full_name": HOME, "fork": False}},
            },
        }
        Path(environ["GITHUB_EVENT_PATH"]).write_text(json.dumps(event), encoding="utf-8")
        run = run_action(environ, timeout=120)
    finally:
        stage.server.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    assert stage.writes_since(0) == []
    assert any("fork" in text and "read-only" in text for text in commands(run, "notice"))
    assert "## Engineering metrics" in run.summary
    assert run.outputs["history-sha"] == ""
    assert run.outputs["issue-url"] == ""


@pytest.mark.parametrize(
    ("event_name", "event", "fork"),
    [
        ("pull_request", {"head": {"repo": {"full_name": "x/y", "fork": True}}}, True),
        ("pull_request", {"head": {"repo": None}}, True),  # the fork was deleted since
        ("pull_request", {"head": {"repo": {"full_name": HOME, "fork": False}}}, False),
        ("pull_request_target", {"head": {"repo": {"full_name": "x/y", "fork": True}}}, False),
        ("schedule", {}, False),
        ("pull_request", None, False),  # unreadable event file
    ],
)
def test_fork_detection_from_the_event(
    tmp_path: Path, event_name: str, event: dict[str, Any] | None, fork: bool
) -> None:
    path = tmp_path / "event.json"
    if event is None:
        path.write_text("{not json", encoding="utf-8")
    else:
        pull = {**event, "base": {"repo": {"full_name": HOME, "fork": False}}}
        path.write_text(json.dumps({"pull_request": pull}), encoding="utf-8")
    environ = {
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_REPOSITORY": HOME,
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(path),
    }
    assert RunnerEnv.from_environ(environ).fork_pull_request is fork


@pytest.mark.parametrize("after_processing", [False, True])
def test_a_failed_blob_upload_is_sent_again(stage: Stage, after_processing: bool) -> None:
    # Found by the chaos test: a 502 on the chart's blob escaped as a crash of the whole run.
    clients = connect(WORKFLOW_TOKEN, stage.server.api_url, stage.server.graphql_url)
    stage.server.faults.arm(
        "server_error", api="rest", method="POST", after_processing=after_processing
    )
    result = commit_files(clients, HOME, "metrics", {"chart.png": b"\x89PNG\x00\xff"}, "one")
    assert stage.server.faults.fired[0][2].endswith("/git/blobs")
    assert stage.branch()["chart.png"] == b"\x89PNG\x00\xff"
    assert result.sha == stage.repo.refs["heads/metrics"]


def test_a_blob_upload_that_keeps_failing_is_a_history_error(stage: Stage) -> None:
    clients = connect(WORKFLOW_TOKEN, stage.server.api_url, stage.server.graphql_url)
    stage.server.faults.arm("server_error", api="rest", method="POST", count=5)
    with pytest.raises(HistoryError, match="HTTP 502"):
        commit_files(clients, HOME, "metrics", {"chart.png": b"\x89PNG\x00\xff"}, "one")
    assert "heads/metrics" not in stage.repo.refs


def test_a_repository_named_twice_in_different_cases_is_measured_once(stage: Stage) -> None:
    # GitHub's names are case-insensitive: ACME/Storefront is acme/storefront.
    run = stage.run(publish="summary", repositories=f"{HOME}, ACME/Storefront")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["merged-prs"] == stage.run(publish="summary").outputs["merged-prs"]
    assert "ACME/Storefront" not in run.summary
