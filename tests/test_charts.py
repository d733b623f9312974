"""Charts: PNG images with a text alternative, byte-for-byte deterministic."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

import pandas as pd
from PIL import Image
from sample_reports import NOW, WINDOW, moved, repository, sample_report, trend_of

from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import Report, build_report, snapshot
from ghaction_metrics.metrics.trends import headline_table
from ghaction_metrics.records import Collection
from ghaction_metrics.views.charts import (
    DPI,
    FLAT_COLOURS,
    all_charts,
    pull_request_chart,
    review_network_chart,
    size_panel,
    stages_panel,
    throughput_chart,
    trend_chart,
)

REPORT = sample_report()


def points(count: int) -> pd.DataFrame:
    """The trends' headline table of ``count`` weekly snapshots, all backfilled but the last,
    the third without a lead time."""
    last = snapshot(REPORT, "1", "1")
    documents = [
        moved(last, count - 1 - i, lead_time_hours=None if i == 2 else 10.0 + i)
        for i in range(count)
    ]
    return headline_table(trend_of(*documents, backfill=[i < count - 1 for i in range(count)]))


def test_same_data_gives_the_same_bytes() -> None:
    first = all_charts(REPORT, points(6))
    second = all_charts(REPORT, points(6))
    assert [c.png for c in first] == [c.png for c in second]
    assert trend_chart(points(5)).png != first[0].png


def test_charts_are_pngs_without_a_version_stamp() -> None:
    for chart in all_charts(REPORT, points(3)):
        assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"Software" not in chart.png
        assert b"matplotlib" not in chart.png.lower()
        image = Image.open(io.BytesIO(chart.png))
        assert image.size[0] >= 600


def test_trend_alt_text_says_what_the_chart_shows() -> None:
    chart = trend_chart(points(4))
    assert chart.name == "trends.png"
    assert chart.alt.startswith("Trends over 4 snapshots")
    assert "Lead time for changes (median, h): 10.0 h to 13.0 h" in chart.alt
    assert "Change failure rate (%): 25.0% to 25.0%" in chart.alt


def test_no_snapshots_is_said_too() -> None:
    assert trend_chart(points(0)).alt == "Trends: no snapshots yet."


def test_throughput_counts_the_deployments_of_each_week() -> None:
    chart = throughput_chart(REPORT)
    total = sum(r.deployments for r in REPORT.current.dora.repositories)
    weeks = re.findall(r"\d{4}-\d{2}-\d{2}: (\d+) merged, (\d+) deployments", chart.alt)
    assert sum(int(deployed) for _, deployed in weeks) == total
    assert sum(int(merged) for merged, _ in weeks) == REPORT.current.pulls.merged
    assert "(partial)" in chart.alt


def test_the_new_figures_each_get_a_chart() -> None:
    report = sample_report(compare_to="2026-02-15")
    charts = {c.name: c for c in all_charts(report, points(2))}
    assert list(charts) == [
        "trends.png",
        "throughput.png",
        "before-after.png",
        "pull-requests.png",
        "review-network.png",
    ]
    assert charts["before-after.png"].alt.startswith("Before and after 2026-02-15: ")
    assert "p=" in charts["before-after.png"].alt
    assert "XS: median 8.0 h, p90 8.0 h, n=3" in charts["pull-requests.png"].alt
    assert "Median time per pull-request stage: coding" in charts["pull-requests.png"].alt
    assert "reviewed" in charts["review-network.png"].alt
    # Without a date there is no before/after chart.
    assert "before-after.png" not in {c.name for c in all_charts(REPORT, points(2))}


def test_the_pull_request_figure_stacks_size_and_stages_and_says_both() -> None:
    chart = pull_request_chart(REPORT)
    size, stages = size_panel(REPORT), stages_panel(REPORT)
    assert chart is not None
    assert size is not None
    assert stages is not None
    # A screen reader hears what the two separate charts said, in the order they are drawn.
    assert chart.alt == f"Pull requests, 2 panels. {size.alt} {stages.alt}"
    assert size.alt.startswith("Cycle time by size bucket (XS < 10, S < 50, M < 250")
    assert stages.alt.startswith("Median time per pull-request stage: coding ")
    # Each panel keeps the height it had as a chart of its own: the text is as large as before.
    image = Image.open(io.BytesIO(chart.png))
    assert image.size == (7 * DPI, round((size.height + stages.height) * DPI))


def test_the_pull_request_figure_draws_the_panels_it_has_data_for() -> None:
    pulls = REPORT.current.pulls
    no_stages = replace(
        pulls,
        coding_time=replace(pulls.coding_time, n=0),
        pickup_time=replace(pulls.pickup_time, n=0),
        review_time=replace(pulls.review_time, n=0),
        merge_time=replace(pulls.merge_time, n=0),
    )
    only_sizes = replace(REPORT, current=replace(REPORT.current, pulls=no_stages))
    chart = pull_request_chart(only_sizes)
    assert chart is not None
    assert chart.alt.startswith("Pull requests, 1 panel. Cycle time by size bucket")
    assert "stage" not in chart.alt
    no_merges = replace(no_stages, sizes=tuple(replace(b, merged=0) for b in pulls.sizes))
    nothing = replace(REPORT, current=replace(REPORT.current, pulls=no_merges))
    assert pull_request_chart(nothing) is None


def test_charts_are_palette_pngs_that_keep_the_chart_colours() -> None:
    chart = pull_request_chart(REPORT)
    assert chart is not None
    image = Image.open(io.BytesIO(chart.png))
    assert image.mode == "P"
    counts = image.getcolors()
    assert counts is not None
    assert len(counts) <= FLAT_COLOURS
    palette = image.getpalette() or []
    used = {tuple(palette[3 * i : 3 * i + 3]) for _, i in counts if isinstance(i, int)}
    # The flat colours a reader tells apart are drawn exactly: the white page and the bars.
    assert {(255, 255, 255), (0x00, 0x72, 0xB2), (0xE6, 0x9F, 0x00), (0x00, 0x9E, 0x73)} <= used


def test_review_heatmap_keeps_to_the_busiest_people() -> None:
    chart = review_network_chart(sample_report(repositories=4, people=300))
    assert chart is not None
    assert "the 20 most active of" in chart.alt
    assert Image.open(io.BytesIO(chart.png)).size[0] < 1200


def test_throughput_weeks_are_the_metrics_weeks_in_the_run_timezone() -> None:
    people = [f"dev-{i:04d}" for i in range(12)]
    collection = Collection(tuple(repository(i, people) for i in range(3)), (), 1, 1)

    def report_in(zone: tzinfo) -> Report:
        settings = Settings(deployment_source="deployments", timezone=zone)
        return build_report(collection, settings, WINDOW, "previous", NOW, "default")

    report = report_in(ZoneInfo("Pacific/Kiritimati"))  # UTC+14: Monday begins on Sunday UTC
    weeks = report.current.team.weeks
    listing = ", ".join(
        f"week of {w.start.isoformat()}: {w.merged_prs} merged, {w.deployments} deployments"
        + (" (partial)" if w.partial else "")
        for w in weeks
    )
    assert f"per week, {len(weeks)} weeks: {listing}." in throughput_chart(report).alt
    # The zone matters for this data: UTC weeks count the deployments differently.
    utc_weeks = report_in(UTC).current.team.weeks
    assert [w.deployments for w in utc_weeks] != [w.deployments for w in weeks]
    # The chart formats the metrics' series and computes none of its own, even when it is empty.
    empty = replace(report.current, team=replace(report.current.team, weeks=()))
    alt = throughput_chart(replace(report, current=empty)).alt
    assert alt == "Merged pull requests and successful deployments per week, 0 weeks: ."
