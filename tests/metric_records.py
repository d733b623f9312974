"""Hand-built records for metric scenarios: times are hours from ``T0``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from ghaction_metrics.records import (
    Actor,
    Comment,
    Commit,
    Deployment,
    DeploymentStatus,
    Incident,
    PullRequest,
    RepositoryData,
    RepositoryInfo,
    Review,
    Tag,
    WorkflowRun,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
REPO = "acme/app"
ALICE, BOB, CAROL = Actor("alice"), Actor("bob"), Actor("carol")


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def pull(
    number: int,
    created: float,
    merged: float | None,
    first_commit: float | None = None,
    *,
    author: Actor = ALICE,
    title: str = "",
    body: str = "",
    labels: tuple[str, ...] = (),
    base: str = "main",
    reviews: tuple[Review, ...] = (),
    comments: tuple[Comment, ...] = (),
    ready: tuple[float, ...] = (),
    closed: float | None = None,
    size: tuple[int, int] = (10, 2),
    merge_commit: str | None = None,
    repository: str = REPO,
) -> PullRequest:
    ended = merged if merged is not None else closed
    return PullRequest(
        repository=repository,
        number=number,
        title=title or f"Change {number}",
        body=body,
        url=f"https://example.test/{repository}/pull/{number}",
        author=author,
        state="MERGED" if merged is not None else ("CLOSED" if closed is not None else "OPEN"),
        is_draft=False,
        created_at=h(created),
        updated_at=h(ended if ended is not None else created),
        closed_at=h(ended) if ended is not None else None,
        merged_at=h(merged) if merged is not None else None,
        base_ref=base,
        additions=size[0],
        deletions=size[1],
        merge_commit=(merge_commit or f"m{number}") if merged is not None else None,
        labels=labels,
        first_commit_at=h(first_commit if first_commit is not None else created),
        commit_count=1,
        reviews=reviews,
        review_count=len(reviews),
        ready_for_review_at=tuple(h(x) for x in ready),
        comments=comments,
    )


def review(author: Actor, state: str, at: float, comments: int = 0) -> Review:
    return Review(author, state, h(at), comments)


def comment(author: Actor, at: float) -> Comment:
    return Comment(author, h(at))


def commit(
    oid: str,
    parents: tuple[str, ...],
    at: float,
    pr: int | None = None,
    *,
    message: str | None = None,
    author: Actor | None = ALICE,
    authored: float | None = None,
) -> Commit:
    return Commit(
        oid,
        message if message is not None else f"commit {oid}",
        h(authored if authored is not None else at),
        h(at),
        parents,
        author,
        pr,
    )


def linear(*oids_with_prs: tuple[str, int | None], start: float = -99) -> list[Commit]:
    """A straight main line: base <- first <- second <- ..., one hour apart from ``start``."""
    commits = [commit("base", (), start - 1, pr=999)]  # part of an old PR: not a change here
    for index, (oid, pr) in enumerate(oids_with_prs):
        commits.append(commit(oid, (commits[-1].oid,), start + index, pr))
    return commits


def deployment(
    ident: int,
    sha: str,
    success: float | None,
    env: str = "production",
    failure_at: float | None = None,
) -> Deployment:
    statuses: tuple[DeploymentStatus, ...]
    if success is not None:
        statuses = (
            DeploymentStatus("in_progress", h(success - 0.1)),
            DeploymentStatus("success", h(success)),
            DeploymentStatus("inactive", h(success + 500)),
        )
        created = success - 0.5
    else:
        at = failure_at if failure_at is not None else 1.0
        statuses = (DeploymentStatus("failure", h(at)),)
        created = at - 0.5
    return Deployment(REPO, ident, env, sha, h(created), Actor("deployer", True), statuses)


def incident(number: int, opened: float, closed: float | None, **extra: str) -> Incident:
    return Incident(
        extra.get("repository", REPO),
        number,
        extra.get("title", f"Incident {number}"),
        "u",
        h(opened),
        h(closed) if closed is not None else None,
        extra.get("body", ""),
    )


def repo(
    pulls: Sequence[PullRequest],
    commits: Sequence[Commit],
    deployments: Sequence[Deployment] = (),
    *,
    name: str = REPO,
    incidents: Sequence[Incident] = (),
    workflow_runs: Sequence[WorkflowRun] = (),
    tags: Sequence[Tag] = (),
) -> RepositoryData:
    return RepositoryData(
        info=RepositoryInfo(name, False, False, "main"),
        pull_requests=tuple(pulls),
        deployments=tuple(deployments),
        incidents=tuple(incidents),
        commits=tuple(sorted(commits, key=lambda c: c.committed_at, reverse=True)),
        workflow_runs=tuple(workflow_runs),
        tags=tuple(tags),
    )
