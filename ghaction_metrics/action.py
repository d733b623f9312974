"""One run of the action: inputs → collection → metrics → publishing → outputs.

``main`` is the only impure shell: it reads the environment and the clock and builds the real
clients; ``run`` receives all of them as arguments.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence, Set
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from github import GithubException

from ghaction_metrics.api.client import (
    GitHubClients,
    GitHubUnreachableError,
    GraphQLError,
    connect,
    github_message,
)
from ghaction_metrics.api.quota import QuotaExhaustedError, RetryPolicy
from ghaction_metrics.collect.baselines import bounds, prune
from ghaction_metrics.collect.copilot_usage import read_usage
from ghaction_metrics.collect.expand import expand_repositories
from ghaction_metrics.collect.parallel import collect
from ghaction_metrics.collect.plan import CollectionPlan
from ghaction_metrics.collect.seal import seal_for
from ghaction_metrics.collect.sync import (
    RepoState,
    cache_files,
    cache_path,
    cached_repositories,
    history_salt,
    legacy_cache_path,
    read_cache,
    stale_cache_files,
)
from ghaction_metrics.collect.visibility import is_private
from ghaction_metrics.inputs.config import InputError, Inputs, RunnerEnv, RunnerEnvError, env_name
from ghaction_metrics.inputs.teams import Teams, TeamsFileError, load_teams
from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.agents import Agents
from ghaction_metrics.metrics.alerts import alerts_output, evaluate
from ghaction_metrics.metrics.backfill import backfill_snapshots, collection_since
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, earliest_needed, outputs, snapshot
from ghaction_metrics.metrics.shards import NoShardRecordsError, aggregate_collection, shard_files
from ghaction_metrics.metrics.trends import EMPTY_HISTORY, History, NewerSnapshotError
from ghaction_metrics.metrics.usage import period_days
from ghaction_metrics.publish.branch_layout import foreign_files, refusal
from ghaction_metrics.publish.history import HistoryError
from ghaction_metrics.publish.history_read import load_history, read_shard_records
from ghaction_metrics.publish.privacy import AllPrivateError, publishable, withheld_warning
from ghaction_metrics.publish.targets import PERMISSIONS_FIX, GitHubSink, Sink, publish
from ghaction_metrics.records import Collection
from ghaction_metrics.wording import counted
from ghaction_metrics.workflow_commands import (
    NOTICE,
    PrivateNames,
    add_mask,
    append_summary,
    group,
    setup_logging,
    write_outputs,
)

log = logging.getLogger("ghaction_metrics")

TOKEN_REFUSED = (
    "Input 'token' was refused by GitHub (401 Bad credentials): it is expired, revoked or "
    "mistyped. Leave the input out to use ${{ github.token }}, or renew the secret it names."
)
# The same for the command line, where the token comes from the environment or --token.
TOKEN_REFUSED_LOCALLY = (
    "The token was refused by GitHub (401 Bad credentials): it is expired, revoked or "
    "mistyped. Set GH_TOKEN (or GITHUB_TOKEN) to a valid token, or pass --token."
)


def main(
    environ: Mapping[str, str],
    stream: TextIO,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sink: Sink | None = None,
    mask: bool = True,
) -> int:
    """The action's run from its environment; the command line (cli.py) calls it too, with a
    folder ``sink`` for a dry run and without the mask command, which only a runner reads."""
    # Mask first, so no later line (ours or a library's) can print the token.
    if mask:
        add_mask(environ.get(env_name("token"), "").strip(), stream)
        add_mask(environ.get(env_name("pseudonym-salt"), "").strip(), stream)
    private_names = PrivateNames()
    # The runner sets GITHUB_ACTIONS; elsewhere (the command line) the log is for a person.
    commands = environ.get("GITHUB_ACTIONS") == "true"
    setup_logging(stream, logging.INFO, workflow_commands=commands).addFilter(private_names)
    try:
        env = RunnerEnv.from_environ(environ)
        inputs = Inputs.from_environ(environ, env.repository)
        inputs.check_dates(clock())
        # The teams file is part of the input: a bad one stops the run before any request.
        teams = load_teams(env.workspace, inputs.teams) if inputs.teams else None
    except (InputError, RunnerEnvError, TeamsFileError) as exc:
        return _fail(str(exc), environ)
    policy = RetryPolicy(max_wait=inputs.max_wait.total_seconds())
    clients = connect(inputs.token, env.api_url, env.graphql_url, policy=policy)
    try:
        return run(inputs, env, clients, clock, sink=sink, private_names=private_names, teams=teams)
    except (GithubException, GraphQLError, GitHubUnreachableError) as exc:
        log.debug("Failure details", exc_info=True)
        if getattr(exc, "status", None) == 401:
            return _fail(TOKEN_REFUSED if commands else TOKEN_REFUSED_LOCALLY, environ)
        return _fail(f"GitHub request failed: {type(exc).__name__}: {exc}", environ)
    except QuotaExhaustedError as exc:
        log.debug("Failure details", exc_info=True)
        return _fail(f"Stopped by GitHub's rate limit: {exc}", environ)


def _fail(message: str, environ: Mapping[str, str]) -> int:
    log.error(message)
    summary = environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if summary:
        append_summary(summary, f"## Engineering metrics\n\n**Error:** {message}\n")
    return 1


def settings_of(inputs: Inputs, salt: str = "") -> Settings:
    """``salt``: the history branch's pseudonym salt, used when the input gives none."""
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
        # Without either, a fresh random one: pseudonyms then change between runs, but a salt
        # anyone can guess would reveal them.
        pseudonym_salt=inputs.pseudonym_salt or salt or secrets.token_hex(16),
        incident_repository=inputs.incident_repository,
        agents=Agents.of(inputs.ai_authors),
    )


