"""The offline demo: the action end to end against the built-in GitHub emulator.

``python -m ghaction_metrics_dev.demo [--out DIR]`` (or ``scripts/demo [DIR]``) generates the
demo organisation, serves it on 127.0.0.1, runs ``entrypoint.py`` exactly as a runner would,
writes what the action published (job summary, dashboard issue and comment, history branch with
its charts, HTML report and trends page, outputs, log) to DIR, and prints its headline figures
beside the demo data's truth.

``--screenshots DIR`` also renders the job summary as GitHub would (cmark-gfm) and takes
screenshots of it and of the HTML report in headless Chromium: the README's pictures come from
``.venv/bin/python -m ghaction_metrics_dev.demo --screenshots docs/images``.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ghaction_metrics.metrics.report import format_number
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.dataset.truth import HeadlineTruth
from ghaction_metrics_dev.emulator.harness import (
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer

log = logging.getLogger("ghaction_metrics_dev.demo")

# The demo organisation's people in teams (input teams), one of them (maya-ross) in none.
TEAMS_PATH = ".github/teams.yml"
TEAMS_FILE = """\
# Who is in which team: logins, as in the input teams (see the README's Teams section).
web: [alice-chen, bmartinez, dkowalski, liam-oconnor]
platform: [emma-lund, farid-h, grace-obi, hiro-tanaka, ines-costa]
data: [jonas-weber, kpatel]
"""


def run_demo(
    out: Path, seed: int = 7, repositories: str = "acme/*", screenshots: Path | None = None
) -> int:
    dataset = generate_dataset(seed=seed, now=datetime.now(UTC).replace(microsecond=0))
    home = dataset.home_repository
    tokens = workflow_tokens(dataset.workflow_login)
    out.mkdir(parents=True, exist_ok=True)
    with EmulatorServer(dataset.world, tokens) as server, tempfile.TemporaryDirectory() as tmp:
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=home,
            workspace=Path(tmp) / "workspace",
            overrides={"repositories": repositories, "teams": TEAMS_PATH},
        )
        # The checkout of the repository running the workflow holds the teams file.
        teams_file = Path(tmp) / "workspace" / TEAMS_PATH
        teams_file.parent.mkdir(parents=True, exist_ok=True)
        teams_file.write_text(TEAMS_FILE, encoding="utf-8")
        log.info("Emulator at %s serving %s; running the action", server.url, home)
        result = run_action(env)
        requests = server.requests
        with server.lock:
            repo = dataset.world.repositories[home]
            history = branch_files(repo, "metrics")
            dashboards = [i for i in repo.issues if "ghaction-metrics:dashboard" in i.body]
            report_path = result.outputs.get("report-json")
            report_json = (result.workspace / report_path).read_bytes() if report_path else b""
            html_file = result.workspace / ".ghaction-metrics" / "default" / "report.html"
            report_html = html_file.read_bytes() if html_file.exists() else b""
    (out / "job-summary.md").write_text(result.summary, encoding="utf-8")
    (out / "action-log.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    (out / "outputs.json").write_text(json.dumps(result.outputs, indent=2) + "\n", encoding="utf-8")
    if report_json:
        (out / "report.json").write_bytes(report_json)
    dashboard_dir = out / "dashboard-issue"
    dashboard_dir.mkdir(exist_ok=True)
    for issue in dashboards:
        (dashboard_dir / f"issue-{issue.number}.md").write_text(
            f"# {issue.title}\n\n{issue.body}\n", encoding="utf-8"
        )
        for comment in issue.comments:
            (dashboard_dir / f"issue-{issue.number}-comment-{comment.id}.md").write_text(
                comment.body + "\n", encoding="utf-8"
            )
    for path, content in history.items():
        target = out / "history-branch" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    views = _views(out, history, report_html)
    if screenshots is not None:
        _screenshots(out, screenshots, result.summary)
    comparison: list[str] = []
    if report_json:
        current = json.loads(report_json)["current"]
        since = datetime.fromisoformat(current["window"]["since"].replace("Z", "+00:00"))
        until = datetime.fromisoformat(current["window"]["until"].replace("Z", "+00:00"))
        names = json.loads(report_json)["repositories"]
        truth = dataset.truth.headline(names, since, until)
        (out / "ground-truth.json").write_text(
            json.dumps(asdict(truth), indent=2, default=str) + "\n", encoding="utf-8"
        )
        comparison = [
            "",
            f"Headline figures from {since:%Y-%m-%d} to {until:%Y-%m-%d}: the action's "
            "(report.json) beside the demo data's truth (ground-truth.json):",
            *(f"  {row}" for row in truth_table(current, truth)),
        ]
    rest = sum(1 for r in requests if r.kind == "rest")
    graphql = [r for r in requests if r.kind == "graphql"]
    points = sum(r.graphql_cost or 0 for r in graphql)
    lines = [
        f"The action exited with {result.returncode}.",
        f"API requests: {rest} REST, {len(graphql)} GraphQL ({points} points).",
        f"Everything it published is in {out.resolve()}:",
        "  job-summary.md          the job summary (GITHUB_STEP_SUMMARY)",
        "  dashboard-issue/        the dashboard issue body and its report comment",
        "  history-branch/         the files on the 'metrics' branch",
        *views,
        "  outputs.json            the action outputs (GITHUB_OUTPUT)",
        "  report.json             the snapshot written to the workspace",
        "  ground-truth.json       the demo data's true headline values, for comparison",
        "  action-log.txt          the action's log as the runner would show it",
        *comparison,
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return result.returncode


def _views(out: Path, history: dict[str, bytes], report_html: bytes) -> list[str]:
    """The charts, this run's HTML report and the trends page, copied to the top of DIR."""
    lines = []
    charts = {p: c for p, c in history.items() if p.startswith("default/charts/")}
    if charts:
        (out / "charts").mkdir(exist_ok=True)
        for path, content in charts.items():
            (out / "charts" / path.rsplit("/", 1)[1]).write_bytes(content)
        lines.append("  charts/                 the charts (PNG) shown in the summary and comment")
    if report_html:
        (out / "report.html").write_bytes(report_html)
        lines.append("  report.html             this run's self-contained HTML report")
    if "default/index.html" in history:
        (out / "index.html").write_bytes(history["default/index.html"])
        if "default/explore.js" in history:  # the trends page's filters
            (out / "explore.js").write_bytes(history["default/explore.js"])
        # The trends page links each snapshot's report relative to itself: copy them alongside.
        for path, content in history.items():
            if path.startswith("default/reports/"):
                target = out / path.removeprefix("default/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        lines.append("  index.html              the trends page across all snapshots, to explore")
        lines.append("  explore.js              its filters: repository, cohort and period")
        lines.append("  reports/                the snapshots' HTML reports the trends page links")
    return lines


# What the demo compares: label, HeadlineTruth field, path to the figure in report.json's
# "current" (a median's path ends at its "median").
_HEADLINE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("deployments per day", "deployment_frequency", ("dora", "deployment_frequency")),
    ("lead time, hours", "lead_time_hours", ("dora", "lead_time_hours", "median")),
    ("change failure rate", "change_failure_rate", ("dora", "change_failure_rate")),
    ("recovery time, hours", "recovery_time_hours", ("dora", "recovery_time_hours", "median")),
    ("rework rate", "rework_rate", ("dora", "rework_rate")),
    ("deployments", "deployments", ("dora", "deployments")),
    ("cycle time, hours", "cycle_time_hours", ("pull_requests", "cycle_time_hours", "median")),
    (
        "time to first review, hours",
        "time_to_first_review_hours",
        ("pull_requests", "time_to_first_review_hours", "median"),
    ),
    (
        "time to first response, hours",
        "time_to_first_response_hours",
        ("pull_requests", "time_to_first_response_hours", "median"),
    ),
    ("merged pull requests", "merged_prs", ("pull_requests", "merged")),
    ("AI-assisted share", "ai_assisted_share", ("pull_requests", "ai_assisted_share")),
    ("bug rate, per 100 merged", "bug_rate", ("bugs", "rate_per_100")),
)


