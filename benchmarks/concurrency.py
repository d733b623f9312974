"""Concurrency benchmark: cold collection of several repositories with 1, 2, 3, 4 workers.

    .venv/bin/python benchmarks/concurrency.py [--repositories 6] [--workers 1,2,3,4]
        [--per-request 0.05] [--per-node 0.001] [--limit 10] [--window 90d]
        [--pulls 1000] [--deployments 200]

Starts the emulator with ``--repositories`` generated repositories ``bench/service-1..N``
(``bulk.build_worlds``: by default 1,000 pull requests and 200 production deployments each over
365 days) and a latency model like GitHub's (a fixed cost per request plus one per node
returned; an answer that would take over 10 s fails with 502). Then, for each worker count,
a child process collects all of them cold (no cache) for the window with
``collect(..., workers=k)``, the plan made from the action's inputs as ``action.py`` makes it.
``workers=1`` is one repository after another, the baseline every other count is compared to.

Printed per worker count: the requests the emulator answered while collecting, the GraphQL
points they cost, the wall time and its ratio to one worker, the child's peak memory (RSS,
from ``os.wait4``), the most requests in flight at once (whether the pool really overlapped
them: ``collect`` falls back to one at a time when it cannot estimate the cost), and its pace
against GitHub's secondary rate limits: GraphQL points per minute, secondary-limit points per
minute (GitHub charges each GraphQL query 1 of those, whatever its cost) beside the documented
2,000 per minute, and seconds of server time per minute beside the 60 s GitHub allows GraphQL.
The emulator does not enforce secondary limits, so these paces are what tells whether a pool
would meet them on GitHub. Any 403/429 or 5xx answer is counted, and the collection's
warnings are shown. Finally it checks that every worker count collected the same records, per
repository (counts, and a digest of every record), so that speed is not bought by losing data.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ghaction_metrics.collect.plan import CollectionPlan  # noqa: E402
from ghaction_metrics.inputs.config import Inputs  # noqa: E402
from ghaction_metrics.records import RepositoryData  # noqa: E402
from ghaction_metrics_dev.emulator.bulk import WORKFLOW_LOGIN, build_worlds  # noqa: E402
from ghaction_metrics_dev.emulator.harness import (  # noqa: E402
    WORKFLOW_TOKEN,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, Latency, RequestRecord, count_nodes  # noqa: E402

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
# GitHub's secondary rate limits, "Calculating points for the secondary rate limit": at most
# 2,000 points per minute for the GraphQL endpoint, where a query without a mutation costs 1
# point (5 with one), whatever its primary cost; and at most 60 s of server (CPU) time per
# 60 s of real time for GraphQL, which total response time approximates.
# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
SECONDARY_POINTS_PER_MINUTE = 2_000
GRAPHQL_SERVER_SECONDS_PER_MINUTE = 60
# The workflow token's primary GraphQL budget per hour (emulator.server.limits_for).
WORKFLOW_POINTS_PER_HOUR = 1_000


@dataclass(frozen=True)
class Measured:
    workers: int
    requests: int  # every request the emulator answered while collecting
    graphql_requests: int
    mutations: int
    points: int  # primary GraphQL points (rateLimit cost)
    seconds: float
    peak_rss_mb: float
    server_seconds: float  # the latency model's time for the GraphQL answers
    in_flight: int  # the most requests the emulator was answering at once
    limited: int  # 403 or 429 answers, or GraphQL RATE_LIMITED errors
    server_errors: int  # 5xx answers
    records: dict[str, dict[str, Any]]  # repository -> counts and digest of its records
    partial: bool
    skipped: list[str]
    warnings: list[str]

    def per_minute(self, amount: float) -> float:
        return amount / (self.seconds / 60) if self.seconds > 0 else 0.0


# -- the child: one worker count, in its own process ----------------------------------------


def _child(args: argparse.Namespace) -> int:
    """Collect every repository cold with ``args.child`` workers; write what came back."""
    import logging

    from ghaction_metrics.api.client import connect
    from ghaction_metrics.collect.expand import expand_repositories
    from ghaction_metrics.collect.parallel import collect
    from ghaction_metrics.inputs.config import RunnerEnv
    from ghaction_metrics.workflow_commands import setup_logging

    env: dict[str, str] = json.loads(Path(args.env).read_text())
    now = datetime.fromisoformat(args.now)
    runner = RunnerEnv.from_environ(env)
    inputs = Inputs.from_environ(env, runner.repository)
    plan = _plan(inputs, now)
    log = io.StringIO()
    setup_logging(log, logging.INFO)
    clients = connect(WORKFLOW_TOKEN, runner.api_url, runner.graphql_url)
    with contextlib.redirect_stdout(log):  # the runner's group lines
        names = expand_repositories(clients, inputs.repositories)
        start = time.time()
        outcome = collect(clients, names, plan, now=now, workers=int(args.child))
        end = time.time()
    collection = outcome.collection
    marks = {
        "start": start,
        "end": end,
        "records": {
            repo.info.full_name: _summary(repo, runner.server_url)
            for repo in collection.repositories
        },
        "partial": collection.partial,
        "skipped": [f"{s.full_name}: {s.reason}" for s in collection.skipped],
        "warnings": [line for line in log.getvalue().splitlines() if line.startswith("::warn")],
    }
    Path(args.out).write_text(json.dumps(marks))
    return 0


def _plan(inputs: Inputs, now: datetime) -> CollectionPlan:
    """The plan of a first run (no history yet) with these inputs, as ``run.run`` makes it."""
    from ghaction_metrics.action import collection_plan

    window = inputs.window.resolve(now, inputs.timezone)
    return collection_plan(inputs, window, now, first_run=True)


def _summary(repo: RepositoryData, server_url: str) -> dict[str, Any]:
    """Counts of a repository's records and a digest of all of them, notes aside (a note may
    say how a page was read, which is not data). The emulator's address is taken out of the
    records' links, so the digests of two runs can be compared too."""
    records = dataclasses.replace(repo, notes=())
    text = json.dumps(dataclasses.asdict(records), sort_keys=True, default=_plain)
    text = text.replace(server_url, "")
    return {
        "pull requests": len(repo.pull_requests),
        "reviews": sum(len(p.reviews) for p in repo.pull_requests),
        "deployments": len(repo.deployments),
        "commits": len(repo.commits),
        "incidents": len(repo.incidents),
        "releases": len(repo.releases),
        "digest": hashlib.sha256(text.encode()).hexdigest()[:16],
    }


