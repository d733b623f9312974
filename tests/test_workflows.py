"""The workflows hold to the project's rules: actions pinned by commit, no permissions unless a
job asks, a concurrency group, and zizmor finds nothing (offline)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from workflow_expressions import condition, interpolate

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
    for name in ("metrics.yml", "metrics-scale-out.yml"):
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
    ],
    ids=[
        "metrics.yml on schedule",
        "metrics.yml dispatched on main",
        "metrics.yml dispatched on a branch",
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
