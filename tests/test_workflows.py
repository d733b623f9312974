"""The workflows hold to the project's rules: actions pinned by commit, no permissions unless a
job asks, a concurrency group, and zizmor finds nothing (offline)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_expressions import condition, evaluate, interpolate

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_expected_workflows_exist() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {
        "ci.yml",
        "release.yml",
        "metrics.yml",
        "metrics-scale-out.yml",
        "metrics-slack.yml",
        "metrics-live.yml",
    } <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit(path: Path) -> None:
    for step in _steps(_load(path)):
        uses = step.get("uses")
        if uses is None or uses == "./" or uses.startswith("docker://"):
            continue
        assert PINNED.match(uses), f"{path.name}: {uses} is not pinned to a full commit sha"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_permissions_by_default_and_a_concurrency_group(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["group"]
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} states its permissions"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_ci_lints_tests_builds_and_smoke_tests_the_working_tree() -> None:
    jobs = _load(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]
    assert {"lint", "test", "image", "smoke"} <= set(jobs)
    lint = " ".join(step.get("run", "") for step in jobs["lint"]["steps"])
    for tool in ("ruff", "mypy", "hadolint", "zizmor"):
        assert tool in lint
    smoke = jobs["smoke"]["steps"]
    action = [step for step in smoke if step.get("uses") == "./"]
    assert len(action) == 1
    assert "steps.emulator.outputs.api-url" in action[0]["with"]["api-url"]


def test_the_scale_out_example_runs_shards_then_the_aggregate() -> None:
    jobs = _load(ROOT / ".github" / "workflows" / "metrics-scale-out.yml")["jobs"]
    shard = next(s for s in jobs["shard"]["steps"] if s.get("uses") == "./")
    aggregate = next(s for s in jobs["aggregate"]["steps"] if s.get("uses") == "./")
    assert shard["with"]["mode"] == "shard"
    assert aggregate["with"]["mode"] == "aggregate"
    assert shard["with"]["report-id"] == aggregate["with"]["report-id"]
    assert jobs["aggregate"]["needs"] == "shard"
    assert jobs["shard"]["strategy"]["fail-fast"] is False


def test_zizmor_finds_nothing() -> None:
    completed = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "zizmor"),
            "--offline",
            "--no-progress",
            "--strict-collection",
            "--config",
            ".github/zizmor.yml",
            ".github/workflows",
            "action.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_examples_say_how_to_use_them_from_another_repository() -> None:
    for name in ("metrics.yml", "metrics-scale-out.yml", "metrics-slack.yml", "metrics-live.yml"):
        text = (ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8")
        header = text.split("\nname:", 1)[0]
        assert "uses: ghaction-metrics/ghaction-metrics@" in " ".join(header.split()), name
        assert "checkout" in header, name


_FAKE_GH = """#!/usr/bin/env bash
# Stands in for the GitHub CLI: answers the tag queries, records the writes.
echo "$*" >> "$CALLS"
case "$*" in
  *matching-refs*) printf '%s\\n' $TAGS ;;  # as --jq prints them: names without refs/tags/
  *--method*) ;;
  *) [ "$MAJOR_EXISTS" = yes ] || { echo "gh: Not Found (HTTP 404)" >&2; exit 1; } ;;
esac
"""


def _move_major_tag(tmp_path: Path, version: str, tags: str, exists: bool) -> list[str]:
    """Run the release's major-tag step with a fake ``gh``; return the calls it made."""
    jobs = _load(ROOT / ".github" / "workflows" / "release.yml")["jobs"]
    (script,) = [step["run"] for step in jobs["major-tag"]["steps"] if "run" in step]
    assert jobs["major-tag"]["needs"] == "image"  # moved once the image is out
    fake = tmp_path / "bin" / "gh"
    fake.parent.mkdir()
    fake.write_text(_FAKE_GH, encoding="utf-8")
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    calls.touch()
    env = {
        "PATH": f"{fake.parent}:/usr/bin:/bin",
        "CALLS": str(calls),
        "TAGS": tags,
        "MAJOR_EXISTS": "yes" if exists else "no",
        "REPOSITORY": "octo/metrics",
        "VERSION": version,
        "SHA": "c0ffee",
    }
    # The runner's default shell for run steps on Linux.
    subprocess.run(["bash", "-e", "-c", script], env=env, check=True, timeout=30)
    return calls.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("version", "tags", "exists", "write"),
    [
        (
            "v0.1.0",
            "v0.1.0",
            False,
            "api --method POST repos/octo/metrics/git/refs -f ref=refs/tags/v0 -f sha=c0ffee "
            "--silent",
        ),
        (
            "v1.10.0",
            "v1.9.2 v1.10.0 v1.10.0-rc1",
            True,
            "api --method PATCH repos/octo/metrics/git/refs/tags/v1 -f sha=c0ffee -F force=true "
            "--silent",
        ),
        ("v1.2.4", "v1.2.4 v1.3.0", True, None),
    ],
    ids=["first release of a major", "newest, by version order", "fix to an older minor"],
)
def test_a_release_moves_its_major_tag(
    tmp_path: Path, version: str, tags: str, exists: bool, write: str | None
) -> None:
    calls = _move_major_tag(tmp_path, version, tags, exists)
    major = version.split(".")[0]
    assert calls[0].startswith(f"api --paginate repos/octo/metrics/git/matching-refs/tags/{major}.")
    writes = [call for call in calls if "--method" in call]
    assert writes == ([write] if write else [])


