"""The cost of a live update: the action run on a deployment or a merge, warm, against cold.

    .venv/bin/python benchmarks/incremental.py [--per-request 0.05] [--per-node 0.001] [--quick]

What ``.github/workflows/metrics-live.yml`` does, against the emulator serving the demo
organisation's busiest repository (``acme/storefront``: about 700 pull requests and 740
deployments over a year) with a latency model like GitHub's (as ``benchmarks/collect.py``:
a fixed cost per request plus one per node returned). The live workflow measures its own
repository over the last 30 days with today so far included, and publishes the job summary
and the dashboard issue; the scheduled workflow (metrics.yml, here run daily at its cron
time) keeps the history branch and with it the collection cache the live runs start from.
On the day of the demo's last production deployment, in this order:

  (a) a live run with no cache on the branch (what every live run would cost without one),
  (s) the scheduled run at 06:17, which writes the history branch and the cache,
  (b) a live run a minute after that production deployment succeeds (deployment_status),
  (c) a live run a minute after a pull request is merged into main (pull_request: closed).

The world is shown to the emulator as it stood at each run's time (each run sees what
happened since the previous one). Requests are counted by the emulator: collection requests
are those made while collecting plus the history-branch listing that finds the cache;
everything else is publishing. GraphQL points are the whole run's. ``--quick`` drops the
latency model (for a test that the benchmark runs; its times mean nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import itertools
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from history_growth import _renumber_written_issues, reachable, show_as_of  # noqa: E402

from ghaction_metrics import action  # noqa: E402
from ghaction_metrics.collect.parallel import collect as original_collect  # noqa: E402
from ghaction_metrics_dev.dataset.generate import generate_dataset  # noqa: E402
from ghaction_metrics_dev.emulator.harness import (  # noqa: E402
    parse_output_file,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, Latency, RequestRecord  # noqa: E402
from ghaction_metrics_dev.emulator.world import Repository  # noqa: E402

END = datetime(2026, 6, 30, 6, 0, tzinfo=UTC)
SCHEDULE = timedelta(hours=6, minutes=17)  # metrics.yml's cron time of day
LIVE = "summary,issue"  # metrics-live.yml's publish input
BRANCH = "metrics"


@dataclass(frozen=True)
class Event:
    label: str
    at: datetime


@dataclass(frozen=True)
class Measured:
    label: str
    at: datetime
    collection_requests: int
    collection_queries: int  # of them GraphQL queries; the others read the branch
    collection_points: int
    publishing_requests: int
    graphql_points: int
    collection_seconds: float
    run_seconds: float
    branch_bytes: int  # git objects the run added to the history branch, stored size
    outputs: dict[str, str]


def live_window(at: datetime) -> str:
    """The live workflow's window: the last 30 days, today so far included (UTC)."""
    today = at.date()
    return f"{(today - timedelta(days=29)).isoformat()}..{today.isoformat()}"


def events(repo: Repository) -> tuple[datetime, list[Event]]:
    """The scheduled run's time and the two events after it, on the day of the last
    production deployment: that deployment's success and a merge into the default branch."""
    successes = [
        status.created_at
        for deployment in repo.deployments
        if deployment.environment == "production"
        for status in deployment.statuses
        if status.state == "success"
    ]
    deployed = max(at for at in successes if at <= END)
    scheduled = datetime.combine(deployed.date(), datetime.min.time(), UTC) + SCHEDULE
    merges = sorted(
        pull.merged_at
        for pull in repo.pull_requests
        if pull.merged_at is not None
        and pull.base_ref == repo.default_branch
        # A bot's pull request is left out of the figures (include-bots: false).
        and not (pull.author or "").endswith("[bot]")
        and scheduled < pull.merged_at <= END
        and pull.merged_at != deployed
    )
    if not merges:
        raise SystemExit(f"no merge into {repo.default_branch} after {scheduled}: pick a seed")
    # The merge nearest after the deployment, else the last one before it.
    merged = next((at for at in merges if at > deployed), merges[-1])
    found = [
        Event("production deployment succeeded", deployed),
        Event(f"pull request merged into {repo.default_branch}", merged),
    ]
    return scheduled, sorted(found, key=lambda e: e.at)


