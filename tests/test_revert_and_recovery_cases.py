"""Revert matching and recoveries on shapes real repositories have (SPEC §5, change failure
rate and recovery time): a revert names its target by full sha or an unambiguous prefix, a
title matches the most recent pull request with that title merged before the revert, and
one incident is one recovery however many environments' deployments it fails."""

from __future__ import annotations

from datetime import timedelta

from metric_records import T0, commit, deployment, incident, linear
from metric_records import pull as make_pull
from metric_records import repo as make_repo

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.dora import RepositoryDora, repository_dora
from ghaction_metrics.records import RepositoryData

WINDOW = Window(T0, T0 + timedelta(days=10))
NOW = T0 + timedelta(days=20)


def dora(data: RepositoryData, settings: Settings | None = None) -> RepositoryDora:
    return repository_dora(data, settings or Settings(), "deployments", WINDOW, data.incidents, NOW)


def test_an_ambiguous_sha_prefix_links_nothing_and_is_noted() -> None:
    commits = [
        *linear(("abcdef1aaaa", None), ("abcdef1bbbb", None)),
        commit("r1", ("abcdef1bbbb",), 12, message="Revert it\n\nThis reverts commit abcdef1."),
    ]
    deployments = [deployment(1, "abcdef1aaaa", 2), deployment(2, "abcdef1bbbb", 3)]
    result = dora(make_repo([], commits, [*deployments, deployment(3, "r1", 13)]))
    assert [o.failed_by for o in result.outcomes] == [None, None, None]
    assert any("abcdef1" in note and "ambiguous" in note for note in result.notes)


def test_an_unambiguous_prefix_links_its_commit() -> None:
    commits = [
        *linear(("abcdef1aaaa", None), ("abcdef2bbbb", None)),
        commit("r1", ("abcdef2bbbb",), 12, message="Revert it\n\nThis reverts commit abcdef1."),
    ]
    deployments = [deployment(1, "abcdef1aaaa", 2), deployment(2, "abcdef2bbbb", 3)]
    result = dora(make_repo([], commits, [*deployments, deployment(3, "r1", 13)]))
    assert [o.failed_by for o in result.outcomes] == ["revert", None, None]


def test_a_revert_title_names_the_latest_pull_request_merged_before_it() -> None:
    # Two pull requests share a title; the revert came between their merges.
    pulls = [
        make_pull(2, 0, 2, 0, title="Fix login", merge_commit="m2"),
        make_pull(5, 20, 30, 20, title="Fix login", merge_commit="m5"),
    ]
    commits = [
        *linear(("m2", 2)),
        commit("r1", ("m2",), 12, message='Revert "Fix login"'),
        commit("m5", ("r1",), 30, 5),
    ]
    deployments = [deployment(1, "m2", 3), deployment(2, "r1", 13), deployment(3, "m5", 31)]
    result = dora(make_repo(pulls, commits, deployments))
    assert [o.failed_by for o in result.outcomes] == ["revert", None, None]
    assert result.recovery_times == (10.0,)  # 13 - 3


def test_one_incident_failing_two_environments_is_one_recovery() -> None:
    settings = Settings(production_environments=("production", "production-eu"))
    pulls = [make_pull(1, 0, 1, 0)]
    commits = linear(("m1", 1))
    deployments = [deployment(1, "m1", 2), deployment(2, "m1", 3, env="production-eu")]
    data = make_repo(pulls, commits, deployments, incidents=[incident(7, 4, 9)])
    result = dora(data, settings)
    assert [o.failed_by for o in result.outcomes] == ["incident", "incident"]
    assert result.failed == 2  # both deployments failed
    assert result.recovery_times == (5.0,)  # one incident, one recovery: 9 - 4
