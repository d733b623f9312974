"""The emulator's latency model, fault switches, rate-limit clock, ``nodes`` lookup and the
read-only pull request and deployment endpoints (contract-checked by the fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from conftest import WORKFLOW_TOKEN, EmulatorFactory
from github import Auth, Github

from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.bulk import FULL_NAME, build_world
from ghaction_metrics_dev.emulator.payloads import node_id
from ghaction_metrics_dev.emulator.server import EmulatorServer, Latency, count_nodes
from ghaction_metrics_dev.naive_collector import collect_straightforwardly

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
QUERY = "query { rateLimit { remaining } viewer { login } }"


def _post(
    server: EmulatorServer, query: str, variables: dict[str, object] | None = None
) -> requests.Response:
    return requests.post(
        server.graphql_url,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"bearer {WORKFLOW_TOKEN}"},
        timeout=10,
    )


def test_count_nodes_counts_connection_items_and_rest_list_items() -> None:
    issue: dict[str, object] = {"labels": {"nodes": [{}, {}]}}
    body: dict[str, object] = {"data": {"repository": {"issues": {"nodes": [issue, None]}}}}
    assert count_nodes(body) == 3
    assert count_nodes([{}, {}, {}]) == 3
    assert count_nodes({"id": 1}) == 1


def test_latency_is_per_request_plus_per_node_and_502_past_the_limit(
    emulator_factory: EmulatorFactory,
) -> None:
    server = emulator_factory(generate_dataset(seed=5, now=NOW).world)
    slept: list[float] = []
    server.sleep = slept.append
    server.latency = Latency(per_request=0.05, per_node=0.001, limit=10)
    query = 'query { repository(owner: "acme", name: "docs") '
    query += "{ issues(first: 5) { nodes { number } } } }"
    assert _post(server, query).status_code == 200
    assert slept == [pytest.approx(0.055)]
    server.latency = Latency(per_request=0.05, per_node=3, limit=10)
    response = _post(server, query)
    assert response.status_code == 502
    assert slept[-1] == 10


def test_fault_switches_fire_the_armed_number_of_times(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(generate_dataset(seed=5, now=NOW).world)
    server.faults.arm("server_error", api="graphql", count=2, status=503)
    assert [_post(server, QUERY).status_code for _ in range(3)] == [503, 503, 200]
    server.faults.arm("secondary_limit", api="graphql", retry_after=9)
    limited = _post(server, QUERY)
    assert limited.status_code == 403
    assert limited.headers["Retry-After"] == "9"
    server.faults.arm("graphql_rate_limited", api="graphql")
    assert _post(server, QUERY).json()["errors"][0]["type"] == "RATE_LIMITED"
    server.faults.arm("partial", api="graphql")
    partial = _post(server, QUERY).json()
    assert partial["data"]["viewer"] is None
    assert partial["errors"]


def test_a_spent_budget_refills_when_the_clock_passes_its_reset(
    emulator_factory: EmulatorFactory,
) -> None:
    server = emulator_factory(generate_dataset(seed=5, now=NOW).world)
    now = [1_800_000_000.0]
    server.clock = lambda: now[0]
    server.exhaust(server.tokens[WORKFLOW_TOKEN], "graphql", reset_in=120)
    refused = _post(server, QUERY)
    assert refused.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-RateLimit-Reset"]) == int(now[0]) + 120
    now[0] += 121
    assert _post(server, QUERY).json()["data"]["rateLimit"]["remaining"] > 900


def test_nodes_answers_null_and_not_found_for_unknown_ids(
    emulator_factory: EmulatorFactory,
) -> None:
    world = generate_dataset(seed=5, now=NOW).world
    server = emulator_factory(world)
    deployment = world.repositories["acme/payments"].deployments[0]
    ids = [node_id("Deployment", deployment.id), node_id("Deployment", 1)]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Deployment { databaseId } } }"
    answer = _post(server, query, {"ids": ids}).json()
    assert answer["data"]["nodes"] == [{"id": ids[0], "databaseId": deployment.id}, None]
    assert answer["errors"][0]["type"] == "NOT_FOUND"
    assert answer["errors"][0]["path"] == ["nodes", 1]


def test_pull_request_and_deployment_endpoints_serve_the_straightforward_collector(
    emulator_factory: EmulatorFactory,
) -> None:
    bulk = build_world(NOW, pulls=60, days=30, deployments=20, incidents=3, other_issues=2)
    server = emulator_factory(bulk.world)
    repo = bulk.world.repositories[FULL_NAME]
    since = datetime(2026, 5, 20, tzinfo=UTC)
    counts = collect_straightforwardly(WORKFLOW_TOKEN, server.api_url, FULL_NAME, since)
    expected = [p for p in repo.pull_requests if p.updated_at >= since]
    assert counts.pull_requests == len(expected)
    assert counts.reviews == sum(len(p.reviews) for p in expected)
    assert counts.commits == sum(len(p.commits) for p in expected)
    assert counts.lines_changed == sum(p.additions + p.deletions for p in expected)
    deployments = [d for d in repo.deployments if d.created_at >= since]
    assert counts.deployments == len(deployments)
    assert counts.statuses == sum(len(d.statuses) for d in deployments)
    paths = {r.path.rsplit("/", 1)[-1] for r in server.requests}
    assert {"pulls", "reviews", "commits", "deployments", "statuses"} <= paths
    github = Github(auth=Auth.Token(WORKFLOW_TOKEN), base_url=server.api_url)
    pull = github.get_repo(FULL_NAME).get_pull(expected[0].number)
    assert pull.additions == expected[0].additions
