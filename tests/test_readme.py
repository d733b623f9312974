"""The README is a contract: its inputs and outputs tables match action.yml exactly, and its
workflow snippets work when pasted."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import yaml

from ghaction_metrics.metrics.alerts import METRICS

ROOT = Path(__file__).resolve().parent.parent


def _table(heading: str) -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[2:]]


def _action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return loaded


def _code(value: str) -> str:
    match = re.fullmatch(r"`(.*)`", value)
    return match.group(1) if match else value


def test_inputs_table_matches_action_yml() -> None:
    expected = [
        [name, str(spec.get("default", "")), spec["description"].strip()]
        for name, spec in _action()["inputs"].items()
    ]
    actual = [
        [_code(name), "" if default == "(empty)" else _code(default), description]
        for name, default, description in _table("Inputs")
    ]
    assert actual == expected


def test_outputs_table_matches_action_yml() -> None:
    expected = [[name, spec["description"].strip()] for name, spec in _action()["outputs"].items()]
    actual = [[_code(name), description] for name, description in _table("Outputs")]
    assert actual == expected


def test_the_alert_metrics_listed_are_the_alert_metrics() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    listed = re.search(r"Metric names are the output names\s*\(([^)]*)\)", section)
    assert listed is not None
    names = [_code(name.strip()) for name in listed.group(1).split(",")]
    assert names == list(METRICS)
    assert set(names) <= set(_action()["outputs"])


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert [line.split()[0] for line in block] == ["scripts/demo", "scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in ci


def _yaml_snippets() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^[ ]*```yaml\n(.*?)^[ ]*```$", text, flags=re.MULTILINE | re.DOTALL)
    assert blocks
    return [textwrap.dedent(block) for block in blocks]


def test_every_workflow_snippet_is_valid_when_pasted() -> None:
    for snippet in _yaml_snippets():
        loaded = yaml.safe_load(snippet)
        assert isinstance(loaded, dict), snippet
        for name, job in (loaded.get("jobs") or {}).items():
            # A job runs on a runner, or calls a reusable workflow; a runner job has steps.
            assert "runs-on" in job or "uses" in job, f"job {name} has no runs-on"
            if "runs-on" in job:
                assert job.get("steps"), f"job {name} has no steps"
            for step in job.get("steps", []):
                assert ("uses" in step) != ("run" in step), step


def test_the_readme_uses_references_a_release_creates() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    refs = set(re.findall(r"uses: ghaction-metrics/ghaction-metrics@([\w.-]+)", text))
    assert refs
    release = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8"))
    # YAML 1.1 reads the key "on" as true.
    pattern = release[True]["push"]["tags"][0]
    assert pattern == "v[0-9]+.[0-9]+.[0-9]+"
    for ref in refs:
        if ref == "FULL_COMMIT_SHA" or re.fullmatch(r"[0-9a-f]{40}", ref):
            continue
        if re.fullmatch(r"v\d+\.\d+\.\d+", ref):
            continue  # a release tag itself
        # A major tag exists only because the release moves it (tests/test_workflows.py).
        assert re.fullmatch(r"v\d+", ref), ref
        assert "major-tag" in release["jobs"], f"@{ref}: release.yml moves no major tag"
