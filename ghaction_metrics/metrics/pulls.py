"""Pull-request analytics over the pull requests merged in the window (SPEC §5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models import PullRequest, RepositoryData
from ..windows import Window
from .changes import Settings
from .stats import Stat, hours


@dataclass(frozen=True)
class PullRequestMetrics:
    merged: int
    cycle_time: Stat
    time_to_first_review: Stat
    excluded_bots: int
    excluded_authors: int
    negative_durations: int


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
            if pull.author.is_bot and not settings.include_bots:
                bots += 1
                continue
            if not settings.counts_author(pull.author):
                excluded += 1
                continue
            population.append(pull)
    return population, bots, excluded


def first_review_at(pull: PullRequest, settings: Settings) -> datetime | None:
    """The first review after the pull request became ready, by someone other than its author."""
    times = [
        review.submitted_at
        for review in pull.reviews
        if review.submitted_at is not None
        and review.submitted_at >= pull.ready_at
        and review.author.login != pull.author.login
        and settings.counts_author(review.author)
    ]
    return min(times) if times else None


def pull_request_metrics(
    repositories: Sequence[RepositoryData], settings: Settings, window: Window
) -> PullRequestMetrics:
    population, bots, excluded = merged_population(repositories, settings, window)
    negative = 0
    cycle: list[float] = []
    first_review: list[float] = []
    for pull in population:
        assert pull.merged_at is not None
        value = hours(pull.merged_at - pull.created_at)
        if value < 0:
            negative += 1
        else:
            cycle.append(value)
        reviewed = first_review_at(pull, settings)
        if reviewed is not None:
            first_review.append(hours(reviewed - pull.ready_at))
    return PullRequestMetrics(
        merged=len(population),
        cycle_time=Stat.of(cycle),
        time_to_first_review=Stat.of(first_review),
        excluded_bots=bots,
        excluded_authors=excluded,
        negative_durations=negative,
    )
