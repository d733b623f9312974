"""What collecting the repositories will cost, estimated before collecting them.

One query per 50 uncached repositories (one point each) asks how much each holds: its age
and the total counts of its pull requests, deployments and releases, and the exact counts of
incident issues updated and default-branch commits made since the collection's start. A
repository with a cache on the history branch needs about one page. Otherwise its pages are
those of its longest connection; GitHub's date filters give some counts exactly, and the
others (pull requests, deployments, releases) are taken as spread evenly over the
repository's life. Each page costs what GitHub charges for the COLLECT document
(``queries.page_points``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.collect import queries
from ghaction_metrics.collect.timestamps import required_time
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepositorySize:
    name: str
    pages: int
    points: int
    cached: bool


@dataclass(frozen=True)
class RunEstimate:
    repositories: tuple[RepositorySize, ...]
    remaining: int | None  # GraphQL points left when it was made
    reset_at: str | None

    @property
    def points(self) -> int:
        return sum(r.points for r in self.repositories)

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.repositories)

    @property
    def fits(self) -> bool:
        """Whether the estimated points are within what remains (unknown counts as yes)."""
        return self.remaining is None or self.points <= self.remaining


@dataclass(frozen=True)
class Reach:
    """How far back a collection reads, and which COLLECT connections at what page size."""

    first: dict[str, int]  # connection -> first-page size (queries.NESTED_CONNECTIONS names)
    since: datetime  # pull requests, deployments, releases and incidents back to here
    history_since: datetime  # default-branch commits back to here
    incident_labels: tuple[str, ...]


def estimate_run(
    clients: GitHubClients,
    names: Sequence[str],
    reach: Reach,
    now: datetime,
    has_cache: Callable[[str], bool],
) -> RunEstimate:
    """Ask GitHub for the sizes of the uncached repositories and estimate the run's cost.

    A repository the token cannot see is left out here; collecting it reports why.
    """
    page = queries.page_points(reach.first)
    sizes: dict[str, RepositorySize] = {
        name: RepositorySize(name, 1, page, cached=True) for name in names if has_cache(name)
    }
    cold = [name for name in names if name not in sizes]
    remaining: int | None = None
    reset_at: str | None = None
    for start in range(0, len(cold), queries.SIZES_BATCH):
        batch = cold[start : start + queries.SIZES_BATCH]
        variables: dict[str, Any] = {
            "labels": list(reach.incident_labels) or None,
            "since": reach.since.isoformat(),
            "historySince": reach.history_since.isoformat(),
        }
        for index, name in enumerate(batch):
            variables[f"o{index}"], variables[f"n{index}"] = name.split("/", 1)
        data = clients.graphql(
            queries.sizes_query(len(batch)), variables, tolerate=frozenset({"NOT_FOUND"})
        )
        for index, name in enumerate(batch):
            node = data.get(f"r{index}")
            if node is not None:
                pages = _pages(node, reach, now)
                sizes[name] = RepositorySize(name, pages, pages * page, cached=False)
        rate = data.get("rateLimit") or {}
        remaining, reset_at = rate.get("remaining"), rate.get("resetAt")
    if remaining is None:
        remaining, reset_at = clients.cost.remaining, clients.cost.reset_at
    return RunEstimate(tuple(sizes[name] for name in names if name in sizes), remaining, reset_at)


def _pages(node: dict[str, Any], reach: Reach, now: datetime) -> int:
    """Pages of COLLECT one uncached repository needs: those of its longest connection."""
    created = required_time(str(node["createdAt"]))
    life = max(now - created, timedelta(days=1))
    share = min(1.0, (now - reach.since) / life)
    target = ((node.get("defaultBranchRef") or {}).get("target")) or {}
    items: dict[str, float] = {
        "pulls": node["pullRequests"]["totalCount"] * share,
        "deployments": node["deployments"]["totalCount"] * share,
        "releases": node["releases"]["totalCount"] * share,
        "issues": float(node["issues"]["totalCount"]),
        "history": float((target.get("history") or {}).get("totalCount", 0)),
    }
    pages = [math.ceil(items[name] / size) for name, size in reach.first.items() if size > 0]
    return max([1, *pages])


def describe(estimate: RunEstimate) -> str:
    cached = sum(1 for r in estimate.repositories if r.cached)
    remaining = "unknown" if estimate.remaining is None else f"{estimate.remaining:,}"
    return (
        f"Estimated cost: about {counted(estimate.points, 'GraphQL point')} in "
        f"{counted(estimate.pages, 'request')} for "
        f"{counted(len(estimate.repositories), 'repository', 'repositories')} "
        f"({cached} from their cache); "
        f"{remaining} points remain until {estimate.reset_at or 'the next reset'}"
    )
