"""More hand-computed scenarios (SPEC §5): every source, what each deployment ships, failure
rules, pull-request stages, team figures and comparisons. The arithmetic is in the comments."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, timedelta
from itertools import combinations

import pytest
from metric_records import (
    ALICE,
    BOB,
    CAROL,
    REPO,
    T0,
    comment,
    commit,
    deployment,
    h,
    incident,
    linear,
)
from metric_records import pull as make_pull
from metric_records import repo as make_repo
from metric_records import review as rv

from ghaction_metrics.collect import nodes
from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import CommitGraph, Event, Settings, chain_shipments
from ghaction_metrics.metrics.compare import (
    METHOD_EXACT,
    METHOD_NORMAL,
    mann_whitney_u,
    significance,
)
from ghaction_metrics.metrics.dora import RepositoryDora, repository_dora, summarize
from ghaction_metrics.metrics.incidents import incidents_for
from ghaction_metrics.metrics.pulls import pull_request_metrics, size_bucket
from ghaction_metrics.metrics.report import build_report, comparison_windows, outputs, snapshot
from ghaction_metrics.metrics.sources import choose_source
from ghaction_metrics.metrics.team import pseudonym, team_metrics
from ghaction_metrics.records import (
    GHOST,
    Actor,
    Collection,
    PullRequest,
    RepositoryData,
    Tag,
    WorkflowRun,
)

WINDOW = Window(T0, T0 + timedelta(days=10))
NOW = T0 + timedelta(days=20)


def dora(
    data: RepositoryData,
    source: str = "deployments",
    settings: Settings | None = None,
    window: Window = WINDOW,
) -> RepositoryDora:
    return repository_dora(data, settings or Settings(), source, window, data.incidents, NOW)


# ---- what a deployment ships ----------------------------------------------------------------


def test_squash_rebase_and_merge_commit_merges_all_link_through_the_merge_commit() -> None:
    # PR 1 squash: one commit s1 on main. PR 2 rebase: r1, r2 on main, merge_commit = r2.
    # PR 3 merge commit: branch commit b1 (forked from r2) and merge commit x3 with two parents.
    commits = [
        commit("base", (), -50, 999),
        commit("s1", ("base",), 1, 1),
        commit("r1", ("s1",), 2, 2, authored=-3),
        commit("r2", ("r1",), 2.5, 2),
        commit("b1", ("r2",), 3, 3, authored=-10),
        commit("x3", ("r2", "b1"), 4, 3),
    ]
    pulls = [
        make_pull(1, 0, 1, -1, merge_commit="s1"),
        make_pull(2, 0, 2.5, -3, merge_commit="r2"),
        make_pull(3, 0, 4, -10, merge_commit="x3"),
    ]
    result = dora(make_repo(pulls, commits, [deployment(1, "base", -20), deployment(2, "x3", 6)]))
    assert result.outcomes[0].ships == ("pr:1", "pr:2", "pr:3")
    # lead times from the first commit's authored time: 6-(-1)=7, 6-(-3)=9, 6-(-10)=16
    assert sorted(result.lead_times) == [7, 9, 16]
    # deploy stage (merged -> deployed): 6-1=5, 6-2.5=3.5, 6-4=2
    assert sorted(result.deploy_times) == [2, 3.5, 5]


def test_a_merge_commit_merge_claims_its_branch_commits_without_their_association() -> None:
    # PR 1 merged with a merge commit x1 (parents: base, b2); its branch commits b1, b2 carry
    # no associated pull request (GitHub's first entry named none, or another one). They are
    # PR 1's, found through the graph: reachable from x1's second parent, not from its first.
    commits = [
        commit("base", (), -50, 999),
        commit("b1", ("base",), 1, None, authored=-6),
        commit("b2", ("b1",), 2, 7, authored=-5),  # 7: an open pull request that contains it
        commit("x1", ("base", "b2"), 3, 1),
    ]
    pulls = [make_pull(1, 0, 3, -6, merge_commit="x1")]
    result = dora(make_repo(pulls, commits, [deployment(1, "base", -20), deployment(2, "x1", 5)]))
    assert result.outcomes[0].ships == ("pr:1",)


@pytest.mark.parametrize("open_pull_read", [True, False])
def test_a_direct_push_first_associated_with_an_unmerged_pull_request_is_a_change(
    open_pull_read: bool,
) -> None:
    # p1 was pushed to main directly; an open pull request (7) took it in, and GitHub lists
    # that one first. No pull request merged into a counted base contains it. Whether the
    # collection reached back to pull request 7 (a first run reaching further back for the
    # backfill) or not (a later run) must not matter.
    pushed = nodes.commit(
        {
            "oid": "p1",
            "message": "Fix typo in README",
            "authoredDate": h(1).isoformat(),
            "committedDate": h(2).isoformat(),
            "parents": {"nodes": [{"oid": "base"}]},
            "author": {"name": "Alice", "email": "alice@example.com", "user": {"login": "alice"}},
            "associatedPullRequests": {"nodes": [{"number": 7, "merged": False}]},
        }
    )
    commits = [commit("base", (), -50, 999), pushed, commit("m1", ("p1",), 3, 1)]
    pulls = [make_pull(1, 0, 3, 0), *([make_pull(7, -900, None, -900)] if open_pull_read else [])]
    result = dora(make_repo(pulls, commits, [deployment(1, "base", -20), deployment(2, "m1", 5)]))
    assert result.outcomes[0].ships == ("commit:p1", "pr:1")
    assert sorted(result.lead_times) == [4, 5]  # push: 5-1 = 4; PR: 5-0 = 5


def test_direct_push_to_the_default_branch_is_a_change() -> None:
    commits = [
        commit("base", (), -50, 999),
        commit("p1", ("base",), 2, None, message="Fix typo in README", authored=1),
        commit("m1", ("p1",), 3, 1),
    ]
    result = dora(
        make_repo(
            [make_pull(1, 0, 3, 0)], commits, [deployment(1, "base", -20), deployment(2, "m1", 5)]
        )
    )
    assert result.outcomes[0].ships == ("commit:p1", "pr:1")
    assert sorted(result.lead_times) == [4, 5]  # push: 5-1 = 4; PR: 5-0 = 5


def test_first_deployment_without_a_baseline_ships_only_collected_history() -> None:
    # No deployment before the window: the first one ships the changes it reaches.
    pulls = [make_pull(1, -30, -20, -40), make_pull(2, 1, 2, 0)]
    commits = linear(("m1", 1), ("m2", 2))
    result = dora(make_repo(pulls, commits, [deployment(1, "m2", 5)]))
    # PR 1: 5-(-40) = 45 h; PR 2: 5-0 = 5 h
    assert sorted(result.lead_times) == [5, 45]


def test_two_production_environments_deploying_the_same_commit() -> None:
    settings = Settings(production_environments=("production", "production-eu"))
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0)]
    commits = linear(("m1", 1), ("m2", 2))
    deployments = [
        deployment(1, "m1", 2),
        deployment(2, "m1", 4, env="production-eu"),
        deployment(3, "m2", 6),
        deployment(4, "m2", 8, env="Production-EU"),
    ]
    result = dora(make_repo(pulls, commits, deployments), settings=settings)
    # four successful deployments: 4 / 10 days
    assert result.deployments == 4
    assert result.deployment_frequency == pytest.approx(0.4)
    # each change is timed by the first production deployment that ships it, in any
    # environment: PR 1 at 2 h (2-0), PR 2 at 6 h (6-0); one lead time per change
    assert sorted(result.lead_times) == [2, 6]
    # chains are per environment: the EU deployment of m1 ships PR 1 in its own chain
    assert [o.changes for o in result.outcomes] == [1, 1, 1, 1]
    assert result.deployment_days == 1  # all on 2 November


def test_a_rollback_is_detected_and_fails_the_deployment_it_undoes() -> None:
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0)]
    commits = linear(("m1", 1), ("m2", 2))
    deployments = [deployment(1, "m1", 2), deployment(2, "m2", 4), deployment(3, "m1", 5)]
    result = dora(make_repo(pulls, commits, deployments))
    assert [o.is_rollback for o in result.outcomes] == [False, False, True]
    assert [o.failed_by for o in result.outcomes] == [None, "rollback", None]
    assert result.recovery_times == (1.0,)  # 5 - 4
    # a re-deployment after the rollback ships nothing new: PR 2 was shipped by deployment 2
    redeploy = dora(make_repo(pulls, commits, [*deployments, deployment(4, "m2", 7)]))
    assert redeploy.outcomes[3].ships == ()
    assert not redeploy.outcomes[3].is_rollback
    assert sorted(redeploy.lead_times) == [2, 4]


def test_commit_graph_chaining_matches_reachable_sets() -> None:
    # main: a <- b <- c <- d, and a side line e (parent b) merged by f (parents d, e).
    commits = [
        commit("a", (), 0),
        commit("b", ("a",), 1),
        commit("c", ("b",), 2),
        commit("e", ("b",), 2.5),
        commit("d", ("c",), 3),
        commit("f", ("d", "e"), 4),
    ]
    graph = CommitGraph(commits)
    keys = {c.oid: f"k{c.oid}" for c in commits}
    events = [Event(f"d{i}", "p", sha, h(i)) for i, sha in enumerate(["b", "d", "f", "c", "f"])]
    chained = chain_shipments(events, graph, keys)
    # Each ships what no earlier deployment in the chain reached (SPEC: set-based shipping).
    expected: list[set[str]] = []
    shipped: set[str] = set()
    for event in events:
        assert event.sha is not None
        reach = graph.reachable(event.sha)
        expected.append({keys[o] for o in reach - shipped})
        shipped |= reach
    assert [set(e.ships) for e in chained] == expected
    assert expected[3] == expected[4] == set()  # c was shipped by d; f by the earlier f
    assert [e.is_rollback for e in chained] == [False, False, False, True, False]


# ---- sources ----------------------------------------------------------------------------------


def run(ident: int, attempt: int, conclusion: str | None, at: float, **extra: str) -> WorkflowRun:
    return WorkflowRun(
        repository=REPO,
        id=ident,
        attempt=attempt,
        name=extra.get("name", "Deploy"),
        path=extra.get("path", ".github/workflows/deploy.yml"),
        head_branch=extra.get("branch", "main"),
        head_sha=extra.get("sha", "m1"),
        event="push",
        status="completed" if conclusion else "in_progress",
        conclusion=conclusion,
        created_at=h(at - 0.5),
        updated_at=h(at),
    )


def test_workflow_run_with_several_attempts_counts_once_at_its_latest_attempt() -> None:
    runs = [
        run(10, 1, "failure", 2),  # first attempt failed ...
        run(10, 2, "success", 3),  # ... the re-run succeeded: one deployment at 3 h
        run(11, 1, "failure", 5, sha="m2"),  # a failed attempt, not a deployment
        run(12, 1, "success", 6, branch="feature"),  # not the default branch
        run(13, 1, "success", 7, path=".github/workflows/test.yml", name="Test"),  # other
        run(14, 1, None, 8),  # still running
        run(15, 1, "success", 9, sha="m2", path="deploy.yml"),  # matched by file name
    ]
    commits = linear(("m1", 1), ("m2", 2))
    data = make_repo([make_pull(1, 0, 1, 0), make_pull(2, 0, 4, 0)], commits, workflow_runs=runs)
    result = dora(data, source="workflow:deploy.yml")
    assert [o.key for o in result.outcomes] == ["run 10 attempt 2", "run 15"]
    assert result.failed_attempts == 1
    assert sorted(result.lead_times) == [3, 9]  # 3-0 and 9-0
    reasons = {item.key: item.reason for item in result.left_out}
    assert reasons == {
        "run 11": "failed: conclusion failure",
        "run 12": "branch feature",
        "run 14": "not completed (in_progress)",
    }
    assert dora(data, source="workflow:Deploy").deployments == 2  # by the workflow's name


def test_lightweight_and_annotated_tags() -> None:
    tags = [
        Tag(REPO, "v1.0.0", "m1", h(5), h(1)),  # annotated: tagger date 5 h
        Tag(REPO, "v1.1.0", "m2", None, h(2)),  # lightweight: commit date 2 h (approximate)
        Tag(REPO, "nightly-1", "m2", None, h(2)),  # does not match v*
    ]
    commits = linear(("m1", 1), ("m2", 2))
    data = make_repo([make_pull(1, 0, 1, 0), make_pull(2, 0, 1.5, 0)], commits, tags=tags)
    result = dora(data, source="tags:v*")
    # sorted by time: v1.1.0 (2 h) ships m1 and m2; v1.0.0 (5 h) is m1, an ancestor: rollback
    assert [(o.key, o.approximate_time) for o in result.outcomes] == [
        ("tag v1.1.0", True),
        ("tag v1.0.0", False),
    ]
    assert sorted(result.lead_times) == [2, 2]


def test_a_floating_tag_on_an_already_deployed_commit_is_no_new_deployment() -> None:
    # v3 follows the latest v3.x: it points at v3.2's commit and adds nothing.
    tags = [
        Tag(REPO, "v3.1", "m1", h(2), h(1)),
        Tag(REPO, "v3.2", "m2", h(4), h(3)),
        Tag(REPO, "v3", "m2", h(5), h(3)),
    ]
    commits = linear(("m1", 1), ("m2", 3))
    data = make_repo([make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0)], commits, tags=tags)
    result = dora(data, source="tags:v*")
    assert [o.key for o in result.outcomes] == ["tag v3.1", "tag v3.2"]
    assert result.deployments == 2
    assert [o.is_rollback for o in result.outcomes] == [False, False]
    assert ("tag v3", "same commit as tag v3.2") in [(x.key, x.reason) for x in result.left_out]


def test_releases_leave_out_drafts_and_pre_releases() -> None:
    from ghaction_metrics.records import Release

    releases = (
        Release(REPO, "v1", "v1", False, False, h(0), h(3), "m1", ALICE),
        Release(REPO, "v2-rc.1", "rc", False, True, h(4), h(4), "m2", ALICE),
        Release(REPO, "v2", "v2", True, False, h(5), None, "m2", ALICE),
    )
    commits = linear(("m1", 1), ("m2", 2))
    data = make_repo([make_pull(1, 0, 1, 0)], commits)
    data = type(data)(**{**data.__dict__, "releases": releases})
    result = dora(data, source="releases")
    assert result.deployments == 1
    assert {i.key: i.reason for i in result.left_out} == {
        "release v2-rc.1": "pre-release",
        "release v2": "draft",
    }
    assert choose_source(data, Settings(), [WINDOW]) == "releases"


def test_auto_without_any_deployment_or_release_uses_merges() -> None:
    pulls = [make_pull(1, 0, 5, 0), make_pull(2, 1, 6, 1)]
    data = make_repo(pulls, linear())
    assert choose_source(data, Settings(), [WINDOW]) == "merges"
    result = dora(data, source="merges")
    assert result.deployments == 2
    assert sorted(result.lead_times) == [5, 5]  # merge - first commit: 5-0, 6-1
    assert result.awaiting == 0


# ---- failures ---------------------------------------------------------------------------------


def test_revert_by_commit_sha_and_by_title_link_to_the_change() -> None:
    commits = [
        *linear(("aaaa1111", 1), ("m2", 2)),
        commit("p3", ("m2",), 12, None, message='Revert "Change 2"'),
    ]
    pulls = [
        make_pull(1, 0, 1, 0, merge_commit="aaaa1111"),
        make_pull(2, 0, 2, 0),
        make_pull(4, 20, 21, 20, body="This reverts commit aaaa1111."),
    ]
    commits.append(commit("m4", ("p3",), 21, 4))
    deployments = [
        deployment(1, "aaaa1111", 3),
        deployment(2, "m2", 5),
        deployment(3, "p3", 13),
        deployment(4, "m4", 22),
    ]
    result = dora(make_repo(pulls, commits, deployments))
    # deployment 2 shipped PR 2, reverted by the direct push p3 (title) shipped at 13 h;
    # deployment 1 shipped PR 1 (merge commit m1), reverted by PR 4 (sha) shipped at 22 h
    assert [o.failed_by for o in result.outcomes] == ["revert", "revert", None, None]
    assert sorted(result.recovery_times) == [8, 19]  # 13-5, 22-3
    assert result.rework == 2


def test_incident_before_the_next_deployment_only() -> None:
    pulls = [make_pull(1, 0, 1, 0), make_pull(2, 0, 3, 0)]
    commits = linear(("m1", 1), ("m2", 2))
    deployments = [deployment(1, "m1", 2), deployment(2, "m2", 10)]
    incidents = (
        incident(20, 11, 15),  # after deployment 2: fails it, not deployment 1
        incident(21, 200, 201),  # 190 h after deployment 2, past 7 days: linked to none
    )
    result = dora(make_repo(pulls, commits, deployments, incidents=incidents))
    assert [o.failed_by for o in result.outcomes] == [None, "incident"]
    assert result.recovery_times == (4.0,)
    assert [i.key for i in result.unlinked_incidents] == ["acme/app#21"]
    assert result.incident_close_time.median == 1


def test_open_incident_is_an_unrecovered_failure_with_its_age() -> None:
    commits = linear(("m1", 1))
    data = make_repo(
        [make_pull(1, 0, 1, 0)],
        commits,
        [deployment(1, "m1", 2)],
        incidents=(incident(5, 3, None),),
    )
    result = dora(data)
    assert result.failed == 1
    assert result.recovery.n == 0
    assert result.unrecovered == 1
    assert result.unrecovered_age.median == 10 * 24 - 3  # window's end (240 h) - opened (3 h)


def test_failure_opened_after_the_window_ends_is_unrecovered_with_no_age_yet() -> None:
    """A deployment late in the window whose incident opens after the window's end."""
    commits = linear(("m1", 1))
    data = make_repo(
        [make_pull(1, 0, 1, 0)],
        commits,
        [deployment(1, "m1", 239)],
        incidents=(incident(5, 245, None),),
    )
    result = dora(data)
    assert result.failed == 1
    assert result.unrecovered == 1
    assert result.unrecovered_age.median == 0


