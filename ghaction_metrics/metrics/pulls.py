"""Pull-request analytics (SPEC §5): cycle time and its stages, reviews, outcome and size.

The population is the pull requests into a counted base branch merged in the window, minus
bots (unless ``include-bots``) and ``exclude-authors``; the outcome figures use the pull
requests closed in the window, and the open ones at its end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.agents import HUMAN
from ghaction_metrics.metrics.bugs import NO_BUGS, BugRate, bug_rate
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.stats import EMPTY, Stat, hours, ratio
from ghaction_metrics.records import PullRequest, RepositoryData, Review

SIZE_BUCKETS = (("XS", 10), ("S", 50), ("M", 250), ("L", 1000), ("XL", None))


def size_bucket(lines: int) -> str:
    """XS < 10, S < 50, M < 250, L < 1000, XL ≥ 1000 lines (additions + deletions)."""
    for name, limit in SIZE_BUCKETS:
        if limit is None or lines < limit:
            return name
    raise AssertionError("unreachable: the last bucket has no limit")


@dataclass(frozen=True)
class SizeBucket:
    name: str
    merged: int
    cycle_time: Stat


@dataclass(frozen=True)
class ReviewDepth:
    reviews_per_pr: Stat  # reviews by someone other than the author
    comments_per_pr: Stat  # review comments in those reviews
    changes_requested_share: float | None
    unreviewed_share: float | None  # merged with no review by anyone but the author


@dataclass(frozen=True)
class Outcome:
    """Pull requests closed in the window: merged vs closed unmerged; open at its end."""

    closed: int
    merged: int
    closed_unmerged: int
    merged_share: float | None
    open_at_end: int
    open_age: Stat  # hours from creation to the window's end


@dataclass(frozen=True)
class PullRequestMetrics:
    merged: int
    cycle_time: Stat
    time_to_first_review: Stat
    excluded_bots: int
    excluded_authors: int
    negative_durations: int
    coding_time: Stat = EMPTY
    pickup_time: Stat = EMPTY
    review_time: Stat = EMPTY
    merge_time: Stat = EMPTY
    time_to_approval: Stat = EMPTY
    time_in_draft: Stat = EMPTY
    time_to_first_response: Stat = EMPTY
    bot_reviews: int = 0  # by bots and AI reviewers: never a first review, approval or response
    review_depth: ReviewDepth = field(default_factory=lambda: ReviewDepth(EMPTY, EMPTY, None, None))
    outcome: Outcome = field(default_factory=lambda: Outcome(0, 0, 0, None, 0, EMPTY))
    sizes: tuple[SizeBucket, ...] = ()
    cycle_times: tuple[float, ...] = ()  # for the before/after significance test
    first_review_times: tuple[float, ...] = ()
    first_response_times: tuple[float, ...] = ()
    # negative durations per figure (clock skew, reviews during draft, approvals after merge)
    negative_by_figure: tuple[tuple[str, int], ...] = ()
    bugs: BugRate = NO_BUGS  # bug reports per 100 of these merged pull requests (bugs.py)
    ai_assisted: int = 0  # merged pull requests that are agent-authored or agent-assisted


def touches(pull: PullRequest, window: Window) -> bool:
    """Whether anything of the pull request (creation, reviews, merge, close) can fall in the
    window or leave it open at the end: every event of it lies between its creation and its
    last update."""
    return pull.created_at < window.until and pull.updated_at >= window.since


def counted_pull(pull: PullRequest, repo: RepositoryData, settings: Settings) -> bool:
    return settings.counts_base(pull, repo.info.default_branch) and settings.counts_author(
        pull.author
    )


def merged_population(
    repositories: Sequence[RepositoryData], settings: Settings, window: Window
) -> tuple[list[PullRequest], int, int]:
    """Pull requests merged in the window into counted base branches, minus left-out authors."""
    population: list[PullRequest] = []
    bots = excluded = 0
    for repo in repositories:
        for pull in repo.pull_requests:
            if pull.merged_at is None or pull.merged_at not in window:
                continue
            if not settings.counts_base(pull, repo.info.default_branch):
                continue
            if settings.left_out_bot(pull.author):
                bots += 1
                continue
            if not settings.counts_author(pull.author):
                excluded += 1
                continue
            population.append(pull)
    return population, bots, excluded


def reviews_by_others(pull: PullRequest, settings: Settings) -> list[Review]:
    """Reviews by someone other than the author whose reviews count. A bot's or an AI
    reviewer's review (Copilot code review is a Bot) never counts, even with include-bots:
    it says nothing about when a person picked the change up."""
    return [
        review
        for review in pull.reviews
        if review.submitted_at is not None
        and not review.author.is_bot
        and review.author.login.lower() != pull.author.login.lower()
        and settings.counts_author(review.author)
    ]


def bot_reviews(pull: PullRequest) -> int:
    return sum(1 for review in pull.reviews if review.author.is_bot)


def first_response_at(pull: PullRequest, settings: Settings) -> datetime | None:
    """The first comment or review after the pull request became ready, by someone other
    than its author (a bot's comment only with include-bots, a bot's review never)."""
    times = [
        comment.created_at
        for comment in pull.comments
        if comment.author.login.lower() != pull.author.login.lower()
        and settings.counts_author(comment.author)
        and comment.created_at >= pull.ready_at
    ]
    reviewed = first_review_at(pull, settings)
    if reviewed is not None:
        times.append(reviewed)
    return min(times) if times else None


def first_review_at(pull: PullRequest, settings: Settings) -> datetime | None:
    """The first review after the pull request became ready, by someone other than its author."""
    times = [
        review.submitted_at
        for review in reviews_by_others(pull, settings)
        if review.submitted_at is not None and review.submitted_at >= pull.ready_at
    ]
    return min(times) if times else None


def first_approval_at(pull: PullRequest, settings: Settings) -> datetime | None:
    times = [
        review.submitted_at
        for review in reviews_by_others(pull, settings)
        if review.state == "APPROVED"
        and review.submitted_at is not None
        and review.submitted_at >= pull.ready_at
    ]
    return min(times) if times else None


def last_approval_at(pull: PullRequest, settings: Settings) -> datetime | None:
    """The last approval before the merge; an approval given only after it counts as
    that (its merge time is then negative and left out)."""
    approvals = [
        review.submitted_at
        for review in reviews_by_others(pull, settings)
        if review.state == "APPROVED" and review.submitted_at is not None
    ]
    if not approvals:
        return None
    merged = pull.merged_at
    before = [t for t in approvals if merged is None or t <= merged]
    return max(before) if before else min(approvals)


class _Figure:
    """Values of one duration figure with its negative ones counted, not used."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.values: list[float] = []
        self.negative = 0

    def add(self, start: datetime | None, end: datetime | None) -> None:
        if start is None or end is None:
            return
        value = hours(end - start)
        if value < 0:
            self.negative += 1
        else:
            self.values.append(value)

    def stat(self) -> Stat:
        return Stat.of(self.values)


