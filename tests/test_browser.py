"""The HTML report and the trends page in headless Chromium (Debian's chromium, installed by
``scripts/setup --with-browser``): they load with no console error and no request but the
file itself, and a screenshot shows what a reader sees."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sample_reports import sample_report, trend_of

from ghaction_metrics.metrics.alerts import evaluate, parse_rules
from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.trends import headline_table
from ghaction_metrics.views.charts import all_charts
from ghaction_metrics.views.html import index_html, report_html
from ghaction_metrics_dev.browser import visit

REPORT = sample_report(hostile=True)
POINTS = trend_of(snapshot(REPORT, "1", "1"))
CHARTS = all_charts(REPORT, headline_table(POINTS))


def _check(page: Path, screenshot: Path) -> None:
    seen = visit(page)
    assert seen.errors == []
    assert seen.requests == [page.resolve().as_uri()]
    screenshot.write_bytes(seen.screenshot)
    image = Image.open(io.BytesIO(seen.screenshot))
    assert image.size[0] == 1200
    assert image.size[1] > 600
    # Not a blank page: the charts and text put many colours on it.
    assert len(image.convert("RGB").resize((120, 120)).getcolors(maxcolors=100_000) or []) > 20


def test_html_report_loads_cleanly_and_offline(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    alerts = evaluate(parse_rules("merged-prs < 100"), REPORT)
    page.write_bytes(report_html(REPORT, CHARTS, alerts, "https://github.com"))
    _check(page, tmp_path / "report.png")


def test_trends_page_loads_cleanly_and_offline(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_bytes(index_html("default", POINTS, CHARTS, "reports/latest.html"))
    _check(page, tmp_path / "index.png")


def test_the_check_sees_requests_and_errors(tmp_path: Path) -> None:
    # The control: a page that reaches out and fails is caught by the same mechanism.
    page = tmp_path / "bad.html"
    page.write_text(
        '<!doctype html><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>',
        encoding="utf-8",
    )
    seen = visit(page)
    assert "http://127.0.0.1:9/x.png" in seen.requests
    assert "boom" in seen.errors


# What a reader sees: the rendered text, and the badges and change marks as elements.
READER_PROBES = {
    "levels": "[...document.querySelectorAll('span.level')].map(e => e.className)",
    "marks": "[...document.querySelectorAll('span.better, span.worse, span.same')].length",
}
RAW_MARKUP = ("<span", "</span", "<div", "class=", "&lt;", "&gt;", "&amp;lt;")


def test_the_report_shows_badges_and_marks_as_elements_not_markup(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(report_html(REPORT, CHARTS, [], "https://github.com"))
    seen = visit(page, probes=READER_PROBES)
    assert seen.text.strip()
    for raw in RAW_MARKUP:
        assert raw not in seen.text, raw
    assert "DORA level:" in seen.text
    assert seen.values["levels"], "no level badge is an element"
    assert all(c.startswith("level level-") for c in seen.values["levels"])
    assert seen.values["marks"] > 0, "no change mark is an element"


def test_the_trends_page_shows_no_markup_as_text(tmp_path: Path) -> None:
    page = tmp_path / "index.html"
    page.write_bytes(index_html("default", POINTS, CHARTS, "reports/latest.html"))
    seen = visit(page, probes=READER_PROBES)
    assert seen.text.strip()
    for raw in RAW_MARKUP:
        assert raw not in seen.text, raw
