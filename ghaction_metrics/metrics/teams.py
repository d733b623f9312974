"""Per-team figures and the cross-team review matrix (SPEC §5 "Team", input ``teams``).

Each team gets the figures a person gets (metrics/team.py), counted by the same rules, over
its members' work. A person in two teams counts in both, so team figures may add up to more
than the whole; people in no team are the group ``other``. The matrix counts reviews of
someone else's pull request by the reviewer's team and the author's team: it adds up to the
review network's count when nobody is in two teams.

Names follow ``per-person``: members are listed by login, by pseudonym with ``anonymous``,
and not at all with ``false`` (the team figures stay).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ghaction_metrics.inputs.teams import OTHER, Teams
from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.pulls import (
    counted_pull,
    merged_population,
    reviews_by_others,
    touches,
)
from ghaction_metrics.metrics.stats import Stat, hours
from ghaction_metrics.metrics.team import namer
from ghaction_metrics.records import RepositoryData


@dataclass(frozen=True)
class TeamActivity:
    name: str
    members: int  # listed in the file; for "other", the people in no team who did anything
    active: int  # members with any of the activity below in the window
    people: tuple[str, ...]  # members' logins or pseudonyms, sorted; empty with per-person false
    opened: int
    merged: int
    reviews_given: int
    commits: int  # to the default branch, authored in the window
    cycle_time: Stat  # of the team's merged pull requests, pooled
    lines_changed: int  # additions + deletions of the team's merged pull requests


@dataclass(frozen=True)
class CrossReview:
    reviewer_team: str
    author_team: str
    reviews: int


@dataclass(frozen=True)
class TeamsMetrics:
    file: str  # the teams input, as given
    teams: tuple[TeamActivity, ...]  # in the file's order, "other" last when anyone is in it
    matrix: tuple[CrossReview, ...]  # non-zero cells, in the order of ``teams``
    reviews: int  # reviews of someone else's pull request in the window (each counted once)
    shared_members: int  # people listed in more than one team

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(team.name for team in self.teams)

    @cached_property
    def _cells(self) -> dict[tuple[str, str], int]:
        return {(c.reviewer_team, c.author_team): c.reviews for c in self.matrix}

    def cell(self, reviewer_team: str, author_team: str) -> int:
        """Reviews by ``reviewer_team`` of ``author_team``'s pull requests (0 for none)."""
        return self._cells.get((reviewer_team, author_team), 0)


def team_figures(
    repositories: Sequence[RepositoryData], settings: Settings, window: Window, teams: Teams
) -> TeamsMetrics:
    index: dict[str, list[str]] = {}
    for team in teams.teams:
        for login in team.members:
            index.setdefault(login.lower(), []).append(team.name)

    def of(login: str) -> list[str]:
        return index.get(login.lower(), [OTHER])

    opened: Counter[str] = Counter()
    merged: Counter[str] = Counter()
    reviews: Counter[str] = Counter()
    commits: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    cycles: dict[str, list[float]] = {}
    active: dict[str, set[str]] = {}
    matrix: Counter[tuple[str, str]] = Counter()
    shown: dict[str, str] = {}  # lower-case login → as first seen in the records
    total_reviews = 0

    def seen(login: str) -> list[str]:
        shown.setdefault(login.lower(), login)
        names = of(login)
        for name in names:
            active.setdefault(name, set()).add(login.lower())
        return names

    population, _, _ = merged_population(repositories, settings, window)
    for pull in population:
        assert pull.merged_at is not None
        value = hours(pull.merged_at - pull.created_at)
        for name in seen(pull.author.login):
            merged[name] += 1
            lines[name] += pull.additions + pull.deletions
            if value >= 0:
                cycles.setdefault(name, []).append(value)
    for repo in repositories:
        for pull in repo.pull_requests:
            if not touches(pull, window) or not counted_pull(pull, repo, settings):
                continue
            if pull.created_at in window:
                for name in seen(pull.author.login):
                    opened[name] += 1
            for review in reviews_by_others(pull, settings):
                if review.submitted_at is None or review.submitted_at not in window:
                    continue
                total_reviews += 1
                for name in seen(review.author.login):
                    reviews[name] += 1
                    for authors in of(pull.author.login):
                        matrix[(name, authors)] += 1
        for commit in repo.commits:
            author = commit.author
            if author is None or not settings.counts_author(author):
                continue
            if commit.authored_at in window:
                for name in seen(author.login):
                    commits[name] += 1

    name_of = namer(settings)
    listed = settings.per_person != "false"
    others = sorted(login for key, login in shown.items() if key not in index)

    def activity(name: str, members: Sequence[str]) -> TeamActivity:
        return TeamActivity(
            name=name,
            members=len(members),
            active=len(active.get(name, ())),
            # Logins as GitHub spells them where the data has them, else as the file does.
            people=tuple(sorted((name_of(shown.get(m.lower(), m)) for m in members), key=str.lower))
            if listed
            else (),
            opened=opened[name],
            merged=merged[name],
            reviews_given=reviews[name],
            commits=commits[name],
            cycle_time=Stat.of(cycles.get(name, [])),
            lines_changed=lines[name],
        )

    rows = [activity(team.name, team.members) for team in teams.teams]
    if others:
        rows.append(activity(OTHER, others))
    order = {row.name: i for i, row in enumerate(rows)}
    return TeamsMetrics(
        file=teams.path,
        teams=tuple(rows),
        matrix=tuple(
            CrossReview(reviewer, author, count)
            for (reviewer, author), count in sorted(
                matrix.items(), key=lambda item: (order[item[0][0]], order[item[0][1]])
            )
        ),
        reviews=total_reviews,
        shared_members=sum(1 for names in index.values() if len(names) > 1),
    )


def teams_json(
    metrics: TeamsMetrics | None, mode: str, stat: Callable[[Stat], dict[str, Any]]
) -> dict[str, Any] | None:
    """The snapshot's ``teams`` section of a period; None without a teams file."""
    if metrics is None:
        return None
    return {
        "file": metrics.file,
        "per_person": mode,
        "teams": [
            {
                "name": t.name,
                "members": t.members,
                "active": t.active,
                "people": list(t.people),
                "opened": t.opened,
                "merged": t.merged,
                "reviews_given": t.reviews_given,
                "commits": t.commits,
                "cycle_time_hours": stat(t.cycle_time),
                "lines_changed": t.lines_changed,
            }
            for t in metrics.teams
        ],
        "review_matrix": [
            {"reviewer_team": c.reviewer_team, "author_team": c.author_team, "reviews": c.reviews}
            for c in metrics.matrix
        ],
        "reviews": metrics.reviews,
        "shared_members": metrics.shared_members,
    }
