"""Hand-computed scenarios for the metrics engine; the arithmetic is written next to each case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.dora import repository_dora, summarize
from ghaction_metrics.metrics.pulls import pull_request_metrics
from ghaction_metrics.records import (
    GHOST,
    Actor,
    Commit,
    Deployment,
    DeploymentStatus,
    Incident,
    PullRequest,
    RepositoryData,
    RepositoryInfo,
    Review,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW = Window(T0, T0 + timedelta(days=10))
NOW = T0 + timedelta(days=20)
REPO = "acme/app"
ALICE, BOB = Actor("alice"), Actor("bob")


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def pull(
    number: int,
    created: float,
    merged: float | None,
    first_commit: float,
    *,
    author: Actor = ALICE,
    title: str = "",
    body: str = "",
    labels: tuple[str, ...] = (),
    base: str = "main",
    reviews: tuple[Review, ...] = (),
    ready: tuple[float, ...] = (),
) -> PullRequest:
    return PullRequest(
        repository=REPO,
        number=number,
        title=title or f"Change {number}",
        body=body,
        url=f"https://example.test/{REPO}/pull/{number}",
        author=author,
        state="MERGED" if merged is not None else "OPEN",
        is_draft=False,
        created_at=h(created),
        updated_at=h(merged if merged is not None else created),
        closed_at=h(merged) if merged is not None else None,
        merged_at=h(merged) if merged is not None else None,
        base_ref=base,
        additions=10,
        deletions=2,
        merge_commit=f"m{number}" if merged is not None else None,
        labels=labels,
        first_commit_at=h(first_commit),
        commit_count=1,
        reviews=reviews,
        review_count=len(reviews),
        ready_for_review_at=tuple(h(x) for x in ready),
    )


def commit(oid: str, parent: str | None, at: float, pr: int | None = None) -> Commit:
    return Commit(oid, f"commit {oid}", h(at), h(at), (parent,) if parent else (), ALICE, pr)


def deployment(ident: int, sha: str, success: float | None, env: str = "production") -> Deployment:
    statuses = (
        (DeploymentStatus("success", h(success)), DeploymentStatus("inactive", h(success + 500)))
        if success is not None
        else (DeploymentStatus("failure", h(1)),)
    )
    return Deployment(
        REPO, ident, env, sha, h((success or 1) - 0.5), Actor("deployer", True), statuses
    )


def repo(
    pulls: list[PullRequest], commits: list[Commit], deployments: list[Deployment]
) -> RepositoryData:
    return RepositoryData(
        info=RepositoryInfo(REPO, False, False, "main"),
        pull_requests=tuple(pulls),
        deployments=tuple(deployments),
        commits=tuple(reversed(commits)),
    )


def linear(*oids_with_prs: tuple[str, int | None]) -> list[Commit]:
    """A straight main line: base <- first <- second <- ..., one hour apart from -100 h."""
    commits = [commit("base", None, -100, pr=99)]  # part of an old PR: not a change here
    for index, (oid, pr) in enumerate(oids_with_prs):
        commits.append(commit(oid, commits[-1].oid, -99 + index, pr))
    return commits


def test_batched_deployment_with_a_baseline_ships_only_what_is_new() -> None:
    # Baseline deployment at -10 h deploys m1 (PR 1, merged before the window).
    # Deployment at 20 h ships m2, m3, m4 (three squash-merged PRs), not m1.
    pulls = [pull(1, -50, -20, -60), pull(2, 1, 5, 0), pull(3, 2, 6, -4), pull(4, 3, 7, 2)]
    commits = linear(("m1", 1), ("m2", 2), ("m3", 3), ("m4", 4))
    deployments = [deployment(1, "m1", -10), deployment(2, "m4", 20)]
    result = repository_dora(
        repo(pulls, commits, deployments), Settings(), "deployments", WINDOW, (), NOW
    )
    assert result.deployments == 1
    assert result.deployment_frequency == pytest.approx(1 / 10)  # one deployment in ten days
    # lead times: 20 - 0 = 20, 20 - (-4) = 24, 20 - 2 = 18 -> median 20
    assert sorted(result.lead_times) == [18, 20, 24]
    assert result.lead_time.median == 20
    assert result.change_failure_rate == 0
    assert result.outcomes[0].changes == 3


def test_failed_attempts_and_staging_are_not_deployments() -> None:
    pulls = [pull(1, 0, 1, 0)]
    commits = linear(("m1", 1))
    deployments = [
        deployment(1, "m1", None),  # only a failure status: an attempt, not a deployment
        deployment(2, "m1", 3, env="staging"),  # ignored
        deployment(3, "m1", 5, env="Production"),  # environment matched case-insensitively
    ]
    result = repository_dora(
        repo(pulls, commits, deployments), Settings(), "deployments", WINDOW, (), NOW
    )
    assert result.deployments == 1
    assert result.failed_attempts == 1
    assert result.lead_times == (5.0,)  # first success status at 5 h, first commit at 0 h


def test_revert_in_a_later_deployment_fails_the_deployment_that_shipped_the_change() -> None:
    revert = pull(2, 12, 13, 12, title='Revert "Change 1"', body=f"Reverts {REPO}#1")
    pulls = [pull(1, 0, 1, 0), revert]
    commits = linear(("m1", 1), ("m2", 2))
    deployments = [deployment(1, "m1", 2), deployment(2, "m2", 14)]
    result = repository_dora(
        repo(pulls, commits, deployments), Settings(), "deployments", WINDOW, (), NOW
    )
    # two deployments, the first failed (revert shipped by the second): CFR 1/2
    assert result.change_failure_rate == 0.5
    assert result.outcomes[0].failed_by == "revert"
    # recovery: 14 h - 2 h = 12 h; rework: the second ships a revert -> 1/2
    assert result.recovery_times == (12.0,)
    assert result.rework_rate == 0.5


def test_revert_shipped_with_the_change_it_reverts_fails_nothing() -> None:
    revert = pull(2, 1, 2, 1, title='Revert "Change 1"', body=f"Reverts {REPO}#1")
    commits = linear(("m1", 1), ("m2", 2))
    result = repository_dora(
        repo([pull(1, 0, 1, 0), revert], commits, [deployment(1, "m2", 3)]),
        Settings(), "deployments", WINDOW, (), NOW,
    )  # fmt: skip
    assert result.change_failure_rate == 0
    assert result.rework_rate == 1  # it still ships a revert: rework has no exception


def test_hotfix_in_the_next_deployment_and_a_rollback() -> None:
    pulls = [pull(1, 0, 1, 0), pull(2, 3, 4, 3, labels=("Hotfix",)), pull(3, 6, 7, 6)]
    commits = linear(("m1", 1), ("m2", 2), ("m3", 3))
    deployments = [
        deployment(1, "m1", 2),  # failed: the next one ships a hotfix (recovery 5 - 2 = 3 h)
        deployment(2, "m2", 5),
        deployment(3, "m3", 8),  # failed: the next one rolls back past it (10 - 8 = 2 h)
        deployment(4, "m2", 10),  # rollback to m2, an ancestor of m3
    ]
    result = repository_dora(
        repo(pulls, commits, deployments), Settings(), "deployments", WINDOW, (), NOW
    )
    assert [o.failed_by for o in result.outcomes] == ["hotfix", None, "rollback", None]
    assert result.change_failure_rate == 0.5  # 2 of 4
    assert sorted(result.recovery_times) == [2.0, 3.0]
    assert result.rework_rate == 0.5  # deployment 2 ships a hotfix, deployment 4 is a rollback


def test_incidents_inside_and_outside_the_incident_window() -> None:
    pulls = [pull(1, 0, 1, 0), pull(2, 0, 1, 0)]
    commits = linear(("m1", 1), ("m2", 2))
    deployments = [deployment(1, "m1", 2), deployment(2, "m2", 200)]
    incidents = [
        Incident(REPO, 10, "Checkout down", "u", h(30), h(36)),  # 28 h after #1: fails it
        Incident(REPO, 11, "Late", "u", h(2 + 24 * 7 + 1), h(190)),  # > 7 days after #1
        Incident(REPO, 12, "Open", "u", h(201), None),  # fails #2, not yet recovered
    ]
    result = repository_dora(
        repo(pulls, commits, deployments), Settings(), "deployments", WINDOW, incidents, NOW
    )
    assert [o.failed_by for o in result.outcomes] == ["incident", "incident"]
    assert result.recovery_times == (6.0,)  # incident 10: opened 30 h, closed 36 h
    assert result.unrecovered == 1
    assert result.rework_rate == 0


def test_empty_window_and_no_deployments_at_all() -> None:
    result = repository_dora(repo([], linear(), []), Settings(), "deployments", WINDOW, (), NOW)
    assert result.deployments == 0
    assert result.deployment_frequency == 0
    assert result.change_failure_rate is None
    assert result.lead_time.median is None
    summary = summarize([result])
    assert summary.deployment_frequency == 0
    assert summary.change_failure_rate is None
    assert summary.levels.overall is None


def test_pull_request_population_bots_self_review_draft_and_ghost() -> None:
    reviews = (
        Review(ALICE, "COMMENTED", h(2)),  # self-review: not a first review
        Review(Actor("renovate", True), "APPROVED", h(3)),  # bot review: left out
        Review(BOB, "APPROVED", h(6)),
    )
    pulls = [
        pull(1, 0, 10, -5, reviews=reviews, ready=(1,)),  # draft until 1 h: first review 6-1 = 5
        pull(2, 0, 4, 0, author=Actor("dependabot", True)),  # bot PR: left out
        pull(3, 0, 30, 0, author=GHOST),  # deleted user: counts
        pull(4, 0, 8, 0, base="release/1.x"),  # not the default branch: left out
        pull(5, -48, 2, -50),  # created before the window, merged inside: counts (50 h)
    ]
    metrics = pull_request_metrics([repo(pulls, linear(), [])], Settings(), WINDOW)
    assert metrics.merged == 3
    assert metrics.excluded_bots == 1
    assert metrics.cycle_time.median == 30  # cycle times 10, 30, 50
    assert metrics.time_to_first_review.n == 1
    assert metrics.time_to_first_review.median == 5
