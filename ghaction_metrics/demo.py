"""The offline demo: the action end to end against the built-in GitHub emulator.

``python -m ghaction_metrics.demo [--out DIR]`` generates the demo organisation, serves it on
127.0.0.1, runs ``entrypoint.py`` exactly as a runner would, and writes what the action
published (job summary, dashboard issue and comment, history branch, outputs, log) to DIR.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from .emulator.generate import generate_dataset
from .emulator.harness import run_action, runner_environment, workflow_tokens
from .emulator.server import EmulatorServer
from .emulator.world import Repository

log = logging.getLogger("ghaction_metrics.demo")


def _branch_files(repo: Repository, branch: str) -> dict[str, bytes]:
    """Every file at the tip of ``branch``, read from the emulator's git objects."""
    head = repo.refs.get(f"heads/{branch}")
    if head is None:
        return {}
    tree_sha = repo.commits[head].tree
    files: dict[str, bytes] = {}
    pending = [("", tree_sha)]
    while pending:
        prefix, sha = pending.pop()
        if sha is None:
            continue
        for entry in repo.trees[sha].entries:
            path = f"{prefix}{entry.path}"
            if entry.type == "tree":
                pending.append((f"{path}/", entry.sha))
            else:
                files[path] = repo.blobs[entry.sha].content
    return files


def run_demo(out: Path, seed: int = 7, repositories: str = "acme/*") -> int:
    dataset = generate_dataset(seed=seed, now=datetime.now(UTC).replace(microsecond=0))
    home = dataset.home_repository
    tokens = workflow_tokens(dataset.workflow_login)
    out.mkdir(parents=True, exist_ok=True)
    with EmulatorServer(dataset.world, tokens) as server, tempfile.TemporaryDirectory() as tmp:
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=home,
            workspace=Path(tmp) / "workspace",
            overrides={"repositories": repositories},
        )
        log.info("Emulator at %s serving %s; running the action", server.url, home)
        result = run_action(env)
        requests = server.requests
        with server.lock:
            repo = dataset.world.repositories[home]
            history = _branch_files(repo, "metrics")
            dashboards = [i for i in repo.issues if "ghaction-metrics:dashboard" in i.body]
            report_path = result.outputs.get("report-json")
            report_json = (result.workspace / report_path).read_bytes() if report_path else b""
    (out / "job-summary.md").write_text(result.summary, encoding="utf-8")
    (out / "action-log.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    (out / "outputs.json").write_text(json.dumps(result.outputs, indent=2) + "\n", encoding="utf-8")
    if report_json:
        (out / "report.json").write_bytes(report_json)
    dashboard_dir = out / "dashboard-issue"
    dashboard_dir.mkdir(exist_ok=True)
    for issue in dashboards:
        (dashboard_dir / f"issue-{issue.number}.md").write_text(
            f"# {issue.title}\n\n{issue.body}\n", encoding="utf-8"
        )
        for comment in issue.comments:
            (dashboard_dir / f"issue-{issue.number}-comment-{comment.id}.md").write_text(
                comment.body + "\n", encoding="utf-8"
            )
    for path, content in history.items():
        target = out / "history-branch" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if report_json:
        window = json.loads(report_json)["current"]["window"]
        since = datetime.fromisoformat(window["since"].replace("Z", "+00:00"))
        until = datetime.fromisoformat(window["until"].replace("Z", "+00:00"))
        names = json.loads(report_json)["repositories"]
        truth = dataset.truth.headline(names, since, until)
        (out / "ground-truth.json").write_text(
            json.dumps(asdict(truth), indent=2, default=str) + "\n", encoding="utf-8"
        )
    rest = sum(1 for r in requests if r.kind == "rest")
    graphql = [r for r in requests if r.kind == "graphql"]
    points = sum(r.graphql_cost or 0 for r in graphql)
    lines = [
        f"The action exited with {result.returncode}.",
        f"API requests: {rest} REST, {len(graphql)} GraphQL ({points} points).",
        f"Everything it published is in {out.resolve()}:",
        "  job-summary.md          the job summary (GITHUB_STEP_SUMMARY)",
        "  dashboard-issue/        the dashboard issue body and its report comment",
        "  history-branch/         the files on the 'metrics' branch",
        "  outputs.json            the action outputs (GITHUB_OUTPUT)",
        "  report.json             the snapshot written to the workspace",
        "  ground-truth.json       the demo data's true headline values, for comparison",
        "  action-log.txt          the action's log as the runner would show it",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ghaction_metrics.demo", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo data")
    parser.add_argument("--repositories", default="acme/*", help="the action's repositories input")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run_demo(args.out, args.seed, args.repositories)


if __name__ == "__main__":
    sys.exit(main())
