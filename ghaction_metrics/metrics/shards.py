"""Scale-out: shard runs hand their collected records to one aggregate run.

A shard run collects its share of the repositories and commits only their raw records, the
collection cache files ``REPORT_ID/cache/vN/OWNER/NAME/`` (collect/sync.py), to the history
branch. Each shard writes files no other shard writes, and every commit is a compare-and-swap
that keeps the files it does not name (publish/history.py), so shards running at the same time lose
nothing. The aggregate run collects nothing: it reads every shard's records from the branch
and computes the report over all of them, so pooled figures (SPEC §4: medians over all
changes, rates over all deployments) are computed from records, never from per-shard medians.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from ghaction_metrics.collect.seal import Seal
from ghaction_metrics.collect.sync import (
    RepoState,
    cache_files,
    cache_root,
    repository_data,
)
from ghaction_metrics.records import Collection, RepositoryData, SkippedRepository
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)

# Each sharded repository (owner/name, in listing order): its records, or None and why not.
ShardRecords = Mapping[str, tuple[RepoState | None, str]]

# Records older than this were probably left by a repository no shard measures any more.
STALE_AFTER = timedelta(days=2)


class NoShardRecordsError(RuntimeError):
    """The aggregate found no shard records on the history branch."""


def shard_files(
    states: Mapping[str, RepoState], report_id: str, seal: Seal | None = None
) -> dict[str, bytes]:
    """The files a shard commits: the records of every repository in ``states``.

    The single mode keeps other private repositories' records off the branch; a shard cannot,
    as the aggregate needs them. The caller leaves private ones out when the branch's
    repository is public and allow-private-data is false, as for any report.
    """
    files: dict[str, bytes] = {}
    for state in states.values():
        files.update(cache_files(report_id, state, seal))
    return files


def aggregate_collection(
    records: ShardRecords,
    report_id: str,
    settings_key: str,
    now: datetime,
    *,
    graphql_points: int = 0,
    requests: int = 0,
) -> Collection:
    """Every shard's records, read from the history branch (publish/history_read.py), as one
    collection; ``graphql_points`` and ``requests`` are what the run spent reading them.

    ``settings_key`` is the aggregate's own CollectionPlan key: records collected under other
    settings (another deployment source, other labels) would give wrong figures, so they are
    left out and named, as are unreadable files.
    """
    if not records:
        raise NoShardRecordsError(
            f"No shard records under {cache_root(report_id)} on the history branch: run the "
            "shard jobs (mode: shard) with the same report-id and history-branch first."
        )
    repositories: list[RepositoryData] = []
    skipped: list[SkippedRepository] = []
    for name, (state, why) in records.items():
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
    shards = counted(len(repositories), "repository", "repositories")
    log.info("Aggregating the records of %s from the shards", shards)
    return Collection(
        repositories=tuple(repositories),
        skipped=tuple(skipped),
        graphql_points=graphql_points,
        requests=requests,
    )
