"""DORA metrics (SPEC §5): deployment frequency, lead time, change failure rate, recovery time,
rework rate and performance levels, per repository and for the set.

``ship`` does the work that does not depend on the window (events, their chains, what each
ships, which rule fails each one) once per repository; ``repository_dora`` then reads one
window out of it, so the current, previous and before/after periods share that work.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import (
    Change,
    CommitGraph,
    Event,
    Settings,
    chain_shipments,
    repository_changes,
)
from ghaction_metrics.metrics.levels import Levels, levels_for
from ghaction_metrics.metrics.sources import LeftOut, choose_source, events_for
from ghaction_metrics.metrics.stats import EMPTY, Stat, hours, median, ratio
from ghaction_metrics.records import Incident, RepositoryData

__all__ = [
    "DeploymentOutcome",
    "DoraSummary",
    "RepositoryDora",
    "Shipping",
    "choose_source",
    "repository_dora",
    "ship",
    "summarize",
]


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
    ships: tuple[str, ...] = ()  # keys of the changes it ships, sorted
    is_rollback: bool = False
    approximate_time: bool = False  # a lightweight tag's commit date


@dataclass(frozen=True)
class UnlinkedIncident:
    """An incident opened in the window that fails no deployment (listed on its own)."""

    key: str
    opened_at: datetime
    closed_at: datetime | None


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
    deployment_days: int = 0  # distinct days (in ``timezone``) with a deployment
    awaiting_age: Stat = EMPTY  # hours from merge to the window's end
    unrecovered_age: Stat = EMPTY  # hours from the failure to the window's end
    deploy_time: Stat = EMPTY  # lead-time stage: merged -> first shipped (pull requests)
    deploy_times: tuple[float, ...] = ()
    unlinked_incidents: tuple[UnlinkedIncident, ...] = ()
    incident_close_time: Stat = EMPTY  # opened -> closed, for the unlinked incidents
    left_out: tuple[LeftOut, ...] = ()
    excluded_changes: int = 0  # shipped changes by bots or excluded authors
    recovery_keys: tuple[str, ...] = ()  # what each of ``recovery_times`` recovered from
    notes: tuple[str, ...] = ()  # data-quality notes (an ambiguous revert target, ...)

    @property
    def deployments_per_week(self) -> float:
        return self.deployment_frequency * 7

    @property
    def deployment_days_per_week(self) -> float:
        return self.deployment_days / self.window.days * 7


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
    deploy_time: Stat = EMPTY
    awaiting: int = 0
    unrecovered: int = 0
    deployments_per_day_total: float = 0.0  # every repository's deployments, per day


@dataclass(frozen=True)
class _Failure:
    shown_at: datetime  # when the failure became visible; the earliest sign decides
    rule: str
    evidence: str
    recovery_from: datetime
    recovered_at: datetime | None


@dataclass(frozen=True)
class Shipping:
    """One repository's deployments with what each ships and why each failed, any time."""

    repository: str
    source: str
    default_branch: str
    events: list[Event]  # successful deployments, oldest first
    changes: dict[str, Change]
    first_ship: dict[str, datetime]  # change key -> its first successful deployment
    failures: dict[int, _Failure]  # index in ``events`` -> the failure that counts
    linked_incidents: frozenset[str]
    incidents: tuple[Incident, ...]
    left_out: list[LeftOut]
    failed_attempts: list[datetime]
    on_default_branch: frozenset[str]  # change keys that can ship (commit on the default branch)
    notes: tuple[str, ...] = ()


