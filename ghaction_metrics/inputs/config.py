"""The action's inputs and the runner's environment, parsed once into frozen dataclasses.

The runner passes each input as ``INPUT_<NAME>`` (upper-cased, spaces to ``_``, hyphens kept)
and always passes every declared input, empty when it has no default. Nothing else in the
project reads the environment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ghaction_metrics.inputs.windows import (
    WindowSpec,
    check_date,
    in_the_future,
    parse_duration,
    parse_window,
)
from ghaction_metrics.metrics.alerts import AlertRule, AlertRuleError, parse_rules
from ghaction_metrics.records import normalize_login

_T = TypeVar("_T")
PUBLISH_TARGETS = ("summary", "issue", "history")
DEPLOYMENT_SOURCES = ("auto", "deployments", "releases", "merges")
# single: collect and publish; shard: collect and commit the records only (shards.py);
# aggregate: publish from every shard's records on the history branch, collecting nothing.
MODES = ("single", "shard", "aggregate")
_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?:[A-Za-z0-9._-]{1,100}|\*)$")
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_ORGANISATION = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_EMAIL = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")
# A trailer name or login: letters, digits and the punctuation names carry, no markup.
_AGENT_NAME = re.compile(r"^\w[\w .'()\[\]-]*$")
_REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_BRANCH_BAD = re.compile(r"(^[/.-])|(\.\.)|([\x00-\x20~^:?*\[\\\x7f])|(/$)|(\.lock$)|(@\{)|(//)")


class InputError(ValueError):
    """A bad input value. The message names the input, the value and what is allowed."""

    def __init__(self, name: str, value: str, allowed: str) -> None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(f"Input '{name}' has an invalid value {shown!r}: {allowed}.")
        self.name = name
        self.value = value
        self.allowed = allowed


def env_name(input_name: str) -> str:
    """The variable a Docker action receives an input in (runner's AddInputsToEnvironment)."""
    return "INPUT_" + input_name.replace(" ", "_").upper()


def _split(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]


@dataclass(frozen=True)
class Inputs:
    token: str = field(repr=False)
    repositories: tuple[str, ...]
    window: WindowSpec
    timezone: ZoneInfo
    compare_to: str  # "previous", "none" or a date YYYY-MM-DD
    base_branches: tuple[str, ...]  # empty: the default branch; ("*",): all
    deployment_source: str
    deployment_environments: tuple[str, ...]  # lower-cased
    incident_labels: tuple[str, ...]
    incident_window: timedelta
    hotfix_labels: tuple[str, ...]
    exclude_authors: frozenset[str]  # normalized logins, lower-cased
    include_bots: bool
    publish: frozenset[str]
    report_id: str
    history_branch: str
    issue_title: str
    alerts: tuple[AlertRule, ...]
    fail_on_alert: bool
    backfill: timedelta | None  # None: off
    history_retention: timedelta | None  # None: keep every snapshot
    per_person: str = "true"  # true, false or anonymous
    pseudonym_salt: str = field(default="", repr=False)  # empty: the history branch's salt
    incident_repository: str | None = None  # None: each repository's own incidents
    max_wait: timedelta = timedelta(minutes=10)  # longest wait for a rate-limit reset
    allow_private_data: bool = False  # publish private repositories' data where all can read
    mode: str = "single"  # single, shard or aggregate (MODES)
    # Coding-agent identities named in ``ai-authors`` on top of the documented defaults
    # (logins, commit e-mails or Co-authored-by names), as written.
    ai_authors: tuple[str, ...] = ()
    bug_labels: tuple[str, ...] = ("bug",)
    copilot_metrics: str | None = None  # organisation whose Copilot usage reports to read
    teams: str | None = None  # path of the teams file, relative to the workspace

    @staticmethod
    def from_environ(environ: Mapping[str, str], current_repository: str) -> Inputs:
        """Parse every input; raise InputError on the first bad one."""

        def get(name: str) -> str:
            return environ.get(env_name(name), "").strip()

        token = get("token")
        if not token:
            raise InputError(
                "token",
                "",
                "a token is required; the default is ${{ github.token }}, so an empty value "
                "usually means `token: ${{ secrets.SOMETHING }}` names a secret that is not set",
            )
        return Inputs(
            token=token,
            repositories=_repositories(get("repositories"), current_repository),
            window=_parsed("window", get("window") or "30d", parse_window),
            timezone=_timezone(get("timezone") or "UTC"),
            compare_to=_compare_to(get("compare-to") or "previous"),
            base_branches=_branches(get("base-branches")),
            deployment_source=_deployment_source(get("deployment-source") or "auto"),
            deployment_environments=tuple(
                name.lower() for name in _nonempty("deployment-environment", get, "production")
            ),
            incident_labels=tuple(_nonempty("incident-labels", get, "incident")),
            incident_window=_parsed(
                "incident-window", get("incident-window") or "7d", _incident_window
            ),
            hotfix_labels=tuple(_nonempty("hotfix-labels", get, "hotfix")),
            exclude_authors=_logins(get("exclude-authors")),
            include_bots=_boolean("include-bots", get("include-bots") or "false"),
            publish=_publish(get("publish") or ",".join(PUBLISH_TARGETS)),
            report_id=_matching(
                "report-id",
                get("report-id") or "default",
                _REPORT_ID,
                "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            ),
            history_branch=_branch(get("history-branch") or "metrics"),
            issue_title=_title(get("issue-title") or "Engineering metrics"),
            alerts=_alerts(get("alerts")),
            fail_on_alert=_boolean("fail-on-alert", get("fail-on-alert") or "false"),
            backfill=_span("backfill", get("backfill") or "12w", allow_zero=True),
            history_retention=_span("history-retention", get("history-retention"), False),
            per_person=_choice(
                "per-person", get("per-person") or "true", ("true", "false", "anonymous")
            ),
            pseudonym_salt=_salt(get("pseudonym-salt")),
            incident_repository=_incident_repository(get("incident-repository")),
            max_wait=_max_wait(get("max-wait") or "10m"),
            allow_private_data=_boolean("allow-private-data", get("allow-private-data") or "false"),
            mode=_mode(get("mode") or "single", get("publish")),
            ai_authors=_ai_authors(get("ai-authors")),
            bug_labels=tuple(_nonempty("bug-labels", get, "bug")),
            copilot_metrics=_organisation(get("copilot-metrics")),
            teams=_teams_path(get("teams")),
        )

    def check_dates(self, now: datetime) -> None:
        """Raise InputError for dates that only the run's clock shows to be wrong: a window
        or a comparison date that has not begun yet has nothing to measure."""
        first = self.window.first
        if first is not None and in_the_future(first, now, self.timezone):
            raise InputError(
                "window", self.window.text, "the window lies wholly in the future: use past dates"
            )
        if self.compare_to not in ("previous", "none") and in_the_future(
            date.fromisoformat(self.compare_to), now, self.timezone
        ):
            raise InputError(
                "compare-to",
                self.compare_to,
                "the date is in the future, so nothing after it can be compared yet",
            )


def _parsed(name: str, value: str, parse: Callable[[str], _T]) -> _T:
    try:
        return parse(value)
    except ValueError as exc:
        raise InputError(name, value, str(exc)) from None


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    lowered = value.lower()
    if lowered in allowed:
        return lowered
    raise InputError(name, value, "use one of " + ", ".join(allowed))


def _deployment_source(value: str) -> str:
    """``workflow:<file or name>`` and ``tags:<glob>`` keep their argument as written."""
    prefix, colon, argument = value.partition(":")
    if colon and prefix.strip().lower() in ("workflow", "tags"):
        if not argument.strip():
            raise InputError(
                "deployment-source",
                value,
                f"{prefix.strip().lower()}: needs "
                + ("a workflow file or name" if prefix.strip().lower() == "workflow" else "a glob")
                + ", e.g. workflow:deploy.yml or tags:v*",
            )
        return f"{prefix.strip().lower()}:{argument.strip()}"
    allowed = (*DEPLOYMENT_SOURCES, "workflow:<file or name>", "tags:<glob>")
    return _choice("deployment-source", value, allowed)


def _compare_to(value: str) -> str:
    lowered = value.lower()
    if lowered in ("previous", "none"):
        return lowered
    if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        try:
            check_date(date.fromisoformat(value))
        except ValueError as exc:
            raise InputError("compare-to", value, str(exc)) from None
        return value
    raise InputError(
        "compare-to", value, "use previous, none, or a date YYYY-MM-DD to compare before/after"
    )


def _mode(value: str, publish: str) -> str:
    mode = _choice("mode", value, MODES)
    # Shards hand their records over through the history branch, and the aggregate reads them
    # from there: without it neither has anything to do.
    if mode != "single" and publish and "history" not in _publish(publish):
        raise InputError(
            "mode", value, f"mode {mode} works through the history branch: add history to publish"
        )
    return mode


def _incident_repository(value: str) -> str | None:
    if not value:
        return None
    if "*" in value or not _REPO.match(value):
        raise InputError(
            "incident-repository", value, "use owner/name of the repository holding incidents"
        )
    return value


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise InputError(name, value, "use true or false")


def _timezone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            "timezone", value, "use an IANA time zone name such as UTC or Europe/Berlin"
        ) from None


def _repositories(value: str, current: str) -> tuple[str, ...]:
    names = _split(value) or [current]
    # GitHub's names are case-insensitive: the first spelling of each repository is kept.
    seen: dict[str, str] = {}
    for name in names:
        if not _REPO.match(name) or name.split("/", 1)[1] in (".", ".."):
            raise InputError(
                "repositories", name, "use owner/name or owner/*, separated by commas or new lines"
            )
        seen.setdefault(name.lower(), name)
    return tuple(seen.values())


def _incident_window(value: str) -> timedelta:
    # An incident a year after a deployment says nothing about that deployment.
    return parse_duration(value, timedelta(weeks=52), "52w (a year)")


def _branches(value: str) -> tuple[str, ...]:
    names = _split(value)
    if names == ["*"]:
        return ("*",)
    for name in names:
        if name == "*" or _BRANCH_BAD.search(name):
            raise InputError(
                "base-branches", value, "use branch names separated by commas, or * for all"
            )
    return tuple(names)


def _nonempty(name: str, get: Callable[[str], str], default: str) -> list[str]:
    raw = get(name) or default
    values = _split(raw)
    if not values:
        raise InputError(name, raw, "give at least one name, separated by commas")
    return values


def _logins(value: str) -> frozenset[str]:
    logins = _split(value)
    for login in logins:
        if not _LOGIN.match(login.lstrip("@")):
            raise InputError(
                "exclude-authors", login, "use GitHub logins separated by commas or new lines"
            )
    return frozenset(normalize_login(login.lstrip("@")).lower() for login in logins)


def _ai_authors(value: str) -> tuple[str, ...]:
    identities = _split(value)
    for identity in identities:
        pattern = _EMAIL if "@" in identity else _AGENT_NAME
        if len(identity) > 100 or not pattern.match(identity):
            raise InputError(
                "ai-authors",
                identity,
                "use coding-agent logins, commit e-mails or Co-authored-by names of at most "
                "100 characters, separated by commas or new lines",
            )
    return tuple(identities)


def _organisation(value: str) -> str | None:
    if not value:
        return None
    if not _ORGANISATION.match(value):
        raise InputError(
            "copilot-metrics",
            value,
            "use the organisation's login (such as acme), or leave it empty",
        )
    return value


def _teams_path(value: str) -> str | None:
    """A path inside the workspace (the checked-out repository running the workflow)."""
    if not value:
        return None
    parts = value.replace("\\", "/").split("/")
    if (
        value.startswith("/")
        or ".." in parts
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
        or not value.lower().endswith((".yml", ".yaml"))
    ):
        raise InputError(
            "teams",
            value,
            "use the relative path of a .yml or .yaml file in the repository running the "
            "workflow, such as .github/teams.yml",
        )
    return value


def _publish(value: str) -> frozenset[str]:
    parts = [part.lower() for part in _split(value)]
    if parts == ["none"]:
        return frozenset()
    unknown = [part for part in parts if part not in PUBLISH_TARGETS]
    if unknown or not parts:
        raise InputError(
            "publish", value, "use any of summary, issue, history (comma-separated), or none"
        )
    return frozenset(parts)


def _matching(name: str, value: str, pattern: re.Pattern[str], allowed: str) -> str:
    if not pattern.match(value):
        raise InputError(name, value, allowed)
    return value


def _branch(value: str) -> str:
    if _BRANCH_BAD.search(value) or value.startswith("refs/") or len(value) > 200:
        raise InputError("history-branch", value, "use a plain branch name such as metrics")
    return value


def _salt(value: str) -> str:
    # Anyone can hash a list of known logins with every short salt: the salt must be a secret
    # too long to guess, or the pseudonyms can be reversed.
    if value and len(value) < 16:
        raise InputError(
            "pseudonym-salt",
            "*" * len(value),
            "use a secret of at least 16 characters (for example the output of "
            "`openssl rand -hex 16`, stored as a repository secret), or leave it empty",
        )
    return value


def _title(value: str) -> str:
    # Control characters (a newline included) have no place in a one-line title.
    if len(value) > 256 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError("issue-title", value, "use one line of at most 256 characters")
    return value


def _alerts(value: str) -> tuple[AlertRule, ...]:
    try:
        return parse_rules(value)
    except AlertRuleError as exc:
        raise InputError("alerts", value, str(exc)) from None


_SPAN = re.compile(r"^(\d{1,4})([dw])$")


def _span(name: str, value: str, allow_zero: bool) -> timedelta | None:
    """``Nd`` or ``Nw``; empty (and ``0`` where allowed) means none."""
    if not value or (allow_zero and value == "0"):
        return None
    match = _SPAN.match(value.lower())
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1) if match else 0
    if not match or days < 1 or days > 3660:
        off = " or 0 to turn it off" if allow_zero else ", or leave it empty to keep everything"
        raise InputError(name, value, f"use Nd (days) or Nw (weeks) up to 3660 days{off}")
    return timedelta(days=days)


