"""The bug rate as readers see it: its row (with the counts behind it) in the job summary and
the comment, the before/after table, the HTML report and the trends page."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from markdown_check import render
from metric_records import h
from sample_reports import trend_of
from test_bugs_metric import WEEK, _data, _report, bug

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import Report, build_report, snapshot
from ghaction_metrics.records import Collection
from ghaction_metrics.views.html import index_html, report_html
from ghaction_metrics.views.markdown import View, comment_markdown, summary_markdown

LABEL = "Bug rate (per 100 merged pull requests)"


def _row(report: Report, markdown: str | None = None) -> list[str]:
    text = markdown if markdown is not None else summary_markdown(View(report))
    headline = render(text).tables[0]
    (row,) = [r for r in headline if r[0] == LABEL]
    return row


def _improving() -> Report:
    previous = (bug(1, 10), bug(2, 20))  # 2 bug reports, 2 merged: 100
    current = (bug(3, 2 * WEEK + 10),)  # 1 bug report, 4 merged: 25
    return _report(_data(previous + current, 5, 30, *(2 * WEEK + x for x in (1, 2, 3, 4))))


def test_summary_and_comment_show_the_rate_its_counts_and_its_change() -> None:
    report = _improving()
    expected = [LABEL, "25.0 (1 bug report opened)", "4", "–", "100.0", "🟢 ↓ -75% better"]
    assert _row(report) == expected
    assert _row(report, comment_markdown(View(report))) == expected


def test_no_merged_pull_request_shows_no_data_with_the_bug_reports_counted() -> None:
    report = _report(_data((bug(1, 2 * WEEK + 30), bug(2, 2 * WEEK + 31))))
    assert _row(report)[:4] == [LABEL, "– (2 bug reports opened)", "0", "–"]


def test_before_and_after_a_date_has_a_bug_rate_row() -> None:
    data = _data(
        (bug(1, 2 * WEEK + 10), bug(2, 2 * WEEK + 11), bug(3, 3 * WEEK + 10)),
        2 * WEEK + 5,
        3 * WEEK + 5,
        3 * WEEK + 6,
    )
    report = build_report(
        Collection((data,), (), 0, 0),
        Settings(),
        Window(h(2 * WEEK), h(3 * WEEK), ZoneInfo("UTC")),
        "2026-11-23",
        h(4 * WEEK),
        "d",
    )
    tables = render(summary_markdown(View(report))).tables
    (before_after,) = [t for t in tables if t[0][:3] == ["Figure", "Before", "After"]]
    (row,) = [r for r in before_after if r[0] == "bug rate"]
    assert row[1:4] == ["200", "50", "🟢 better (-75%)"]


def test_html_report_and_trends_page_show_the_bug_rate() -> None:
    report = _improving()
    page = report_html(report, [], [], "https://github.com").decode()
    assert (
        "Bug rate: <strong>25.0</strong> per 100 merged pull requests (1 bug report opened, "
        "4 pull requests merged)" in page
    )
    assert "(was 100.0)" in page
    trends = index_html("default", trend_of(snapshot(report, "1", "1")), [], None).decode()
    assert "<th>Bug rate per 100 PRs</th>" in trends
    assert f"<td>{report.current.pulls.merged}</td><td>25.0</td>" in trends
