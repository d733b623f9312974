"""Metrics benchmark: every metric for 100,000 pull requests and 20,000 deployments.

Builds synthetic records in memory (one busy repository, squash, rebase and merge-commit
merges, direct pushes, reviews, reverts, hotfixes, incidents, staging deployments), then
times ``build_report`` (current window, previous window, pull-request, team and comparison
figures) and prints the time and the process's peak memory. Run on one core:

    taskset -c 0 .venv/bin/python -m benchmarks.metrics
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report
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
)

log = logging.getLogger("benchmark")
REPO = "acme/monolith"
START = datetime(2024, 1, 1, tzinfo=UTC)
PEOPLE = (*tuple(Actor(f"dev{n:03d}") for n in range(120)), Actor("dependabot", True))


def build(pulls: int, deployments: int, seed: int) -> RepositoryData:
    rng = random.Random(seed)
    span = timedelta(days=730)
    step = span / pulls
    commits: list[Commit] = []
    records: list[PullRequest] = []
    parent: str | None = None
    for number in range(1, pulls + 1):
        merged = START + step * number
        created = merged - timedelta(hours=rng.uniform(0.2, 200))
        first = created - timedelta(hours=rng.uniform(0.1, 48))
        author = rng.choice(PEOPLE)
        oid = f"{number:040x}"
        if rng.random() < 0.02:  # a direct push before the merge
            push = f"{number + 10_000_000:040x}"
            commits.append(
                Commit(push, "Bump version", first, merged - step / 2, _p(parent), author, None)
            )
            parent = push
        if rng.random() < 0.2:  # a merge commit with one branch commit
            branch = f"{number + 20_000_000:040x}"
            commits.append(Commit(branch, "work", first, first, _p(parent), author, number))
            commits.append(
                Commit(oid, f"Merge #{number}", merged, merged, (*_p(parent), branch), None, number)
            )
        else:
            commits.append(
                Commit(oid, f"Change {number}", first, merged, _p(parent), author, number)
            )
        parent = oid
        title, body = f"Change {number}", ""
        labels: tuple[str, ...] = ()
        if number > 10 and rng.random() < 0.01:
            title, body = f'Revert "Change {number - 5}"', f"Reverts {REPO}#{number - 5}"
        elif rng.random() < 0.01:
            labels = ("hotfix",)
        reviewer = rng.choice(PEOPLE)
        reviews = (
            Review(reviewer, "COMMENTED", created + (merged - created) / 3, rng.randint(0, 4)),
            Review(reviewer, "APPROVED", created + (merged - created) / 2, 0),
        )
        records.append(
            PullRequest(
                REPO, number, title, body, "u", author, "MERGED", False, created, merged, merged,
                merged, "main", rng.randint(1, 900), rng.randint(0, 300), oid, labels, first, 2,
                reviews, 2, (),
            )
        )  # fmt: skip
    by_time = sorted(commits, key=lambda c: c.committed_at)
    times = [c.committed_at for c in by_time]
    result: list[Deployment] = []
    dstep = span / deployments
    import bisect

    for n in range(1, deployments + 1):
        at = START + dstep * n
        index = bisect.bisect_right(times, at) - 1
        sha = by_time[max(index, 0)].oid
        environment = "staging" if n % 10 == 0 else "production"
        statuses = (DeploymentStatus("success", at),)
        if n % 97 == 0:
            statuses = (DeploymentStatus("failure", at),)
        result.append(Deployment(REPO, n, environment, sha, at, Actor("ci", True), statuses))
    incidents = tuple(
        Incident(REPO, 900_000 + n, "Down", "u", at, at + timedelta(hours=3))
        for n, at in enumerate(START + span * rng.random() for _ in range(deployments // 50))
    )
    return RepositoryData(
        info=RepositoryInfo(REPO, False, False, "main"),
        pull_requests=tuple(records),
        deployments=tuple(result),
        incidents=incidents,
        commits=tuple(reversed(commits)),
    )


def _p(parent: str | None) -> tuple[str, ...]:
    return (parent,) if parent else ()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pulls", type=int, default=100_000)
    parser.add_argument("--deployments", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = build(args.pulls, args.deployments, args.seed)
    built = time.perf_counter() - started
    collection = Collection((data,), (), 0, 0)
    until = START + timedelta(days=730)
    window = Window(until - timedelta(days=90), until)
    settings = Settings(per_person="anonymous", pseudonym_salt="benchmark")
    started = time.perf_counter()
    report = build_report(collection, settings, window, "previous", until, "benchmark")
    previous_mode = time.perf_counter() - started
    started = time.perf_counter()
    event = (until - timedelta(days=45)).date().isoformat()
    dated = build_report(collection, settings, window, event, until, "benchmark")
    date_mode = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total_deployments = sum(
        1 for d in data.deployments if d.environment == "production" and d.succeeded_at
    )
    log.info(
        "records: %d pull requests, %d deployments (%d successful in production), %d commits",
        len(data.pull_requests),
        len(data.deployments),
        total_deployments,
        len(data.commits),
    )
    log.info("building the records: %.2f s", built)
    log.info("all metrics, compare-to previous (2 periods): %.2f s", previous_mode)
    log.info("all metrics, compare-to a date (3 periods): %.2f s", date_mode)
    log.info("peak memory (max RSS of the process): %.0f MB", peak_mb)
    log.info(
        "check: %d deployments and %d merged pull requests in the window; %s",
        report.current.dora.deployments,
        report.current.pulls.merged,
        dated.comparison.significance[0].method if dated.comparison else "no comparison",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
