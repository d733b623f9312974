"""The exports end to end: entrypoint.py twice against the emulator (a first run with
backfill, then a second run), the CSV read back with pandas, the OpenMetrics text with an
OpenMetrics parser, and the analysts' reader (and the README's lines) on a checkout of the
branch and through the API."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openmetrics_check import gauge

from ghaction_metrics import history
from ghaction_metrics.metrics.frame import one_per_window
from ghaction_metrics.metrics.headline import OUTPUTS, Kind
from ghaction_metrics.metrics.tidy import COLUMNS
from ghaction_metrics.metrics.trends import headline_table, page_rows
from ghaction_metrics.publish.history import git_blob_sha
from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_TOKEN,
    ActionRun,
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("exports")]
README = Path(__file__).resolve().parents[1] / "README.md"
REPOSITORIES = "acme/storefront,acme/payments"
NUMERIC_OUTPUTS = [f.name for f in OUTPUTS if f.kind is not Kind.LEVEL]


@dataclass
class Runs:
    dataset: GeneratedDataset
    server: EmulatorServer
    second: ActionRun
    before: dict[str, bytes]  # the branch after the first run
    after: dict[str, bytes]  # and after the second
    second_blob_reads: list[str]  # blob shas the second run read
    clone: Path  # a checkout of the branch after the second run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    dataset = generate_dataset(seed=23, now=datetime.now(UTC).replace(microsecond=0))
    home = dataset.home_repository
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        done: list[tuple[ActionRun, dict[str, bytes], list[str]]] = []
        for run_id in ("3001", "3002"):
            seen = len(server.requests)
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=home,
                workspace=tmp_path_factory.mktemp(f"run{run_id}") / "workspace",
                run_id=run_id,
                overrides={"repositories": REPOSITORIES, "publish": "summary,history"},
            )
            run = run_action(env)
            assert run.returncode == 0, run.stdout + run.stderr
            with server.lock:
                files = branch_files(dataset.world.repositories[home], "metrics")
                reads = [
                    r.path.rsplit("/", 1)[1]
                    for r in server.requests[seen:]
                    if r.method == "GET" and "/git/blobs/" in r.path
                ]
            done.append((run, files, reads))
        clone = tmp_path_factory.mktemp("clone")
        for path, data in done[1][1].items():
            (clone / path).parent.mkdir(parents=True, exist_ok=True)
            (clone / path).write_bytes(data)
        yield Runs(dataset, server, done[1][0], done[0][1], done[1][1], done[1][2], clone)


def _csv(files: dict[str, bytes]) -> pd.DataFrame:
    months = sorted(
        p for p in files if re.fullmatch(r"default/exports/figures-\d{4}-\d{2}-\d{2}\.csv", p)
    )
    assert months
    return pd.concat([pd.read_csv(io.BytesIO(files[p])) for p in months], ignore_index=True)


def _snapshot(run: ActionRun) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((run.workspace / run.outputs["report-json"]).read_text())
    return document


def test_the_csv_holds_every_snapshot_on_the_branch(runs: Runs) -> None:
    frame = _csv(runs.after)
    assert tuple(frame.columns) == COLUMNS
    snapshots = [p for p in runs.after if p.startswith("default/snapshots/")]
    assert len(snapshots) > 2  # backfilled weeks and the two runs
    names = {re.sub(r"^.*-run(.+)\.json$", r"\1", p) for p in snapshots}
    assert set(frame.run.astype(str)) == names
    assert {"3001", "3002"} <= names
    assert any(name.endswith("-backfill") for name in names)
    assert set(frame.repository) == {"*", *REPOSITORIES.split(",")}


@pytest.mark.parametrize("output", NUMERIC_OUTPUTS)
def test_the_csv_has_the_runs_outputs(runs: Runs, output: str) -> None:
    frame = _csv(runs.after)
    ours = (frame.run.astype(str) == "3002") & (frame.repository == "*") & (frame.cohort == "all")
    row = frame[ours]
    row = row[row.metric == output]
    assert len(row) == 1
    shown = runs.second.outputs[output]
    value = row.value.item()
    if shown == "":
        assert pd.isna(value)
    else:
        assert round(value, 4) == pytest.approx(float(shown))


def test_per_repository_figures_equal_the_snapshot(runs: Runs) -> None:
    frame = _csv(runs.after)
    second = frame[frame.run.astype(str) == "3002"]
    for repo in _snapshot(runs.second)["current"]["repositories"]:
        rows = second[(second.repository == repo["repository"]) & (second.cohort == "all")]
        lead = rows[rows.metric == "lead-time-hours"]
        assert lead.n.item() == repo["lead_time_hours"]["n"]
        expected = repo["lead_time_hours"]["median"]
        assert pd.isna(lead.value.item()) if expected is None else lead.value.item() == expected
        frequency = rows[rows.metric == "deployment-frequency"]
        assert frequency.value.item() == repo["deployment_frequency"]
        assert frequency.n.item() == repo["deployments"]


def test_the_openmetrics_text_is_the_latest_run(runs: Runs) -> None:
    text = runs.after["default/exports/latest.txt"].decode()
    assert text.endswith("# EOF\n")
    for output in NUMERIC_OUTPUTS:
        samples = gauge(text, "ghaction_metrics_" + output.replace("-", "_"))
        shown = runs.second.outputs[output]
        if shown == "":
            assert ("*", "all") not in samples
        else:
            assert round(samples[("*", "all")], 4) == pytest.approx(float(shown)), output
    lead = gauge(text, "ghaction_metrics_lead_time_hours_sample_size")
    assert lead[("*", "all")] == _snapshot(runs.second)["current"]["dora"]["lead_time_hours"]["n"]


def test_a_second_run_reads_the_weeks_at_once_and_rewrites_only_its_own(runs: Runs) -> None:
    # The weekly files are where the trends read every snapshot's figures: all of them in
    # one GraphQL request, none over REST, and no snapshot but the newest (a newer version's
    # schema stops the run).
    weeks = sorted(p for p in runs.before if p.endswith(".csv"))
    assert len(weeks) > 10  # the first run's backfilled weeks
    shas = {git_blob_sha(runs.before[p]) for p in weeks}
    assert not [sha for sha in runs.second_blob_reads if sha in shas]
    snapshots = {git_blob_sha(d) for p, d in runs.before.items() if "/snapshots/" in p}
    assert len([sha for sha in runs.second_blob_reads if sha in snapshots]) == 1
    changed = [p for p in weeks if runs.after.get(p) != runs.before[p]]
    assert len(changed) == 1  # the week of the second run


def test_the_reader_on_a_checkout_and_through_the_api(runs: Runs) -> None:
    local = history.load(runs.clone)
    remote = history.load(
        runs.dataset.home_repository, token=WORKFLOW_TOKEN, api_url=runs.server.api_url
    )
    pd.testing.assert_frame_equal(local, remote)
    assert len(local) == len(_csv(runs.after))
    assert str(local.until.dt.tz) == "UTC"
    berlin = history.load(runs.clone, timezone="Europe/Berlin")
    assert (berlin.until == local.until).all()
    assert str(berlin.until.dt.tz) == "Europe/Berlin"
    weeks = history.weekly(berlin, "Europe/Berlin")
    lead = weeks[
        (weeks.repository == "*") & (weeks.cohort == "all") & (weeks.metric == "lead-time-hours")
    ]
    assert lead.week.is_unique
    assert all(day.weekday() == 0 for day in lead.week)  # Mondays


def test_the_readme_lines(runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Reading the history with pandas", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    typed = [line for line in code.splitlines() if line.strip()]
    assert len(typed) == 3
    (tmp_path / "path/to").mkdir(parents=True)
    (tmp_path / "path/to/clone").symlink_to(runs.clone)
    monkeypatch.chdir(tmp_path)
    # The last line is an expression, as an analyst types it in a notebook: keep its value.
    *lines, last = typed
    scope: dict[str, Any] = {}
    exec("\n".join(lines), scope)  # the README's own lines
    table = eval(last, scope)
    latest = table.loc[table.index.max()]
    assert latest["lead-time-hours"] == pytest.approx(
        float(runs.second.outputs["lead-time-hours"]), abs=1e-4
    )


def test_the_trends_are_computed_from_the_readers_frame(runs: Runs) -> None:
    # The trends page shows what the analysts' DataFrame gives for the branch it was
    # committed with: one snapshot per window end, each value as the frame holds it.
    frame = one_per_window(history.load(runs.clone))
    page = runs.after["default/index.html"].decode()
    found = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', page, re.S)
    assert found is not None
    data = json.loads(found.group(1))
    shown = page_rows(frame)
    assert [(s[0], s[3]) for s in data["snapshots"]] == [
        (str(run), until.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for run, until in shown[["run", "until"]].drop_duplicates().itertuples(index=False)
    ]
    series = {(s[0], s[1], s[2]): s[3] for s in data["series"]}
    lead = shown.query("repository == '*' and cohort == 'all' and metric == 'lead-time-hours'")
    assert series["*", "all", "lead-time-hours"] == [
        None if pd.isna(value) else pytest.approx(value, rel=1e-3) for value in lead["value"]
    ]
    # The static table: a row per window, the level decided again from the four figures.
    table = headline_table(shown)
    assert page.count("<tr><td>20") == len(table)
    latest = _snapshot(runs.second)["current"]["dora"]["levels"]["overall"]
    assert table["level"].iloc[-1] == latest