def test_unrecovered_age_does_not_depend_on_when_the_report_is_computed() -> None:
    """Two runs over the same window (a single run and a later aggregate of shards) agree."""
    commits = linear(("m1", 1))
    data = make_repo(
        [make_pull(1, 0, 1, 0)],
        commits,
        [deployment(1, "m1", 2)],
        incidents=(incident(5, 3, None),),
    )
    ages = {
        repository_dora(
            data, Settings(), "deployments", WINDOW, data.incidents, now
        ).unrecovered_age
        for now in (NOW, NOW + timedelta(minutes=7), NOW + timedelta(days=3))
    }
    assert len(ages) == 1


def test_incident_window_setting_narrows_the_link() -> None:
    commits = linear(("m1", 1))
    data = make_repo(
        [make_pull(1, 0, 1, 0)], commits, [deployment(1, "m1", 2)], incidents=(incident(5, 8, 9),)
    )
    assert dora(data).failed == 1  # 6 h after, within the default 7 days
    assert dora(data, settings=Settings(incident_window=timedelta(hours=4))).failed == 0


def test_incidents_from_another_repository_count_for_the_repositories_they_name() -> None:
    shared = [
        incident(1, 5, 6, repository="acme/incidents", title="acme/app is down"),
        incident(2, 5, 6, repository="acme/incidents", body="Only acme/api returns 500"),
        incident(3, 5, 6, repository="acme/incidents", title="Everything is slow"),
    ]
    measured = ["acme/app", "acme/api"]
    app = incidents_for("acme/app", (), shared, measured, "acme/incidents")
    api = incidents_for("acme/api", (), shared, measured, "acme/incidents")
    assert [i.number for i in app] == [1, 3]
    assert [i.number for i in api] == [2, 3]
    own = [incident(9, 5, 6)]
    assert incidents_for("acme/app", own, shared, measured, None) == own