def pull_request_metrics(
    repositories: Sequence[RepositoryData], settings: Settings, window: Window
) -> PullRequestMetrics:
    population, bots, excluded = merged_population(repositories, settings, window)
    cycle, coding, pickup = _Figure("cycle"), _Figure("coding"), _Figure("pickup")
    review, merge = _Figure("review"), _Figure("merge")
    first_review, approval, draft = (
        _Figure("first_review"),
        _Figure("approval"),
        _Figure("draft"),
    )
    response = _Figure("first_response")
    by_bots = 0
    reviews_per_pr: list[float] = []
    comments_per_pr: list[float] = []
    changes_requested = unreviewed = 0
    by_size: dict[str, list[float]] = {name: [] for name, _ in SIZE_BUCKETS}
    size_counts: dict[str, int] = {name: 0 for name, _ in SIZE_BUCKETS}
    for pull in population:
        merged = pull.merged_at
        assert merged is not None
        cycle.add(pull.created_at, merged)
        coding.add(pull.first_commit_at, pull.created_at)
        reviewed = first_review_at(pull, settings)
        last_approval = last_approval_at(pull, settings)
        pickup.add(pull.ready_at, reviewed)
        first_review.add(pull.ready_at, reviewed)
        response.add(pull.ready_at, first_response_at(pull, settings))
        by_bots += bot_reviews(pull)
        review.add(reviewed, last_approval)
        merge.add(last_approval, merged)
        approval.add(pull.ready_at, first_approval_at(pull, settings))
        if pull.ready_for_review_at:
            draft.add(pull.created_at, pull.ready_at)
        others = reviews_by_others(pull, settings)
        reviews_per_pr.append(len(others))
        comments_per_pr.append(sum(r.comments for r in others))
        if any(r.state == "CHANGES_REQUESTED" for r in others):
            changes_requested += 1
        if not others:
            unreviewed += 1
        bucket = size_bucket(pull.additions + pull.deletions)
        size_counts[bucket] += 1
        value = hours(merged - pull.created_at)
        if value >= 0:
            by_size[bucket].append(value)
    count = len(population)
    figures = (cycle, coding, pickup, review, merge, first_review, approval, draft, response)
    return PullRequestMetrics(
        merged=count,
        cycle_time=cycle.stat(),
        time_to_first_review=first_review.stat(),
        excluded_bots=bots,
        excluded_authors=excluded,
        negative_durations=cycle.negative,
        coding_time=coding.stat(),
        pickup_time=pickup.stat(),
        review_time=review.stat(),
        merge_time=merge.stat(),
        time_to_approval=approval.stat(),
        time_in_draft=draft.stat(),
        time_to_first_response=response.stat(),
        bot_reviews=by_bots,
        review_depth=ReviewDepth(
            reviews_per_pr=Stat.of(reviews_per_pr),
            comments_per_pr=Stat.of(comments_per_pr),
            changes_requested_share=ratio(changes_requested, count),
            unreviewed_share=ratio(unreviewed, count),
        ),
        outcome=pull_outcome(repositories, settings, window),
        sizes=tuple(
            SizeBucket(name, size_counts[name], Stat.of(by_size[name])) for name, _ in SIZE_BUCKETS
        ),
        cycle_times=tuple(cycle.values),
        first_review_times=tuple(first_review.values),
        first_response_times=tuple(response.values),
        negative_by_figure=tuple((f.name, f.negative) for f in figures if f.negative),
        bugs=bug_rate(repositories, population, window, settings.timezone),
        ai_assisted=sum(settings.agents.cohort(pull) != HUMAN for pull in population),
    )


def pull_outcome(
    repositories: Sequence[RepositoryData], settings: Settings, window: Window
) -> Outcome:
    closed = merged = 0
    open_ages: list[float] = []
    for repo in repositories:
        for pull in repo.pull_requests:
            if not touches(pull, window) or not counted_pull(pull, repo, settings):
                continue
            ended = pull.merged_at or pull.closed_at
            if ended is not None and ended in window:
                closed += 1
                merged += pull.merged_at is not None
            if pull.created_at < window.until and (ended is None or ended >= window.until):
                open_ages.append(hours(window.until - pull.created_at))
    return Outcome(
        closed=closed,
        merged=merged,
        closed_unmerged=closed - merged,
        merged_share=ratio(merged, closed),
        open_at_end=len(open_ages),
        open_age=Stat.of(open_ages),
    )
