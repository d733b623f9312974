"""Collection under GitHub's failure modes, driven through the emulator's fault switches.

Each recoverable fault (5xx burst, a slow answer past the client's timeout, a secondary limit
with retry-after, a GraphQL RATE_LIMITED error, errors beside partial data, a spent primary
limit that resets within max-wait) must end in exactly the records of an undisturbed run;
a primary limit that resets too late must end in a report marked partial. Sleeps go to a
fake clock, so nothing here waits for real (except urllib3's one-second REST retry).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory

from ghaction_metrics.api.client import GitHubClients, GraphQLError, connect
from ghaction_metrics.api.quota import RetryPolicy, Waiter
from ghaction_metrics.collect import queries
from ghaction_metrics.collect.parallel import collect
from ghaction_metrics.collect.plan import CollectionPlan, PageSizes
from ghaction_metrics.inputs.windows import parse_window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, outputs
from ghaction_metrics.publish.history import commit_files, read_tree
from ghaction_metrics.records import RepositoryData
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.harness import WORKFLOW_TOKEN as HARNESS_TOKEN
from ghaction_metrics_dev.emulator.harness import run_action, runner_environment, workflow_tokens
from ghaction_metrics_dev.emulator.server import EmulatorServer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NAMES = ["acme/payments", "acme/docs"]


class FakeTime:
    """One clock for the emulator's rate-limit windows and the client's waits."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _plan() -> CollectionPlan:
    return thirty_days(NOW, pages=PageSizes(pulls=50, deployments=50, history=50))


def _setup(
    factory: EmulatorFactory, max_wait: float = 600, timeout: float = 15
) -> tuple[EmulatorServer, GitHubClients, FakeTime]:
    fake = FakeTime()
    server = factory(generate_dataset(seed=5, now=NOW).world)
    # Only the emulator's rate-limit clock is fake; its answers keep their real (zero) latency.
    server.clock = fake.clock
    waiter = Waiter(RetryPolicy(max_wait=max_wait), sleep=fake.sleep, clock=fake.clock)
    clients = connect(
        WORKFLOW_TOKEN, server.api_url, server.graphql_url, waiter=waiter, timeout=timeout
    )
    return server, clients, fake


def _undisturbed(clients: GitHubClients) -> tuple[RepositoryData, ...]:
    outcome = collect(clients, NAMES, _plan(), now=NOW)
    assert not outcome.collection.partial
    return outcome.collection.repositories


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("server_error", {"count": 3, "status": 502}),
        ("server_error", {"count": 2, "status": 503}),
        ("timeout", {"count": 1, "delay": 3.0}),
        ("secondary_limit", {"count": 2, "retry_after": 7}),
        ("secondary_limit", {"count": 1, "status": 429, "retry_after": 3}),
        ("graphql_rate_limited", {"count": 2}),
        ("partial", {"count": 2}),
    ],
)
def test_recoverable_faults_end_in_the_complete_records(
    emulator_factory: EmulatorFactory, kind: Any, options: dict[str, Any]
) -> None:
    # A short client timeout only where the slow answer is the fault: on a busy machine an
    # undisturbed page can take longer than a fraction of a second, and would be retried as
    # if it were one.
    server, clients, fake = _setup(emulator_factory, timeout=2.0 if kind == "timeout" else 15)
    undisturbed = _undisturbed(clients)
    server.faults.arm(kind, api="graphql", **options)
    outcome = collect(clients, NAMES, _plan(), now=NOW)
    assert [f[0] for f in server.faults.fired] == [kind] * options["count"]
    assert not outcome.collection.partial
    assert outcome.collection.repositories == undisturbed
    if "retry_after" in options:
        assert min(fake.sleeps) >= options["retry_after"]


def test_a_spent_primary_limit_is_waited_out_within_max_wait(
    emulator_factory: EmulatorFactory,
) -> None:
    server, clients, fake = _setup(emulator_factory, max_wait=600)
    undisturbed = _undisturbed(clients)
    token = server.tokens[WORKFLOW_TOKEN]
    server.exhaust(token, "graphql", reset_in=300)
    outcome = collect(clients, NAMES, _plan(), now=NOW)
    assert not outcome.collection.partial
    assert outcome.collection.repositories == undisturbed
    assert 300 <= sum(fake.sleeps) <= 302