def test_awaiting_deployment_counts_changes_merged_but_not_shipped() -> None:
    pulls = [
        make_pull(1, -30, -25, -30),  # shipped by the baseline at -20 h
        make_pull(2, -19, -18, -19),  # merged after the baseline, shipped at 5 h
        make_pull(3, 100, 150, 100),  # merged in the window, never shipped
        make_pull(4, 200, 239, 200, base="release/1.x"),  # never on main: not awaiting
    ]
    commits = linear(("m1", 1), ("m2", 2), ("m3", 3))
    result = dora(make_repo(pulls, commits, [deployment(1, "m1", -20), deployment(2, "m2", 5)]))
    assert result.awaiting == 1
    assert result.awaiting_age.median == 240 - 150  # the window ends at 240 h


def test_exactly_one_data_point_gets_figures_but_no_level() -> None:
    commits = linear(("m1", 1))
    result = dora(make_repo([make_pull(1, 0, 1, 0)], commits, [deployment(1, "m1", 2)]))
    assert result.lead_time.n == 1
    assert result.lead_time.median == result.lead_time.p75 == result.lead_time.p90 == 2
    assert result.levels.lead_time is None  # n < 3
    assert result.levels.deployment_frequency is None
    assert summarize([result]).levels.overall is None


def test_repository_without_deployments_is_left_out_of_the_rate_medians() -> None:
    commits = linear(("m1", 1))
    deploying = dora(make_repo([make_pull(1, 0, 1, 0)], commits, [deployment(1, "m1", 2)]))
    silent = dora(make_repo([make_pull(1, 0, 1, 0)], commits, [], name="acme/quiet"))
    summary = summarize([deploying, silent])
    assert summary.deployment_frequency == pytest.approx(0.1)  # median over acme/app only
    assert summary.change_failure_rate == 0
    assert silent.change_failure_rate is None


