"""Scale-out: shard runs hand their collected records to one aggregate run.

A shard run collects its share of the repositories and commits only their raw records, the
collection cache files ``REPORT_ID/cache/vN/OWNER/NAME/`` (collect/sync.py), to the history
branch. Each shard writes files no other shard writes, and every commit is a compare-and-swap
that keeps the files it does not name (gh/history.py), so shards running at the same time lose
nothing. The aggregate run collects nothing: it reads every shard's records from the branch
and computes the report over all of them, so pooled figures (SPEC §4: medians over all
changes, rates over all deployments) are computed from records, never from per-shard medians.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.collect.sync import (
    RepoState,
    cache_files,
    cache_root,
    cached_repositories,
    read_cache,
    repository_data,
)
from ghaction_metrics.records import Collection, RepositoryData, SkippedRepository

log = logging.getLogger(__name__)

# Records older than this were probably left by a repository no shard measures any more.
STALE_AFTER = timedelta(days=2)


class NoShardRecordsError(RuntimeError):
    """The aggregate found no shard records on the history branch."""


def shard_files(states: Mapping[str, RepoState], report_id: str) -> dict[str, bytes]:
    """The files a shard commits: the records of every repository in ``states``.

    The single mode keeps other private repositories' records off the branch; a shard cannot,
    as the aggregate needs them. The caller leaves private ones out when the branch's
    repository is public and allow-private-data is false, as for any report.
    """
    files: dict[str, bytes] = {}
    for state in states.values():
        files.update(cache_files(report_id, state))
    return files


def aggregate_collection(
    clients: GitHubClients,
    home: str,
    files: Mapping[str, str] | None,
    report_id: str,
    settings_key: str,
    now: datetime,
) -> Collection:
    """Every shard's records from the history branch listing ``files``, as one collection.

    ``settings_key`` is the aggregate's own CollectionPlan key: records collected under other
    settings (another deployment source, other labels) would give wrong figures, so they are
    left out and named, as are unreadable files.
    """
    names = cached_repositories(files or {}, report_id)
    if not names:
        raise NoShardRecordsError(
            f"No shard records under {cache_root(report_id)} on the history branch: run the "
            "shard jobs (mode: shard) with the same report-id and history-branch first."
        )
    repositories: list[RepositoryData] = []
    skipped: list[SkippedRepository] = []
    for name in names:
        state, why = read_cache(clients, home, files, report_id, name)
        if state is None:
            skipped.append(SkippedRepository(name, f"its shard records are unusable: {why}"))
            continue
        if state.settings_key != settings_key:
            reason = "its shard ran with other settings (deployment source, labels or windows)"
            log.warning("Leaving out %s: %s", name, reason)
            skipped.append(SkippedRepository(name, reason))
            continue
        data = repository_data(state)
        if state.synced_at is not None and now - state.synced_at > STALE_AFTER:
            note = f"{name}: its shard last collected at {state.synced_at.isoformat()}"
            log.warning("%s; its figures may be out of date.", note)
            data = dataclasses.replace(data, notes=(note,))
        repositories.append(data)
    log.info("Aggregating the records of %d repositories from the shards", len(repositories))
    return Collection(
        repositories=tuple(repositories),
        skipped=tuple(skipped),
        graphql_points=clients.cost.points,
        requests=clients.cost.queries,
    )