def test_a_primary_limit_resetting_after_max_wait_gives_a_partial_report(
    emulator_factory: EmulatorFactory,
) -> None:
    server, clients, fake = _setup(emulator_factory, max_wait=600)
    undisturbed = _undisturbed(clients)
    token = server.tokens[WORKFLOW_TOKEN]
    bucket = server.graphql_bucket(token)
    # Enough for the first repository and the first page of the second, not more.
    bucket.remaining = 40
    bucket.reset = int(fake.now) + 3000
    outcome = collect(clients, [*NAMES, "acme/storefront"], _plan(), now=NOW)
    collection = outcome.collection
    assert collection.partial
    assert collection.repositories[0] == undisturbed[0]
    assert "acme/payments" in outcome.states
    assert "acme/storefront" not in outcome.states  # a cut collection is not cached
    assert any("not collected" in s.reason for s in collection.skipped) or any(
        "stopped early" in note for repo in collection.repositories for note in repo.notes
    )
    # Two short retries in case the refusal was a burst; no wait for the far reset.
    assert sum(fake.sleeps) < 10
    window = parse_window("30d").resolve(NOW, UTC)
    report = build_report(collection, Settings(), window, "previous", NOW, "default")
    assert report.partial
    assert outputs(report)["partial"] == "true"


def test_max_wait_zero_never_waits(emulator_factory: EmulatorFactory) -> None:
    server, clients, fake = _setup(emulator_factory, max_wait=0)
    server.exhaust(server.tokens[WORKFLOW_TOKEN], "graphql", reset_in=5)
    outcome = collect(clients, NAMES, _plan(), now=NOW)
    assert outcome.collection.partial
    assert fake.sleeps == []


def test_a_mutation_is_not_retried_after_a_failure_that_may_have_applied_it(
    emulator_factory: EmulatorFactory,
) -> None:
    server, clients, _fake = _setup(emulator_factory)
    world = server.world
    issue = world.repositories["acme/docs"].issues[0]
    from ghaction_metrics_dev.emulator.payloads import node_id

    server.faults.arm("server_error", api="graphql", after_processing=True)
    before = len(server.requests)
    with pytest.raises(GraphQLError):
        clients.graphql(queries.PIN_ISSUE, {"issueId": node_id("Issue", issue.id)})
    assert len(server.requests) - before == 1
    assert issue.pinned  # it did land: a blind retry would have repeated it


def test_rest_reads_retry_a_secondary_limit(emulator_factory: EmulatorFactory) -> None:
    server, clients, _fake = _setup(emulator_factory)
    commit_files(clients, "acme/docs", "metrics", {"a.txt": b"a"}, "one file")
    server.faults.arm("secondary_limit", api="rest", retry_after=1)
    tree = read_tree(clients, "acme/docs", "metrics")
    assert tree is not None
    assert "a.txt" in tree.files
    assert server.faults.fired[0][0] == "secondary_limit"


def test_the_whole_action_marks_a_partial_report_in_summary_comment_and_output(
    tmp_path: Path,
) -> None:
    dataset = generate_dataset(seed=5, now=datetime.now(UTC).replace(microsecond=0))
    home = dataset.home_repository
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        token = server.tokens[HARNESS_TOKEN]
        bucket = server.graphql_bucket(token)
        # Enough for acme/docs and one page of the home repository, then the dashboard's own
        # two queries; the reset is an hour away, past max-wait.
        bucket.remaining = 21
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=home,
            workspace=tmp_path / "workspace",
            overrides={"repositories": f"acme/docs,{home}", "max-wait": "1m"},
        )
        run = run_action(env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["partial"] == "true"
    assert "partial" in run.summary.lower()
    repo = dataset.world.repositories[home]
    comments = [
        c.body for i in repo.issues for c in i.comments if "ghaction-metrics:report" in c.body
    ]
    assert len(comments) == 1
    assert "partial" in comments[0].lower()
    assert "collection stopped early" in run.stdout