# ---- pull requests ----------------------------------------------------------------------------


COPILOT = Actor("copilot-pull-request-reviewer", True)  # Copilot code review: a Bot
RENOVATE = Actor("renovate", True)


def _responded_pull() -> PullRequest:
    # Ready at creation (0 h), merged at 10 h.
    return make_pull(
        1,
        0,
        10,
        -2,
        reviews=(
            rv(COPILOT, "COMMENTED", 0.5, comments=4),  # AI reviewer: never a first review
            rv(RENOVATE, "APPROVED", 1),  # bot: never an approval
            rv(CAROL, "APPROVED", 6),  # the first human review and approval
        ),
        comments=(
            comment(ALICE, 0.25),  # the author's own comment: not a response
            comment(RENOVATE, 1.5),  # a bot's comment: a response only with include-bots
            comment(BOB, 2),  # the first response by someone else
        ),
    )


def test_time_to_first_response_waits_for_a_comment_not_a_review() -> None:
    metrics = pull_request_metrics([make_repo([_responded_pull()], linear())], Settings(), WINDOW)
    assert metrics.time_to_first_response.median == 2  # ready 0 -> Bob's comment 2
    assert metrics.pickup_time.median == 6  # ready 0 -> Carol's review 6
    assert metrics.time_to_approval.median == 6  # the bot's approval at 1 h is not one
    assert metrics.review_time.median == 0  # first review 6 -> last approval 6
    assert metrics.bot_reviews == 2  # Copilot and renovate, counted on their own
    assert metrics.review_depth.reviews_per_pr.median == 1  # Carol's only


