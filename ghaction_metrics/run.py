"""One run of the action: inputs → collection → metrics → publishing → outputs.

``main`` is the only impure shell: it reads the environment and the clock and builds the real
clients; ``run`` receives all of them as arguments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import requests
from github import GithubException

from .gh.client import GitHubClients, GraphQLError, connect
from .gh.collect import CollectionPlan, collect, expand_repositories
from .gh.dashboard import DashboardError, publish_dashboard
from .gh.history import HistoryError, commit_files, read_tree
from .inputs import InputError, Inputs, RunnerEnv, RunnerEnvError, env_name
from .metrics.changes import Settings
from .render import render
from .report import Report, build_report, outputs, snapshot
from .runner import add_mask, append_summary, group, setup_logging, write_outputs

log = logging.getLogger("ghaction_metrics")

PERMISSIONS_FIX = (
    "Add to the workflow:\n"
    "permissions:\n"
    "  contents: write\n"
    "  issues: write\n"
    "  pull-requests: read\n"
    "  deployments: read\n"
    "  actions: read"
)


@dataclass(frozen=True)
class Published:
    history_sha: str = ""
    snapshot_path: str = ""
    issue_url: str = ""


def main(environ: Mapping[str, str], stream: TextIO) -> int:
    # Mask first, so no later line (ours or a library's) can print the token.
    add_mask(environ.get(env_name("token"), "").strip(), stream)
    setup_logging(stream, logging.INFO)
    try:
        env = RunnerEnv.from_environ(environ)
        inputs = Inputs.from_environ(environ, env.repository)
    except (InputError, RunnerEnvError) as exc:
        return _fail(str(exc), environ)
    clients = connect(inputs.token, env.api_url, env.graphql_url)
    try:
        return run(inputs, env, clients, lambda: datetime.now(UTC))
    except (GithubException, GraphQLError, requests.RequestException) as exc:
        log.debug("Failure details", exc_info=True)
        return _fail(f"GitHub request failed: {type(exc).__name__}: {exc}", environ)


def _fail(message: str, environ: Mapping[str, str]) -> int:
    log.error(message)
    summary = environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if summary:
        append_summary(summary, f"## Engineering metrics\n\n**Error:** {message}\n")
    return 1


def settings_of(inputs: Inputs) -> Settings:
    return Settings(
        deployment_source=inputs.deployment_source,
        production_environments=inputs.deployment_environments,
        incident_window=inputs.incident_window,
        hotfix_labels=inputs.hotfix_labels,
        include_bots=inputs.include_bots,
        exclude_authors=inputs.exclude_authors,
        base_branches=inputs.base_branches,
    )


def run(
    inputs: Inputs, env: RunnerEnv, clients: GitHubClients, clock: Callable[[], datetime]
) -> int:
    now = clock()
    window = inputs.window.resolve(now, inputs.timezone)
    log.info(
        "Window %s: %s to %s",
        inputs.window.text,
        window.since.isoformat(),
        window.until.isoformat(),
    )
    plan = CollectionPlan(
        since=window.previous().since,
        until=window.until,
        production_environments=inputs.deployment_environments,
        incident_labels=inputs.incident_labels,
        incident_window=inputs.incident_window,
        deployment_source=inputs.deployment_source,
    )
    with group("Collecting"):
        names = expand_repositories(clients, inputs.repositories)
        collection = collect(clients, names, plan)
    log.info(
        "Collected %d repositories with %d GraphQL queries (%d points)",
        len(collection.repositories),
        collection.requests,
        collection.graphql_points,
    )
    report = build_report(
        collection, settings_of(inputs), window, inputs.compare_to, now, inputs.report_id
    )
    document = snapshot(report, env.run_id, env.run_attempt)
    report_json = _write_report_json(env.workspace, inputs.report_id, document)

    published, problems = _publish(inputs, env, clients, report, document)
    values = outputs(report)
    values.update(
        {
            "report-json": report_json,
            "issue-url": published.issue_url,
            "history-sha": published.history_sha,
            "alerts": "[]",
        }
    )
    if env.output is not None:
        write_outputs(env.output, values)
    for problem in problems:
        log.error(problem)
    return 1 if problems else 0


def _write_report_json(workspace: Path, report_id: str, document: dict[str, object]) -> str:
    relative = Path(".ghaction-metrics") / report_id / "report.json"
    target = workspace / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return relative.as_posix()


def _links(env: RunnerEnv, inputs: Inputs, published: Published) -> dict[str, str | None]:
    base = f"{env.server_url}/{env.repository}"
    history = f"{base}/tree/{inputs.history_branch}/{inputs.report_id}"
    snapshot_link = (
        f"{base}/blob/{published.history_sha}/{published.snapshot_path}"
        if published.history_sha
        else None
    )
    return {
        "history": history if "history" in inputs.publish else None,
        "snapshot": snapshot_link,
        "issue": published.issue_url or None,
    }


def snapshot_path(report_id: str, report: Report, run_id: str) -> str:
    stamp = report.generated_at.strftime("%Y-%m-%dT%H%M%SZ")
    return f"{report_id}/snapshots/{stamp}-run{run_id}.json"


def _publish(
    inputs: Inputs,
    env: RunnerEnv,
    clients: GitHubClients,
    report: Report,
    document: dict[str, object],
) -> tuple[Published, list[str]]:
    """Publish in order history → issue → summary; a failure stops none of the others."""
    problems: list[str] = []
    published = Published()
    if "history" in inputs.publish:
        with group("Committing the snapshot to the history branch"):
            try:
                published = _publish_history(inputs, env, clients, report, document)
            except HistoryError as exc:
                problems.append(f"The history branch was not updated: {exc}. {PERMISSIONS_FIX}")
    links = _links(env, inputs, published)
    if "issue" in inputs.publish:
        with group("Updating the dashboard issue"):
            try:
                result = publish_dashboard(
                    clients,
                    env.repository,
                    inputs.report_id,
                    inputs.issue_title,
                    render("issue_header.md.j2", report, links),
                    render("comment.md.j2", report, links),
                )
                for notice in result.notices:
                    log.log(25, notice)
                published = Published(
                    published.history_sha, published.snapshot_path, result.issue_url
                )
                links = _links(env, inputs, published)
            except DashboardError as exc:
                problems.append(f"{exc} {PERMISSIONS_FIX}")
    if "summary" in inputs.publish and env.step_summary is not None:
        markdown = render("summary.md.j2", report, links)
        for problem in problems:
            markdown += f"\n> [!CAUTION]\n> {problem.splitlines()[0]}\n"
        append_summary(env.step_summary, markdown)
    return published, problems


def _publish_history(
    inputs: Inputs,
    env: RunnerEnv,
    clients: GitHubClients,
    report: Report,
    document: dict[str, object],
) -> Published:
    tree = read_tree(clients, env.repository, inputs.history_branch)
    path = snapshot_path(inputs.report_id, report, env.run_id)
    # A re-run of the same run id replaces its own snapshot and nobody else's.
    own_suffix = f"-run{env.run_id}.json"
    folder = f"{inputs.report_id}/snapshots/"
    stale = [
        existing
        for existing in (tree.files if tree else {})
        if existing.startswith(folder) and existing.endswith(own_suffix) and existing != path
    ]
    body = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
    result = commit_files(
        clients,
        env.repository,
        inputs.history_branch,
        {path: body},
        f"metrics: {inputs.report_id} snapshot of run {env.run_id}",
        deletions=stale,
    )
    log.info("Snapshot %s committed as %s", path, result.sha)
    return Published(history_sha=result.sha, snapshot_path=path)