_WAIT = re.compile(r"^(\d{1,4})([smh])$")


def _max_wait(value: str) -> timedelta:
    """``Ns``, ``Nm`` or ``Nh``, at most 6 hours; ``0`` never waits for a reset."""
    if value == "0":
        return timedelta(0)
    match = _WAIT.match(value.lower())
    unit = {"s": 1, "m": 60, "h": 3600}
    seconds = int(match.group(1)) * unit[match.group(2)] if match else -1
    if not match or seconds > 6 * 3600:
        raise InputError(
            "max-wait",
            value,
            "use Ns, Nm or Nh (seconds, minutes, hours) up to 6h, for example 10m, "
            "or 0 to never wait for a rate-limit reset",
        )
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class RunnerEnv:
    """What the runner tells a Docker action about where it runs (SPEC §2)."""

    api_url: str
    graphql_url: str
    server_url: str
    repository: str
    event_name: str
    workspace: Path
    step_summary: Path | None
    output: Path | None
    run_id: str
    run_attempt: str
    # A pull_request event from a fork: the token is read-only, so nothing can be published.
    fork_pull_request: bool = False

    @staticmethod
    def from_environ(environ: Mapping[str, str]) -> RunnerEnv:
        def need(name: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise RunnerEnvError(
                    f"The environment variable {name} is not set. This action runs inside "
                    "GitHub Actions, which sets it; to run locally set it by hand."
                )
            return value

        # The api-url input points the run at another server than the runner's own (and the
        # runner's GITHUB_* variables cannot be overridden from a workflow).
        override = environ.get(env_name("api-url"), "").strip().rstrip("/")
        if override and not re.match(r"^https?://[^\s/]+", override):
            raise RunnerEnvError(
                f"Input 'api-url' has an invalid value {override!r}: use an http(s) URL such as "
                "https://HOST/api/v3, or leave it empty."
            )
        api_url = override or need("GITHUB_API_URL").rstrip("/")
        graphql = _graphql_from_api(api_url) if override else ""
        graphql = graphql or environ.get("GITHUB_GRAPHQL_URL", "").strip()
        server = server_url_of(api_url) if override else ""
        server = server or environ.get("GITHUB_SERVER_URL", "").strip().rstrip("/")
        summary = environ.get("GITHUB_STEP_SUMMARY", "").strip()
        output = environ.get("GITHUB_OUTPUT", "").strip()
        run_id = environ.get("GITHUB_RUN_ID", "").strip() or "0"
        if not _RUN_ID.match(run_id):
            # It names files on the history branch and in the output folder.
            raise RunnerEnvError(
                f"The run id {run_id!r} (GITHUB_RUN_ID, or the command line's --run-id) is not "
                "a plain name: use 1 to 64 letters, digits, '-' or '_'."
            )
        return RunnerEnv(
            api_url=api_url,
            graphql_url=graphql or _graphql_from_api(api_url),
            server_url=server or "https://github.com",
            repository=need("GITHUB_REPOSITORY"),
            event_name=environ.get("GITHUB_EVENT_NAME", "").strip(),
            workspace=Path(environ.get("GITHUB_WORKSPACE", "").strip() or "."),
            step_summary=Path(summary) if summary else None,
            output=Path(output) if output else None,
            run_id=run_id,
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT", "").strip() or "1",
            fork_pull_request=_from_fork(environ),
        )


_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RunnerEnvError(RuntimeError):
    """The environment lacks what a GitHub runner always sets for a Docker action."""


def _from_fork(environ: Mapping[str, str]) -> bool:
    """Whether the run is a ``pull_request`` event whose head is in another repository.

    GitHub gives such runs a read-only token and no secrets whatever the workflow asks for.
    An unreadable event file counts as not a fork: the writes then fail with their own notice.
    """
    if environ.get("GITHUB_EVENT_NAME", "").strip() not in ("pull_request", "pull_request_review"):
        return False
    try:
        event = json.loads(Path(environ.get("GITHUB_EVENT_PATH", "").strip()).read_bytes())
        pull = event["pull_request"]
        head = pull["head"]["repo"]
        base = pull["base"]["repo"]
        if not isinstance(head, dict):  # the fork was deleted since
            return True
        return bool(head.get("fork")) or head.get("full_name") != base.get("full_name")
    except (OSError, ValueError, KeyError, TypeError):
        return False


def server_url_of(api_url: str) -> str:
    """https://api.github.com → https://github.com; https://HOST/api/v3 → https://HOST."""
    if api_url == "https://api.github.com":
        return "https://github.com"
    for suffix in ("/api/v3", "/api"):
        if api_url.endswith(suffix):
            return api_url[: -len(suffix)]
    return api_url


def _graphql_from_api(api_url: str) -> str:
    if api_url.endswith("/api/v3"):
        return api_url[: -len("/v3")] + "/graphql"
    return api_url + "/graphql"
