"""The straightforward PyGithub collector, kept only as the benchmark's point of comparison.

It is what a competent first version looks like (``benchmarks/collect.py`` runs it): pull
requests listed 100 at a time, newest update first, stopping at the window start; then for
each one its reviews, its commits and the full object for its sizes (three requests per pull
request); production deployments with their statuses. No throttling, no GraphQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from github import Auth, Github


@dataclass(frozen=True)
class BaselineCounts:
    pull_requests: int
    reviews: int
    commits: int
    lines_changed: int
    deployments: int
    statuses: int


def collect_straightforwardly(
    token: str, api_url: str, repository: str, since: datetime
) -> BaselineCounts:
    github = Github(
        auth=Auth.Token(token), base_url=api_url, per_page=100, seconds_between_requests=0
    )
    repo = github.get_repo(repository)
    pulls = reviews = commits = lines = 0
    for pull in repo.get_pulls(state="all", sort="updated", direction="desc"):
        if pull.updated_at is None or pull.updated_at < since:
            break
        pulls += 1
        reviews += sum(1 for _ in pull.get_reviews())
        commits += sum(1 for _ in pull.get_commits())
        # Not in the list payload: reading it fetches the full pull request.
        lines += pull.additions + pull.deletions
    deployments = statuses = 0
    for deployment in repo.get_deployments(environment="production"):
        if deployment.created_at is None or deployment.created_at < since:
            break
        deployments += 1
        statuses += sum(1 for _ in deployment.get_statuses())
    return BaselineCounts(pulls, reviews, commits, lines, deployments, statuses)
