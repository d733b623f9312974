"""The situations Apache DevLake's DORA end-to-end tests cover (change lead time and its
stages, previous-deployment chains per environment, incidents linked to deployments),
re-created with our own records and our definitions (SPEC §5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from metric_records import BOB, T0, commit, deployment, incident, linear
from metric_records import pull as make_pull
from metric_records import repo as make_repo
from metric_records import review as rv

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.dora import RepositoryDora, repository_dora
from ghaction_metrics.metrics.pulls import pull_request_metrics
from ghaction_metrics.records import RepositoryData

WINDOW = Window(T0, T0 + timedelta(days=10))
NOW = T0 + timedelta(days=20)
TWO_REGIONS = Settings(production_environments=("prod-us", "prod-eu"))


def dora(data: RepositoryData, settings: Settings | None = None) -> RepositoryDora:
    return repository_dora(data, settings or Settings(), "deployments", WINDOW, data.incidents, NOW)


def test_change_lead_time_is_the_sum_of_its_stages() -> None:
    # first commit 0 h; opened 2 h (coding 2); first review 5 h (pickup 3); approved 9 h
    # (review 4); merged 10 h (merge 1); deployed 16 h (deploy 6). Lead time 16 = 2+3+4+1+6.
    pr = make_pull(1, 2, 10, 0, reviews=(rv(BOB, "COMMENTED", 5), rv(BOB, "APPROVED", 9)))
    data = make_repo([pr], linear(("m1", 1)), [deployment(1, "base", -50), deployment(2, "m1", 16)])
    pulls = pull_request_metrics([data], Settings(), WINDOW)
    result = dora(data)
    stages = [
        pulls.coding_time.median,
        pulls.pickup_time.median,
        pulls.review_time.median,
        pulls.merge_time.median,
        result.deploy_time.median,
    ]
    assert stages == [2, 3, 4, 1, 6]
    assert result.lead_times == (16.0,)
    assert sum(s for s in stages if s is not None) == result.lead_times[0]


def test_changes_not_deployed_to_production_have_no_lead_time() -> None:
    # PR 1 is deployed; PR 2 only reached staging; PR 3 was merged after the last deployment.
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0), make_pull(3, 0, 30, 0)]
    commits = linear(("m1", 1), ("m2", 2), ("m3", 3))
    deployments = [
        deployment(1, "base", -50),
        deployment(2, "m1", 2),
        deployment(3, "m2", 4, env="staging"),
    ]
    result = dora(make_repo(pulls, commits, deployments))
    assert result.lead_times == (2.0,)
    assert result.awaiting == 2
    # ages at the window's end (240 h): 240 - 3 and 240 - 30 -> median (237 + 210) / 2
    assert result.awaiting_age.median == pytest.approx(223.5)


def test_previous_deployment_chains_are_per_environment() -> None:
    # us: m1 (2 h), m3 (8 h); eu: m2 (5 h), m3 (9 h). Each environment diffs against its own
    # previous deployment: us@8 ships PR 2 and PR 3; eu@5 ships PR 1 and PR 2; eu@9 ships PR 3.
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 1.5, 0), make_pull(3, 0, 6, 0)]
    commits = linear(("m1", 1), ("m2", 2), ("m3", 3))
    deployments = [
        deployment(1, "base", -50, env="prod-us"),
        deployment(2, "base", -49, env="prod-eu"),
        deployment(3, "m1", 2, env="prod-us"),
        deployment(4, "m2", 5, env="prod-eu"),
        deployment(5, "m3", 8, env="prod-us"),
        deployment(6, "m3", 9, env="prod-eu"),
    ]
    result = dora(make_repo(pulls, commits, deployments), TWO_REGIONS)
    assert [(o.key, o.ships) for o in result.outcomes] == [
        ("deployment 3", ("pr:1",)),
        ("deployment 4", ("pr:1", "pr:2")),
        ("deployment 5", ("pr:2", "pr:3")),
        ("deployment 6", ("pr:3",)),
    ]
    # lead time from the first production deployment in any environment:
    # PR 1 at 2 h, PR 2 at 5 h, PR 3 at 8 h (first commits at 0 h)
    assert sorted(result.lead_times) == [2, 5, 8]


def test_failed_and_repeated_deployments_do_not_break_the_chain() -> None:
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0)]
    commits = linear(("m1", 1), ("m2", 2))
    deployments = [
        deployment(1, "m1", 2),
        deployment(2, "m2", None, failure_at=4),  # failed: not in the chain
        deployment(3, "m1", 5),  # the same commit again: ships nothing, not a rollback
        deployment(4, "m2", 7),  # ships PR 2 (against m1, the previous success)
    ]
    result = dora(make_repo(pulls, commits, deployments))
    assert [o.ships for o in result.outcomes] == [("pr:1",), (), ("pr:2",)]
    assert [o.is_rollback for o in result.outcomes] == [False, False, False]
    assert result.failed_attempts == 1
    assert sorted(result.lead_times) == [2, 7]


def test_incidents_link_to_the_last_deployment_before_them() -> None:
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0)]
    commits = linear(("m1", 1), ("m2", 2))
    deployments = [deployment(1, "m1", 2), deployment(2, "m2", 10)]
    incidents = (
        incident(7, 1, 2),  # before any deployment in the window's chain: linked to none
        incident(8, 6, 9),  # after deployment 1, before deployment 2: fails deployment 1
        incident(9, 12, 20),  # after deployment 2: fails deployment 2
        incident(10, 13, 14),  # also after deployment 2: the earliest sign (9) decides
    )
    # Note: deployment "base" before the window would be the chain's baseline; here the
    # first deployment has none, so incident 7 (at 1 h) follows no deployment at all.
    result = dora(make_repo(pulls, commits, deployments, incidents=incidents))
    assert [(o.failed_by, o.evidence) for o in result.outcomes] == [
        ("incident", "acme/app#8"),
        ("incident", "acme/app#9"),
    ]
    assert sorted(result.recovery_times) == [3, 8]  # 9-6, 20-12
    assert [i.key for i in result.unlinked_incidents] == ["acme/app#7"]


def test_an_incident_fails_the_latest_deployment_of_each_production_environment() -> None:
    # Unlike a single "latest deployment" link, SPEC §5 checks each environment's chain: an
    # incident at 6 h follows us@2 and eu@4, both still live, so both count as failed.
    pulls = [make_pull(1, 0, 1, 0)]
    deployments = [deployment(1, "m1", 2, env="prod-us"), deployment(2, "m1", 4, env="prod-eu")]
    data = make_repo(pulls, linear(("m1", 1)), deployments, incidents=(incident(5, 6, 7),))
    result = dora(data, TWO_REGIONS)
    assert [o.failed_by for o in result.outcomes] == ["incident", "incident"]
    assert result.change_failure_rate == 1


def test_a_deployment_of_a_commit_outside_the_default_branch_ships_nothing_visible() -> None:
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0)]
    commits = [*linear(("m1", 1), ("m2", 2)), commit("side", ("m1",), 2.5, None)]
    commits = [c for c in commits if c.oid != "side"]  # not collected: not on the branch
    deployments = [deployment(1, "m1", 2), deployment(2, "side", 4), deployment(3, "m2", 6)]
    result = dora(make_repo(pulls, commits, deployments))
    # the unknown commit does not move the chain: deployment 3 ships PR 2 only
    assert [o.ships for o in result.outcomes] == [("pr:1",), (), ("pr:2",)]
