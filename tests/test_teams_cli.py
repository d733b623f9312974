"""The teams file from the command line: a path relative to the current folder, as it is
relative to the checked-out repository in a workflow."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghaction_metrics import cli
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.harness import WORKFLOW_TOKEN, workflow_tokens
from ghaction_metrics_dev.emulator.server import EmulatorServer

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    dataset = generate_dataset(seed=3, now=NOW, profile="tiny")
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as running:
        yield running


def _run(server: EmulatorServer, out: Path, teams: str) -> tuple[int, str]:
    stream = io.StringIO()
    code = cli.main(
        [
            "--repository", "acme/storefront", "--api-url", server.api_url,
            "--server-url", server.url, "--out", str(out), "--run-id", "7", "--dry-run",
            "--backfill", "0", "--teams", teams,
        ],
        environ={"GH_TOKEN": WORKFLOW_TOKEN},
        stream=stream,
        clock=lambda: NOW,
    )  # fmt: skip
    return code, stream.getvalue()


def test_the_teams_file_is_read_from_the_current_folder(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = tmp_path / "checkout"
    (checkout / ".github").mkdir(parents=True)
    (checkout / ".github/teams.yml").write_text("web: [alice-chen, bmartinez]\n", encoding="utf-8")
    monkeypatch.chdir(checkout)
    out = tmp_path / "out"
    code, log = _run(server, out, ".github/teams.yml")
    assert code == 0, log
    report = json.loads((out / "workspace/.ghaction-metrics/default/report.json").read_text())
    assert report["current"]["teams"]["file"] == ".github/teams.yml"
    assert report["current"]["teams"]["teams"][0]["name"] == "web"
    assert "### Teams" in (out / "summary.md").read_text(encoding="utf-8")


def test_a_missing_teams_file_is_a_usage_error_before_any_request(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = len(server.requests)
    errors = io.StringIO()
    monkeypatch.setattr("sys.stderr", errors)
    with pytest.raises(SystemExit) as exited:
        _run(server, tmp_path / "out", "teams.yml")
    assert exited.value.code == 2
    assert "--teams teams.yml: no such file" in errors.getvalue()
    assert "relative to the current folder" in errors.getvalue()
    assert server.requests[before:] == []


def test_a_bad_teams_file_stops_the_command_naming_its_line(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "teams.yml").write_text("web: [alice-chen]\nweb: [bob]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = len(server.requests)
    code, log = _run(server, tmp_path / "out", "teams.yml")
    assert code == 1
    assert "Input 'teams' names teams.yml, line 2: team 'web' is named again" in log
    assert server.requests[before:] == []