def landed(repo: Repository, after: datetime, until: datetime) -> tuple[int, int]:
    """(production deployments first successful, pull requests merged into the default
    branch) in ``(after, until]``: what a live run at ``until`` must show beyond one at
    ``after``."""
    deployments = 0
    for deployment in repo.deployments:
        first = min(
            (s.created_at for s in deployment.statuses if s.state == "success"), default=None
        )
        if deployment.environment == "production" and first and after < first <= until:
            deployments += 1
    merges = sum(
        1
        for pull in repo.pull_requests
        if pull.merged_at is not None
        and pull.base_ref == repo.default_branch
        and after < pull.merged_at <= until
    )
    return deployments, merges


def _classify(
    records: list[RequestRecord], marks: dict[str, float]
) -> tuple[int, int, int, int, int]:
    """(collection requests, of them GraphQL, their points, publishing requests, GraphQL
    points) of one run."""
    start, end = marks["start"], marks["end"]
    collecting = [r for r in records if start <= r.at <= end]
    # The history-branch listing before collection is what finds the cache.
    listing = [
        r
        for r in records
        if r.at < start and r.method == "GET" and ("/git/ref/" in r.path or "/git/trees/" in r.path)
    ]
    collection = len(collecting) + len(listing)
    queries = sum(1 for r in collecting if r.kind == "graphql")
    collecting_points = sum(r.graphql_cost or 0 for r in collecting)
    points = sum(r.graphql_cost or 0 for r in records)
    return collection, queries, collecting_points, len(records) - collection, points


def run_all(
    latency: Latency, seed: int, live_publish: str = LIVE
) -> tuple[list[Measured], Repository]:
    """The runs, and the measured repository as it stands at the end (for ``check``)."""
    dataset = generate_dataset(seed=seed, now=END)
    full = copy.deepcopy(dataset.world)
    live = dataset.world
    home = dataset.home_repository
    scheduled, found = events(full.repositories[home])
    live_inputs = {"publish": live_publish}
    plan: list[tuple[str, datetime, dict[str, str]]] = [
        ("(a) live run, no cache", scheduled - timedelta(minutes=7), live_inputs),
        ("(s) scheduled run, writes the cache", scheduled, {}),
    ]
    for letter, event in zip("bc", found, strict=True):
        at = event.at + timedelta(minutes=1)
        plan.append((f"({letter}) live run: {event.label}", at, live_inputs))
    results: list[Measured] = []
    with (
        EmulatorServer(live, workflow_tokens(dataset.workflow_login), latency=latency) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        repo = live.repositories[home]
        for number, (label, at, inputs) in enumerate(plan):
            with server.lock:
                show_as_of(live, full, at)
                server.clock = _seconds(at)
                seen = len(server.requests)
                before = repo.refs.get(f"heads/{BRANCH}")
            overrides = dict(inputs)
            if inputs is live_inputs:
                overrides["window"] = live_window(at)
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=home,
                workspace=Path(folder) / f"run{number}" / "workspace",
                run_id=str(7000 + number),
                overrides=overrides,
                event_name="deployment_status" if inputs is live_inputs else "schedule",
            )
            marks: dict[str, float] = {}

            def timed(*args: Any, marks: dict[str, float] = marks, **kwargs: Any) -> Any:
                marks["start"] = time.time()
                try:
                    return original_collect(*args, **kwargs)
                finally:
                    marks["end"] = time.time()

            began = time.time()
            # action.py calls collect() by the name it imported: wrap it there to time it.
            with (
                mock.patch.object(action, "collect", timed),
                contextlib.redirect_stdout(io.StringIO()),
            ):
                code = action.main(env, io.StringIO(), clock=_clock(at), mask=False)
            finished = time.time()
            if code != 0:
                raise SystemExit(f"{label}: the action exited {code}")
            with server.lock:
                _renumber_written_issues(live, full)
                sent = server.requests[seen:]
                old = reachable(repo, [before])
                added = reachable(repo, [repo.refs.get(f"heads/{BRANCH}")])
                branch_bytes = sum(v for k, v in added.items() if k not in old)
            collection, queries, queries_points, publishing, points = _classify(sent, marks)
            outputs = parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
            results.append(
                Measured(
                    label,
                    at,
                    collection,
                    queries,
                    queries_points,
                    publishing,
                    points,
                    marks["end"] - marks["start"],
                    finished - began,
                    branch_bytes,
                    outputs,
                )
            )
    return results, full.repositories[home]


