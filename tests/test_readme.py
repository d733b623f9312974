"""The README is a contract: its inputs and outputs tables match action.yml exactly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

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


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert [line.split()[0] for line in block] == ["scripts/demo", "scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test" in ci
