"""What a reader sees of the AI-assisted cohorts: the section of the summary and the comment,
the HTML report, and the charts with their text alternatives."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from markdown_check import Rendered, live_mentions_and_references, render
from metric_records import BOB, T0, h, linear, pull, repo, review

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import Report, build_report, outputs
from ghaction_metrics.records import Actor, Collection, PullRequest
from ghaction_metrics.views.ai_chart import adoption_panel, ai_chart, cohort_cycle_panel
from ghaction_metrics.views.html import report_html
from ghaction_metrics.views.markdown import View, comment_markdown, summary_markdown

COPILOT = Actor("Copilot", is_bot=True)
REVIEWER = Actor("copilot-pull-request-reviewer", is_bot=True)
NOW = h(24 * 14)
WINDOW = Window(T0, T0 + timedelta(days=14))


def _agent_pull(number: int, created: float, merged: float, asked_by: str) -> PullRequest:
    return dataclasses.replace(
        pull(number, created, merged, author=COPILOT, size=(20, 4)),
        commit_authors=("copilot-swe-agent",),
        co_authors=(f"{asked_by} <9+{asked_by}@users.noreply.github.com>",),
        reviews=(review(REVIEWER, "COMMENTED", created + 1, 3),),
        review_count=1,
    )


def _report(compare_to: str = "previous", per_person: str = "true") -> Report:
    pulls = [
        _agent_pull(1, 0, 10, "alice"),
        _agent_pull(2, 24 * 8, 24 * 8 + 30, "alice"),
        dataclasses.replace(
            pull(3, 2, 6, reviews=(review(BOB, "APPROVED", 3),)),
            co_authors=("Copilot <198982749+Copilot@users.noreply.github.com>",),
        ),
        *(pull(n, 24 * n, 24 * n + 4) for n in range(4, 12)),
    ]
    data = repo(pulls, linear(*((f"m{n}", n) for n in range(1, 12))))
    settings = Settings(deployment_source="merges", per_person=per_person, pseudonym_salt="s")
    collection = Collection((data,), (), 0, 0)
    return build_report(collection, settings, WINDOW, compare_to, NOW, "default")


def _cohort_table(tables: list[list[list[str]]]) -> dict[str, list[str]]:
    table = next(t for t in tables if t[0][0] == "Cohort" and "Merged (share)" in t[0])
    return {row[0]: row for row in table[1:]}


def test_the_summary_shows_each_cohort_with_its_n() -> None:
    rendered = render(summary_markdown(View(_report())))
    rows = _cohort_table(rendered.tables)
    assert list(rows) == ["Agent-authored", "Agent-assisted", "Human"]
    assert rows["Agent-authored"][1] == "2 (18.2% of 11)"
    assert rows["Agent-authored"][2] == "20.0 h (n 2)"  # cycle times 10 h and 30 h
    assert rows["Agent-authored"][6] == "24 (n 2)"  # lines
    assert rows["Agent-authored"][9] == "2 on 2"  # Copilot code review, never a person's
    assert rows["Agent-assisted"][1] == "1 (9.1% of 11)"
    assert rows["Human"][1] == "8 (72.7% of 11)"
    text = " ".join(rendered.scanned_text)
    assert "Asked the agent for its pull requests: alice (2)." in text
    assert "association, not an effect" in text
    weeks = next(t for t in rendered.tables if t[0][0] == "Week (from Monday)")
    assert weeks[1] == ["2026-11-02", "5", "1", "1", "40.0%"]
    assert weeks[2] == ["2026-11-09", "6", "1", "0", "16.7%"]
    assert not live_mentions_and_references(summary_markdown(View(_report())))


def test_the_comment_has_the_section_folded() -> None:
    text = comment_markdown(View(_report()))
    assert "<details><summary>AI-assisted work</summary>" in text
    assert _cohort_table(render(text).tables)["Human"][1] == "8 (72.7% of 11)"


@pytest.mark.parametrize(("per_person", "shown"), [("anonymous", "dev-"), ("false", None)])
def test_who_asked_follows_per_person(per_person: str, shown: str | None) -> None:
    text = summary_markdown(View(_report(per_person=per_person)))
    assert "alice" not in text
    if shown is None:
        assert "Asked the agent" not in text
    else:
        assert f"Asked the agent for its pull requests: {shown}" in text


def test_before_and_after_per_cohort_claims_no_significance_below_five() -> None:
    report = _report(compare_to="2026-11-09")
    rendered = render(summary_markdown(View(report)))
    table = next(t for t in rendered.tables if t[0][:2] == ["Cohort", "Figure"])
    rows = {(row[0], row[1]): row for row in table[1:]}
    assert rows[("Agent-authored", "cycle time")][2:4] == ["10.0 h (n 1)", "30.0 h (n 1)"]
    assert rows[("Human", "cycle time")][4].startswith("fewer than 5")


def test_the_html_report_has_the_cohort_table_and_charts() -> None:
    report = _report()
    chart = ai_chart(report)
    assert chart is not None
    assert chart.name == "ai-assisted-work.png"
    assert chart.png.startswith(b"\x89PNG")
    # One figure for the topic; its words are those of each panel, in the order drawn.
    cycle, adoption = cohort_cycle_panel(report), adoption_panel(report)
    assert cycle is not None
    assert adoption is not None
    assert chart.alt == f"AI-assisted work, 2 panels. {cycle.alt} {adoption.alt}"
    assert cycle.alt.startswith("Cycle time by cohort: agent-authored: median 20.0 h")
    assert "n=2" in cycle.alt
    assert "week of 2026-11-02: 1 agent-authored and 1 agent-assisted of 5 merged" in adoption.alt
    page = Rendered()
    page.feed(report_html(report, [chart], (), "https://github.com").decode())
    table = next(t for t in page.tables if t[0][:3] == ["Cohort", "Merged", "Share"])
    assert table[1][:4] == ["Agent-authored", "2", "18.2% n=11", "20.0 h n=2"]
    assert chart.alt in [alt for _, alt in page.images]


def test_the_output_is_the_share_of_merges_agents_wrote_or_helped_with() -> None:
    assert outputs(_report())["ai-assisted-share"] == "0.2727"  # 3 of 11
    empty = build_report(
        Collection((repo([], []),), (), 0, 0), Settings(), WINDOW, "none", NOW, "default"
    )
    assert outputs(empty)["ai-assisted-share"] == ""
    assert outputs(empty)["merged-prs"] == "0"
    # No cohort data and no Copilot usage: no AI-assisted work figure at all.
    assert ai_chart(empty) is None
