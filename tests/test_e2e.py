"""The action end to end: entrypoint.py as a subprocess with a runner's environment, twice,
against the emulator serving the demo organisation, checked against the generator's truth."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from emulator_contracts import rest_contract_problems

from ghaction_metrics.collect.queries import ALL_DOCUMENTS
from ghaction_metrics.publish.exports import branch_figures, one_by_one
from ghaction_metrics.publish.history import git_blob_sha
from ghaction_metrics.views.explore import SCRIPT
from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.dataset.truth_cohorts import COHORTS, cohort_truth
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_TOKEN,
    ActionRun,
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer

# The tests share one module-scoped run; in parallel, one worker makes it for all of them.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
SNAPSHOT_SCHEMA = (
    Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v2.schema.json"
)

HEADLINE = {
    "deployment-frequency": "deployment_frequency",
    "lead-time-hours": "lead_time_hours",
    "change-failure-rate": "change_failure_rate",
    "recovery-time-hours": "recovery_time_hours",
    "rework-rate": "rework_rate",
    "cycle-time-hours": "cycle_time_hours",
    "time-to-first-response-hours": "time_to_first_response_hours",
    "ai-assisted-share": "ai_assisted_share",
    "merged-prs": "merged_prs",
    "bug-rate": "bug_rate",
}


@dataclass
class TwoRuns:
    dataset: GeneratedDataset
    server: EmulatorServer
    first: ActionRun
    second: ActionRun
    history_after_first: dict[str, bytes]
    history_after_second: dict[str, bytes]
    # The second (warm) run's write requests for the history branch: (method, path, body).
    history_writes: list[tuple[str, str, bytes]]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    dataset = generate_dataset(seed=11, now=datetime.now(UTC).replace(microsecond=0))
    tokens = workflow_tokens(dataset.workflow_login)
    home = dataset.home_repository
    with EmulatorServer(dataset.world, tokens) as server:
        runs: list[ActionRun] = []
        histories: list[dict[str, bytes]] = []
        for run_id in ("2001", "2002"):
            seen = len(server.requests)
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=home,
                workspace=tmp_path_factory.mktemp(f"run{run_id}") / "workspace",
                run_id=run_id,
            )
            runs.append(run_action(env))
            with server.lock:
                histories.append(branch_files(dataset.world.repositories[home], "metrics"))
                writes = [
                    (r.method, r.path, r.request_body)
                    for r in server.requests[seen:]
                    if r.method != "GET" and "/git/" in r.path
                ]
    return TwoRuns(dataset, server, runs[0], runs[1], histories[0], histories[1], writes)


def _window(run: ActionRun) -> tuple[datetime, datetime]:
    document = json.loads((run.workspace / run.outputs["report-json"]).read_text())
    window = document["current"]["window"]
    return (
        datetime.fromisoformat(window["since"].replace("Z", "+00:00")),
        datetime.fromisoformat(window["until"].replace("Z", "+00:00")),
    )


def test_both_runs_succeed(two_runs: TwoRuns) -> None:
    for run in (two_runs.first, two_runs.second):
        assert run.returncode == 0, run.stdout + run.stderr
        assert "## Engineering metrics" in run.summary


@pytest.mark.parametrize("output", sorted(HEADLINE))
def test_outputs_equal_ground_truth(two_runs: TwoRuns, output: str) -> None:
    since, until = _window(two_runs.first)
    truth = two_runs.dataset.truth.headline([two_runs.dataset.home_repository], since, until)
    expected = getattr(truth, HEADLINE[output])
    actual = two_runs.first.outputs[output]
    if expected is None:
        assert actual == ""
    else:
        assert float(actual) == pytest.approx(float(expected), rel=0.01), (output, actual)


def test_the_warm_run_counts_the_cached_bug_reports_as_the_truth_does(two_runs: TwoRuns) -> None:
    since, until = _window(two_runs.second)
    truth = two_runs.dataset.truth.headline([two_runs.dataset.home_repository], since, until)
    document = json.loads(
        (two_runs.second.workspace / two_runs.second.outputs["report-json"]).read_text()
    )
    bugs = document["current"]["bugs"]
    assert truth.bugs_opened > 0
    assert (bugs["opened"], bugs["merged_prs"]) == (truth.bugs_opened, truth.merged_prs)
    assert float(two_runs.second.outputs["bug-rate"]) == pytest.approx(truth.bug_rate, abs=1e-4)
    assert "| Bug rate (per 100 merged pull requests) |" in two_runs.second.summary


def test_every_cohort_figure_in_the_snapshot_equals_ground_truth(two_runs: TwoRuns) -> None:
    since, until = _window(two_runs.first)
    run = two_runs.first
    document = json.loads((run.workspace / run.outputs["report-json"]).read_text())
    expected = cohort_truth(
        two_runs.dataset.truth, [two_runs.dataset.home_repository], since, until
    )
    cohorts = document["current"]["cohorts"]
    assert cohorts["agent-authored"]["merged"]["value"] > 0
    for cohort in COHORTS:
        for metric, (value, n) in expected[cohort].figures.items():
            found = cohorts[cohort][metric]
            assert found["n"] == n, (cohort, metric)
            if value is None:
                assert found["value"] is None, (cohort, metric)
            else:
                assert found["value"] == pytest.approx(value, rel=1e-9), (cohort, metric)


def test_exactly_one_dashboard_issue_with_one_report_comment(two_runs: TwoRuns) -> None:
    repo = two_runs.dataset.world.repositories[two_runs.dataset.home_repository]
    dashboards = [i for i in repo.issues if "ghaction-metrics:dashboard" in i.body]
    assert len(dashboards) == 1
    reports = [c for c in dashboards[0].comments if "ghaction-metrics:report" in c.body]
    assert len(reports) == 1
    assert len(dashboards[0].comments) == 1
    assert two_runs.first.outputs["issue-url"] == two_runs.second.outputs["issue-url"]
    assert two_runs.second.outputs["issue-url"].endswith(f"/issues/{dashboards[0].number}")


def test_history_holds_one_snapshot_per_run_and_was_never_forced(two_runs: TwoRuns) -> None:
    first = _run_snapshots(two_runs.history_after_first)
    second = _run_snapshots(two_runs.history_after_second)
    assert len(first) == 1
    assert len(second) == 2
    ((path, content),) = first.items()
    assert path.endswith("-run2001.json")
    assert second[path] == content, "the first run's snapshot changed"
    repo = two_runs.dataset.world.repositories[two_runs.dataset.home_repository]
    updates = [u for u in repo.ref_log if u.ref == "heads/metrics"]
    assert updates
    assert not any(u.forced for u in updates)
    assert two_runs.second.outputs["history-sha"] == repo.refs["heads/metrics"]


def _run_snapshots(files: dict[str, bytes]) -> dict[str, bytes]:
    return {
        p: c for p, c in files.items() if "/snapshots/" in p and not p.endswith("-backfill.json")
    }


def test_first_run_backfills_weekly_snapshots_once(two_runs: TwoRuns) -> None:
    def backfilled(files: dict[str, bytes]) -> list[str]:
        return sorted(p for p in files if p.endswith("-run2001-backfill.json"))

    first = backfilled(two_runs.history_after_first)
    assert len(first) == 12  # the default backfill: 12w
    assert backfilled(two_runs.history_after_second) == first
    assert not [p for p in two_runs.history_after_second if p.endswith("-run2002-backfill.json")]


def test_history_branch_holds_charts_html_report_and_trends_page(two_runs: TwoRuns) -> None:
    files = two_runs.history_after_second
    for name in ("trends.png", "throughput.png"):
        assert files[f"default/charts/{name}"].startswith(b"\x89PNG")
    # The latest run's report and the trends page, at fixed paths, show the charts next to them.
    assert not [p for p in files if p.startswith("default/reports/")]
    report = files["default/report.html"].decode()
    assert 'src="charts/trends.png"' in report
    assert "data:image/png" not in report
    index = files["default/index.html"].decode()
    assert 'src="charts/trends.png"' in index
    assert 'href="report.html"' in index
    assert index.count("backfilled") == 12
    assert b'href="default/index.html"' in files["index.html"]
    sha = two_runs.second.outputs["history-sha"]
    for chart in ("trends.png", "throughput.png"):
        assert f"/blob/{sha}/default/charts/{chart}?raw=true" in two_runs.second.summary
    assert f"/blob/{sha}/default/report.html" in two_runs.second.summary
    assert json.loads(two_runs.second.outputs["alerts"]) == []


def test_a_warm_run_writes_the_history_in_at_most_eight_requests(two_runs: TwoRuns) -> None:
    """Text rides inline in the tree: only the charts (binary) take a blob request each, and
    only those that changed; then the tree, the commit and the ref."""
    methods = [(method, path.rsplit("/git/", 1)[1]) for method, path, _ in two_runs.history_writes]
    blobs = [body for method, path, body in two_runs.history_writes if path.endswith("/blobs")]
    assert len(methods) <= 8, methods
    assert methods[-3:] == [("POST", "trees"), ("POST", "commits"), ("PATCH", "refs/heads/metrics")]
    for body in blobs:
        assert base64.b64decode(json.loads(body)["content"]).startswith(b"\x89PNG")


def test_every_snapshot_matches_the_published_json_schema(two_runs: TwoRuns) -> None:
    schema = json.loads(SNAPSHOT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    snapshots = [c for p, c in two_runs.history_after_second.items() if "/snapshots/" in p]
    assert snapshots
    for content in snapshots:
        jsonschema.Draft202012Validator(schema).validate(json.loads(content))


def test_token_never_leaks(two_runs: TwoRuns) -> None:
    repo = two_runs.dataset.world.repositories[two_runs.dataset.home_repository]
    published = [i.body for i in repo.issues] + [c.body for i in repo.issues for c in i.comments]
    published += [c.decode("utf-8", "replace") for c in two_runs.history_after_second.values()]
    for run in (two_runs.first, two_runs.second):
        # The runner consumes ::add-mask:: and masks the value in everything after it, so the
        # one line allowed to carry the token is that command, and it must come first.
        first, _, log = run.stdout.partition("\n")
        assert first == f"::add-mask::{WORKFLOW_TOKEN}"
        published += [log, run.stderr, run.summary, json.dumps(run.outputs)]
        published += [
            p.read_bytes().decode("utf-8", "replace")  # charts are PNG files
            for p in Path(run.workspace).rglob("*")
            if p.is_file()
        ]
    assert all(WORKFLOW_TOKEN not in text for text in published)


def test_every_graphql_document_sent_is_a_known_validated_one(two_runs: TwoRuns) -> None:
    known = {" ".join(doc.split()) for doc in ALL_DOCUMENTS.values()}
    sent = {
        " ".join(json.loads(r.request_body)["query"].split())
        for r in two_runs.server.requests
        if r.kind == "graphql"
    }
    assert sent
    assert sent <= known


def test_every_rest_payload_served_satisfies_githubs_openapi(
    two_runs: TwoRuns, contracts: Path
) -> None:
    rest = [r for r in two_runs.server.requests if r.kind == "rest"]
    assert rest
    assert rest_contract_problems(rest) == []


def test_the_workflow_token_never_calls_get_user(two_runs: TwoRuns) -> None:
    assert not [r for r in two_runs.server.requests if r.path.rstrip("/").endswith("/api/v3/user")]


def test_the_trends_page_carries_every_snapshots_rows_and_the_filters(two_runs: TwoRuns) -> None:
    files = two_runs.history_after_second
    index = files["default/index.html"].decode()
    for control in ('id="f-repository"', 'id="f-cohort"', 'id="f-period"'):
        assert control in index
    # The filters' script is a file beside the page, the one the action ships.
    assert '<script src="explore.js"></script>' in index
    assert files["default/explore.js"] == SCRIPT.encode()
    found = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', index)
    assert found is not None
    data = json.loads(found.group(1))
    shown = {tuple(s) for s in data["snapshots"]}
    # One column per window end: the twelve backfilled weeks and the day of both runs.
    untils = set()
    for path, content in files.items():
        if "/snapshots/" in path:
            untils.add(json.loads(content)["current"]["window"]["until"])
    assert {s[3] for s in shown} == untils
    assert len(shown) == 13
    home = two_runs.dataset.home_repository
    latest = max(range(len(data["snapshots"])), key=lambda i: data["snapshots"][i][3])
    assert data["snapshots"][latest][0] == "2002"  # the later run of the same day
    rows = {(s[0], s[1], s[2]): (s[3][latest], s[4][latest]) for s in data["series"]}
    for output in ("lead-time-hours", "merged-prs", "cycle-time-hours"):
        value, _ = rows["*", "all", output]
        expected = two_runs.second.outputs[output]
        # The page keeps four significant digits, more than it shows.
        assert (value is None and expected == "") or float(expected) == pytest.approx(
            value, rel=1e-3
        )
    assert "lead-time-hours" in {m for (repo, _, m) in rows if repo == home}
    # The weekly CSVs hold every snapshot's rows, so the next run reads no snapshot (but
    # the newest, for its schema) to draw the trends.
    listing = {path: git_blob_sha(data) for path, data in files.items()}
    blobs = {git_blob_sha(data): data for data in files.values()}
    figures = branch_figures(listing, "default", one_by_one(blobs.get), blobs.get)
    assert len(figures.rows) == 14
    assert figures.read_from_snapshots == ()
    assert "default/trends-index.json" not in files