def test_reviews_by_bots_never_respond_even_when_bots_are_included() -> None:
    settings = Settings(include_bots=True)
    metrics = pull_request_metrics([make_repo([_responded_pull()], linear())], settings, WINDOW)
    # The bot's comment at 1.5 h counts with include-bots; Copilot's review at 0.5 h never.
    assert metrics.time_to_first_response.median == 1.5
    assert metrics.pickup_time.median == 6
    assert metrics.time_to_approval.median == 6
    assert metrics.bot_reviews == 2


def test_a_review_before_any_comment_is_the_first_response() -> None:
    pr = make_pull(1, 0, 10, -2, reviews=(rv(BOB, "COMMENTED", 3),), comments=(comment(CAROL, 4),))
    metrics = pull_request_metrics([make_repo([pr], linear())], Settings(), WINDOW)
    assert metrics.time_to_first_response.median == 3
    assert metrics.first_response_times == (3,)


def test_a_comment_during_the_draft_is_not_a_response() -> None:
    pr = make_pull(1, 0, 10, -2, ready=(4,), comments=(comment(BOB, 1), comment(CAROL, 5)))
    metrics = pull_request_metrics([make_repo([pr], linear())], Settings(), WINDOW)
    assert metrics.time_to_first_response.median == 1  # ready 4 -> Carol 5


