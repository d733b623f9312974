"""The emulator's world: every GitHub object the emulator serves, as plain mutable records.

The dataset generator (``generate.py``) builds a ``World``; the HTTP server (``server.py``)
serves it over REST and GraphQL and mutates it for writes (issues, comments, git objects,
refs). Nothing in the action imports this module: the action only sees the world through HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

UserType = Literal["User", "Bot", "Organization"]
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]
StatusState = Literal["success", "failure", "error", "inactive", "in_progress", "queued", "pending"]


@dataclass
class User:
    login: str  # REST form: bots end in "[bot]"
    id: int
    type: UserType = "User"
    deleted: bool = False  # a deleted account: served as the "ghost" user / null author
    # The e-mail its commits carry when not "<id>+<login>@users.noreply.github.com": the
    # Copilot coding agent commits as copilot-swe-agent[bot] with 198982749+Copilot@….
    commit_email: str | None = None


@dataclass
class Commit:
    oid: str
    message: str
    authored_at: datetime
    committed_at: datetime
    author: str | None  # login, or None for a commit whose email maps to no account
    parents: list[str] = field(default_factory=list)
    tree: str | None = None  # tree sha for commits written through the Git Data API
    # The pull request a default-branch commit came from (squash, rebase or merge commit, or a
    # PR's own commit reachable through a merge commit); None for a direct push.
    associated_pr: int | None = None


@dataclass
class Review:
    id: int
    author: str | None  # login; None once the account is deleted
    state: ReviewState
    submitted_at: datetime
    body: str = ""
    comments: int = 0  # review comments attached to this review


@dataclass
class PullRequest:
    number: int
    id: int
    title: str
    body: str
    author: str | None
    created_at: datetime
    updated_at: datetime
    base_ref: str
    head_ref: str
    state: Literal["open", "closed"]
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merge_commit: str | None = None  # oid on the base branch (squash, rebase or merge commit)
    commits: list[str] = field(default_factory=list)  # oids of the PR's own commits
    additions: int = 0
    deletions: int = 0
    labels: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    is_draft: bool = False
    ready_for_review_at: list[datetime] = field(default_factory=list)  # ReadyForReviewEvent times
    merged_by: str | None = None
    comments: list[IssueComment] = field(default_factory=list)  # the conversation


@dataclass
class DeploymentStatus:
    id: int
    state: StatusState
    created_at: datetime
    creator: str | None = None
    description: str = ""


@dataclass
class Deployment:
    id: int
    sha: str
    ref: str
    environment: str
    created_at: datetime
    creator: str | None
    statuses: list[DeploymentStatus] = field(default_factory=list)  # oldest first
    task: str = "deploy"
    description: str = ""


@dataclass
class Release:
    id: int
    tag_name: str
    name: str
    tag_commit: str  # oid
    created_at: datetime
    published_at: datetime | None  # None while a draft
    is_draft: bool = False
    is_prerelease: bool = False
    author: str | None = None


@dataclass
class Workflow:
    id: int
    name: str
    path: str  # ".github/workflows/deploy.yml"
    created_at: datetime
    state: Literal["active", "disabled_manually"] = "active"


@dataclass
class WorkflowRun:
    """One attempt of a run; re-running a run adds an attempt with the same ``id``."""

    id: int
    workflow_id: int
    run_number: int
    attempt: int
    head_branch: str | None
    head_sha: str
    event: str
    status: Literal["completed", "in_progress", "queued"]
    conclusion: str | None  # success, failure, cancelled, ...; None until completed
    created_at: datetime  # of the run (the same for every attempt)
    updated_at: datetime
    actor: str | None = None


@dataclass
class IssueComment:
    id: int
    author: str | None
    body: str
    created_at: datetime
    updated_at: datetime
    pinned: bool = False


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str
    author: str | None
    created_at: datetime
    updated_at: datetime
    state: Literal["open", "closed"] = "open"
    closed_at: datetime | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[IssueComment] = field(default_factory=list)
    locked: bool = False
    pinned: bool = False
    deleted: bool = False  # a deleted issue answers 404 / 410 and is not listed


@dataclass
class Label:
    name: str
    color: str = "ededed"
    description: str = ""


@dataclass
class GitBlob:
    sha: str
    content: bytes


@dataclass
class GitTreeEntry:
    path: str  # a single name inside its tree
    mode: str  # "100644" for files, "040000" for trees
    type: Literal["blob", "tree"]
    sha: str


@dataclass
class GitTree:
    sha: str
    entries: list[GitTreeEntry]


@dataclass
class RefUpdate:
    """One change of a ref, kept so tests can prove no update was ever forced."""

    ref: str
    old: str | None
    new: str
    forced: bool
    at: datetime


@dataclass
class Repository:
    owner: str
    name: str
    id: int
    private: bool = False
    archived: bool = False
    default_branch: str = "main"
    description: str = ""
    created_at: datetime | None = None
    commits: dict[str, Commit] = field(default_factory=dict)  # every commit by oid
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> oid, "tags/v1" -> oid
    tag_objects: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # annotated tags
    pull_requests: list[PullRequest] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    workflows: list[Workflow] = field(default_factory=list)
    workflow_runs: list[WorkflowRun] = field(default_factory=list)  # every attempt
    labels: list[Label] = field(default_factory=list)
    blobs: dict[str, GitBlob] = field(default_factory=dict)
    trees: dict[str, GitTree] = field(default_factory=dict)
    ref_log: list[RefUpdate] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def created(self, now: datetime) -> datetime:
        """``created_at``, or when unset the oldest thing it holds (a repository cannot hold
        work from before it existed), or ``now`` for an empty one."""
        if self.created_at is not None:
            return self.created_at
        times = [c.authored_at for c in self.commits.values()]
        times += [p.created_at for p in self.pull_requests]
        times += [i.created_at for i in self.issues]
        return min(times, default=now)


@dataclass
class World:
    """Everything the emulator knows. ``now`` is the emulator's clock for new objects."""

    now: datetime
    users: dict[str, User] = field(default_factory=dict)  # by REST login
    repositories: dict[str, Repository] = field(default_factory=dict)  # by "owner/name"
    next_id: int = 10_000_000
    # Copilot usage reports by organisation login: one record per day in the report files'
    # documented ``day_totals`` shape (emulator/copilot.py serves them).
    copilot_usage: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id
