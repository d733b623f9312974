"""The project's own records of what was collected from GitHub.

``collect/`` turns GitHub's answers into these frozen dataclasses; everything downstream
(metrics, rendering, publishing) works on them and never sees a PyGithub object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

BOT_SUFFIX = "[bot]"


def normalize_login(login: str) -> str:
    """REST shows bots as ``name[bot]``, GraphQL as ``name``: compare without the suffix."""
    return login[: -len(BOT_SUFFIX)] if login.endswith(BOT_SUFFIX) else login


def same_identity(first: str, second: str) -> bool:
    """Whether two logins, in REST or GraphQL form, name the same account."""
    return normalize_login(first.strip()).lower() == normalize_login(second.strip()).lower()


@dataclass(frozen=True)
class Actor:
    login: str  # normalized (no "[bot]" suffix)
    is_bot: bool = False

    @staticmethod
    def from_login(login: str | None, typename: str | None = None) -> Actor:
        if not login:
            return GHOST
        is_bot = typename == "Bot" or login.endswith(BOT_SUFFIX)
        return Actor(normalize_login(login), is_bot)


# A deleted account: GraphQL answers ``author: null``, REST shows the "ghost" user.
GHOST = Actor("ghost", False)


@dataclass(frozen=True)
class Review:
    author: Actor
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    submitted_at: datetime | None
    comments: int = 0


@dataclass(frozen=True)
class Comment:
    """A conversation comment on a pull request (review comments belong to their review)."""

    author: Actor
    created_at: datetime


@dataclass(frozen=True)
class PullRequest:
    repository: str
    number: int
    title: str
    body: str
    url: str
    author: Actor
    state: str  # OPEN, CLOSED, MERGED
    is_draft: bool
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    base_ref: str
    additions: int
    deletions: int
    merge_commit: str | None
    labels: tuple[str, ...]
    first_commit_at: datetime | None
    commit_count: int
    reviews: tuple[Review, ...]
    review_count: int  # GitHub's total; larger than len(reviews) when the page was cut
    ready_for_review_at: tuple[datetime, ...]
    comments: tuple[Comment, ...] = ()
    # Who wrote its commits, for the AI-assisted cohorts: each commit author's login (bots
    # without "[bot]") and e-mail, lower case, distinct. Identities, not whole commits, so the
    # collection cache stays small.
    commit_authors: tuple[str, ...] = ()
    # The commits' ``Co-authored-by:`` trailers as written ("Name <e-mail>"), distinct.
    co_authors: tuple[str, ...] = ()

    @property
    def ready_at(self) -> datetime:
        """Creation, or the last ready-for-review event of a pull request opened as draft."""
        return max(self.ready_for_review_at) if self.ready_for_review_at else self.created_at


@dataclass(frozen=True)
class DeploymentStatus:
    state: str  # lower case: success, failure, error, inactive, in_progress, queued, pending
    created_at: datetime


@dataclass(frozen=True)
class Deployment:
    repository: str
    id: int
    environment: str
    sha: str
    created_at: datetime
    creator: Actor
    statuses: tuple[DeploymentStatus, ...]

    @property
    def succeeded_at(self) -> datetime | None:
        """The first ``success`` status's time: the moment the deployment was live."""
        times = [s.created_at for s in self.statuses if s.state == "success"]
        return min(times) if times else None


@dataclass(frozen=True)
class Release:
    repository: str
    tag: str
    name: str
    is_draft: bool
    is_prerelease: bool
    created_at: datetime
    published_at: datetime | None
    commit: str | None
    author: Actor