def run(
    inputs: Inputs,
    env: RunnerEnv,
    clients: GitHubClients,
    clock: Callable[[], datetime],
    *,
    sink: Sink | None = None,
    private_names: PrivateNames | None = None,
    teams: Teams | None = None,
) -> int:
    now = clock()
    found_private: set[str] = set()  # private repositories collection met, lower case
    # Anonymous with a secret salt: the cache on the branch names nobody (collect/seal.py).
    seal = seal_for(inputs.per_person, inputs.pseudonym_salt)
    publisher = _Publisher(env, clients)
    inputs = _without_writes_from_a_fork(inputs, env)
    window = inputs.window.resolve(now, inputs.timezone)
    log.info(
        "Window %s: %s to %s",
        inputs.window.text,
        window.since.isoformat(),
        window.until.isoformat(),
    )
    try:
        history = _history(inputs, env, clients)
    except (NewerSnapshotError, HistoryUnreadableError) as exc:
        # Stopped before anything is written: an older version must not rewrite newer files,
        # and a branch that could not be read must not be rewritten as new.
        return _fail(str(exc), {"GITHUB_STEP_SUMMARY": str(env.step_summary or "")})
    foreign = foreign_files(history.files) if "history" in inputs.publish else []
    if foreign:
        # Someone else's branch (a Pages site, say): the action writes only branches of its own.
        message = refusal(inputs.history_branch, foreign)
        return _fail(message, {"GITHUB_STEP_SUMMARY": str(env.step_summary or "")})
    # A first run with backfill reaches further back, to compute its weekly snapshots.
    backfill_span = _backfill_span(inputs, first_run=history.first_run)
    plan = collection_plan(inputs, window, now, first_run=history.first_run)
    # The cache lives on the history branch, already listed above: no extra read to find it.
    listing = history.files if history.exists else None
    if inputs.mode != "single" and (
        inputs.deployment_source.startswith(("workflow:", "tags:")) or inputs.incident_repository
    ):
        # Shards hand over the cached records only, and workflow runs, tags and another
        # repository's incidents are never cached (collect/sync.py).
        return _fail(
            f"mode {inputs.mode} supports the deployments, releases, merges and auto deployment "
            "sources with each repository's own incidents; use mode single for the others.",
            {"GITHUB_STEP_SUMMARY": str(env.step_summary or "")},
        )
    if inputs.mode == "aggregate":
        try:
            records = read_shard_records(clients, env.repository, listing, inputs.report_id, seal)
            collection = aggregate_collection(
                records,
                inputs.report_id,
                plan.settings_key,
                now,
                graphql_points=clients.cost.points,
                requests=clients.cost.queries,
            )
        except NoShardRecordsError as exc:
            return _fail(str(exc), {"GITHUB_STEP_SUMMARY": str(env.step_summary or "")})
        cache: dict[str, bytes] = {}  # the shards own the records; nothing to rewrite
    else:
        hide = _private_log_hider(inputs, env, publisher, private_names)

        def met_private(name: str) -> None:
            found_private.add(name.lower())
            if hide is not None:
                hide(name)

        names = expand_repositories(clients, inputs.repositories, on_private=met_private)
        outcome = collect(
            clients,
            names,
            plan,
            now=now,
            caches=lambda name: read_cache(
                clients, env.repository, listing, inputs.report_id, name, seal
            ),
            on_private=met_private,
            has_cache=lambda name: bool(
                {cache_path(inputs.report_id, name), legacy_cache_path(inputs.report_id, name)}
                & set(listing or {})
            ),
        )
        collection = outcome.collection
        withheld = found_private
        if withheld and (inputs.allow_private_data or publisher.private(collection)):
            withheld = set()
        unmeasured = _nothing_measured(collection, outcome.states, withheld)
        if unmeasured:
            return _fail(unmeasured, {"GITHUB_STEP_SUMMARY": str(env.step_summary or "")})
        if inputs.mode == "shard":
            states = outcome.states
            if not inputs.allow_private_data and not publisher.private(collection):
                # The same rule as for a report: the branch is as readable as the repository.
                states = {name: s for name, s in states.items() if not s.info.private}
            files = shard_files(states, inputs.report_id, seal)
            stale = stale_cache_files(listing or {}, inputs.report_id, files)
            return _shard(inputs, env, clients, sink, files, stale, collection.partial)
        warm_plan = collection_plan(inputs, window, now, first_run=False)
        cache = {
            path: data
            for name, state in outcome.states.items()
            # A private repository's records stay off another repository's branch.
            if not state.info.private or name.lower() == env.repository.lower()
            for path, data in cache_files(
                inputs.report_id, _for_next_run(state, warm_plan), seal
            ).items()
        }
    try:
        allowed = publishable(
            collection,
            publisher.private(collection),
            inputs.allow_private_data,
            found_private,
        )
    except AllPrivateError as exc:
        return _fail(str(exc), {"GITHUB_STEP_SUMMARY": str(env.step_summary or "")})
    if allowed.withheld:
        log.warning(withheld_warning(allowed.withheld))
    collection = allowed.collection
    log.info(
        "Collected %s with %s (%s)",
        counted(len(collection.repositories), "repository", "repositories"),
        counted(collection.requests, "GraphQL query", "GraphQL queries"),
        counted(collection.graphql_points, "point"),
    )
    salt = ""
    if inputs.per_person == "anonymous" and not inputs.pseudonym_salt:
        if "history" in inputs.publish:
            salt, salt_file = history_salt(clients, env.repository, listing, inputs.report_id)
            cache = {**cache, **salt_file}
        else:
            log.warning("per-person anonymous without history: pseudonyms change every run")
    settings = settings_of(inputs, salt)
    usage = None
    if inputs.copilot_metrics:
        with group(f"Reading the Copilot usage reports of {inputs.copilot_metrics}"):
            usage = read_usage(clients, inputs.copilot_metrics, period_days(window))
    report = build_report(
        collection,
        settings,
        window,
        inputs.compare_to,
        now,
        inputs.report_id,
        teams=teams,
        usage=usage,
    )
    document = snapshot(report, env.run_id, env.run_attempt)
    report_json = _write_report_json(env.workspace, inputs.report_id, document)

    backfill = backfill_snapshots(
        collection,
        settings,
        window,
        backfill_span,
        inputs.report_id,
        env.run_id,
        env.run_attempt,
    )
    if backfill:
        log.info(
            "First run: %s backfilled for the trends", counted(len(backfill), "weekly snapshot")
        )
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
        sink=sink,
        extra_deletions=stale_cache_files(listing or {}, inputs.report_id, cache),
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
        log.error("%s fired and fail-on-alert is true", counted(len(fired), "alert rule"))
        return 1
    return 1 if problems else 0


