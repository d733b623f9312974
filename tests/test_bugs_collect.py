"""Bug reports for the bug rate: read through the incidents' issues connection (one filter for
both label sets), kept in the collection cache, and equal on warm and cold runs.

The emulator serves the demo organisation, whose repositories have issues labelled ``bug``
(and ``bug, needs-triage``) and pull requests labelled ``bug``: only the issues count.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.api.quota import Waiter
from ghaction_metrics.collect.parallel import collect
from ghaction_metrics.collect.plan import CollectionPlan, PageSizes
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics.collect.sync import (
    OutdatedCacheError,
    cache_files,
    cache_path,
    decode_state,
    encode_state,
    read_cache,
)
from ghaction_metrics.publish.history import commit_files, read_tree
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.world import Issue, World

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
SMALL = PageSizes(pulls=10, deployments=10, releases=2, issues=10, history=50, reviews=5)


def _plan(now: datetime, labels: tuple[str, ...] = ("bug",)) -> CollectionPlan:
    return replace(thirty_days(now, pages=SMALL), bug_labels=labels)


def _clients(server_url: str, graphql_url: str) -> GitHubClients:
    return connect(WORKFLOW_TOKEN, server_url, graphql_url, waiter=Waiter(sleep=lambda _: None))


@pytest.fixture
def world() -> World:
    return generate_dataset(seed=5, now=T0).world


def _bug_issues(world: World, name: str, since: datetime) -> set[int]:
    """What the collection must hold: issues (never pull requests) with a bug label in any
    case, updated since the plan's start."""
    repo = world.repositories[name]
    return {
        i.number
        for i in repo.issues
        if not i.deleted
        and any(label.lower() == "bug" for label in i.labels)
        and i.updated_at >= since
    }


def test_bug_reports_share_the_incidents_connection_and_skip_pull_requests(
    emulator_factory: EmulatorFactory, world: World
) -> None:
    store = world.repositories["acme/storefront"]
    shouting = Issue(
        number=max(i.number for i in store.issues) + 1000,
        id=world.new_id(),
        title="Prices round the wrong way",
        body="",
        author="alice-chen",
        created_at=T0 - timedelta(days=3),
        updated_at=T0 - timedelta(days=3),
        labels=["BUG"],
    )
    store.issues.append(shouting)
    labelled_pulls = {p.number for p in store.pull_requests if "bug" in p.labels}
    assert labelled_pulls, "the demo data has pull requests labelled bug"
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)

    without = collect_repository(clients, "acme", "storefront", _plan(T0, ()), T0)
    with_bugs = collect_repository(clients, "acme", "storefront", _plan(T0), T0)

    bugs = {b.number for b in with_bugs.data.bugs}
    assert bugs == _bug_issues(world, "acme/storefront", _plan(T0).since)
    assert shouting.number in bugs  # labels match whatever their case, as incident labels do
    assert not bugs & labelled_pulls
    assert without.data.bugs == ()
    # bug-labels as a user may write it matches the repository's label "bug".
    shouted = collect_repository(clients, "acme", "storefront", _plan(T0, ("Bug",)), T0)
    assert shouted.data.bugs == with_bugs.data.bugs
    assert with_bugs.data.incidents == without.data.incidents
    # Incident and bug labels go in one filter: the bug reports fit in the same pages.
    assert with_bugs.requests == without.requests


def test_warm_run_keeps_bug_reports_and_follows_label_changes_and_deletions(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    store = world.repositories["acme/storefront"]
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    first = collect_repository(clients, "acme", "storefront", _plan(T0), T0)
    assert first.state is not None
    assert len(first.data.bugs) >= 3
    cached = decode_state(encode_state(first.state), "acme/storefront")
    assert cached.bugs == first.state.bugs

    by_number = {i.number: i for i in store.issues}
    unlabelled, deleted = (by_number[b.number] for b in first.data.bugs[:2])
    unlabelled.labels = [label for label in unlabelled.labels if label.lower() != "bug"]
    unlabelled.updated_at = T0 + timedelta(hours=1)
    deleted.deleted = True  # no update time tells of it: found by re-reading cached ids
    relabelled = next(
        i
        for i in store.issues
        if not any(label.lower() in ("bug", "incident") for label in i.labels)
        and i.created_at >= T0 - timedelta(days=20)
    )
    relabelled.labels.append("bug")
    relabelled.updated_at = T0 + timedelta(hours=2)
    world.now = T1

    caplog.set_level(logging.INFO)
    warm = collect_repository(clients, "acme", "storefront", _plan(T1), T1, cached, "test")
    cold = collect_repository(clients, "acme", "storefront", _plan(T1), T1)
    assert "incremental collection" in caplog.text
    numbers = {b.number for b in warm.data.bugs}
    assert relabelled.number in numbers
    assert not numbers & {unlabelled.number, deleted.number}
    assert warm.data == cold.data


def test_other_bug_labels_mean_a_full_collection(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    first = collect_repository(clients, "acme", "payments", _plan(T0), T0)
    assert first.state is not None
    caplog.set_level(logging.INFO)
    collect_repository(clients, "acme", "payments", _plan(T1, ("defect",)), T1, first.state, "t")
    assert "full collection: the cache was made for other settings" in caplog.text
    assert "bug-labels=defect" not in first.state.settings_key


def test_a_cache_of_the_previous_schema_is_collected_afresh_without_a_warning(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    first = collect_repository(clients, "acme", "docs", _plan(T0), T0)
    assert first.state is not None
    files = cache_files("default", first.state)
    header_path = cache_path("default", "acme/docs")
    header = json.loads(files[header_path])
    files[header_path] = (json.dumps({**header, "schema": 4}) + "\n").encode()
    with pytest.raises(OutdatedCacheError):
        decode_state(files[header_path], "acme/docs")
    commit_files(clients, "acme/storefront", "metrics", files, "a cache of schema 4")
    tree = read_tree(clients, "acme/storefront", "metrics")
    assert tree is not None
    caplog.set_level(logging.INFO)
    state, why = read_cache(clients, "acme/storefront", tree.files, "default", "acme/docs")
    assert state is None
    assert why == "the cache of an earlier version lacks what this one records"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_with_incident_repository_bugs_are_still_read_from_each_measured_repository(
    emulator_factory: EmulatorFactory, world: World
) -> None:
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    plan = replace(_plan(T0), incident_repository="acme/payments")
    outcome = collect(clients, ["acme/storefront"], plan, now=T0)
    (store,) = outcome.collection.repositories
    assert {b.number for b in store.bugs} == _bug_issues(world, "acme/storefront", plan.since)
    assert all(i.repository == "acme/payments" for i in outcome.collection.incidents)
