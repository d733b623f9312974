"""Collection: GitHub's answers turned into the project's records (``models.py``).

Reads go through GraphQL in pages with nested data, newest first, and stop as soon as a page
reaches back past what the metrics need, so a run costs a few requests per repository.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from github import GithubException

from ..models import (
    GHOST,
    Actor,
    Collection,
    Commit,
    Deployment,
    DeploymentStatus,
    Incident,
    PullRequest,
    Release,
    RepositoryData,
    RepositoryInfo,
    Review,
    SkippedRepository,
)
from . import queries
from .client import GitHubClients, GraphQLError

log = logging.getLogger(__name__)

# History is read this far before the oldest deployment needed, so a commit made some time
# before its first deployment is still seen as shipped by it.
HISTORY_SLACK = timedelta(days=30)


@dataclass(frozen=True)
class CollectionPlan:
    since: datetime  # the earliest instant any period of the report starts at
    until: datetime
    production_environments: tuple[str, ...]  # lower-cased
    incident_labels: tuple[str, ...]
    incident_window: timedelta
    deployment_source: str  # auto, deployments, releases, merges


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _time(value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("GitHub returned an empty timestamp where one is required")
    return parsed


def _actor(node: dict[str, Any] | None) -> Actor:
    if not node:
        return GHOST
    return Actor.from_login(node.get("login"), node.get("__typename"))


def expand_repositories(clients: GitHubClients, names: Sequence[str]) -> list[str]:
    """Expand ``owner/*`` into the owner's non-archived repositories the token can see."""
    result: list[str] = []
    for name in names:
        owner, repo = name.split("/", 1)
        if repo != "*":
            result.append(name)
            continue
        try:
            listing = list(_rest_pages(clients, f"/orgs/{owner}/repos", {"type": "all"}))
        except GithubException as exc:
            if exc.status != 404:
                raise
            listing = list(_rest_pages(clients, f"/users/{owner}/repos", {"type": "owner"}))
        found = [r["full_name"] for r in listing if not r.get("archived")]
        log.info("%s expanded to %d repositories", name, len(found))
        result.extend(found)
    return list(dict.fromkeys(result))


def _rest_pages(
    clients: GitHubClients, path: str, parameters: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        _headers, items = clients.rest.requester.requestJsonAndCheck(
            "GET", path, parameters={**parameters, "per_page": 100, "page": page}
        )
        yield from items
        if len(items) < 100:
            return
        page += 1


def collect(clients: GitHubClients, names: Sequence[str], plan: CollectionPlan) -> Collection:
    repositories: list[RepositoryData] = []
    skipped: list[SkippedRepository] = []
    for name in names:
        owner, repo = name.split("/", 1)
        try:
            data = collect_repository(clients, owner, repo, plan)
        except GraphQLError as exc:
            if "NOT_FOUND" in exc.types or exc.status in (401, 403, 404):
                reason = (
                    "the token cannot see it (it does not exist, or it is private and the "
                    "workflow token only reads its own repository: use a personal or GitHub "
                    "App token)"
                )
                log.warning("Skipping %s: %s", name, reason)
                skipped.append(SkippedRepository(name, reason))
                continue
            raise
        repositories.append(data)
    return Collection(
        repositories=tuple(repositories),
        skipped=tuple(skipped),
        graphql_points=clients.cost.points,
        requests=clients.cost.queries,
    )


def collect_repository(
    clients: GitHubClients, owner: str, name: str, plan: CollectionPlan
) -> RepositoryData:
    variables: dict[str, Any] = {"owner": owner, "name": name}
    repo = clients.graphql(queries.REPOSITORY, variables)["repository"]
    if repo is None:
        raise GraphQLError(f"Could not resolve to a Repository {owner}/{name}", [], 404)
    full_name = repo["nameWithOwner"]
    branch_ref = repo.get("defaultBranchRef") or {}
    info = RepositoryInfo(
        full_name=full_name,
        private=bool(repo["isPrivate"]),
        archived=bool(repo["isArchived"]),
        default_branch=branch_ref.get("name") or "main",
    )
    log.info("Collecting %s", full_name)
    notes: list[str] = []
    deployments: tuple[Deployment, ...] = ()
    if plan.deployment_source in ("deployments", "auto"):
        deployments = tuple(_deployments(clients, variables, full_name, plan))
    releases: tuple[Release, ...] = ()
    if plan.deployment_source in ("releases", "auto"):
        releases = tuple(_releases(clients, variables, full_name, plan))
    # Changes merged after the baseline deployment (the last one before the report's first
    # period) can ship inside the period, so pull requests are read back to the baseline.
    oldest = _oldest_shipping_time(deployments, releases, plan)
    pulls_since = min(oldest, plan.since) if oldest else plan.since
    pulls = tuple(_pull_requests(clients, variables, full_name, pulls_since, notes))
    incidents = tuple(_incidents(clients, variables, full_name, plan))
    commits: tuple[Commit, ...] = ()
    if plan.deployment_source != "merges" and oldest is not None:
        commits = tuple(_history(clients, variables, info.default_branch, oldest - HISTORY_SLACK))
    log.info(
        "%s: %d pull requests, %d deployments, %d releases, %d incidents, %d commits",
        full_name,
        len(pulls),
        len(deployments),
        len(releases),
        len(incidents),
        len(commits),
    )
    return RepositoryData(
        info=info,
        pull_requests=pulls,
        deployments=deployments,
        releases=releases,
        incidents=incidents,
        commits=commits,
        notes=tuple(notes),
    )


def _pages(
    clients: GitHubClients, query: str, variables: dict[str, Any], path: Sequence[str]
) -> Iterator[list[dict[str, Any]]]:
    """Yield each page's nodes of the connection at ``path`` until the caller stops."""
    cursor: str | None = None
    while True:
        data = clients.graphql(query, {**variables, "cursor": cursor})
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if not node:
            return
        yield list(node["nodes"])
        page = node["pageInfo"]
        if not page["hasNextPage"]:
            return
        cursor = page["endCursor"]


def _pull_requests(
    clients: GitHubClients,
    variables: dict[str, Any],
    repository: str,
    since: datetime,
    notes: list[str],
) -> Iterator[PullRequest]:
    # Newest update first: a pull request merged, closed or still open in any period the
    # report covers was updated at or after the period's start, so older pages are not needed.
    for nodes in _pages(clients, queries.PULL_REQUESTS, variables, ("repository", "pullRequests")):
        for node in nodes:
            pull = _pull_request(node, repository)
            if pull.review_count > len(pull.reviews):
                notes.append(
                    f"{repository}#{pull.number}: {pull.review_count} reviews, "
                    f"first {len(pull.reviews)} used"
                )
            yield pull
        if nodes and _time(nodes[-1]["updatedAt"]) < since:
            return


def _pull_request(node: dict[str, Any], repository: str) -> PullRequest:
    commits = node["commits"]
    first = commits["nodes"][0]["commit"]["authoredDate"] if commits["nodes"] else None
    reviews = tuple(
        Review(
            author=_actor(r.get("author")),
            state=r["state"],
            submitted_at=parse_time(r.get("submittedAt")),
            comments=int(r["comments"]["totalCount"]),
        )
        for r in node["reviews"]["nodes"]
    )
    ready = tuple(
        _time(item["createdAt"]) for item in node["timelineItems"]["nodes"] if item.get("createdAt")
    )
    merge_commit = node.get("mergeCommit") or {}
    return PullRequest(
        repository=repository,
        number=int(node["number"]),
        title=node["title"],
        body=node.get("body") or "",
        url=node["url"],
        author=_actor(node.get("author")),
        state=node["state"],
        is_draft=bool(node["isDraft"]),
        created_at=_time(node["createdAt"]),
        updated_at=_time(node["updatedAt"]),
        closed_at=parse_time(node.get("closedAt")),
        merged_at=parse_time(node.get("mergedAt")),
        base_ref=node["baseRefName"],
        additions=int(node["additions"]),
        deletions=int(node["deletions"]),
        merge_commit=merge_commit.get("oid"),
        labels=tuple(label["name"] for label in node["labels"]["nodes"]),
        first_commit_at=parse_time(first),
        commit_count=int(commits["totalCount"]),
        reviews=reviews,
        review_count=int(node["reviews"]["totalCount"]),
        ready_for_review_at=ready,
    )


def _deployments(
    clients: GitHubClients, variables: dict[str, Any], repository: str, plan: CollectionPlan
) -> Iterator[Deployment]:
    # Newest first, until past the window start AND a successful production deployment before
    # it was seen: that one is the baseline the first deployment in the window is chained to.
    baseline_found = False
    for nodes in _pages(clients, queries.DEPLOYMENTS, variables, ("repository", "deployments")):
        oldest: datetime | None = None
        for node in nodes:
            deployment = Deployment(
                repository=repository,
                id=int(node["databaseId"]),
                environment=node["environment"] or "",
                sha=node["commitOid"],
                created_at=_time(node["createdAt"]),
                creator=_actor(node.get("creator")),
                statuses=tuple(
                    DeploymentStatus(s["state"].lower(), _time(s["createdAt"]))
                    for s in node["statuses"]["nodes"]
                ),
            )
            oldest = deployment.created_at
            success = deployment.succeeded_at
            if (
                success is not None
                and success < plan.since
                and deployment.environment.lower() in plan.production_environments
            ):
                baseline_found = True
            yield deployment
        if oldest is not None and oldest < plan.since and baseline_found:
            return


def _releases(
    clients: GitHubClients, variables: dict[str, Any], repository: str, plan: CollectionPlan
) -> Iterator[Release]:
    baseline_found = False
    for nodes in _pages(clients, queries.RELEASES, variables, ("repository", "releases")):
        oldest: datetime | None = None
        for node in nodes:
            tag_commit = node.get("tagCommit") or {}
            release = Release(
                repository=repository,
                tag=node["tagName"],
                name=node.get("name") or "",
                is_draft=bool(node["isDraft"]),
                is_prerelease=bool(node["isPrerelease"]),
                created_at=_time(node["createdAt"]),
                published_at=parse_time(node.get("publishedAt")),
                commit=tag_commit.get("oid"),
                author=_actor(node.get("author")),
            )
            oldest = release.created_at
            published = release.published_at
            if (
                published
                and published < plan.since
                and not (release.is_draft or release.is_prerelease)
            ):
                baseline_found = True
            yield release
        if oldest is not None and oldest < plan.since and baseline_found:
            return


def _incidents(
    clients: GitHubClients, variables: dict[str, Any], repository: str, plan: CollectionPlan
) -> Iterator[Incident]:
    # An incident that can fail a deployment in any period was opened after the period's start,
    # so it was updated after it too; GitHub filters on the update time server-side.
    found: dict[int, Incident] = {}
    for label in plan.incident_labels:
        query_vars = {**variables, "labels": [label], "since": plan.since.isoformat()}
        for nodes in _pages(clients, queries.INCIDENTS, query_vars, ("repository", "issues")):
            for node in nodes:
                found[int(node["number"])] = Incident(
                    repository=repository,
                    number=int(node["number"]),
                    title=node["title"],
                    url=node["url"],
                    created_at=_time(node["createdAt"]),
                    closed_at=parse_time(node.get("closedAt")),
                )
    return iter(sorted(found.values(), key=lambda i: i.created_at))


def _oldest_shipping_time(
    deployments: Sequence[Deployment], releases: Sequence[Release], plan: CollectionPlan
) -> datetime | None:
    """The baseline: the last successful deployment (or release) before the first period.

    None when nothing was ever deployed or released, so no history needs reading.
    """
    shipped = [
        success
        for d in deployments
        if d.environment.lower() in plan.production_environments
        and (success := d.succeeded_at) is not None
    ]
    shipped += [
        r.published_at
        for r in releases
        if r.published_at is not None and not (r.is_draft or r.is_prerelease)
    ]
    if not shipped:
        return None
    before = [moment for moment in shipped if moment < plan.since]
    return max(before) if before else plan.since


def _history(
    clients: GitHubClients, variables: dict[str, Any], branch: str, since: datetime
) -> Iterator[Commit]:
    query_vars = {**variables, "branch": f"refs/heads/{branch}", "since": since.isoformat()}
    path = ("repository", "ref", "target", "history")
    for nodes in _pages(clients, queries.HISTORY, query_vars, path):
        for node in nodes:
            user = (node.get("author") or {}).get("user")
            associated = node["associatedPullRequests"]["nodes"]
            yield Commit(
                oid=node["oid"],
                message=node["message"],
                authored_at=_time(node["authoredDate"]),
                committed_at=_time(node["committedDate"]),
                parents=tuple(p["oid"] for p in node["parents"]["nodes"]),
                author=Actor.from_login(user["login"]) if user else None,
                pull_request=int(associated[0]["number"]) if associated else None,
            )
