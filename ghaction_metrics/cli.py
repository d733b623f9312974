"""``python -m ghaction_metrics``: the action from a laptop or a cron job, with a personal token.

The options are generated from ``action.yml``'s inputs, so the two cannot drift apart. The
command builds the environment a runner would give the container and runs the action's own
``action.main``: what it measures and publishes is exactly what the action does. ``--dry-run``
publishes nothing and writes it all to ``--out`` instead (publish/dry_run.py).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml

from ghaction_metrics.action import main as run_main
from ghaction_metrics.inputs.config import env_name, server_url_of
from ghaction_metrics.inputs.teams import MAX_BYTES
from ghaction_metrics.publish.dry_run import DryRunSink
from ghaction_metrics.workflow_commands import read_outputs

ACTION_YML = Path(__file__).resolve().parents[1] / "action.yml"
_EXPRESSION = re.compile(r"\$\{\{.*\}\}")
DEFAULT_API_URL = "https://api.github.com"


def action_inputs(path: Path = ACTION_YML) -> dict[str, dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    inputs: dict[str, dict[str, Any]] = loaded["inputs"]
    return inputs


def _default(spec: Mapping[str, Any]) -> str:
    value = str(spec.get("default", "") or "")
    # ${{ github.token }} and ${{ github.repository }} mean nothing outside a runner; the
    # command line fills them from the environment and --repository instead.
    return "" if _EXPRESSION.search(value) else value


def parser(inputs: Mapping[str, Mapping[str, Any]] | None = None) -> argparse.ArgumentParser:
    specs = action_inputs() if inputs is None else inputs
    result = argparse.ArgumentParser(
        prog="python -m ghaction_metrics",
        description=(
            "Compute DORA and pull-request metrics and publish them like the GitHub Action "
            "does (job summary file, dashboard issue, history branch). Options are the "
            "action's inputs."
        ),
    )
    action = result.add_argument_group("action inputs (action.yml)")
    for name, spec in specs.items():
        default = _default(spec)
        text = " ".join(str(spec.get("description", "")).split())
        if name == "token":
            text += " Default: $GITHUB_TOKEN, else $GH_TOKEN."
        elif name == "api-url":
            text += f" Default: $GITHUB_API_URL, else {DEFAULT_API_URL}."
        elif name == "repositories":
            text += " Default: --repository."
        elif name == "teams":
            text += " On the command line, relative to the current folder."
        elif default:
            text += f" Default: {default}."
        # argparse formats help with %: a literal one (as in "increases N%") must be doubled.
        help_text = text.replace("%", "%%")
        action.add_argument(f"--{name}", dest=name, metavar="VALUE", default=None, help=help_text)
    local = result.add_argument_group("running outside GitHub Actions")
    local.add_argument(
        "--server-url",
        default=None,
        help="Web root for links (https://github.com, https://HOST). Default: from --api-url.",
    )
    local.add_argument(
        "--repository",
        default=None,
        metavar="OWNER/NAME",
        help="Where to publish (dashboard issue, history branch). Default: $GITHUB_REPOSITORY, "
        "else the only entry of --repositories.",
    )
    local.add_argument(
        "--out",
        default="ghaction-metrics-out",
        metavar="DIR",
        help="Folder for the summary, outputs, report.json and HTML report; with --dry-run "
        "also for everything that would be published. Default: ghaction-metrics-out.",
    )
    local.add_argument(
        "--run-id",
        default=None,
        help="Names this run's snapshot; a re-run with the same id replaces it. "
        "Default: the current Unix time.",
    )
    local.add_argument(
        "--dry-run",
        action="store_true",
        help="Publish nothing: write the summary, dashboard issue and comment, history files "
        "and outputs to --out instead. GitHub is only read.",
    )
    return result


class UsageError(ValueError):
    """A command-line option the run cannot honour; the message says which and why."""


def environment(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    inputs: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> dict[str, str]:
    """The environment a runner would give the container, from the options."""
    values = {name: getattr(args, name) for name in inputs}
    if values.get("token") is None:
        values["token"] = environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or ""
    if not (values["token"] or "").strip():
        raise UsageError(
            "no token: set GH_TOKEN (or GITHUB_TOKEN) to a personal access token, or pass "
            "--token (which other users can see in the process list)"
        )
    repository = args.repository or environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        listed = [r.strip() for r in re.split(r"[,\n]", values.get("repositories") or "")]
        listed = [r for r in listed if r]
        if len(listed) != 1 or "*" in listed[0]:
            raise UsageError("give --repository OWNER/NAME: where to publish the dashboard")
        repository = listed[0]
    api_url = values.get("api-url") or environ.get("GITHUB_API_URL") or DEFAULT_API_URL
    out = Path(args.out).resolve()
    workspace = out / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    if values.get("teams"):
        _teams_into_workspace(str(values["teams"]), workspace)
    summary, output = out / "summary.md", out / "outputs.txt"
    for path in (summary, output):
        path.write_text("", encoding="utf-8")
    env = {
        "GITHUB_API_URL": api_url,
        "GITHUB_SERVER_URL": args.server_url or server_url_of(api_url.rstrip("/")),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_RUN_ID": args.run_id or str(int(now.timestamp())),
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        # Inside a workflow step the log is the runner's again: workflow commands, not prose.
        "GITHUB_ACTIONS": environ.get("GITHUB_ACTIONS", ""),
    }
    for name, spec in inputs.items():
        given = values.get(name)
        env[env_name(name)] = given if given is not None else _default(spec)
    return env


def _teams_into_workspace(path: str, workspace: Path) -> None:
    """The action reads the teams file from its workspace, which in a workflow is the checked
    out repository; from a terminal that is the current folder, so the file comes from there."""
    source = Path(path)
    if source.is_absolute() or ".." in source.parts:
        return  # the input's own check refuses it, in the words a workflow gets
    if not source.is_file():
        raise UsageError(
            f"--teams {path}: no such file; the path is relative to the current folder, as it "
            "is to the repository in a workflow"
        )
    target = workspace / source
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as handle:
        # One byte more than the action reads, so a file too large is still refused as such.
        target.write_bytes(handle.read(MAX_BYTES + 1))


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    inputs = action_inputs()
    options = parser(inputs)
    args = options.parse_args(argv)
    out_stream = stream if stream is not None else sys.stdout
    started = clock()
    try:
        env = environment(args, os.environ if environ is None else environ, inputs, started)
    except UsageError as exc:
        options.error(str(exc))  # exits with status 2, like any other usage error
    sink = DryRunSink(Path(args.out).resolve()) if args.dry_run else None
    begun = time.monotonic()
    code = run_main(env, out_stream, clock=lambda: started, sink=sink, mask=False)
    out_stream.write(
        f"Finished in {time.monotonic() - begun:.1f}s with exit code {code}: "
        f"{published(env, dry_run=args.dry_run)}; files in {Path(args.out).resolve()}\n"
    )
    return code


def published(env: Mapping[str, str], *, dry_run: bool) -> str:
    """Where the run published, from its outputs: the dashboard issue and the history commit."""
    if dry_run:
        return "a dry run, nothing published"
    values = read_outputs(env["GITHUB_OUTPUT"])
    places = []
    if values.get("issue-url"):
        places.append(f"dashboard {values['issue-url']}")
    if values.get("history-sha"):
        web = f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}"
        branch = env.get(env_name("history-branch"), "")
        places.append(f"history commit {web}/commit/{values['history-sha']} on {branch}")
    return ", ".join(places) or "nothing published"
