"""Tidy rows of a snapshot: headline figures for the set, DORA figures per repository, and
the cohorts section a period may carry, from schema 1 and 2 documents."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sample_reports import sample_report

from ghaction_metrics.metrics.headline import FIGURES, Kind
from ghaction_metrics.metrics.report import snapshot
from ghaction_metrics.metrics.tidy import FigureRow, figure_rows
from ghaction_metrics.metrics.trends import NewerSnapshotError, UnreadableSnapshotError

V1_SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v1.schema.json"
    ).read_text(encoding="utf-8")
)
DOCUMENT: dict[str, Any] = snapshot(sample_report(), "7", "1")
PATH = "default/snapshots/2026-03-02T060000Z-run7.json"


def _find(rows: list[FigureRow], repository: str, cohort: str, metric: str) -> FigureRow:
    (found,) = [
        r for r in rows if (r.repository, r.cohort, r.metric) == (repository, cohort, metric)
    ]
    return found


def test_headline_figures_for_the_set() -> None:
    rows = figure_rows(DOCUMENT, PATH)
    current = DOCUMENT["current"]
    lead = _find(rows, "*", "all", "lead-time-hours")
    assert lead.value == current["dora"]["lead_time_hours"]["median"]
    assert lead.n == current["dora"]["lead_time_hours"]["n"] > 0
    assert lead.run == "7"
    assert lead.period == "current"
    assert lead.generated_at == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert lead.since == datetime(2026, 1, 31, tzinfo=UTC)
    assert lead.until == datetime(2026, 3, 2, tzinfo=UTC)
    merged = _find(rows, "*", "all", "merged-prs")
    assert (merged.value, merged.n) == (current["pull_requests"]["merged"],) * 2
    cfr = _find(rows, "*", "all", "change-failure-rate")
    assert (cfr.value, cfr.n) == (
        current["dora"]["change_failure_rate"],
        current["dora"]["deployments"],
    )
    names = {r.metric for r in rows if r.repository == "*"}
    assert names == {f.name for f in FIGURES if f.kind is not Kind.LEVEL}
    assert "dora-level" not in names  # a level is a name, not a figure


def test_dora_figures_per_repository() -> None:
    rows = figure_rows(DOCUMENT, PATH)
    repositories = DOCUMENT["current"]["repositories"]
    assert len(repositories) > 1
    for repo in repositories:
        name = repo["repository"]
        frequency = _find(rows, name, "all", "deployment-frequency")
        assert (frequency.value, frequency.n) == (repo["deployment_frequency"], repo["deployments"])
        lead = _find(rows, name, "all", "lead-time-hours")
        assert (lead.value, lead.n) == (
            repo["lead_time_hours"]["median"],
            repo["lead_time_hours"]["n"],
        )
        assert {r.metric for r in rows if r.repository == name} == {
            "deployment-frequency", "lead-time-hours", "change-failure-rate",
            "recovery-time-hours", "rework-rate",
        }  # fmt: skip


def test_cohort_figures() -> None:
    document = copy.deepcopy(DOCUMENT)
    document["current"]["cohorts"] = {
        "agent-authored": {
            "cycle_time_hours": {"value": 5.5, "n": 4},
            "merged": {"value": 4, "n": 4},
        },
        "agent-assisted": {"cycle_time_hours": {"value": None, "n": 0}},
        "human": {"cycle_time_hours": {"value": 30.25, "n": 17}, "people": ["not", "a figure"]},
    }
    rows = figure_rows(document, PATH)
    agent = _find(rows, "*", "agent-authored", "cycle-time-hours")
    assert (agent.value, agent.n) == (5.5, 4)
    assert _find(rows, "*", "agent-authored", "merged").value == 4.0
    empty = _find(rows, "*", "agent-assisted", "cycle-time-hours")
    assert (empty.value, empty.n) == (None, 0)
    assert _find(rows, "*", "human", "cycle-time-hours").n == 17
    assert len(rows) == len(figure_rows(DOCUMENT, PATH)) + 4


def test_a_version_1_snapshot_and_a_backfilled_week() -> None:
    older = {k: v for k, v in dict(DOCUMENT, schema=1).items() if k in V1_SCHEMA["properties"]}
    older["current"] = dict(older["current"])
    # An old run that did not measure time to first response yet.
    pulls = dict(older["current"]["pull_requests"])
    del pulls["time_to_first_response_hours"]
    older["current"]["pull_requests"] = pulls
    rows = figure_rows(older, "default/snapshots/2026-03-02T000000Z-run7-backfill.json")
    response = _find(rows, "*", "all", "time-to-first-response-hours")
    assert (response.value, response.n) == (None, 0)
    assert {r.run for r in rows} == {"7-backfill"}
    assert len(rows) == len(figure_rows(DOCUMENT, PATH))


def test_newer_and_unreadable_snapshots() -> None:
    with pytest.raises(NewerSnapshotError):
        figure_rows(dict(DOCUMENT, schema=99), PATH)
    with pytest.raises(UnreadableSnapshotError):
        figure_rows({k: v for k, v in DOCUMENT.items() if k != "current"}, PATH)
    broken = copy.deepcopy(DOCUMENT)
    broken["current"]["dora"]["lead_time_hours"]["median"] = "soon"
    with pytest.raises(UnreadableSnapshotError):
        figure_rows(broken, PATH)
