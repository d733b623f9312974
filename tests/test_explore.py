"""The explorable trends page: the figure rows it embeds (the trends' frame), their
escaping, and the filters in headless Chromium: repository, cohort and period
redraw the charts and the table, the URL hash reproduces a view, nothing leaves the page."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sample_reports import sample_report, trend_of

from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.tidy import ALL_COHORTS, ALL_REPOSITORIES, FigureRow
from ghaction_metrics.metrics.trends import WEEKLY_WEEKS, headline_table, snapshot_time, windows
from ghaction_metrics.views.charts import all_charts
from ghaction_metrics.views.explore import (
    SCRIPT,
    SCRIPT_FILE,
    SCRIPT_SOURCE,
    script_json,
)
from ghaction_metrics.views.html import index_html
from ghaction_metrics_dev.browser import visit

REPORT = sample_report()
DOCUMENT = snapshot(REPORT, "41", "1")
HOSTILE_REPO = "acme/</script><script>alert(1)</script><!--"


# -- escaping ---------------------------------------------------------------------------------


def test_script_json_cannot_break_out_of_its_element() -> None:
    text = script_json({"repository": HOSTILE_REPO, "title": "a\u2028b & c"})
    for unsafe in ("<", ">", "\u2028"):
        assert unsafe not in text
    assert json.loads(text) == {"repository": HOSTILE_REPO, "title": "a\u2028b & c"}


def test_a_hostile_repository_name_stays_inside_the_data_element() -> None:
    page = index_html("default", windows(_point(0, {HOSTILE_REPO: 1.0})), [], None).decode()
    assert page.count("</script>") == 2  # the data element's and the script's own
    assert page.count("<script") == 2
    data = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', page, re.S)
    assert data is not None
    assert HOSTILE_REPO in {series[0] for series in json.loads(data.group(1))["series"]}


def test_the_policy_runs_only_the_pages_own_script() -> None:
    page = index_html("default", windows(_point(0, {"acme/api": 1.0})), [], None).decode()
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert found is not None
    policy = html.unescape(found.group(1))
    assert f"script-src {SCRIPT_SOURCE}" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1]
    assert "default-src 'none'" in policy


def test_without_javascript_the_static_charts_and_table_remain() -> None:
    trend = trend_of(DOCUMENT)
    charts = all_charts(REPORT, headline_table(trend))
    page = index_html("default", trend, charts, None).decode()
    assert '<section id="explore" hidden' in page
    assert page.count("<img ") == len(charts)
    assert "<h2>Snapshots</h2>" in page


# -- the page in Chromium ---------------------------------------------------------------------

LAST = snapshot_time(DOCUMENT["current"]["window"]["until"])
WEEKS = 60
REPOS = ("acme/api", HOSTILE_REPO)
SHOWN = WEEKLY_WEEKS + 8  # the last 26 weeks, and one for each of the 8 months before


def _row(
    until: datetime, run: str, repository: str, cohort: str, metric: str, value: Any, n: int
) -> FigureRow:
    since = until - timedelta(days=30)
    return FigureRow(run, until, since, until, "current", repository, cohort, metric, value, n)


def _point(week: int, repo_lead: dict[str, float | None]) -> list[FigureRow]:
    """Snapshot ``week`` (0 the oldest) with set, per-repository and per-cohort rows; values
    are made from the week so a table cell names the snapshot it came from."""
    until = LAST - timedelta(weeks=WEEKS - 1 - week)
    run = str(100 + week)
    rows = [
        _row(until, run, ALL_REPOSITORIES, ALL_COHORTS, "lead-time-hours", 10.0 + week, 5),
        _row(until, run, ALL_REPOSITORIES, ALL_COHORTS, "merged-prs", 100 + week, 100 + week),
        _row(until, run, ALL_REPOSITORIES, ALL_COHORTS, "cycle-time-hours", 20.0 + week, 9),
        _row(until, run, ALL_REPOSITORIES, "agent-authored", "merged-prs", week, week),
        _row(until, run, ALL_REPOSITORIES, "agent-authored", "cycle-time-hours", 2.0 + week, 3),
        _row(until, run, ALL_REPOSITORIES, "human", "merged-prs", 100, 100),
        _row(until, run, ALL_REPOSITORIES, "human", "cycle-time-hours", None, 0),
        # A cohort section's own figure, which no headline declares.
        _row(until, run, ALL_REPOSITORIES, "agent-authored", "reverted-share", 0.1, week),
    ]
    for repository, lead in repo_lead.items():
        rows.append(
            _row(
                until,
                run,
                repository,
                ALL_COHORTS,
                "lead-time-hours",
                lead,
                0 if lead is None else 4,
            )
        )
        rows.append(_row(until, run, repository, ALL_COHORTS, "change-failure-rate", 0.25, 4))
    return rows


def _points() -> pd.DataFrame:
    rows = []
    for week in range(WEEKS):
        # acme/api measured no lead time in the latest week: "–", never 0.
        api_lead = None if week == WEEKS - 1 else 1.0 + week / 10
        rows.extend(_point(week, {"acme/api": api_lead, HOSTILE_REPO: 50.0 + week}))
    return windows(rows)


VIEW = """(() => ({
  hash: location.hash,
  status: document.getElementById('explore-status').textContent,
  header: [...document.querySelectorAll('#explore-table thead th')].map(e => e.textContent),
  rows: [...document.querySelectorAll('#explore-table tbody tr')].map(
    tr => [...tr.children].map(td => td.textContent)),
  charts: Object.fromEntries([...document.querySelectorAll('#explore-charts figure')].map(
    f => [f.dataset.metric, Number(f.dataset.points)])),
  paths: document.querySelectorAll('#explore-charts path.series').length,
  options: Object.fromEntries(['repository', 'cohort', 'period'].map(k => [k,
    [...document.getElementById('f-' + k).options].map(o => o.value)])),
  labels: [...document.querySelectorAll('#explore label')].map(l => l.htmlFor),
  text: document.body.innerText,
}))()"""


def _set(key: str, value: str) -> str:
    return (
        f"(() => {{ const s = document.getElementById('f-{key}'); s.value = {json.dumps(value)};"
        f" s.dispatchEvent(new Event('change')); return s.value; }})()"
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explore") / "index.html"
    points = _points()
    charts = all_charts(REPORT, headline_table(points))
    path.write_bytes(index_html("default", points, charts, None))
    return path


@pytest.fixture(scope="module")
def explored(page: Path) -> dict[str, Any]:
    """One visit changing each filter in turn; each view is read right after its change."""
    probes = {"initial": VIEW}
    for step, (key, value) in enumerate(
        [
            ("period", "4w"),
            ("repository", "acme/api"),
            ("repository", HOSTILE_REPO),
            ("repository", ALL_REPOSITORIES),
            ("cohort", "agent-authored"),
            ("period", "12w"),
            ("period", "6m"),
            ("period", "1y"),
            ("cohort", "human"),
        ]
    ):
        probes[f"set{step}"] = _set(key, value)
        probes[f"view{step}"] = VIEW
    seen = visit(page, probes=probes)
    return {"visit": seen, **seen.values}


def _column(view: dict[str, Any], label: str) -> list[str]:
    at = view["header"].index(label)
    return [row[at] for row in view["rows"]]


def test_the_page_loads_with_no_request_and_no_error(page: Path, explored: dict[str, Any]) -> None:
    seen = explored["visit"]
    assert seen.errors == []
    assert seen.requests == [page.resolve().as_uri()]


def test_filters_are_labelled_and_offer_what_the_data_holds(explored: dict[str, Any]) -> None:
    view = explored["initial"]
    assert sorted(view["labels"]) == ["f-cohort", "f-period", "f-repository"]
    assert view["options"]["repository"] == [ALL_REPOSITORIES, *sorted(REPOS)]
    assert view["options"]["cohort"] == [
        ALL_COHORTS,
        "agent-authored",
        "human",
    ]  # no agent-assisted rows
    assert view["options"]["period"] == ["4w", "12w", "6m", "1y", "all"]
    # Of 60 weekly snapshots the page holds the last 26 weeks' and one a month before.
    assert len(view["rows"]) == SHOWN == 34
    assert view["status"].startswith(f"{SHOWN} snapshots for all repositories")


def test_the_period_filter_keeps_the_latest_weeks(explored: dict[str, Any]) -> None:
    # A year: 26 weekly snapshots, then one a month (6 more).
    assert [len(explored[f"view{i}"]["rows"]) for i in (0, 5, 6, 7)] == [4, 12, 26, 32]
    latest = explored["view0"]
    # Newest first; the set's lead time of week 59 is 69 h = 2.9 d, n shown beside it.
    assert _column(latest, "Lead time for changes") == [
        "2.9 d n=5",
        "2.8 d n=5",
        "2.8 d n=5",
        "2.8 d n=5",
    ]
    assert latest["charts"]["lead-time-hours"] == 4
    assert _column(latest, "Merged pull requests")[0] == "159 n=159"


def test_the_repository_filter_shows_that_repositorys_figures(explored: dict[str, Any]) -> None:
    api, hostile, back = explored["view1"], explored["view2"], explored["view3"]
    # acme/api's latest week has no lead time: "–" with n=0, never 0; the chart leaves it out.
    assert _column(api, "Lead time for changes") == ["– n=0", "6.8 h n=4", "6.7 h n=4", "6.6 h n=4"]
    assert api["charts"]["lead-time-hours"] == 3
    # No per-repository cycle time in the data: no data, not zero.
    assert set(_column(api, "Pull request cycle time")) == {"–"}
    assert api["charts"]["cycle-time-hours"] == 0
    assert set(_column(api, "Change failure rate")) == {"25.0% n=4"}
    assert _column(hostile, "Lead time for changes")[0] == "4.5 d n=4"  # 109 h
    assert HOSTILE_REPO in hostile["status"]
    assert back["rows"] == explored["view0"]["rows"]


def test_the_cohort_filter_shows_that_cohorts_figures(explored: dict[str, Any]) -> None:
    agent, human = explored["view4"], explored["view8"]
    assert _column(agent, "Merged pull requests") == ["59 n=59", "58 n=58", "57 n=57", "56 n=56"]
    assert _column(agent, "Pull request cycle time")[0] == "2.5 d n=3"  # 61 h
    assert agent["charts"] == {
        "lead-time-hours": 0,
        "change-failure-rate": 0,
        "cycle-time-hours": 4,
        "merged-prs": 4,
        "reverted-share": 4,
    }
    assert agent["paths"] == 3
    assert _column(agent, "Reverted share")[0] == "10.0% n=59"
    assert len(human["rows"]) == 32  # the last year's
    assert set(_column(human, "Pull request cycle time")) == {"– n=0"}
    assert human["charts"]["cycle-time-hours"] == 0


def test_each_change_is_kept_in_the_hash(explored: dict[str, Any]) -> None:
    assert explored["view0"]["hash"] == "#repository=*&cohort=all&period=4w"
    assert explored["view1"]["hash"] == "#repository=acme%2Fapi&cohort=all&period=4w"
    assert explored["view8"]["hash"] == "#repository=*&cohort=human&period=1y"


def test_no_markup_is_shown_as_text(explored: dict[str, Any]) -> None:
    for name in ("initial", "view2", "view4"):
        text = explored[name]["text"]
        for raw in ("<span", "<div", "class=", "&lt;", "&gt;", "&amp;"):
            assert raw not in text, (name, raw)
    assert "<script>alert(1)" in explored["view2"]["status"]  # the name itself, as text


def test_a_link_with_the_hash_reproduces_the_view(page: Path, explored: dict[str, Any]) -> None:
    view = explored["view2"]
    seen = visit(page, fragment=view["hash"], probes={"view": VIEW})
    assert seen.errors == []
    assert seen.requests == [page.resolve().as_uri()]
    again = seen.values["view"]
    assert again["hash"] == view["hash"]
    assert again["rows"] == view["rows"]
    assert again["charts"] == view["charts"]
    assert again["status"] == view["status"]


def test_the_branch_copy_runs_the_script_file_beside_it(tmp_path: Path) -> None:
    # As on the history branch: the charts and the script are files next to the page.
    points = _points()
    charts = all_charts(REPORT, headline_table(points))
    (tmp_path / "charts").mkdir()
    for chart in charts:
        (tmp_path / "charts" / chart.name).write_bytes(chart.png)
    (tmp_path / SCRIPT_FILE).write_text(SCRIPT, encoding="utf-8")
    page = tmp_path / "index.html"
    page.write_bytes(index_html("default", points, charts, None, chart_folder="charts/"))
    text = page.read_text(encoding="utf-8")
    assert f'<script src="{SCRIPT_FILE}"></script>' in text
    assert "script-src &#39;self&#39;" in text
    seen = visit(page, probes={"set": _set("repository", "acme/api"), "view": VIEW})
    assert seen.errors == []
    assert sorted(seen.requests) == sorted(
        [page.resolve().as_uri(), (tmp_path / SCRIPT_FILE).resolve().as_uri()]
        + [(tmp_path / "charts" / c.name).resolve().as_uri() for c in charts]
    )
    view = seen.values["view"]
    assert _column(view, "Lead time for changes")[:2] == ["– n=0", "6.8 h n=4"]


def test_a_damaged_or_stale_link_keeps_the_defaults_it_cannot_apply(page: Path) -> None:
    # A malformed escape and a cohort the data does not hold: those filters stay at "all".
    seen = visit(page, fragment="#repository=%ZZ&cohort=robots&period=4w", probes={"view": VIEW})
    assert seen.errors == []
    view = seen.values["view"]
    assert len(view["rows"]) == 4
    assert view["status"].startswith("4 snapshots for all repositories, all pull requests")
