"""Deployments, the changes each one ships, and which pull requests and commits count.

A change is a pull request merged into a counted base branch (linked through its merge commit,
which covers squash, rebase and merge-commit merges) or a default-branch commit that belongs
to no pull request. A successful deployment ships the changes reachable from its commit that
no earlier successful deployment in the same environment reached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.agents import Agents
from ghaction_metrics.records import Actor, Commit, PullRequest, RepositoryData

_REVERTS_PR = re.compile(r"\bReverts\s+([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(\d+)")
_REVERTS_COMMIT = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
_REVERT_TITLE = re.compile(r'^Revert "(.+)"$')


@dataclass(frozen=True)
class Settings:
    """The inputs the metrics depend on."""

    deployment_source: str = "auto"
    production_environments: tuple[str, ...] = ("production",)
    incident_window: timedelta = timedelta(days=7)
    hotfix_labels: tuple[str, ...] = ("hotfix",)
    include_bots: bool = False
    exclude_authors: frozenset[str] = frozenset()
    base_branches: tuple[str, ...] = ()  # empty: the default branch; ("*",): all
    timezone: tzinfo = UTC  # day and week boundaries (weekly velocity)
    per_person: str = "true"  # true, false or anonymous
    pseudonym_salt: str = field(default="", repr=False)  # HMAC key for anonymous pseudonyms
    incident_repository: str | None = None  # owner/name where incidents are filed, if not each
    agents: Agents = field(default_factory=Agents)  # the Copilot coding agent and ai-authors

    def counts_author(self, actor: Actor) -> bool:
        if self.left_out_bot(actor):
            return False
        return not self.exclude_authors or actor.login.lower() not in self.exclude_authors

    def left_out_bot(self, actor: Actor) -> bool:
        """A bot left out by include-bots false. Coding agents are bots whose pull requests
        are the work measured (SPEC §5 AI-assisted work), so they stay in."""
        return actor.is_bot and not self.include_bots and not self.agents.is_agent(actor)

    def counts_base(self, pull: PullRequest, default_branch: str) -> bool:
        if self.base_branches == ("*",):
            return True
        return pull.base_ref in (self.base_branches or (default_branch,))


@dataclass(frozen=True)
class Change:
    key: str  # "pr:12" or "commit:<oid>"
    started_at: datetime  # the earliest commit's authored time
    author: Actor
    pull: PullRequest | None
    reverts: str | None  # key of the change it reverts, when it is a revert
    is_hotfix: bool
    is_revert: bool
    merged_at: datetime | None = None  # the merge, or a direct push's committer time


@dataclass(frozen=True)
class Event:
    """A successful deployment, whatever the source."""

    key: str
    environment: str
    sha: str | None
    time: datetime
    ships: frozenset[str] = field(default=frozenset())
    is_rollback: bool = False
    # The time is an approximation (a lightweight tag's commit date, not a deployment's own).
    approximate: bool = False


def _revert_target(
    title: str,
    body: str,
    at: datetime,
    repository: str,
    by_sha: dict[str, str],
    by_title: dict[str, list[tuple[datetime, str]]],
    notes: list[str],
) -> str | None:
    """The change a revert (made at ``at``) reverts: by ``Reverts owner/repo#N``, by a full
    sha or an unambiguous prefix (an ambiguous one links nothing and is noted), or by the
    title of the most recent change with that title merged before the revert."""
    if not _mentions_revert(title, body):
        return None
    for match in _REVERTS_PR.finditer(body):
        if match.group(1).lower() == repository.lower():
            return f"pr:{match.group(2)}"
    for match in _REVERTS_COMMIT.finditer(body):
        prefix = match.group(1)
        exact = by_sha.get(prefix)
        if exact is not None:
            return exact
        found = {key for sha, key in by_sha.items() if sha.startswith(prefix)}
        if len(found) == 1:
            return found.pop()
        if found:
            notes.append(
                f"{repository}: a revert names commit {prefix}, which is ambiguous "
                f"({len(found)} changes start with it); it is linked to none."
            )
    titled = _REVERT_TITLE.match(title.strip())
    if not titled:
        return None
    earlier = [(merged, key) for merged, key in by_title.get(titled.group(1), []) if merged < at]
    return max(earlier)[1] if earlier else None


def _mentions_revert(title: str, body: str) -> bool:
    """A cheap test before the patterns: every revert form contains "evert"."""
    return "evert" in title or "evert" in body


def _is_revert(title: str, body: str) -> bool:
    if not _mentions_revert(title, body):
        return False
    return bool(
        _REVERTS_PR.search(body) or _REVERTS_COMMIT.search(body) or _REVERT_TITLE.match(title)
    )


@dataclass(frozen=True)
class RepoChanges:
    """Changes of one repository, keyed, with the merge-commit links."""

    changes: dict[str, Change]
    by_commit: dict[str, str]  # oid -> change key, for every change's own commit on main
    notes: tuple[str, ...] = ()


def repository_changes(repo: RepositoryData, settings: Settings) -> RepoChanges:
    name = repo.info.full_name
    merged = [
        p
        for p in repo.pull_requests
        if p.merged_at is not None and settings.counts_base(p, repo.info.default_branch)
    ]
    by_commit: dict[str, str] = {}
    by_title: dict[str, list[tuple[datetime, str]]] = {}
    for pull in merged:
        if pull.merge_commit:
            by_commit[pull.merge_commit] = f"pr:{pull.number}"
        merged_at = pull.merged_at or pull.created_at
        by_title.setdefault(pull.title, []).append((merged_at, f"pr:{pull.number}"))
    brought = merge_branch_commits(repo.commits, by_commit)
    # A commit belongs to the pull request whose merge commit it is, or whose merge commit
    # brought it, or (a rebase merge's earlier commits) to the merged pull request GitHub
    # associates it with (``Commit.pull_request``, which names no unmerged one); any other
    # default-branch commit is a direct push. The commit itself tells, so a pull request too
    # old to have been read keeps its commits and an unread unmerged one takes none.
    direct = [
        c
        for c in repo.commits
        if c.oid not in by_commit and c.oid not in brought and c.pull_request is None
    ]
    for commit in direct:
        by_commit[commit.oid] = f"commit:{commit.oid}"
        subject = commit.message.split("\n", 1)[0]
        by_title.setdefault(subject, []).append((commit.committed_at, f"commit:{commit.oid}"))
    notes: list[str] = []
    hotfix = {label.lower() for label in settings.hotfix_labels}
    changes: dict[str, Change] = {}
    for pull in merged:
        key = f"pr:{pull.number}"
        changes[key] = Change(
            key=key,
            started_at=pull.first_commit_at or pull.created_at,
            author=pull.author,
            pull=pull,
            reverts=_revert_target(
                pull.title,
                pull.body,
                pull.merged_at or pull.created_at,
                name,
                by_commit,
                by_title,
                notes,
            ),
            is_hotfix=any(label.lower() in hotfix for label in pull.labels),
            is_revert=_is_revert(pull.title, pull.body),
            merged_at=pull.merged_at,
        )
    for commit in direct:
        title, _, body = commit.message.partition("\n")
        key = f"commit:{commit.oid}"
        changes[key] = Change(
            key=key,
            started_at=commit.authored_at,
            author=commit.author or Actor("unknown"),
            pull=None,
            reverts=_revert_target(
                title, body, commit.committed_at, name, by_commit, by_title, notes
            ),
            is_hotfix=False,
            is_revert=_is_revert(title, body),
            merged_at=commit.committed_at,
        )
    return RepoChanges(changes, by_commit, tuple(notes))


def merge_branch_commits(commits: Sequence[Commit], merges: dict[str, str]) -> dict[str, str]:
    """The commits each merge commit in ``merges`` (oid -> change key) brought to the
    default branch: reachable from its other parents and not from its first.

    The default branch's first-parent line is walked oldest first, keeping the union of what
    its commits reach; that union is exactly what a merge's first parent reaches, so each
    merge's branch side is one walk that stops there, and the whole history is walked once.
    """
    parents = {c.oid: c.parents for c in commits}
    graph = CommitGraph(commits)
    children = {parent for c in commits for parent in c.parents}
    line: list[str] = []
    on_line: set[str] = set()
    for tip in (c.oid for c in commits if c.oid not in children):
        oid: str | None = tip
        chain: list[str] = []
        while oid is not None and oid in parents and oid not in on_line:
            on_line.add(oid)
            chain.append(oid)
            first = parents[oid]
            oid = first[0] if first else None
        line.extend(reversed(chain))
    brought: dict[str, str] = {}
    reached: set[str] = set()
    for oid in line:
        key = merges.get(oid)
        if key is not None:
            for parent in parents[oid][1:]:
                branch, _ = graph.new_since(parent, reached)
                for member in branch:
                    # A nested pull request's own merge commit stays its own change.
                    if member not in merges:
                        brought.setdefault(member, key)
                reached |= branch
        new, _ = graph.new_since(oid, reached)
        reached |= new
    return brought


class CommitGraph:
    """Ancestry over the collected history: the default branch's, and that of deployed
    commits off it."""

    def __init__(self, commits: Iterable[Commit]) -> None:
        self.parents = {c.oid: c.parents for c in commits}

    def __contains__(self, sha: str) -> bool:
        return sha in self.parents

    def reachable(self, sha: str) -> set[str]:
        """Every collected commit reachable from ``sha``, itself included."""
        return self.new_since(sha, set())[0]

    def new_since(self, sha: str, known: set[str]) -> tuple[set[str], set[str]]:
        """Commits reachable from ``sha`` that are not in ``known``, and the ``known`` commits
        the walk stopped at. ``known`` must be closed under ancestry (a reachable set), so
        stopping at its members loses nothing."""
        new: set[str] = set()
        boundary: set[str] = set()
        stack = [sha]
        parents = self.parents
        while stack:
            oid = stack.pop()
            if oid in new or oid not in parents:
                continue
            if oid in known:
                boundary.add(oid)
                continue
            new.add(oid)
            stack.extend(parents[oid])
        return new, boundary


def chain_shipments(
    events: Sequence[Event], graph: CommitGraph, by_commit: dict[str, str]
) -> list[Event]:
    """Fill ``ships`` and ``is_rollback`` for each environment's chain of deployments.

    A deployment ships what its commit reaches and no earlier deployment of the chain reached
    (SPEC: set-based shipping), so a redeploy after a rollback, or a deployment after one of
    another line, ships only what is new. Each chain keeps the union of everything its
    deployments reached and grows it by the new commits only: a chain costs one walk over
    the history. A deployment whose commit the previous one's reaches is a rollback.
    """
    result: list[Event] = []
    chains: dict[str, list[Event]] = {}
    for event in sorted(events, key=lambda e: e.time):
        chains.setdefault(event.environment, []).append(event)
    for chain in chains.values():
        previous: str | None = None  # the previous deployment's commit, when in the graph
        shipped: set[str] = set()  # everything the chain's deployments reached so far
        for event in chain:
            if event.sha is None or event.sha not in graph:
                # A commit outside the collected history (gone from GitHub, or older than
                # the collection reaches): nothing it ships is visible, and it does not move
                # the chain.
                result.append(event)
                continue
            new, _ = graph.new_since(event.sha, shipped)
            ships = frozenset(by_commit[oid] for oid in new if oid in by_commit)
            # Only a commit already reached can be an ancestor of the previous one; the walk
            # from the previous commit is the rare case.
            rollback = (
                previous is not None
                and event.sha != previous
                and not new
                and event.sha in graph.reachable(previous)
            )
            shipped |= new
            result.append(
                Event(
                    event.key,
                    event.environment,
                    event.sha,
                    event.time,
                    ships,
                    rollback,
                    event.approximate,
                )
            )
            previous = event.sha
    return sorted(result, key=lambda e: e.time)


def in_window(events: Iterable[Event], window: Window) -> list[Event]:
    return [e for e in events if e.time in window]
