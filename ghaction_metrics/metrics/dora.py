"""DORA metrics (SPEC §5): deployment frequency, lead time, change failure rate, recovery time,
rework rate and performance levels, per repository and for the set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models import Incident, RepositoryData
from ..windows import Window
from .changes import (
    Change,
    CommitGraph,
    Event,
    Settings,
    chain_shipments,
    in_window,
    repository_changes,
)
from .levels import Levels, levels_for
from .stats import EMPTY, Stat, hours, median, ratio


@dataclass(frozen=True)
class DeploymentOutcome:
    """Evidence for one successful deployment in the window."""

    key: str
    environment: str
    sha: str | None
    time: datetime
    changes: int
    failed_by: str | None  # incident, revert, hotfix, rollback
    evidence: str | None  # the incident, revert or deployment that shows the failure
    recovery_from: datetime | None  # the incident's opening, else the deployment's time
    recovered_at: datetime | None
    is_rework: bool


@dataclass(frozen=True)
class RepositoryDora:
    repository: str
    source: str
    window: Window
    deployments: int
    deployment_frequency: float
    lead_time: Stat
    failed: int
    change_failure_rate: float | None
    recovery: Stat
    unrecovered: int
    rework: int
    rework_rate: float | None
    awaiting: int  # changes merged but not deployed by the window's end
    failed_attempts: int  # production attempts that never reached success
    levels: Levels
    outcomes: tuple[DeploymentOutcome, ...]
    lead_times: tuple[float, ...]
    recovery_times: tuple[float, ...]
    negative_durations: int


@dataclass(frozen=True)
class DoraSummary:
    """Headline figures for a set of repositories (SPEC §4 pooling rules)."""

    deployments: int
    deployment_frequency: float
    lead_time: Stat
    change_failure_rate: float | None
    recovery: Stat
    rework_rate: float | None
    levels: Levels
    repositories: tuple[RepositoryDora, ...]


def choose_source(repo: RepositoryData, settings: Settings, periods: Sequence[Window]) -> str:
    """``auto``: deployments, else releases, else merges; decided once for all periods."""
    if settings.deployment_source != "auto":
        return settings.deployment_source
    if any(e.time in p for e in _deployment_events(repo, settings) for p in periods):
        return "deployments"
    if any(e.time in p for e in _release_events(repo) for p in periods):
        return "releases"
    return "merges"


def _deployment_events(repo: RepositoryData, settings: Settings) -> list[Event]:
    events = []
    for deployment in repo.deployments:
        environment = deployment.environment.lower()
        success = deployment.succeeded_at
        if environment in settings.production_environments and success is not None:
            events.append(
                Event(f"deployment {deployment.id}", environment, deployment.sha, success)
            )
    return events


def _release_events(repo: RepositoryData) -> list[Event]:
    return [
        Event(f"release {r.tag}", "release", r.commit, r.published_at)
        for r in repo.releases
        if r.published_at is not None and not r.is_draft and not r.is_prerelease
    ]


def _failed_attempts(repo: RepositoryData, settings: Settings, window: Window) -> int:
    return sum(
        1
        for d in repo.deployments
        if d.environment.lower() in settings.production_environments
        and d.succeeded_at is None
        and any(s.state in ("failure", "error") for s in d.statuses)
        and d.created_at in window
    )


@dataclass(frozen=True)
class _Shipped:
    events: list[Event]
    changes: dict[str, Change]
    graph: CommitGraph


def shipped_events(repo: RepositoryData, settings: Settings, source: str) -> _Shipped:
    found = repository_changes(repo, settings)
    graph = CommitGraph(repo.commits)
    if source == "merges":
        events = [
            Event(key, "merge", change.pull.merge_commit, change.pull.merged_at, frozenset({key}))
            for key, change in found.changes.items()
            if change.pull is not None
            and change.pull.merged_at is not None
            and change.pull.base_ref == repo.info.default_branch
        ]
        return _Shipped(sorted(events, key=lambda e: e.time), found.changes, graph)
    raw = _deployment_events(repo, settings) if source == "deployments" else _release_events(repo)
    return _Shipped(chain_shipments(raw, graph, found.by_commit), found.changes, graph)


def repository_dora(
    repo: RepositoryData,
    settings: Settings,
    source: str,
    window: Window,
    incidents: Sequence[Incident],
    now: datetime,
) -> RepositoryDora:
    shipped = shipped_events(repo, settings, source)
    events, changes = shipped.events, shipped.changes
    first_ship: dict[str, datetime] = {}
    for event in events:
        for key in event.ships:
            first_ship.setdefault(key, event.time)

    negative = 0
    lead_times: list[float] = []
    for key, change in changes.items():
        shipped_at = first_ship.get(key)
        if shipped_at is None or shipped_at not in window:
            continue
        if not settings.counts_author(change.author):
            continue
        value = hours(shipped_at - change.started_at)
        if value < 0:
            negative += 1
            continue
        lead_times.append(value)

    awaiting = sum(
        1
        for key, change in changes.items()
        if change.pull is not None
        and change.pull.merged_at is not None
        and change.pull.merged_at < window.until
        and change.pull.merged_at >= window.since
        and (key not in first_ship or first_ship[key] >= window.until)
    )

    current = in_window(events, window)
    outcomes = [_outcome(e, events, changes, incidents, settings) for e in current]
    failed = [o for o in outcomes if o.failed_by is not None]
    recovery_times: list[float] = []
    unrecovered = 0
    for outcome in failed:
        if outcome.recovered_at is None or outcome.recovered_at > now:
            unrecovered += 1
            continue
        recovery_times.append(hours(outcome.recovered_at - (outcome.recovery_from or outcome.time)))
    rework = sum(1 for o in outcomes if o.is_rework)
    count = len(current)
    lead = Stat.of(lead_times)
    recovery = Stat.of(recovery_times)
    frequency = count / window.days
    cfr = ratio(len(failed), count)
    return RepositoryDora(
        repository=repo.info.full_name,
        source=source,
        window=window,
        deployments=count,
        deployment_frequency=frequency,
        lead_time=lead,
        failed=len(failed),
        change_failure_rate=cfr,
        recovery=recovery,
        unrecovered=unrecovered,
        rework=rework,
        rework_rate=ratio(rework, count),
        awaiting=awaiting,
        failed_attempts=_failed_attempts(repo, settings, window) if source == "deployments" else 0,
        levels=levels_for(count, frequency, lead, cfr, recovery),
        outcomes=tuple(outcomes),
        lead_times=tuple(lead_times),
        recovery_times=tuple(recovery_times),
        negative_durations=negative,
    )


def _incident_key(incident: Incident) -> str:
    return f"{incident.repository}#{incident.number}"


def _outcome(
    event: Event,
    events: Sequence[Event],
    changes: dict[str, Change],
    incidents: Sequence[Incident],
    settings: Settings,
) -> DeploymentOutcome:
    chain = [e for e in events if e.environment == event.environment]
    index = chain.index(event)
    following = chain[index + 1] if index + 1 < len(chain) else None
    # Each rule gives (time the failure showed, rule, evidence, recovered at); the first sign
    # of failure decides when several rules apply.
    signs: list[tuple[datetime, str, str, datetime, datetime | None]] = []
    for incident in incidents:
        opened = incident.created_at
        if (
            opened > event.time
            and (following is None or opened < following.time)
            and opened - event.time <= settings.incident_window
        ):
            signs.append((opened, "incident", _incident_key(incident), opened, incident.closed_at))
    for later in chain[index + 1 :]:
        for key in later.ships:
            change = changes.get(key)
            if change and change.reverts and change.reverts in event.ships:
                signs.append(
                    (later.time, "revert", f"{key} in {later.key}", event.time, later.time)
                )
    if following is not None:
        if any(changes[k].is_hotfix for k in following.ships if k in changes):
            signs.append((following.time, "hotfix", following.key, event.time, following.time))
        if following.is_rollback:
            signs.append((following.time, "rollback", following.key, event.time, following.time))
    signs.sort(key=lambda s: s[0])
    first = signs[0] if signs else None
    return DeploymentOutcome(
        key=event.key,
        environment=event.environment,
        sha=event.sha,
        time=event.time,
        changes=len(event.ships),
        failed_by=first[1] if first else None,
        evidence=first[2] if first else None,
        recovery_from=first[3] if first else None,
        recovered_at=first[4] if first else None,
        is_rework=_is_rework(event, changes),
    )


def _is_rework(event: Event, changes: dict[str, Change]) -> bool:
    """Ships a revert, a hotfix, or is a rollback (SPEC §5, DORA 2024).

    Unlike the change failure rate, which a revert shipped together with the change it
    reverts leaves alone, the definition has no exception here: that deployment still ships
    a revert.
    """
    if event.is_rollback:
        return True
    shipped = [changes[key] for key in event.ships if key in changes]
    return any(change.is_hotfix or change.is_revert for change in shipped)


def summarize(repositories: Sequence[RepositoryDora]) -> DoraSummary:
    deploying = [r for r in repositories if r.deployments > 0]
    frequency = median([r.deployment_frequency for r in deploying]) or 0.0
    cfr = median([r.change_failure_rate for r in deploying if r.change_failure_rate is not None])
    rework = median([r.rework_rate for r in deploying if r.rework_rate is not None])
    lead = Stat.of(v for r in repositories for v in r.lead_times)
    recovery = Stat.of(v for r in repositories for v in r.recovery_times)
    total = sum(r.deployments for r in repositories)
    return DoraSummary(
        deployments=total,
        deployment_frequency=frequency,
        lead_time=lead if lead.n else EMPTY,
        change_failure_rate=cfr,
        recovery=recovery if recovery.n else EMPTY,
        rework_rate=rework,
        levels=levels_for(total, frequency, lead, cfr, recovery),
        repositories=tuple(repositories),
    )