def test_stages_of_a_draft_that_became_ready_with_a_review_during_the_draft() -> None:
    reviews = (
        rv(BOB, "COMMENTED", 2, comments=3),  # while a draft (ready at 4 h): not a first review
        rv(Actor("renovate", True), "APPROVED", 5),  # bot: left out
        rv(CAROL, "CHANGES_REQUESTED", 6, comments=2),  # first review after ready
        rv(ALICE, "COMMENTED", 7, comments=1),  # self-review: left out
        rv(BOB, "APPROVED", 9),
        rv(CAROL, "APPROVED", 10),  # last approval before merge
    )
    pr = make_pull(1, 0, 12, -5, reviews=reviews, ready=(1, 4))
    metrics = pull_request_metrics([make_repo([pr], linear())], Settings(), WINDOW)
    assert metrics.cycle_time.median == 12  # created 0 -> merged 12
    assert metrics.coding_time.median == 5  # first commit -5 -> created 0
    assert metrics.time_in_draft.median == 4  # created 0 -> last ready 4
    assert metrics.pickup_time.median == 2  # ready 4 -> first review 6
    assert metrics.time_to_first_review.median == 2
    assert metrics.review_time.median == 4  # first review 6 -> last approval 10
    assert metrics.merge_time.median == 2  # last approval 10 -> merged 12
    assert metrics.time_to_approval.median == 5  # ready 4 -> first approval 9
    # review depth: 4 reviews by others who count (Bob twice, Carol twice); 3+2 comments
    assert metrics.review_depth.reviews_per_pr.median == 4
    assert metrics.review_depth.comments_per_pr.median == 5
    assert metrics.review_depth.changes_requested_share == 1
    assert metrics.review_depth.unreviewed_share == 0


def test_approval_after_merge_is_a_negative_merge_time() -> None:
    pr = make_pull(1, 0, 5, 0, reviews=(rv(BOB, "APPROVED", 6),))
    metrics = pull_request_metrics([make_repo([pr], linear())], Settings(), WINDOW)
    assert metrics.merge_time.n == 0
    assert dict(metrics.negative_by_figure) == {"merge": 1}
    assert metrics.review_depth.unreviewed_share == 0


def test_outcome_sizes_and_cycle_time_by_size() -> None:
    pulls = [
        make_pull(1, 0, 2, size=(5, 4)),  # XS (9 lines), cycle 2
        make_pull(2, 0, 4, size=(5, 5)),  # S (10 lines), cycle 4
        make_pull(3, 0, 8, size=(600, 400)),  # XL (1000 lines), cycle 8
        make_pull(4, 0, None, closed=3),  # closed unmerged in the window
        make_pull(5, 100, None),  # open at the end: 240 - 100 = 140 h old
        make_pull(6, -50, None, closed=-10),  # closed before the window: not counted
        make_pull(7, 200, 260),  # merged after the window: open at its end (40 h old)
    ]
    metrics = pull_request_metrics([make_repo(pulls, linear())], Settings(), WINDOW)
    assert [(b.name, b.merged, b.cycle_time.median) for b in metrics.sizes] == [
        ("XS", 1, 2),
        ("S", 1, 4),
        ("M", 0, None),
        ("L", 0, None),
        ("XL", 1, 8),
    ]
    outcome = metrics.outcome
    assert (outcome.closed, outcome.merged, outcome.closed_unmerged) == (4, 3, 1)
    assert outcome.merged_share == 0.75
    assert outcome.open_at_end == 2
    assert outcome.open_age.median == 90  # (140 + 40) / 2
    assert [size_bucket(n) for n in (0, 9, 10, 49, 50, 249, 250, 999, 1000)] == [
        "XS", "XS", "S", "S", "M", "M", "L", "L", "XL",
    ]  # fmt: skip


def test_bots_excluded_authors_and_include_bots() -> None:
    pulls = [
        make_pull(1, 0, 2),
        make_pull(2, 0, 4, author=Actor("dependabot", True)),
        make_pull(3, 0, 6, author=BOB),
        make_pull(4, 0, 8, author=GHOST),  # a deleted account still counts
    ]
    data = [make_repo(pulls, linear())]
    assert pull_request_metrics(data, Settings(), WINDOW).merged == 3
    excluded = pull_request_metrics(data, Settings(exclude_authors=frozenset({"bob"})), WINDOW)
    assert (excluded.merged, excluded.excluded_authors, excluded.excluded_bots) == (2, 1, 1)
    assert pull_request_metrics(data, Settings(include_bots=True), WINDOW).merged == 4


