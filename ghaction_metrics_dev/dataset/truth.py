"""Ground truth of the headline metrics, kept as a ledger while the generator builds the world.

Every record here holds values the generator drew and then built the world objects from
(deployment times, failure causes, recovery durations, lead times, review pickups). The
headline figures are computed from these records alone, never by reading the world, so that
metric code run against the emulator can be checked against an independent answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Literal

Source = Literal["deployments", "releases", "merges"]
Fate = Literal["ok", "incident", "revert", "hotfix", "rollback"]
ReworkReason = Literal["revert", "hotfix", "rollback", "revert-same-deployment"]

SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class DeploymentRecord:
    """One successful deployment in the repository's own source (deployment, release or merge)."""

    repository: str
    index: int  # position in the repository's chain of successful deployments
    time: datetime
    sha: str
    fate: Fate
    # Hours from failure to recovery as built: incident opened -> closed, or this deployment ->
    # the deployment that shipped the revert, hotfix or rollback. None when ok or not recovered.
    recovery_hours: float | None = None
    recovered_by: int | None = None  # index of the deployment that carried the fix
    incident: int | None = None  # number of the incident issue that fails it
    rework: ReworkReason | None = None
    is_rollback: bool = False
    changes: tuple[str, ...] = ()  # keys of the changes this deployment ships first


@dataclass(frozen=True)
class ChangeRecord:
    """A pull request merged into the default branch, or a direct push to it."""

    repository: str
    key: str  # "pr#12" or "push:<oid>"
    pull_request: int | None
    first_authored_at: datetime
    merged_at: datetime
    deployed_at: datetime | None  # first successful deployment shipping it; None if awaiting
    deployment_index: int | None
    bot: bool

    @property
    def lead_time_hours(self) -> float | None:
        if self.deployed_at is None:
            return None
        return (self.deployed_at - self.first_authored_at).total_seconds() / SECONDS_PER_HOUR


@dataclass(frozen=True)
class PullRecord:
    repository: str
    number: int
    created_at: datetime
    merged_at: datetime | None
    closed_at: datetime | None
    base_ref: str
    into_default_branch: bool
    bot: bool
    ready_at: datetime  # creation, or the last ready-for-review event of a PR opened as draft
    first_review_at: datetime | None  # first review after ready by another human
    # First comment or review after ready by another human (bots' and AI reviews never count).
    first_response_at: datetime | None = None
    labels: tuple[str, ...] = ()
    reverts: int | None = None  # number of the PR this one reverts
    # agent-authored, agent-assisted or human, as the generator built it (dataset/agents.py)
    cohort: str = "human"
    requester: str | None = None  # agent-authored: the person who asked the agent
    size: int = 0  # additions + deletions
    changes_requested: int = 0  # reviews requesting changes, by people other than the author
    review_comments: int = 0  # review comments in reviews by people other than the author
    ai_reviews: int = 0  # reviews by AI reviewers (Copilot code review)


@dataclass(frozen=True)
class IncidentRecord:
    repository: str
    number: int
    opened_at: datetime
    closed_at: datetime | None
    deployment_index: int | None  # the deployment it fails; None when built to link to none


@dataclass(frozen=True)
class BugRecord:
    """An issue with a bug label (dataset/bugs.py); pull requests are never one."""

    repository: str
    number: int
    opened_at: datetime


@dataclass(frozen=True)
class RepositoryLedger:
    name: str
    style: Source  # the source the repository was designed for
    default_branch: str
    deployments: tuple[DeploymentRecord, ...]
    changes: tuple[ChangeRecord, ...]
    pulls: tuple[PullRecord, ...]
    incidents: tuple[IncidentRecord, ...]
    bugs: tuple[BugRecord, ...] = ()

    def auto_source(self, since: datetime, until: datetime) -> Source:
        """What ``auto`` picks: the designed style when it has a deployment in the window or the
        one before it. Each repository has exactly one kind of deployment object, so the only
        other possible answer is ``merges``."""
        if self.style == "merges":
            return "merges"
        start = since - (until - since)
        if any(start <= d.time < until for d in self.deployments):
            return self.style
        return "merges"