# -- the examples' conditions, evaluated as the runner does (tests/workflow_expressions.py) --

REPOSITORY = {"full_name": "octo/app", "default_branch": "main"}


def _github(event_name: str, event: dict[str, Any], ref: str = "") -> dict[str, Any]:
    return {
        "event_name": event_name,
        "event": event,
        "ref": ref,
        "repository": "octo/app",
        "server_url": "https://github.com",
        "run_id": "42",
    }


def _pull_request(merged: bool, base: str = "main", head: str = "octo/app") -> dict[str, Any]:
    return {
        "action": "closed",
        "pull_request": {
            "merged": merged,
            "base": {"ref": base},
            "head": {"repo": {"full_name": head}},
        },
        "repository": REPOSITORY,
    }


def _deployment(state: str, environment: str = "production", ref: str = "main") -> dict[str, Any]:
    return {
        "deployment_status": {"state": state},
        "deployment": {"environment": environment, "ref": ref},
        "repository": REPOSITORY,
    }


LIVE_EVENTS = [
    ("deployment_status", _deployment("success"), True),
    ("deployment_status", _deployment("success", environment="Production"), True),
    ("deployment_status", _deployment("failure"), False),
    ("deployment_status", _deployment("in_progress"), False),
    ("deployment_status", _deployment("inactive"), False),
    ("deployment_status", _deployment("success", environment="staging"), False),
    ("deployment_status", _deployment("success", ref="feature/x"), False),
    ("pull_request", _pull_request(merged=True), True),
    ("pull_request", _pull_request(merged=False), False),
    ("pull_request", _pull_request(merged=True, base="release/1.x"), False),
    ("pull_request", _pull_request(merged=True, head="someone/app-fork"), False),
]


@pytest.mark.parametrize(
    ("event_name", "event", "runs"),
    LIVE_EVENTS,
    ids=[
        "deployment succeeded",
        "environment name in another case",
        "deployment failed",
        "deployment in progress",
        "deployment made inactive",
        "staging deployment",
        "deployment of another branch",
        "pull request merged",
        "pull request closed unmerged",
        "merged into another branch",
        "merged from a fork",
    ],
)
def test_the_live_workflow_runs_on_what_changes_the_figures(
    event_name: str, event: dict[str, Any], runs: bool
) -> None:
    workflow = _load(ROOT / ".github" / "workflows" / "metrics-live.yml")
    job = workflow["jobs"]["metrics"]
    assert condition(job["if"], {"github": _github(event_name, event)}) is runs


def test_the_live_workflow_is_debounced_least_privileged_and_incremental() -> None:
    workflow = _load(ROOT / ".github" / "workflows" / "metrics-live.yml")
    triggers = yaml.safe_load((ROOT / ".github" / "workflows" / "metrics-live.yml").read_text())
    # YAML 1.1 reads the key "on" as true.
    assert triggers[True] == {"deployment_status": None, "pull_request": {"types": ["closed"]}}
    contexts = {"github": _github("", {})}
    group = interpolate(workflow["concurrency"]["group"], contexts)
    scheduled = _load(ROOT / ".github" / "workflows" / "metrics.yml")["concurrency"]["group"]
    # One group per report, apart from the scheduled run's, which a merge must never cancel.
    assert group == "metrics-live-octo/app-default"
    assert group != interpolate(scheduled, contexts)
    assert workflow["concurrency"]["cancel-in-progress"] is True
    job = workflow["jobs"]["metrics"]
    (action,) = [step for step in job["steps"] if step.get("uses") == "./"]
    # No history of its own: the scheduled run keeps the branch and the cache it starts from.
    assert action["with"]["publish"] == "summary,issue"
    assert job["permissions"] == {
        "contents": "read",
        "issues": "write",
        "pull-requests": "read",
        "deployments": "read",
    }