def _clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def _seconds(at: datetime) -> Callable[[], float]:
    return lambda: at.timestamp()


def _deployments(measured: Measured) -> int:
    """Deployments in the window, from the deployment-frequency output (per day, 30 days)."""
    return round(float(measured.outputs["deployment-frequency"] or 0) * 30)


def report(results: list[Measured], latency: Latency, live_publish: str = LIVE) -> str:
    lines = [
        f"Latency model: {latency.per_request * 1000:g} ms per request + "
        f"{latency.per_node * 1000:g} ms per node returned; acme/storefront; live runs: "
        f"the last 30 days, today so far included, publish {live_publish}",
    ]
    columns = (
        "time", "collect req", "publish req", "GraphQL pts", "collect s", "run s", "branch KB",
    )  # fmt: skip
    header = f"{'run':<52} " + " ".join(f"{c:>11}" for c in columns)
    lines += [header, "-" * len(header)]
    for m in results:
        lines.append(
            f"{m.label:<52} {m.at.strftime('%H:%M'):>11} {m.collection_requests:>11} "
            f"{m.publishing_requests:>11} {m.graphql_points:>11} {m.collection_seconds:>11.1f} "
            f"{m.run_seconds:>11.1f} {m.branch_bytes / 1000:>11.1f}"
        )
    lines.append("Collection requests: GraphQL queries (their points) + history branch reads:")
    for m in results:
        lines.append(
            f"  {m.label}: {m.collection_queries} ({m.collection_points} points) + "
            f"{m.collection_requests - m.collection_queries}"
        )
    lines.append("What each run reported (the events must show):")
    for m in results:
        lines.append(
            f"  {m.label}: {_deployments(m)} deployments, {m.outputs['merged-prs']} merged pull "
            f"requests in the window"
        )
    cold = results[0]
    for warm in results[2:]:
        lines.append(
            f"{warm.label.split(')')[0]}) against (a): "
            f"{warm.collection_requests}/{cold.collection_requests} collection requests, "
            f"{warm.graphql_points}/{cold.graphql_points} GraphQL points, "
            f"{warm.run_seconds / max(cold.run_seconds, 1e-9):.2f}x the run's wall time"
        )
    return "\n".join(lines) + "\n"


def check(results: list[Measured], repo: Repository) -> list[str]:
    """What the live runs must show: exactly the deployments that landed since the previous
    live run (same window: the same day), the merges (bots' left out), fewer points."""
    problems = []
    live_runs = [results[0], *results[2:]]
    for previous, m in itertools.pairwise(live_runs):
        deployments, merges = landed(repo, previous.at, m.at)
        shown = _deployments(m) - _deployments(previous)
        merged = int(m.outputs["merged-prs"]) - int(previous.outputs["merged-prs"])
        if shown != deployments:
            problems.append(f"{m.label}: {shown} more deployments shown, {deployments} landed")
        if not (0 < merged <= merges if merges else merged == 0):
            problems.append(f"{m.label}: {merged} more merges shown, {merges} landed")
        if m.graphql_points >= results[0].graphql_points:
            problems.append(f"{m.label}: no fewer GraphQL points than the run without a cache")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-request", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--per-node", type=float, default=0.001, help="seconds per node returned")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo data")
    parser.add_argument("--quick", action="store_true", help="no latency model (for a test)")
    parser.add_argument(
        "--live-publish", default=LIVE, help="the live runs' publish input (metrics-live.yml's)"
    )
    args = parser.parse_args()
    latency = (
        Latency() if args.quick else Latency(per_request=args.per_request, per_node=args.per_node)
    )
    results, repo = run_all(latency, args.seed, args.live_publish)
    sys.stdout.write(report(results, latency, args.live_publish))
    problems = check(results, repo)
    for problem in problems:
        sys.stdout.write(f"PROBLEM: {problem}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
