"""What a reader sees of Copilot usage: the summary and comment block, the HTML report, the
chart, and the snapshot section (valid against the snapshot schema)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import jsonschema
from markdown_check import render
from PIL import Image
from sample_reports import NOW, sample_report

from ghaction_metrics.metrics.report import Report, snapshot
from ghaction_metrics.metrics.usage import summarize_usage
from ghaction_metrics.records import CopilotDay, CopilotUsage
from ghaction_metrics.views.ai_chart import (
    adoption_panel,
    ai_chart,
    cohort_cycle_panel,
    usage_panel,
)
from ghaction_metrics.views.charts import DPI
from ghaction_metrics.views.html import report_html
from ghaction_metrics.views.markdown import View, comment_markdown, summary_markdown

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v2.schema.json"
    ).read_text()
)


def _usage() -> CopilotUsage:
    # 40 days up to the window's end: the whole window and 10 days of the previous one.
    last = NOW.date() - timedelta(days=1)
    days = tuple(
        CopilotDay(
            day=last - timedelta(days=n),
            daily_active_users=10 + n % 5,
            weekly_active_users=20,
            user_initiated_interaction_count=7,
            code_generation_activity_count=100,
            code_acceptance_activity_count=25 + n % 2,
        )
        for n in range(39, -1, -1)
    )
    return CopilotUsage("acme", days, 3)


def _with_usage(report: Report, usage: CopilotUsage) -> Report:
    assert report.previous is not None
    previous = replace(report.previous, usage=summarize_usage(usage, report.previous.window))
    return replace(
        report,
        current=replace(report.current, usage=summarize_usage(usage, report.current.window)),
        previous=previous,
    )


def _expected(report: Report) -> tuple[str, str, str]:
    usage = report.current.usage
    assert usage is not None
    assert usage.mean_daily_active_users is not None
    assert usage.acceptance_rate is not None
    return (
        f"{usage.mean_daily_active_users:.1f}",
        f"{usage.acceptance_rate * 100:.1f}%",
        f"{usage.accepted} of {usage.shown}",
    )


def test_the_summary_and_comment_show_the_usage_beside_the_outcomes() -> None:
    report = _with_usage(sample_report(), _usage())
    daily, rate, counts = _expected(report)
    for markdown in (summary_markdown(View(report)), comment_markdown(View(report))):
        page = render(markdown)
        table = next(t for t in page.tables if t[0][0] == "Copilot usage")
        assert table[0] == ["Copilot usage", "Value", "n", "Previous"]
        rows = {row[0]: row[1:] for row in table[1:]}
        assert rows["Daily active users (mean)"][:2] == [daily, "30 days"]
        assert rows["Weekly active users (mean)"][:2] == ["20.0", "30 days"]
        assert rows["Suggestions accepted"][:2] == [rate, counts]
        # The previous window has 10 report days; its figures are shown beside.
        assert rows["Daily active users (mean)"][2] != "–"
        assert "Copilot usage (acme)" in "\n".join(page.scanned_text)
        assert "30 of the window's 30 days reported" in "\n".join(page.scanned_text)


def test_the_html_report_shows_the_same_figures() -> None:
    report = _with_usage(sample_report(), _usage())
    daily, rate, counts = _expected(report)
    page = report_html(report, [], [], "https://github.com").decode()
    assert "<h2>Copilot usage (acme)</h2>" in page
    assert f"<td>Daily active users (mean)</td><td>{daily}</td><td>30 days</td>" in page
    assert f"<td>Suggestions accepted</td><td>{rate}</td><td>{counts}</td>" in page


def test_without_usage_there_is_no_block_no_chart_and_a_null_section() -> None:
    report = sample_report()
    # (The AI-assisted work section names the Copilot agent; the usage block is what is absent.)
    for markdown in (summary_markdown(View(report)), comment_markdown(View(report))):
        assert "Copilot usage" not in markdown
    assert "Copilot usage" not in report_html(report, [], [], "https://github.com").decode()
    assert usage_panel(report) is None
    # The AI-assisted work figure has its cohort panels only.
    chart = ai_chart(report)
    assert chart is not None
    assert chart.alt.startswith("AI-assisted work, 2 panels. Cycle time by cohort: ")
    assert "Copilot usage" not in chart.alt
    document = snapshot(report, "1", "1")
    assert document["current"]["copilot_usage"] is None
    jsonschema.validate(document, SCHEMA)


def test_a_window_no_report_covers_says_so() -> None:
    report = sample_report()
    early = CopilotUsage("acme", (), 1)
    report = replace(
        report, current=replace(report.current, usage=summarize_usage(early, report.current.window))
    )
    text = "\n".join(render(summary_markdown(View(report))).scanned_text)
    assert "No Copilot usage report covers the window's days yet." in text


def test_the_chart_shows_every_day_read_and_says_what_it_shows() -> None:
    report = _with_usage(sample_report(), _usage())
    panel = usage_panel(report)
    assert panel is not None
    first = NOW.date() - timedelta(days=40)
    last = NOW.date() - timedelta(days=1)
    assert panel.alt.startswith(f"Copilot usage over 40 days, {first} to {last}:")
    assert "daily active users from 10 to 14" in panel.alt
    assert "suggestions accepted from 25.0% to 26.0% a day" in panel.alt
    # The usage is the last panel of the AI-assisted work figure, after the cohorts'.
    chart = ai_chart(report)
    assert chart is not None
    assert chart.png.startswith(b"\x89PNG")
    assert chart.alt.startswith("AI-assisted work, 3 panels. Cycle time by cohort: ")
    assert chart.alt.endswith(" " + panel.alt)
    panels = (cohort_cycle_panel(report), adoption_panel(report), panel)
    height = sum(p.height for p in panels if p is not None)
    assert Image.open(io.BytesIO(chart.png)).size == (7 * DPI, round(height * DPI))


def test_usage_without_cohort_data_is_a_figure_of_its_own_panel() -> None:
    report = _with_usage(sample_report(), _usage())
    empty = replace(report.current.cohorts, cohorts=(), weeks=())
    chart = ai_chart(replace(report, current=replace(report.current, cohorts=empty)))
    panel = usage_panel(report)
    assert chart is not None
    assert panel is not None
    assert chart.alt == f"AI-assisted work, 1 panel. {panel.alt}"
    assert Image.open(io.BytesIO(chart.png)).size == (7 * DPI, round(panel.height * DPI))


def test_the_snapshot_section_holds_the_figures_and_the_days() -> None:
    report = _with_usage(sample_report(), _usage())
    document = snapshot(report, "1", "1")
    jsonschema.validate(document, SCHEMA)
    section = document["current"]["copilot_usage"]
    usage = report.current.usage
    assert usage is not None
    assert section["organization"] == "acme"
    assert (section["days"], section["period_days"]) == (30, 30)
    assert section["mean_daily_active_users"] == usage.mean_daily_active_users
    assert section["code_generation_activity_count"] == 3000
    assert section["code_acceptance_activity_count"] == usage.accepted
    assert section["acceptance_rate"] == usage.accepted / 3000
    assert [d["day"] for d in section["per_day"]] == [d.day.isoformat() for d in usage.series]
    assert document["previous"]["copilot_usage"]["days"] == 10
