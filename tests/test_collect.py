"""The collector's economy and completeness against the emulator: requests per page, nested
connections completed with follow-up queries, connections left out of a page not charged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory

from ghaction_metrics.api.client import connect
from ghaction_metrics.api.quota import Waiter
from ghaction_metrics.collect.parallel import collect
from ghaction_metrics.collect.plan import CollectionPlan, PageSizes
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.world import Commit, DeploymentStatus, IssueComment, Review

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _plan(pages: PageSizes | None = None) -> CollectionPlan:
    return thirty_days(NOW, pages=pages)


def test_nested_connections_that_overflow_are_completed(emulator_factory: EmulatorFactory) -> None:
    world = generate_dataset(seed=5, now=NOW).world
    repo = world.repositories["acme/payments"]
    pull = max(repo.pull_requests, key=lambda p: p.updated_at)
    start = pull.created_at
    pull.reviews = [
        Review(world.new_id(), "alice-chen", "COMMENTED", start + timedelta(minutes=n))
        for n in range(130)
    ]
    pull.ready_for_review_at = [start + timedelta(seconds=n) for n in range(40)]
    # Comments share the timeline connection with the ready events: 40 + 20 fill more than
    # the first page of 50.
    pull.comments = [
        IssueComment(world.new_id(), "bmartinez", "?", start + timedelta(hours=1, seconds=n), start)
        for n in range(20)
    ]
    deployment = max(repo.deployments, key=lambda d: d.created_at)
    deployment.statuses = [
        DeploymentStatus(world.new_id(), "queued", deployment.created_at + timedelta(seconds=n))
        for n in range(23)
    ] + [DeploymentStatus(world.new_id(), "success", deployment.created_at - timedelta(minutes=1))]
    server = emulator_factory(world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    result = collect_repository(clients, "acme", "payments", _plan(), NOW)
    collected = next(p for p in result.data.pull_requests if p.number == pull.number)
    assert len(collected.reviews) == 130
    assert collected.review_count == 130
    assert len(collected.ready_for_review_at) == 40
    assert [c.author.login for c in collected.comments] == ["bmartinez"] * 20
    found = next(d for d in result.data.deployments if d.id == deployment.id)
    assert len(found.statuses) == 24
    # The success status is the oldest, so it sat on the overflow page.
    assert found.succeeded_at == deployment.created_at - timedelta(minutes=1)
    overflow = [r for r in server.requests if b"query Overflow" in r.request_body]
    # One each: the 80 reviews after the first 50, the timeline items after 50, the statuses
    # after 10.
    assert len(overflow) == 3
    assert not result.data.notes


def test_a_pull_request_starts_at_the_earliest_authored_of_all_its_commits(
    emulator_factory: EmulatorFactory,
) -> None:
    world = generate_dataset(seed=5, now=NOW).world
    repo = world.repositories["acme/payments"]
    pull = max(repo.pull_requests, key=lambda p: p.updated_at)
    start = pull.created_at - timedelta(days=1)
    # 120 commits, listed oldest committed first; the earliest authored is the 110th, on
    # the second page, and the first listed was authored last.
    oids = []
    for n in range(120):
        authored = start - timedelta(days=3) if n == 109 else start + timedelta(minutes=n)
        if n == 0:
            authored = start + timedelta(hours=5)
        oid = f"{n:040x}"
        repo.commits[oid] = Commit(oid, f"step {n}", authored, start + timedelta(hours=6), "kpatel")
        oids.append(oid)
    pull.commits = oids
    server = emulator_factory(world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    result = collect_repository(clients, "acme", "payments", _plan(), NOW)
    collected = next(p for p in result.data.pull_requests if p.number == pull.number)
    assert collected.commit_count == 120
    assert collected.first_commit_at == start - timedelta(days=3)


def test_one_request_per_page_for_all_connections_together(
    emulator_factory: EmulatorFactory,
) -> None:
    world = generate_dataset(seed=5, now=NOW).world
    server = emulator_factory(world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    outcome = collect(clients, ["acme/storefront"], _plan(), now=NOW)
    data = outcome.collection.repositories[0]
    graphql = [r for r in server.requests if r.kind == "graphql"]
    # The fewest pages any collector needs: one per 100 items of each top-level connection.
    minimum = sum(
        -(-count // 100)
        for count in (
            len(data.pull_requests),
            len(data.deployments),
            len(data.commits),
            len(data.incidents),
        )
    )
    assert len(graphql) <= minimum
    assert outcome.collection.requests == len(graphql)
    assert outcome.collection.graphql_points == sum(r.graphql_cost or 0 for r in graphql)


def test_connections_left_out_of_a_page_are_not_charged(emulator_factory: EmulatorFactory) -> None:
    world = generate_dataset(seed=5, now=NOW).world
    server = emulator_factory(world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url, waiter=Waiter())
    # docs has no deployments or releases: with source "merges" only pull requests, issues and
    # the default-branch history (per-person commits) are read, and the page costs what those
    # three cost.
    plan = _plan()
    merges = CollectionPlan(**{**plan.__dict__, "deployment_source": "merges"})
    collect_repository(clients, "acme", "docs", merges, NOW)
    costs = [r.graphql_cost for r in server.requests if r.kind == "graphql"]
    body = json.loads(server.requests[-1].request_body)
    assert body["variables"]["deployments"] is False
    assert body["variables"]["releases"] is False
    # pullRequests (1) + 100 x (labels, commits, reviews, timeline) + issues (1) + 100 labels
    # + history (1) + 100 x (parents, associatedPullRequests) = 703 requests: 7 points
    assert costs[0] == 7
