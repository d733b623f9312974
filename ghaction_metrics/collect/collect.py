"""Collection: GitHub's answers turned into the project's records (``models.py``).

Each repository is read with one GraphQL document per page (``queries.COLLECT``) that carries
every connection still being paged, newest first, each stopping as soon as it reaches back
past what the metrics need. With a cache from an earlier run (``sync.py``) only what changed
since is read, plus the cached records that can change without a new creation time, and the
result is cut to exactly the records a full collection would keep, so both give the same
report.
"""

from __future__ import annotations

import contextvars
import fnmatch
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from github import GithubException

from ghaction_metrics.api.client import PYGITHUB_LOCK, GitHubClients, GraphQLError, PageTooSlowError
from ghaction_metrics.api.quota import QuotaExhaustedError
from ghaction_metrics.collect import queries
from ghaction_metrics.collect.estimate import Reach, describe, estimate_run
from ghaction_metrics.collect.sync import EPOCH, RepoState, drop_older, repository_data
from ghaction_metrics.collect.timestamps import parse_time, required_time
from ghaction_metrics.metrics.sources import TAGS_PREFIX, WORKFLOW_PREFIX
from ghaction_metrics.records import (
    GHOST,
    Actor,
    Collection,
    Commit,
    Deployment,
    DeploymentStatus,
    Incident,
    PullRequest,
    Release,
    RepositoryData,
    RepositoryInfo,
    Review,
    SkippedRepository,
    Tag,
    WorkflowRun,
)
from ghaction_metrics.workflow_commands import ParallelLog, group

log = logging.getLogger(__name__)

# History is read this far before the oldest deployment needed, so a commit made some time
# before its first deployment is still seen as shipped by it.
HISTORY_SLACK = timedelta(days=30)
# A warm run re-reads this far before the last sync: GitHub's update times and the runner's
# clock may disagree a little, and re-reading a record is harmless.
SYNC_OVERLAP = timedelta(hours=1)
SUCCESS = "success"
MIN_PAGE = 5
# Repositories collected at once. A repository's pages follow one another by cursor, so
# the time goes in waiting for GitHub's answers; a few repositories at a time overlap those
# waits (benchmarks/concurrency.py measures it, README "Performance"), far below GitHub's
# limits on concurrent requests and queries per minute. Its limit on server time per minute
# cannot be measured here: after the first answer asking to slow down, one at a time again.
WORKERS = 3


@dataclass(frozen=True)
class PageSizes:
    """First-page sizes per connection, chosen by measurement (see README, Performance)."""

    pulls: int = 100
    deployments: int = 100
    releases: int = 100
    issues: int = 100
    history: int = 100
    reviews: int = 50


@dataclass(frozen=True)
class CollectionPlan:
    since: datetime  # the earliest instant any period of the report starts at
    until: datetime
    production_environments: tuple[str, ...]  # lower-cased
    incident_labels: tuple[str, ...]
    incident_window: timedelta
    deployment_source: str  # auto, deployments, releases, merges, workflow:<x>, tags:<glob>
    pages: PageSizes = field(default_factory=PageSizes)
    incident_repository: str | None = None  # owner/name holding every incident, when set

    @property
    def settings_key(self) -> str:
        """What cached records depend on besides time: a change means a full collection."""
        labels = ",".join(sorted(label.lower() for label in self.incident_labels))
        return f"source={self.deployment_source};incident-labels={labels}"


def read_connections(plan: CollectionPlan) -> dict[str, int]:
    """The connections a COLLECT page reads for this plan, with their first-page sizes."""
    pages, source = plan.pages, plan.deployment_source
    # Issues (incidents) and history (per-person commits) are read for every source.
    first = {"pulls": pages.pulls, "issues": pages.issues, "history": pages.history}
    if source in ("deployments", "auto"):
        first["deployments"] = pages.deployments
    if source in ("releases", "auto"):
        first["releases"] = pages.releases
    return first


def _actor(node: dict[str, Any] | None) -> Actor:
    if not node:
        return GHOST
    return Actor.from_login(node.get("login"), node.get("__typename"))


# Called with a repository's name as soon as it is known to be private, before any line about
# its data is logged (run.py hides such lines from a public repository's log).
_ON_PRIVATE: ContextVar[Callable[[str], None] | None] = ContextVar("on_private", default=None)


def _private_found(name: str) -> None:
    report = _ON_PRIVATE.get()
    if report is not None:
        with PYGITHUB_LOCK:  # it may ask GitHub for the publishing repository's visibility
            report(name)


