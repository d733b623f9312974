"""What a run reads from the history branch before it writes: the trends' snapshots and the
shards' records. The files are fetched here; metrics/trends.py and metrics/shards.py make
sense of them without any I/O of their own."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from github import GithubException

from ghaction_metrics.api.client import GitHubClients, GitHubUnreachableError
from ghaction_metrics.api.quota import QuotaExhaustedError
from ghaction_metrics.collect import queries
from ghaction_metrics.collect.seal import Seal
from ghaction_metrics.collect.sync import cached_repositories, read_cache
from ghaction_metrics.metrics.shards import ShardRecords
from ghaction_metrics.metrics.trends import (
    EMPTY_HISTORY,
    History,
    SnapshotFile,
    UnreadableSnapshotError,
    check_schema,
    parse_json,
    snapshot_files,
)
from ghaction_metrics.publish.exports import BlobsReader, BranchFigures, branch_figures
from ghaction_metrics.publish.history import read_blob, read_tree

log = logging.getLogger(__name__)


def load_history(clients: GitHubClients, repository: str, branch: str, report_id: str) -> History:
    """Read the branch tip's figures for ``report_id``: the export CSVs, then only
    the snapshots they lack. Raises NewerSnapshotError, and GithubException (or the client's
    errors) when a snapshot cannot be read: trends without it would be wrong."""
    tree = read_tree(clients, repository, branch)
    if tree is None:
        return EMPTY_HISTORY

    def read_snapshot(sha: str) -> bytes:
        return read_blob(clients, repository, sha)

    snapshots = snapshot_files(tree.files, report_id)
    found = branch_figures(tree.files, report_id, blobs_reader(clients, repository), read_snapshot)
    _check_newest(snapshots, found, read_snapshot)
    return History(True, tree.files, tuple(snapshots), found.rows, found.skipped, found.behind)


def _check_newest(
    snapshots: list[SnapshotFile], found: BranchFigures, read: Callable[[str], bytes]
) -> None:
    """A newer version of the action writes the same CSVs, so the rows of its snapshots read
    like ours: read the newest run's snapshot itself (unless it was read already) to find one
    in a newer schema, which stops the run (SPEC §6)."""
    runs = [s for s in snapshots if not s.backfill]
    if not runs or runs[-1].path in found.read_from_snapshots:
        return
    newest = runs[-1]
    # An unreadable one had its rows in the CSV: it is left as it is.
    with contextlib.suppress(UnreadableSnapshotError):
        check_schema(parse_json(read(newest.blob)), newest.path)


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


def blobs_reader(clients: GitHubClients, repository: str) -> BlobsReader:
    """Reads many blobs of the history branch (the export CSVs) in one GraphQL request per
    ``BLOBS_BATCH``, rather than a REST request each; a blob GraphQL does not give whole
    (binary, truncated, or the request failed) is read over REST, and None when that fails
    too, with a warning: the files are rebuilt from the snapshots."""
    owner, name = repository.split("/", 1)
    one = blob_reader(clients, repository)

    def read(shas: Sequence[str]) -> dict[str, bytes | None]:
        wanted = list(dict.fromkeys(shas))
        found: dict[str, bytes | None] = {}
        for start in range(0, len(wanted), queries.BLOBS_BATCH):
            batch = wanted[start : start + queries.BLOBS_BATCH]
            variables: dict[str, Any] = {"owner": owner, "name": name}
            variables.update({f"oid{index}": sha for index, sha in enumerate(batch)})
            try:
                data = clients.graphql(
                    queries.blobs_query(len(batch)), variables, tolerate=frozenset({"NOT_FOUND"})
                )
            except (GithubException, GitHubUnreachableError, QuotaExhaustedError) as exc:
                log.warning("Could not read the history branch's exports at once: %s", exc)
                data = {}
            repo = data.get("repository") or {}
            for index, sha in enumerate(batch):
                blob = repo.get(f"b{index}") or {}
                text = blob.get("text")
                if isinstance(text, str) and not blob.get("isTruncated"):
                    found[sha] = text.encode("utf-8")
        return {sha: found[sha] if sha in found else one(sha) for sha in wanted}

    return read
