"""Reading one repository's connections page by page, newest first.

Each repository is read with one GraphQL document per page (``queries.COLLECT``) that carries
every connection still being paged, newest first, each stopping as soon as it reaches back
past what the metrics need (``baselines.py``). A warm run starts from the cached state and
reads only what changed since the last sync, plus the cached records that can change without
a new creation time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ghaction_metrics.api.client import GitHubClients, GraphQLError, PageTooSlowError
from ghaction_metrics.collect import queries
from ghaction_metrics.collect.baselines import (
    deployment_baseline,
    environments_without_baseline,
    history_since,
    oldest_shipping_time,
    release_baseline,
)
from ghaction_metrics.collect.merge import StateMerger
from ghaction_metrics.collect.plan import HISTORY_SLACK, CollectionPlan, read_connections
from ghaction_metrics.collect.sources import SourceReader
from ghaction_metrics.collect.sync import EPOCH, RepoState
from ghaction_metrics.collect.visibility import private_found
from ghaction_metrics.records import RepositoryInfo
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)

MIN_PAGE = 5


@dataclass
class _Paging:
    """One top-level connection being paged inside COLLECT."""

    name: str  # the variable prefix: pulls, deployments, releases, issues, history
    first: int
    limit: int
    enabled: bool = True  # whether the deployment source needs it at all
    active: bool = True
    after: str | None = None
    total: int | None = None
    pages: int = 0
    oldest: datetime | None = None  # the sort time of the last item read
    exhausted: bool = False  # no next page


class RepositoryReader:
    """The collection of one repository: cold (state empty) or warm (state from the cache)."""

    def __init__(
        self,
        clients: GitHubClients,
        owner: str,
        name: str,
        plan: CollectionPlan,
        state: RepoState,
        since_sync: datetime | None,
    ) -> None:
        self.clients = clients
        self.owner, self.name = owner, name
        self.plan = plan
        self.state = state
        self.warm = since_sync is not None
        self.since_sync = since_sync
        self.full_name = f"{owner}/{name}"
        pages = plan.pages
        self.paging = {
            "pulls": _Paging("pulls", pages.pulls, pages.pulls),
            "deployments": _Paging("deployments", pages.deployments, pages.deployments),
            "releases": _Paging("releases", pages.releases, pages.releases),
            "issues": _Paging("issues", pages.issues, pages.issues),
            "history": _Paging("history", pages.history, pages.history),
        }
        reads = read_connections(plan)
        for connection, paging in self.paging.items():
            paging.enabled = connection in reads
        self.recheck: list[str] = self._recheck_ids() if self.warm else []
        self.requests = 0
        self.estimated = False
        self.info_read = False  # the default branch is known once a page was read
        self.source_read = False
        self.environments_read = False
        self.merger = StateMerger(
            clients,
            self.full_name,
            plan.incident_labels,
            state,
            self._count_request,
            bug_labels=plan.bug_labels,
        )

    # -- what a warm run re-reads --------------------------------------------------------
    def _recheck_ids(self) -> list[str]:
        """Cached records that can change without a new creation time.

        A deployment without a success can still get one (its time is the deployment's);
        a draft or pre-release can be published later; an incident or bug issue can be
        deleted (or transferred).
        """
        ids = [
            node
            for node, d in self.state.deployments.items()
            if d.succeeded_at is None and self.paging["deployments"].enabled
        ]
        ids += [
            node
            for node, r in self.state.releases.items()
            if (r.is_draft or r.is_prerelease) and self.paging["releases"].enabled
        ]
        ids += [
            self.state.incident_ids[n] for n in self.state.incidents if n in self.state.incident_ids
        ]
        ids += [node for node in self.state.bug_ids.values() if node not in ids]
        return ids

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            if self.info_read and not self.source_read:
                self._read_source()
            self._update_activity()
            if self._environments_due():
                self._read_environment_baselines()
                self._update_activity()
            active = [p for p in self.paging.values() if p.active]
            if not active and not self.recheck:
                break
            chunk = self.recheck[:100]
            variables = self._variables(chunk)
            try:
                data = self.clients.graphql(
                    queries.COLLECT, variables, shrinkable=True, tolerate=frozenset({"NOT_FOUND"})
                )
            except PageTooSlowError as exc:
                self.requests += 1
                if not self._shrink():
                    data = self.clients.graphql(
                        queries.COLLECT, variables, tolerate=frozenset({"NOT_FOUND"})
                    )
                else:
                    log.info("%s: %s; reading smaller pages", self.full_name, exc)
                    continue
            self.requests += 1
            self._grow()
            self.recheck = self.recheck[len(chunk) :]
            self._absorb(data, chunk)
            self._estimate(data)
            self._progress()
        if not self.source_read:
            self._read_source()

    # -- workflow runs and tags (read afresh each run, see sync.py) -------------------------
    def _read_source(self) -> None:
        self.source_read = True
        reader = SourceReader(
            self.clients, self.owner, self.name, self.plan.since, self._count_request
        )
        reader.read(self.plan.deployment_source, self.state)

    # -- every production environment's own baseline ----------------------------------------
    def _environments_due(self) -> bool:
        deployments = self.paging["deployments"]
        return deployments.enabled and not deployments.active and not self.environments_read

    def _read_environment_baselines(self) -> None:
        """COLLECT stops reading deployments at the first production environment's baseline;
        an environment that last deployed before it is read on its own, newest first, until
        it has its baseline too (or has no earlier deployment)."""
        self.environments_read = True
        lacking = environments_without_baseline(self.state, self.plan)
        after: str | None = None
        while lacking:
            variables = {
                "owner": self.owner,
                "name": self.name,
                "environments": lacking,
                "first": self.plan.pages.deployments,
                "after": after,
            }
            data = self.clients.graphql(queries.ENVIRONMENT_BASELINES, variables)
            self.requests += 1
            connection = (data.get("repository") or {}).get("deployments")
            if connection is None:
                return
            self.merger.deployments([n for n in connection["nodes"] if n is not None])
            lacking = [
                name
                for name in environments_without_baseline(self.state, self.plan)
                if name in lacking
            ]
            if not connection["pageInfo"]["hasNextPage"]:
                return
            after = connection["pageInfo"]["endCursor"]

    def _count_request(self) -> None:
        self.requests += 1

    def _variables(self, chunk: list[str]) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "owner": self.owner,
            "name": self.name,
            "reviewsFirst": self.plan.pages.reviews,
            "recheck": bool(chunk),
            "recheckIds": chunk,
            "issueLabels": None if self.warm else list(self.plan.issue_labels),
            "issuesSince": (self.since_sync or self.plan.since).isoformat(),
            "historySince": self.since_sync.isoformat() if self.since_sync else None,
        }
        for paging in self.paging.values():
            variables[paging.name] = paging.active
            variables[f"{paging.name}First"] = paging.first
            variables[f"{paging.name}After"] = paging.after
        return variables

    def _shrink(self) -> bool:
        active = [p for p in self.paging.values() if p.active]
        if all(p.first <= MIN_PAGE for p in active):
            return False
        for paging in active:
            # Stay at the smaller size: a page that was too heavy once would be again.
            paging.first = paging.limit = max(MIN_PAGE, paging.first // 2)
        return True

    def _grow(self) -> None:
        for paging in self.paging.values():
            paging.first = min(paging.limit, paging.first * 2)

    def _estimate(self, data: dict[str, Any]) -> None:
        """After the first page: the points the rest will take, against what remains."""
        if self.estimated:
            return
        self.estimated = True
        self._update_activity()
        rate = data.get("rateLimit") or {}
        cost, remaining = int(rate.get("cost") or 1), rate.get("remaining")
        pages = max(
            (
                math.ceil(max(0, (p.total or 0) - p.first) / p.first)
                for p in self.paging.values()
                if p.active
            ),
            default=0,
        )
        needed = pages * cost
        log.info(
            "%s: %s; %s points remain until %s",
            self.full_name,
            f"at most {counted(pages, 'more page')} (about {counted(needed, 'point')}) to read"
            if pages
            else "nothing more to read",
            remaining,
            rate.get("resetAt"),
        )
        if remaining is not None and needed > int(remaining):
            log.warning(
                "%s may need more GraphQL points (%d) than remain (%s): the run will wait for "
                "the reset within max-wait, or publish a partial report.",
                self.full_name,
                needed,
                remaining,
            )

    def _progress(self) -> None:
        state = self.state
        log.info(
            "%s: after %s: %s, %s, %s, %s, %s",
            self.full_name,
            counted(self.requests, "request"),
            counted(len(state.pulls), "pull request"),
            counted(len(state.deployments), "deployment"),
            counted(len(state.releases), "release"),
            counted(len(state.incidents), "incident"),
            counted(len(state.commits), "commit"),
        )

    # -- when to stop each connection ------------------------------------------------------
    def _update_activity(self) -> None:
        """Decide afresh which connections need another page.

        Pull requests and history are needed back to the baseline deployment, which is known
        only once deployments and releases are read back to it: until then they pause at the
        first period's start, keeping their cursor, and resume if the baseline is older.
        """
        plan, paging = self.plan, self.paging

        def needed(name: str, back_to: datetime | None) -> bool:
            one = paging[name]
            if not one.enabled or one.exhausted or back_to is None:
                return False
            return one.oldest is None or one.oldest >= back_to

        if self.warm:
            assert self.since_sync is not None
            for name in ("pulls", "deployments", "releases"):
                paging[name].active = needed(name, self.since_sync)
            for name in ("issues", "history"):
                paging[name].active = needed(name, EPOCH)
            return
        deployments, releases = paging["deployments"], paging["releases"]
        deployments.active = needed("deployments", EPOCH) and not (
            deployments.oldest is not None
            and deployments.oldest < plan.since
            and deployment_baseline(self.state, plan) is not None
        )
        releases.active = needed("releases", EPOCH) and not (
            releases.oldest is not None
            and releases.oldest < plan.since
            and release_baseline(self.state, plan) is not None
        )
        paging["issues"].active = needed("issues", EPOCH)
        if deployments.active or releases.active:
            paging["pulls"].active = needed("pulls", plan.since)
            paging["history"].active = needed("history", plan.since - HISTORY_SLACK)
            return
        oldest = oldest_shipping_time(self.state, plan)
        paging["pulls"].active = needed("pulls", min(oldest, plan.since) if oldest else plan.since)
        paging["history"].active = needed("history", history_since(oldest, plan))

    # -- reading a page --------------------------------------------------------------------
    def _absorb(self, data: dict[str, Any], chunk: list[str]) -> None:
        repo = data.get("repository")
        if repo is None:
            raise GraphQLError(f"Could not resolve to a Repository {self.full_name}", [], 404)
        branch_ref = repo.get("defaultBranchRef") or {}
        self.info_read = True
        if repo["isPrivate"]:
            private_found(self.full_name)
        self.state.info = RepositoryInfo(
            full_name=repo["nameWithOwner"],
            private=bool(repo["isPrivate"]),
            archived=bool(repo["isArchived"]),
            default_branch=branch_ref.get("name") or "main",
        )
        merger = self.merger
        if chunk:
            merger.recheck(chunk, data.get("nodes") or [None] * len(chunk))
        pages = (
            ("pulls", repo.get("pullRequests"), merger.pulls),
            ("deployments", repo.get("deployments"), merger.deployments),
            ("releases", repo.get("releases"), merger.releases),
            ("issues", repo.get("issues"), merger.issues),
            ("history", ((branch_ref.get("target") or {}).get("history")), merger.history),
        )
        for name, connection, merge in pages:
            paging = self.paging[name]
            if not paging.active:
                continue
            if connection is None:
                # No default branch (an empty repository) or nothing to read.
                paging.exhausted = True
                continue
            paging.pages += 1
            paging.total = connection.get("totalCount")
            oldest = merge([n for n in connection["nodes"] if n is not None])
            if oldest is not None:
                paging.oldest = oldest
            info = connection["pageInfo"]
            paging.after = info["endCursor"]
            paging.exhausted = not info["hasNextPage"]
