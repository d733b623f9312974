"""AI-assisted cohorts (SPEC §5): who is an agent, which cohort a pull request is in, and the
figures of each cohort, on hand-built records."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from metric_records import ALICE, BOB, h, linear, pull, repo, review

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.agents import Agents
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.cohorts import cohort_metrics
from ghaction_metrics.metrics.dora import ship
from ghaction_metrics.metrics.pulls import pull_request_metrics
from ghaction_metrics.records import Actor, PullRequest

COPILOT = Actor("Copilot", is_bot=True)
REVIEWER = Actor("copilot-pull-request-reviewer", is_bot=True)
DEPENDABOT = Actor("dependabot", is_bot=True)
WINDOW = Window(h(0), h(24 * 7))
ASSISTED = "agent-assisted"


def _with(
    pull_request: PullRequest, authors: tuple[str, ...], trailers: tuple[str, ...] = ()
) -> PullRequest:
    return dataclasses.replace(pull_request, commit_authors=authors, co_authors=trailers)


def _agent_pull(number: int, created: float, merged: float, asked_by: str = "alice") -> PullRequest:
    return _with(
        pull(number, created, merged, author=COPILOT, size=(30, 10)),
        ("copilot-swe-agent", "198982749+copilot@users.noreply.github.com"),
        (f"{asked_by} <1234+{asked_by}@users.noreply.github.com>",),
    )


@pytest.mark.parametrize(
    ("authors", "trailers", "extra", "cohort"),
    [
        (("alice", "alice@example.com"), (), (), "human"),
        (("copilot-swe-agent",), (), (), "agent-assisted"),
        (
            ("alice",),
            ("Copilot <198982749+Copilot@users.noreply.github.com>",),
            (),
            "agent-assisted",
        ),
        (("alice",), ("Bob <bob@example.com>",), (), "human"),
        # ai-authors: a login (any case, with or without [bot]), an e-mail or a trailer name
        (("devin-ai-integration",), (), ("Devin-AI-Integration[bot]",), "agent-assisted"),
        (
            ("alice",),
            ("Claude <noreply@anthropic.com>",),
            ("noreply@anthropic.com",),
            "agent-assisted",
        ),
        (("alice",), ("Claude <noreply@anthropic.com>",), ("claude",), "agent-assisted"),
        (("alice",), ("Claude <noreply@anthropic.com>",), (), "human"),
    ],
)
def test_a_person_s_pull_request_is_agent_assisted_when_a_commit_names_an_agent(
    authors: tuple[str, ...], trailers: tuple[str, ...], extra: tuple[str, ...], cohort: str
) -> None:
    assert Agents.of(extra).cohort(_with(pull(1, 0, 5), authors, trailers)) == cohort


def test_the_copilot_agent_s_pull_request_is_agent_authored_and_names_who_asked() -> None:
    agents = Agents.of(())
    agent_pull = _agent_pull(1, 0, 5, asked_by="kpatel")
    assert agents.cohort(agent_pull) == "agent-authored"
    assert agents.requesters(agent_pull) == ("kpatel",)
    plain = _with(agent_pull, agent_pull.commit_authors, ("Kim Patel <kim@example.com>",))
    assert agents.requesters(plain) == ("Kim Patel",)


def test_agents_count_in_pull_request_figures_other_bots_do_not() -> None:
    pulls = [
        _agent_pull(1, 0, 10),
        pull(2, 0, 20, author=DEPENDABOT),
        pull(3, 0, 30),
    ]
    data = repo(pulls, linear(("m1", 1), ("m2", 2), ("m3", 3)))
    metrics = pull_request_metrics([data], Settings(), WINDOW)
    assert metrics.merged == 2
    assert metrics.excluded_bots == 1
    assert metrics.ai_assisted == 1
    assert metrics.cycle_time.median == 20.0


def test_figures_per_cohort() -> None:
    reviews = (
        review(BOB, "CHANGES_REQUESTED", 2, comments=3),
        review(BOB, "CHANGES_REQUESTED", 4, comments=1),
        review(REVIEWER, "COMMENTED", 1, comments=5),
        # A lint bot's review is neither a person's nor an AI reviewer's.
        review(Actor("github-actions", is_bot=True), "COMMENTED", 1, comments=1),
        review(BOB, "APPROVED", 6),
    )
    pulls = [
        dataclasses.replace(_agent_pull(1, 0, 10), reviews=reviews, review_count=5),
        dataclasses.replace(_agent_pull(2, 0, 30, asked_by="kpatel"), review_count=0),
        _with(pull(3, 0, 4, size=(100, 0)), ("alice",), ("Copilot <x@example.com>",)),
        pull(4, 0, 2, author=BOB, reviews=(review(ALICE, "APPROVED", 1, comments=2),)),
        pull(5, 0, 6, labels=("hotfix",)),
        pull(6, 0, 12, title='Revert "Change 1"', body="Reverts acme/app#1"),
    ]
    # The history in merge order, so each merge ships its own pull request only.
    data = repo(pulls, linear(*((f"m{n}", n) for n in (4, 3, 5, 1, 6, 2))))
    settings = Settings(deployment_source="merges")
    shipping = [ship(data, settings, "merges", ())]
    found = cohort_metrics([data], settings, WINDOW, shipping)
    authored = found.by_name("agent-authored").readings()
    assert {k: (v.value, v.n) for k, v in authored.items()} == {
        "merged": (2, 2),
        "share": (2 / 6, 6),
        "cycle_time_hours": (20.0, 2),
        "time_to_first_response_hours": (2.0, 1),
        "review_rounds": (1.0, 2),
        "review_comments_per_pr": (2.0, 2),
        "size_lines": (40.0, 2),
        # merges: shipped at the merge; lead time from the earliest commit (creation here)
        "lead_time_hours": (20.0, 2),
        # #1 is reverted by #6; no hotfix follows #2
        "reverted_or_hotfixed_share": (0.5, 2),
        "ai_reviews": (1, 2),
    }
    assert found.by_name("agent-authored").requesters == (("alice", 1), ("kpatel", 1))
    assert found.by_name("agent-assisted").merged == 1
    human = found.by_name("human").readings()
    assert human["merged"].value == 3
    # merges in order #4, #3, #5 (a hotfix), #1, #6, #2: #3 was hotfixed, no human change
    assert found.by_name("agent-assisted").readings()["reverted_or_hotfixed_share"].value == 1.0
    assert human["reverted_or_hotfixed_share"].value == 0.0
    assert found.ai_assisted_share.value == 3 / 6
    (week,) = found.weeks
    assert (week.start, week.merged, week.agent_authored, week.agent_assisted) == (
        h(0).date(),
        6,
        2,
        1,
    )


@pytest.mark.parametrize(
    ("reviewer", "extra", "ai"),
    [
        (REVIEWER, (), True),
        (Actor("copilot-pull-request-reviewer[bot]", is_bot=True), (), True),
        (DEPENDABOT, (), False),
        (Actor("github-actions", is_bot=True), (), False),
        (Actor("coderabbitai", is_bot=True), ("coderabbitai",), True),
        (BOB, (), False),
    ],
)
def test_ai_reviews_are_copilot_code_review_s_and_the_named_agents_only(
    reviewer: Actor, extra: tuple[str, ...], ai: bool
) -> None:
    assert Agents.of(extra).reviews_as_ai(reviewer) is ai


def test_an_empty_cohort_is_no_data_with_n_zero() -> None:
    data = repo([pull(1, 0, 5)], linear(("m1", 1)))
    found = cohort_metrics([data], Settings(), WINDOW, [])
    authored = found.by_name("agent-authored").readings()
    assert authored["merged"].value == 0
    assert authored["cycle_time_hours"].value is None
    assert authored["reverted_or_hotfixed_share"].value is None
    assert all(r.n == 0 for k, r in authored.items() if k != "share")
    empty = cohort_metrics([repo([], [])], Settings(), WINDOW, [])
    assert empty.ai_assisted_share.value is None


def test_weeks_follow_the_timezone() -> None:
    zone = ZoneInfo("Pacific/Auckland")
    # Merged on Sunday 23:00 UTC, which is Monday in Auckland.
    late = _agent_pull(1, 0, 24 * 6 + 23)
    data = repo([late], linear(("m1", 1)))
    found = cohort_metrics([data], Settings(timezone=zone), WINDOW, [])
    (week,) = found.weeks
    assert week.start == (h(0) + timedelta(days=7)).date()
    assert week.partial  # the window ends at its first hours
