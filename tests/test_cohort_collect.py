"""What the AI-assisted cohorts need is read with the pull requests' commits, at no extra
cost: each commit's author and its ``Co-authored-by:`` trailers, on the first page of commits
and on the pages read after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from ghaction_metrics.api.client import connect
from ghaction_metrics.collect import queries
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.graphql_api import Analysis, analyse, schema
from ghaction_metrics_dev.emulator.world import Commit, User

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
AGENT = "copilot-swe-agent[bot]"
AGENT_EMAIL = "198982749+Copilot@users.noreply.github.com"


def test_commit_authors_and_trailers_are_kept_as_identities(
    emulator_factory: EmulatorFactory,
) -> None:
    world = generate_dataset(seed=5, now=NOW).world
    world.users[AGENT] = User(AGENT, 198982749, type="Bot", commit_email=AGENT_EMAIL)
    repo = world.repositories["acme/payments"]
    pull = max(repo.pull_requests, key=lambda p: p.updated_at)
    start = pull.created_at - timedelta(days=1)
    # 130 commits: the agent's and the trailer sit on the second page of commits only.
    oids = []
    for n in range(130):
        oid = f"{n:040x}"
        author, message = "kpatel", f"step {n}"
        if n == 120:
            author = AGENT
            message = (
                "Fix the rounding\n\nCo-authored-by: kpatel <77+kpatel@users.noreply.github.com>"
            )
        if n == 125:
            message = "Tidy\n\nco-authored-by: Copilot <" + AGENT_EMAIL + ">\n"
        repo.commits[oid] = Commit(oid, message, start, start + timedelta(minutes=n), author)
        oids.append(oid)
    pull.commits = oids
    server = emulator_factory(world)
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    result = collect_repository(clients, "acme", "payments", thirty_days(NOW), NOW)
    collected = next(p for p in result.data.pull_requests if p.number == pull.number)
    kpatel = next(u for u in world.users.values() if u.login == "kpatel")
    assert collected.commit_authors == (
        "kpatel",
        f"{kpatel.id}+kpatel@users.noreply.github.com",
        "copilot-swe-agent",
        AGENT_EMAIL.lower(),
    )
    assert collected.co_authors == (
        "kpatel <77+kpatel@users.noreply.github.com>",
        f"Copilot <{AGENT_EMAIL}>",
    )


def _analysis(document: str, variables: dict[str, Any]) -> Analysis:
    """What the emulator, which follows GitHub's published formula, counts for a document."""
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return analyse(schema(), operation, fragments, variables)


COLLECT_VARIABLES: dict[str, Any] = {
    "owner": "acme",
    "name": "app",
    "reviewsFirst": 50,
    **{name: True for name in ("pulls", "deployments", "releases", "issues", "history")},
    "recheck": False,
    "recheckIds": [],
    **{f"{name}First": 100 for name in ("pulls", "deployments", "releases", "issues", "history")},
}
OVERFLOW_VARIABLES: dict[str, Any] = {
    "id": "PR_1",
    "after": None,
    "reviews": False,
    "ready": False,
    "commits": True,
    "statuses": False,
}


def test_commit_authors_and_messages_add_no_points_and_no_nodes() -> None:
    # Scalars inside the commits connection read anyway: GitHub charges connections, so a
    # page of 100 pull requests costs what it cost when only the authored time was read.
    before_fields = queries.PULL_COMMIT_FIELDS.replace(
        "  author { name email user { login } }\n  message\n", ""
    )
    assert before_fields != queries.PULL_COMMIT_FIELDS
    for document, variables in (
        (queries.COLLECT, COLLECT_VARIABLES),
        (queries.OVERFLOW, OVERFLOW_VARIABLES),
    ):
        before = document.replace(queries.PULL_COMMIT_FIELDS, before_fields)
        now, then = _analysis(document, variables), _analysis(before, variables)
        assert (now.cost, now.nodes) == (then.cost, then.nodes)
    first = {name: 100 for name in ("pulls", "deployments", "releases", "issues", "history")}
    assert _analysis(queries.COLLECT, COLLECT_VARIABLES).cost == queries.page_points(first)
