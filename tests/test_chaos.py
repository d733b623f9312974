"""Chaos: 10 consecutive runs of the action (each a real subprocess, as a runner starts it)
against one emulator, each with up to three faults armed at random points (seeded, so a
failure replays). Whatever fails, after every run the history branch holds every snapshot a run
reported as committed, exactly one dashboard issue with one report comment exists, no ref
update was forced, and every commit the branch ever pointed at is complete: snapshots, trends
index, charts, pages and cache, consistent with each other.

Sized for the suite's time budget (each run takes seconds): the faults are dealt from a
shuffled deck rather than drawn independently, so ten runs arm every kind of fault at least
once, which the test checks; more runs would only repeat them in other orders."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ghaction_metrics.collect.sync import cache_path
from ghaction_metrics.publish.exports import branch_figures, one_by_one
from ghaction_metrics.publish.history import git_blob_sha
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    files_at,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer

pytestmark = pytest.mark.e2e
HOME = "acme/storefront"
RUNS = 10
SEED = 20260601
# (kind, options): each a way GitHub fails, at a point chosen by API and verb.
FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("server_error", {"api": "graphql", "count": 2}),
    ("server_error", {"api": "graphql", "after_processing": True}),
    ("server_error", {"api": "rest", "method": "GET", "count": 2, "status": 503}),
    ("server_error", {"api": "rest", "method": "POST"}),
    ("server_error", {"api": "rest", "method": "POST", "after_processing": True}),
    ("server_error", {"api": "rest", "method": "PATCH", "after_processing": True}),
    ("server_error", {"api": "rest", "method": "PATCH"}),
    ("server_error", {"api": "rest", "method": "PUT"}),
    ("secondary_limit", {"api": "rest", "method": "GET", "retry_after": 1}),
    ("secondary_limit", {"api": "graphql", "status": 429, "retry_after": 1}),
    ("graphql_rate_limited", {"api": "graphql"}),
    ("partial", {"api": "graphql"}),
]


def _complete(files: dict[str, bytes]) -> list[str]:
    """What is missing or inconsistent in one commit's tree."""
    problems = []
    snapshots = {p for p in files if p.startswith("default/snapshots/")}
    if not snapshots:
        problems.append("no snapshot")
    listing = {path: git_blob_sha(data) for path, data in files.items()}
    blobs = {git_blob_sha(data): data for data in files.values()}
    found = branch_figures(listing, "default", one_by_one(blobs.get), blobs.get)
    if found.behind:
        problems.append(f"the exports of {found.behind} lack {found.read_from_snapshots}")
    for needed in (
        "default/charts/trends.png",
        "default/index.html",
        "default/report.html",
        "index.html",
        cache_path("default", HOME),
    ):
        if needed not in files:
            problems.append(f"{needed} missing")
    return problems


def _deal(rng: random.Random, runs: int) -> list[list[int]]:
    """For each run, the indexes of 0 to 3 faults to arm, dealt from a deck of FAULTS that is
    reshuffled when it runs out: no fault is armed twice before each has been armed once."""
    deck: list[int] = []
    hands = []
    for _ in range(runs):
        hand: list[int] = []
        for _ in range(rng.randint(0, 3)):
            if not deck:
                deck = rng.sample(range(len(FAULTS)), len(FAULTS))
            if deck[-1] in hand:  # one of each kind per run
                break
            hand.append(deck.pop())
        hands.append(hand)
    return hands


def test_consecutive_runs_under_random_faults_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    hands = _deal(random.Random(SEED), RUNS)
    assert {index for hand in hands for index in hand} == set(range(len(FAULTS)))
    dataset = generate_dataset(seed=3, now=datetime.now(UTC).replace(microsecond=0), profile="tiny")
    repo = dataset.world.repositories[HOME]
    committed: set[str] = set()
    outcomes: list[int] = []
    complete: set[str] = set()  # commits already checked: a commit never changes
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        for number in range(RUNS):
            run_id = str(9000 + number)
            for index in hands[number]:
                kind, options = FAULTS[index]
                server.faults.arm(kind, **options)  # type: ignore[arg-type]
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=HOME,
                workspace=tmp_path / run_id,
                run_id=run_id,
                overrides={"backfill": "0", "max-wait": "0"},
            )
            run = run_action(env, timeout=120)
            server.faults.clear()
            assert "Traceback" not in run.stderr, run.stderr
            assert run.outputs, run.stdout  # every run gets as far as its outputs
            assert "## Engineering metrics" in run.summary
            outcomes.append(run.returncode)
            if run.outputs.get("history-sha"):
                committed.add(run_id)
            with server.lock:
                head = repo.refs.get("heads/metrics")
                files = files_at(repo, head) if head else {}
                tips = {u.new for u in repo.ref_log if u.ref == "heads/metrics"} - complete
                trees = {sha: files_at(repo, sha) for sha in tips}
                dashboards = [
                    i
                    for i in repo.issues
                    if "ghaction-metrics:dashboard" in i.body and not i.deleted
                ]
            on_branch = {p.rsplit("-run", 1)[1][:-5] for p in files if "/snapshots/" in p}
            assert committed <= on_branch, (run_id, run.stdout)
            assert not any(u.forced for u in repo.ref_log)
            for sha, tree in trees.items():
                assert _complete(tree) == [], (run_id, sha)
            complete.update(trees)
            reports = [
                c for i in dashboards for c in i.comments if "ghaction-metrics:report" in c.body
            ]
            # Never a duplicate; and once the dashboard was published, exactly one of each.
            assert len(dashboards) <= 1, run.stdout
            assert len(reports) <= 1, run.stdout
            if run.outputs.get("issue-url"):
                assert len(dashboards) == 1, run.stdout
                assert len(reports) == 1, run.stdout
    # Every fault here is survivable: each run ends complete, with its snapshot committed.
    assert outcomes == [0] * RUNS
    assert len(committed) == RUNS
