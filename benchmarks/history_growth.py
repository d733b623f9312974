"""History branch growth: what 30 consecutive daily runs add to the ``metrics`` branch.

    .venv/bin/python benchmarks/history_growth.py [--runs 30] [--seed 7]

Generates the demo organisation (``acme/*``, five repositories) ending on the last run's day
and shows it to the emulator as it stood at each run's time: the first run (with the default
backfill) sees the world 29 days before the end, and every following run one day later, with
that day's new pull requests, reviews, deployments, releases and incidents. Each run is the
whole action in this process (collection, the summary, the dashboard issue and the history
commit) with its clock set to the run's time.

Per run it prints the git objects the run added to the branch (reachable from the new tip and
not from the previous one), sized as git stores them (zlib-compressed), the size of the run's
snapshot file, and the write requests the run sent (REST POST / PATCH / PUT / DELETE and
GraphQL mutations): those that write the history branch (Git Data API) and the others (the
dashboard issue); then whether each run stays within the budget of issue #10: the first
run at most 2 MB, a daily run at most 150 KB and 8 write requests to the history branch.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ghaction_metrics import action  # noqa: E402
from ghaction_metrics_dev.dataset.generate import generate_dataset  # noqa: E402
from ghaction_metrics_dev.emulator.harness import runner_environment, workflow_tokens  # noqa: E402
from ghaction_metrics_dev.emulator.server import EmulatorServer, RequestRecord  # noqa: E402
from ghaction_metrics_dev.emulator.world import Commit, Repository, World  # noqa: E402

END = datetime(2026, 6, 30, 6, 0, tzinfo=UTC)
BRANCH = "metrics"
FIRST_RUN_BUDGET = 2_000_000
DAILY_BUDGET = 150_000
DAILY_WRITES_BUDGET = 8


# -- the world as it stood at an earlier time ------------------------------------------------


def _main_tip(repo: Repository, tip: str | None, at: datetime) -> str | None:
    """The newest first-parent ancestor of ``tip`` committed by ``at``."""
    while tip is not None:
        commit = repo.commits.get(tip)
        if commit is None or commit.committed_at <= at:
            return tip
        tip = commit.parents[0] if commit.parents else None
    return None


def show_as_of(live: World, full: World, at: datetime) -> None:
    """Make ``live`` hold what ``full`` held at ``at``, keeping what the action wrote."""
    for name, source in full.repositories.items():
        repo = live.repositories[name]
        pulls = []
        for original in source.pull_requests:
            if original.created_at > at:
                continue
            pull = copy.copy(original)
            pull.reviews = [r for r in original.reviews if r.submitted_at <= at]
            pull.ready_for_review_at = [t for t in original.ready_for_review_at if t <= at]
            pull.commits = [
                oid
                for oid in original.commits
                if oid in source.commits and source.commits[oid].committed_at <= at
            ]
            if original.closed_at is not None and original.closed_at > at:
                pull.state, pull.closed_at = "open", None
                pull.merged_at = pull.merge_commit = pull.merged_by = None
            events = [pull.created_at, *(r.submitted_at for r in pull.reviews)]
            events += [*pull.ready_for_review_at, *([pull.closed_at] if pull.closed_at else [])]
            pull.updated_at = original.updated_at if original.updated_at <= at else max(events)
            pulls.append(pull)
        repo.pull_requests = pulls
        deployments = []
        for original_deployment in source.deployments:
            if original_deployment.created_at <= at:
                deployment = copy.copy(original_deployment)
                deployment.statuses = [s for s in deployment.statuses if s.created_at <= at]
                deployments.append(deployment)
        repo.deployments = deployments
        releases = []
        for original_release in source.releases:
            if original_release.created_at <= at:
                release = copy.copy(original_release)
                if release.published_at is not None and release.published_at > at:
                    release.published_at, release.is_draft = None, True
                releases.append(release)
        repo.releases = releases
        repo.workflow_runs = [r for r in source.workflow_runs if r.created_at <= at]
        written = {i.id for i in source.issues}
        issues = [i for i in repo.issues if i.id not in written]  # the dashboard
        for original_issue in source.issues:
            if original_issue.created_at <= at:
                issue = copy.copy(original_issue)
                issue.comments = [c for c in issue.comments if c.created_at <= at]
                if issue.closed_at is not None and issue.closed_at > at:
                    issue.state, issue.closed_at = "open", None
                if issue.updated_at > at:
                    issue.updated_at = max(
                        [issue.created_at, *(c.created_at for c in issue.comments)]
                    )
                issues.append(issue)
        repo.issues = sorted(issues, key=lambda i: i.number)
        refs = {k: v for k, v in repo.refs.items() if k not in source.refs}  # the branch
        for ref, oid in source.refs.items():
            target = source.tag_objects.get(oid, (oid, None))[0]
            commit: Commit | None = source.commits.get(target)
            if ref == f"heads/{source.default_branch}":
                tip = _main_tip(source, oid, at)
                if tip is not None:
                    refs[ref] = tip
            elif commit is None or commit.committed_at <= at:
                refs[ref] = oid
        repo.refs = refs
    live.now = at


def _renumber_written_issues(live: World, full: World) -> None:
    """Issues the action opened take numbers after every issue the full world will show."""
    for name, source in full.repositories.items():
        top = max([i.number for i in source.issues] + [p.number for p in source.pull_requests])
        written = {i.id for i in source.issues}
        for issue in live.repositories[name].issues:
            if issue.id not in written and issue.number <= top:
                top += 1
                issue.number = top


# -- git objects as git stores them ----------------------------------------------------------


def _stored(kind: str, data: bytes) -> int:
    return len(zlib.compress(f"{kind} {len(data)}\0".encode() + data))


def _commit_text(repo: Repository, commit: Commit) -> bytes:
    stamp = int(commit.committed_at.timestamp())
    who = "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    lines = [f"tree {commit.tree}", *(f"parent {p}" for p in commit.parents)]
    lines += [f"author {who} {stamp} +0000", f"committer {who} {stamp} +0000", "", commit.message]
    return "\n".join(lines).encode()


def _tree_text(repo: Repository, sha: str) -> bytes:
    tree = repo.trees[sha]
    return b"".join(
        f"{e.mode.lstrip('0')} {e.path}\0".encode() + bytes.fromhex(e.sha) for e in tree.entries
    )


def reachable(repo: Repository, tips: Iterable[str | None]) -> dict[tuple[str, str], int]:
    """(kind, sha) → stored (compressed) size of every object reachable from ``tips``."""
    found: dict[tuple[str, str], int] = {}
    commits = [t for t in tips if t]
    trees: list[str] = []
    while commits:
        oid = commits.pop()
        if ("commit", oid) in found:
            continue
        commit = repo.commits[oid]
        found["commit", oid] = _stored("commit", _commit_text(repo, commit))
        commits.extend(commit.parents)
        if commit.tree:
            trees.append(commit.tree)
    while trees:
        sha = trees.pop()
        if ("tree", sha) in found:
            continue
        found["tree", sha] = _stored("tree", _tree_text(repo, sha))
        for entry in repo.trees[sha].entries:
            if entry.type == "tree":
                trees.append(entry.sha)
            elif ("blob", entry.sha) not in found:
                found["blob", entry.sha] = _stored("blob", repo.blobs[entry.sha].content)
    return found


def _is_write(record: RequestRecord) -> bool:
    if record.kind == "graphql":
        try:
            query = str(json.loads(record.request_body).get("query", ""))
        except ValueError:
            return False
        return query.lstrip().startswith("mutation")
    return record.method in ("POST", "PATCH", "PUT", "DELETE")


# -- the runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    day: int
    returncode: int
    new_objects: int
    new_bytes: int
    by_kind: dict[str, int]  # stored bytes of new blobs by the kind of file they hold
    blobs: dict[str, int]  # stored bytes of each new blob, by the path it has at the tip
    snapshot_bytes: int
    snapshot_stored: int
    writes: int  # to the history branch
    other_writes: int  # the dashboard issue and comment
    reads: int
    branch_files: int


def _file_kind(path: str) -> str:
    parts = path.split("/")
    if len(parts) > 2 and parts[1] in ("snapshots", "cache", "charts", "reports", "exports"):
        return parts[1]
    return "pages" if path.endswith(".html") else "other"


def _blob_paths(repo: Repository, tree_sha: str, prefix: str = "") -> dict[str, str]:
    paths: dict[str, str] = {}
    for entry in repo.trees[tree_sha].entries:
        if entry.type == "tree":
            paths.update(_blob_paths(repo, entry.sha, f"{prefix}{entry.path}/"))
        else:
            paths.setdefault(entry.sha, f"{prefix}{entry.path}")
    return paths


def _clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def _clock_seconds(at: datetime) -> Callable[[], float]:
    return lambda: at.timestamp()


def run_days(runs: int, seed: int, files: bool = False) -> list[Run]:
    dataset = generate_dataset(seed=seed, now=END)
    full = copy.deepcopy(dataset.world)
    live = dataset.world
    home = dataset.home_repository
    first = END - timedelta(days=runs - 1)
    show_as_of(live, full, first)
    results: list[Run] = []
    with (
        EmulatorServer(live, workflow_tokens(dataset.workflow_login)) as server,
        tempfile.TemporaryDirectory() as folder,
    ):
        repo = live.repositories[home]
        for day in range(runs):
            at = first + timedelta(days=day)
            with server.lock:
                show_as_of(live, full, at)
                # Rate limits by the simulated clock: each daily run starts a new hour.
                server.clock = _clock_seconds(at)
                before = repo.refs.get(f"heads/{BRANCH}")
                seen = len(server.requests)
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=home,
                workspace=Path(folder) / f"day{day}" / "workspace",
                run_id=str(5000 + day),
                overrides={"repositories": "acme/*"},
            )
            # The run's log and workflow commands are not this benchmark's output.
            with contextlib.redirect_stdout(io.StringIO()):
                code = action.main(env, io.StringIO(), clock=_clock(at), mask=False)
            with server.lock:
                _renumber_written_issues(live, full)
                after = repo.refs.get(f"heads/{BRANCH}")
                old = reachable(repo, [before])
                new = {k: v for k, v in reachable(repo, [after]).items() if k not in old}
                tree = repo.commits[after].tree if after else None
                names = _blob_paths(repo, tree) if tree else {}
                by_kind: dict[str, int] = {}
                blobs: dict[str, int] = {}
                for (kind, sha), size in new.items():
                    label = _file_kind(names.get(sha, "")) if kind == "blob" else "git"
                    by_kind[label] = by_kind.get(label, 0) + size
                    if kind == "blob":
                        blobs[names.get(sha, sha)] = size
                snapshots = [
                    (path, sha)
                    for sha, path in names.items()
                    if "/snapshots/" in path and path.endswith(f"-run{5000 + day}.json")
                ]
                snapshot = repo.blobs[snapshots[0][1]].content if snapshots else b""
                sent = server.requests[seen:]
                writes = sum(1 for r in sent if _is_write(r) and "/git/" in r.path)
                other_writes = sum(1 for r in sent if _is_write(r)) - writes
                reads = len(sent) - writes - other_writes
            results.append(
                Run(
                    day=day,
                    returncode=code,
                    new_objects=len(new),
                    new_bytes=sum(new.values()),
                    by_kind=by_kind,
                    blobs=blobs,
                    snapshot_bytes=len(snapshot),
                    snapshot_stored=_stored("blob", snapshot) if snapshot else 0,
                    writes=writes,
                    other_writes=other_writes,
                    reads=reads,
                    branch_files=len(names),
                )
            )
            _print_run(results[-1], files)
    return results


def _kb(size: int) -> str:
    return f"{size / 1000:,.1f} KB"


def _print_run(run: Run, files: bool) -> None:
    kinds = ", ".join(f"{k} {_kb(v)}" for k, v in sorted(run.by_kind.items(), key=lambda x: -x[1]))
    sys.stdout.write(
        f"run {run.day + 1:2d}: exit {run.returncode}, {run.new_objects:3d} new objects "
        f"{_kb(run.new_bytes):>10} ({kinds}); snapshot {_kb(run.snapshot_bytes)} "
        f"({_kb(run.snapshot_stored)} stored); {run.writes} history writes "
        f"(+{run.other_writes} dashboard), {run.reads} reads; "
        f"{run.branch_files} files at the tip\n"
    )
    if files:
        for path, size in sorted(run.blobs.items()):
            sys.stdout.write(f"    {_kb(size):>10}  {path}\n")
    sys.stdout.flush()


def _print_budget(results: list[Run]) -> bool:
    first, daily = results[0], results[1:]
    ok_first = first.new_bytes <= FIRST_RUN_BUDGET
    worst = max((r.new_bytes for r in daily), default=0)
    mean = sum(r.new_bytes for r in daily) / len(daily) if daily else 0.0
    most_writes = max((r.writes for r in daily), default=0)
    ok_daily = worst <= DAILY_BUDGET
    ok_writes = most_writes <= DAILY_WRITES_BUDGET
    total = sum(r.new_bytes for r in results)
    lines = [
        "",
        f"first run (with backfill): {_kb(first.new_bytes)}, budget {_kb(FIRST_RUN_BUDGET)}: "
        + ("met" if ok_first else "NOT MET"),
        f"daily runs: at most {_kb(worst)} (mean {_kb(int(mean))}), budget "
        f"{_kb(DAILY_BUDGET)}: " + ("met" if ok_daily else "NOT MET"),
        f"daily runs: at most {most_writes} write requests to the history branch, budget "
        f"{DAILY_WRITES_BUDGET}: " + ("met" if ok_writes else "NOT MET"),
        f"branch after {len(results)} runs: {_kb(total)} of git objects",
        "every run exited 0" if all(r.returncode == 0 for r in results) else "A RUN FAILED",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return ok_first and ok_daily and ok_writes and all(r.returncode == 0 for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="consecutive daily runs")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo data")
    parser.add_argument("--files", action="store_true", help="list every new blob of a run")
    args = parser.parse_args()
    results = run_days(args.runs, args.seed, args.files)
    return 0 if _print_budget(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
