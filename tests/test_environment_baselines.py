"""Every production environment has its own baseline (SPEC §5, "What a deployment ships").

One repository (``acme/app``) deploys to two production environments; days are counted from
the collection's first period start S (the previous 30-day window's start):

- c0, c1, c2: direct pushes at S-40d, S-25d and S-21d; c3, c4: direct pushes at S+1d, S+31d.
- ``production-eu`` deployed c2 at S-20d (its baseline), then c4 at S+33d.
- ``production`` deployed c2 every day from S-12d to S-1d (its baseline is S-1d's), then c3 at
  S+2d and c4 at S+32d.

Read newest first in pages of five deployments, ``production``'s baseline is found long before
``production-eu``'s. Without ``production-eu``'s own baseline its deployment of c4 would ship
c1 and c2 again (all history read); with it, it ships c3 and c4 only.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory

from ghaction_metrics.api.client import connect
from ghaction_metrics.collect.plan import CollectionPlan, PageSizes
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.dora import repository_dora
from ghaction_metrics_dev.emulator.world import (
    Commit,
    Deployment,
    DeploymentStatus,
    Repository,
    User,
    World,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ENVIRONMENTS = ("production", "production-eu")
EU_BASELINE = 7020


def _oid(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _plan() -> CollectionPlan:
    plan = thirty_days(NOW, "deployments", pages=PageSizes(deployments=5))
    return replace(plan, production_environments=ENVIRONMENTS)


def _world(start: datetime) -> World:
    world = World(now=NOW)
    for user in (User("acme", 1, "Organization"), User("alice", 2), User("deployer", 3)):
        world.users[user.login] = user
    repo = Repository(owner="acme", name="app", id=500, created_at=NOW - timedelta(days=400))
    world.repositories["acme/app"] = repo

    def at(days: float) -> datetime:
        return start + timedelta(days=days)

    parent: list[str] = []
    oids: dict[str, str] = {}
    for name, days in (("c0", -40), ("c1", -25), ("c2", -21), ("c3", 1), ("c4", 31)):
        oid = _oid(name)
        repo.commits[oid] = Commit(oid, f"Change {name}", at(days), at(days), "alice", parent)
        oids[name] = oid
        parent = [oid]
    repo.refs["heads/main"] = oids["c4"]

    def deploy(ident: int, environment: str, sha: str, days: float) -> Deployment:
        success = DeploymentStatus(ident * 10, "success", at(days) + timedelta(minutes=5))
        return Deployment(ident, sha, "main", environment, at(days), "deployer", [success])

    repo.deployments = [
        deploy(EU_BASELINE, "production-eu", oids["c2"], -20),
        *(deploy(7100 + n, "production", oids["c2"], -12 + n) for n in range(12)),
        deploy(7200, "production", oids["c3"], 2),
        deploy(7201, "production", oids["c4"], 32),
        deploy(7300, "production-eu", oids["c4"], 33),
    ]
    return world


def test_each_production_environment_is_read_back_to_its_own_baseline(
    emulator_factory: EmulatorFactory,
) -> None:
    plan = _plan()
    server = emulator_factory(_world(plan.since))
    clients = connect(WORKFLOW_TOKEN, server.api_url, server.graphql_url)
    result = collect_repository(clients, "acme", "app", plan, NOW)
    settings = Settings(deployment_source="deployments", production_environments=ENVIRONMENTS)
    dora = repository_dora(
        result.data, settings, "deployments", Window(plan.since, plan.until), (), NOW
    )
    ships = {o.key: o.ships for o in dora.outcomes}
    c3, c4 = (f"commit:{_oid(name)}" for name in ("c3", "c4"))
    assert ships["deployment 7200"] == (c3,)
    assert ships["deployment 7201"] == (c4,)
    assert sorted(ships["deployment 7300"]) == sorted((c3, c4))
    assert EU_BASELINE in {d.id for d in result.data.deployments}
    # A warm run starts from the kept state and keeps the baseline.
    assert result.state is not None
    warm = collect_repository(clients, "acme", "app", plan, NOW, cached=result.state)
    assert EU_BASELINE in {d.id for d in warm.data.deployments}