def expand_repositories(
    clients: GitHubClients,
    names: Sequence[str],
    on_private: Callable[[str], None] | None = None,
) -> list[str]:
    """Expand ``owner/*`` into the owner's non-archived repositories the token can see."""
    result: list[str] = []
    for name in names:
        owner, repo = name.split("/", 1)
        if repo != "*":
            result.append(name)
            continue
        try:
            listing = list(_rest_pages(clients, f"/orgs/{owner}/repos", {"type": "all"}))
        except GithubException as exc:
            if exc.status != 404:
                raise
            listing = list(_rest_pages(clients, f"/users/{owner}/repos", {"type": "owner"}))
        found = [r["full_name"] for r in listing if not r.get("archived")]
        if on_private is not None:
            for entry in listing:
                if entry.get("private"):
                    on_private(entry["full_name"])
        log.info("%s expanded to %d repositories", name, len(found))
        result.extend(found)
    return list(dict.fromkeys(result))


def _rest_pages(
    clients: GitHubClients, path: str, parameters: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        with PYGITHUB_LOCK:
            _headers, items = clients.rest.requester.requestJsonAndCheck(
                "GET", path, parameters={**parameters, "per_page": 100, "page": page}
            )
        yield from items
        if len(items) < 100:
            return
        page += 1


@dataclass(frozen=True)
class RepositoryResult:
    data: RepositoryData
    state: RepoState | None  # what to cache; None when the collection was cut short
    requests: int


@dataclass
class CollectOutcome:
    collection: Collection
    states: dict[str, RepoState]  # repository -> state to write back as its cache


def collect(
    clients: GitHubClients,
    names: Sequence[str],
    plan: CollectionPlan,
    *,
    now: datetime,
    caches: Callable[[str], tuple[RepoState | None, str]] | None = None,
    on_private: Callable[[str], None] | None = None,
    has_cache: Callable[[str], bool] | None = None,
    workers: int = WORKERS,
) -> CollectOutcome:
    """Collect every repository; stop early (``partial``) when the rate limit runs out.

    ``caches(name)`` gives the cached state of a repository and why (it is not) there, and
    ``has_cache(name)`` whether there is one without reading it; ``on_private(name)`` hears
    of each private repository before its data is logged. The run's cost is estimated
    first; up to ``workers`` repositories are collected at once when it fits in what
    remains, else one at a time, so that what is collected before the limit runs out is
    whole repositories.
    """
    token = _ON_PRIVATE.set(on_private)
    try:
        if names and not _fits(clients, names, plan, now, has_cache):
            workers = 1
        return _collect(clients, names, plan, now, caches, workers)
    finally:
        _ON_PRIVATE.reset(token)


def _fits(
    clients: GitHubClients,
    names: Sequence[str],
    plan: CollectionPlan,
    now: datetime,
    has_cache: Callable[[str], bool] | None,
) -> bool:
    """Estimate the run's cost, log it, and say whether it fits in the points that remain."""
    reach = Reach(
        first=read_connections(plan),
        since=plan.since,
        history_since=plan.since - HISTORY_SLACK,
        incident_labels=plan.incident_labels,
    )
    try:
        estimate = estimate_run(clients, names, reach, now, has_cache or (lambda _name: False))
    except (GraphQLError, QuotaExhaustedError) as exc:
        if isinstance(exc, GraphQLError) and exc.status == 401:
            raise  # a refused token: nothing else will work either
        log.warning("The run's cost could not be estimated (%s); collecting one at a time.", exc)
        return False
    log.info("%s.", describe(estimate))
    if not estimate.fits:
        log.warning(
            "This run may need more GraphQL points (%d) than remain (%s): collecting one "
            "repository at a time; the run waits for the reset within max-wait, or publishes "
            "a partial report.",
            estimate.points,
            estimate.remaining,
        )
    return estimate.fits


@dataclass(frozen=True)
class _Collected:
    """What collecting one repository gave: its data, or why it was skipped."""

    name: str
    result: RepositoryResult | None = None
    skipped: SkippedRepository | None = None


class _Repositories:
    """Collects repositories one by one; stops handing out new ones once quota ran out."""

    def __init__(
        self,
        clients: GitHubClients,
        plan: CollectionPlan,
        now: datetime,
        caches: Callable[[str], tuple[RepoState | None, str]] | None,
    ) -> None:
        self.clients, self.plan, self.now, self.caches = clients, plan, now, caches
        # Set when the rate limit ran out (or a repository failed): no new repository starts.
        self.stopped = threading.Event()
        # Once GitHub asks to slow down (a secondary limit), repositories not yet begun take
        # this lock: one at a time again, as GitHub advises.
        self.serial = threading.Lock()
        self.slowed = threading.Event()

    def one(self, name: str) -> _Collected:
        if not self.clients.cost.secondary_limits:
            return self._one(name)
        if not self.slowed.is_set():
            self.slowed.set()
            log.warning(
                "GitHub asked to slow down (a secondary rate limit): the repositories not yet "
                "begun are collected one at a time."
            )
        with self.serial:
            return self._one(name)

    def _one(self, name: str) -> _Collected:
        if self.stopped.is_set():
            reason = "not collected: the rate limit ran out before its turn"
            return _Collected(name, skipped=SkippedRepository(name, reason))
        owner, repo = name.split("/", 1)
        if self.caches is None:
            cached, why = None, "no cache in use"
        else:
            with PYGITHUB_LOCK:  # the cache is read from the history branch through PyGithub
                cached, why = self.caches(name)
        if cached is not None and cached.info.private:
            _private_found(name)
        try:
            result = collect_repository(self.clients, owner, repo, self.plan, self.now, cached, why)
        except SourceUnreadableError as exc:
            log.warning("Skipping %s: %s", name, exc)
            return _Collected(name, skipped=SkippedRepository(name, str(exc)))
        except GraphQLError as exc:
            if _invisible(exc):
                log.warning("Skipping %s: %s", name, INVISIBLE)
                return _Collected(name, skipped=SkippedRepository(name, INVISIBLE))
            raise
        if result.state is None:
            self.stopped.set()
        cost = self.clients.cost
        log.info(
            "%s: done with %d requests (%s GraphQL points used so far, %s remaining)",
            name,
            result.requests,
            cost.points,
            cost.remaining,
        )
        return _Collected(name, result=result)

    def in_turn(self, names: Sequence[str]) -> Iterator[_Collected]:
        """One after another, each repository's lines in a group as they are written."""
        for index, name in enumerate(names, 1):
            with group(f"Collecting {name} ({index}/{len(names)})"):
                collected = self.one(name)
            yield collected

    def in_parallel(self, names: Sequence[str], workers: int) -> Iterator[_Collected]:
        """``workers`` at a time; each repository's lines in a group once it is done."""
        log.info("Collecting %d repositories, %d at a time", len(names), workers)
        parallel = ParallelLog()

        def task(name: str) -> tuple[_Collected | Exception, list[logging.LogRecord]]:
            outcome: _Collected | Exception
            with parallel.capture() as lines:
                try:
                    outcome = self.one(name)
                except Exception as exc:  # raised in the main thread, after the lines before it
                    outcome = exc
            return outcome, lines

        with parallel, ThreadPoolExecutor(workers, "collect") as pool:
            # Each task runs in a copy of this context: on_private reaches the threads.
            futures: dict[Future[tuple[_Collected | Exception, list[logging.LogRecord]]], str] = {
                pool.submit(contextvars.copy_context().run, task, name): name for name in names
            }
            try:
                for done, future in enumerate(as_completed(futures), 1):
                    outcome, lines = future.result()
                    parallel.show(f"Collected {futures[future]} ({done}/{len(names)})", lines)
                    if isinstance(outcome, Exception):
                        raise outcome
                    yield outcome
            except BaseException:
                # A failed repository fails the run: the others stop at their next turn.
                self.stopped.set()
                for pending in futures:
                    pending.cancel()
                raise


def _collect(
    clients: GitHubClients,
    names: Sequence[str],
    plan: CollectionPlan,
    now: datetime,
    caches: Callable[[str], tuple[RepoState | None, str]] | None,
    workers: int,
) -> CollectOutcome:
    collector = _Repositories(clients, plan, now, caches)
    if workers > 1 and len(names) > 1:
        collected = {c.name: c for c in collector.in_parallel(names, min(workers, len(names)))}
    else:
        collected = {c.name: c for c in collector.in_turn(names)}
    repositories: list[RepositoryData] = []
    skipped: list[SkippedRepository] = []
    states: dict[str, RepoState] = {}
    partial = False
    for name in names:  # the order given, whatever order they finished in
        one = collected[name]
        if one.skipped is not None:
            skipped.append(one.skipped)
        if one.result is None:
            continue
        repositories.append(one.result.data)
        if one.result.state is None:
            partial = True
        else:
            states[one.result.data.info.full_name] = one.result.state
    partial = partial or collector.stopped.is_set()
    incidents: tuple[Incident, ...] = ()
    incidents_private = False
    if plan.incident_repository is not None and not partial:
        try:
            incidents, incidents_private = collect_incidents(
                clients, plan.incident_repository, plan
            )
        except SourceUnreadableError as exc:
            log.warning("incident-repository %s: %s", plan.incident_repository, exc)
            skipped.append(SkippedRepository(plan.incident_repository, str(exc)))
        except QuotaExhaustedError as exc:
            log.warning("incident-repository %s: not read: %s", plan.incident_repository, exc)
            partial = True
    return CollectOutcome(
        Collection(
            repositories=tuple(repositories),
            skipped=tuple(skipped),
            graphql_points=clients.cost.points,
            requests=clients.cost.queries,
            partial=partial,
            incidents=incidents,
            incidents_private=incidents_private,
        ),
        states,
    )


class SourceUnreadableError(Exception):
    """The token cannot read what the deployment source or incident-repository needs."""


INVISIBLE = (
    "the token cannot see it (it does not exist, or it is private and the workflow token only "
    "reads its own repository: use a personal or GitHub App token)"
)


def _invisible(exc: GraphQLError) -> bool:
    """A repository the token cannot see. A refused token (401) is not this: it fails the run."""
    return "NOT_FOUND" in exc.types or exc.status in (403, 404)


def collect_incidents(
    clients: GitHubClients, full_name: str, plan: CollectionPlan
) -> tuple[tuple[Incident, ...], bool]:
    """The incident issues of ``incident-repository`` updated since the first period, and
    whether that repository is private (privacy.py withholds them from public reports).

    Read afresh every run (one query per 100 issues): they are few, and the cache is kept per
    measured repository.
    """
    owner, name = full_name.split("/", 1)
    wanted = {label.lower() for label in plan.incident_labels}
    found: dict[int, Incident] = {}
    private = True  # until GitHub says otherwise: withholding is the safe mistake
    after: str | None = None
    while True:
        variables = {
            "owner": owner,
            "name": name,
            "first": 100,
            "after": after,
            "labels": list(plan.incident_labels),
            "since": plan.since.isoformat(),
        }
        try:
            data = clients.graphql(queries.INCIDENTS, variables)
        except GraphQLError as exc:
            if _invisible(exc):
                raise SourceUnreadableError(
                    f"{INVISIBLE}; incidents from it are not counted"
                ) from exc
            raise
        repository = data.get("repository")
        if repository is None:
            raise SourceUnreadableError(f"{INVISIBLE}; incidents from it are not counted")
        private = bool(repository["isPrivate"])
        connection = repository["issues"]
        for node in connection["nodes"]:
            if node is None:
                continue
            labels = tuple(label["name"] for label in node["labels"]["nodes"])
            if not {label.lower() for label in labels} & wanted:
                continue
            incident = _incident(node, full_name, labels)
            found[incident.number] = incident
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    log.info("incident-repository %s: %d incidents (read in full each run)", full_name, len(found))
    return tuple(sorted(found.values(), key=lambda i: (i.created_at, i.number))), private


def _incident(node: dict[str, Any], repository: str, labels: tuple[str, ...]) -> Incident:
    return Incident(
        repository=repository,
        number=int(node["number"]),
        title=node["title"],
        url=node["url"],
        created_at=required_time(node["createdAt"]),
        closed_at=parse_time(node.get("closedAt")),
        body=node.get("body") or "",
        labels=labels,
    )


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


class _Run:
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

    # -- what a warm run re-reads --------------------------------------------------------
    def _recheck_ids(self) -> list[str]:
        """Cached records that can change without a new creation time.

        A deployment without a success can still get one (its time is the deployment's);
        a draft or pre-release can be published later; an incident issue can be deleted.
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
        return ids

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            if self.info_read and not self.source_read:
                self._read_source()
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
        source = self.plan.deployment_source
        if source.startswith(WORKFLOW_PREFIX):
            self.state.workflow_runs = self._workflow_runs(source[len(WORKFLOW_PREFIX) :])
            log.info(
                "%s: %d runs of %s (read in full each run, not cached)",
                self.full_name,
                len(self.state.workflow_runs),
                source,
            )
        elif source.startswith(TAGS_PREFIX):
            self.state.tags = self._tags(source[len(TAGS_PREFIX) :])
            log.info(
                "%s: %d tags matching %s (read in full each run, not cached)",
                self.full_name,
                len(self.state.tags),
                source[len(TAGS_PREFIX) :],
            )

    def _rest(self, path: str, parameters: dict[str, Any]) -> Any:
        self.requests += 1
        try:
            with PYGITHUB_LOCK:
                _headers, data = self.clients.rest.requester.requestJsonAndCheck(
                    "GET", f"/repos/{self.full_name}{path}", parameters=parameters
                )
        except GithubException as exc:
            if exc.status == 403:
                raise SourceUnreadableError(
                    "the token may not read workflow runs (HTTP 403): grant it in the workflow "
                    "with `permissions: actions: read` (next to the other permissions the "
                    "action needs), or use a token that can read Actions"
                ) from exc
            if exc.status == 404:
                raise SourceUnreadableError(
                    f"workflow runs not found (HTTP 404 for {path}): check the workflow file "
                    "name or name in deployment-source"
                ) from exc
            raise
        return data

    def _workflow_id(self, wanted: str) -> str:
        """A file name is used as is; a workflow's name is looked up in its workflows."""
        target = wanted.strip()
        if target.lower().endswith((".yml", ".yaml")):
            return target.rsplit("/", 1)[-1]
        page = 1
        while True:
            data = self._rest("/actions/workflows", {"per_page": 100, "page": page})
            for flow in data["workflows"]:
                if target.lower() in (flow["name"].lower(), flow["path"].lower()):
                    return str(flow["id"])
            if len(data["workflows"]) < 100:
                raise SourceUnreadableError(
                    f"no workflow named {target!r}: deployment-source workflow:<x> takes a "
                    "workflow file name (deploy.yml) or the workflow's name"
                )
            page += 1

    def _workflow_runs(self, wanted: str) -> list[WorkflowRun]:
        """Completed runs on the default branch, newest first, back to the baseline: the
        first page holding a successful run that ended before the first period."""
        workflow_id = self._workflow_id(wanted)
        runs: list[WorkflowRun] = []
        page = 1
        while True:
            parameters = {
                "branch": self.state.info.default_branch,
                "status": "completed",
                "per_page": 100,
                "page": page,
            }
            data = self._rest(f"/actions/workflows/{workflow_id}/runs", parameters)
            items = data["workflow_runs"]
            runs.extend(self._workflow_run(item) for item in items)
            baseline = any(r.conclusion == SUCCESS and r.updated_at < self.plan.since for r in runs)
            if baseline or len(items) < 100:
                return runs
            page += 1

    def _workflow_run(self, item: dict[str, Any]) -> WorkflowRun:
        actor = item.get("actor")
        return WorkflowRun(
            repository=self.full_name,
            id=int(item["id"]),
            attempt=int(item.get("run_attempt") or 1),
            name=item.get("name") or "",
            path=item["path"],
            head_branch=item.get("head_branch"),
            head_sha=item["head_sha"],
            event=item["event"],
            status=(item.get("status") or "").lower(),
            conclusion=(item.get("conclusion") or "").lower() or None,
            created_at=required_time(item["created_at"]),
            updated_at=required_time(item["updated_at"]),
            actor=Actor.from_login(actor.get("login"), actor.get("type")) if actor else None,
        )

    def _tags(self, pattern: str) -> list[Tag]:
        """Tags matching the glob, newest tagged commit first, back to the baseline: the first
        page whose oldest commit is older than a matching tag made before the first period."""
        tags: list[Tag] = []
        after: str | None = None
        while True:
            variables = {"owner": self.owner, "name": self.name, "first": 100, "after": after}
            data = self.clients.graphql(queries.TAGS, variables)
            self.requests += 1
            connection = (data.get("repository") or {}).get("refs")
            if connection is None:
                return tags
            oldest_commit: datetime | None = None
            for node in connection["nodes"]:
                tag = self._tag(node) if node else None
                if tag is None:
                    continue
                oldest_commit = tag.committed_at
                if fnmatch.fnmatchcase(tag.name, pattern):
                    tags.append(tag)
            before = [t.tagger_date or t.committed_at for t in tags]
            baseline = max((t for t in before if t < self.plan.since), default=None)
            if not connection["pageInfo"]["hasNextPage"]:
                return tags
            if baseline is not None and oldest_commit is not None and oldest_commit < baseline:
                return tags
            after = connection["pageInfo"]["endCursor"]

    def _tag(self, node: dict[str, Any]) -> Tag | None:
        target = node.get("target") or {}
        tagger_date = None
        if target.get("__typename") == "Tag":
            tagger_date = parse_time((target.get("tagger") or {}).get("date"))
            target = target.get("target") or {}
        if target.get("__typename") != "Commit":
            # A tag of a tree or blob (or a tag of a tag): nothing that could be deployed.
            return None
        return Tag(
            repository=self.full_name,
            name=node["name"],
            commit=target["oid"],
            tagger_date=tagger_date,
            committed_at=required_time(target["committedDate"]),
        )

    def _variables(self, chunk: list[str]) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "owner": self.owner,
            "name": self.name,
            "reviewsFirst": self.plan.pages.reviews,
            "recheck": bool(chunk),
            "recheckIds": chunk,
            "issueLabels": None if self.warm else list(self.plan.incident_labels),
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
            "%s: at most %d more pages (about %d points) to read; %s points remain until %s",
            self.full_name,
            pages,
            needed,
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
            "%s: %d requests: %d pull requests, %d deployments, %d releases, %d incidents, "
            "%d commits",
            self.full_name,
            self.requests,
            len(state.pulls),
            len(state.deployments),
            len(state.releases),
            len(state.incidents),
            len(state.commits),
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
            and _deployment_baseline(self.state, plan) is not None
        )
        releases.active = needed("releases", EPOCH) and not (
            releases.oldest is not None
            and releases.oldest < plan.since
            and _release_baseline(self.state, plan) is not None
        )
        paging["issues"].active = needed("issues", EPOCH)
        if deployments.active or releases.active:
            paging["pulls"].active = needed("pulls", plan.since)
            paging["history"].active = needed("history", plan.since - HISTORY_SLACK)
            return
        oldest = _oldest_shipping_time(self.state, plan)
        paging["pulls"].active = needed("pulls", min(oldest, plan.since) if oldest else plan.since)
        paging["history"].active = needed("history", _history_since(oldest, plan))

    # -- reading a page --------------------------------------------------------------------
    def _absorb(self, data: dict[str, Any], chunk: list[str]) -> None:
        repo = data.get("repository")
        if repo is None:
            raise GraphQLError(f"Could not resolve to a Repository {self.full_name}", [], 404)
        branch_ref = repo.get("defaultBranchRef") or {}
        self.info_read = True
        if repo["isPrivate"]:
            _private_found(self.full_name)
        self.state.info = RepositoryInfo(
            full_name=repo["nameWithOwner"],
            private=bool(repo["isPrivate"]),
            archived=bool(repo["isArchived"]),
            default_branch=branch_ref.get("name") or "main",
        )
        if chunk:
            self._absorb_recheck(chunk, data.get("nodes") or [None] * len(chunk))
        for name, connection in (
            ("pulls", repo.get("pullRequests")),
            ("deployments", repo.get("deployments")),
            ("releases", repo.get("releases")),
            ("issues", repo.get("issues")),
            ("history", ((branch_ref.get("target") or {}).get("history"))),
        ):
            paging = self.paging[name]
            if not paging.active:
                continue
            if connection is None:
                # No default branch (an empty repository) or nothing to read.
                paging.exhausted = True
                continue
            paging.pages += 1
            paging.total = connection.get("totalCount")
            nodes = [n for n in connection["nodes"] if n is not None]
            getattr(self, f"_absorb_{name}")(nodes)
            info = connection["pageInfo"]
            paging.after = info["endCursor"]
            paging.exhausted = not info["hasNextPage"]

    def _absorb_pulls(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            node = self._complete_pull(node)
            pull = _pull_request(node, self.full_name)
            self.state.pulls[pull.number] = pull
            self.paging["pulls"].oldest = pull.updated_at

    def _complete_pull(self, node: dict[str, Any]) -> dict[str, Any]:
        """Read the rest of a pull request's reviews or ready events when a page was full."""
        for key, flag in (("reviews", "reviews"), ("timelineItems", "ready")):
            connection = node[key]
            if connection["pageInfo"]["hasNextPage"]:
                rest = self._overflow(node["id"], key, flag, connection["pageInfo"]["endCursor"])
                node = {**node, key: {**connection, "nodes": connection["nodes"] + rest}}
        return node

    def _overflow(self, node_id: str, key: str, flag: str, after: str | None) -> list[Any]:
        found: list[Any] = []
        while True:
            variables = {
                "id": node_id,
                "after": after,
                "reviews": flag == "reviews",
                "ready": flag == "ready",
                "statuses": flag == "statuses",
            }
            data = self.clients.graphql(queries.OVERFLOW, variables)
            self.requests += 1
            connection = (data.get("node") or {}).get(key)
            if connection is None:
                return found
            found.extend(connection["nodes"])
            if not connection["pageInfo"]["hasNextPage"]:
                return found
            after = connection["pageInfo"]["endCursor"]

    def _deployment(self, node: dict[str, Any]) -> Deployment:
        statuses = node["statuses"]
        status_nodes = statuses["nodes"]
        if statuses["pageInfo"]["hasNextPage"]:
            cursor = statuses["pageInfo"]["endCursor"]
            status_nodes = status_nodes + self._overflow(node["id"], "statuses", "statuses", cursor)
        return Deployment(
            repository=self.full_name,
            id=int(node["databaseId"]),
            environment=node["environment"] or "",
            sha=node["commitOid"],
            created_at=required_time(node["createdAt"]),
            creator=_actor(node.get("creator")),
            statuses=tuple(
                DeploymentStatus(s["state"].lower(), required_time(s["createdAt"]))
                for s in status_nodes
            ),
        )

    def _absorb_deployments(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            deployment = self._deployment(node)
            self.state.deployments[node["id"]] = deployment
            self.paging["deployments"].oldest = deployment.created_at

    def _absorb_releases(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            release = self._release(node)
            self.state.releases[node["id"]] = release
            self.paging["releases"].oldest = release.created_at

    def _release(self, node: dict[str, Any]) -> Release:
        tag_commit = node.get("tagCommit") or {}
        return Release(
            repository=self.full_name,
            tag=node["tagName"],
            name=node.get("name") or "",
            is_draft=bool(node["isDraft"]),
            is_prerelease=bool(node["isPrerelease"]),
            created_at=required_time(node["createdAt"]),
            published_at=parse_time(node.get("publishedAt")),
            commit=tag_commit.get("oid"),
            author=_actor(node.get("author")),
        )

    def _absorb_issues(self, nodes: list[dict[str, Any]]) -> None:
        wanted = {label.lower() for label in self.plan.incident_labels}
        for node in nodes:
            number = int(node["number"])
            labels = {label["name"].lower() for label in node["labels"]["nodes"]}
            if not labels & wanted:
                # Updated and no longer (or never) an incident.
                self._forget_incident(number)
                continue
            names = tuple(label["name"] for label in node["labels"]["nodes"])
            self.state.incidents[number] = _incident(node, self.full_name, names)
            self.state.incident_updated[number] = required_time(node["updatedAt"])
            self.state.incident_ids[number] = str(node["id"])

    def _forget_incident(self, number: int) -> None:
        self.state.incidents.pop(number, None)
        self.state.incident_updated.pop(number, None)
        self.state.incident_ids.pop(number, None)

    def _absorb_history(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            user = (node.get("author") or {}).get("user")
            associated = node["associatedPullRequests"]["nodes"]
            commit = Commit(
                oid=node["oid"],
                message=node["message"],
                authored_at=required_time(node["authoredDate"]),
                committed_at=required_time(node["committedDate"]),
                parents=tuple(p["oid"] for p in node["parents"]["nodes"]),
                author=Actor.from_login(user["login"]) if user else None,
                pull_request=int(associated[0]["number"]) if associated else None,
            )
            self.state.commits[commit.oid] = commit
            self.paging["history"].oldest = commit.committed_at

    def _absorb_recheck(self, chunk: list[str], nodes: list[Any]) -> None:
        incidents = {node_id: number for number, node_id in self.state.incident_ids.items()}
        for node_id, node in zip(chunk, nodes, strict=True):
            if node is None:
                # Deleted since the last run.
                self.state.deployments.pop(node_id, None)
                self.state.releases.pop(node_id, None)
                if node_id in incidents:
                    self._forget_incident(incidents[node_id])
            elif node.get("__typename") == "Deployment":
                self.state.deployments[node_id] = self._deployment(node)
            elif node.get("__typename") == "Release":
                self.state.releases[node_id] = self._release(node)
            elif node.get("__typename") == "Issue":
                self._absorb_issues([node])


def _deployment_baseline(state: RepoState, plan: CollectionPlan) -> Deployment | None:
    """The newest-created production deployment that succeeded before the first period."""
    before = [
        d
        for d in state.deployments.values()
        if d.environment.lower() in plan.production_environments
        and (success := d.succeeded_at) is not None
        and success < plan.since
    ]
    return max(before, key=lambda d: d.created_at) if before else None


def _release_baseline(state: RepoState, plan: CollectionPlan) -> Release | None:
    before = [
        r
        for r in state.releases.values()
        if r.published_at is not None
        and r.published_at < plan.since
        and not (r.is_draft or r.is_prerelease)
    ]
    return max(before, key=lambda r: r.created_at) if before else None


def _history_since(oldest: datetime | None, plan: CollectionPlan) -> datetime:
    """Default-branch history reaches back past the baseline (what it ships) and at least to
    the first period's start (per-person commits)."""
    return min(oldest - HISTORY_SLACK, plan.since) if oldest is not None else plan.since


def bounds(state: RepoState, plan: CollectionPlan) -> dict[str, datetime]:
    """From when on each kind of record is kept: exactly what a full collection needs."""
    oldest = _oldest_shipping_time(state, plan)
    deployment = _deployment_baseline(state, plan)
    release = _release_baseline(state, plan)
    result = {
        "pulls": min(oldest, plan.since) if oldest else plan.since,
        "deployments": min(deployment.created_at, plan.since) if deployment else EPOCH,
        "releases": min(release.created_at, plan.since) if release else EPOCH,
        "incidents": plan.since,
        "commits": _history_since(oldest, plan),
    }
    return result


def prune(state: RepoState, keep: dict[str, datetime]) -> None:
    """Drop records older than ``keep``; the state is then complete from exactly there."""
    drop_older(state, keep)
    state.coverage = dict(keep)


def _covers(state: RepoState, keep: dict[str, datetime]) -> str | None:
    """Why the cached state is not complete back to ``keep``, or None when it is."""
    for kind, needed in keep.items():
        have = state.coverage.get(kind)
        if have is None or have > needed:
            shown = have.isoformat() if have else "nothing"
            return f"the cache holds {kind} from {shown}, this run needs them from {needed}"
    return None


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
        warm = _Run(clients, owner, name, plan, cached, cached.synced_at - SYNC_OVERLAP)
        result = _finish(warm, now, plan, full_name)
        if result is not None:
            return result
        why = _covers(cached, bounds(cached, plan)) or "the cache does not cover this run"
        log.info("%s: full collection instead: %s", full_name, why)
    else:
        log.info("%s: full collection: %s", full_name, why)
    info = RepositoryInfo(full_name, False, False, "main")
    cold = _Run(clients, owner, name, plan, RepoState(info=info), None)
    result = _finish(cold, now, plan, full_name)
    assert result is not None
    return result


def _finish(
    run: _Run, now: datetime, plan: CollectionPlan, full_name: str
) -> RepositoryResult | None:
    notes: list[str] = []
    complete = True
    try:
        run.run()
    except QuotaExhaustedError as exc:
        log.warning("%s: collection stopped early: %s", full_name, exc)
        notes.append(f"{full_name}: collection stopped early: {exc}; the figures are partial")
        complete = False
    state = run.state
    keep = bounds(state, plan)
    if run.warm and complete:
        reason = _covers(state, keep)
        if reason is not None:
            return None
    prune(state, keep)
    state.synced_at = now
    state.settings_key = plan.settings_key
    data = repository_data(state, tuple(notes))
    log.info(
        "%s: %d pull requests, %d deployments, %d releases, %d incidents, %d commits, "
        "%d workflow runs, %d tags from %d requests",
        full_name,
        len(data.pull_requests),
        len(data.deployments),
        len(data.releases),
        len(data.incidents),
        len(data.commits),
        len(data.workflow_runs),
        len(data.tags),
        run.requests,
    )
    return RepositoryResult(data, state if complete else None, run.requests)


def _pull_request(node: dict[str, Any], repository: str) -> PullRequest:
    commits = node["commits"]
    first = commits["nodes"][0]["commit"]["authoredDate"] if commits["nodes"] else None
    reviews = tuple(
        Review(
            author=_actor(r.get("author")),
            state=r["state"],
            submitted_at=parse_time(r.get("submittedAt")),
            comments=int(r["comments"]["totalCount"]),
        )
        for r in node["reviews"]["nodes"]
    )
    ready = tuple(
        required_time(item["createdAt"])
        for item in node["timelineItems"]["nodes"]
        if item.get("createdAt")
    )
    merge_commit = node.get("mergeCommit") or {}
    return PullRequest(
        repository=repository,
        number=int(node["number"]),
        title=node["title"],
        body=node.get("body") or "",
        url=node["url"],
        author=_actor(node.get("author")),
        state=node["state"],
        is_draft=bool(node["isDraft"]),
        created_at=required_time(node["createdAt"]),
        updated_at=required_time(node["updatedAt"]),
        closed_at=parse_time(node.get("closedAt")),
        merged_at=parse_time(node.get("mergedAt")),
        base_ref=node["baseRefName"],
        additions=int(node["additions"]),
        deletions=int(node["deletions"]),
        merge_commit=merge_commit.get("oid"),
        labels=tuple(label["name"] for label in node["labels"]["nodes"]),
        first_commit_at=parse_time(first),
        commit_count=int(commits["totalCount"]),
        reviews=reviews,
        review_count=int(node["reviews"]["totalCount"]),
        ready_for_review_at=ready,
    )


def _oldest_shipping_time(state: RepoState, plan: CollectionPlan) -> datetime | None:
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
