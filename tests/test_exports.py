"""The CSV and OpenMetrics exports: their text, read back by pandas and by an OpenMetrics
parser, and which monthly files a run rewrites, keeps, rebuilds or removes."""

from __future__ import annotations

import copy
import io
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from openmetrics_check import families, gauge
from sample_reports import sample_report

from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.tidy import COLUMNS, figure_rows
from ghaction_metrics.publish.branch_layout import foreign_files
from ghaction_metrics.publish.exports import (
    branch_figures,
    branch_rows,
    export_files,
    one_by_one,
    openmetrics_path,
    partition_path,
)
from ghaction_metrics.publish.history import git_blob_sha
from ghaction_metrics.views.exports import csv_text, openmetrics_text, parse_csv

DOCUMENT: dict[str, Any] = snapshot(sample_report(), "7", "1")
COHORTS = {
    "agent-authored": {"cycle_time_hours": {"value": 5.5, "n": 4}},
    "human": {"cycle_time_hours": {"value": None, "n": 0}},
}


def _document(run: str, generated_at: str, **cohorts: Any) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    document["run"]["id"] = run
    document["generated_at"] = generated_at
    if cohorts:
        document["current"]["cohorts"] = cohorts
    return document


def test_csv_round_trip_and_pandas() -> None:
    rows = figure_rows(_document("7", "2026-03-02T06:00:00.250000Z", **COHORTS), "p-run7.json")
    data = csv_text(rows)
    assert parse_csv(data) == rows
    frame = pd.read_csv(io.BytesIO(data))
    assert tuple(frame.columns) == COLUMNS
    lead = frame[(frame.repository == "*") & (frame.metric == "lead-time-hours")]
    assert lead.value.item() == DOCUMENT["current"]["dora"]["lead_time_hours"]["median"]
    assert lead.generated_at.item() == "2026-03-02T06:00:00.250000Z"
    empty = frame[(frame.cohort == "human") & (frame.metric == "cycle-time-hours")]
    assert math.isnan(empty.value.item())
    assert empty.n.item() == 0


def test_openmetrics_parses_as_gauges() -> None:
    rows = figure_rows(_document("7", "2026-03-02T06:00:00Z", **COHORTS), "p-run7.json")
    text = openmetrics_text(rows).decode()
    assert text.endswith("# EOF\n")
    samples = gauge(text, "ghaction_metrics_lead_time_hours")
    assert samples[("*", "all")] == DOCUMENT["current"]["dora"]["lead_time_hours"]["median"]
    for repo in DOCUMENT["current"]["repositories"]:
        if repo["lead_time_hours"]["median"] is not None:
            assert samples[(repo["repository"], "all")] == repo["lead_time_hours"]["median"]
    n = gauge(text, "ghaction_metrics_lead_time_hours_sample_size")
    assert n[("*", "all")] == DOCUMENT["current"]["dora"]["lead_time_hours"]["n"]
    cycle = gauge(text, "ghaction_metrics_cycle_time_hours")
    assert cycle[("*", "agent-authored")] == 5.5
    assert ("*", "human") not in cycle  # no data: no sample, not a 0
    assert all(f.type == "gauge" for f in families(text).values())


# -- which monthly files a run writes ---------------------------------------------------


def _snap_path(stamp: str, run: str) -> str:
    return f"default/snapshots/{stamp}-run{run}.json"