def _plain(value: object) -> object:
    """JSON for what json cannot write: times, enums, sets (sorted: their order is random)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(str(item) for item in value)
    return str(value)


# -- the parent: the emulator, one child per worker count -----------------------------------


def _spawn(workers: int, env: dict[str, str], tmp: Path) -> tuple[dict[str, Any], float]:
    """Run one child; its marks and its peak RSS in MB."""
    env_file, out = tmp / f"w{workers}.env.json", tmp / f"w{workers}.out.json"
    env_file.write_text(json.dumps(env))
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(workers),
        "--env",
        str(env_file),
        "--now",
        NOW.isoformat(),
        "--out",
        str(out),
    ]
    process = subprocess.Popen(command, cwd=ROOT)
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(
            f"the {workers}-worker scenario failed with exit code {process.returncode}"
        )
    # ru_maxrss is in kilobytes on Linux.
    return json.loads(out.read_text()), usage.ru_maxrss / 1024


def _measure(
    workers: int, marks: dict[str, Any], rss: float, records: list[RequestRecord], latency: Latency
) -> Measured:
    start, end = marks["start"], marks["end"]
    mine = [r for r in records if start <= r.at <= end]
    graphql = [r for r in mine if r.kind == "graphql"]
    mutations = sum(1 for r in graphql if _is_mutation(r))
    return Measured(
        workers=workers,
        requests=len(mine),
        graphql_requests=len(graphql),
        mutations=mutations,
        points=sum(r.graphql_cost or 0 for r in graphql),
        seconds=end - start,
        peak_rss_mb=rss,
        server_seconds=sum(_answer_seconds(r, latency) for r in graphql),
        in_flight=_most_in_flight(mine, latency),
        limited=sum(1 for r in mine if r.status in (403, 429) or _rate_limited(r)),
        server_errors=sum(1 for r in mine if r.status >= 500),
        records=marks["records"],
        partial=marks["partial"],
        skipped=marks["skipped"],
        warnings=marks["warnings"],
    )


def _answer_seconds(record: RequestRecord, latency: Latency) -> float:
    """How long the latency model held this answer (as the emulator computes it)."""
    body = json.loads(record.response_body) if record.response_body else None
    return min(latency.seconds(count_nodes(body)), latency.limit)


def _most_in_flight(records: Sequence[RequestRecord], latency: Latency) -> int:
    """The most answers held at once, each taken as the latency model's time before it was
    recorded: whether the pool really overlapped requests, whatever the collector decided."""
    events: list[tuple[float, int]] = []
    for record in records:
        events += [(record.at - _answer_seconds(record, latency), 1), (record.at, -1)]
    most = current = 0
    for _at, step in sorted(events):  # at a tie an end (-1) sorts before a start
        current += step
        most = max(most, current)
    return most


def _is_mutation(record: RequestRecord) -> bool:
    query = json.loads(record.request_body or b"{}").get("query", "")
    return isinstance(query, str) and query.lstrip().startswith("mutation")


def _rate_limited(record: RequestRecord) -> bool:
    return record.kind == "graphql" and b'"RATE_LIMITED"' in record.response_body


def _print(results: Sequence[Measured], args: argparse.Namespace, names: Sequence[str]) -> None:
    base = results[0]
    print(
        f"{len(names)} repositories, each {args.pulls} pull requests and {args.deployments} "
        f"deployments over {args.days} days; window {args.window}, cold; latency "
        f"{args.per_request * 1000:g} ms per request + {args.per_node * 1000:g} ms per node, "
        f"502 past {args.limit:g} s"
    )
    ratio_title = f"vs {base.workers} wkr"
    columns = ("requests", "GraphQL pts", "wall s", ratio_title, "peak RSS MB", "in flight")
    header = f"{'workers':>7} " + " ".join(f"{c:>11}" for c in columns)
    print(header)
    print("-" * len(header))
    for m in results:
        ratio = m.seconds / base.seconds if base.seconds > 0 else 0.0
        print(
            f"{m.workers:>7} {m.requests:>11} {m.points:>11} {m.seconds:>11.1f} "
            f"{ratio:>10.2f}x {m.peak_rss_mb:>11.0f} {m.in_flight:>11}"
        )
    print("  in flight: the most requests the emulator answered at once")
    print()
    print("Pace per minute of wall time, against GitHub's secondary limits for GraphQL:")
    paces = ("pts/min", "2nd pts/min", "server s/min", "403/429", "5xx")
    header = f"{'workers':>7} " + " ".join(f"{c:>12}" for c in paces)
    print(header)
    print("-" * len(header))
    for m in results:
        secondary = m.graphql_requests - m.mutations + 5 * m.mutations
        print(
            f"{m.workers:>7} {m.per_minute(m.points):>12.0f} {m.per_minute(secondary):>12.0f} "
            f"{m.per_minute(m.server_seconds):>12.1f} {m.limited:>12} {m.server_errors:>12}"
        )
    print(
        f"  limits: {SECONDARY_POINTS_PER_MINUTE:,} secondary points per minute (1 per query); "
        f"{GRAPHQL_SERVER_SECONDS_PER_MINUTE} s of server time per minute for GraphQL; "
        f"primary: the workflow token's {WORKFLOW_POINTS_PER_HOUR:,} points per hour "
        "(each run here starts with a full budget)"
    )
    print("  the emulator enforces no secondary limit: 403/429 counts only primary refusals")
    print()
    _print_records(results)


def _print_records(results: Sequence[Measured]) -> None:
    base = results[0]
    print(f"Records per repository (from {base.workers} worker):")
    for name, summary in sorted(base.records.items()):
        counts = ", ".join(f"{v} {k}" for k, v in summary.items() if k != "digest")
        print(f"  {name}: {counts}; digest {summary['digest']}")
    for m in results:
        different = sorted(
            name
            for name in set(base.records) | set(m.records)
            if base.records.get(name) != m.records.get(name)
        )
        verdict = "same records" if not different else f"DIFFERENT: {', '.join(different)}"
        extra = " (partial)" if m.partial else ""
        extra += f"; skipped: {'; '.join(m.skipped)}" if m.skipped else ""
        print(f"  {m.workers} worker(s): {verdict}{extra}; {len(m.warnings)} warning(s)")
        for line in m.warnings[:3]:
            print(f"    {line[:160]}")


def _workers(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of worker counts, each >= 1")
    # The first is the baseline the others are compared to: one worker when it is asked for.
    return sorted(set(counts))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repositories", type=int, default=6, help="how many repositories")
    parser.add_argument("--workers", type=_workers, default=[1, 2, 3, 4], help="e.g. 1,2,3,4")
    parser.add_argument("--per-request", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--per-node", type=float, default=0.001, help="seconds per node returned")
    parser.add_argument("--limit", type=float, default=10.0, help="502 past this many seconds")
    parser.add_argument("--window", default="90d")
    parser.add_argument("--pulls", type=int, default=1_000, help="pull requests per repository")
    parser.add_argument("--deployments", type=int, default=200, help="deployments per repository")
    parser.add_argument("--days", type=int, default=365, help="days of activity per repository")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--env", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    bulk = build_worlds(
        NOW, args.repositories, pulls=args.pulls, deployments=args.deployments, days=args.days
    )
    latency = Latency(per_request=args.per_request, per_node=args.per_node, limit=args.limit)
    results: list[Measured] = []
    with (
        EmulatorServer(bulk.world, workflow_tokens(WORKFLOW_LOGIN), latency=latency) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        tmp = Path(folder)
        token = server.tokens[WORKFLOW_TOKEN]
        for workers in args.workers:
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=bulk.names[0],
                workspace=tmp / f"w{workers}" / "workspace",
                overrides={
                    "repositories": ",".join(bulk.names),
                    "window": args.window,
                    "compare-to": "none",
                },
            )
            # Each scenario stands for a run of its own: it starts with a full primary budget.
            with server.lock:
                for bucket in (server.rest_bucket(token), server.graphql_bucket(token)):
                    bucket.remaining = bucket.limit
            marks, rss = _spawn(workers, env, tmp)
            results.append(_measure(workers, marks, rss, server.requests, latency))
    _print(results, args, bulk.names)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