def ship(
    repo: RepositoryData, settings: Settings, source: str, incidents: Sequence[Incident]
) -> Shipping:
    found = repository_changes(repo, settings)
    # A deployment off the default branch ships what its own history reaches (SPEC §5).
    graph = CommitGraph((*repo.commits, *repo.side_commits))
    left_out: list[LeftOut] = []
    attempts: list[datetime] = []
    if source == "merges":
        merges = sorted(
            (
                Event(key, "merge", change.pull.merge_commit, change.pull.merged_at)
                for key, change in found.changes.items()
                if change.pull is not None
                and change.pull.merged_at is not None
                and change.pull.base_ref == repo.info.default_branch
            ),
            key=lambda e: (e.time, e.key),
        )
        # Each merge ships its own pull request, and, chained like any deployment, the direct
        # pushes its commit reaches that no earlier merge shipped.
        events = [
            replace(event, ships=event.ships | {event.key}, is_rollback=False)
            for event in chain_shipments(merges, graph, found.by_commit)
        ]
    else:
        raw = events_for(repo, settings, source)
        left_out, attempts = raw.left_out, raw.failed_attempts
        events = chain_shipments(raw.events, graph, found.by_commit)
    first_ship: dict[str, datetime] = {}
    for event in events:
        for key in event.ships:
            first_ship.setdefault(key, event.time)
    ordered = sorted(incidents, key=lambda i: i.created_at)
    failures, linked = _failures(events, found.changes, ordered, settings)
    on_main = frozenset(
        key
        for key, change in found.changes.items()
        if change.pull is None or change.pull.base_ref == repo.info.default_branch
    )
    return Shipping(
        repository=repo.info.full_name,
        source=source,
        default_branch=repo.info.default_branch,
        events=events,
        changes=found.changes,
        first_ship=first_ship,
        failures=failures,
        linked_incidents=linked,
        incidents=tuple(ordered),
        left_out=left_out,
        failed_attempts=attempts,
        on_default_branch=on_main,
        notes=found.notes,
    )


def _incident_key(incident: Incident) -> str:
    return f"{incident.repository}#{incident.number}"


def _failures(
    events: Sequence[Event],
    changes: dict[str, Change],
    incidents: Sequence[Incident],
    settings: Settings,
) -> tuple[dict[int, _Failure], frozenset[str]]:
    """Which rule fails each deployment (SPEC §5 a–c); the earliest sign decides."""
    signs: dict[int, list[_Failure]] = {}
    chains: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        chains.setdefault(event.environment, []).append(index)
    opened = [i.created_at for i in incidents]
    linked: set[str] = set()
    for chain in chains.values():
        shipped_by: dict[str, list[int]] = {}  # change key -> deployments in this chain
        for position, index in enumerate(chain):
            event = events[index]
            following = events[chain[position + 1]] if position + 1 < len(chain) else None
            # (a) incidents opened after it, before the next deployment, within the window
            start = bisect_right(opened, event.time)
            for incident in incidents[start:]:
                moment = incident.created_at
                if moment - event.time > settings.incident_window:
                    break
                if following is not None and moment >= following.time:
                    break
                linked.add(_incident_key(incident))
                signs.setdefault(index, []).append(
                    _Failure(
                        moment, "incident", _incident_key(incident), moment, incident.closed_at
                    )
                )
            # (b) this deployment ships a revert of a change an earlier one shipped; a revert
            # shipped together with its target is not a failure of anything
            for key in sorted(event.ships):
                change = changes.get(key)
                if change is None or change.reverts is None or change.reverts in event.ships:
                    continue
                for earlier in shipped_by.get(change.reverts, []):
                    failed = events[earlier]
                    signs.setdefault(earlier, []).append(
                        _Failure(
                            event.time, "revert", f"{key} in {event.key}", failed.time, event.time
                        )
                    )
            for key in event.ships:
                shipped_by.setdefault(key, []).append(index)
            if following is None:
                continue
            # (b) the next deployment ships a hotfix; (c) the next deployment rolls back
            if any(changes[k].is_hotfix for k in following.ships if k in changes):
                signs.setdefault(index, []).append(
                    _Failure(following.time, "hotfix", following.key, event.time, following.time)
                )
            if following.is_rollback:
                signs.setdefault(index, []).append(
                    _Failure(following.time, "rollback", following.key, event.time, following.time)
                )
    failures = {index: min(found, key=lambda f: f.shown_at) for index, found in signs.items()}
    return failures, frozenset(linked)


def _is_rework(event: Event, changes: dict[str, Change]) -> bool:
    """Ships a revert, a hotfix, or is a rollback (SPEC §5, DORA 2024).

    Unlike the change failure rate, which a revert shipped together with the change it
    reverts leaves alone, the definition has no exception here: that deployment still ships
    a revert.
    """
    if event.is_rollback:
        return True
    return any(
        changes[key].is_hotfix or changes[key].is_revert for key in event.ships if key in changes
    )


