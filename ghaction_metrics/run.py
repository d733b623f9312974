"""One run of the action: inputs → collection → metrics → publishing → outputs.

``main`` is the only impure shell: it reads the environment and the clock and builds the real
clients; ``run`` receives all of them as arguments.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import requests
from github import GithubException

from .alerts import alerts_output, evaluate
from .backfill import backfill_snapshots, collection_since
from .gh.client import GitHubClients, GraphQLError, connect
from .gh.collect import CollectionPlan, collect, expand_repositories
from .gh.quota import RetryPolicy
from .gh.sync import cache_path, encode_state, read_cache
from .inputs import InputError, Inputs, RunnerEnv, RunnerEnvError, env_name
from .metrics.changes import Settings
from .publish import publish
from .report import build_report, earliest_needed, outputs, snapshot
from .runner import add_mask, append_summary, group, setup_logging, write_outputs
from .trends import EMPTY_HISTORY, History, NewerSnapshotError, load_history

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
    policy = RetryPolicy(max_wait=inputs.max_wait.total_seconds())
    clients = connect(inputs.token, env.api_url, env.graphql_url, policy=policy)
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
        timezone=inputs.timezone,
        per_person=inputs.per_person,
        # Until the history branch keeps a salt, an empty input gets a fresh random one:
        # pseudonyms then change between runs, but a salt anyone can guess would reveal them.
        pseudonym_salt=inputs.pseudonym_salt or secrets.token_hex(16),
        incident_repository=inputs.incident_repository,
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
    try:
        history = _history(inputs, env, clients)
    except NewerSnapshotError as exc:
        log.error(str(exc))
        return 1
    # A first run with backfill reaches further back, to compute its weekly snapshots.
    backfill_span = inputs.backfill if "history" in inputs.publish and history.first_run else None
    plan = CollectionPlan(
        since=min(
            earliest_needed(window, inputs.compare_to, inputs.timezone, now),
            collection_since(window, backfill_span, first_run=True),
        ),
        until=window.until,
        production_environments=inputs.deployment_environments,
        incident_labels=inputs.incident_labels,
        incident_window=inputs.incident_window,
        deployment_source=inputs.deployment_source,
    )
    names = expand_repositories(clients, inputs.repositories)
    # The cache lives on the history branch, already listed above: no extra read to find it.
    listing = history.files if history.exists else None
    outcome = collect(
        clients,
        names,
        plan,
        now=now,
        caches=lambda name: read_cache(clients, env.repository, listing, inputs.report_id, name),
    )
    collection = outcome.collection
    cache = {
        cache_path(inputs.report_id, name): encode_state(state)
        for name, state in outcome.states.items()
        # A private repository's records stay off another repository's branch.
        if not state.info.private or name.lower() == env.repository.lower()
    }
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

    backfill = backfill_snapshots(
        collection,
        settings_of(inputs),
        window,
        backfill_span,
        inputs.report_id,
        env.run_id,
        env.run_attempt,
    )
    if backfill:
        log.info("First run: %d weekly snapshots backfilled for the trends", len(backfill))
    alerts = evaluate(inputs.alerts, report)
    for alert in alerts:
        if alert.fired:
            log.warning("Alert: %s", alert.message, extra={"title": "Engineering metrics alert"})
        elif alert.message:
            log.info("Alert rule %s %s", alert.rule.text, alert.message)

    published, problems = publish(
        inputs,
        env,
        clients,
        report,
        document,
        extra_files=cache,
        history=history,
        alerts=alerts,
        backfill=backfill,
    )
    values = outputs(report)
    values.update(
        {
            "report-json": report_json,
            "issue-url": published.issue_url,
            "history-sha": published.history_sha,
            "alerts": alerts_output(alerts),
        }
    )
    if env.output is not None:
        write_outputs(env.output, values)
    for problem in problems:
        log.error(problem)
    fired = [alert for alert in alerts if alert.fired]
    if fired and inputs.fail_on_alert:
        log.error("%d alert rule(s) fired and fail-on-alert is true", len(fired))
        return 1
    return 1 if problems else 0


def _history(inputs: Inputs, env: RunnerEnv, clients: GitHubClients) -> History:
    """The history branch as it was before this run writes anything (trends, first run)."""
    if not inputs.publish:
        return EMPTY_HISTORY
    with group("Reading the history branch"):
        try:
            history = load_history(clients, env.repository, inputs.history_branch, inputs.report_id)
        except GithubException as exc:
            log.warning(
                "Could not read the history branch %s (HTTP %s); trends start from this run.",
                inputs.history_branch,
                exc.status,
            )
            return EMPTY_HISTORY
    log.info(
        "History branch %s: %d snapshots of %s",
        inputs.history_branch,
        len(history.snapshots),
        inputs.report_id,
    )
    return history


def _write_report_json(workspace: Path, report_id: str, document: dict[str, object]) -> str:
    relative = Path(".ghaction-metrics") / report_id / "report.json"
    target = workspace / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return relative.as_posix()
