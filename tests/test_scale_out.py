"""Scale-out: three shard runs at once commit their repositories' records to the history branch,
then one aggregate run publishes a single report over all of them, and it is the report a
single run over every repository publishes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ghaction_metrics.collect.sync import RepoState, cache_path
from ghaction_metrics.inputs.config import InputError, Inputs, RunnerEnv, RunnerEnvError
from ghaction_metrics.metrics.shards import NoShardRecordsError, ShardRecords, aggregate_collection
from ghaction_metrics.records import RepositoryInfo
from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    ActionRun,
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, RequestRecord

# The tests share one module-scoped run; in parallel, one worker makes it for all of them.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("scale-out")]


@dataclass
class ScaleOut:
    dataset: GeneratedDataset
    shards: list[ActionRun]
    aggregate: ActionRun
    single: ActionRun
    after_shards: dict[str, bytes]
    after_aggregate: dict[str, bytes]
    requests: list[RequestRecord]


@pytest.fixture(scope="module")
def scale_out(tmp_path_factory: pytest.TempPathFactory) -> ScaleOut:
    dataset = generate_dataset(seed=11, now=datetime.now(UTC).replace(microsecond=0))
    home = dataset.home_repository
    names = sorted(dataset.world.repositories)
    assert len(names) == 5
    groups = [names[0:2], names[2:3], names[3:5]]
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:

        def env(run_id: str, **inputs: str) -> dict[str, str]:
            return runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=home,
                workspace=tmp_path_factory.mktemp(f"run{run_id}") / "workspace",
                run_id=run_id,
                overrides=inputs,
            )

        shard_envs = [
            env(f"300{index}", mode="shard", repositories=",".join(group))
            for index, group in enumerate(groups)
        ]
        # The same inputs in one single run over every repository, as a separate report; it
        # runs alongside the shards, a fourth writer of the same branch.
        single_env = env("5000", repositories=",".join(names), **{"report-id": "single"})
        with ThreadPoolExecutor(max_workers=len(shard_envs) + 1) as pool:
            single_run = pool.submit(run_action, single_env)
            shards = list(pool.map(run_action, shard_envs))
            single = single_run.result()
        with server.lock:
            after_shards = branch_files(dataset.world.repositories[home], "metrics")
        aggregate = run_action(env("4000", mode="aggregate"))
        with server.lock:
            after_aggregate = branch_files(dataset.world.repositories[home], "metrics")
        requests = list(server.requests)
    return ScaleOut(dataset, shards, aggregate, single, after_shards, after_aggregate, requests)


def _fine(run: ActionRun) -> None:
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "::error" not in run.stdout


def _document(run: ActionRun) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (run.workspace / run.outputs["report-json"]).read_text(encoding="utf-8")
    )
    return loaded


def test_every_run_succeeds(scale_out: ScaleOut) -> None:
    for run in [*scale_out.shards, scale_out.aggregate, scale_out.single]:
        _fine(run)


def test_the_shards_commit_every_repository_and_nothing_else(scale_out: ScaleOut) -> None:
    expected = {cache_path("default", name) for name in scale_out.dataset.world.repositories}
    shard_files = {p for p in scale_out.after_shards if not p.startswith(("single/", "index."))}
    headers = {p for p in shard_files if p.endswith("/state.json")}
    assert headers == expected
    # Besides each repository's header, only its weekly parts.
    folders = tuple(path.removesuffix("state.json") for path in expected)
    parts = shard_files - headers - {".nojekyll"}
    assert all(p.startswith(folders) and p.endswith(".jsonl") for p in parts)
    for run in scale_out.shards:
        assert run.outputs["partial"] == "false"
        assert "Engineering metrics (shard)" in run.summary


def test_the_aggregate_reports_every_repository(scale_out: ScaleOut) -> None:
    document = _document(scale_out.aggregate)
    text = json.dumps(document)
    for name in scale_out.dataset.world.repositories:
        assert name in text
        assert name.split("/")[1] in scale_out.aggregate.summary
    assert scale_out.aggregate.outputs["issue-url"]
    snapshots = [p for p in scale_out.after_aggregate if p.startswith("default/snapshots/")]
    assert any(p.endswith("-run4000.json") for p in snapshots)
    # The shards' records are still on the branch for the next aggregate run.
    assert set(scale_out.after_shards) <= set(scale_out.after_aggregate)


def _figures(document: dict[str, Any]) -> dict[str, Any]:
    """The report without what names the run (ids, times, links)."""
    current = dict(document["current"])
    for volatile in ("generated_at", "run_id", "run_attempt", "report_id"):
        current.pop(volatile, None)
    return current


def test_the_aggregate_equals_a_single_run_over_every_repository(scale_out: ScaleOut) -> None:
    aggregate, single = scale_out.aggregate.outputs, scale_out.single.outputs
    for name in ("deployment-frequency", "lead-time-hours", "change-failure-rate"):
        assert aggregate[name] == single[name]
    for name in ("recovery-time-hours", "rework-rate", "cycle-time-hours", "merged-prs"):
        assert aggregate[name] == single[name]
    assert _figures(_document(scale_out.aggregate)) == _figures(_document(scale_out.single))


def test_no_ref_update_is_forced(scale_out: ScaleOut) -> None:
    updates = [
        json.loads(r.request_body)
        for r in scale_out.requests
        if r.method == "PATCH" and "/git/refs/" in r.path
    ]
    assert updates
    assert all(update.get("force") is False for update in updates)


def _environ(tmp_path: Path, **inputs: str) -> dict[str, str]:
    return runner_environment(
        api_url="http://127.0.0.1:1/api/v3",
        graphql_url="http://127.0.0.1:1/api/graphql",
        server_url="http://127.0.0.1:1",
        repository="acme/storefront",
        workspace=tmp_path / "ws",
        overrides=inputs,
    )


def test_mode_defaults_to_single_and_needs_the_history_branch(tmp_path: Path) -> None:
    assert Inputs.from_environ(_environ(tmp_path), "acme/storefront").mode == "single"
    shard = Inputs.from_environ(_environ(tmp_path, mode="Shard"), "acme/storefront")
    assert shard.mode == "shard"
    with pytest.raises(InputError, match="add history to publish"):
        Inputs.from_environ(_environ(tmp_path, mode="aggregate", publish="summary"), "a/b")
    with pytest.raises(InputError, match="single, shard, aggregate"):
        Inputs.from_environ(_environ(tmp_path, mode="matrix"), "acme/storefront")


def test_api_url_points_the_run_at_another_server(tmp_path: Path) -> None:
    env = RunnerEnv.from_environ(_environ(tmp_path, **{"api-url": "https://ghe.example/api/v3/"}))
    assert env.api_url == "https://ghe.example/api/v3"
    assert env.graphql_url == "https://ghe.example/api/graphql"
    assert env.server_url == "https://ghe.example"
    default = RunnerEnv.from_environ(_environ(tmp_path))
    assert default.api_url == "http://127.0.0.1:1/api/v3"
    assert default.server_url == "http://127.0.0.1:1"
    with pytest.raises(RunnerEnvError, match="api-url"):
        RunnerEnv.from_environ(_environ(tmp_path, **{"api-url": "ghe.example"}))


def test_the_aggregate_is_computed_from_the_records_it_is_given() -> None:
    now = datetime(2025, 6, 18, tzinfo=UTC)

    def state(name: str, key: str, synced: datetime) -> RepoState:
        info = RepositoryInfo(name, False, False, "main")
        return RepoState(info=info, synced_at=synced, settings_key=key)

    records: ShardRecords = {
        "acme/api": (state("acme/api", "k", now), "cache"),
        "acme/old": (state("acme/old", "k", now - timedelta(days=3)), "cache"),
        "acme/other": (state("acme/other", "other", now), "cache"),
        "acme/broken": (None, "the cache file is unreadable"),
    }
    collection = aggregate_collection(records, "default", "k", now, graphql_points=3, requests=2)
    assert [r.info.full_name for r in collection.repositories] == ["acme/api", "acme/old"]
    assert collection.repositories[1].notes[0].startswith("acme/old: its shard last collected")
    assert {s.full_name for s in collection.skipped} == {"acme/other", "acme/broken"}
    assert (collection.graphql_points, collection.requests) == (3, 2)
    with pytest.raises(NoShardRecordsError, match="run the shard jobs"):
        aggregate_collection({}, "default", "k", now)