def _nothing_measured(
    collection: Collection, complete: Mapping[str, object], withheld: Set[str] = frozenset()
) -> str | None:
    """Why no repository was measured, or None when one was.

    A repository counts when it was read whole, or cut short after some of its records were
    read: one cut before anything was read measured nothing, and a report of its zeros
    would pass for a quiet month.
    """
    # Private repositories stay unnamed where this repository's readers would see them.
    reasons = [
        f"{s.full_name}: {s.reason}"
        for s in collection.skipped
        if s.full_name.lower() not in withheld
    ]
    hidden = sum(1 for s in collection.skipped if s.full_name.lower() in withheld)
    if hidden:
        reasons.append(
            f"{counted(hidden, 'private repository', 'private repositories')} (names withheld)"
        )
    for repo in collection.repositories:
        records = (
            repo.pull_requests, repo.deployments, repo.releases, repo.incidents, repo.commits,
            repo.workflow_runs, repo.tags,
        )  # fmt: skip
        if repo.info.full_name in complete or any(records):
            return None
        reasons += list(repo.notes) or [f"{repo.info.full_name}: nothing read"]
    listed = "; ".join(reasons) or "the repositories input named none"
    return f"No repository was measured, so nothing is published: {listed}."


def _shard(
    inputs: Inputs,
    env: RunnerEnv,
    clients: GitHubClients,
    sink: Sink | None,
    files: Mapping[str, bytes],
    stale: Sequence[str],
    partial: bool,
) -> int:
    """Commit a shard's records for the aggregate run; no report, issue or snapshot."""
    problems: list[str] = []
    sha = ""
    names = cached_repositories({path: "" for path in files}, inputs.report_id)
    if files:
        target = sink if sink is not None else GitHubSink(clients, env.repository)
        message = f"metrics: {inputs.report_id} records of {len(names)} repositories"
        message += f", run {env.run_id}"
        with group("Committing this shard's records to the history branch"):
            try:
                sha = target.commit(inputs.history_branch, files, message, stale)
            except HistoryError as exc:
                problems.append(f"The shard's records were not committed: {exc}. {PERMISSIONS_FIX}")
    if partial:
        # The repositories cut short keep their previous records (or none): the aggregate
        # would show them out of date, so the shard job fails to make that visible.
        problems.append("The collection was cut short; the aggregate misses part of this shard.")
    shard = counted(len(names), "repository", "repositories")
    log.info("Shard: records of %s committed as %s", shard, sha)
    if "summary" in inputs.publish and env.step_summary is not None:
        lines = ["## Engineering metrics (shard)", "", "Records committed for the aggregate run:"]
        lines += [f"- {name}" for name in names]
        lines += [f"\n> [!CAUTION]\n> {problem.splitlines()[0]}" for problem in problems]
        append_summary(env.step_summary, "\n".join(lines) + "\n")
    if env.output is not None:
        write_outputs(env.output, {"history-sha": sha, "partial": "true" if partial else "false"})
    for problem in problems:
        log.error(problem)
    return 1 if problems else 0