def test_the_live_window_ends_today(tmp_path: Path) -> None:
    """The window step's script, run as the runner would: 30 days with today included."""
    job = _load(ROOT / ".github" / "workflows" / "metrics-live.yml")["jobs"]["metrics"]
    (step,) = [s for s in job["steps"] if s.get("id") == "window"]
    output = tmp_path / "output"
    env = {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **step["env"]}
    subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=True, timeout=30)
    key, value = output.read_text(encoding="utf-8").strip().split("=", 1)
    first, last = (date.fromisoformat(day) for day in value.split(".."))
    today = datetime.now(UTC).date()
    assert key == "window"
    assert last in (today, today + timedelta(days=1))  # the test may straddle midnight
    assert (last - first).days == 29
    (action,) = [s for s in job["steps"] if s.get("uses") == "./"]
    assert action["with"]["window"] == "${{ steps.window.outputs.window }}"


@pytest.mark.parametrize(
    ("name", "github", "publishes"),
    [
        ("metrics.yml", _github("schedule", {"schedule": "17 6 * * 1"}, "refs/heads/main"), True),
        (
            "metrics.yml",
            _github("workflow_dispatch", {"repository": REPOSITORY}, "refs/heads/main"),
            True,
        ),
        (
            "metrics.yml",
            _github("workflow_dispatch", {"repository": REPOSITORY}, "refs/heads/try"),
            False,
        ),
        (
            "metrics-slack.yml",
            _github("schedule", {"schedule": "17 6 * * 1"}, "refs/heads/main"),
            True,
        ),
        (
            "metrics-slack.yml",
            _github("workflow_dispatch", {"repository": REPOSITORY}, "refs/heads/try"),
            False,
        ),
    ],
    ids=[
        "metrics.yml on schedule",
        "metrics.yml dispatched on main",
        "metrics.yml dispatched on a branch",
        "metrics-slack.yml on schedule",
        "metrics-slack.yml dispatched on a branch",
    ],
)
def test_the_scheduled_examples_publish_everything_only_from_the_default_branch(
    name: str, github: dict[str, Any], publishes: bool
) -> None:
    """A scheduled run's event has no repository, so no default_branch: schedules run on the
    default branch, and must publish the history there."""
    steps = [
        s for s in _steps(_load(ROOT / ".github" / "workflows" / name)) if s.get("uses") == "./"
    ]
    ran = [s for s in steps if condition(s.get("if"), {"github": github})]
    assert len(ran) == 1
    publish = ran[0]["with"].get("publish", "summary,issue,history")
    publish = interpolate(publish, {"github": github})
    assert (publish == "summary,issue,history") is publishes
    assert publish in ("summary,issue,history", "summary")


def _slack_job() -> dict[str, Any]:
    job: dict[str, Any] = _load(ROOT / ".github" / "workflows" / "metrics-slack.yml")["jobs"][
        "slack"
    ]
    return job


@pytest.mark.parametrize(
    ("alerts", "status", "posts"),
    [
        ("[]", "success", False),
        ("", "failure", False),  # the action failed before it set its outputs
        ('[{"rule": "merged-prs < 5"}]', "success", True),
        ('[{"rule": "merged-prs < 5"}]', "failure", True),  # fail-on-alert: true
        ('[{"rule": "merged-prs < 5"}]', "cancelled", False),
    ],
    ids=["none fired", "no output", "one fired", "fired and failed the step", "cancelled"],
)
def test_slack_is_told_only_when_an_alert_fired(alerts: str, status: str, posts: bool) -> None:
    job = _slack_job()
    assert job["needs"] == "metrics"
    contexts = {"needs": {"metrics": {"outputs": {"alerts": alerts}}}, "github": _github("", {})}
    assert condition(job["if"], contexts, status=status) is posts


def test_the_slack_step_is_the_official_action_pinned_and_gets_only_the_webhook() -> None:
    workflow = _load(ROOT / ".github" / "workflows" / "metrics-slack.yml")
    job = workflow["jobs"]["slack"]
    assert job["permissions"] == {}
    (post,) = [s for s in job["steps"] if "uses" in s]
    assert post["uses"].startswith("slackapi/slack-github-action@")
    text = (ROOT / ".github" / "workflows" / "metrics-slack.yml").read_text(encoding="utf-8")
    assert re.search(r"slackapi/slack-github-action@[0-9a-f]{40} # v\d+\.\d+\.\d+\n", text)
    assert post["with"]["webhook"] == "${{ secrets.SLACK_WEBHOOK_URL }}"
    assert post["with"]["webhook-type"] == "incoming-webhook"
    metrics = workflow["jobs"]["metrics"]
    assert metrics["outputs"]["alerts"] == "${{ steps.metrics.outputs.alerts }}"
    assert any(s.get("id") == "metrics" and s.get("uses") == "./" for s in metrics["steps"])
    # The webhook reaches only the job that posts.
    assert "SLACK" not in yaml.safe_dump(metrics)


