"""Publishing a report: the history branch, the dashboard issue, the job summary.

Each target is independent: a failure in one is reported and the others still run, and the
job summary is written last so it can say what failed.

The history commit carries everything of the run at once: the snapshot (and backfilled
weeks on a first run), the charts, the HTML report, the trends page and its index, with old
snapshots pruned by ``history-retention``. The summary and the comment show the charts
through ``SERVER/OWNER/REPO/blob/SHA/path?raw=true`` links to that commit, which render for
signed-in viewers of private repositories too (``data:`` URIs and raw.githubusercontent.com
links do not).

Everyone who clones the repository downloads the whole branch, so a run adds little
(SPEC §6): only the snapshot is a file of its own; what only the latest run needs (the HTML
report, the trends page, the charts) is overwritten at a fixed path, the pages show the
charts committed next to them instead of a copy of each, and files whose content did not
change are not sent at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.api.quota import QuotaExhaustedError
from ghaction_metrics.inputs.config import Inputs, RunnerEnv
from ghaction_metrics.metrics.alerts import AlertResult
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.metrics.tidy import FigureRow, figure_rows
from ghaction_metrics.metrics.trends import (
    EMPTY_HISTORY,
    TREND_INDEX,
    History,
    UnreadableSnapshotError,
    expired,
    headline_table,
    parse_json,
    snapshot_files,
    windows,
    without,
)
from ghaction_metrics.metrics.trends import snapshot_path as _snapshot_path
from ghaction_metrics.publish.dashboard import DashboardError, publish_dashboard
from ghaction_metrics.publish.exports import Exports, export_files
from ghaction_metrics.publish.history import HistoryError, commit_files, git_blob_sha
from ghaction_metrics.views.ai_chart import ai_chart
from ghaction_metrics.views.charts import Chart, all_charts
from ghaction_metrics.views.explore import SCRIPT, SCRIPT_FILE
from ghaction_metrics.views.html import index_html, report_html, root_index_html
from ghaction_metrics.views.markdown import (
    ChartLink,
    View,
    comment_markdown,
    issue_header_markdown,
    summary_markdown,
)
from ghaction_metrics.wording import counted
from ghaction_metrics.workflow_commands import NOTICE, append_summary, group

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


class Sink(Protocol):
    """Where a run's results go: GitHub, or a folder for a dry run (dry_run.py)."""

    def commit(
        self, branch: str, files: Mapping[str, bytes], message: str, deletions: Sequence[str]
    ) -> str:
        """Commit ``files`` to ``branch`` keeping every other file; the new tip's sha.

        Raises HistoryError when the branch cannot be written.
        """
        ...

    def dashboard(
        self, report_id: str, title: str, header: str, comment: str
    ) -> tuple[str, tuple[str, ...]]:
        """Create or update the dashboard issue and comment; (issue URL, notices).

        Raises DashboardError when the issue cannot be written.
        """
        ...


@dataclass(frozen=True)
class GitHubSink:
    """Publishes to the repository the run belongs to."""

    clients: GitHubClients
    repository: str

    def commit(
        self, branch: str, files: Mapping[str, bytes], message: str, deletions: Sequence[str]
    ) -> str:
        return commit_files(
            self.clients, self.repository, branch, files, message, deletions=deletions
        ).sha

    def dashboard(
        self, report_id: str, title: str, header: str, comment: str
    ) -> tuple[str, tuple[str, ...]]:
        result = publish_dashboard(self.clients, self.repository, report_id, title, header, comment)
        return result.issue_url, result.notices


@dataclass(frozen=True)
class Published:
    history_sha: str = ""
    snapshot_path: str = ""
    issue_url: str = ""
    html_report_path: str = ""


def snapshot_path(report_id: str, report: Report, run_id: str) -> str:
    return _snapshot_path(report_id, report.generated_at, run_id, backfill=False)


def html_report_path(report_id: str) -> str:
    """The latest run's HTML report; each commit's version stays in the branch's history."""
    return f"{report_id}/report.html"