def _for_next_run(state: RepoState, plan: CollectionPlan) -> RepoState:
    """The state as the cache keeps it: only what a warm run of ``plan`` needs. A first run
    with backfill reaches weeks further back; the cache on the branch, which everyone
    clones, need not keep those records for the next run to drop."""
    trimmed = dataclasses.replace(state)  # prune replaces the record maps, never edits them
    prune(
        trimmed,
        {kind: max(at, state.coverage.get(kind, at)) for kind, at in bounds(state, plan).items()},
    )
    return trimmed


def _without_writes_from_a_fork(inputs: Inputs, env: RunnerEnv) -> Inputs:
    """A fork's pull request gets a read-only token: skip the writes instead of failing them."""
    writes = inputs.publish & {"issue", "history"}
    if not env.fork_pull_request or not writes:
        return inputs
    log.log(
        NOTICE,
        "This run is a pull_request event from a fork, where GitHub gives a read-only token: "
        f"{' and '.join(sorted(writes))} not published (the job summary still is). Run the "
        "metrics on schedule or workflow_dispatch to publish them.",
    )
    return dataclasses.replace(inputs, publish=inputs.publish - writes)


def _backfill_span(inputs: Inputs, *, first_run: bool) -> timedelta | None:
    """Weeks of snapshots a first run computes for the trends (none without history)."""
    return inputs.backfill if "history" in inputs.publish and first_run else None