def test_without_the_webhook_secret_the_slack_job_skips_with_a_notice(tmp_path: Path) -> None:
    job = _slack_job()
    check, build, post = job["steps"]
    assert check["env"] == {"WEBHOOK": "${{ secrets.SLACK_WEBHOOK_URL }}"}
    assert build["if"] == post["if"] == "steps.webhook.outputs.configured == 'true'"
    for webhook, configured in (("", False), ("https://hooks.slack.com/services/x", True)):
        output = tmp_path / f"output-{configured}"
        output.write_text("", encoding="utf-8")
        done = subprocess.run(
            ["bash", "-e", "-c", check["run"]],
            env={"PATH": "/usr/bin:/bin", "WEBHOOK": webhook, "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
            check=True,
        )
        assert ("configured=true" in output.read_text(encoding="utf-8")) is configured
        assert ("::notice::" in done.stdout) is not configured


def test_the_slack_message_says_what_fired_with_slack_markup_escaped(tmp_path: Path) -> None:
    """The message step's script, run as the runner would, on an alerts output."""
    job = _slack_job()
    (build,) = [s for s in job["steps"] if s.get("name") == "Build the message"]
    assert "${{" not in build["run"]  # values come through the environment only
    alerts = [
        {
            "rule": "lead-time-hours > 72",
            "metric": "lead-time-hours",
            "value": 80.5,
            "previous": None,
            "message": "lead-time-hours is 80.5 (lead-time-hours > 72)",
        },
        {
            "rule": "cycle-time-hours increases 25%",
            "metric": "cycle-time-hours",
            "value": 30.0,
            "previous": 20.0,
            "message": "cycle-time-hours increased 50%: 20 → 30 "
            "(cycle-time-hours increases 25%) <!channel> & $(id)",
        },
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp_path),
        "ALERTS": json.dumps(alerts, ensure_ascii=False),
        "RUN_URL": "https://github.com/octo/app/actions/runs/42",
        "REPOSITORY": "octo/app",
    }
    subprocess.run(["bash", "-e", "-c", build["run"]], env=env, check=True, timeout=30)
    message = json.loads((tmp_path / "slack-message.json").read_text(encoding="utf-8"))
    assert message["text"] == "Engineering metrics of octo/app: 2 alert(s) fired"
    section, context = message["blocks"]
    assert section["text"]["text"] == (
        "*Engineering metrics of octo/app*: 2 alert(s) fired\n"
        "• lead-time-hours is 80.5 (lead-time-hours &gt; 72)\n"
        "• cycle-time-hours increased 50%: 20 → 30 (cycle-time-hours increases 25%) "
        "&lt;!channel&gt; &amp; $(id)"
    )
    assert context["elements"][0]["text"] == (
        "<https://github.com/octo/app/actions/runs/42|The run and its summary>"
    )
    post = next(s for s in job["steps"] if "uses" in s)
    assert post["with"]["payload-file-path"] == "${{ runner.temp }}/slack-message.json"


def test_the_readme_links_every_example_workflow() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("metrics.yml", "metrics-slack.yml", "metrics-live.yml", "metrics-scale-out.yml"):
        assert f"](.github/workflows/{name})" in readme, name


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("'Production' == 'production'", True),  # strings compare case-insensitively
        ("github.event.missing.deeper == null", True),  # a missing property is null
        ("github.event.count == '3'", True),  # other type mixes compare as numbers
        ("'' || 'summary'", "summary"),  # || and && return an operand
        ("'a' && 'b'", "b"),
        ("!github.event.flag", True),
        ("format('refs/heads/{0}', github.event.branch)", "refs/heads/main"),
        ("format('refs/heads/{0}', github.event.none)", "refs/heads/"),
        ("contains(fromJSON('[\"production\", \"prod\"]'), 'PROD')", True),
        ("github.event.count > 2 && github.event.count <= 3", True),
    ],
)
def test_expressions_evaluate_as_the_runner_does(expression: str, value: object) -> None:
    github = {"event": {"count": 3, "flag": False, "branch": "main"}}
    assert evaluate(expression, {"github": github}) == value


def test_a_condition_without_a_status_function_needs_success() -> None:
    assert condition("true", {}, status="failure") is False
    assert condition("always()", {}, status="failure") is True
    assert condition("${{ !cancelled() }}", {}, status="failure") is True
    assert condition(None, {}, status="success") is True
