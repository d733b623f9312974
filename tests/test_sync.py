"""Incremental collection: a warm run from the cache equals a cold run over the same data.

The emulator serves the demo organisation; a cold collection at T0 makes the cache, GitHub
then changes in the ways that do not create new records (a late success status on an older
deployment, a draft release published, an incident label added to an old issue, pull
requests edited, closed and reopened), and at T1 a warm run from the cache and a cold run
must give exactly the same records and the same report.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.api.quota import Waiter
from ghaction_metrics.collect.baselines import bounds, prune
from ghaction_metrics.collect.parallel import collect
from ghaction_metrics.collect.plan import CollectionPlan, PageSizes
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics.collect.sync import (
    CACHE_SCHEMA,
    CacheError,
    RepoState,
    cache_files,
    cache_path,
    decode_state,
    encode_state,
    legacy_cache_path,
    read_cache,
    stale_cache_files,
)
from ghaction_metrics.inputs.windows import parse_window
from ghaction_metrics.metrics.backfill import collection_since
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, outputs
from ghaction_metrics.publish.history import commit_files, read_tree
from ghaction_metrics.records import Collection, RepositoryInfo
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.payloads import node_id
from ghaction_metrics_dev.emulator.world import (
    Deployment,
    DeploymentStatus,
    Issue,
    Release,
    Repository,
    World,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
REPOSITORIES = ("acme/storefront", "acme/mobile-app")


# Small pages, so a warm run's first page does not reach the changed records by accident:
# they must be found through update times and re-checks.
SMALL = PageSizes(pulls=10, deployments=10, releases=2, issues=10, history=50, reviews=5)


def _plan(now: datetime) -> CollectionPlan:
    return thirty_days(now, pages=SMALL)


def _clients(server_url: str, graphql_url: str) -> GitHubClients:
    return connect(WORKFLOW_TOKEN, server_url, graphql_url, waiter=Waiter(sleep=lambda _: None))


def _report_outputs(state_data: Collection, now: datetime) -> dict[str, str]:
    window = parse_window("30d").resolve(now, UTC)
    report = build_report(state_data, Settings(), window, "previous", now, "default")
    return outputs(report)


class Changes:
    """Records set up before T0 that change between T0 and T1 without new creation times."""

    def __init__(self, world: World) -> None:
        self.world = world
        store = world.repositories["acme/storefront"]
        mobile = world.repositories["acme/mobile-app"]
        self.store, self.mobile = store, mobile
        recent = [d for d in store.deployments if T0 - timedelta(days=21) < d.created_at < T0]
        base = max(recent, key=lambda d: d.created_at)
        # A production deployment still in progress at T0; its success arrives after T0.
        self.pending = Deployment(
            id=world.new_id(),
            sha=base.sha,
            ref="main",
            environment="production",
            created_at=T0 - timedelta(days=20),
            creator=base.creator,
            statuses=[
                DeploymentStatus(world.new_id(), "in_progress", T0 - timedelta(days=20)),
            ],
        )
        store.deployments.append(self.pending)
        latest = max(mobile.releases, key=lambda r: r.created_at)
        self.draft = Release(
            id=world.new_id(),
            tag_name="v99.0.0",
            name="v99.0.0",
            tag_commit=latest.tag_commit,
            created_at=T0 - timedelta(days=25),
            published_at=None,
            is_draft=True,
            author=latest.author,
        )
        mobile.releases.append(self.draft)
        self.issue = Issue(
            number=max(_numbers(store)) + 1,
            id=world.new_id(),
            title="Checkout returns 500 for some carts",
            body="",
            author="alice-chen",
            created_at=T0 - timedelta(days=4, hours=20),
            updated_at=T0 - timedelta(days=4),
            state="closed",
            closed_at=T0 - timedelta(days=4),
            labels=["bug"],
        )
        store.issues.append(self.issue)
        pulls = sorted(
            (p for p in store.pull_requests if p.updated_at < T0 - timedelta(days=15)),
            key=lambda p: p.updated_at,
        )
        self.edited = next(p for p in reversed(pulls) if p.merged_at)
        self.closed = next(p for p in reversed(pulls) if p.state == "open")
        self.reopened = next(
            p for p in reversed(pulls) if p.state == "closed" and p.merged_at is None
        )

    def apply(self) -> None:
        at = T0 + timedelta(hours=2)
        self.pending.statuses.append(DeploymentStatus(self.world.new_id(), "success", at))
        self.draft.is_draft = False
        self.draft.published_at = T0 + timedelta(hours=3)
        self.issue.labels.append("incident")
        self.issue.updated_at = T0 + timedelta(hours=4)
        self.edited.title = "Renamed: " + self.edited.title
        self.edited.labels.append("hotfix")
        self.edited.updated_at = T0 + timedelta(hours=5)
        self.closed.state = "closed"
        self.closed.closed_at = T0 + timedelta(hours=6)
        self.closed.updated_at = T0 + timedelta(hours=6)
        self.reopened.state = "open"
        self.reopened.closed_at = None
        self.reopened.updated_at = T0 + timedelta(hours=7)
        self.world.now = T1


def _split(name: str) -> tuple[str, str]:
    owner, repo = name.split("/")
    return owner, repo


def _numbers(repo: Repository) -> list[int]:
    return [i.number for i in repo.issues] + [p.number for p in repo.pull_requests]


@pytest.fixture
def world() -> World:
    return generate_dataset(seed=5, now=T0).world


def test_incremental_run_equals_cold_run_after_changes_to_old_records(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    changes = Changes(world)
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    first = {
        name: collect_repository(clients, *_split(name), _plan(T0), T0) for name in REPOSITORIES
    }
    caches: dict[str, RepoState] = {}
    for name, result in first.items():
        assert result.state is not None
        # Through bytes and back, as the cache travels through the history branch.
        caches[name] = decode_state(encode_state(result.state), name)
    changes.apply()

    caplog.set_level(logging.INFO)
    before = len(server.requests)
    warm = {
        name: collect_repository(clients, *_split(name), _plan(T1), T1, caches[name], "test")
        for name in REPOSITORIES
    }
    warm_requests = len(server.requests) - before
    cold = {
        name: collect_repository(clients, *_split(name), _plan(T1), T1) for name in REPOSITORIES
    }
    assert "incremental collection" in caplog.text
    rechecked = b"".join(r.request_body for r in server.requests[before:])
    assert node_id("Deployment", changes.pending.id).encode() in rechecked
    assert node_id("Release", changes.draft.id).encode() in rechecked
    for name in REPOSITORIES:
        assert warm[name].data == cold[name].data, name
    assert warm_requests <= 2 * len(REPOSITORIES)

    # Each change reached the records...
    store_warm = warm["acme/storefront"].data
    pending = next(d for d in store_warm.deployments if d.id == changes.pending.id)
    assert pending.succeeded_at == T0 + timedelta(hours=2)
    assert changes.issue.number in {i.number for i in store_warm.incidents}
    pulls = {p.number: p for p in store_warm.pull_requests}
    assert pulls[changes.edited.number].title.startswith("Renamed: ")
    assert pulls[changes.closed.number].state == "CLOSED"
    assert pulls[changes.reopened.number].state == "OPEN"
    release = next(r for r in warm["acme/mobile-app"].data.releases if r.tag == "v99.0.0")
    assert not release.is_draft
    # ...and the reports are the same.
    for pick in (warm, cold):
        assert all(result.state is not None for result in pick.values())
    warm_report = _report_outputs(Collection(tuple(r.data for r in warm.values()), (), 0, 0), T1)
    cold_report = _report_outputs(Collection(tuple(r.data for r in cold.values()), (), 0, 0), T1)
    assert warm_report == cold_report


def test_label_removed_from_an_incident_drops_it(
    emulator_factory: EmulatorFactory, world: World
) -> None:
    store = world.repositories["acme/storefront"]
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    first = collect_repository(clients, "acme", "storefront", _plan(T0), T0)
    assert first.state is not None
    assert first.data.incidents
    incident = first.data.incidents[-1]
    issue = next(i for i in store.issues if i.number == incident.number)
    issue.labels = [label for label in issue.labels if label != "incident"]
    issue.updated_at = T0 + timedelta(hours=1)
    cached = decode_state(encode_state(first.state), "acme/storefront")
    warm = collect_repository(clients, "acme", "storefront", _plan(T1), T1, cached, "test")
    cold = collect_repository(clients, "acme", "storefront", _plan(T1), T1)
    assert incident.number not in {i.number for i in warm.data.incidents}
    assert warm.data == cold.data


def test_a_deleted_incident_issue_is_dropped_by_the_next_run(
    emulator_factory: EmulatorFactory, world: World
) -> None:
    """Deleting an issue leaves no update time to find it by: cached incidents are re-read."""
    store = world.repositories["acme/storefront"]
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    first = collect_repository(clients, "acme", "storefront", _plan(T0), T0)
    assert first.state is not None
    incident = first.data.incidents[0]
    issue = next(i for i in store.issues if i.number == incident.number)
    issue.deleted = True
    cached = decode_state(encode_state(first.state), "acme/storefront")
    warm = collect_repository(clients, "acme", "storefront", _plan(T1), T1, cached, "test")
    cold = collect_repository(clients, "acme", "storefront", _plan(T1), T1)
    assert incident.number not in {i.number for i in warm.data.incidents}
    assert warm.data == cold.data
    assert warm.state is not None
    assert (
        incident.number not in decode_state(encode_state(warm.state), "acme/storefront").incidents
    )


def test_changed_settings_or_a_longer_window_fall_back_to_a_full_collection(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    first = collect_repository(clients, "acme", "payments", _plan(T0), T0)
    assert first.state is not None
    caplog.set_level(logging.INFO)
    relabelled = replace(_plan(T1), incident_labels=("outage",))
    collect_repository(clients, "acme", "payments", relabelled, T1, first.state, "test")
    assert "full collection: the cache was made for other settings" in caplog.text
    caplog.clear()
    longer = replace(_plan(T1), since=_plan(T1).since - timedelta(days=200))
    cached = decode_state(encode_state(first.state), "acme/payments")
    result = collect_repository(clients, "acme", "payments", longer, T1, cached, "test")
    assert "full collection instead" in caplog.text
    assert result.data == collect_repository(clients, "acme", "payments", longer, T1).data


def test_unreadable_or_missing_cache_means_full_collection_with_the_reason_logged(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    home = "acme/storefront"
    path = cache_path("default", "acme/docs")
    commit_files(clients, home, "metrics", {path: b"\x1f\x8b not really gzip"}, "broken cache")
    tree = read_tree(clients, home, "metrics")
    assert tree is not None
    caplog.set_level(logging.INFO)
    state, why = read_cache(clients, home, tree.files, "default", "acme/docs")
    assert state is None
    assert "unreadable" in why
    assert any(r.levelno == logging.WARNING and "unreadable" in r.message for r in caplog.records)
    state, why = read_cache(clients, home, tree.files, "default", "acme/payments")
    assert state is None
    assert "no cache file" in why
    assert read_cache(clients, home, None, "default", "acme/docs")[1].startswith("there is no")

    outcome = collect(
        clients,
        ["acme/docs"],
        _plan(T0),
        now=T0,
        caches=lambda name: read_cache(clients, home, tree.files, "default", name),
    )
    assert "acme/docs: full collection: the cache file" in caplog.text
    assert not outcome.collection.partial
    assert "acme/docs" in outcome.states


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"plain text",
        encode_state(RepoState(info=RepositoryInfo("acme/other", False, False, "main"))),
    ],
)
def test_decode_refuses_what_it_cannot_trust(blob: bytes) -> None:
    with pytest.raises(CacheError):
        decode_state(blob, "acme/docs")


def _cold_state(world: World, emulator_factory: EmulatorFactory, name: str) -> RepoState:
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    result = collect_repository(clients, *_split(name), _plan(T0), T0)
    assert result is not None
    assert result.state is not None
    return result.state


def test_the_cache_travels_as_weekly_parts_and_a_change_rewrites_only_its_week(
    emulator_factory: EmulatorFactory, world: World
) -> None:
    name = "acme/storefront"
    state = _cold_state(world, emulator_factory, name)
    files = cache_files("default", state)
    folder = "default/cache/v4/acme/storefront/"
    assert cache_path("default", name) == folder + "state.json"
    parts = sorted(p for p in files if p != folder + "state.json")
    assert len(parts) > 4
    assert all(p.startswith(folder) and p.endswith(".jsonl") for p in parts)
    for data in files.values():
        data.decode("utf-8")  # plain text: it rides inline in the tree request

    # One pull request of the latest week changes: that week and the header are rewritten.
    newest = max(state.pulls.values(), key=lambda p: p.created_at)
    later = replace(state, pulls={**state.pulls, newest.number: replace(newest, title="New")})
    changed = {p for p, data in cache_files("default", later).items() if files.get(p) != data}
    week = newest.created_at.date() - timedelta(days=newest.created_at.weekday())
    assert changed == {folder + "state.json", f"{folder}{week.isoformat()}.jsonl"}


def test_the_cache_is_read_back_from_the_branch_and_a_foreign_part_makes_it_unreadable(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    name = "acme/mobile-app"
    state = _cold_state(world, emulator_factory, name)
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    home = "acme/storefront"
    files = cache_files("default", state)
    commit_files(clients, home, "metrics", files, "cache")
    tree = read_tree(clients, home, "metrics")
    assert tree is not None
    read, why = read_cache(clients, home, tree.files, "default", name)
    assert read is not None, why
    assert encode_state(read) == encode_state(state)

    part = sorted(p for p in files if p.endswith(".jsonl"))[0]
    commit_files(clients, home, "metrics", {part: b"{}\n"}, "another run's part")
    tree = read_tree(clients, home, "metrics")
    assert tree is not None
    read, why = read_cache(clients, home, tree.files, "default", name)
    assert read is None
    assert "unreadable" in why
    assert "not the one the header names" in caplog.text


def test_the_one_file_cache_of_earlier_versions_is_not_read_and_then_replaced(
    emulator_factory: EmulatorFactory, world: World
) -> None:
    # Schema 2 lacks the comments and commit times pull requests now carry: a cold collection
    # once, without a request for the old file, and the next commit removes it.
    name = "acme/docs"
    state = _cold_state(world, emulator_factory, name)
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    home = "acme/storefront"
    text = encode_state(state).decode().replace(f'"schema": {CACHE_SCHEMA}', '"schema": 2', 1)
    legacy = legacy_cache_path("default", name)
    assert legacy == "default/cache/v2/acme/docs.jsonl.gz"
    dropped_week = "default/cache/v4/acme/docs/2020-01-06.jsonl"
    commit_files(
        clients,
        home,
        "metrics",
        {legacy: gzip.compress(text.encode(), mtime=0), dropped_week: b"\n"},
        "an earlier version's cache",
    )
    tree = read_tree(clients, home, "metrics")
    assert tree is not None
    mark = len(server.requests)
    read, why = read_cache(clients, home, tree.files, "default", name)
    assert read is None
    assert "earlier version" in why
    assert server.requests[mark:] == []
    # The next commit writes the folder and removes the old file and the weeks it no longer has.
    written = cache_files("default", state)
    assert stale_cache_files(tree.files, "default", written) == [legacy, dropped_week]
    assert stale_cache_files(tree.files, "default", {}) == []


def test_a_week_that_only_lost_records_past_the_coverage_keeps_its_file(
    emulator_factory: EmulatorFactory, world: World
) -> None:
    name = "acme/storefront"
    state = _cold_state(world, emulator_factory, name)
    folder = "default/cache/v4/acme/storefront/"
    before = cache_files("default", state)
    state.parts = {p.removeprefix(folder): d for p, d in before.items() if p.endswith(".jsonl")}
    # A day later the collection reaches a day less far back: the oldest records leave.
    later = replace(state, coverage={k: v + timedelta(days=1) for k, v in state.coverage.items()})
    prune(later, later.coverage)
    fresh = cache_files("default", replace(later, parts={}))
    assert [p for p in fresh if fresh[p] != before.get(p)] != [folder + "state.json"]
    after = cache_files("default", later)
    kept = [p for p in after if p.endswith(".jsonl") and after[p] == before.get(p)]
    assert len(kept) == len(after) - 1  # every week file; only the header is new
    # Reading drops the records the kept files still hold past the coverage.
    header = after[folder + "state.json"]
    parts = [after[folder + part] for part in sorted(json.loads(header)["parts"])]
    assert encode_state(decode_state(header + b"".join(parts), name)) == encode_state(later)


def test_a_folder_cache_of_an_earlier_schema_is_collected_afresh_without_a_warning(
    emulator_factory: EmulatorFactory, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # Schema 4 lacks the commit authors and trailers pull requests now carry (AI cohorts): an
    # upgrade, not damage; the folder keeps its name, so the next write replaces it in place.
    name = "acme/docs"
    state = _cold_state(world, emulator_factory, name)
    server = emulator_factory(world)
    clients = _clients(server.api_url, server.graphql_url)
    home = "acme/storefront"
    files = cache_files("default", state)
    header = cache_path("default", name)
    files[header] = files[header].replace(f'"schema": {CACHE_SCHEMA}'.encode(), b'"schema": 4', 1)
    commit_files(clients, home, "metrics", files, "an earlier version's cache")
    tree = read_tree(clients, home, "metrics")
    assert tree is not None
    caplog.set_level(logging.INFO)
    read, why = read_cache(clients, home, tree.files, "default", name)
    assert read is None
    assert "earlier version" in why
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert set(cache_files("default", state)) == set(files)


def test_a_first_run_a_warm_run_and_a_later_cold_run_count_the_same_direct_pushes(
    emulator_factory: EmulatorFactory,
) -> None:
    # Generated for a run just after midnight, acme/payments has an open pull request (#122),
    # last updated in September, whose branch took in direct pushes that deployments in the
    # window ship; GitHub names it first for them. The first run, reaching back 12 weeks
    # further for the backfill, reads it; a warm run or a later cold one does not. All three
    # must count the pushes as changes, as the truth does.
    now = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
    dataset = generate_dataset(seed=23, now=now)
    server = emulator_factory(dataset.world)
    clients = _clients(server.api_url, server.graphql_url)
    plan = thirty_days(now)
    window = parse_window("30d").resolve(now, UTC)
    first_plan = replace(plan, since=collection_since(window, timedelta(weeks=12), first_run=True))
    name = "acme/payments"
    first = collect_repository(clients, *_split(name), first_plan, now)
    assert first.state is not None
    cached = replace(first.state)
    prune(cached, bounds(cached, plan))
    cached = decode_state(encode_state(cached), name)
    warm = collect_repository(clients, *_split(name), plan, now, cached, "test")
    cold = collect_repository(clients, *_split(name), plan, now)
    # The case itself: only the first run reads the open pull request.
    read = [{p.number: p.state for p in r.data.pull_requests} for r in (first, warm, cold)]
    assert [numbers.get(122) for numbers in read] == ["OPEN", None, None]

    figures = {
        run: _report_outputs(Collection((result.data,), (), 0, 0), now)
        for run, result in (("first", first), ("warm", warm), ("cold", cold))
    }
    assert figures["warm"] == figures["first"]
    assert figures["cold"] == figures["first"]
    truth = dataset.truth.headline([name], window.since, window.until)
    assert truth.lead_time_hours is not None
    assert float(figures["warm"]["lead-time-hours"]) == pytest.approx(
        truth.lead_time_hours, abs=1e-4
    )
