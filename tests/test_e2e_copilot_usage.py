"""Copilot usage end to end: entrypoint.py as a subprocess against the emulator serving the
demo organisation, with ``copilot-metrics: acme`` and a token allowed to read its usage
reports, with the workflow token (which never is), and without the input."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from emulator_contracts import rest_contract_problems

from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.emulator.copilot import PERMISSION
from ghaction_metrics_dev.emulator.harness import (
    ActionRun,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, RequestRecord
from ghaction_metrics_dev.emulator.state import TokenInfo

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
SNAPSHOT_SCHEMA = (
    Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v2.schema.json"
)
# An organisation owner's fine-grained token with "View Organization Copilot Metrics".
VIEWER = "github_pat_emulatorCopilotMetricsViewer0123"


@dataclass
class Runs:
    dataset: GeneratedDataset
    allowed: ActionRun  # copilot-metrics: acme, a token with the permission
    refused: ActionRun  # copilot-metrics: acme, the workflow token
    without: ActionRun  # no copilot-metrics, the workflow token
    requests: dict[str, list[RequestRecord]]  # each run's requests, by the names above


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    dataset = generate_dataset(seed=11, now=datetime.now(UTC).replace(microsecond=0))
    tokens = {
        **workflow_tokens(dataset.workflow_login),
        VIEWER: TokenInfo("acme-owner", "pat", {PERMISSION: "read"}),
    }
    done: dict[str, ActionRun] = {}
    requests: dict[str, list[RequestRecord]] = {}
    with EmulatorServer(dataset.world, tokens) as server:
        for name, token, organisation in (
            ("allowed", VIEWER, "acme"),
            ("refused", None, "acme"),
            ("without", None, None),
        ):
            seen = len(server.requests)
            # The summary alone: the three runs publish nothing the others would read.
            overrides = {"publish": "summary"}
            if organisation:
                overrides["copilot-metrics"] = organisation
            if token:
                overrides["token"] = token
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=dataset.home_repository,
                workspace=tmp_path_factory.mktemp(name) / "workspace",
                overrides=overrides,
            )
            done[name] = run_action(env)
            requests[name] = server.requests[seen:]
    return Runs(dataset, done["allowed"], done["refused"], done["without"], requests)


def _document(run: ActionRun) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((run.workspace / run.outputs["report-json"]).read_text())
    return document


def _days(window: dict[str, str]) -> list[date]:
    """The UTC calendar days (the runs' timezone) that start inside the window."""
    since = datetime.fromisoformat(window["since"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(window["until"].replace("Z", "+00:00"))
    day, days = since.date(), []
    while datetime.combine(day, time(0), UTC) < until:
        if datetime.combine(day, time(0), UTC) >= since:
            days.append(day)
        day += timedelta(days=1)
    return days


def test_every_run_succeeds(runs: Runs) -> None:
    for run in (runs.allowed, runs.refused, runs.without):
        assert run.returncode == 0, run.stdout + run.stderr


def test_the_usage_in_the_snapshot_equals_the_truth(runs: Runs) -> None:
    document = _document(runs.allowed)
    jsonschema.Draft202012Validator(json.loads(SNAPSHOT_SCHEMA.read_text())).validate(document)
    assert runs.dataset.copilot_usage is not None
    section = document["current"]["copilot_usage"]
    truth = runs.dataset.copilot_usage.window(_days(document["current"]["window"]))
    assert section["days"] == truth["days"]
    assert section["mean_daily_active_users"] == pytest.approx(truth["mean_daily_active_users"])
    assert section["mean_weekly_active_users"] == pytest.approx(truth["mean_weekly_active_users"])
    assert section["code_generation_activity_count"] == truth["shown"]
    assert section["code_acceptance_activity_count"] == truth["accepted"]
    assert section["acceptance_rate"] == pytest.approx(truth["acceptance_rate"])
    # The 30-day window's days up to yesterday: the 28-day report and two 1-day reports.
    assert section["days"] == section["period_days"] == 30
    # Only the window's days are read (the cheapest reading): the previous window has none.
    previous = document["previous"]["copilot_usage"]
    assert (previous["days"], previous["mean_daily_active_users"]) == (0, None)


def test_the_summary_shows_the_true_figures(runs: Runs) -> None:
    document = _document(runs.allowed)
    assert runs.dataset.copilot_usage is not None
    truth = runs.dataset.copilot_usage.window(_days(document["current"]["window"]))
    rate, mean = truth["acceptance_rate"], truth["mean_daily_active_users"]
    assert isinstance(rate, float)
    assert isinstance(mean, float)
    summary = runs.allowed.summary
    assert "#### Copilot usage (acme)" in summary
    assert "| Copilot usage | Value | n |\n" in summary  # no previous days were read
    assert f"| Daily active users (mean) | **{mean:.1f}** | {truth['days']} days |\n" in summary
    assert (
        f"| Suggestions accepted | **{rate * 100:.1f}%** | "
        f"{truth['accepted']} of {truth['shown']} |\n"
    ) in summary


def test_the_html_report_and_the_per_day_chart_are_written(runs: Runs) -> None:
    folder = runs.allowed.workspace / ".ghaction-metrics" / "default"
    # The usage per day is the last panel of the AI-assisted work figure.
    chart = folder / "charts" / "ai-assisted-work.png"
    assert chart.read_bytes().startswith(b"\x89PNG")
    html = (folder / "report.html").read_text()
    assert "<h2>Copilot usage (acme)</h2>" in html
    assert re.search(r'alt="AI-assisted work, \d panels\. [^"]* Copilot usage over 30 days', html)
    refused = runs.refused.workspace / ".ghaction-metrics" / "default"
    assert "Copilot usage" not in (refused / "report.html").read_text()


def test_the_reports_cost_three_api_requests_and_their_files_without_the_token(
    runs: Runs, contracts: Path
) -> None:
    usage = [r for r in runs.requests["allowed"] if "/copilot/" in r.path]
    downloads = [r for r in runs.requests["allowed"] if r.kind == "download"]
    assert [r.path.rsplit("/", 2)[-2:] for r in usage] == [
        ["organization-28-day", "latest"],
        ["reports", "organization-1-day"],
        ["reports", "organization-1-day"],
    ]
    # The emulator refuses a file request that carries a token; every one was served.
    assert len(downloads) == 4
    assert all(r.status == 200 for r in downloads)
    assert rest_contract_problems(usage) == []
    assert "sig=" not in runs.allowed.stdout + runs.allowed.stderr


def test_the_workflow_token_gets_one_notice_and_changes_nothing_else(runs: Runs) -> None:
    notices = [line for line in runs.refused.stdout.splitlines() if line.startswith("::notice")]
    copilot = [line for line in notices if "Copilot" in line]
    assert len(copilot) == 1
    assert "title=Copilot usage::" in copilot[0]
    assert '"View Organization Copilot Metrics"' in copilot[0]
    assert "read:org or manage_billing:copilot" in copilot[0]
    assert "the workflow token never has it" in copilot[0]
    assert not [line for line in runs.refused.stdout.splitlines() if "::warning" in line]
    assert runs.refused.outputs == runs.without.outputs
    assert "Copilot usage" not in runs.refused.summary
    assert _document(runs.refused)["current"]["copilot_usage"] is None
    refused = [r for r in runs.requests["refused"] if "/copilot/" in r.path]
    assert [(r.status, r.kind) for r in refused] == [(403, "rest")]


def test_without_the_input_nothing_is_requested(runs: Runs) -> None:
    assert not [r for r in runs.requests["without"] if "copilot" in r.path or r.kind == "download"]
    assert "Copilot usage" not in runs.without.summary
