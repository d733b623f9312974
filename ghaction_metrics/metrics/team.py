"""Team metrics (SPEC §5): activity per person, the review network, and weekly velocity.

Per-person figures are activity, sorted by name, never a ranking. ``per-person: anonymous``
replaces each login by a pseudonym: an HMAC of the login keyed by ``pseudonym-salt``, stable
across runs with the same salt and meaningless without it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.agents import person_key
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.pulls import (
    counted_pull,
    merged_population,
    reviews_by_others,
    touches,
)
from ghaction_metrics.metrics.stats import Stat, hours, median
from ghaction_metrics.records import Actor, PullRequest, RepositoryData

PSEUDONYM_PREFIX = "dev-"


def pseudonym(login: str, salt: str) -> str:
    """A stable pseudonym for ``login``: ``dev-`` and 8 hex digits of HMAC-SHA256(salt, login).

    Logins are compared without case and without a ``[bot]`` suffix, like everywhere else.
    """
    key = Actor.from_login(login).login.lower().encode("utf-8")
    digest = hmac.new(salt.encode("utf-8"), key, hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:8]


def namer(settings: Settings) -> Callable[[str], str]:
    if settings.per_person == "anonymous":
        salt = settings.pseudonym_salt
        return lambda login: pseudonym(login, salt)
    return lambda login: login


@dataclass(frozen=True)
class PersonActivity:
    name: str  # login, or pseudonym with per-person: anonymous
    opened: int
    merged: int
    reviews_given: int
    commits: int  # to the default branch, authored in the window
    cycle_time_median: float | None
    lines_changed: int  # additions + deletions of their merged pull requests


@dataclass(frozen=True)
class ReviewEdge:
    reviewer: str
    author: str
    reviews: int


@dataclass(frozen=True)
class ReviewNetwork:
    edges: tuple[ReviewEdge, ...]  # sorted by reviewer, then author; empty unless per-person
    reviews: int  # reviews of someone else's pull request, submitted in the window
    busiest_reviewer_share: float | None  # share of those done by the one who did the most
    distinct_reviewers: Stat  # per merged pull request


@dataclass(frozen=True)
class Week:
    start: date  # the Monday, in ``timezone``
    merged_prs: int
    deployments: int
    deployment_days: int
    partial: bool  # the week is cut by the window's start or end


@dataclass(frozen=True)
class TeamMetrics:
    mode: str  # per-person: true, false or anonymous
    people: tuple[PersonActivity, ...]  # empty when per-person is false
    network: ReviewNetwork
    weeks: tuple[Week, ...]


def team_metrics(
    repositories: Sequence[RepositoryData],
    settings: Settings,
    window: Window,
    deployments: Sequence[datetime],
) -> TeamMetrics:
    name = namer(settings)
    population, _, _ = merged_population(repositories, settings, window)
    people = (
        _people(repositories, population, settings, window, name)
        if settings.per_person != "false"
        else ()
    )
    return TeamMetrics(
        mode=settings.per_person,
        people=people,
        network=_network(repositories, population, settings, window, name),
        weeks=velocity(population, settings, window, deployments),
    )


def _people(
    repositories: Sequence[RepositoryData],
    population: Sequence[PullRequest],
    settings: Settings,
    window: Window,
    name: Callable[[str], str],
) -> tuple[PersonActivity, ...]:
    opened: Counter[str] = Counter()
    merged: Counter[str] = Counter()
    reviews: Counter[str] = Counter()
    commits: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    cycles: dict[str, list[float]] = {}
    for pull in population:
        assert pull.merged_at is not None
        who = pull.author.login
        merged[who] += 1
        lines[who] += pull.additions + pull.deletions
        value = hours(pull.merged_at - pull.created_at)
        if value >= 0:
            cycles.setdefault(who, []).append(value)
    for repo in repositories:
        for pull in repo.pull_requests:
            if not touches(pull, window) or not counted_pull(pull, repo, settings):
                continue
            if pull.created_at in window:
                opened[pull.author.login] += 1
            for review in reviews_by_others(pull, settings):
                if review.submitted_at is not None and review.submitted_at in window:
                    reviews[review.author.login] += 1
        for commit in repo.commits:
            author = commit.author
            if author is None or not settings.counts_author(author):
                continue
            if commit.authored_at in window:
                commits[author.login] += 1
    # Logins can differ in case between APIs, and an agent commits under another name than
    # it opens pull requests with; one person (or agent), one row, named as on their pull
    # requests and reviews where they have any.
    folded: dict[str, str] = {}
    for counter in (opened, merged, reviews, commits):
        for login in sorted(counter):
            folded.setdefault(person_key(login), login)

    def total(counter: Counter[str], key: str) -> int:
        return sum(v for k, v in counter.items() if person_key(k) == key)

    rows = [
        PersonActivity(
            name=name(login),
            opened=total(opened, key),
            merged=total(merged, key),
            reviews_given=total(reviews, key),
            commits=total(commits, key),
            cycle_time_median=median(
                [v for k, vs in cycles.items() if person_key(k) == key for v in vs]
            ),
            lines_changed=total(lines, key),
        )
        for key, login in folded.items()
    ]
    return tuple(sorted(rows, key=lambda row: row.name.lower()))


def _network(
    repositories: Sequence[RepositoryData],
    population: Sequence[PullRequest],
    settings: Settings,
    window: Window,
    name: Callable[[str], str],
) -> ReviewNetwork:
    pairs: Counter[tuple[str, str]] = Counter()
    by_reviewer: Counter[str] = Counter()
    for repo in repositories:
        for pull in repo.pull_requests:
            if not touches(pull, window) or not counted_pull(pull, repo, settings):
                continue
            for review in reviews_by_others(pull, settings):
                if review.submitted_at is None or review.submitted_at not in window:
                    continue
                reviewer = review.author.login.lower()
                pairs[(reviewer, pull.author.login.lower())] += 1
                by_reviewer[reviewer] += 1
    total = sum(by_reviewer.values())
    distinct = Stat.of(
        len({r.author.login.lower() for r in reviews_by_others(pull, settings)})
        for pull in population
    )
    edges: tuple[ReviewEdge, ...] = ()
    if settings.per_person != "false":
        edges = tuple(
            sorted(
                (ReviewEdge(name(a), name(b), n) for (a, b), n in pairs.items()),
                key=lambda e: (e.reviewer.lower(), e.author.lower()),
            )
        )
    return ReviewNetwork(
        edges=edges,
        reviews=total,
        busiest_reviewer_share=max(by_reviewer.values()) / total if total else None,
        distinct_reviewers=distinct,
    )


def velocity(
    population: Sequence[PullRequest],
    settings: Settings,
    window: Window,
    deployments: Sequence[datetime],
) -> tuple[Week, ...]:
    """Merged pull requests and deployments per ISO week (Monday to Sunday in ``timezone``)."""
    zone = settings.timezone

    def monday(moment: datetime) -> date:
        day = moment.astimezone(zone).date()
        return day - timedelta(days=day.weekday())

    first, last = monday(window.since), monday(window.until - timedelta(microseconds=1))
    weeks: list[date] = []
    current = first
    while current <= last:
        weeks.append(current)
        current += timedelta(days=7)
    merged: Counter[date] = Counter()
    for pull in population:
        assert pull.merged_at is not None
        merged[monday(pull.merged_at)] += 1
    deployed: Counter[date] = Counter()
    days: dict[date, set[date]] = {}
    for moment in deployments:
        if moment not in window:
            continue
        deployed[monday(moment)] += 1
        days.setdefault(monday(moment), set()).add(moment.astimezone(zone).date())
    result = []
    for start in weeks:
        begins = datetime.combine(start, time(0, 0), tzinfo=zone)
        ends = datetime.combine(start + timedelta(days=7), time(0, 0), tzinfo=zone)
        result.append(
            Week(
                start=start,
                merged_prs=merged[start],
                deployments=deployed[start],
                deployment_days=len(days.get(start, ())),
                partial=begins < window.since or ends > window.until,
            )
        )
    return tuple(result)
