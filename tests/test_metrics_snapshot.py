"""Snapshots of reports over the demo organisation, in every comparison and per-person mode,
validate against the published JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from world_records import repository_data

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, snapshot
from ghaction_metrics.records import Collection
from ghaction_metrics_dev.dataset.generate import generate_dataset

SCHEMA = Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v2.schema.json"
NOW = datetime(2025, 6, 18, 15, 30, tzinfo=UTC)
WINDOW = Window(datetime(2025, 5, 19, tzinfo=UTC), datetime(2025, 6, 18, tzinfo=UTC))


@pytest.fixture(scope="module")
def collection() -> Collection:
    world = generate_dataset(seed=5, now=NOW).world
    return Collection(
        tuple(repository_data(world, n) for n in sorted(world.repositories)), (), 0, 0
    )


@pytest.mark.parametrize(
    ("compare_to", "per_person"),
    [("previous", "true"), ("none", "false"), ("2025-06-01", "anonymous"), ("2030-01-01", "true")],
)
def test_snapshot_validates(collection: Collection, compare_to: str, per_person: str) -> None:
    settings = Settings(per_person=per_person, pseudonym_salt="salt")
    report = build_report(collection, settings, WINDOW, compare_to, NOW, "default")
    document = json.loads(json.dumps(snapshot(report, "1", "1")))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    team = document["current"]["team"]
    assert team["per_person"] == per_person
    names = [p["name"] for p in team["people"]]
    assert names == sorted(names, key=str.lower)
    if per_person == "anonymous":
        assert all(n.startswith("dev-") for n in names)
    if per_person == "false":
        assert names == []
    if compare_to == "2025-06-01":
        comparison = document["comparison"]
        assert comparison["mode"] == "date"
        assert comparison["after_window"]["until"] == "2025-06-18T15:30:00Z"  # clipped to now
        assert {s["metric"] for s in comparison["significance"]} == {
            "cycle_time_hours", "lead_time_hours", "time_to_first_review_hours",
        }  # fmt: skip
        assert all(s["method"] for s in comparison["significance"] if s["p_value"] is not None)
    if compare_to == "2030-01-01":
        assert document["comparison"] is None
        assert any("2030-01-01" in note for note in document["notes"])


def test_rejects_an_unknown_field(collection: Collection) -> None:
    report = build_report(collection, Settings(), WINDOW, "previous", NOW, "default")
    document = json.loads(json.dumps(snapshot(report, "1", "1")))
    document["current"]["pull_requests"]["surprise"] = 1
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(document)