def old_reports_folder(report_id: str) -> str:
    """Where versions before 2026-12 kept one HTML report per run; removed from the tip."""
    return f"{report_id}/reports/"


def replaced_snapshots(files: Mapping[str, str], report_id: str, run_id: str) -> list[str]:
    """The snapshots of ``run_id`` on a branch holding ``files``: a re-run of that run
    replaces them with its own (SPEC §6); its backfilled weeks stay."""
    return [
        path
        for path in files
        if path.startswith(f"{report_id}/snapshots/") and path.endswith(f"-run{run_id}.json")
    ]


def charts_folder(report_id: str) -> str:
    return f"{report_id}/charts/"


def chart_path(report_id: str, chart: Chart) -> str:
    return charts_folder(report_id) + chart.name


def _links(env: RunnerEnv, inputs: Inputs, published: Published) -> dict[str, str | None]:
    base = f"{env.server_url}/{env.repository}"
    history = f"{base}/tree/{inputs.history_branch}/{inputs.report_id}"
    sha = published.history_sha

    def blob(path: str) -> str | None:
        return f"{base}/blob/{sha}/{path}" if sha and path else None

    return {
        "history": history if "history" in inputs.publish else None,
        "snapshot": blob(published.snapshot_path),
        "issue": published.issue_url or None,
        "html_report": blob(published.html_report_path),
        "index": blob(f"{inputs.report_id}/index.html"),
    }


def _chart_links(
    env: RunnerEnv, inputs: Inputs, published: Published, charts: Sequence[Chart]
) -> tuple[ChartLink, ...]:
    if not published.history_sha:
        return ()  # nowhere to host them: data: URIs do not render in summaries or issues
    base = f"{env.server_url}/{env.repository}/blob/{published.history_sha}"
    return tuple(
        ChartLink(c.title, c.alt, f"{base}/{chart_path(inputs.report_id, c)}?raw=true")
        for c in charts
    )


