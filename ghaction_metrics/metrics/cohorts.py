"""Figures per AI-assisted cohort (SPEC §5 "AI-assisted work").

The population is the pull-request population (merged in the window into a counted base
branch, left-out authors and bots other than coding agents excluded), split by
``agents.Agents.cohort``. A difference between cohorts is an association, not an effect:
the work given to agents differs from the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import fmean

from ghaction_metrics.inputs.windows import Window, midnight
from ghaction_metrics.metrics.agents import AGENT_ASSISTED, AGENT_AUTHORED, COHORTS, HUMAN, Agents
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.compare import Significance, significance
from ghaction_metrics.metrics.dora import Shipping
from ghaction_metrics.metrics.pulls import first_response_at, merged_population, reviews_by_others
from ghaction_metrics.metrics.stats import Stat, hours, ratio
from ghaction_metrics.metrics.team import namer
from ghaction_metrics.records import PullRequest, RepositoryData


@dataclass(frozen=True)
class Reading:
    value: float | int | None
    n: int


@dataclass(frozen=True)
class Cohort:
    name: str
    merged: int
    share: Reading  # of every merged pull request
    cycle_time: Stat
    time_to_first_response: Stat
    review_rounds: Reading  # changes-requested reviews per pull request (mean)
    review_comments_per_pr: Reading  # mean
    size: Stat  # lines (additions + deletions)
    lead_time: Stat  # of its changes shipped in the window
    reverted_or_hotfixed: Reading  # share of its merged pull requests
    ai_reviews: Reading  # reviews by AI reviewers on its pull requests; n = merged
    requesters: tuple[tuple[str, int], ...] = ()  # agent-authored: who asked, how often
    cycle_times: tuple[float, ...] = ()  # for the before/after significance test
    first_response_times: tuple[float, ...] = ()
    lead_times: tuple[float, ...] = ()

    def readings(self) -> dict[str, Reading]:
        """Every figure by its snapshot name (snake_case), each with its n."""

        def median(stat: Stat) -> Reading:
            return Reading(stat.median, stat.n)

        return {
            "merged": Reading(self.merged, self.merged),
            "share": self.share,
            "cycle_time_hours": median(self.cycle_time),
            "time_to_first_response_hours": median(self.time_to_first_response),
            "review_rounds": self.review_rounds,
            "review_comments_per_pr": self.review_comments_per_pr,
            "size_lines": median(self.size),
            "lead_time_hours": median(self.lead_time),
            "reverted_or_hotfixed_share": self.reverted_or_hotfixed,
            "ai_reviews": self.ai_reviews,
        }


@dataclass(frozen=True)
class AdoptionWeek:
    start: date  # the week's Monday in ``timezone``
    merged: int
    agent_authored: int
    agent_assisted: int
    partial: bool = False  # the week is cut by the window's start or end

    @property
    def share(self) -> float | None:
        return ratio(self.agent_authored + self.agent_assisted, self.merged)


@dataclass(frozen=True)
class CohortMetrics:
    cohorts: tuple[Cohort, ...]  # in COHORTS order
    weeks: tuple[AdoptionWeek, ...] = ()

    def by_name(self, name: str) -> Cohort:
        return next(c for c in self.cohorts if c.name == name)

    @property
    def ai_assisted_share(self) -> Reading:
        total = sum(c.merged for c in self.cohorts)
        agents = sum(c.merged for c in self.cohorts if c.name != HUMAN)
        return Reading(ratio(agents, total), total)


def _mean(values: Sequence[float]) -> Reading:
    return Reading(fmean(values) if values else None, len(values))


def _durations(pairs: Sequence[tuple[datetime, datetime | None]]) -> list[float]:
    """Hours of each pair; negative ones (clock skew) are left out, as everywhere."""
    values = [hours(end - start) for start, end in pairs if end is not None]
    return [v for v in values if v >= 0]


def _reverted_or_hotfixed(shipping: Sequence[Shipping]) -> set[tuple[str, str]]:
    """(repository, change key) of every change later reverted, or shipped first by a
    deployment whose next one in the same environment ships a hotfix."""
    found: set[tuple[str, str]] = set()
    for done in shipping:
        name = done.repository.lower()
        for change in done.changes.values():
            if change.reverts is not None:
                found.add((name, change.reverts))
        last: dict[str, int] = {}
        shipped_first: dict[str, int] = {}
        following: dict[int, int] = {}
        for index, event in enumerate(done.events):
            if event.environment in last:
                following[last[event.environment]] = index
            last[event.environment] = index
            for key in event.ships:
                shipped_first.setdefault(key, index)
        for key, index in shipped_first.items():
            after = following.get(index)
            if after is None:
                continue
            ships = done.events[after].ships
            if any(done.changes[k].is_hotfix for k in ships if k in done.changes):
                found.add((name, key))
    return found


def _lead_times(shipping: Sequence[Shipping], window: Window) -> dict[tuple[str, int], float]:
    """(repository, number) → lead time of each pull request first shipped in the window."""
    found: dict[tuple[str, int], float] = {}
    for done in shipping:
        for key, change in done.changes.items():
            shipped_at = done.first_ship.get(key)
            if change.pull is None or shipped_at is None or shipped_at not in window:
                continue
            value = hours(shipped_at - change.started_at)
            if value >= 0:
                found[(done.repository.lower(), change.pull.number)] = value
    return found


def _monday(moment: datetime, settings: Settings) -> date:
    day = moment.astimezone(settings.timezone).date()
    return day - timedelta(days=day.weekday())


def cohort_metrics(
    repositories: Sequence[RepositoryData],
    settings: Settings,
    window: Window,
    shipping: Sequence[Shipping],
) -> CohortMetrics:
    population, _, _ = merged_population(repositories, settings, window)
    members: dict[str, list[PullRequest]] = {name: [] for name in COHORTS}
    for pull in population:
        members[settings.agents.cohort(pull)].append(pull)
    later = _reverted_or_hotfixed(shipping)
    lead = _lead_times(shipping, window)
    # Lead time counts the pull requests shipped in the window, whenever merged.
    shipped: dict[str, list[float]] = {name: [] for name in COHORTS}
    for repo in repositories:
        for pull in repo.pull_requests:
            value = lead.get((repo.info.full_name.lower(), pull.number))
            if value is None or pull.merged_at is None:
                continue
            if not settings.counts_author(pull.author):
                continue
            shipped[settings.agents.cohort(pull)].append(value)
    total = len(population)
    cohorts = []
    for name in COHORTS:
        pulls = members[name]
        count = len(pulls)
        cycle = _durations([(p.created_at, p.merged_at) for p in pulls])
        response = _durations([(p.ready_at, first_response_at(p, settings)) for p in pulls])
        rounds = [
            float(sum(r.state == "CHANGES_REQUESTED" for r in reviews_by_others(p, settings)))
            for p in pulls
        ]
        comments = [float(sum(r.comments for r in reviews_by_others(p, settings))) for p in pulls]
        redone = sum((p.repository.lower(), f"pr:{p.number}") in later for p in pulls)
        asked: Counter[str] = Counter()
        if name == AGENT_AUTHORED and settings.per_person != "false":
            # Who asked is a person: named as per-person names people (a pseudonym with
            # anonymous), and not at all with per-person false.
            name_of = namer(settings)
            for pull in pulls:
                asked.update(name_of(who) for who in settings.agents.requesters(pull))
        cohorts.append(
            Cohort(
                name=name,
                merged=count,
                share=Reading(ratio(count, total), total),
                cycle_time=Stat.of(cycle),
                time_to_first_response=Stat.of(response),
                review_rounds=_mean(rounds),
                review_comments_per_pr=_mean(comments),
                size=Stat.of([float(p.additions + p.deletions) for p in pulls]),
                lead_time=Stat.of(shipped[name]),
                reverted_or_hotfixed=Reading(ratio(redone, count), count),
                ai_reviews=Reading(sum(_ai_reviews(p, settings.agents) for p in pulls), count),
                requesters=tuple(sorted(asked.items(), key=lambda i: (-i[1], i[0].lower()))),
                cycle_times=tuple(cycle),
                first_response_times=tuple(response),
                lead_times=tuple(shipped[name]),
            )
        )
    return CohortMetrics(tuple(cohorts), _weeks(population, settings, window))


def _ai_reviews(pull: PullRequest, agents: Agents) -> int:
    """Reviews by AI reviewers (Copilot code review, or an ``ai-authors`` identity)."""
    return sum(1 for review in pull.reviews if agents.reviews_as_ai(review.author))


def _weeks(
    population: Sequence[PullRequest], settings: Settings, window: Window
) -> tuple[AdoptionWeek, ...]:
    counts: dict[date, Counter[str]] = {}
    for pull in population:
        assert pull.merged_at is not None
        counts.setdefault(_monday(pull.merged_at, settings), Counter())[
            settings.agents.cohort(pull)
        ] += 1
    return tuple(
        AdoptionWeek(
            start=start,
            merged=sum(found.values()),
            agent_authored=found[AGENT_AUTHORED],
            agent_assisted=found[AGENT_ASSISTED],
            partial=midnight(start, settings.timezone) < window.since
            or midnight(start + timedelta(days=7), settings.timezone) > window.until,
        )
        for start, found in sorted(counts.items())
    )


# The figures the before/after comparison tests, as the overall comparison does.
TESTED = (
    ("cycle_time_hours", "cycle_times"),
    ("time_to_first_response_hours", "first_response_times"),
    ("lead_time_hours", "lead_times"),
)


@dataclass(frozen=True)
class CohortChange:
    """One cohort's figure before and after ``compare-to``, with its significance."""

    cohort: str
    metric: str
    before: Reading
    after: Reading
    significance: Significance


def cohort_changes(before: CohortMetrics, after: CohortMetrics) -> tuple[CohortChange, ...]:
    """Per cohort, the tested figures' medians before and after, each with the Mann-Whitney
    test of the overall comparison (below n = 5 on a side, no significance claimed)."""
    found = []
    for name in COHORTS:
        then, now = before.by_name(name), after.by_name(name)
        for metric, values in TESTED:
            old, new = getattr(then, values), getattr(now, values)
            found.append(
                CohortChange(
                    cohort=name,
                    metric=metric,
                    before=then.readings()[metric],
                    after=now.readings()[metric],
                    significance=significance(metric, old, new),
                )
            )
    return tuple(found)
