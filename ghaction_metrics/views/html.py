"""The HTML views: the latest run's report and the trends page (``index.html``) across all
snapshots, ready for GitHub Pages from the history branch.

Self-contained means no request leaves the file: charts are inline PNG data, styles are
inline, there is no script, and a Content-Security-Policy that allows nothing else makes a
stray reference fail loudly instead of fetching. Jinja2's autoescape keeps user text inert.
The copies on the history branch instead show the charts committed next to them
(``chart_folder``), so a run does not store every chart three times in a branch everyone
clones; their policy allows images from the same site and nothing more.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ghaction_metrics.metrics.alerts import AlertResult
from ghaction_metrics.metrics.cohorts import cohort_changes
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.metrics.trends import DAILY_WEEKS, WEEKLY_WEEKS, headline_table, page_rows
from ghaction_metrics.views.charts import Chart
from ghaction_metrics.views.explore import (
    SCRIPT,
    SCRIPT_FILE,
    SCRIPT_SOURCE,
    page_data,
)
from ghaction_metrics.views.markdown import (
    TEMPLATES,
    change,
    duration,
    level,
    per_100,
    per_day,
    percent,
    readable_evidence,
    set_formation,
    without_bidi_controls,
)

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)
CSP_LINKED_CHARTS = CSP.replace("img-src data:", "img-src 'self' data:")


def data_uri(chart: Chart) -> str:
    return "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")


def _chart_sources(chart_folder: str | None) -> dict[str, Any]:
    """Template values: how an image names its chart, and the policy that lets it load."""
    if chart_folder is None:
        return {"chart_src": data_uri, "csp": CSP}
    return {"chart_src": lambda chart: chart_folder + chart.name, "csp": CSP_LINKED_CHARTS}


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html.j2"], default_for_string=True),
        # Every value printed loses bidirectional controls before it is escaped.
        finalize=without_bidi_controls,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        duration=duration,
        percent=percent,
        per_day=per_day,
        per_100=per_100,
        level=level,
        evidence=readable_evidence,
    )
    env.globals.update(
        change=change, cohort_changes=cohort_changes, csp=CSP, set_formation=set_formation
    )
    return env


def report_html(
    report: Report,
    charts: Sequence[Chart],
    alerts: Sequence[AlertResult],
    server_url: str,
    *,
    chart_folder: str | None = None,
) -> bytes:
    """This run's report as one HTML file; ``chart_folder`` (relative, ending in ``/``) shows
    the charts from there instead of inline."""
    context: dict[str, Any] = {
        "report": report,
        "charts": charts,
        "alerts": alerts,
        "fired": [a for a in alerts if a.fired],
        "server_url": server_url.rstrip("/"),
        **_chart_sources(chart_folder),
    }
    return environment().get_template("report.html.j2").render(context).encode("utf-8")


def index_html(
    report_id: str,
    trend: pd.DataFrame,
    charts: Sequence[Chart],
    latest: str | None,
    timezone: str = "UTC",
    *,
    chart_folder: str | None = None,
) -> bytes:
    """The trends page of one report id, from the trends' frame (metrics/trends.py
    ``windows``); ``latest`` is the latest HTML report, relative.
    Its script (the filters) is the only one its policy runs: inline, or, with
    ``chart_folder``, the file ``SCRIPT_FILE`` beside it, which does not change from run to
    run, so the history branch does not store it again with every page."""
    sources = _chart_sources(chart_folder)
    linked = chart_folder is not None
    script_source = "'self'" if linked else SCRIPT_SOURCE
    shown = page_rows(trend, timezone)
    table = headline_table(shown)
    windows = trend["until"].nunique()
    context: dict[str, Any] = {
        "report_id": report_id,
        "windows": windows,
        "rows": [_table_row(row) for row in reversed(table.to_dict("records"))],
        "daily_weeks": DAILY_WEEKS,
        "weekly_weeks": WEEKLY_WEEKS,
        "thinned": len(table) < windows,
        "charts": charts,
        "latest": latest,
        **sources,
        "csp": f"{sources['csp']}; script-src {script_source}",
        # Both are made safe for a script element by views/explore.py, not by HTML escaping.
        "explore_data": Markup(page_data(shown)),
        "explore_script": None if linked else Markup(SCRIPT),
        "explore_file": SCRIPT_FILE,
    }
    return environment().get_template("index.html.j2").render(context).encode("utf-8")


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the headline table for the template: NaN is no data, counts are ints."""
    shown = {key: None if pd.isna(value) else value for key, value in row.items()}
    merged = shown.get("merged-prs")
    if merged is not None:
        shown["merged-prs"] = int(merged)
    return shown


def root_index_html(report_ids: Sequence[str]) -> bytes:
    """The branch root's page: one link per report id's trends page."""
    context: dict[str, Any] = {"report_ids": sorted(report_ids)}
    return environment().get_template("root_index.html.j2").render(context).encode("utf-8")
