"""What a run reads from the history branch before it writes: the trends' snapshots and the
shards' records. The files are fetched here; metrics/trends.py and metrics/shards.py make
sense of them without any I/O of their own."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from github import GithubException

from ghaction_metrics.api.client import GitHubClients, GitHubUnreachableError
from ghaction_metrics.api.quota import QuotaExhaustedError
from ghaction_metrics.collect.seal import Seal
from ghaction_metrics.collect.sync import cached_repositories, read_cache
from ghaction_metrics.metrics.shards import ShardRecords
from ghaction_metrics.metrics.trends import (
    EMPTY_HISTORY,
    History,
    history_of,
    index_path,
    read_index,
    unindexed,
)
from ghaction_metrics.publish.history import read_blob, read_tree

log = logging.getLogger(__name__)


def load_history(clients: GitHubClients, repository: str, branch: str, report_id: str) -> History:
    """Read the branch tip's snapshots for ``report_id``: the trends index, then only the
    snapshots it does not cover. Raises NewerSnapshotError."""
    tree = read_tree(clients, repository, branch)
    if tree is None:
        return EMPTY_HISTORY
    index_blob = tree.files.get(index_path(report_id))
    index = read_index(read_blob(clients, repository, index_blob) if index_blob else None)
    blobs: dict[str, bytes] = {}
    for snap in unindexed(tree.files, report_id, index):
        if snap.blob not in blobs:
            blobs[snap.blob] = read_blob(clients, repository, snap.blob)
    return history_of(tree.files, report_id, index, blobs)


def read_shard_records(
    clients: GitHubClients,
    home: str,
    files: Mapping[str, str] | None,
    report_id: str,
    seal: Seal | None = None,
) -> ShardRecords:
    """Every shard's records on the history branch listing ``files`` (path → blob sha)."""
    return {
        name: read_cache(clients, home, files, report_id, name, seal)
        for name in cached_repositories(files or {}, report_id)
    }


def blob_reader(clients: GitHubClients, repository: str) -> Callable[[str], bytes | None]:
    """Reads blobs of the history branch for files that can be rebuilt (the exports): one
    that cannot be read is None, with a warning, and the run goes on."""

    def read(sha: str) -> bytes | None:
        try:
            return read_blob(clients, repository, sha)
        except (GithubException, GitHubUnreachableError, QuotaExhaustedError) as exc:
            log.warning("Could not read blob %s of the history branch: %s", sha, exc)
            return None

    return read