@dataclass(frozen=True)
class Incident:
    repository: str
    number: int
    title: str
    url: str
    created_at: datetime
    closed_at: datetime | None
    body: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class BugReport:
    """An issue with a ``bug-labels`` label, for the bug rate; read through the same issues
    connection as incidents (an issue can be both)."""

    repository: str
    number: int
    title: str
    url: str
    created_at: datetime
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Commit:
    oid: str
    message: str
    authored_at: datetime
    committed_at: datetime
    parents: tuple[str, ...]
    author: Actor | None  # None when the commit's email maps to no account
    # The merged pull request GitHub associates it with; None for none or an unmerged one
    # (an open pull request whose branch took in a direct push is often named first).
    pull_request: int | None


@dataclass(frozen=True)
class WorkflowRun:
    """One attempt of a workflow run (REST ``GET /repos/{o}/{r}/actions/runs``)."""

    repository: str
    id: int  # the run id, shared by every attempt of the run
    attempt: int  # run_attempt, 1 for the first
    name: str  # the workflow's name
    path: str  # the workflow file, e.g. ".github/workflows/deploy.yml"
    head_branch: str | None
    head_sha: str
    event: str
    status: str  # lower case: completed, in_progress, queued, ...
    conclusion: str | None  # lower case: success, failure, cancelled, ...; None while running
    created_at: datetime
    updated_at: datetime  # REST has no completion time; for a completed run this is it
    actor: Actor | None = None


@dataclass(frozen=True)
class Tag:
    """A git tag. Annotated tags carry a tagger date; lightweight tags only the commit."""

    repository: str
    name: str
    commit: str  # the tagged commit's oid (annotated tags peeled)
    tagger_date: datetime | None  # None for a lightweight tag
    committed_at: datetime  # the tagged commit's committer date


@dataclass(frozen=True)
class RepositoryInfo:
    full_name: str
    private: bool
    archived: bool
    default_branch: str


@dataclass(frozen=True)
class RepositoryData:
    """Everything collected for one repository."""

    info: RepositoryInfo
    pull_requests: tuple[PullRequest, ...] = ()
    deployments: tuple[Deployment, ...] = ()
    releases: tuple[Release, ...] = ()
    incidents: tuple[Incident, ...] = ()
    commits: tuple[Commit, ...] = ()  # default-branch history, newest first
    workflow_runs: tuple[WorkflowRun, ...] = ()  # for deployment-source workflow:<x>
    tags: tuple[Tag, ...] = ()  # for deployment-source tags:<glob>
    bugs: tuple[BugReport, ...] = ()  # bug-labelled issues of this repository, oldest first
    notes: tuple[str, ...] = field(default=())  # data-quality notes from collection
    # Deployed commits off the default branch and their history back to it (a maintenance
    # line's tag, a release commit main never got): what such a deployment ships, never a
    # change by itself. Newest first.
    side_commits: tuple[Commit, ...] = ()


@dataclass(frozen=True)
class SkippedRepository:
    full_name: str
    reason: str


@dataclass(frozen=True)
class Collection:
    repositories: tuple[RepositoryData, ...]
    skipped: tuple[SkippedRepository, ...]
    graphql_points: int
    requests: int
    partial: bool = False
    # Incidents read from ``incident-repository`` when it is set; they count for every
    # repository they name, or for all measured repositories when they name none.
    incidents: tuple[Incident, ...] = ()
    incidents_private: bool = False  # incident-repository is private


@dataclass(frozen=True)
class CopilotDay:
    """One day of an organisation's Copilot usage report (``day_totals`` entry), by the
    report files' documented field names."""

    day: date
    daily_active_users: int
    weekly_active_users: int | None  # absent from some files
    user_initiated_interaction_count: int
    code_generation_activity_count: int  # suggestions shown (generations)
    code_acceptance_activity_count: int  # suggestions accepted

    @property
    def acceptance_rate(self) -> float | None:
        shown = self.code_generation_activity_count
        return self.code_acceptance_activity_count / shown if shown else None


@dataclass(frozen=True)
class CopilotUsage:
    """The usage reports read for ``copilot-metrics``: the days they cover, oldest first."""

    organization: str
    days: tuple[CopilotDay, ...]
    requests: int  # API requests and file downloads
