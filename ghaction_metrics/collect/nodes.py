"""GraphQL nodes turned into the project's records (``records.py``).

Each function reads one node as the documents in ``queries.py`` ask for it; reading the rest
of a connection that did not fit in one page is the paging engine's work (``paging.py``).
"""

from __future__ import annotations

import re
from typing import Any

from ghaction_metrics.collect.timestamps import parse_time, required_time
from ghaction_metrics.records import (
    BOT_SUFFIX,
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
    Review,
    Tag,
)


def actor(node: dict[str, Any] | None) -> Actor:
    if not node:
        return GHOST
    return Actor.from_login(node.get("login"), node.get("__typename"))


def pull_request(node: dict[str, Any], repository: str) -> PullRequest:
    commits = node["commits"]
    # The earliest authored of all its commits: the first listed is not always the earliest
    # (a commit rebased onto later work, an amended date).
    authored = [required_time(c["commit"]["authoredDate"]) for c in commits["nodes"]]
    authors, co_authors = commit_identities([c["commit"] for c in commits["nodes"]])
    reviews = tuple(
        Review(
            author=actor(r.get("author")),
            state=r["state"],
            submitted_at=parse_time(r.get("submittedAt")),
            comments=int(r["comments"]["totalCount"]),
        )
        for r in node["reviews"]["nodes"]
    )
    timeline = node["timelineItems"]["nodes"]
    ready = tuple(
        required_time(item["createdAt"])
        for item in timeline
        if item.get("__typename") == "ReadyForReviewEvent"
    )
    comments = tuple(
        Comment(actor(item.get("author")), required_time(item["createdAt"]))
        for item in timeline
        if item.get("__typename") == "IssueComment"
    )
    merge_commit = node.get("mergeCommit") or {}
    return PullRequest(
        repository=repository,
        number=int(node["number"]),
        title=node["title"],
        body=node.get("body") or "",
        url=node["url"],
        author=actor(node.get("author")),
        state=node["state"],
        is_draft=bool(node["isDraft"]),
        created_at=required_time(node["createdAt"]),
        updated_at=required_time(node["updatedAt"]),
        closed_at=parse_time(node.get("closedAt")),
        merged_at=parse_time(node.get("mergedAt")),
        base_ref=node["baseRefName"],
        additions=int(node["additions"]),
        deletions=int(node["deletions"]),
        merge_commit=merge_commit.get("oid"),
        labels=tuple(label["name"] for label in node["labels"]["nodes"]),
        first_commit_at=min(authored) if authored else None,
        commit_count=int(commits["totalCount"]),
        reviews=reviews,
        review_count=int(node["reviews"]["totalCount"]),
        ready_for_review_at=ready,
        comments=comments,
        commit_authors=authors,
        co_authors=co_authors,
    )


_CO_AUTHORED_BY = re.compile(r"^\s*co-authored-by:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def commit_identities(commits: list[dict[str, Any]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The distinct author identities (login and e-mail, lower case) and ``Co-authored-by:``
    trailers of a pull request's commits, in the order first seen."""
    authors: dict[str, None] = {}
    trailers: dict[str, None] = {}
    for node in commits:
        author = node.get("author") or {}
        found = git_author(author)
        if found is not None:
            authors[found.login.lower()] = None
        email = (author.get("email") or "").strip().lower()
        if email:
            authors[email] = None
        for match in _CO_AUTHORED_BY.finditer(node.get("message") or ""):
            trailers[match.group(1)] = None
    return tuple(authors), tuple(trailers)


def deployment(
    node: dict[str, Any], repository: str, status_nodes: list[dict[str, Any]]
) -> Deployment:
    """A deployment with all its statuses (``status_nodes``: the node's and any read after)."""
    return Deployment(
        repository=repository,
        id=int(node["databaseId"]),
        environment=node["environment"] or "",
        sha=node["commitOid"],
        created_at=required_time(node["createdAt"]),
        creator=actor(node.get("creator")),
        statuses=tuple(
            DeploymentStatus(s["state"].lower(), required_time(s["createdAt"]))
            for s in status_nodes
        ),
    )


def release(node: dict[str, Any], repository: str) -> Release:
    tag_commit = node.get("tagCommit") or {}
    return Release(
        repository=repository,
        tag=node["tagName"],
        name=node.get("name") or "",
        is_draft=bool(node["isDraft"]),
        is_prerelease=bool(node["isPrerelease"]),
        created_at=required_time(node["createdAt"]),
        published_at=parse_time(node.get("publishedAt")),
        commit=tag_commit.get("oid"),
        author=actor(node.get("author")),
    )


def incident(node: dict[str, Any], repository: str, labels: tuple[str, ...]) -> Incident:
    return Incident(
        repository=repository,
        number=int(node["number"]),
        title=node["title"],
        url=node["url"],
        created_at=required_time(node["createdAt"]),
        closed_at=parse_time(node.get("closedAt")),
        body=node.get("body") or "",
        labels=labels,
    )


def bug_report(node: dict[str, Any], repository: str, labels: tuple[str, ...]) -> BugReport:
    return BugReport(
        repository=repository,
        number=int(node["number"]),
        title=node["title"],
        url=node["url"],
        created_at=required_time(node["createdAt"]),
        labels=labels,
    )


_BOT_EMAIL = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+\[bot\])@users\.noreply\.github\.com$")


def git_author(author: dict[str, Any] | None) -> Actor | None:
    """A commit's author: the account its e-mail maps to, or a bot. A bot is no ``User``, so
    GitHub answers ``user: null`` for it; its ``[bot]`` name or its
    ``…[bot]@users.noreply.github.com`` e-mail tell. None: an e-mail that maps to no account."""
    if not author:
        return None
    user = author.get("user")
    if user:
        return Actor.from_login(user["login"])
    email = _BOT_EMAIL.match((author.get("email") or "").lower())
    if email:
        return Actor.from_login(email.group("login"))
    name = (author.get("name") or "").strip()
    if name.lower().endswith(BOT_SUFFIX):
        return Actor.from_login(name.lower())
    return None


def commit(node: dict[str, Any]) -> Commit:
    # Commits read off the default branch (queries.off_branch_query) come without it.
    associated = node["associatedPullRequests"]["nodes"] if "associatedPullRequests" in node else []
    # Only a merged pull request can have brought the commit. Its state is read with the
    # commit: the pull request itself may be older than any the collection reads, and whether
    # the commit is a direct push must not depend on how far back that is.
    merged = [pull for pull in associated if pull.get("merged")]
    return Commit(
        oid=node["oid"],
        message=node["message"],
        authored_at=required_time(node["authoredDate"]),
        committed_at=required_time(node["committedDate"]),
        parents=tuple(p["oid"] for p in node["parents"]["nodes"]),
        author=git_author(node.get("author")),
        pull_request=int(merged[0]["number"]) if merged else None,
    )


def tag(node: dict[str, Any], repository: str) -> Tag | None:
    target = node.get("target") or {}
    tagger_date = None
    if target.get("__typename") == "Tag":
        tagger_date = parse_time((target.get("tagger") or {}).get("date"))
        target = target.get("target") or {}
    if target.get("__typename") != "Commit":
        # A tag of a tree or blob (or a tag of a tag): nothing that could be deployed.
        return None
    return Tag(
        repository=repository,
        name=node["name"],
        commit=target["oid"],
        tagger_date=tagger_date,
        committed_at=required_time(target["committedDate"]),
    )
