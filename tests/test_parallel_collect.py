"""Several repositories collected at once: the same records as one at a time, an estimate of
the run's cost before collecting, one at a time when that estimate does not fit, log groups
that stay whole, and shared waits for a rate-limit reset counted once."""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.api.quota import QuotaExhaustedError, RetryPolicy, Waiter
from ghaction_metrics.collect import parallel, queries
from ghaction_metrics.collect.estimate import Reach, estimate_run
from ghaction_metrics.collect.parallel import collect
from ghaction_metrics.collect.plan import CollectionPlan, read_connections
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics.workflow_commands import ParallelLog, setup_logging
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.graphql_api import analyse, schema

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NAMES = ["acme/storefront", "acme/payments", "acme/docs", "acme/mobile-app"]


def _plan(source: str = "auto") -> CollectionPlan:
    return thirty_days(NOW, source)


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The log as the runner reads it: lines and group commands on one stream.

    Yields before redirecting stdout: pytest's capture sets it afresh when the test starts.
    """
    stream = io.StringIO()
    handler = setup_logging(stream, logging.INFO)
    yield stream
    logging.getLogger().removeHandler(handler)


def _into(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> io.StringIO:
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


def _cost(document: str, variables: dict[str, Any]) -> int:
    """What the emulator, which follows GitHub's published formula, charges for a document."""
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return analyse(schema(), operation, fragments, variables).cost


@pytest.mark.parametrize("source", ["auto", "deployments", "releases", "merges"])
def test_page_points_is_what_github_charges_for_a_collect_page(source: str) -> None:
    first = read_connections(_plan(source))
    switches = {name: name in first for name in ("pulls", "deployments", "releases")}
    variables: dict[str, Any] = {
        "owner": "acme",
        "name": "app",
        "reviewsFirst": 50,
        **switches,
        "issues": True,
        "history": True,
        "recheck": False,
        "recheckIds": [],
        **{f"{name}First": 100 for name in ("pulls", "deployments", "releases", "issues")},
        "historyFirst": 100,
    }
    assert queries.page_points(first) == _cost(queries.COLLECT, variables)


def test_the_sizes_query_costs_one_point_for_fifty_repositories() -> None:
    variables: dict[str, Any] = {"labels": ["incident"], "since": None, "historySince": None}
    for index in range(queries.SIZES_BATCH):
        variables[f"o{index}"], variables[f"n{index}"] = "acme", f"repo{index}"
    assert _cost(queries.sizes_query(queries.SIZES_BATCH), variables) == 1


