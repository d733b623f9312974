"""The job summary and the report comment, rendered with GitHub's own Markdown engine
(cmark-gfm with its extensions) and read back: tables, inertness of user text, links that
create no back-references, and GitHub's size limits."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from markdown_check import live_mentions_and_references, render
from sample_reports import HOSTILE, sample_report

from ghaction_metrics.metrics.alerts import evaluate, parse_rules
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.views.markdown import (
    COMMENT_BUDGET_CHARS,
    ChartLink,
    Limits,
    View,
    change,
    comment_markdown,
    duration,
    evidence,
    issue_header_markdown,
    md_text,
    no_backlink_url,
    per_day,
    percent,
    summary_markdown,
    utf16_length,
)
from ghaction_metrics.views.markdown import (
    render as render_markdown,
)

LINKS = {
    "history": "https://github.com/acme/home/tree/metrics/default",
    "snapshot": "https://github.com/acme/home/blob/abc123/default/snapshots/s-run1.json",
    "issue": "https://github.com/acme/home/issues/7",
    "html_report": "https://github.com/acme/home/blob/abc123/default/reports/r-run1.html",
    "index": "https://github.com/acme/home/blob/abc123/default/index.html",
}
CHART = ChartLink(
    "Trends",
    "Trends over 3 snapshots",
    "https://github.com/acme/home/blob/abc123/default/charts/trends.png?raw=true",
)


def view(report: Report, server_url: str = "https://github.com", rules: str = "") -> View:
    return View(report, LINKS, (CHART,), evaluate(parse_rules(rules), report), server_url)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "–"), (0.25, "15 min"), (5.04, "5.0 h"), (47.9, "47.9 h"), (72, "3.0 d")],
)
def test_duration(value: float | None, expected: str) -> None:
    assert duration(value) == expected


def test_percent_and_frequency() -> None:
    assert percent(None) == "–"
    assert percent(0.2667) == "26.7%"
    assert per_day(2) == "2.00/day"
    assert per_day(0.5) == "3.50/week"


@pytest.mark.parametrize(
    ("current", "previous", "metric", "expected"),
    [
        (12, 10, "lead_time_hours", "🔴 ↑ +20% worse"),
        (8, 10, "lead_time_hours", "🟢 ↓ -20% better"),
        (2, 1, "deployment_frequency", "🟢 ↑ +100% better"),
        (0.1, 0, "change_failure_rate", "🔴 ↑ worse"),
        (3, 3, "merged_prs", "⚪ → no change"),
        (None, 3, "merged_prs", "–"),
    ],
)
def test_change_has_arrow_colour_and_verdict(
    current: float | None, previous: float | None, metric: str, expected: str
) -> None:
    assert change(current, previous, metric) == expected


def test_headline_table_renders_with_the_expected_cells() -> None:
    report = sample_report()
    tables = render(summary_markdown(view(report))).tables
    headline = tables[0]
    assert headline[0] == ["Metric", "Value", "n", "Level", "Previous", "Change"]
    rows = {row[0]: row for row in headline[1:]}
    assert set(rows) == {
        "Deployment frequency",
        "Lead time for changes (median)",
        "Change failure rate",
        "Failed deployment recovery time (median)",
        "Rework rate",
        "Pull request cycle time (median)",
        "Time to first review (median)",
        "Time to first response (median)",
        "AI-assisted share of merged pull requests",
        "Merged pull requests",
        "Bug rate (per 100 merged pull requests)",
    }
    dora = report.current.dora
    assert rows["Change failure rate"][1:4] == [percent(dora.change_failure_rate), "12", "low"]
    assert rows["Merged pull requests"][1] == "36"
    repositories = next(t for t in tables if t[0][0] == "Repository")
    assert [row[0] for row in repositories[1:]] == list(report.repositories)
    assert repositories[1][2] == str(dora.repositories[0].deployments)


def test_comment_tables_render_too() -> None:
    tables = render(comment_markdown(view(sample_report()))).tables
    assert tables[0][0][:4] == ["Metric", "Value", "n", "Level"]
    assert any(t[0][0] == "Repository" for t in tables)


def test_charts_are_images_with_their_text_alternative() -> None:
    for markdown in (
        summary_markdown(view(sample_report())),
        comment_markdown(view(sample_report())),
    ):
        assert render(markdown).images == [(CHART.url, CHART.alt)]


@pytest.mark.parametrize("template", ["summary", "comment", "header"])
def test_hostile_text_stays_inert(template: str) -> None:
    report = sample_report(hostile=True, report_id="team-a")
    rendered_view = view(report, rules="merged-prs < 1000")
    markdown = {
        "summary": summary_markdown,
        "comment": comment_markdown,
        "header": issue_header_markdown,
    }[template](rendered_view)
    parsed = render(markdown)
    assert live_mentions_and_references(markdown) == []
    assert "script" not in parsed.tags
    assert "<!-- ghaction-metrics" not in markdown
    # The only links are the ones the report means: its own pages and evidence.
    for href, _label in parsed.links:
        assert href.startswith(("https://github.com/acme/home/", "https://redirect.github.com/"))
    if template == "summary":
        text = "".join(parsed.scanned_text)
        assert "@\u200boctocat" in text  # shown, but not as a mention
        assert "not visible to the token" in text


def test_md_text_breaks_every_mention_and_reference() -> None:
    assert live_mentions_and_references(md_text(HOSTILE)) == []
    assert live_mentions_and_references(md_text("ping @a, @b/c, #1, x/y#2, GH-3")) == []
    assert md_text("a\nb | c") == "a b \\| c"


def test_evidence_links_do_not_back_reference() -> None:
    text = evidence("pr:12 in deployment 9", "acme/api", "https://github.com")
    parsed = render(text)
    assert parsed.links == [("https://redirect.github.com/acme/api/pull/12", "acme/api#\u200b12")]
    incident = render(evidence("acme/ops#5", "acme/api", "https://github.com"))
    assert incident.links == [("https://redirect.github.com/acme/ops/issues/5", "acme/ops#\u200b5")]


def test_evidence_keeps_its_words_apart_and_names_commits_readably() -> None:
    text = evidence("reverted by pr:80 and commit:" + "ab12" * 10, "acme/api", "https://github.com")
    assert text.startswith("reverted by [acme/api")
    assert ") and acme/api@\u200bab12ab1" in text
    assert "commit:" not in text


def test_gh_references_are_inert() -> None:
    for text in ("fixes GH-123", "see gh-7 and Gh-8"):
        assert live_mentions_and_references(text)  # the check sees them
        assert live_mentions_and_references(md_text(text)) == []


def test_a_tag_name_in_evidence_links_nothing() -> None:
    # Anyone who can push a tag chooses its name; it must not become a reference.
    for text in ("tag acme/storefront#7-29", "release acme/storefront#7", "tag GH-12"):
        markdown = evidence(text, "acme/api", "https://github.com")
        assert render(markdown).links == []
        assert live_mentions_and_references(markdown) == []
    markdown = evidence("pr:3 in tag acme/storefront#7-29", "acme/api", "https://github.com")
    assert render(markdown).links == [
        ("https://redirect.github.com/acme/api/pull/3", "acme/api#\u200b3")
    ]


def test_evidence_on_another_server_is_plain_inert_text() -> None:
    assert no_backlink_url("https://ghe.example.com", "acme/api", "pull", 1) is None
    markdown = evidence("pr:12 in deployment 9", "acme/api", "https://ghe.example.com")
    assert render(markdown).links == []
    assert live_mentions_and_references(markdown) == []


def test_alerts_are_shown_first() -> None:
    markdown = summary_markdown(
        view(sample_report(), rules="merged-prs < 100, lead-time-hours increases 5%")
    )
    caution = markdown.index("[!CAUTION]")
    assert caution < markdown.index("| Metric |")
    assert "merged-prs is 36" in markdown
    assert "Alert rules not evaluated" not in markdown


CUT_LINE = re.compile(
    r"(\d+) of (\d+) (repositories|deployments|deployment evidence sections) (?:is|are) not "
    r"shown here; the full table is in \[this run's snapshot\]\([^)]+\) on the history branch"
)


def test_300_repositories_and_2000_people_stay_within_githubs_limits() -> None:
    report = sample_report(repositories=300, people=2000, prs=60)
    big = view(report)
    summary = summary_markdown(big)
    comment = comment_markdown(big)
    assert len(summary.encode()) < 1024 * 1024
    assert utf16_length(comment) <= COMMENT_BUDGET_CHARS
    assert len(comment) < 65_536
    for markdown in (summary, comment):
        assert CUT_LINE.search(markdown), markdown[-2000:]
        assert LINKS["snapshot"] in markdown
        assert live_mentions_and_references(markdown) == []
    # The summary keeps every repository row; the evidence is what gets cut.
    assert "repositories are not shown" not in summary
    assert "deployment evidence sections are not shown" in summary
    assert "2000 of 2000 people are not shown here" in comment
    assert "| dev-1999 |" in summary
    hidden = sum(
        int(m.group(1)) for m in CUT_LINE.finditer(comment) if m.group(3) == "repositories"
    )
    table = next(t for t in render(comment).tables if t[0][0] == "Repository")
    shown = len(table) - 1
    assert shown + hidden == 300


def _with_outcomes(report: Report, count: int, failed_at: int) -> Report:
    """The first repository with ``count`` deployments, of which only one failed."""
    repo = report.current.dora.repositories[0]
    plain = next(o for o in repo.outcomes if not o.failed_by)
    failed = next(o for o in repo.outcomes if o.failed_by)
    outcomes = tuple(
        replace(
            failed if i == failed_at else plain,
            key=f"deployment {9000 + i}",
            time=plain.time + timedelta(hours=i),
        )
        for i in range(count)
    )
    dora = replace(
        report.current.dora,
        repositories=(replace(repo, outcomes=outcomes), *report.current.dora.repositories[1:]),
    )
    return replace(report, current=replace(report.current, dora=dora))


def test_cut_evidence_keeps_the_failed_deployment_and_its_rule_first() -> None:
    report = _with_outcomes(sample_report(), count=40, failed_at=37)
    markdown = comment_markdown(view(report))
    repository = report.current.dora.repositories[0].repository
    section = markdown[markdown.index(f"Deployments counted in {md_text(repository)}") :]
    section = section[: section.index("</details>")]
    rows = [line for line in section.splitlines() if line.startswith("| deployment 9")]
    assert rows, section
    assert len(rows) < 40  # the comment cuts this table
    assert rows[0].startswith("| deployment 9037 |")
    assert "| incident |" in rows[0]
    assert "1 failed" in section


def test_a_cut_people_table_says_in_plain_words_how_many_and_where_the_rest_is() -> None:
    report = sample_report(people=40)
    people = len(report.current.team.people) if report.current.team else 0
    assert people > 10
    markdown = render_markdown("summary.md.j2", view(report), Limits(people=10))
    line = next(x for x in markdown.splitlines() if "not shown" in x and "people" in x)
    assert f"{people - 10} of {people} people are not shown here" in line
    assert "the full table is in" in line
    assert LINKS["snapshot"] in line
