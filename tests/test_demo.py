"""The demo a newcomer runs first: its help names commands that work, its pages link only to
files it wrote, and it prints its headline figures beside the demo data's truth."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ghaction_metrics.metrics.report import format_number
from ghaction_metrics_dev.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Demo:
    out: Path
    printed: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("demo-output")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = run_demo(out)
    assert code == 0
    return Demo(out, printed.getvalue())


def test_the_help_names_the_commands_that_run_it() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ghaction_metrics_dev.demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    examples = completed.stdout.split("\nexamples:\n", 1)[1]
    # The README's pictures: the same command in both places, with an option the demo has.
    pictures = re.search(r"The pictures come from `([^`]+)`", README)
    assert pictures
    assert pictures.group(1) in examples
    assert "--screenshots DIR" in completed.stdout
    # scripts/demo takes the folder first and hands any other argument to the demo.
    assert "scripts/demo [DIR] [OPTION...]" in examples
    script = (ROOT / "scripts" / "demo").read_text(encoding="utf-8")
    assert 'ghaction_metrics_dev.demo --out "$out" "$@"' in script


def test_every_link_in_its_pages_reaches_a_file_it_wrote(demo: Demo) -> None:
    pages = sorted(demo.out.glob("*.html"))
    assert {page.name for page in pages} >= {"index.html", "report.html"}
    checked = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for link in re.findall(r'(?:href|src)="([^"]*)"', text):
            if link.startswith(("data:", "http://", "https://", "#", "mailto:")):
                continue
            target = (page.parent / link.split("#", 1)[0]).resolve()
            assert target.is_file(), f"{page.name} links {link}, which the demo did not write"
            checked += 1
    assert checked  # the trends page links the snapshot's report


def test_it_prints_the_headline_figures_beside_the_truth(demo: Demo) -> None:
    report = json.loads((demo.out / "report.json").read_text(encoding="utf-8"))["current"]
    truth = json.loads((demo.out / "ground-truth.json").read_text(encoding="utf-8"))
    lines = demo.printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Headline figures from"))
    header, *rows = lines[start + 1 :]
    assert header.split() == ["figure", "action", "truth"]
    figures = {
        "deployments per day": (report["dora"]["deployment_frequency"], "deployment_frequency"),
        "lead time, hours": (report["dora"]["lead_time_hours"]["median"], "lead_time_hours"),
        "merged pull requests": (report["pull_requests"]["merged"], "merged_prs"),
        "AI-assisted share": (report["pull_requests"]["ai_assisted_share"], "ai_assisted_share"),
        "bug rate, per 100 merged": (report["bugs"]["rate_per_100"], "bug_rate"),
        "deployments": (report["dora"]["deployments"], "deployments"),
    }
    seen = {}
    for row in rows:
        label, action, expected, mark = re.split(r"\s{2,}", row.strip())
        seen[label] = (action, expected, mark)
    assert len(seen) == 12
    for label, (value, name) in figures.items():
        assert seen[label][:2] == (format_number(value), format_number(truth[name]))
    # The demo's data are built so that the action finds exactly the truth.
    assert {mark for _, _, mark in seen.values()} == {"same"}


def test_it_shows_the_teams_of_its_teams_file(demo: Demo) -> None:
    summary = (demo.out / "job-summary.md").read_text(encoding="utf-8")
    teams = json.loads((demo.out / "report.json").read_text(encoding="utf-8"))["current"]["teams"]
    assert [team["name"] for team in teams["teams"]] == ["web", "platform", "data", "other"]
    assert "### Teams" in summary
    for name in ("web", "platform", "data", "other"):
        assert f"| {name} |" in summary