def _encode(document: Mapping[str, object]) -> bytes:
    # Compact: every run adds one, to a branch everyone clones (report.json stays indented).
    return (json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n").encode()


def run_figures(
    document: Mapping[str, object], backfill: Mapping[str, bytes]
) -> dict[str, list[FigureRow]]:
    """The tidy rows of this run's snapshots by path (``""`` for its own document, first;
    then the backfilled weeks')."""
    rows: dict[str, list[FigureRow]] = {}
    for path, snap in {"": document, **backfill}.items():
        try:
            data = parse_json(snap) if isinstance(snap, bytes) else snap
            if not isinstance(data, Mapping):
                raise UnreadableSnapshotError("not a JSON object")
            rows[path] = figure_rows(data, path or "this run's snapshot")
        except UnreadableSnapshotError as exc:  # our own output: a bug
            log.warning("Snapshot %s left out of the trends and exports: %s", path, exc)
    return rows


def publish(
    inputs: Inputs,
    env: RunnerEnv,
    clients: GitHubClients,
    report: Report,
    document: dict[str, object],
    extra_files: Mapping[str, bytes] | None = None,
    *,
    history: History = EMPTY_HISTORY,
    alerts: Sequence[AlertResult] = (),
    backfill: Mapping[str, bytes] | None = None,
    sink: Sink | None = None,
    extra_deletions: Sequence[str] = (),
) -> tuple[Published, list[str]]:
    """Publish in order history → issue → summary; a failure stops none of the others.

    ``history`` is what the branch held when the run started (history_read.load_history, read
    before anything was written); ``backfill`` the weekly snapshots of a first run;
    ``extra_deletions`` files of ``history`` that ``extra_files`` replace.
    """
    problems: list[str] = []
    notes: list[str] = []  # notices the summary repeats
    published = Published()
    target = sink if sink is not None else GitHubSink(clients, env.repository)
    pruned = expired(history.files, inputs.report_id, report.generated_at, inputs.history_retention)
    # A re-run replaces its run's earlier snapshot, and nobody else's: the commit removes it,
    # and it is no window of the trends.
    replaced = replaced_snapshots(history.files, inputs.report_id, env.run_id)
    kept = without(history, [*pruned, *replaced])
    if pruned and "history" in inputs.publish:
        old = counted(len(pruned), "old file")
        log.info("history-retention: removing %s from the branch tip", old)
    backfill = backfill or {}
    own = run_figures(document, backfill)
    # The trends are computed from the branch's figures as history.load reads them, plus
    # this run's (metrics/trends.py).
    timezone = str(inputs.timezone)
    trend = windows([*kept.rows, *(row for rows in own.values() for row in rows)], timezone)
    ai = ai_chart(report)
    charts = (*all_charts(report, headline_table(trend)), *([ai] if ai else []))
    html = report_html(report, charts, alerts, env.server_url)
    _write_workspace(env.workspace, inputs.report_id, html, charts)
    if "history" in inputs.publish:
        with group("Committing the snapshot, charts and HTML report to the history branch"):
            try:
                published = _publish_history(
                    inputs, env, target, report, document, extra_files or {},
                    kept, [*pruned, *replaced, *extra_deletions], backfill, own, trend, charts,
                    alerts,
                )  # fmt: skip
            except HistoryError as exc:
                problems.append(f"The history branch was not updated: {exc}. {PERMISSIONS_FIX}")
            except QuotaExhaustedError as exc:
                problems.append(f"The history branch was not updated: {exc}.")

    def view() -> View:
        return View(
            report,
            _links(env, inputs, published),
            _chart_links(env, inputs, published, charts),
            tuple(alerts),
            env.server_url,
        )

    if "issue" in inputs.publish:
        with group("Updating the dashboard issue"):
            try:
                issue_url, notices = target.dashboard(
                    inputs.report_id,
                    inputs.issue_title,
                    issue_header_markdown(view()),
                    comment_markdown(view()),
                )
                for notice in notices:
                    log.log(NOTICE, notice)
                published = Published(
                    published.history_sha,
                    published.snapshot_path,
                    issue_url,
                    published.html_report_path,
                )
            except DashboardError as exc:
                if exc.status != 403:
                    problems.append(f"{exc} {PERMISSIONS_FIX}")
                else:
                    # A permission the workflow did not grant (SPEC §6): a notice with the fix,
                    # the rest of the run stands.
                    notes.append(f"The dashboard issue was not updated: {exc} {PERMISSIONS_FIX}")
                    log.log(NOTICE, notes[-1])
            except QuotaExhaustedError as exc:
                # The collection may have spent the quota: say so, and still write the summary.
                problems.append(f"The dashboard issue was not updated: {exc}.")
    if "summary" in inputs.publish and env.step_summary is not None:
        markdown = summary_markdown(view())
        for problem in problems:
            markdown += f"\n> [!CAUTION]\n> {problem.splitlines()[0]}\n"
        for note in notes:
            markdown += f"\n> [!NOTE]\n> {note.splitlines()[0]}\n"
        append_summary(env.step_summary, markdown)
    return published, problems


def _write_workspace(workspace: Path, report_id: str, html: bytes, charts: Sequence[Chart]) -> None:
    """The HTML report and charts next to report.json, for a later upload-artifact step."""
    folder = workspace / ".ghaction-metrics" / report_id
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    (folder / "report.html").write_bytes(html)
    for old in (folder / "charts").glob("*.png"):
        old.unlink()  # a self-hosted runner keeps its workspace: no chart of an earlier run
    for chart in charts:
        (folder / "charts" / chart.name).write_bytes(chart.png)


def _publish_history(
    inputs: Inputs,
    env: RunnerEnv,
    sink: Sink,
    report: Report,
    document: dict[str, object],
    extra_files: Mapping[str, bytes],
    history: History,
    pruned: Sequence[str],
    backfill: Mapping[str, bytes],
    own: Mapping[str, Sequence[FigureRow]],
    trend: pd.DataFrame,
    charts: Sequence[Chart],
    alerts: Sequence[AlertResult],
) -> Published:
    rid = inputs.report_id
    path = snapshot_path(rid, report, env.run_id)
    html_path = html_report_path(rid)
    # The per-run HTML reports of older versions leave the tip: the latest report replaces
    # them all. (A re-run's earlier snapshot is among ``pruned``: see publish.)
    stale = [
        existing
        for existing in history.files
        if existing.startswith(old_reports_folder(rid))
        # Charts this run does not draw (no data, or merged into another figure since) would
        # otherwise stay at the tip, out of date, with nothing showing them.
        or (
            existing.startswith(charts_folder(rid))
            and existing not in {chart_path(rid, c) for c in charts}
        )
    ]
    body = _encode(document)
    if f"{rid}/{TREND_INDEX}" in history.files:
        stale.append(f"{rid}/{TREND_INDEX}")  # older versions' index: the CSVs replace it
    report_ids = {p.split("/", 1)[0] for p in snapshot_files_all(history.files)} | {rid}
    # The pages sit next to the charts folder: they show the charts of their own commit.
    html = report_html(report, charts, alerts, env.server_url, chart_folder="charts/")
    latest = html_path.rsplit("/", 1)[1]
    files: dict[str, bytes] = {
        **extra_files,
        **backfill,
        path: body,
        html_path: html,
        f"{rid}/index.html": index_html(
            rid, trend, charts, latest, str(inputs.timezone), chart_folder="charts/"
        ),
        f"{rid}/{SCRIPT_FILE}": SCRIPT.encode(),
        "index.html": root_index_html(sorted(report_ids)),
        # Pages would otherwise run the branch through Jekyll, which skips nothing we need
        # but takes minutes; the files are plain HTML already.
        ".nojekyll": b"",
    }
    for chart in charts:
        files[chart_path(rid, chart)] = chart.png
    deletions = sorted((set(stale) | set(pruned)) - set(files))
    figures = {**history.figures, **{p or path: rows for p, rows in own.items()}}
    exports = _exports(rid, history, deletions, files, figures, own.get("", []))
    files.update(exports.files)
    deletions = sorted(set(deletions) | set(exports.deletions))
    # What the tip holds already is not sent again: no blob request, no bytes.
    files = {p: data for p, data in files.items() if history.files.get(p) != git_blob_sha(data)}
    sha = sink.commit(
        inputs.history_branch, files, f"metrics: {rid} snapshot of run {env.run_id}", deletions
    )
    log.info("Snapshot %s committed as %s", path, sha)
    return Published(history_sha=sha, snapshot_path=path, html_report_path=html_path)


def _exports(
    report_id: str,
    history: History,
    deletions: Sequence[str],
    files: Mapping[str, bytes],
    figures: Mapping[str, Sequence[FigureRow]],
    latest: Sequence[FigureRow],
) -> Exports:
    """The CSV and OpenMetrics exports of the branch as this commit leaves it, from the
    rows of every snapshot it holds (``figures``, by path) and this run's (``latest``)."""
    after = {p: b for p, b in history.files.items() if p not in set(deletions)}
    after.update((p, git_blob_sha(data)) for p, data in files.items())
    # ``before`` is the history as the trends see it, without the snapshots retention
    # prunes; they were on the branch, and their week's rows must go with them.
    before = {**{p: "" for p in deletions}, **history.files}
    return export_files(report_id, before, after, figures, latest, history.exports_behind)


def snapshot_files_all(files: Mapping[str, str]) -> list[str]:
    """Snapshot paths of every report id on the branch (for the root page's list)."""
    ids = {p.split("/", 1)[0] for p in files if p.count("/") == 2 and "/snapshots/" in p}
    return [s.path for rid in ids for s in snapshot_files(files, rid)]
