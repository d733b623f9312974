"""Coding agents in the demo organisation: the AI-assisted cohorts (SPEC §5).

Some merged pull requests people asked the Copilot coding agent for become agent-authored
(opened by ``Copilot``, a Bot, on a ``copilot/…`` branch, committed by copilot-swe-agent[bot]
with the person who asked as co-author); some people's pull requests become agent-assisted (a
commit by the agent, or one naming it in a ``Co-authored-by:`` trailer). The generator draws
the effects: agents' pull requests are smaller, get more rounds of requested changes and more
AI reviews. Every draw comes from this module's own ``random.Random``, seeded from the dataset
seed, so no other draw of the generator moves.

``mark_cohorts`` works on the plan before the world is written (so the pull request's author
and size are written as drawn); ``write_agent_work`` then edits the written commits and adds the
extra reviews with ids of their own, so no other object's id moves.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ghaction_metrics_dev.emulator.world import Repository, Review, User, World

if TYPE_CHECKING:
    from ghaction_metrics_dev.dataset.generate import _PullPlan, _RepoPlan

AGENT_LOGIN = "Copilot"  # the coding agent opens pull requests as this Bot
AGENT_COMMITTER = "copilot-swe-agent[bot]"
AGENT_EMAIL = "198982749+Copilot@users.noreply.github.com"
AGENT_TRAILER = f"Co-authored-by: Copilot <{AGENT_EMAIL}>"
AI_REVIEWER = "copilot-pull-request-reviewer[bot]"
AUTHORED_SHARE = 0.12  # of people's merged pull requests, asked of the agent instead
ASSISTED_SHARE = 0.15  # of the rest: a person's pull request the agent helped with
_REVIEW_IDS = 900_000_000  # extra reviews' ids: far above any id the world hands out


@dataclass
class AgentWork:
    """What the generator drew for one pull request of an agent cohort."""

    cohort: str  # agent-authored or agent-assisted
    requester: str  # the person who asked (agent-authored) or who opened it (agent-assisted)
    by_agent_commit: bool = False  # agent-assisted: a commit by the agent, not only a trailer
    extra_reviews: tuple[tuple[str, str, int, int], ...] = ()  # (login, state, at, comments)


def agent_users(world: World) -> None:
    """The agent's two accounts, with GitHub's ids (no id drawn: no other id moves)."""
    world.users[AGENT_LOGIN] = User(AGENT_LOGIN, 198982749, type="Bot")
    world.users[AGENT_COMMITTER] = User(
        AGENT_COMMITTER, 198982750, type="Bot", commit_email=AGENT_EMAIL
    )


def _eligible(pull: _PullPlan, deleted: str) -> bool:
    return (
        pull.merged is not None
        and pull.base == "main"
        and not pull.bot
        and pull.reverts is None
        and "hotfix" not in pull.labels
        and pull.author != deleted
        and pull.work is None
    )


def mark_cohorts(plan: _RepoPlan, seed: int, deleted: str) -> None:
    """Draw which people's merged pull requests are agents' work, and the agents' effects."""
    rng = random.Random(f"{seed}:agents:{plan.full_name}")
    for pull in sorted(plan.pulls, key=lambda p: p.created):
        if not _eligible(pull, deleted):
            continue
        roll = rng.random()
        if roll < AUTHORED_SHARE:
            _agent_authored(pull, rng)
        elif roll < AUTHORED_SHARE + ASSISTED_SHARE:
            pull.work = AgentWork("agent-assisted", pull.author, by_agent_commit=rng.random() < 0.5)


