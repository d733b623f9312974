"""One HTTP client: every request the action makes goes through api/client.py under one policy.

End to end (entrypoint.py as a runner starts it, against the emulator's fault switches): a
secondary limit that does not let up, a `retry-after` longer than `max-wait`, a spent REST
limit and a `repositories` input naming nothing that can be measured. In process, with the
waiter's sleep and clock injected (nothing here sleeps for real): no wait in any path is
longer than `max-wait` + 1 s, nor than the ceiling on waits GitHub asks for; and every
request the emulator sees was counted by the client.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_faults import FakeTime
from test_reliability_faults import HOME, Stage, commands, start_stage

from ghaction_metrics.action import run as run_in_process
from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.api.quota import SECONDARY_CEILING, RetryPolicy, Waiter
from ghaction_metrics.collect.sync import cache_path, read_cache
from ghaction_metrics.inputs.config import Inputs, RunnerEnv
from ghaction_metrics.publish.history import read_tree
from ghaction_metrics_dev.emulator.harness import WORKFLOW_TOKEN

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ghaction_metrics"
CLIENT = PACKAGE / "api" / "client.py"
HTTP_LIBRARIES = ("requests", "urllib3", "http", "httpx", "aiohttp")


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    made = start_stage(tmp_path)
    yield made
    made.server.stop()


# -- the holes, end to end --------------------------------------------------------------------


def test_a_secondary_limit_that_does_not_let_up_is_an_error_before_any_write(
    stage: Stage,
) -> None:
    stage.server.faults.arm("secondary_limit", api="graphql", count=10_000, retry_after=30)
    mark = len(stage.server.requests)
    run = stage.run(**{"max-wait": "10s"})
    assert run.returncode == 1, run.stdout + run.stderr
    errors = "\n".join(commands(run, "error"))
    assert "secondary rate limit" in errors
    assert "cannot see" not in run.stdout
    assert "**Error:**" in run.summary
    assert stage.writes_since(mark) == []
    assert stage.dashboards() == []


def test_repositories_that_are_all_skipped_are_an_error_before_any_write(stage: Stage) -> None:
    mark = len(stage.server.requests)
    run = stage.run(repositories="acme/storefrnt")
    assert run.returncode == 1, run.stdout + run.stderr
    (error,) = commands(run, "error")
    assert "No repository was measured" in error
    assert "acme/storefrnt" in error
    assert stage.writes_since(mark) == []
    assert stage.dashboards() == []


@pytest.mark.parametrize("api", ["graphql", "rest"])
def test_a_retry_after_longer_than_max_wait_is_not_slept(stage: Stage, api: str) -> None:
    # The first GraphQL request estimates the run's cost; the first REST one reads the
    # history branch. Each meets an hour's retry-after once, with max-wait 0.
    method = "GET" if api == "rest" else None
    stage.server.faults.arm("secondary_limit", api=api, method=method, retry_after=3600)
    run = run_action_quickly(stage, publish="summary,history", **{"max-wait": "0"})
    assert stage.server.faults.fired[0][0] == "secondary_limit"
    if api == "rest":
        # The history branch unread: the run stops before writing it (never a first run).
        assert run.returncode == 1, run.stdout + run.stderr
        (said,) = commands(run, "error")
        assert "history branch" in said
    else:
        assert run.returncode == 0, run.stdout + run.stderr
        said = "\n".join(commands(run, "warning"))
    assert "secondary rate limit" in said
    assert "3600 s" in said


def test_a_spent_rest_limit_is_reported_as_a_rate_limit_not_a_permission(stage: Stage) -> None:
    stage.server.exhaust(stage.server.tokens[WORKFLOW_TOKEN], "rest", reset_in=3600)
    run = stage.run(publish="issue,summary")
    assert run.returncode == 1, run.stdout + run.stderr
    errors = "\n".join(commands(run, "error"))
    assert "The dashboard issue was not updated" in errors
    assert "REST rate limit is used up" in errors
    assert "issues: write" not in run.stdout
    assert stage.dashboards() == []


def run_action_quickly(stage: Stage, **overrides: str) -> Any:
    """A run that must not sit out an hour: the harness gives up after a minute."""
    from ghaction_metrics_dev.emulator.harness import run_action

    return run_action(stage.environ(**overrides), timeout=60)


# -- one client --------------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_client_imports_an_http_library_or_pygithubs_requester() -> None:
    offenders: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == CLIENT:
            continue
        for name in _imports(path):
            top = name.split(".")[0]
            # From PyGithub, only its exception types, which callers catch.
            pygithub = top == "github" and name not in (
                "github.GithubException",
                "github.GithubException.GithubException",
            )
            if top in HTTP_LIBRARIES or pygithub:
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_every_package_the_runtime_imports_is_declared() -> None:
    declared = {
        re.split(r"[=<>]", line)[0].strip().lower().replace("_", "-")
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    distributions = importlib.metadata.packages_distributions()
    undeclared: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == PACKAGE.name:
                continue
            for dist in distributions.get(top, []):
                if dist.lower().replace("_", "-") not in declared:
                    undeclared.add(f"{top} ({dist})")
    assert undeclared == set()


def _in_process(
    stage: Stage, waiter: Waiter, **overrides: str
) -> tuple[int, GitHubClients, dict[str, str]]:
    environ = stage.environ(**overrides)
    clients = connect(WORKFLOW_TOKEN, stage.server.api_url, stage.server.graphql_url, waiter=waiter)
    inputs = Inputs.from_environ(environ, HOME)
    code = run_in_process(
        inputs, RunnerEnv.from_environ(environ), clients, lambda: datetime.now(UTC)
    )
    return code, clients, environ


def test_every_request_of_a_run_goes_through_the_client(stage: Stage) -> None:
    mark = len(stage.server.requests)
    waiter = Waiter(sleep=lambda _s: None)
    code, clients, _environ = _in_process(stage, waiter, publish="summary,issue,history")
    assert code == 0
    seen = stage.server.requests[mark:]
    assert {r.kind for r in seen} == {"rest", "graphql"}
    assert any(r.method != "GET" for r in seen)
    assert clients.transport.sent == len(seen)


# (fault kind, options) or ("exhaust", {"api": ..., "reset_in": ...}): every path that waits.
WAITS: list[tuple[str, dict[str, Any]]] = [
    ("secondary_limit", {"api": "graphql", "retry_after": 3600}),
    ("secondary_limit", {"api": "graphql", "retry_after": 5, "count": 10}),
    ("secondary_limit", {"api": "graphql", "retry_after": None, "count": 3}),
    ("secondary_limit", {"api": "graphql", "status": 429, "retry_after": 700}),
    ("secondary_limit", {"api": "rest", "method": "GET", "retry_after": 3600}),
    ("secondary_limit", {"api": "rest", "method": "POST", "retry_after": 40}),
    ("secondary_limit", {"api": "rest", "method": "PATCH", "retry_after": None, "count": 3}),
    ("server_error", {"api": "graphql", "count": 5}),
    ("server_error", {"api": "rest", "method": "GET", "count": 5, "status": 503}),
    ("server_error", {"api": "rest", "method": "POST", "count": 2}),
    ("server_error", {"api": "rest", "method": "PATCH", "after_processing": True}),
    ("server_error", {"api": "rest", "method": "PUT", "count": 3}),
    ("graphql_rate_limited", {"api": "graphql", "count": 4}),
    ("partial", {"api": "graphql", "count": 4}),
    ("exhaust", {"api": "graphql", "reset_in": 3600}),
    ("exhaust", {"api": "graphql", "reset_in": 20}),
    ("exhaust", {"api": "rest", "reset_in": 3600}),
    ("exhaust", {"api": "rest", "reset_in": 20}),
]


@pytest.mark.parametrize("max_wait", [0, 600, 6 * 3600])
@pytest.mark.parametrize(("kind", "options"), WAITS)
def test_no_wait_is_longer_than_max_wait_or_the_ceiling(
    stage: Stage, max_wait: int, kind: str, options: dict[str, Any]
) -> None:
    if options.get("method") == "PATCH":
        # A first run leaves a dashboard and a branch, which the second run PATCHes.
        assert _in_process(stage, Waiter(sleep=lambda _s: None))[0] == 0
    fake = FakeTime()
    stage.server.clock = fake.clock
    if kind == "exhaust":
        token = stage.server.tokens[WORKFLOW_TOKEN]
        stage.server.exhaust(token, options["api"], reset_in=options["reset_in"])
    else:
        stage.server.faults.arm(kind, **options)  # type: ignore[arg-type]
    waiter = Waiter(RetryPolicy(max_wait=max_wait), sleep=fake.sleep, clock=fake.clock)
    text = "6h" if max_wait == 6 * 3600 else f"{max_wait}s"
    _in_process(stage, waiter, publish="summary,issue,history", **{"max-wait": text})
    assert stage.server.faults.fired or kind == "exhaust"
    assert all(0 <= s <= max_wait + 1 for s in fake.sleeps), fake.sleeps
    # Only a primary limit's reset may keep the run longer than the ceiling: max-wait says.
    if kind != "exhaust":
        assert all(s <= SECONDARY_CEILING for s in fake.sleeps), fake.sleeps


def test_a_cache_read_past_the_rest_limit_means_a_full_collection(stage: Stage) -> None:
    assert stage.run("4001", publish="history").returncode == 0
    reader = connect(WORKFLOW_TOKEN, stage.server.api_url, stage.server.graphql_url)
    tree = read_tree(reader, HOME, "metrics")
    assert tree is not None
    assert cache_path("default", HOME) in tree.files
    stage.server.exhaust(stage.server.tokens[WORKFLOW_TOKEN], "rest", reset_in=3600)
    clients = connect(
        WORKFLOW_TOKEN,
        stage.server.api_url,
        stage.server.graphql_url,
        waiter=Waiter(RetryPolicy(max_wait=0), sleep=lambda _s: None),
    )
    state, why = read_cache(clients, HOME, tree.files, "default", HOME)
    assert state is None
    assert "unreadable" in why
