"""Deployed commits off the default branch, and their history back to it.

SPEC §5: a deployment whose commit is not on the default branch (a maintenance line's tag, a
release commit main never got, a branch deploy) ships what it contains that no earlier
deployment shipped. COLLECT reads the default branch's history only, so once that is read,
every deployed commit it does not hold is read with its history (``queries.off_branch_query``,
several commits per request), until each line joins commits already known or reaches the
collection's history horizon. A repository whose deployments are all on the default branch
makes no request here; a warm run reads only the deployed commits its cache does not hold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.collect import nodes, queries
from ghaction_metrics.collect.plan import SUCCESS, CollectionPlan
from ghaction_metrics.collect.sync import EPOCH, RepoState
from ghaction_metrics.records import Commit
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)


def read_off_branch(
    clients: GitHubClients,
    owner: str,
    name: str,
    state: RepoState,
    plan: CollectionPlan,
    count: Callable[[], None],
) -> None:
    """Complete a pruned ``state`` (``baselines.prune``) with what its deployments off the
    default branch ship, back to its commits' coverage, and keep nothing else: a warm run's
    state then holds exactly what a cold one reads."""
    horizon = state.coverage.get("commits", EPOCH)
    deployed = _deployed(state, plan)
    wanted: list[str] = []
    for when, oid in sorted(deployed, reverse=True):
        # A commit is never newer than its deployment: one deployed before the horizon has
        # no history the collection reads.
        if when >= horizon and not _known(state, oid) and oid not in wanted:
            wanted.append(oid)
    OffBranchReader(clients, owner, name, state, count).read(wanted, horizon)
    reached: dict[str, Commit] = {}
    stack = [oid for _, oid in deployed]
    while stack:
        oid = stack.pop()
        commit = state.side_commits.get(oid)
        if commit is not None and oid not in reached and commit.committed_at >= horizon:
            reached[oid] = commit
            stack.extend(commit.parents)
    state.side_commits = reached


def _deployed(state: RepoState, plan: CollectionPlan) -> list[tuple[datetime, str]]:
    """(when, commit) of everything a deployment source may count as deployed; a tag's
    time is its commit's, which is all the horizon needs."""
    found: list[tuple[datetime, str]] = []
    for deployment in state.deployments.values():
        success = deployment.succeeded_at
        if deployment.environment.lower() in plan.production_environments and success:
            found.append((success, deployment.sha))
    for release in state.releases.values():
        published = release.published_at
        if published and release.commit and not (release.is_draft or release.is_prerelease):
            found.append((published, release.commit))
    found += [
        (run.updated_at, run.head_sha) for run in state.workflow_runs if run.conclusion == SUCCESS
    ]
    found += [(tag.committed_at, tag.commit) for tag in state.tags]
    return found


def _known(state: RepoState, oid: str) -> bool:
    return oid in state.commits or oid in state.side_commits


class OffBranchReader:
    """Reads the history of deployed commits off the default branch into ``state``;
    ``count`` hears of each request."""

    def __init__(
        self,
        clients: GitHubClients,
        owner: str,
        name: str,
        state: RepoState,
        count: Callable[[], None],
    ) -> None:
        self.clients = clients
        self.owner, self.name = owner, name
        self.full_name = f"{owner}/{name}"
        self.state = state
        self.count = count
        # Commits whose history the collection does not reach: older than the horizon, or
        # unknown to GitHub (force-pushed away).
        self.beyond: set[str] = set()
        # Read by this run: only their parents can be missing (a cached line was complete).
        self.fresh: dict[str, Commit] = {}

    def read(self, targets: list[str], horizon: datetime) -> None:
        """Read ``targets`` and their history back to the known history or ``horizon``.

        Each request reads, for a few commits at the edge of what is known, a page of their
        history; the next starts from the parents the pages did not reach, so lines of any
        length are read and a line that joins the known history ends there.
        """
        edge = [oid for oid in targets if self._open(oid)]
        if not edge:
            return
        requests = 0
        while edge:
            batch = edge[: queries.OFF_BRANCH_BATCH]
            variables: dict[str, Any] = {
                "owner": self.owner,
                "name": self.name,
                "first": queries.off_branch_page(len(batch)),
                "since": horizon.isoformat(),
            }
            variables.update({f"oid{index}": oid for index, oid in enumerate(batch)})
            data = self.clients.graphql(
                queries.off_branch_query(len(batch)), variables, tolerate=frozenset({"NOT_FOUND"})
            )
            self.count()
            requests += 1
            repository = data.get("repository") or {}
            for index, oid in enumerate(batch):
                self._absorb(oid, (repository.get(f"c{index}") or {}).get("history"))
            edge = self._edge(edge[len(batch) :])
        log.info(
            "%s: %s of deployments off the default branch read with %s",
            self.full_name,
            counted(len(self.fresh), "commit"),
            counted(requests, "request"),
        )

    def _open(self, oid: str) -> bool:
        state = self.state
        return oid not in state.commits and oid not in state.side_commits and oid not in self.beyond

    def _absorb(self, start: str, history: dict[str, Any] | None) -> None:
        """One page of ``start``'s history, newest first."""
        if history is None:
            # Not a commit GitHub has: nothing it ships is visible.
            log.info("%s: deployed commit %s not found", self.full_name, start[:12])
            self.beyond.add(start)
            return
        read: list[Commit] = [nodes.commit(node) for node in history["nodes"] if node]
        for commit in read:
            if commit.oid not in self.state.commits:
                self.state.side_commits[commit.oid] = self.fresh[commit.oid] = commit
        if not read:
            self.beyond.add(start)  # committed before the horizon
        elif not history["pageInfo"]["hasNextPage"]:
            # The whole history back to the horizon is here: a parent it lacks is older.
            self.beyond |= {p for c in read for p in c.parents if self._open(p)}

    def _edge(self, waiting: list[str]) -> list[str]:
        """Commits still to read: the deployed ones not reached yet, then the parents that
        the lines read so far lack, newest line first."""
        edge = [oid for oid in waiting if self._open(oid)]
        for commit in sorted(self.fresh.values(), key=lambda c: c.committed_at, reverse=True):
            edge += [p for p in commit.parents if self._open(p) and p not in edge]
        return edge
