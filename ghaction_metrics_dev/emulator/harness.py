"""Runs the action the way a GitHub runner runs a Docker action, against the emulator.

The entrypoint is started as a subprocess with the environment a runner gives the container
(SPEC §2): one ``INPUT_<NAME>`` per declared input with ``action.yml`` defaults applied, the
``GITHUB_*`` variables, and real ``GITHUB_STEP_SUMMARY`` / ``GITHUB_OUTPUT`` files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import Repository

ROOT = Path(__file__).resolve().parents[2]
ACTION_YML = ROOT / "action.yml"
ENTRYPOINT = ROOT / "entrypoint.py"
# What the example workflow grants the job: everything the action reads or writes.
WORKFLOW_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "pull_requests": "read",
    "deployments": "read",
    "actions": "read",
    "metadata": "read",
}
# A fake workflow token: the emulator accepts it, GitHub never sees it.
WORKFLOW_TOKEN = "ghs_emulatorWorkflowToken0123456789abcdef"


def workflow_tokens(login: str) -> dict[str, TokenInfo]:
    """The emulator's token table for a run: the workflow token with the example's permissions."""
    return {WORKFLOW_TOKEN: TokenInfo(login, "workflow", dict(WORKFLOW_PERMISSIONS))}


@dataclass(frozen=True)
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


def action_inputs() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
    inputs: dict[str, Any] = loaded["inputs"]
    return inputs


def input_env_name(name: str) -> str:
    """The runner's AddInputsToEnvironment: upper-cased, spaces to '_', hyphens kept."""
    return "INPUT_" + name.replace(" ", "_").upper()


def _evaluate_default(value: object, context: Mapping[str, str]) -> str:
    """Evaluate the few ``${{ github.* }}`` expressions action.yml defaults may use."""
    text = "" if value is None else str(value)
    return re.sub(r"\$\{\{\s*github\.(\w+)\s*\}\}", lambda m: context.get(m.group(1), ""), text)


def runner_environment(
    *,
    api_url: str,
    graphql_url: str,
    server_url: str,
    repository: str,
    workspace: Path,
    token: str = WORKFLOW_TOKEN,
    overrides: Mapping[str, str] | None = None,
    run_id: str = "1001",
    run_attempt: str = "1",
    event_name: str = "schedule",
) -> dict[str, str]:
    workspace.mkdir(parents=True, exist_ok=True)
    files = workspace.parent / f"{workspace.name}-runner-files"
    files.mkdir(parents=True, exist_ok=True)
    summary = files / f"step_summary_{run_id}_{run_attempt}"
    output = files / f"set_output_{run_id}_{run_attempt}"
    event = files / "event.json"
    event.write_text('{"schedule": "0 6 * * 1"}', encoding="utf-8")
    for path in (summary, output):
        path.write_text("", encoding="utf-8")
    context = {"token": token, "repository": repository}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(files),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": api_url,
        "GITHUB_GRAPHQL_URL": graphql_url,
        "GITHUB_SERVER_URL": server_url,
        "GITHUB_REPOSITORY": repository,
        "GITHUB_REPOSITORY_OWNER": repository.split("/")[0],
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_RUN_ID": run_id,
        "GITHUB_RUN_ATTEMPT": run_attempt,
        "GITHUB_REF": "refs/heads/main",
        "RUNNER_TEMP": str(files),
    }
    given = dict(overrides or {})
    for name, spec in action_inputs().items():
        if name in given:
            env[input_env_name(name)] = given.pop(name)
        else:
            env[input_env_name(name)] = _evaluate_default((spec or {}).get("default"), context)
    if given:
        raise KeyError(f"not inputs of action.yml: {sorted(given)}")
    return env


def files_at(repo: Repository, commit: str) -> dict[str, bytes]:
    """Every file of ``commit``, read from the emulator's git objects."""
    files: dict[str, bytes] = {}
    pending = [("", repo.commits[commit].tree)]
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


def branch_files(repo: Repository, branch: str) -> dict[str, bytes]:
    """Every file at the tip of ``branch`` (none when the branch does not exist)."""
    head = repo.refs.get(f"heads/{branch}")
    return files_at(repo, head) if head is not None else {}


def parse_output_file(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file as the runner does (``name=value`` and ``name<<DELIM``)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def run_action(env: Mapping[str, str], timeout: float = 300) -> ActionRun:
    completed = subprocess.run(
        [sys.executable, str(ENTRYPOINT)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=env["GITHUB_WORKSPACE"],
    )
    return ActionRun(
        returncode=completed.returncode,
        stdout=completed.stdout,
        stderr=completed.stderr,
        outputs=parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8")),
        summary=Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8"),
        workspace=Path(env["GITHUB_WORKSPACE"]),
    )
