"""Input parsing: defaults from action.yml, and a table of bad values with their messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ghaction_metrics.inputs.config import InputError, Inputs, env_name
from ghaction_metrics.inputs.windows import Window, parse_window
from ghaction_metrics_dev.emulator.harness import action_inputs, runner_environment

REPO = "acme/storefront"


def _environ(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return runner_environment(
        api_url="http://127.0.0.1:1/api/v3",
        graphql_url="http://127.0.0.1:1/api/graphql",
        server_url="http://127.0.0.1:1",
        repository=REPO,
        workspace=tmp_path / "ws",
        overrides=overrides,
    )


def test_env_name_keeps_hyphens_like_the_runner() -> None:
    assert env_name("history-branch") == "INPUT_HISTORY-BRANCH"
    assert env_name("report id") == "INPUT_REPORT_ID"


def test_action_yml_defaults_parse_to_the_documented_values(tmp_path: Path) -> None:
    inputs = Inputs.from_environ(_environ(tmp_path), REPO)
    assert inputs.repositories == (REPO,)
    assert inputs.window.days == 30
    assert inputs.compare_to == "previous"
    assert inputs.base_branches == ()
    assert inputs.deployment_source == "auto"
    assert inputs.deployment_environments == ("production",)
    assert inputs.incident_labels == ("incident",)
    assert inputs.incident_window == timedelta(days=7)
    assert inputs.hotfix_labels == ("hotfix",)
    assert inputs.exclude_authors == frozenset()
    assert inputs.include_bots is False
    assert inputs.publish == {"summary", "issue", "history"}
    assert inputs.report_id == "default"
    assert inputs.history_branch == "metrics"
    assert inputs.issue_title == "Engineering metrics"
    assert inputs.alerts == ()
    assert inputs.fail_on_alert is False
    assert inputs.backfill == timedelta(weeks=12)
    assert inputs.history_retention is None
    assert inputs.per_person == "true"
    assert inputs.pseudonym_salt == ""
    assert inputs.incident_repository is None
    assert inputs.ai_authors == ()
    assert inputs.bug_labels == ("bug",)
    assert inputs.copilot_metrics is None
    assert inputs.teams is None
    assert "token" not in repr(inputs)


def test_every_declared_input_is_parsed() -> None:
    parsed = {
        "token", "repositories", "window", "timezone", "compare-to", "base-branches",
        "deployment-source", "deployment-environment", "incident-labels", "incident-window",
        "hotfix-labels", "exclude-authors", "include-bots", "publish", "report-id",
        "history-branch", "issue-title", "alerts", "fail-on-alert", "backfill",
        "history-retention", "per-person", "pseudonym-salt", "incident-repository",
        "max-wait", "mode", "allow-private-data", "api-url", "ai-authors", "bug-labels",
        "copilot-metrics", "teams",
    }  # fmt: skip
    assert set(action_inputs()) == parsed


def test_values_are_normalized(tmp_path: Path) -> None:
    inputs = Inputs.from_environ(
        _environ(
            tmp_path,
            repositories="acme/a, acme/b\nacme/a",
            **{
                "deployment-environment": "Production, prod-EU",
                "exclude-authors": "@Alice, renovate[bot]",
                "include-bots": "TRUE",
                "publish": "summary",
                "base-branches": "main, release/1.x",
            },
        ),
        REPO,
    )
    assert inputs.repositories == ("acme/a", "acme/b")
    assert inputs.deployment_environments == ("production", "prod-eu")
    assert inputs.exclude_authors == {"alice", "renovate"}
    assert inputs.include_bots is True
    assert inputs.publish == {"summary"}
    assert inputs.base_branches == ("main", "release/1.x")


@pytest.mark.parametrize(
    ("source", "parsed"),
    [
        ("workflow:deploy.yml", "workflow:deploy.yml"),
        ("Workflow: Deploy to production", "workflow:Deploy to production"),
        ("tags:v*", "tags:v*"),
        ("Merges", "merges"),
    ],
)
def test_deployment_source_keeps_the_workflow_or_glob(
    tmp_path: Path, source: str, parsed: str
) -> None:
    environ = _environ(tmp_path, **{"deployment-source": source, "incident-repository": "acme/ops"})
    inputs = Inputs.from_environ(environ, REPO)
    assert inputs.deployment_source == parsed
    assert inputs.incident_repository == "acme/ops"


BAD = [
    ("token", "", "a token is required"),
    ("repositories", "not a repo", "owner/name"),
    ("repositories", "acme/a,../etc", "owner/name"),
    ("repositories", "-acme/x", "owner/name"),
    ("window", "30", "use Nd"),
    ("window", "0d", "at least one day"),
    ("window", "2026-02-30..2026-03-01", "day is out of range"),
    ("window", "2026-03-05..2026-03-01", "before the start"),
    ("timezone", "Mars/Olympus", "IANA"),
    ("timezone", "../../etc/passwd", "IANA"),
    ("compare-to", "2026-02-30", "day is out of range"),
    ("compare-to", "2026-1-5", "a date YYYY-MM-DD"),
    ("compare-to", "last", "previous, none"),
    ("per-person", "yes", "true, false, anonymous"),
    ("incident-repository", "acme", "owner/name"),
    ("incident-repository", "acme/*", "owner/name"),
    ("base-branches", "main,*", "or * for all"),
    ("base-branches", "bad..name", "or * for all"),
    ("deployment-source", "workflow:", "a workflow file or name"),
    ("deployment-source", "tags: ", "a glob"),
    ("deployment-source", "kubernetes", "auto, deployments"),
    ("deployment-environment", ",", "at least one"),
    ("incident-labels", " , ", "at least one"),
    ("incident-window", "7", "Nh"),
    ("incident-window", "0d", "positive"),
    ("hotfix-labels", ",,", "at least one"),
    ("exclude-authors", "not a login!", "GitHub logins"),
    ("include-bots", "yes", "true or false"),
    ("include-bots", "1", "true or false"),
    ("publish", "slack", "summary, issue, history"),
    ("publish", "summary,none", "summary, issue, history"),
    ("report-id", "a b", "letters, digits"),
    ("report-id", "x" * 65, "letters, digits"),
    ("history-branch", "metrics..x", "branch name"),
    ("history-branch", "refs/heads/metrics", "branch name"),
    ("issue-title", "two\nlines", "one line"),
    ("alerts", "lead-time > 72", "unknown metric"),
    ("alerts", "lead-time-hours > 72, cycle-time-hours grows 25%", "cycle-time-hours grows 25%"),
    ("alerts", "change-failure-rate > 15", "ratio from 0 to 1"),
    ("fail-on-alert", "on", "true or false"),
    ("backfill", "12", "Nd (days) or Nw (weeks)"),
    ("backfill", "0w", "or 0 to turn it off"),
    ("backfill", "3y", "Nd (days) or Nw (weeks)"),
    ("history-retention", "0", "leave it empty"),
    ("history-retention", "400", "Nd (days) or Nw (weeks)"),
]


@pytest.mark.parametrize(("name", "value", "hint"), BAD)
def test_bad_input_names_the_input_the_value_and_what_is_allowed(
    tmp_path: Path, name: str, value: str, hint: str
) -> None:
    environ = _environ(tmp_path)
    environ[env_name(name)] = value
    with pytest.raises(InputError) as caught:
        Inputs.from_environ(environ, REPO)
    message = str(caught.value)
    assert f"Input '{name}'" in message
    assert hint in message
    assert caught.value.name == name


def test_compare_to_takes_a_date_and_the_salt_stays_out_of_repr(tmp_path: Path) -> None:
    environ = _environ(
        tmp_path,
        **{
            "compare-to": "2026-03-01",
            "per-person": "Anonymous",
            "pseudonym-salt": "s3cret-pepper-0123",
        },
    )
    inputs = Inputs.from_environ(environ, REPO)
    assert inputs.compare_to == "2026-03-01"
    assert inputs.per_person == "anonymous"
    assert inputs.pseudonym_salt == "s3cret-pepper-0123"
    assert "s3cret" not in repr(inputs)


def test_relative_window_is_whole_days_before_today() -> None:
    now = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
    window = parse_window("7d").resolve(now, UTC)
    assert window == Window(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))
    assert window.previous().since == datetime(2026, 11, 13, tzinfo=UTC)


def test_date_window_is_inclusive_in_the_time_zone() -> None:
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    window = parse_window("2026-03-01..2026-03-31").resolve(datetime.now(UTC), berlin)
    assert window.since == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert window.until == datetime(2026, 3, 31, 22, tzinfo=UTC)  # summer time from 29 March
    assert window.days == 31  # calendar days, though the clock change makes it 743 hours
