"""The HTML report and the trends page: autoescaped, self-contained, one page each."""

from __future__ import annotations

import re
from dataclasses import replace

from markupsafe import escape
from sample_reports import moved, sample_report, trend_of

from ghaction_metrics.metrics.alerts import evaluate, parse_rules
from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.trends import headline_table
from ghaction_metrics.views.charts import all_charts
from ghaction_metrics.views.html import CSP, index_html, report_html, root_index_html

REPORT = sample_report(hostile=True)
POINTS = trend_of(snapshot(REPORT, "1", "1"))
CHARTS = all_charts(REPORT, headline_table(POINTS))
# Attributes through which a page loads something: only inline data is allowed.
LOADS = re.compile(r"""\b(?:src|href|srcset|poster|data|action)\s*=\s*["']?([^"'\s>]+)""", re.I)


def _report() -> str:
    alerts = evaluate(parse_rules("merged-prs < 100"), REPORT)
    return report_html(REPORT, CHARTS, alerts, "https://github.com").decode()


def test_user_text_is_escaped() -> None:
    page = _report()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<!-- ghaction-metrics" not in page


def test_nothing_is_loaded_from_outside_the_file() -> None:
    for page in (
        _report(),
        index_html("default", POINTS, CHARTS, "reports/x.html").decode(),
        root_index_html(["default"]).decode(),
    ):
        # The trends page adds the hash of its one script to the same policy.
        assert f'content="{escape(CSP)}' in page
        assert "url(" not in page
        assert "@import" not in page
        for target in LOADS.findall(page):
            # Inline images, or links a reader follows (never loaded by the page itself).
            assert target.startswith("data:") or not target.startswith(("http", "//")), target


def test_charts_are_inline_with_their_text_alternative() -> None:
    page = _report()
    for chart in CHARTS:
        assert 'src="data:image/png;base64,' in page
        assert escape(chart.alt.split(".")[0]) in page


def test_report_shows_the_alerts_and_every_repository() -> None:
    page = _report()
    assert "1 alert fired" in page
    for name in REPORT.repositories:
        assert name in page


def test_trends_page_lists_every_snapshot_and_links_the_latest_report() -> None:
    document = snapshot(REPORT, "1", "1")
    trend = trend_of(*(moved(document, weeks) for weeks in (2, 1, 0)))
    page = index_html("team-a", trend, CHARTS, "reports/2026-r.html").decode()
    assert "3 snapshots on this branch." in page
    for day in ("2026-02-16", "2026-02-23", "2026-03-02"):
        assert page.count(f"<tr><td>{day}</td>") == 1
    assert 'href="reports/2026-r.html"' in page
    assert "(team-a)" in page


def test_evidence_names_pull_requests_and_commits_as_readers_know_them() -> None:
    # As the merges source and revert evidence name them inside a repository's records.
    repo = REPORT.current.dora.repositories[0]
    first, *rest = repo.outcomes
    merged = replace(first, key="pr:76", evidence="reverted by pr:80 and commit:" + "ab12" * 10)
    dora = replace(
        REPORT.current.dora,
        repositories=(
            replace(repo, outcomes=(merged, *rest)),
            *REPORT.current.dora.repositories[1:],
        ),
    )
    report = replace(REPORT, current=replace(REPORT.current, dora=dora))
    page = report_html(report, CHARTS, [], "https://github.com").decode()
    evidence = page[page.index("<h2>Evidence</h2>") :]
    assert not re.search(r"\b(?:pr|commit):[0-9a-f]", evidence)
    assert f"<td>{repo.repository}#76</td>" in evidence
    assert f"reverted by {repo.repository}#80 and {repo.repository}@ab12ab1" in evidence
