"""The headline figures are declared once (metrics/headline.py): the outputs, the snapshot's
JSON Schema, the trend points, the comparison and the alert metrics all agree with it."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_check import render
from sample_reports import sample_report, trend_of

from ghaction_metrics.metrics.alerts import METRICS
from ghaction_metrics.metrics.headline import (
    BY_KEY,
    COMPARED,
    FIGURES,
    OUTPUTS,
    Figure,
    Kind,
    headline_of,
)
from ghaction_metrics.metrics.report import outputs, snapshot
from ghaction_metrics.metrics.trends import headline_table
from ghaction_metrics.views.markdown import View, summary_markdown
from ghaction_metrics_dev.dataset.truth import HeadlineTruth

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "ghaction_metrics/schemas/snapshot-v2.schema.json").read_text())


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), ref
        node = SCHEMA["$defs"][ref.removeprefix("#/$defs/")]
    return node


def _schema_at(path: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The schema of a period's value at ``path``, and the schema of the object holding it."""
    node = parent = SCHEMA["$defs"]["period"]
    for step in path:
        parent = _resolve(node)
        assert step in parent["required"], step
        node = parent["properties"][step]
    return node, parent


def test_every_figure_has_the_schema_its_kind_promises() -> None:
    expected = {
        Kind.PER_DAY: {"type": "number", "minimum": 0},
        Kind.RATIO: {"$ref": "#/$defs/rate"},
        Kind.COUNT: {"type": "integer", "minimum": 0},
        Kind.LEVEL: {"$ref": "#/$defs/level"},
        Kind.MEDIAN_HOURS: {"type": ["number", "null"]},
        Kind.PER_100: {"type": ["number", "null"], "minimum": 0},
    }
    for figure in FIGURES:
        node, parent = _schema_at(figure.snapshot)
        assert node == expected[figure.kind], figure.key
        if figure.kind is Kind.MEDIAN_HOURS:
            assert parent == SCHEMA["$defs"]["stat"], figure.key


def test_the_schema_compares_exactly_the_compared_figures() -> None:
    comparison = SCHEMA["$defs"]["comparison"]["properties"]
    deltas = comparison["deltas"]["items"]["properties"]["metric"]["enum"]
    assert deltas == [figure.key for figure in COMPARED]
    tested = comparison["significance"]["items"]["properties"]["metric"]["enum"]
    assert {BY_KEY[key].kind for key in tested} == {Kind.MEDIAN_HOURS}


def test_a_snapshot_reads_back_as_the_report_s_headline() -> None:
    for report in (sample_report(), sample_report(repositories=0)):
        document = json.loads(json.dumps(snapshot(report, "1", "1")))
        (row,) = headline_table(trend_of(document)).to_dict("records")
        headline = headline_of(report.current.dora, report.current.pulls)
        assert {f.key: _read(row, f) for f in FIGURES} == {
            f.key: headline.value(f) for f in FIGURES
        }


def _read(row: dict[Any, Any], figure: Figure) -> object:
    """A figure of a row of the trends' headline table: NaN is no data."""
    value = row["level"] if figure.kind is Kind.LEVEL else row[figure.name]
    return None if isinstance(value, float) and math.isnan(value) else value


def test_outputs_are_the_output_figures_in_order() -> None:
    names = list(outputs(sample_report()))
    assert names == [figure.name for figure in OUTPUTS] + ["partial"]
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["outputs"]
    assert set(names) <= set(declared)


def test_alert_metrics_are_the_compared_outputs_by_name() -> None:
    # A rule watches an output: a figure that is no output cannot be named in one.
    assert list(METRICS) == [figure.name for figure in COMPARED if figure.output]
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["outputs"]
    assert set(METRICS) <= set(declared)
    assert all(figure.kind is not Kind.LEVEL for figure in COMPARED)


def test_the_summary_has_a_row_named_by_each_compared_figure() -> None:
    headline = render(summary_markdown(View(sample_report()))).tables[0]
    labels = [row[0].removesuffix(" (median)") for row in headline[1:]]
    assert labels == [figure.label for figure in COMPARED]


@pytest.mark.parametrize("figure", COMPARED, ids=lambda f: f.key)
def test_the_ground_truth_names_every_compared_figure(figure: Any) -> None:
    # The generator's truth stays independent of metric code; only the names must agree.
    assert figure.key in {f.name for f in fields(HeadlineTruth)}


def test_a_snapshot_written_before_the_time_to_first_response_reads_as_no_data() -> None:
    document = json.loads(json.dumps(snapshot(sample_report(), "1", "1")))
    del document["current"]["pull_requests"]["time_to_first_response_hours"]
    (row,) = headline_table(trend_of(document)).to_dict("records")
    assert math.isnan(row["time-to-first-response-hours"])
    assert not math.isnan(row["cycle-time-hours"])