def _agent_authored(pull: _PullPlan, rng: random.Random) -> None:
    person = pull.author
    pull.author = AGENT_LOGIN
    pull.head_ref = "copilot/" + pull.head_ref.split("/", 1)[-1]
    # Smaller changes than people's.
    pull.additions = max(1, int(pull.additions * rng.uniform(0.2, 0.6)))
    pull.deletions = int(pull.deletions * rng.uniform(0.2, 0.6))
    # The person who asked speaks in the conversation as the requester; what the plan drew
    # for them as author (their own comments and thread answers) is dropped, so every
    # response and review the plan recorded stays what it was.
    pull.comments = [(login, at) for login, at in pull.comments if login != person]
    pull.reviews = [r for r in pull.reviews if r.author != person]
    extra: list[tuple[str, str, int, int]] = []
    reviewers = sorted({r.author for r in pull.reviews if not r.author.endswith("[bot]")})
    end = pull.merged or pull.created
    # More rounds of requested changes, all after the first review (which stays the first).
    if pull.first_review is not None and reviewers and end - pull.first_review > 4:
        for _ in range(rng.choice((1, 1, 2, 3))):
            at = rng.randint(pull.first_review + 1, end - 1)
            extra.append((rng.choice(reviewers), "CHANGES_REQUESTED", at, rng.randint(1, 6)))
    # Copilot code review reviews most agents' pull requests: never a human review.
    if end - pull.ready > 2 and rng.random() < 0.7:
        extra.append((AI_REVIEWER, "COMMENTED", rng.randint(pull.ready + 1, end - 1), 2))
    pull.work = AgentWork("agent-authored", person, extra_reviews=tuple(extra))


def _review_id(repository: str, number: int, index: int) -> int:
    digest = hashlib.sha256(f"{repository}#{number}:{index}".encode()).hexdigest()
    return _REVIEW_IDS + int(digest[:7], 16)


def _trailer(login: str, world: World) -> str:
    user = world.users[login]
    return f"Co-authored-by: {login} <{user.id}+{login}@users.noreply.github.com>"


def write_agent_work(plan: _RepoPlan, repo: Repository, world: World) -> None:
    """The agents' commits and extra reviews, in the written world."""
    written = {pr.number: pr for pr in repo.pull_requests}
    for pull in plan.pulls:
        work = pull.work
        if work is None or not pull.own_oids:
            continue
        if work.cohort == "agent-authored":
            for oid in pull.own_oids:
                commit = repo.commits[oid]
                commit.author = AGENT_COMMITTER
                commit.message = f"{commit.message}\n\n{_trailer(work.requester, world)}\n"
            pr = written[pull.number]
            for index, (login, state, at, comments) in enumerate(work.extra_reviews):
                pr.reviews.append(
                    Review(
                        id=_review_id(repo.full_name, pull.number, index),
                        author=login,
                        state=state,  # type: ignore[arg-type]
                        submitted_at=datetime.fromtimestamp(at, UTC),
                        body="See inline comments.",
                        comments=comments,
                    )
                )
            pr.reviews.sort(key=lambda r: (r.submitted_at, r.id))
        else:
            last = repo.commits[pull.own_oids[-1]]
            if work.by_agent_commit:
                last.author = AGENT_COMMITTER
                last.message = f"{last.message}\n\n{_trailer(work.requester, world)}\n"
            else:
                last.message = f"{last.message}\n\n{AGENT_TRAILER}\n"


def pull_truth(pull: _PullPlan) -> dict[str, Any]:
    """The ledger's cohort fields of a pull request, from what the plan drew (reviews by
    people other than the author; bots' reviews apart), never from the written world."""
    work = pull.work
    drawn: list[tuple[str, str, int]] = [(r.author, r.state, r.comments) for r in pull.reviews]
    if work is not None:
        drawn += [(login, state, comments) for login, state, _, comments in work.extra_reviews]
    people = [r for r in drawn if not r[0].endswith("[bot]") and r[0] != pull.author]
    return {
        "cohort": work.cohort if work is not None else "human",
        "requester": work.requester
        if work is not None and work.cohort == "agent-authored"
        else None,
        "size": pull.additions + pull.deletions,
        "changes_requested": sum(1 for r in people if r[1] == "CHANGES_REQUESTED"),
        "review_comments": sum(r[2] for r in people),
        "ai_reviews": sum(1 for r in drawn if r[0] == AI_REVIEWER),
    }
