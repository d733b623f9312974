"""One run of the action: inputs → collection → metrics → publishing → outputs.

``main`` is the only impure shell: it reads the environment and the clock and builds the real
clients; ``run`` receives all of them as arguments.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import requests
from github import GithubException

from .gh.client import GitHubClients, GraphQLError, connect
from .gh.collect import CollectionPlan, collect, expand_repositories
from .inputs import InputError, Inputs, RunnerEnv, RunnerEnvError, env_name
from .metrics.changes import Settings
from .publish import publish
from .report import build_report, outputs, snapshot
from .runner import add_mask, append_summary, group, setup_logging, write_outputs

log = logging.getLogger("ghaction_metrics")


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

    published, problems = publish(inputs, env, clients, report, document)
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
