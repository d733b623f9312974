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
    baselines = environment_baselines(state, plan)
    return max(baselines.values(), key=lambda d: d.created_at) if baselines else None


def environment_baselines(state: RepoState, plan: CollectionPlan) -> dict[str, Deployment]:
    """Each production environment's baseline, by its name as GitHub spells it: the
    newest-created deployment to it that succeeded before the first period. Deployments are
    chained per environment, so each needs its own."""
    found: dict[str, Deployment] = {}
    for d in state.deployments.values():
        if d.environment.lower() not in plan.production_environments:
            continue
        success = d.succeeded_at
        if success is None or success >= plan.since:
            continue
        known = found.get(d.environment)
        if known is None or d.created_at > known.created_at:
            found[d.environment] = d
    return found


def environments_without_baseline(state: RepoState, plan: CollectionPlan) -> list[str]:
    """Production environments read so far whose baseline has not been read."""
    baselines = environment_baselines(state, plan)
    return sorted(
        {
            d.environment
            for d in state.deployments.values()
            if d.environment.lower() in plan.production_environments
            and d.environment not in baselines
        }
    )


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
    if not before:
        return plan.since
    # Each production environment's first deployment in the period ships what is new since
    # that environment's own baseline: the history reaches back to the oldest of them.
    own = [d.succeeded_at for d in environment_baselines(state, plan).values()]
    return min([max(before), *(moment for moment in own if moment is not None)])


def bounds(state: RepoState, plan: CollectionPlan) -> dict[str, datetime]:
    """From when on each kind of record is kept: exactly what a full collection needs."""
    oldest = oldest_shipping_time(state, plan)
    deployments = environment_baselines(state, plan).values()
    release = release_baseline(state, plan)
    result = {
        "pulls": min(oldest, plan.since) if oldest else plan.since,
        # Back to the oldest environment's baseline: every environment keeps its own.
        "deployments": min([plan.since, *(d.created_at for d in deployments)])
        if deployments
        else EPOCH,
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