def truth_table(current: Mapping[str, Any], truth: HeadlineTruth) -> list[str]:
    """The headline figures of report.json's ``current`` beside the truth, as text rows,
    both written as the action's outputs write them (four decimals at most, – for none)."""
    rows = [("figure", "action", "truth", "")]
    for label, name, path in _HEADLINE:
        value: Any = current
        for key in path:
            value = None if value is None else value.get(key)
        action = format_number(value) or "–"
        expected = format_number(getattr(truth, name)) or "–"
        rows.append((label, action, expected, "same" if action == expected else "DIFFERS"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        f"{label:<{widths[0]}}  {action:>{widths[1]}}  {expected:>{widths[2]}}  {mark}".rstrip()
        for label, action, expected, mark in rows
    ]


_SUMMARY_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font: 14px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328;
  max-width: 1012px; margin: 0 auto; padding: 24px; }}
table {{ border-collapse: collapse; display: block; overflow: auto; margin-bottom: 16px; }}
th, td {{ border: 1px solid #d1d9e0; padding: 6px 13px; }}
tr:nth-child(2n) {{ background: #f6f8fa; }}
h2, h3 {{ border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }} img {{ max-width: 100%; }}
blockquote {{ border-left: .25em solid #d1242f; padding: 0 1em; color: #59636e; margin: 0; }}
code {{ background: #eff1f3; padding: .2em .4em; border-radius: 6px; font-size: 85%; }}
</style></head><body>{body}</body></html>"""


def _screenshots(out: Path, target: Path, summary: str) -> None:
    """The job summary as GitHub renders it, and the HTML report, as PNG screenshots."""
    import cmarkgfm  # type: ignore[import-untyped]  # dev requirement: demo and tests only
    from cmarkgfm.cmark import Options  # type: ignore[import-untyped]

    from ghaction_metrics_dev.browser import visit

    def local(match: re.Match[str]) -> str:
        # The summary's images point at the history branch on GitHub; use the same files.
        name = match.group(1)
        data = (out / "charts" / name).read_bytes()
        return "](data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    markdown = re.sub(r"\]\([^()\s]+/charts/([\w.-]+\.png)\?raw=true\)", local, summary)
    body = str(
        cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    )
    target.mkdir(parents=True, exist_ok=True)
    page = out / "job-summary.html"
    page.write_text(_SUMMARY_PAGE.format(body=body), encoding="utf-8")
    for source, name in ((page, "summary.png"), (out / "report.html", "report.png")):
        seen = visit(source, width=1100)
        if seen.errors:
            log.warning("%s logged errors: %s", source.name, seen.errors)
        (target / name).write_bytes(seen.screenshot)
        log.info("Screenshot of %s written to %s", source.name, target / name)


USAGE_EXAMPLES = """examples:
  scripts/demo [DIR] [OPTION...]
                               set up .venv if needed, then write the demo to DIR
                               (default demo-output)
  .venv/bin/python -m ghaction_metrics_dev.demo --screenshots docs/images
                               the README's pictures (after scripts/setup --with-browser)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ghaction_metrics_dev.demo",
        description=(
            "The action end to end, offline: generates the demo organisation, serves it from\n"
            "the built-in GitHub emulator on 127.0.0.1, runs the action as a runner would,\n"
            "writes what it published to --out and prints its headline figures beside the\n"
            "demo data's truth."
        ),
        epilog=USAGE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", type=Path, default=Path("demo-output"), metavar="DIR", help="output folder"
    )
    parser.add_argument("--seed", type=int, default=7, metavar="N", help="seed of the demo data")
    parser.add_argument(
        "--repositories", default="acme/*", metavar="LIST", help="the action's repositories input"
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        metavar="DIR",
        help="also write summary.png and report.png to this folder (needs Chromium)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return run_demo(args.out, args.seed, args.repositories, args.screenshots)


if __name__ == "__main__":
    sys.exit(main())
