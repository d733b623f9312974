"""A generated ``World`` turned into the records the collector builds, without HTTP.

It mirrors what ``collect/`` reads through GraphQL: bot logins without ``[bot]`` and
marked as bots, deleted accounts as ``GHOST``, deployment statuses in lower case, the default
branch's history newest first with each commit's associated pull request. The end-to-end
test covers the real collector; this keeps property tests fast.
"""

from __future__ import annotations

from typing import Any

from ghaction_metrics.collect.nodes import commit_identities
from ghaction_metrics.records import (
    GHOST,
    Actor,
    BugReport,
    Comment,
    Commit,
    Deployment,
    DeploymentStatus,
    Incident,
    PullRequest,
    Release,
    RepositoryData,
    RepositoryInfo,
    Review,
)
from ghaction_metrics_dev.emulator.world import Commit as WorldCommit
from ghaction_metrics_dev.emulator.world import Repository, World


def actor(world: World, login: str | None) -> Actor:
    if login is None:
        return GHOST
    user = world.users.get(login)
    if user is None or user.deleted:
        return GHOST
    return Actor.from_login(login, "Bot" if user.type == "Bot" else "User")


def _history(repo: Repository) -> list[str]:
    """Default-branch commits, newest committed first (as ``git log`` lists them)."""
    seen: set[str] = set()
    stack = [repo.refs[f"heads/{repo.default_branch}"]]
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        stack.extend(repo.commits[oid].parents)
    return sorted(seen, key=lambda oid: repo.commits[oid].committed_at, reverse=True)


def _commit_node(world: World, commit: WorldCommit) -> dict[str, Any]:
    """A pull request's commit as GraphQL answers it: author name, e-mail and ``User``."""
    user = world.users.get(commit.author) if commit.author else None
    if user is None or user.deleted:
        author: dict[str, Any] = {"name": "Unknown", "email": "unknown@example.com", "user": None}
    else:
        email = user.commit_email or f"{user.id}+{user.login}@users.noreply.github.com"
        is_user = user.type == "User" and not user.login.endswith("[bot]")
        author = {
            "name": user.login,
            "email": email,
            "user": {"login": user.login} if is_user else None,
        }
    return {"author": author, "message": commit.message}


def repository_data(world: World, name: str, incident_label: str = "incident") -> RepositoryData:
    repo = world.repositories[name]
    pulls = []
    for pr in repo.pull_requests:
        authored = [repo.commits[oid].authored_at for oid in pr.commits]
        first = min(authored) if authored else None
        merged = pr.merged_at is not None
        identities = commit_identities(
            [_commit_node(world, repo.commits[oid]) for oid in pr.commits]
        )
        pulls.append(
            PullRequest(
                repository=name,
                number=pr.number,
                title=pr.title,
                body=pr.body,
                url=f"https://github.test/{name}/pull/{pr.number}",
                author=actor(world, pr.author),
                state="MERGED" if merged else ("CLOSED" if pr.state == "closed" else "OPEN"),
                is_draft=pr.is_draft,
                created_at=pr.created_at,
                updated_at=pr.updated_at,
                closed_at=pr.closed_at,
                merged_at=pr.merged_at,
                base_ref=pr.base_ref,
                additions=pr.additions,
                deletions=pr.deletions,
                merge_commit=pr.merge_commit,
                labels=tuple(pr.labels),
                first_commit_at=first,
                commit_count=len(pr.commits),
                reviews=tuple(
                    Review(actor(world, r.author), r.state, r.submitted_at, r.comments)
                    for r in pr.reviews
                ),
                review_count=len(pr.reviews),
                ready_for_review_at=tuple(pr.ready_for_review_at),
                comments=tuple(Comment(actor(world, c.author), c.created_at) for c in pr.comments),
                commit_authors=identities[0],
                co_authors=identities[1],
            )
        )
    deployments = tuple(
        Deployment(
            repository=name,
            id=d.id,
            environment=d.environment,
            sha=d.sha,
            created_at=d.created_at,
            creator=actor(world, d.creator),
            statuses=tuple(DeploymentStatus(s.state.lower(), s.created_at) for s in d.statuses),
        )
        for d in repo.deployments
    )
    releases = tuple(
        Release(
            repository=name,
            tag=r.tag_name,
            name=r.name,
            is_draft=r.is_draft,
            is_prerelease=r.is_prerelease,
            created_at=r.created_at,
            published_at=r.published_at,
            commit=r.tag_commit,
            author=actor(world, r.author),
        )
        for r in repo.releases
    )
    incidents = tuple(
        Incident(name, i.number, i.title, "u", i.created_at, i.closed_at, i.body, tuple(i.labels))
        for i in repo.issues
        if incident_label in i.labels and not i.deleted
    )
    bugs = tuple(
        BugReport(name, i.number, i.title, "u", i.created_at, tuple(i.labels))
        for i in sorted(repo.issues, key=lambda i: (i.created_at, i.number))
        if any(label.lower() == "bug" for label in i.labels) and not i.deleted
    )
    commits = []
    for oid in _history(repo):
        c = repo.commits[oid]
        author = actor(world, c.author) if c.author is not None else None
        commits.append(
            Commit(
                oid=oid,
                message=c.message,
                authored_at=c.authored_at,
                committed_at=c.committed_at,
                parents=tuple(c.parents),
                author=None if author is GHOST else author,
                pull_request=c.associated_pr,
            )
        )
    return RepositoryData(
        info=RepositoryInfo(name, repo.private, repo.archived, repo.default_branch),
        pull_requests=tuple(pulls),
        deployments=deployments,
        releases=releases,
        incidents=incidents,
        commits=tuple(commits),
        bugs=bugs,
    )
