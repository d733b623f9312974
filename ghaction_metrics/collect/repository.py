"""Collecting one repository: from its cache when the cache covers the run, else in full.

With a cache from an earlier run (``sync.py``) only what changed since is read, plus the
cached records that can change without a new creation time, and the result is cut to
exactly the records a full collection would keep (``baselines.py``), so both give the same
report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.api.quota import QuotaExhaustedError
from ghaction_metrics.collect.baselines import bounds, coverage_gap, prune
from ghaction_metrics.collect.off_branch import read_off_branch
from ghaction_metrics.collect.paging import RepositoryReader
from ghaction_metrics.collect.plan import SYNC_OVERLAP, CollectionPlan
from ghaction_metrics.collect.sync import RepoState, repository_data
from ghaction_metrics.records import RepositoryData, RepositoryInfo
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepositoryResult:
    data: RepositoryData
    state: RepoState | None  # what to cache; None when the collection was cut short
    requests: int


def collect_repository(
    clients: GitHubClients,
    owner: str,
    name: str,
    plan: CollectionPlan,
    now: datetime,
    cached: RepoState | None = None,
    why: str = "no cache in use",
) -> RepositoryResult:
    full_name = f"{owner}/{name}"
    if cached is not None and cached.settings_key != plan.settings_key:
        why = f"the cache was made for other settings ({cached.settings_key})"
        cached = None
    if cached is not None and cached.synced_at is not None:
        log.info(
            "%s: incremental collection from %s (last synced %s)",
            full_name,
            why,
            cached.synced_at.isoformat(),
        )
        warm = RepositoryReader(clients, owner, name, plan, cached, cached.synced_at - SYNC_OVERLAP)
        result = _finish(warm, now, plan, full_name)
        if result is not None:
            return result
        why = coverage_gap(cached, bounds(cached, plan)) or "the cache does not cover this run"
        log.info("%s: full collection instead: %s", full_name, why)
    else:
        log.info("%s: full collection: %s", full_name, why)
    info = RepositoryInfo(full_name, False, False, "main")
    cold = RepositoryReader(clients, owner, name, plan, RepoState(info=info), None)
    result = _finish(cold, now, plan, full_name)
    assert result is not None
    return result


def _finish(
    reader: RepositoryReader, now: datetime, plan: CollectionPlan, full_name: str
) -> RepositoryResult | None:
    notes: list[str] = []
    complete = True
    try:
        reader.run()
    except QuotaExhaustedError as exc:
        notes.append(_stopped_early(full_name, exc))
        complete = False
    state = reader.state
    keep = bounds(state, plan)
    if reader.warm and complete:
        reason = coverage_gap(state, keep)
        if reason is not None:
            return None
    prune(state, keep)
    if complete:

        def count() -> None:
            reader.requests += 1

        try:
            read_off_branch(reader.clients, reader.owner, reader.name, state, plan, count)
        except QuotaExhaustedError as exc:
            notes.append(_stopped_early(full_name, exc))
            complete = False
    state.synced_at = now
    state.settings_key = plan.settings_key
    data = repository_data(state, tuple(notes))
    log.info(
        "%s: %s, %s, %s, %s, %s, %s, %s, %s from %s",
        full_name,
        counted(len(data.pull_requests), "pull request"),
        counted(len(data.deployments), "deployment"),
        counted(len(data.releases), "release"),
        counted(len(data.incidents), "incident"),
        counted(len(data.bugs), "bug report"),
        counted(len(data.commits), "commit"),
        counted(len(data.workflow_runs), "workflow run"),
        counted(len(data.tags), "tag"),
        counted(reader.requests, "request"),
    )
    return RepositoryResult(data, state if complete else None, reader.requests)


def _stopped_early(full_name: str, exc: QuotaExhaustedError) -> str:
    log.warning("%s: collection stopped early: %s", full_name, exc)
    return f"{full_name}: collection stopped early: {exc}; the figures are partial"