def collection_plan(
    inputs: Inputs, window: Window, now: datetime, *, first_run: bool
) -> CollectionPlan:
    """What to collect for these inputs: back to the earliest period the report compares with,
    or on a first run with ``backfill``, to the first backfilled week."""
    backfill_span = _backfill_span(inputs, first_run=first_run)
    return CollectionPlan(
        since=min(
            earliest_needed(window, inputs.compare_to, inputs.timezone, now),
            collection_since(window, backfill_span, first_run=True),
        ),
        until=window.until,
        production_environments=inputs.deployment_environments,
        incident_labels=inputs.incident_labels,
        incident_window=inputs.incident_window,
        deployment_source=inputs.deployment_source,
        incident_repository=inputs.incident_repository,
        bug_labels=inputs.bug_labels,
    )


class _Publisher:
    """The publishing repository's visibility: from the collection when it is measured, else
    asked of the API, once a run, and only when a private repository makes it matter."""

    def __init__(self, env: RunnerEnv, clients: GitHubClients) -> None:
        self._env = env
        self._clients = clients
        self._lock = threading.Lock()  # collection threads may ask at the same time
        self._answer: bool | None = None

    def private(self, collection: Collection | None = None) -> bool:
        home = self._env.repository.lower()
        for repo in collection.repositories if collection is not None else ():
            if repo.info.full_name.lower() == home:
                return repo.info.private
        with self._lock:
            if self._answer is None:
                self._answer = is_private(self._clients, self._env.repository) is True
            return self._answer


def _private_log_hider(
    inputs: Inputs, env: RunnerEnv, publisher: _Publisher, names: PrivateNames | None
) -> Callable[[str], None] | None:
    """What to do when collection meets a private repository: keep its lines out of the log
    unless this repository may show its data. Asks for the publisher's visibility only then,
    so runs over public repositories spend no request on it."""
    if names is None or inputs.allow_private_data:
        return None

    def hide(name: str) -> None:
        if name.lower() == env.repository.lower():
            return  # its own log: people who read it can read the repository
        if not publisher.private():
            names.add(name)

    return hide


class HistoryUnreadableError(RuntimeError):
    """The history branch exists but could not be read: writing to it would lose data."""


def _failure(exc: Exception) -> str:
    """What GitHub answered, for a message: the status and GitHub's words, or what failed."""
    if isinstance(exc, GithubException):
        return f"HTTP {exc.status}: {github_message(exc) or 'no message'}"
    return str(exc) or type(exc).__name__


def _history(inputs: Inputs, env: RunnerEnv, clients: GitHubClients) -> History:
    """The history branch as it was before this run writes anything (trends, first run)."""
    if not inputs.publish:
        return EMPTY_HISTORY
    with group("Reading the history branch"):
        try:
            history = load_history(clients, env.repository, inputs.history_branch, inputs.report_id)
        except (GithubException, GitHubUnreachableError, QuotaExhaustedError) as exc:
            if getattr(exc, "status", None) == 401:  # a bad token: nothing else will work
                raise
            # Only a missing branch (404, handled below) is a first run. Taken for one, an
            # unreadable branch would get a new pseudonym salt, a second backfill and its
            # exports rewritten over it, past the guard against newer snapshots.
            reason = _failure(exc)
            if "history" in inputs.publish:
                raise HistoryUnreadableError(
                    f"Could not read the history branch {inputs.history_branch} "
                    f"({reason}), so nothing was published: writing to it "
                    "unread could overwrite its pseudonym salt, backfill and trends as if this "
                    "were a first run. Re-run the workflow; if it keeps failing, check that "
                    "the workflow grants contents: write and that GitHub's API is available."
                ) from exc
            log.warning(
                "Could not read the history branch %s (%s); trends start from this run, and "
                "nothing is written to the branch (publish has no history).",
                inputs.history_branch,
                reason,
            )
            return EMPTY_HISTORY
    log.info(
        "History branch %s: %s of %s",
        inputs.history_branch,
        counted(len(history.snapshots), "snapshot"),
        inputs.report_id,
    )
    return history


def _write_report_json(workspace: Path, report_id: str, document: dict[str, object]) -> str:
    relative = Path(".ghaction-metrics") / report_id / "report.json"
    target = workspace / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return relative.as_posix()