class Branch:
    """A branch's files by path, with the reads a run makes of it counted."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.blobs = {git_blob_sha(data): data for data in files.values()}
        self.listing = {path: git_blob_sha(data) for path, data in files.items()}
        self.reads: list[str] = []

    def read(self, sha: str) -> bytes | None:
        self.reads.append(sha)
        return self.blobs.get(sha)


def _run(
    branch: Branch, run: str, when: datetime, removed: tuple[str, ...] = ()
) -> tuple[dict[str, bytes], tuple[str, ...]]:
    """What a run at ``when`` writes: its snapshot and the exports, from the figures it read
    from the branch (as the trends read them) and its own."""
    stamp = when.strftime("%Y-%m-%dT%H%M%SZ")
    path = _snap_path(stamp, run)
    document = _document(run, when.isoformat().replace("+00:00", "Z"))
    body = json.dumps(document).encode()
    after = {p: b for p, b in branch.listing.items() if p not in removed}
    after[path] = git_blob_sha(body)
    rows = figure_rows(document, path)
    found = branch_figures(branch.listing, "default", one_by_one(branch.read), branch.read)
    figures = {**found.rows, path: rows}
    exports = export_files("default", branch.listing, after, figures, rows, found.behind)
    return {path: body, **exports.files}, exports.deletions


def _apply(branch: Branch, files: Mapping[str, bytes], deletions: tuple[str, ...]) -> Branch:
    kept = {p: branch.blobs[b] for p, b in branch.listing.items() if p not in deletions}
    return Branch({**kept, **files})


def _all(branch: Branch) -> pd.DataFrame:
    csvs = [branch.blobs[b] for p, b in sorted(branch.listing.items()) if p.endswith(".csv")]
    return pd.concat([pd.read_csv(io.BytesIO(data)) for data in csvs], ignore_index=True)


def test_a_week_of_runs_rewrites_only_its_own_file() -> None:
    branch = Branch({})
    per_snapshot = len(figure_rows(DOCUMENT, "x"))
    # Friday 30 January to Sunday 1 February 2026: the week starting Monday 26 January.
    for day, run in ((30, "1"), (31, "2")):
        files, deletions = _run(branch, run, datetime(2026, 1, day, 6, tzinfo=UTC))
        branch = _apply(branch, files, deletions)
    last_week = partition_path("default", "2026-01-26")
    files, deletions = _run(branch, "3", datetime(2026, 2, 1, 6, tzinfo=UTC))
    assert set(files) == {
        _snap_path("2026-02-01T060000Z", "3"),
        last_week,
        openmetrics_path("default"),
    }
    branch = _apply(branch, files, deletions)
    files, deletions = _run(branch, "4", datetime(2026, 2, 2, 6, tzinfo=UTC))
    # Monday: a new week's file; the last week's is read (its rows are the trends') and kept.
    this_week = partition_path("default", "2026-02-02")
    assert set(files) == {
        _snap_path("2026-02-02T060000Z", "4"),
        this_week,
        openmetrics_path("default"),
    }
    assert branch.reads == [branch.listing[last_week]]
    branch = _apply(branch, files, deletions)
    frame = _all(branch)
    assert list(frame.run.drop_duplicates()) == [1, 2, 3, 4]
    assert len(frame) == 4 * per_snapshot
    assert foreign_files(branch.listing) == []


def test_the_monthly_files_of_an_earlier_version_are_read_and_replaced_by_weeks() -> None:
    january = _snap_path("2026-01-30T060000Z", "1")
    document = _document("1", "2026-01-30T06:00:00Z")
    monthly = "default/exports/figures-2026-01.csv"
    branch = Branch(
        {january: json.dumps(document).encode(), monthly: csv_text(figure_rows(document, january))}
    )
    files, deletions = _run(branch, "2", datetime(2026, 2, 2, 6, tzinfo=UTC))
    # The snapshot's rows come from the monthly file (no snapshot read); its week's file is
    # written, and the monthly file leaves the tip.
    assert branch.reads == [branch.listing[monthly]]
    assert partition_path("default", "2026-01-26") in files
    assert deletions == (monthly,)
    branch = _apply(branch, files, deletions)
    assert sorted(_all(branch).run.unique()) == [1, 2]


def test_retention_and_a_version_without_exports() -> None:
    # A branch of an older version: snapshots, no exports.
    old = {
        _snap_path("2025-12-23T060000Z", "1"): json.dumps(
            _document("1", "2025-12-23T06:00:00Z")
        ).encode(),
        _snap_path("2026-01-02T060000Z", "2"): json.dumps(
            _document("2", "2026-01-02T06:00:00Z")
        ).encode(),
    }
    branch = Branch(old)
    files, deletions = _run(branch, "3", datetime(2026, 1, 3, 6, tzinfo=UTC))
    # Both weeks are built from the snapshots, read once each.
    assert len(branch.reads) == 2
    branch = _apply(branch, files, deletions)
    assert sorted(_all(branch).run.unique()) == [1, 2, 3]
    # Retention removes the week of 22 December's only snapshot: its file goes too.
    december = _snap_path("2025-12-23T060000Z", "1")
    files, deletions = _run(branch, "4", datetime(2026, 1, 4, 6, tzinfo=UTC), (december,))
    assert deletions == (partition_path("default", "2025-12-22"),)
    branch = _apply(branch, files, (*deletions, december))
    assert sorted(_all(branch).run.unique()) == [2, 3, 4]


def test_an_unreadable_week_is_rebuilt_from_its_snapshots() -> None:
    branch = Branch({})
    files, deletions = _run(branch, "1", datetime(2026, 1, 2, 6, tzinfo=UTC))
    files[partition_path("default", "2025-12-29")] = b"not,a,figures,file\n"
    branch = _apply(branch, files, deletions)
    files, deletions = _run(branch, "2", datetime(2026, 1, 3, 6, tzinfo=UTC))
    branch = _apply(branch, files, deletions)
    assert sorted(_all(branch).run.unique()) == [1, 2]
    rows = branch_rows(branch.listing, "default", branch.read)
    assert [r.run for r in rows[:: len(rows) // 2]] == ["1", "2"]
