"""The Teams section of the summary, the comment and the HTML report: what a reader sees,
the per-person rules applied to member lists, inert team names and long tables cut."""

from __future__ import annotations

import pytest
from markdown_check import live_mentions_and_references, render
from sample_reports import HOSTILE, NOW, WINDOW, repository

from ghaction_metrics.inputs.teams import parse_teams
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import Report, build_report
from ghaction_metrics.metrics.team import pseudonym
from ghaction_metrics.records import Collection
from ghaction_metrics.views.html import report_html
from ghaction_metrics.views.markdown import (
    COMMENT_BUDGET_CHARS,
    View,
    comment_markdown,
    summary_markdown,
    utf16_length,
)

LOGINS = [f"dev-{i:04d}" for i in range(12)]
SALT = "s" * 16
SNAPSHOT = "https://github.com/acme/home/blob/abc123/default/snapshots/s-run1.json"
TEAMS = "payments: [{}]\nplatform: [{}]\n".format(", ".join(LOGINS[:5]), ", ".join(LOGINS[5:9]))


def report(teams: str | None = TEAMS, per_person: str = "true") -> Report:
    repos = tuple(repository(i, LOGINS) for i in range(3))
    settings = Settings(deployment_source="deployments", per_person=per_person, pseudonym_salt=SALT)
    listed = parse_teams(".github/teams.yml", teams) if teams is not None else None
    return build_report(
        Collection(repos, (), 1, 1), settings, WINDOW, "previous", NOW, "default", teams=listed
    )


def view(value: Report) -> View:
    return View(value, {"snapshot": SNAPSHOT})


def _table(markdown: str, first: str) -> list[list[str]]:
    return next(t for t in render(markdown).tables if t[0][0] == first)


def test_the_summary_shows_each_team_its_figures_and_who_reviews_whom() -> None:
    value = report()
    figures = value.current.teams
    assert figures is not None
    markdown = summary_markdown(view(value))
    assert "### Teams" in markdown
    table = _table(markdown, "Team")
    assert table[0] == [
        "Team", "Members", "Active", "Opened", "Merged", "Reviews given", "Commits",
        "Cycle time (median)", "Lines changed",
    ]  # fmt: skip
    rows = {row[0]: row for row in table[1:]}
    assert list(rows) == ["payments", "platform", "other"]
    payments = figures.teams[0]
    assert rows["payments"][1:7] == [
        "5", "5", str(payments.opened), str(payments.merged), str(payments.reviews_given),
        str(payments.commits),
    ]  # fmt: skip
    assert rows["payments"][7].endswith(f"(n={payments.cycle_time.n})")
    assert rows["other"][1] == "3"  # the three people the file does not name
    matrix = _table(markdown, "Reviewers ↓ · authors →")
    assert matrix[0][1:] == ["payments", "platform", "other"]
    cells = {row[0]: [int(c) for c in row[1:]] for row in matrix[1:]}
    assert sum(sum(row) for row in cells.values()) == figures.reviews
    assert cells["payments"][1] == figures.cell("payments", "platform")
    assert "- payments: dev-0000, dev-0001, dev-0002, dev-0003, dev-0004" in markdown


def test_the_comment_shows_the_teams_without_member_lists() -> None:
    markdown = comment_markdown(view(report()))
    assert "<summary>Teams (3)</summary>" in markdown
    assert [row[0] for row in _table(markdown, "Team")[1:]] == ["payments", "platform", "other"]
    assert "- payments:" not in markdown


def test_without_a_teams_file_nothing_changes() -> None:
    value = report(teams=None)
    assert value.current.teams is None
    for text in (
        summary_markdown(view(value)),
        comment_markdown(view(value)),
        report_html(value, [], [], "https://github.com").decode(),
    ):
        assert "Teams" not in text
        assert "Reviewers ↓" not in text


def _published(value: Report) -> list[str]:
    return [
        summary_markdown(view(value)),
        comment_markdown(view(value)),
        report_html(value, [], [], "https://github.com").decode(),
    ]


def test_with_per_person_false_no_member_is_named_but_the_team_figures_stay() -> None:
    value = report(per_person="false")
    for text in _published(value):
        assert not any(login in text for login in LOGINS), text
        assert "payments" in text
    assert _table(summary_markdown(view(value)), "Team")[1][0] == "payments"


def test_with_per_person_anonymous_members_appear_as_pseudonyms_only() -> None:
    value = report(per_person="anonymous")
    summary, _comment, page = _published(value)
    for text in (summary, page):
        assert not any(login in text for login in LOGINS)
        assert pseudonym("dev-0000", SALT) in text
        assert "(pseudonyms)" in text


def test_a_hostile_team_name_stays_inert() -> None:
    name = HOSTILE.replace("<!-- ghaction-metrics:report -->", "")[:100]
    value = report(teams=f"'{name.replace(chr(39), chr(39) * 2)}': [dev-0000]\n")
    assert value.current.teams is not None
    assert value.current.teams.teams[0].name == " ".join(name.split())
    for markdown in (summary_markdown(view(value)), comment_markdown(view(value))):
        assert live_mentions_and_references(markdown) == []
        assert "script" not in render(markdown).tags
        assert not [href for href, _ in render(markdown).links if "evil.example" in href]
    page = report_html(value, [], [], "https://github.com").decode()
    assert "<script>" not in page


def test_hundreds_of_teams_are_cut_with_a_line_saying_how_many_and_where() -> None:
    teams = "".join(f"team-{i:03d}: [{LOGINS[i % 12]}]\n" for i in range(400))
    value = report(teams=teams)
    comment = comment_markdown(view(value))
    assert utf16_length(comment) <= COMMENT_BUDGET_CHARS
    shown = len(_table(comment, "Team")) - 1
    line = next(x for x in comment.splitlines() if "teams are not shown" in x)
    assert f"{400 - shown} of 400 teams are not shown here" in line  # everyone is in a team
    assert SNAPSHOT in line
    matrix = _table(comment, "Reviewers ↓ · authors →")
    assert len(matrix) - 1 == len(matrix[0]) - 1 == min(shown, 20)
    summary = summary_markdown(view(value))
    assert len(_table(summary, "Team")) - 1 == 400  # the summary has room for every row
    assert "380 of 400 teams of the review matrix are not shown here" in summary
    page = report_html(value, [], [], "https://github.com").decode()
    assert "The first 50 of 400 teams are shown; the full matrix is in the snapshot." in page
    assert page.count("<tr><th>team-") == 50


@pytest.mark.parametrize("shared", [1, 2])
def test_people_in_two_teams_are_said_to_count_in_each(shared: int) -> None:
    extra = ", ".join(LOGINS[:shared])
    value = report(teams=TEAMS + f"reviewers: [{extra}]\n")
    markdown = summary_markdown(view(value))
    wording = (
        "person is in more than one team and counts"
        if shared == 1
        else ("people are in more than one team and count")
    )
    assert f"{shared} {wording} in each." in markdown
