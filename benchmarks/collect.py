"""Collection benchmark: this action's collector, cold and warm, against the straightforward one.

    .venv/bin/python benchmarks/collect.py [--per-request 0.05] [--per-node 0.001] ...

Starts the emulator with a generated busy repository (5,000 pull requests over 365 days,
0-8 reviews and 1-30 commits each, 1,000 production deployments, 100 incidents) and a
latency model like GitHub's (a fixed cost per request plus one per node returned; an answer
that would take over 10 s fails with 502), then measures for a 90-day window:

  (a) the action cold (no cache), (b) the action warm, after one more day of activity,
  (c) the straightforward PyGithub collector (``ghaction_metrics_dev/naive_collector.py``).

Each runs in its own process, so its peak memory (RSS) is its own. Requests are counted by
the emulator. The action's runs are whole runs (collection, then the summary, the dashboard
issue and the history commit); their collection requests are those made while collecting
plus the history-branch listing that finds the cache, everything else is publishing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ghaction_metrics_dev.emulator.bulk import FULL_NAME, WORKFLOW_LOGIN, build_world  # noqa: E402
from ghaction_metrics_dev.emulator.harness import (  # noqa: E402
    WORKFLOW_TOKEN,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, Latency, RequestRecord  # noqa: E402

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Measured:
    label: str
    collection_requests: int
    publishing_requests: int
    graphql_points: int
    seconds: float
    peak_rss_mb: float
    detail: str


def _child(args: argparse.Namespace) -> int:
    """One scenario, in its own process; writes timings to ``args.out``."""
    env: dict[str, str] = json.loads(Path(args.env).read_text())
    now = datetime.fromisoformat(args.now)
    marks: dict[str, Any] = {}
    if args.child == "baseline":
        from ghaction_metrics.inputs.windows import parse_window
        from ghaction_metrics.metrics.report import earliest_needed
        from ghaction_metrics_dev.naive_collector import collect_straightforwardly

        # The same span the action reads: the window and the one before it, which the
        # deployment-source choice looks at.
        window = parse_window(args.window).resolve(now, UTC)
        since = earliest_needed(window, "none", UTC, now)
        marks["start"] = time.time()
        counts = collect_straightforwardly(WORKFLOW_TOKEN, env["GITHUB_API_URL"], FULL_NAME, since)
        marks["end"] = time.time()
        marks["detail"] = f"{counts.pull_requests} pull requests, {counts.deployments} deployments"
    else:
        import io
        import logging

        from ghaction_metrics import action as action
        from ghaction_metrics.api.client import connect
        from ghaction_metrics.collect.plan import PageSizes
        from ghaction_metrics.inputs.config import Inputs, RunnerEnv
        from ghaction_metrics.workflow_commands import setup_logging

        log = io.StringIO()
        setup_logging(log, logging.INFO)
        from ghaction_metrics.collect.parallel import collect as original

        def timed(*a: Any, **k: Any) -> Any:
            plan = a[2]
            pages = PageSizes(pulls=args.pulls_page, history=args.pulls_page)
            a = (a[0], a[1], dataclasses.replace(plan, pages=pages))
            marks["start"] = time.time()
            result = original(*a, **k)
            marks["end"] = time.time()
            repo = result.collection.repositories[0]
            marks["detail"] = (
                f"{len(repo.pull_requests)} pull requests, {len(repo.deployments)} deployments, "
                f"{len(repo.commits)} commits"
            )
            return result

        # action.py calls collect() by the name it imported: wrap it there to time collection.
        vars(action)["collect"] = timed
        runner = RunnerEnv.from_environ(env)
        inputs = Inputs.from_environ(env, runner.repository)
        clients = connect(inputs.token, runner.api_url, runner.graphql_url)
        marks["run_start"] = time.time()
        marks["returncode"] = action.run(inputs, runner, clients, lambda: now)
        marks["run_end"] = time.time()
        Path(args.out + ".log").write_text(log.getvalue())
    Path(args.out).write_text(json.dumps(marks))
    return 0


def _spawn(
    kind: str, env: dict[str, str], now: datetime, args: argparse.Namespace, tmp: Path
) -> tuple[dict[str, Any], float]:
    env_file, out = tmp / f"{kind}.env.json", tmp / f"{kind}.out.json"
    env_file.write_text(json.dumps(env))
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--env",
        str(env_file),
        "--now",
        now.isoformat(),
        "--out",
        str(out),
        "--window",
        args.window,
        "--pulls-page",
        str(args.pulls_page),
    ]
    process = subprocess.Popen(command, cwd=ROOT)
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the {kind} scenario failed with exit code {process.returncode}")
    # ru_maxrss is in kilobytes on Linux.
    return json.loads(out.read_text()), usage.ru_maxrss / 1024


def _measure(
    label: str,
    marks: dict[str, Any],
    rss: float,
    records: list[RequestRecord],
) -> Measured:
    start, end = marks["start"], marks["end"]
    mine = [
        r for r in records if marks.get("run_start", start) <= r.at <= marks.get("run_end", end)
    ]
    collecting = [r for r in mine if start <= r.at <= end]
    # The history-branch listing before collection is what finds the cache.
    listing = [
        r
        for r in mine
        if r.at < start and r.method == "GET" and ("/git/ref/" in r.path or "/git/trees/" in r.path)
    ]
    collection = len(collecting) + len(listing)
    points = sum(r.graphql_cost or 0 for r in collecting)
    return Measured(
        label,
        collection,
        len(mine) - collection,
        points,
        end - start,
        rss,
        str(marks.get("detail", "")),
    )


def _print(results: list[Measured], args: argparse.Namespace) -> None:
    print(
        f"Latency model: {args.per_request * 1000:g} ms per request + {args.per_node * 1000:g} ms "
        f"per node returned, 502 past {args.limit:g} s; window {args.window}; "
        f"pull request page {args.pulls_page}"
    )
    columns = ("collect req", "publish req", "GraphQL pts", "wall s", "peak RSS MB")
    header = f"{'scenario':<34} " + " ".join(f"{c:>11}" for c in columns)
    print(header)
    print("-" * len(header))
    for m in results:
        print(
            f"{m.label:<34} {m.collection_requests:>11} {m.publishing_requests:>11} "
            f"{m.graphql_points:>11} {m.seconds:>11.1f} {m.peak_rss_mb:>11.0f}"
        )
    for m in results:
        print(f"  {m.label}: {m.detail}")
    by = {m.label.split()[0]: m for m in results}
    base = by.get("(c)")
    if base is not None and base.collection_requests > 1000:
        print(
            f"  the straightforward collector's {base.collection_requests} REST requests exceed "
            "the workflow token's 1,000 per hour: on GitHub it would wait "
            f"{base.collection_requests // 1000} hour(s) for resets"
        )
    cold, warm, base = by.get("(a)"), by.get("(b)"), by.get("(c)")
    if cold and base:
        print(
            f"straightforward / cold: {base.collection_requests / cold.collection_requests:.1f}x "
            f"requests, {base.seconds / cold.seconds:.1f}x wall time"
        )
    if cold and warm:
        print(
            f"cold / warm: {cold.collection_requests / max(1, warm.collection_requests):.1f}x "
            f"requests, {cold.seconds / max(warm.seconds, 1e-9):.1f}x wall time"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-request", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--per-node", type=float, default=0.001, help="seconds per node returned")
    parser.add_argument("--limit", type=float, default=10.0, help="502 past this many seconds")
    parser.add_argument("--window", default="90d")
    parser.add_argument("--pulls-page", type=int, default=100, help="pull request page size")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--publish", default="summary,issue,history", help="the publish input")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--env", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)

    bulk = build_world(NOW)
    latency = Latency(per_request=args.per_request, per_node=args.per_node, limit=args.limit)
    results: list[Measured] = []
    with (
        EmulatorServer(bulk.world, workflow_tokens(WORKFLOW_LOGIN), latency=latency) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        tmp = Path(folder)

        def environment(run_id: str) -> dict[str, str]:
            return runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=FULL_NAME,
                workspace=tmp / f"run{run_id}" / "workspace",
                run_id=run_id,
                overrides={"window": args.window, "compare-to": "none", "publish": args.publish},
            )

        marks, rss = _spawn("cold", environment("1"), NOW, args, tmp)
        results.append(_measure("(a) this action, cold", marks, rss, server.requests))
        with server.lock:
            bulk.advance(NOW + timedelta(days=1))
        marks, rss = _spawn("warm", environment("2"), NOW + timedelta(days=1), args, tmp)
        results.append(_measure("(b) this action, warm (+1 day)", marks, rss, server.requests))
        if not args.skip_baseline:
            # The straightforward collector needs more REST requests than the workflow token
            # has in an hour; on GitHub it would sleep until the reset. To measure its own
            # cost rather than that wait, its budget here is unlimited (the count is printed).
            with server.lock:
                bucket = server.rest_bucket(server.tokens[WORKFLOW_TOKEN])
                bucket.limit = bucket.remaining = 10**9
            marks, rss = _spawn("baseline", environment("3"), NOW + timedelta(days=1), args, tmp)
            results.append(_measure("(c) straightforward PyGithub", marks, rss, server.requests))
    _print(results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
