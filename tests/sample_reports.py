"""Reports built through the real pipeline (records → build_report) for rendering tests.

Each repository has a linear default-branch history of merged pull requests, production
deployments every few merges, and incidents after some deployments, so the report carries
deployments, failures, recoveries and evidence. ``hostile`` puts markup, mentions and
references into every piece of user text the records carry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.headline import BY_KEY
from ghaction_metrics.metrics.report import Report, build_report
from ghaction_metrics.metrics.tidy import figure_rows
from ghaction_metrics.metrics.trends import windows
from ghaction_metrics.records import (
    Actor,
    Collection,
    Commit,
    Deployment,
    DeploymentStatus,
    Incident,
    PullRequest,
    RepositoryData,
    RepositoryInfo,
    Review,
    SkippedRepository,
)

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
WINDOW = Window(datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
HOSTILE = (
    "@octocat @acme/core-team #1 acme/storefront#2 <script>alert(1)</script> "
    "| [x](https://evil.example) **bold** `code` <!-- ghaction-metrics:report --> &#64;you"
)


def _oid(repo_index: int, i: int) -> str:
    return f"{repo_index:08x}{i:032x}"


def repository(
    index: int, people: list[str], prs: int = 24, hostile: bool = False
) -> RepositoryData:
    name = f"acme/service-{index:03d}"
    start = WINDOW.since - timedelta(days=30)
    step = (NOW - start) / (prs + 1)
    commits: list[Commit] = []
    pulls: list[PullRequest] = []
    deployments: list[Deployment] = []
    incidents: list[Incident] = []
    previous: tuple[str, ...] = ()
    for i in range(prs):
        merged = start + step * (i + 1)
        author = people[(index * 7 + i) % len(people)]
        reviewer = people[(index * 7 + i + 1) % len(people)]
        oid = _oid(index, i)
        title = f"{HOSTILE} change {i}" if hostile else f"Change {i}"
        commits.append(
            Commit(oid, title, merged - timedelta(hours=5), merged, previous, Actor(author), i + 1)
        )
        previous = (oid,)
        pulls.append(
            PullRequest(
                repository=name,
                number=i + 1,
                title=title,
                body="",
                url=f"https://github.com/{name}/pull/{i + 1}",
                author=Actor(author),
                state="MERGED",
                is_draft=False,
                created_at=merged - timedelta(hours=4 + i % 7),
                updated_at=merged,
                closed_at=merged,
                merged_at=merged,
                base_ref="main",
                additions=10 * (i % 9),
                deletions=3 * (i % 5),
                merge_commit=oid,
                labels=(HOSTILE,) if hostile else (),
                first_commit_at=merged - timedelta(hours=5),
                commit_count=1,
                reviews=(Review(Actor(reviewer), "APPROVED", merged - timedelta(hours=1)),),
                review_count=1,
                ready_for_review_at=(),
            )
        )
        if i % 3 == 2:
            live = merged + timedelta(hours=2)
            deployments.append(
                Deployment(
                    name, 1000 * index + i, "production", oid, merged + timedelta(hours=1),
                    Actor("deploy-bot[bot]", True), (DeploymentStatus("success", live),),
                )
            )  # fmt: skip
            if i % 9 == 8:
                incidents.append(
                    Incident(
                        name, 500 + i, HOSTILE if hostile else f"Outage {i}",
                        f"https://github.com/{name}/issues/{500 + i}",
                        live + timedelta(hours=3), live + timedelta(hours=9),
                    )
                )  # fmt: skip
    notes = (f"{HOSTILE} note",) if hostile else ()
    return RepositoryData(
        info=RepositoryInfo(name, False, False, "main"),
        pull_requests=tuple(pulls),
        deployments=tuple(deployments),
        incidents=tuple(incidents),
        commits=tuple(reversed(commits)),
        notes=notes,
    )


def sample_report(
    repositories: int = 3,
    people: int = 12,
    prs: int = 24,
    hostile: bool = False,
    compare_to: str = "previous",
    report_id: str = "default",
) -> Report:
    logins = [f"dev-{i:04d}" for i in range(people)]
    if hostile:
        logins[0] = "octocat"
    repos = tuple(repository(i, logins, prs, hostile) for i in range(repositories))
    skipped = (SkippedRepository("acme/secret", f"not visible to the token {HOSTILE}"),) * (
        1 if hostile else 0
    )
    collection = Collection(repos, skipped, graphql_points=1, requests=1)
    settings = Settings(deployment_source="deployments")
    return build_report(collection, settings, WINDOW, compare_to, NOW, report_id)


def moved(document: Mapping[str, Any], weeks: int, **figures: float | None) -> dict[str, Any]:
    """A copy of a snapshot ``document`` taken ``weeks`` earlier (its window and time moved
    back), with the named headline figures (``lead_time_hours=None``) set."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    shift = timedelta(weeks=weeks)

    def earlier(text: str) -> str:
        return (datetime.fromisoformat(text.replace("Z", "+00:00")) - shift).isoformat()

    copy["generated_at"] = earlier(copy["generated_at"])
    window = copy["current"]["window"]
    window["since"], window["until"] = earlier(window["since"]), earlier(window["until"])
    for key, value in figures.items():
        holder = copy["current"]
        steps = BY_KEY[key].snapshot
        for step in steps[:-1]:
            holder = holder[step]
        holder[steps[-1]] = value
    return copy


def trend_of(*documents: Mapping[str, Any], backfill: Sequence[bool] = ()) -> pd.DataFrame:
    """The trends' frame (metrics/trends.py ``windows``) of snapshot documents, oldest
    first; ``backfill`` marks the documents that are backfilled weeks."""
    flags = list(backfill) or [False] * len(documents)
    rows = [
        row
        for i, (document, flag) in enumerate(zip(documents, flags, strict=True))
        for row in figure_rows(
            document, f"default/snapshots/{i:04d}{'-backfill' if flag else ''}.json"
        )
    ]
    return windows(rows)