def test_parallel_collection_keeps_exactly_the_records_of_one_at_a_time(
    emulator_factory: EmulatorFactory, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _into(monkeypatch, log_lines)
    server = emulator_factory(generate_dataset(seed=5, now=NOW, profile="demo").world)
    plan = _plan()

    def run(workers: int) -> Any:
        clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
        return collect(clients, NAMES, plan, now=NOW, workers=workers)

    one, three = run(1), run(3)
    assert three.collection.repositories == one.collection.repositories
    assert [r.info.full_name for r in three.collection.repositories] == NAMES  # given order
    assert three.states.keys() == one.states.keys()
    assert not three.collection.partial
    log = log_lines.getvalue()
    assert "Collecting 4 repositories, 3 at a time" in log
    assert "Estimated cost: about" in log


def test_each_repository_logs_in_one_whole_group(
    emulator_factory: EmulatorFactory, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _into(monkeypatch, log_lines)
    server = emulator_factory(generate_dataset(seed=5, now=NOW, profile="demo").world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    collect(clients, NAMES, _plan(), now=NOW, workers=4)
    lines = log_lines.getvalue().splitlines()
    opened = [i for i, line in enumerate(lines) if line.startswith("::group::Collected")]
    assert len(opened) == len(NAMES)
    for start in opened:
        name = lines[start].split()[1]
        end = lines.index("::endgroup::", start)
        body = lines[start + 1 : end]
        assert body, f"{name}: an empty group"
        # Every line of a group is its own repository's: nothing interleaved.
        assert all(line.startswith(f"{name}:") for line in body), body


def _estimating(factory: EmulatorFactory) -> tuple[GitHubClients, CollectionPlan, Reach]:
    server = factory(generate_dataset(seed=5, now=NOW, profile="demo").world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    plan = _plan()
    return clients, plan, Reach(read_connections(plan), plan.since, plan.since, ("incident",))


def test_the_estimate_is_close_to_what_cold_collection_takes(
    emulator_factory: EmulatorFactory,
) -> None:
    clients, plan, reach = _estimating(emulator_factory)
    estimate = estimate_run(clients, NAMES, reach, NOW, lambda _name: False)
    assert clients.cost.queries == 1  # one query for all four repositories
    assert estimate.remaining is not None
    outcome = collect(clients, NAMES, plan, now=NOW, workers=1)
    pages = outcome.collection.requests - 1  # without the estimate's own query
    # Pages are estimated from counts, some of them spread over the repository's life.
    assert pages / 2 <= estimate.pages <= pages * 2
    assert outcome.collection.graphql_points - 1 <= estimate.points


def test_a_cached_repository_is_estimated_at_one_page_without_asking(
    emulator_factory: EmulatorFactory,
) -> None:
    clients, _, reach = _estimating(emulator_factory)
    estimate = estimate_run(clients, NAMES[:2], reach, NOW, lambda _name: True)
    assert clients.cost.queries == 0
    assert [r.pages for r in estimate.repositories] == [1, 1]


def test_a_run_that_may_not_fit_is_collected_one_repository_at_a_time(
    emulator_factory: EmulatorFactory, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _into(monkeypatch, log_lines)
    server = emulator_factory(generate_dataset(seed=5, now=NOW, profile="demo").world)
    server.graphql_bucket(server.tokens[WORKFLOW_TOKEN]).remaining = 40
    clients = connect(
        WORKFLOW_TOKEN,
        server.api_url,
        server.graphql_url,
        waiter=Waiter(RetryPolicy(max_wait=0), sleep=lambda _s: None),
    )
    outcome = collect(clients, NAMES, _plan(), now=NOW, workers=3)
    log = log_lines.getvalue()
    assert "collecting one repository at a time" in log
    assert "at a time\n" not in log.replace("one repository at a time;", "")
    collection = outcome.collection
    assert collection.partial
    # Whole repositories first, in order; the one the limit cut is marked, the rest not begun.
    collected = [r.info.full_name for r in collection.repositories]
    cut = [r.info.full_name for r in collection.repositories if r.notes]
    assert len(cut) == 1
    assert collected == NAMES[: NAMES.index(cut[0]) + 1]
    assert [s.full_name for s in collection.skipped] == NAMES[len(collected) :]
    assert all("rate limit ran out before its turn" in s.reason for s in collection.skipped)
    assert collected[-1] not in outcome.states  # a cut repository is not cached


def test_threads_waiting_for_the_same_reset_count_it_once() -> None:
    slept: list[float] = []
    waiter = Waiter(RetryPolicy(max_wait=100), sleep=slept.append, clock=lambda: 1000.0)
    errors: list[Exception] = []

    def wait() -> None:
        try:
            waiter.wait_for_reset("GraphQL", 1060.0)
        except QuotaExhaustedError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wait) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []  # three waits of 61 s, one wall-clock wait: within max-wait 100
    assert slept == [61.0, 61.0, 61.0]
    assert waiter.waited_for_reset == 61.0
    with pytest.raises(QuotaExhaustedError):
        waiter.wait_for_reset("GraphQL", 1100.0)  # 40 s beyond the first wait: 101 s in all


def test_held_back_lines_keep_warnings_immediate(
    log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _into(monkeypatch, log_lines)
    log = logging.getLogger("ghaction_metrics.test")
    with ParallelLog() as parallel:
        held: list[logging.LogRecord] = []

        def work() -> None:
            with parallel.capture() as lines:
                log.info("acme/app: working")
                log.warning("acme/app: waiting for the reset")
            held.extend(lines)

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        assert log_lines.getvalue() == "::warning::acme/app: waiting for the reset\n"
        log.info("the main thread is not held back")
        parallel.show("Collected acme/app (1/1)", held)
    assert log_lines.getvalue().splitlines()[1:] == [
        "the main thread is not held back",
        "::group::Collected acme/app (1/1)",
        "acme/app: working",
        "::endgroup::",
    ]


def test_a_repository_that_fails_fails_the_run_after_its_lines(
    emulator_factory: EmulatorFactory, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _into(monkeypatch, log_lines)
    server = emulator_factory(generate_dataset(seed=5, now=NOW, profile="demo").world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    original = collect_repository

    def failing(clients: Any, owner: str, name: str, *args: Any) -> Any:
        if name == "docs":
            logging.getLogger(parallel.__name__).info("acme/docs: about to fail")
            raise RuntimeError("an answer nobody expected")
        return original(clients, owner, name, *args)

    monkeypatch.setattr(parallel, "collect_repository", failing)
    with pytest.raises(RuntimeError, match="nobody expected"):
        collect(clients, NAMES, _plan(), now=NOW, workers=2)
    lines = log_lines.getvalue().splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.startswith("::group::Collected acme/docs")
    )
    assert lines[start + 1 : start + 3] == ["acme/docs: about to fail", "::endgroup::"]


def test_after_a_secondary_limit_the_rest_are_collected_one_at_a_time(
    emulator_factory: EmulatorFactory, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    _into(monkeypatch, log_lines)
    server = emulator_factory(generate_dataset(seed=5, now=NOW, profile="demo").world)
    clients = connect(
        WORKFLOW_TOKEN,
        server.api_url,
        server.graphql_url,
        waiter=Waiter(sleep=lambda _s: None),
    )
    undisturbed = collect(clients, NAMES, _plan(), now=NOW, workers=1).collection
    # The estimate's query and then one collection query are told to slow down.
    server.faults.arm("secondary_limit", api="graphql", count=2, retry_after=1)
    collection = collect(clients, NAMES, _plan(), now=NOW, workers=2).collection
    assert collection.repositories == undisturbed.repositories
    assert "collected one at a time" in log_lines.getvalue()