# ---- team -------------------------------------------------------------------------------------


def _team_data() -> list[RepositoryData]:
    pulls = [
        make_pull(1, 0, 10, author=ALICE, reviews=(rv(BOB, "APPROVED", 5),), size=(30, 10)),
        make_pull(
            2,
            1,
            21,
            author=BOB,
            reviews=(rv(ALICE, "COMMENTED", 3), rv(CAROL, "APPROVED", 4), rv(ALICE, "APPROVED", 9)),
        ),
        make_pull(3, 2, None, author=CAROL),
        make_pull(4, 5, 7, author=Actor("renovate", True), reviews=(rv(BOB, "APPROVED", 6),)),
    ]
    commits = [
        commit("base", (), -10, 999),
        commit("c1", ("base",), 30, None, author=CAROL),
        commit("c2", ("c1",), 31, None, author=Actor("Carol")),
    ]
    return [make_repo(pulls, commits)]


def test_per_person_activity_sorted_by_name() -> None:
    team = team_metrics(_team_data(), Settings(), WINDOW, [h(1), h(2), h(30)])
    rows = [(p.name, p.opened, p.merged, p.reviews_given, p.commits, p.cycle_time_median,
             p.lines_changed) for p in team.people]  # fmt: skip
    assert rows == [
        ("alice", 1, 1, 2, 0, 10, 40),  # reviewed PR 2 twice; PR 1: 40 lines, 10 h
        ("bob", 1, 1, 1, 0, 20, 12),  # the review of the bot's PR 4 is left out with it
        ("carol", 1, 0, 1, 2, None, 0),  # two direct commits (login case folded)
    ]
    # the review network: who reviews whom; busiest reviewer alice, 2 of 4 reviews
    assert [(e.reviewer, e.author, e.reviews) for e in team.network.edges] == [
        ("alice", "bob", 2),
        ("bob", "alice", 1),
        ("carol", "bob", 1),
    ]
    assert team.network.busiest_reviewer_share == 0.5
    assert team.network.distinct_reviewers.median == 1.5  # PR 1: bob; PR 2: alice, carol


def test_the_coding_agent_is_one_row_under_its_pull_requests_name() -> None:
    # GitHub shows the Copilot coding agent as "Copilot" on its pull requests and as
    # copilot-swe-agent[bot] on its commits: one agent, one row, as a reader knows it.
    data = _team_data()
    agent_pull = make_pull(5, 3, 8, author=Actor("Copilot", True), size=(5, 5))
    agent_commits = [
        commit("a1", ("c2",), 32, None, author=Actor("copilot-swe-agent[bot]", True)),
        commit("a2", ("a1",), 33, None, author=Actor("copilot-swe-agent", True)),
    ]
    repo = replace(
        data[0],
        pull_requests=(*data[0].pull_requests, agent_pull),
        commits=(*data[0].commits, *agent_commits),
    )
    team = team_metrics([repo], Settings(), WINDOW, [])
    agent = [p for p in team.people if "copilot" in p.name.lower()]
    assert [(p.name, p.opened, p.merged, p.commits) for p in agent] == [("Copilot", 1, 1, 2)]


def test_anonymous_pseudonyms_are_stable_keyed_by_salt_and_sorted() -> None:
    settings = Settings(per_person="anonymous", pseudonym_salt="pepper")
    team = team_metrics(_team_data(), settings, WINDOW, [])
    names = [p.name for p in team.people]
    assert names == sorted(names)
    assert set(names) == {pseudonym(x, "pepper") for x in ("alice", "bob", "carol")}
    assert pseudonym("Alice", "pepper") == pseudonym("alice", "pepper")
    assert pseudonym("dependabot[bot]", "pepper") == pseudonym("dependabot", "pepper")
    assert pseudonym("alice", "pepper") != pseudonym("alice", "salt")
    assert all(n.startswith("dev-") and len(n) == 12 for n in names)
    assert "alice" not in {e.reviewer for e in team.network.edges}
    hidden = team_metrics(_team_data(), Settings(per_person="false"), WINDOW, [])
    assert hidden.people == ()
    assert hidden.network.edges == ()
    assert hidden.network.busiest_reviewer_share == 0.5


def test_velocity_per_iso_week_with_partial_weeks() -> None:
    # The window is Monday 2 November to Thursday 12 November: week of 2 Nov complete,
    # week of 9 Nov partial. Deployments on Monday (twice) and on the next Tuesday.
    team = team_metrics(_team_data(), Settings(), WINDOW, [h(1), h(2), h(24 * 8 + 1)])
    weeks = [(w.start.isoformat(), w.merged_prs, w.deployments, w.deployment_days, w.partial)
             for w in team.weeks]  # fmt: skip
    assert weeks == [("2026-11-02", 2, 2, 1, False), ("2026-11-09", 0, 1, 1, True)]


