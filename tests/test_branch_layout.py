"""The history branch's layout: what a run adds, and a branch written by an earlier version.

A daily run adds its snapshot; the HTML report, the trends page and the charts are
overwritten at fixed paths, and the collection cache rewrites only the weeks that changed.
A branch in the earlier layout (one gzip'd cache file per repository, one HTML report per
run, charts since merged into others) keeps working: its cache is used, its snapshots stay,
and the first commit moves it to the new layout.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghaction_metrics.api.client import connect
from ghaction_metrics.collect.sync import cache_path, legacy_cache_path
from ghaction_metrics.publish.exports import branch_figures, one_by_one
from ghaction_metrics.publish.history import commit_files, git_blob_sha
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

pytestmark = pytest.mark.e2e
HOME = "acme/storefront"
OLD_REPORT = "default/reports/2026-01-05T060000Z-run700.html"
OLD_CHARTS = ("stages.png", "cycle-time-by-size.png", "ai-adoption.png", "copilot-usage.png")


@dataclass
class Stage:
    dataset: GeneratedDataset
    server: EmulatorServer
    folder: Path

    def run(self, run_id: str) -> ActionRun:
        env = runner_environment(
            api_url=self.server.api_url,
            graphql_url=self.server.graphql_url,
            server_url=self.server.url,
            repository=HOME,
            workspace=self.folder / run_id / "workspace",
            run_id=run_id,
            overrides={"backfill": "0", "publish": "summary,history"},
        )
        return run_action(env, timeout=120)

    def branch(self) -> dict[str, bytes]:
        with self.server.lock:
            return branch_files(self.dataset.world.repositories[HOME], "metrics")

    def rewrite(self, files: dict[str, bytes]) -> None:
        """Replace the branch tip's content, as another version of the action would leave it."""
        clients = connect(WORKFLOW_TOKEN, self.server.api_url, self.server.graphql_url)
        current = self.branch()
        gone = [p for p in current if p not in files]
        changed = {p: d for p, d in files.items() if current.get(p) != d}
        commit_files(clients, HOME, "metrics", changed, "an earlier version", deletions=gone)


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[Stage]:
    dataset = generate_dataset(seed=3, now=datetime.now(UTC).replace(microsecond=0), profile="tiny")
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        yield Stage(dataset, server, tmp_path)


def _earlier_layout(files: dict[str, bytes]) -> dict[str, bytes]:
    """The branch as versions before 2026-12 wrote it: the cache in one gzip'd file of
    schema 2, an HTML report per run, indented snapshots, no fixed-path report."""
    folder = cache_path("default", HOME).removesuffix("state.json")
    header = json.loads(files[folder + "state.json"])
    parts = [files[folder + name] for name in sorted(header.pop("parts"))]
    header["schema"] = 2
    text = json.dumps(header, sort_keys=True).encode() + b"\n" + b"".join(parts)
    old = {
        p: d for p, d in files.items() if not p.startswith(folder) and p != "default/report.html"
    }
    for path in [p for p in old if "/snapshots/" in p]:
        old[path] = (json.dumps(json.loads(old[path]), indent=2, sort_keys=True) + "\n").encode()
    old[legacy_cache_path("default", HOME)] = gzip.compress(text, mtime=0)
    old[OLD_REPORT] = b"<!doctype html><title>an old report</title>"
    # Charts that now are panels of a figure of their topic.
    for name in OLD_CHARTS:
        old[f"default/charts/{name}"] = b"\x89PNG\r\n\x1a\n an old chart"
    return old


def test_a_branch_written_by_an_earlier_version_keeps_working_and_moves_on(stage: Stage) -> None:
    first = stage.run("701")
    assert first.returncode == 0, first.stdout + first.stderr
    stage.rewrite(_earlier_layout(stage.branch()))
    before = stage.branch()
    snapshots = {p: d for p, d in before.items() if "/snapshots/" in p}
    assert OLD_REPORT in before

    second = stage.run("702")
    assert second.returncode == 0, second.stdout + second.stderr
    # The earlier cache lacks what this version records: collected in full once, no warning.
    assert "the cache of an earlier version lacks what this one records" in second.stdout
    assert "::warning::" not in second.stdout
    after = stage.branch()
    # Nothing of the earlier runs is lost: their snapshots stay as they were.
    assert all(after.get(path) == data for path, data in snapshots.items())
    assert any(p.endswith("-run702.json") for p in after)
    # The exports hold every snapshot's rows, the earlier runs' included.
    listing = {path: git_blob_sha(data) for path, data in after.items()}
    blobs = {git_blob_sha(data): data for data in after.values()}
    found = branch_figures(listing, "default", one_by_one(blobs.get), blobs.get)
    assert set(found.rows) == {p for p in after if "/snapshots/" in p}
    assert found.behind == ()
    # The new layout: the cache folder instead of the file, one report at a fixed path.
    assert legacy_cache_path("default", HOME) not in after
    assert cache_path("default", HOME) in after
    assert OLD_REPORT not in after
    assert not [p for p in after if p.startswith("default/reports/")]
    assert b'src="charts/trends.png"' in after["default/report.html"]
    # The charts folder holds this run's charts, each shown by the pages; none of before.
    charts = {p.removeprefix("default/charts/") for p in after if p.startswith("default/charts/")}
    assert "pull-requests.png" in charts
    assert not charts & set(OLD_CHARTS)
    for name in charts:
        assert f'src="charts/{name}"'.encode() in after["default/report.html"]


def test_a_daily_run_overwrites_the_pages_and_adds_only_its_snapshot(stage: Stage) -> None:
    assert stage.run("801").returncode == 0
    first = stage.branch()
    assert stage.run("802").returncode == 0
    second = stage.branch()
    added = sorted(set(second) - set(first))
    assert len(added) == 1
    assert added[0].startswith("default/snapshots/")
    assert added[0].endswith("-run802.json")
    for fixed in ("default/report.html", "default/index.html", "default/charts/trends.png"):
        assert fixed in first
        assert fixed in second
