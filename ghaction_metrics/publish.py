"""Publishing a report: the history branch, the dashboard issue, the job summary.

Each target is independent: a failure in one is reported and the others still run, and the
job summary is written last so it can say what failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from .gh.client import GitHubClients
from .gh.dashboard import DashboardError, publish_dashboard
from .gh.history import HistoryError, commit_files, read_tree
from .inputs import Inputs, RunnerEnv
from .render import render
from .report import Report
from .runner import NOTICE, append_summary, group

log = logging.getLogger(__name__)

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


def publish(
    inputs: Inputs,
    env: RunnerEnv,
    clients: GitHubClients,
    report: Report,
    document: dict[str, object],
    extra_files: Mapping[str, bytes] | None = None,
) -> tuple[Published, list[str]]:
    """Publish in order history → issue → summary; a failure stops none of the others."""
    problems: list[str] = []
    published = Published()
    if "history" in inputs.publish:
        with group("Committing the snapshot to the history branch"):
            try:
                published = _publish_history(
                    inputs, env, clients, report, document, extra_files or {}
                )
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
                    log.log(NOTICE, notice)
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
    extra_files: Mapping[str, bytes],
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
        {**extra_files, path: body},
        f"metrics: {inputs.report_id} snapshot of run {env.run_id}",
        deletions=stale,
    )
    log.info("Snapshot %s committed as %s", path, result.sha)
    return Published(history_sha=result.sha, snapshot_path=path)
