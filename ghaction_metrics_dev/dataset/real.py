"""A recorded real repository (``record.py``'s fixture) as an emulator world.

What git does not hold is reconstructed the same way for every pull request, and said here so
the figures can be read: a pull request is created when its earliest commit was authored (a
squash merge keeps only the squashed commit, whose author date GitHub sets to the merge, so
its cycle time is 0), merged and closed at its merge commit's committer date, by its merge
commit's author; its author is the fork's owner for a pull request from a fork, else the
author of its earliest commit; its description is what the recording kept of it (a squash
message's revert lines). People are known by the login in a GitHub no-reply e-mail,
else by a login made from their name.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ghaction_metrics_dev.dataset.record import SCHEMA
from ghaction_metrics_dev.emulator.world import (
    Commit,
    PullRequest,
    Repository,
    User,
    UserType,
    World,
)

WORKFLOW_LOGIN = "github-actions[bot]"
_NOREPLY = re.compile(r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


@dataclass(frozen=True)
class RealHistory:
    """A fixture as read: the repository's name and the JSON document ``record.py`` wrote."""

    repository: str
    document: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> RealHistory:
        document: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
        if document.get("schema") != SCHEMA:
            raise ValueError(f"{path}: not a {SCHEMA} fixture")
        return cls(document["repository"], document)


def login_of(name: str, email: str) -> str | None:
    """The GitHub login a commit's author is known by (see the module's docstring)."""
    noreply = _NOREPLY.match(email)
    if noreply:
        return noreply.group(1)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def build_world(history: RealHistory, now: datetime) -> World:
    """A world holding the recorded repository; parents older than the recording are left
    out, so the oldest recorded commits are roots."""
    doc = history.document
    owner, name = history.repository.split("/")
    world = World(now=now)
    repo = Repository(owner, name, world.new_id(), default_branch=doc["default_branch"])
    world.repositories[repo.full_name] = repo
    logins: set[str] = {WORKFLOW_LOGIN}
    for sha, parents, author, committer, message in doc["commits"]:
        login = login_of(author[0], author[1])
        if login:
            logins.add(login)
        repo.commits[sha] = Commit(
            oid=sha,
            message=message,
            authored_at=_time(author[2]),
            committed_at=_time(committer[2]),
            author=login,
            parents=list(parents),
        )
    for commit in repo.commits.values():
        commit.parents = [p for p in commit.parents if p in repo.commits]
    for branch, head in doc["branches"].items():
        repo.refs[f"heads/{branch}"] = head
    for tag in doc["tags"]:
        if tag["object"] is None:
            repo.refs[f"tags/{tag['name']}"] = tag["commit"]
        else:
            repo.refs[f"tags/{tag['name']}"] = tag["object"]
            repo.tag_objects[tag["object"]] = (tag["commit"], _time(tag["tagger_date"]))
    for pull in doc["pulls"]:
        merge = repo.commits[pull["merge_commit"]]
        own = [repo.commits[sha] for sha in pull["commits"]] or [merge]
        fork_owner, _, branch = (pull["head"] or "").partition("/")
        author = login_of(*pull["author"])
        if fork_owner and fork_owner.lower() != owner.lower():
            author = fork_owner
        if author:
            logins.add(author)
        merged_at = merge.committed_at
        repo.pull_requests.append(
            PullRequest(
                number=pull["number"],
                id=world.new_id(),
                title=pull["title"],
                body=pull["body"],
                author=author,
                created_at=min(c.authored_at for c in own),
                updated_at=merged_at,
                base_ref=pull["base"],
                head_ref=branch or f"pull-{pull['number']}",
                state="closed",
                closed_at=merged_at,
                merged_at=merged_at,
                merge_commit=merge.oid,
                commits=[c.oid for c in own],
                merged_by=merge.author,
            )
        )
    for login in sorted(logins):
        kind: UserType = "Bot" if login.endswith("[bot]") else "User"
        world.users[login] = User(login, world.new_id(), type=kind)
    return world