# ---- comparison -------------------------------------------------------------------------------


def test_mann_whitney_exact_matches_enumeration_and_published_values() -> None:
    males, females = [19, 22, 16, 29, 24], [20, 11, 17, 12]
    exact = mann_whitney_u(males, females)
    assert exact.u == 17
    assert exact.method == METHOD_EXACT
    assert exact.p_value == pytest.approx(0.1111111111111111)  # scipy's documented value
    # enumeration: every way of picking the first sample's ranks among 9
    pooled = sorted(males + females)
    u_values = [
        sum(1 for i in chosen for j in set(range(9)) - set(chosen) if pooled[i] > pooled[j])
        for chosen in combinations(range(9), 5)
    ]
    extreme = sum(1 for u in u_values if u >= 17 or u <= 20 - 17)
    assert exact.p_value == pytest.approx(extreme / math.comb(9, 5))


def test_mann_whitney_normal_approximation_with_ties() -> None:
    first, second = [1, 2, 2, 3, 4, 5, 6], [2, 3, 3, 7, 8, 9, 9, 10]
    result = mann_whitney_u(first, second)
    assert result.method == METHOD_NORMAL
    # ranks: 1:1, 2:(2,3,4)->3, 3:(5,6,7)->6, 4:8, 5:9, 6:10, 7:11, 8:12, 9:(13,14)->13.5, 10:15
    # R1 = 1+3+3+6+8+9+10 = 40; U1 = 40 - 28 = 12; mean 28
    # ties: three 2s, three 3s, two 9s: sum(t^3-t) = 24+24+6 = 54
    # variance = 56/12 * (16 - 54/210) = 73.4667; z = (16 - 0.5) / sqrt(variance)
    z = 15.5 / math.sqrt(56 / 12 * (16 - 54 / 210))
    assert result.u == 12
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert mann_whitney_u([1, 1], [1, 1]).p_value == 1.0


def test_no_significance_below_five_values_a_side() -> None:
    few = significance("cycle_time_hours", [1, 2, 3, 4], [5, 6, 7, 8, 9])
    assert few.p_value is None
    assert few.method is None
    assert few.note is not None
    enough = significance("cycle_time_hours", [1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert enough.p_value == pytest.approx(2 / math.comb(10, 5))  # the most extreme split


def test_before_after_a_date_windows_are_clipped_to_now() -> None:
    window = Window(T0, T0 + timedelta(days=10))
    before, after = comparison_windows(window, "2026-11-15", UTC, NOW) or (None, None)
    assert before == Window(h(13 * 24 - 10 * 24), h(13 * 24))
    assert after == Window(h(13 * 24), NOW)  # 13 Nov + 10 days is after now (22 Nov)
    assert comparison_windows(window, "2027-01-01", UTC, NOW) is None
    assert comparison_windows(window, "none", UTC, NOW) is None


def test_report_with_a_date_comparison_names_the_method_and_deltas() -> None:
    # five PRs merged before 2 Nov (cycle 10 h each), five after (cycle 2 h each)
    pulls = [make_pull(n, -200 + n * 10, -190 + n * 10) for n in range(1, 6)]
    pulls += [make_pull(n, n * 10, n * 10 + 2) for n in range(6, 11)]
    data = make_repo(pulls, linear())
    collection = Collection((data,), (), 0, 0)
    window = Window(T0, T0 + timedelta(days=10))
    report = build_report(collection, Settings(), window, "2026-11-02", NOW, "x")
    comparison = report.comparison
    assert comparison is not None
    assert comparison.mode == "date"
    assert report.previous is None
    cycle = next(s for s in comparison.significance if s.metric == "cycle_time_hours")
    assert cycle.method == METHOD_NORMAL  # all ties: 10 h five times, 2 h five times
    assert cycle.p_value is not None
    assert cycle.p_value < 0.05
    delta = next(d for d in comparison.deltas if d.metric == "cycle_time_hours")
    assert (delta.previous, delta.current, delta.direction) == (10, 2, "better")
    merged = next(d for d in comparison.deltas if d.metric == "merged_prs")
    assert merged.direction == "same"
    assert outputs(report)["cycle-time-hours"] == "2"
    document = snapshot(report, "1", "1")
    assert document["comparison"]["significance"][0]["method"] == METHOD_NORMAL


def test_merges_ship_the_direct_pushes_before_them() -> None:
    # Found on Flask, whose maintainers push to main between merges.
    # d1 is pushed to main at 1 h; PR #1 (first commit 0 h) is merged as m1 at 2 h, on top.
    commits = linear(("d1", None), ("m1", 1), start=1)
    data = make_repo([make_pull(1, 0, 2, 0)], commits)
    result = dora(data, source="merges")
    # PR #1: 0 -> 2 h; d1: authored 1 h, shipped by the merge of #1 at 2 h: 1 h.
    assert sorted(result.lead_times) == [1, 2]
