"""How far back each kind of record is needed: the baselines before the first period.

Lead time reaches back to the last successful deployment (release, workflow run, tag) before
the first period, which ships the changes made just before it; a collection reads, and a
cached state keeps, exactly what that needs (``bounds``), so cold and warm runs give the
same report.
"""

from __future__ import annotations

from datetime import datetime

from ghaction_metrics.collect.plan import HISTORY_SLACK, SUCCESS, CollectionPlan
from ghaction_metrics.collect.sync import EPOCH, RepoState, drop_older
from ghaction_metrics.records import Deployment, Release


def deployment_baseline(state: RepoState, plan: CollectionPlan) -> Deployment | None:
    """The newest-created production deployment that succeeded before the first period."""
    before = [
        d
        for d in state.deployments.values()
        if d.environment.lower() in plan.production_environments
        and (success := d.succeeded_at) is not None
        and success < plan.since
    ]
    return max(before, key=lambda d: d.created_at) if before else None


def release_baseline(state: RepoState, plan: CollectionPlan) -> Release | None:
    before = [
        r
        for r in state.releases.values()
        if r.published_at is not None
        and r.published_at < plan.since
        and not (r.is_draft or r.is_prerelease)
    ]
    return max(before, key=lambda r: r.created_at) if before else None


def history_since(oldest: datetime | None, plan: CollectionPlan) -> datetime:
    """Default-branch history reaches back past the baseline (what it ships) and at least to
    the first period's start (per-person commits)."""
    return min(oldest - HISTORY_SLACK, plan.since) if oldest is not None else plan.since


def oldest_shipping_time(state: RepoState, plan: CollectionPlan) -> datetime | None:
    """The baseline: the last successful deployment (release, run, tag) before the first period.

    None when nothing was ever deployed or released, so no history needs reading.
    """
    shipped = [
        success
        for d in state.deployments.values()
        if d.environment.lower() in plan.production_environments
        and (success := d.succeeded_at) is not None
    ]
    shipped += [
        r.published_at
        for r in state.releases.values()
        if r.published_at is not None and not (r.is_draft or r.is_prerelease)
    ]
    shipped += [r.updated_at for r in state.workflow_runs if r.conclusion == SUCCESS]
    shipped += [t.tagger_date or t.committed_at for t in state.tags]
    if not shipped:
        return None
    before = [moment for moment in shipped if moment < plan.since]
    return max(before) if before else plan.since


def bounds(state: RepoState, plan: CollectionPlan) -> dict[str, datetime]:
    """From when on each kind of record is kept: exactly what a full collection needs."""
    oldest = oldest_shipping_time(state, plan)
    deployment = deployment_baseline(state, plan)
    release = release_baseline(state, plan)
    result = {
        "pulls": min(oldest, plan.since) if oldest else plan.since,
        "deployments": min(deployment.created_at, plan.since) if deployment else EPOCH,
        "releases": min(release.created_at, plan.since) if release else EPOCH,
        "incidents": plan.since,
        "commits": history_since(oldest, plan),
    }
    return result


def prune(state: RepoState, keep: dict[str, datetime]) -> None:
    """Drop records older than ``keep``; the state is then complete from exactly there."""
    drop_older(state, keep)
    state.coverage = dict(keep)


def coverage_gap(state: RepoState, keep: dict[str, datetime]) -> str | None:
    """Why the cached state is not complete back to ``keep``, or None when it is."""
    for kind, needed in keep.items():
        have = state.coverage.get(kind)
        if have is None or have > needed:
            shown = have.isoformat() if have else "nothing"
            return f"the cache holds {kind} from {shown}, this run needs them from {needed}"
    return None