def repository_dora(
    repo: RepositoryData,
    settings: Settings,
    source: str,
    window: Window,
    incidents: Sequence[Incident],
    now: datetime,
    shipping: Shipping | None = None,
) -> RepositoryDora:
    done = shipping if shipping is not None else ship(repo, settings, source, incidents)
    return window_dora(done, settings, window, now)


def window_dora(
    done: Shipping, settings: Settings, window: Window, now: datetime
) -> RepositoryDora:
    changes = done.changes
    negative = excluded = 0
    lead_times: list[float] = []
    deploy_times: list[float] = []
    for key, change in changes.items():
        shipped_at = done.first_ship.get(key)
        if shipped_at is None or shipped_at not in window:
            continue
        if not settings.counts_author(change.author):
            excluded += 1
            continue
        value = hours(shipped_at - change.started_at)
        if value < 0:
            negative += 1
            continue
        lead_times.append(value)
        if change.pull is not None and change.pull.merged_at is not None:
            stage = hours(shipped_at - change.pull.merged_at)
            if stage >= 0:
                deploy_times.append(stage)

    awaiting_ages = _awaiting(done, settings, window)

    indexed = [(i, e) for i, e in enumerate(done.events) if e.time in window]
    outcomes = [_outcome(i, e, done) for i, e in indexed]
    failed = [o for o in outcomes if o.failed_by is not None]
    recovery_times: list[float] = []
    recovery_keys: list[str] = []
    unrecovered_ages: list[float] = []
    counted: set[str] = set()
    for outcome in failed:
        # One incident is one recovery, however many environments' deployments it fails.
        key = _recovery_key(done.repository, outcome)
        if key in counted:
            continue
        counted.add(key)
        began = outcome.recovery_from or outcome.time
        if outcome.recovered_at is None or outcome.recovered_at > now:
            # Aged at the window's end, like awaiting changes: the figure describes the window,
            # and a later run over the same window (an aggregate of shards) gives the same one.
            # An incident opened after the window's end has no age there yet.
            unrecovered_ages.append(max(0.0, hours(window.until - began)))
            continue
        recovery_times.append(hours(outcome.recovered_at - began))
        recovery_keys.append(key)
    unlinked = tuple(
        UnlinkedIncident(_incident_key(i), i.created_at, i.closed_at)
        for i in done.incidents
        if i.created_at in window and _incident_key(i) not in done.linked_incidents
    )
    close_times = [
        hours(i.closed_at - i.opened_at)
        for i in unlinked
        if i.closed_at is not None and i.closed_at <= now
    ]
    rework = sum(1 for o in outcomes if o.is_rework)
    count = len(outcomes)
    lead = Stat.of(lead_times)
    recovery = Stat.of(recovery_times)
    frequency = count / window.days
    cfr = ratio(len(failed), count)
    days = {o.time.astimezone(settings.timezone).date() for o in outcomes}
    return RepositoryDora(
        repository=done.repository,
        source=done.source,
        window=window,
        deployments=count,
        deployment_frequency=frequency,
        lead_time=lead,
        failed=len(failed),
        change_failure_rate=cfr,
        recovery=recovery,
        unrecovered=len(unrecovered_ages),
        rework=rework,
        rework_rate=ratio(rework, count),
        awaiting=len(awaiting_ages),
        failed_attempts=sum(1 for t in done.failed_attempts if t in window),
        levels=levels_for(count, frequency, lead, cfr, recovery),
        outcomes=tuple(outcomes),
        lead_times=tuple(lead_times),
        recovery_times=tuple(recovery_times),
        recovery_keys=tuple(recovery_keys),
        negative_durations=negative,
        deployment_days=len(days),
        awaiting_age=Stat.of(awaiting_ages),
        unrecovered_age=Stat.of(unrecovered_ages),
        deploy_time=Stat.of(deploy_times),
        deploy_times=tuple(deploy_times),
        unlinked_incidents=unlinked,
        incident_close_time=Stat.of(close_times),
        left_out=tuple(item for item in done.left_out if item.time in window),
        excluded_changes=excluded,
        notes=done.notes,
    )


