"""Collecting every repository of a run: several at once while the estimated cost fits.

The run's cost is estimated first (``estimate.py``); when it fits in the points that remain, a
few repositories are collected at once, else one at a time, so that what is collected before
the rate limit runs out is whole repositories. The incidents of ``incident-repository`` are
read after them (``incidents.py``), unless the rate limit cut the collection short.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

from ghaction_metrics.api.client import PYGITHUB_LOCK, GitHubClients, GraphQLError
from ghaction_metrics.api.quota import QuotaExhaustedError
from ghaction_metrics.collect.estimate import Reach, describe, estimate_run
from ghaction_metrics.collect.incidents import collect_incidents
from ghaction_metrics.collect.plan import HISTORY_SLACK, CollectionPlan, read_connections
from ghaction_metrics.collect.repository import RepositoryResult, collect_repository
from ghaction_metrics.collect.sources import SourceUnreadableError
from ghaction_metrics.collect.sync import RepoState
from ghaction_metrics.collect.visibility import INVISIBLE, ON_PRIVATE, invisible, private_found
from ghaction_metrics.records import Collection, Incident, RepositoryData, SkippedRepository
from ghaction_metrics.wording import counted
from ghaction_metrics.workflow_commands import ParallelLog, group

log = logging.getLogger(__name__)

# Repositories collected at once. A repository's pages follow one another by cursor, so
# the time goes in waiting for GitHub's answers; a few repositories at a time overlap those
# waits (benchmarks/concurrency.py measures it, README "Performance"), far below GitHub's
# limits on concurrent requests and queries per minute. Its limit on server time per minute
# cannot be measured here: after the first answer asking to slow down, one at a time again.
WORKERS = 3


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
    token = ON_PRIVATE.set(on_private)
    try:
        if names and not _fits(clients, names, plan, now, has_cache):
            workers = 1
        return _collect(clients, names, plan, now, caches, workers)
    finally:
        ON_PRIVATE.reset(token)


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
        # Incident and bug labels: one issues connection reads both (plan.issue_labels).
        incident_labels=plan.issue_labels,
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
            private_found(name)
        try:
            result = collect_repository(self.clients, owner, repo, self.plan, self.now, cached, why)
        except SourceUnreadableError as exc:
            log.warning("Skipping %s: %s", name, exc)
            return _Collected(name, skipped=SkippedRepository(name, str(exc)))
        except GraphQLError as exc:
            if invisible(exc):
                log.warning("Skipping %s: %s", name, INVISIBLE)
                return _Collected(name, skipped=SkippedRepository(name, INVISIBLE))
            raise
        if result.state is None:
            self.stopped.set()
        cost = self.clients.cost
        log.info(
            "%s: done with %s (%s GraphQL points used so far, %s remaining)",
            name,
            counted(result.requests, "request"),
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
        log.info(
            "Collecting %s, %d at a time",
            counted(len(names), "repository", "repositories"),
            workers,
        )
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