@dataclass(frozen=True)
class HeadlineTruth:
    deployment_frequency: float
    lead_time_hours: float | None
    change_failure_rate: float | None
    recovery_time_hours: float | None
    rework_rate: float | None
    cycle_time_hours: float | None
    merged_prs: int
    time_to_first_review_hours: float | None
    time_to_first_response_hours: float | None
    deployments: int
    ai_assisted_share: float | None = None
    source: dict[str, str] = field(default_factory=dict)
    # Bug reports opened per 100 merged pull requests; None when none was merged.
    bug_rate: float | None = None
    bugs_opened: int = 0


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    return float(median(values))


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / SECONDS_PER_HOUR


@dataclass(frozen=True)
class GroundTruth:
    repositories: Mapping[str, RepositoryLedger]

    def ledger(self, repository: str) -> RepositoryLedger:
        try:
            return self.repositories[repository]
        except KeyError:
            raise ValueError(f"no ground truth for repository {repository!r}") from None

    def headline(
        self, repositories: Sequence[str], since: datetime, until: datetime
    ) -> HeadlineTruth:
        """Headline figures for ``[since, until)`` with the action's default settings."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        if until <= since:
            raise ValueError("until must be after since")
        days = (until - since).total_seconds() / SECONDS_PER_DAY

        lead: list[float] = []
        recovery: list[float] = []
        cycle: list[float] = []
        first_review: list[float] = []
        first_response: list[float] = []
        frequencies: list[float] = []
        failed_deployments = 0
        rework_deployments = 0
        merged_prs = 0
        agent_merged = 0
        deployments = 0
        bugs_opened = 0
        source: dict[str, str] = {}

        for name in repositories:
            ledger = self.ledger(name)
            picked = ledger.auto_source(since, until)
            source[name] = picked
            bugs_opened += sum(1 for bug in ledger.bugs if since <= bug.opened_at < until)

            for pull in ledger.pulls:
                merged = pull.merged_at
                if merged is None or not pull.into_default_branch or pull.bot:
                    continue
                if not since <= merged < until:
                    continue
                merged_prs += 1
                agent_merged += pull.cohort != "human"
                cycle.append(_hours(pull.created_at, merged))
                if pull.first_review_at is not None:
                    first_review.append(_hours(pull.ready_at, pull.first_review_at))
                if pull.first_response_at is not None:
                    first_response.append(_hours(pull.ready_at, pull.first_response_at))

            if picked != ledger.style:
                # The only fallback is merges with no deployment nearby; the generator keeps
                # such windows empty (code freeze), anything else is outside the ledger's design.
                if any(
                    pull.merged_at is not None
                    and pull.into_default_branch
                    and since <= pull.merged_at < until
                    for pull in ledger.pulls
                ):
                    raise ValueError(
                        f"{name}: auto picks merges for this window, which the ledger of a "
                        f"{ledger.style} repository does not describe"
                    )
                continue

            shipped = [d for d in ledger.deployments if since <= d.time < until]
            if shipped:
                count = len(shipped)
                deployments += count
                failed = [d for d in shipped if d.fate != "ok"]
                frequencies.append(count / days)
                failed_deployments += len(failed)
                rework_deployments += sum(1 for d in shipped if d.rework is not None)
                recovery.extend(d.recovery_hours for d in failed if d.recovery_hours is not None)
            for change in ledger.changes:
                hours = change.lead_time_hours
                if hours is None or change.bot or change.deployed_at is None:
                    continue
                if since <= change.deployed_at < until:
                    lead.append(hours)

        return HeadlineTruth(
            deployment_frequency=_median(frequencies) or 0.0,
            lead_time_hours=_median(lead),
            # Pooled over every repository's deployments (SPEC §4).
            change_failure_rate=failed_deployments / deployments if deployments else None,
            recovery_time_hours=_median(recovery),
            rework_rate=rework_deployments / deployments if deployments else None,
            cycle_time_hours=_median(cycle),
            merged_prs=merged_prs,
            time_to_first_review_hours=_median(first_review),
            time_to_first_response_hours=_median(first_response),
            deployments=deployments,
            source=source,
            bug_rate=100 * bugs_opened / merged_prs if merged_prs else None,
            bugs_opened=bugs_opened,
            ai_assisted_share=agent_merged / merged_prs if merged_prs else None,
        )