def _recovery_key(repository: str, outcome: DeploymentOutcome) -> str:
    """What one recovery is: the incident, when one failed the deployment (an incident issue
    is the same wherever it is filed), else the deployment itself."""
    if outcome.failed_by == "incident" and outcome.evidence:
        return f"incident {outcome.evidence}"
    return f"{repository} {outcome.key}"


def awaiting_floor(events: Sequence[Event], window: Window) -> datetime:
    """Changes merged from here on can be awaiting: the baseline deployment before the window
    (the last successful one), or the window's start when there is none. Older changes were
    either shipped by the baseline or lie outside what was collected."""
    before = [e.time for e in events if e.time < window.since]
    return max(before) if before else window.since


def _awaiting(done: Shipping, settings: Settings, window: Window) -> list[float]:
    """Ages (hours at the window's end) of changes merged but not shipped by then."""
    if done.source == "merges":
        return []
    floor = awaiting_floor(done.events, window)
    ages: list[float] = []
    for key, change in done.changes.items():
        if key not in done.on_default_branch or not settings.counts_author(change.author):
            continue
        merged = change.merged_at
        if merged is None or not floor <= merged < window.until:
            continue
        shipped_at = done.first_ship.get(key)
        if shipped_at is not None and shipped_at < window.until:
            continue
        ages.append(hours(window.until - merged))
    return ages


def _outcome(index: int, event: Event, done: Shipping) -> DeploymentOutcome:
    failure = done.failures.get(index)
    return DeploymentOutcome(
        key=event.key,
        environment=event.environment,
        sha=event.sha,
        time=event.time,
        changes=len(event.ships),
        failed_by=failure.rule if failure else None,
        evidence=failure.evidence if failure else None,
        recovery_from=failure.recovery_from if failure else None,
        recovered_at=failure.recovered_at if failure else None,
        is_rework=_is_rework(event, done.changes),
        ships=tuple(sorted(event.ships)),
        is_rollback=event.is_rollback,
        approximate_time=event.approximate,
    )


def summarize(repositories: Sequence[RepositoryDora]) -> DoraSummary:
    """The set's figures (SPEC §4). Rates pool every repository's deployments, so three quiet
    repositories that never fail do not make a fourth that often fails read 0%; frequency is
    the median over the repositories that deploy (a typical service's cadence, which is what
    the DORA level describes), with the set's total per day beside it; times pool events."""
    deploying = [r for r in repositories if r.deployments > 0]
    frequency = median([r.deployment_frequency for r in deploying]) or 0.0
    total = sum(r.deployments for r in repositories)
    cfr = sum(r.failed for r in deploying) / total if total else None
    rework = sum(r.rework for r in deploying) / total if total else None
    lead = Stat.of(v for r in repositories for v in r.lead_times)
    # An incident filed in one place (incident-repository) may fail several repositories'
    # deployments: it is still one recovery.
    recoveries: dict[str, float] = {}
    for r in repositories:
        keys = r.recovery_keys or tuple(f"{r.repository} {i}" for i in range(len(r.recovery_times)))
        for key, value in zip(keys, r.recovery_times, strict=True):
            recoveries.setdefault(key, value)
    recovery = Stat.of(recoveries.values())
    per_day = sum(r.deployments / r.window.days for r in deploying if r.window.days > 0)
    return DoraSummary(
        deployments=total,
        deployment_frequency=frequency,
        lead_time=lead if lead.n else EMPTY,
        change_failure_rate=cfr,
        recovery=recovery if recovery.n else EMPTY,
        rework_rate=rework,
        levels=levels_for(total, frequency, lead, cfr, recovery),
        repositories=tuple(repositories),
        deploy_time=Stat.of(v for r in repositories for v in r.deploy_times),
        awaiting=sum(r.awaiting for r in repositories),
        unrecovered=sum(r.unrecovered for r in repositories),
        deployments_per_day_total=per_day,
    )
