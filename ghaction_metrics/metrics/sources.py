"""What a deployment is, by ``deployment-source`` (SPEC §5), and what was left out and why.

Every source turns the repository's records into ``Event``s (successful deployments with a
time and, where known, a commit); ``merges`` is handled with the changes themselves, since a
merge ships exactly its own pull request.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Event, Settings
from ghaction_metrics.records import RepositoryData, WorkflowRun

WORKFLOW_PREFIX = "workflow:"
TAGS_PREFIX = "tags:"


@dataclass(frozen=True)
class LeftOut:
    """A deployment-like record that did not count, with the reason (report evidence)."""

    key: str
    time: datetime
    reason: str


@dataclass(frozen=True)
class SourceEvents:
    events: list[Event]  # successful deployments, any time (the chain needs the baseline)
    left_out: list[LeftOut]  # records that looked like deployments but did not count
    failed_attempts: list[datetime]  # attempts that never reached success


def source_kind(source: str) -> str:
    """``workflow:deploy.yml`` → ``workflow``; the other sources are their own kind."""
    for prefix in (WORKFLOW_PREFIX, TAGS_PREFIX):
        if source.startswith(prefix):
            return prefix[:-1]
    return source


def choose_source(repo: RepositoryData, settings: Settings, periods: Sequence[Window]) -> str:
    """``auto``: deployments, else releases, else merges; decided once for all periods."""
    if settings.deployment_source != "auto":
        return settings.deployment_source
    if any(e.time in p for e in deployment_events(repo, settings).events for p in periods):
        return "deployments"
    if any(e.time in p for e in release_events(repo).events for p in periods):
        return "releases"
    return "merges"


def events_for(repo: RepositoryData, settings: Settings, source: str) -> SourceEvents:
    kind = source_kind(source)
    if kind == "deployments":
        return deployment_events(repo, settings)
    if kind == "releases":
        return release_events(repo)
    if kind == "workflow":
        return workflow_events(repo, source[len(WORKFLOW_PREFIX) :])
    if kind == "tags":
        return tag_events(repo, source[len(TAGS_PREFIX) :])
    raise ValueError(f"no deployment events for source {source!r}")


def deployment_events(repo: RepositoryData, settings: Settings) -> SourceEvents:
    """GitHub deployments to a production environment with a ``success`` status."""
    events: list[Event] = []
    left_out: list[LeftOut] = []
    attempts: list[datetime] = []
    for deployment in repo.deployments:
        key = f"deployment {deployment.id}"
        environment = deployment.environment.lower()
        success = deployment.succeeded_at
        if environment not in settings.production_environments:
            left_out.append(
                LeftOut(key, deployment.created_at, f"environment {deployment.environment}")
            )
        elif success is not None:
            events.append(Event(key, environment, deployment.sha, success))
        elif any(s.state in ("failure", "error") for s in deployment.statuses):
            attempts.append(deployment.created_at)
            left_out.append(LeftOut(key, deployment.created_at, "failed: no success status"))
        else:
            left_out.append(LeftOut(key, deployment.created_at, "no success status yet"))
    return SourceEvents(events, left_out, attempts)


def release_events(repo: RepositoryData) -> SourceEvents:
    """Published releases that are neither drafts nor pre-releases, at their publication."""
    events: list[Event] = []
    left_out: list[LeftOut] = []
    for release in repo.releases:
        key = f"release {release.tag}"
        if release.is_draft or release.published_at is None:
            left_out.append(LeftOut(key, release.created_at, "draft"))
        elif release.is_prerelease:
            left_out.append(LeftOut(key, release.published_at, "pre-release"))
        else:
            events.append(Event(key, "release", release.commit, release.published_at))
    return SourceEvents(events, left_out, [])


def workflow_matches(run: WorkflowRun, wanted: str) -> bool:
    """``workflow:<x>`` names the workflow file (``deploy.yml`` or its path) or its name."""
    target = wanted.strip().lower()
    path = run.path.lower()
    return target in (path, path.rsplit("/", 1)[-1], run.name.lower())


def workflow_events(repo: RepositoryData, wanted: str) -> SourceEvents:
    """Completed runs of the workflow on the default branch, one per run id (latest attempt).

    A ``success`` is a deployment at the run's ``updated_at`` (REST has no completion time);
    a ``failure`` is a failed attempt; other conclusions (cancelled, skipped) are left out.
    """
    latest: dict[int, WorkflowRun] = {}
    for run in repo.workflow_runs:
        if not workflow_matches(run, wanted):
            continue
        held = latest.get(run.id)
        if held is None or run.attempt > held.attempt:
            latest[run.id] = run
    events: list[Event] = []
    left_out: list[LeftOut] = []
    attempts: list[datetime] = []
    for run in sorted(latest.values(), key=lambda r: (r.updated_at, r.id)):
        key = f"run {run.id}" + (f" attempt {run.attempt}" if run.attempt > 1 else "")
        if run.head_branch != repo.info.default_branch:
            left_out.append(LeftOut(key, run.updated_at, f"branch {run.head_branch}"))
        elif run.status != "completed":
            left_out.append(LeftOut(key, run.updated_at, f"not completed ({run.status})"))
        elif run.conclusion == "success":
            events.append(Event(key, "workflow", run.head_sha, run.updated_at))
        elif run.conclusion == "failure":
            attempts.append(run.updated_at)
            left_out.append(LeftOut(key, run.updated_at, "failed: conclusion failure"))
        else:
            left_out.append(LeftOut(key, run.updated_at, f"conclusion {run.conclusion}"))
    return SourceEvents(events, left_out, attempts)


def tag_events(repo: RepositoryData, pattern: str) -> SourceEvents:
    """Tags matching the glob: an annotated tag at its tagger date, a lightweight one at its
    commit's committer date (marked as an approximation). A tag on a commit that an earlier
    matching tag already deployed is that same deployment (a floating tag such as ``v3``
    following the latest ``v3.x``), so it is left out, with the tag it repeats."""
    events: list[Event] = []
    for tag in repo.tags:
        if not fnmatch.fnmatchcase(tag.name, pattern):
            continue
        if tag.tagger_date is not None:
            events.append(Event(f"tag {tag.name}", "tags", tag.commit, tag.tagger_date))
        else:
            events.append(
                Event(f"tag {tag.name}", "tags", tag.commit, tag.committed_at, approximate=True)
            )
    kept: list[Event] = []
    left_out: list[LeftOut] = []
    first_by_commit: dict[str | None, Event] = {}
    for event in sorted(events, key=lambda e: (e.time, e.key)):
        earlier = first_by_commit.setdefault(event.sha, event)
        if earlier is event:
            kept.append(event)
        else:
            left_out.append(LeftOut(event.key, event.time, f"same commit as {earlier.key}"))
    return SourceEvents(kept, left_out, [])
