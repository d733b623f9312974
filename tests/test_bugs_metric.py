"""The bug rate (SPEC §5): bug reports opened per 100 merged pull requests, for the window and
per week, in the comparison, the outputs, the alerts, the snapshot and the trends.

Hand-built records; times are hours from T0, Monday 2026-11-02 00:00 UTC.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
from metric_records import ALICE, REPO, h, pull, repo
from sample_reports import trend_of

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.alerts import evaluate, parse_rules
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import Report, build_report, outputs, snapshot
from ghaction_metrics.metrics.trends import headline_table
from ghaction_metrics.records import Actor, BugReport, Collection, RepositoryData

SCHEMA = Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v2.schema.json"
WEEK = 7 * 24
DEPENDABOT = Actor("dependabot", True)


def bug(number: int, opened: float, labels: tuple[str, ...] = ("bug",)) -> BugReport:
    return BugReport(
        REPO, number, f"Bug {number}", f"https://example.test/{number}", h(opened), labels
    )


def _data(bugs: tuple[BugReport, ...], *merged_at: float) -> RepositoryData:
    pulls = [pull(100 + i, at - 5, at) for i, at in enumerate(merged_at)]
    pulls += [
        pull(200, 10, 20, author=DEPENDABOT),  # a bot's: not in merged-prs, nor here
        pull(201, 10, 30, base="release/1.x"),  # not a counted base branch
        pull(202, 10, None),  # open
    ]
    return replace(repo(pulls, []), bugs=bugs)


def _report(data: RepositoryData, compare_to: str = "previous", zone: str = "UTC") -> Report:
    tz = ZoneInfo(zone)
    window = Window(h(2 * WEEK), h(4 * WEEK), tz)
    collection = Collection((data,), (), 0, 0)
    return build_report(collection, Settings(timezone=tz), window, compare_to, h(4 * WEEK), "d")


def test_window_and_weeks_count_bug_reports_per_100_merged_pull_requests() -> None:
    bugs = (bug(1, 2 * WEEK + 30), bug(2, 3 * WEEK + 1), bug(3, 3 * WEEK + 50), bug(4, 2))
    data = _data(bugs, 2 * WEEK + 10, 2 * WEEK + 20, 2 * WEEK + 40, 3 * WEEK - 1)
    report = _report(data)
    rate = report.current.pulls.bugs
    assert (rate.opened, rate.merged_prs) == (3, 4) == (3, report.current.pulls.merged)
    assert rate.rate_per_100 == 75.0
    assert [(w.start, w.opened, w.merged_prs, w.rate_per_100, w.partial) for w in rate.weeks] == [
        (date(2026, 11, 16), 1, 4, 25.0, False),
        (date(2026, 11, 23), 2, 0, None, False),  # bugs, but nothing merged: no data
    ]
    assert outputs(report)["bug-rate"] == "75"
    # The previous window had one bug report and no merged pull request.
    assert report.previous is not None
    assert report.previous.pulls.bugs.opened == 1
    assert report.previous.pulls.bugs.rate_per_100 is None


def test_no_merged_pull_request_is_no_data_never_zero() -> None:
    report = _report(_data((bug(1, 2 * WEEK + 30),)))
    assert report.current.pulls.bugs.rate_per_100 is None
    assert outputs(report)["bug-rate"] == ""
    quiet = _report(_data((), 2 * WEEK + 10))
    assert quiet.current.pulls.bugs.rate_per_100 == 0.0
    assert outputs(quiet)["bug-rate"] == "0"


def test_weeks_are_in_the_timezone() -> None:
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the bug belongs to the next week there.
    sunday_night = 3 * WEEK - 0.5
    data = _data((bug(1, sunday_night),), 2 * WEEK + 10, 3 * WEEK + 10)
    utc = _report(data).current.pulls.bugs.weeks
    berlin = _report(data, zone="Europe/Berlin").current.pulls.bugs.weeks
    assert [w.opened for w in utc] == [1, 0]
    assert {w.start: w.opened for w in berlin} == {
        date(2026, 11, 16): 0,
        date(2026, 11, 23): 1,
        date(2026, 11, 30): 0,  # the window's last hour, Monday 00:00-01:00 in Berlin
    }


def test_comparison_says_a_lower_bug_rate_is_better() -> None:
    previous = (bug(1, 10), bug(2, 20))  # 2 per 2 merged: 100
    current = (bug(3, 2 * WEEK + 10),)  # 1 per 4 merged: 25
    data = _data(previous + current, 5, 30, *(2 * WEEK + x for x in (1, 2, 3, 4)))
    report = _report(data)
    assert report.comparison is not None
    (delta,) = [d for d in report.comparison.deltas if d.metric == "bug_rate"]
    assert (delta.previous, delta.current, delta.direction) == (100.0, 25.0, "better")


def test_before_after_a_date_has_the_bug_rate_on_each_side() -> None:
    data = _data((bug(1, 2 * WEEK + 10), bug(2, 3 * WEEK + 10)), 2 * WEEK + 5, 3 * WEEK + 5)
    tz = ZoneInfo("UTC")
    window = Window(h(2 * WEEK), h(3 * WEEK), tz)
    report = build_report(
        Collection((data,), (), 0, 0), Settings(), window, "2026-11-23", h(4 * WEEK), "d"
    )
    assert report.comparison is not None
    before, after = report.comparison.before, report.comparison.after
    assert (before.pulls.bugs.opened, before.pulls.bugs.merged_prs) == (1, 1)
    assert (after.pulls.bugs.opened, after.pulls.bugs.merged_prs) == (1, 1)
    document = snapshot(report, "1", "1")
    assert document["comparison"]["before"]["bugs"]["rate_per_100"] == 100.0


def test_alerts_on_bug_rate_need_three_merged_pull_requests() -> None:
    rules = parse_rules("bug-rate > 50")
    few = _report(_data((bug(1, 2 * WEEK + 30),), 2 * WEEK + 10, 2 * WEEK + 11))
    (result,) = evaluate(rules, few)
    assert not result.fired
    assert result.message == "not evaluated: insufficient data (n=2, needs 3)"
    enough = _report(_data((bug(1, 2 * WEEK + 30),) * 2, *(2 * WEEK + x for x in (1, 2, 3))))
    (result,) = evaluate(rules, enough)
    assert result.fired
    assert result.message == "bug-rate is 66.6667 (bug-rate > 50)"


def test_snapshot_holds_the_bug_rate_and_the_trends_read_it() -> None:
    data = _data((bug(1, 2 * WEEK + 30),), 2 * WEEK + 10, 2 * WEEK + 40, 3 * WEEK + 2)
    document = json.loads(json.dumps(snapshot(_report(data), "7", "1")))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    bugs = document["current"]["bugs"]
    assert {k: bugs[k] for k in ("opened", "merged_prs")} == {"opened": 1, "merged_prs": 3}
    assert bugs["rate_per_100"] == 100 / 3
    assert bugs["weeks"][0] == {
        "start": "2026-11-16",
        "opened": 1,
        "merged_prs": 2,
        "rate_per_100": 50.0,
        "partial": False,
    }
    assert headline_table(trend_of(document))["bug-rate"].tolist() == [100 / 3]
    # A snapshot written before the bug rate was measured: no data, not unreadable.
    del document["current"]["bugs"]
    assert headline_table(trend_of(document))["bug-rate"].isna().all()


def test_records_of_every_repository_count_and_an_author_is_no_filter() -> None:
    other = RepositoryData(
        info=replace(_data(()).info, full_name="acme/web"),
        pull_requests=(pull(300, 2 * WEEK, 2 * WEEK + 3, author=ALICE, repository="acme/web"),),
        bugs=(replace(bug(9, 2 * WEEK + 4), repository="acme/web"),),
    )
    data = _data((bug(1, 2 * WEEK + 30),), 2 * WEEK + 10)
    tz = ZoneInfo("UTC")
    report = build_report(
        Collection((data, other), (), 0, 0),
        Settings(exclude_authors=frozenset({"alice"})),
        Window(h(2 * WEEK), h(4 * WEEK), tz),
        "none",
        h(4 * WEEK),
        "d",
    )
    # Excluded authors leave the denominator (as they leave merged-prs); bug reports stay.
    rate = report.current.pulls.bugs
    assert (rate.opened, rate.merged_prs, rate.rate_per_100) == (2, 0, None)
    assert outputs(report)["merged-prs"] == "0"
