"""``deployment-source: workflow:<x>`` and ``tags:<glob>`` collected through the emulator, and
per-person commits under every source, with the expected figures worked out by hand.

One small repository (``acme/app``), its days counted from the 30-day window's start S:

- c0, a direct push by alice at S-120d: the history before everything.
- PR #1 by alice: its commit c1 authored at S+8d 09:00, created 10:00, squash-merged at 12:00
  as m1 (authored and committed then, by alice).
- c2, a direct push by bob: authored S+18d 09:00, committed 10:00.
- ``deploy.yml`` ("Deploy") runs on main: run 1 on c0 succeeded at S-120d 01:00 (the
  baseline); run 2 on m1 failed in its first attempt (13:00) and succeeded in its second
  (14:00); run 3 on c2 failed (S+18d 11:00); run 4 on c2 succeeded on branch ``feature``
  (12:00), which does not count; run 5 on c2 succeeded at S+19d 10:00; run 6 on c2 was
  cancelled (11:00). ``ci.yml`` also succeeded on main: another workflow, never counted.
- tags: v1.0 (lightweight) on c0; v1.1 (annotated, tagger date S+8d 15:00) on m1; v1.2
  (lightweight) on c2, so at c2's committer date S+18d 10:00; ``nightly`` on m1 (not v*).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from collection_plans import thirty_days
from conftest import WORKFLOW_TOKEN, EmulatorFactory

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.api.quota import Waiter
from ghaction_metrics.collect.parallel import collect
from ghaction_metrics.collect.plan import CollectionPlan
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics.collect.sync import decode_state, encode_state
from ghaction_metrics.inputs.windows import Window, parse_window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, outputs
from ghaction_metrics.records import Actor, Collection
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.harness import run_action, runner_environment, workflow_tokens
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import (
    Commit,
    PullRequest,
    Repository,
    User,
    Workflow,
    WorkflowRun,
    World,
)

HOME = "acme/app"
DEPLOY = ".github/workflows/deploy.yml"


def window_of(now: datetime) -> Window:
    return parse_window("30d").resolve(now, UTC)


@dataclass
class AppWorld:
    world: World
    repo: Repository
    start: datetime  # S, the window's start

    def at(self, days: float, hours: float = 0) -> datetime:
        return self.start + timedelta(days=days, hours=hours)


def _oid(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def app_world(now: datetime) -> AppWorld:
    """The repository described in the module docstring, its window ending today."""
    world = World(now=now)
    for user in (
        User("acme", 1, "Organization"),
        User("alice", 2),
        User("bob", 3),
        User("github-actions[bot]", 41898282, "Bot"),
    ):
        world.users[user.login] = user
    repo = Repository(owner="acme", name="app", id=500, created_at=now - timedelta(days=400))
    world.repositories[HOME] = repo
    app = AppWorld(world, repo, window_of(now).since)

    def commit(
        name: str,
        author: str,
        authored: datetime,
        committed: datetime,
        parents: tuple[str, ...] = (),
        pull: int | None = None,
    ) -> str:
        oid = _oid(name)
        repo.commits[oid] = Commit(
            oid, name, authored, committed, author, list(parents), associated_pr=pull
        )
        return oid

    c0 = commit("Initial import", "alice", app.at(-120), app.at(-120))
    c1 = commit("Add checkout", "alice", app.at(8, 9), app.at(8, 9), (c0,))
    m1 = commit("Add checkout (#1)", "alice", app.at(8, 12), app.at(8, 12), (c0,), pull=1)
    c2 = commit("Fix typo in footer", "bob", app.at(18, 9), app.at(18, 10), (m1,))
    repo.refs["heads/main"] = c2
    repo.refs["heads/feature"] = c2
    repo.pull_requests.append(
        PullRequest(
            number=1,
            id=9001,
            title="Add checkout",
            body="",
            author="alice",
            created_at=app.at(8, 10),
            updated_at=app.at(8, 12),
            base_ref="main",
            head_ref="checkout",
            state="closed",
            closed_at=app.at(8, 12),
            merged_at=app.at(8, 12),
            merge_commit=m1,
            commits=[c1],
            additions=40,
            deletions=2,
        )
    )
    deploy = Workflow(7001, "Deploy", DEPLOY, app.at(-200))
    ci = Workflow(7002, "CI", ".github/workflows/ci.yml", app.at(-200))
    repo.workflows = [deploy, ci]

    def run(
        flow: Workflow,
        run_id: int,
        sha: str,
        created: datetime,
        updated: datetime,
        conclusion: str,
        attempt: int = 1,
        branch: str = "main",
    ) -> WorkflowRun:
        return WorkflowRun(
            id=run_id,
            workflow_id=flow.id,
            run_number=run_id % 100,
            attempt=attempt,
            head_branch=branch,
            head_sha=sha,
            event="push",
            status="completed",
            conclusion=conclusion,
            created_at=created,
            updated_at=updated,
            actor="alice",
        )

    repo.workflow_runs = [
        run(deploy, 801, c0, app.at(-120, 0.5), app.at(-120, 1), "success"),
        run(deploy, 802, m1, app.at(8, 12.5), app.at(8, 13), "failure"),
        run(deploy, 802, m1, app.at(8, 12.5), app.at(8, 14), "success", attempt=2),
        run(deploy, 803, c2, app.at(18, 10.5), app.at(18, 11), "failure"),
        run(deploy, 804, c2, app.at(18, 11.5), app.at(18, 12), "success", branch="feature"),
        run(deploy, 805, c2, app.at(19, 9), app.at(19, 10), "success"),
        run(deploy, 806, c2, app.at(19, 10.5), app.at(19, 11), "cancelled"),
        run(ci, 901, c2, app.at(18, 10.5), app.at(18, 10.75), "success"),
    ]
    tag_object = _oid("tag v1.1")
    repo.tag_objects[tag_object] = (m1, app.at(8, 15))
    repo.refs["tags/v1.0"] = c0
    repo.refs["tags/v1.1"] = tag_object
    repo.refs["tags/v1.2"] = c2
    repo.refs["tags/nightly"] = m1
    return app


def plan_for(now: datetime, source: str, incident_repository: str | None = None) -> CollectionPlan:
    return thirty_days(now, source, incident_repository=incident_repository)


def clients_for(server: EmulatorServer) -> GitHubClients:
    return connect(
        WORKFLOW_TOKEN, server.api_url, server.graphql_url, waiter=Waiter(sleep=lambda _: None)
    )


def report_outputs(collection: Collection, now: datetime, source: str) -> dict[str, str]:
    settings = Settings(deployment_source=source)
    report = build_report(collection, settings, window_of(now), "previous", now, "default")
    return outputs(report)


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_workflow_runs_latest_attempt_on_the_default_branch(
    emulator_factory: EmulatorFactory,
) -> None:
    app = app_world(NOW)
    server = emulator_factory(app.world)
    result = collect_repository(
        clients_for(server), "acme", "app", plan_for(NOW, "workflow:deploy.yml"), NOW
    )
    runs = {(r.id, r.attempt): r for r in result.data.workflow_runs}
    # The list shows each run once, as its latest attempt; the feature branch and other
    # workflows are not asked for. Newest first, back to run 801 (the baseline).
    assert sorted(runs) == [(801, 1), (802, 2), (803, 1), (805, 1), (806, 1)]
    assert runs[(802, 2)].conclusion == "success"
    assert runs[(802, 2)].actor == Actor("alice")
    # The history reaches past the baseline (c0 at S-120d).
    assert {c.message for c in result.data.commits} >= {"Initial import", "Fix typo in footer"}
    values = report_outputs(Collection((result.data,), (), 0, 0), NOW, "workflow:deploy.yml")
    # Deployments in the window: run 802 (S+8d 14:00) and run 805 (S+19d 10:00): 2 / 30 days.
    assert values["deployment-frequency"] == "0.0667"
    # PR #1: c1 authored S+8d 09:00 -> 14:00 = 5 h; c2 authored S+18d 09:00 -> S+19d 10:00
    # = 25 h. Median (5 + 25) / 2 = 15.
    assert values["lead-time-hours"] == "15"
    # The failed attempt of 802 and run 803 never reached success: not deployments, and
    # nothing failed after a success.
    assert values["change-failure-rate"] == "0"
    assert values["merged-prs"] == "1"


def test_workflow_given_by_name_is_resolved(emulator_factory: EmulatorFactory) -> None:
    app = app_world(NOW)
    server = emulator_factory(app.world)
    result = collect_repository(
        clients_for(server), "acme", "app", plan_for(NOW, "workflow:Deploy"), NOW
    )
    assert {r.id for r in result.data.workflow_runs} == {801, 802, 803, 805, 806}
    paths = [r.path for r in server.requests if r.kind == "rest"]
    assert any(path.endswith("/actions/workflows/7001/runs") for path in paths)


def test_workflow_runs_without_actions_read_skip_with_the_fix(
    emulator_factory: EmulatorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_world(NOW)
    no_actions = {"contents": "write", "issues": "write", "pull_requests": "read"}
    tokens = {WORKFLOW_TOKEN: TokenInfo("github-actions[bot]", "workflow", no_actions)}
    server = emulator_factory(app.world, tokens)
    with caplog.at_level(logging.WARNING):
        outcome = collect(
            clients_for(server), [HOME], plan_for(NOW, "workflow:deploy.yml"), now=NOW
        )
    assert outcome.collection.repositories == ()
    (skipped,) = outcome.collection.skipped
    assert "HTTP 403" in skipped.reason
    assert "actions: read" in skipped.reason
    assert "actions: read" in caplog.text


def test_tags_lightweight_and_annotated_matching_the_glob(
    emulator_factory: EmulatorFactory,
) -> None:
    app = app_world(NOW)
    server = emulator_factory(app.world)
    result = collect_repository(clients_for(server), "acme", "app", plan_for(NOW, "tags:v*"), NOW)
    tags = {t.name: t for t in result.data.tags}
    assert sorted(tags) == ["v1.0", "v1.1", "v1.2"]  # nightly does not match v*
    assert tags["v1.1"].tagger_date == app.at(8, 15)  # annotated: peeled to m1
    assert tags["v1.1"].commit == app.repo.tag_objects[app.repo.refs["tags/v1.1"]][0]
    assert tags["v1.2"].tagger_date is None  # lightweight
    assert tags["v1.2"].committed_at == app.at(18, 10)
    values = report_outputs(Collection((result.data,), (), 0, 0), NOW, "tags:v*")
    # v1.1 at S+8d 15:00 and v1.2 at S+18d 10:00 in the window: 2 / 30 days.
    assert values["deployment-frequency"] == "0.0667"
    # PR #1: 09:00 -> 15:00 = 6 h; c2: authored 09:00 -> committed (v1.2) 10:00 = 1 h.
    assert values["lead-time-hours"] == "3.5"


def test_per_person_commits_are_collected_under_merges(emulator_factory: EmulatorFactory) -> None:
    app = app_world(NOW)
    server = emulator_factory(app.world)
    result = collect_repository(clients_for(server), "acme", "app", plan_for(NOW, "merges"), NOW)
    settings = Settings(deployment_source="merges")
    report = build_report(
        Collection((result.data,), (), 0, 0), settings, window_of(NOW), "previous", NOW, "x"
    )
    team = report.current.team
    assert team is not None
    commits = {person.name: person.commits for person in team.people}
    # Authored in the window on main: m1 (alice, the squash commit) and c2 (bob); c0 is older
    # and c1 is PR #1's own commit, not on main.
    assert commits == {"alice": 1, "bob": 1}


def _run(server: EmulatorServer, workspace: Path, **inputs: str) -> dict[str, str]:
    env = runner_environment(
        api_url=server.api_url,
        graphql_url=server.graphql_url,
        server_url=server.url,
        repository=HOME,
        workspace=workspace,
        overrides={"publish": "summary", **inputs},
    )
    done = run_action(env)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((done.workspace / done.outputs["report-json"]).read_text())
    assert document["current"]["window"]
    return done.outputs


@pytest.mark.parametrize(
    ("source", "lead_time"),
    [("workflow:deploy.yml", "15"), ("tags:v*", "3.5")],
)
def test_action_end_to_end_with_workflow_and_tag_sources(
    tmp_path: Path, source: str, lead_time: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    app = app_world(now)
    with EmulatorServer(app.world, workflow_tokens("github-actions[bot]")) as server:
        values = _run(server, tmp_path / "workspace", **{"deployment-source": source})
    # The same arithmetic as the collection tests above: 2 deployments in 30 days.
    assert values["deployment-frequency"] == "0.0667"
    assert values["lead-time-hours"] == lead_time
    assert values["change-failure-rate"] == "0"
    assert values["recovery-time-hours"] == ""
    assert values["merged-prs"] == "1"
    # PR #1: created 10:00, merged 12:00.
    assert values["cycle-time-hours"] == "2"


@pytest.mark.parametrize("source", ["workflow:deploy.yml", "tags:v*"])
def test_warm_runs_equal_cold_runs_for_workflow_runs_and_tags(
    emulator_factory: EmulatorFactory, caplog: pytest.LogCaptureFixture, source: str
) -> None:
    app = app_world(NOW)
    repo = app.repo
    server = emulator_factory(app.world)
    clients = clients_for(server)
    first = collect_repository(clients, "acme", "app", plan_for(NOW, source), NOW)
    assert first.state is not None
    cached = decode_state(encode_state(first.state), HOME)
    # After the first run: run 805 re-run (its attempt 2 fails), a new commit deployed by a
    # new run and tagged, and v1.1 moved to it. None of it has a new creation time the cache
    # could page back to for 805 and v1.1.
    later = NOW + timedelta(hours=6)
    head = repo.refs["heads/main"]
    c3 = _oid("Faster search")
    repo.commits[c3] = Commit(c3, "Faster search", later, later, "bob", [head])
    repo.refs["heads/main"] = c3
    rerun = next(r for r in repo.workflow_runs if r.id == 805)
    repo.workflow_runs.append(replace(rerun, attempt=2, conclusion="failure", updated_at=later))
    repo.workflow_runs.append(
        replace(rerun, id=807, head_sha=c3, created_at=later, updated_at=later)
    )
    repo.refs["tags/v1.3"] = c3
    repo.refs["tags/v1.1"] = c3
    then = NOW + timedelta(days=1)
    with caplog.at_level(logging.INFO):
        warm = collect_repository(
            clients, "acme", "app", plan_for(then, source), then, cached, "cache"
        )
    cold = collect_repository(clients, "acme", "app", plan_for(then, source), then)
    assert "incremental collection" in caplog.text
    assert "read in full each run, not cached" in caplog.text
    assert warm.data == cold.data
    if source.startswith("tags"):
        assert {t.name for t in warm.data.tags} == {"v1.0", "v1.1", "v1.2", "v1.3"}
    else:
        assert (805, 2) in {(r.id, r.attempt) for r in warm.data.workflow_runs}


def test_generated_deploy_runs_give_the_deployments_figures(
    emulator_factory: EmulatorFactory,
) -> None:
    # The generator puts a deploy.yml run behind each production deployment of storefront.
    world = generate_dataset(seed=5, now=NOW).world
    server = emulator_factory(world)
    clients = clients_for(server)
    figures = {}
    for source in ("deployments", "workflow:deploy.yml"):
        result = collect_repository(clients, "acme", "storefront", plan_for(NOW, source), NOW)
        figures[source] = report_outputs(Collection((result.data,), (), 0, 0), NOW, source)
    assert figures["workflow:deploy.yml"] == figures["deployments"]
    assert figures["deployments"]["deployment-frequency"] != "0"


def _v12_on_a_new_commit(
    emulator_factory: EmulatorFactory,
    message: str,
    authored: datetime,
    committed: datetime,
    author: str,
    *,
    on_main: bool,
) -> dict[str, str]:
    """The outputs under ``tags:v*`` once v1.2 tags a new commit on top of c2 (main's tip),
    which main gets too when ``on_main``."""
    app = app_world(NOW)
    oid = _oid(message)
    parents = [app.repo.refs["heads/main"]]
    app.repo.commits[oid] = Commit(oid, message, authored, committed, author, parents)
    if on_main:
        app.repo.refs["heads/main"] = oid
    app.repo.refs["tags/v1.2"] = oid
    server = emulator_factory(app.world)
    result = collect_repository(clients_for(server), "acme", "app", plan_for(NOW, "tags:v*"), NOW)
    return report_outputs(Collection((result.data,), (), 0, 0), NOW, "tags:v*")


def test_a_tag_off_the_default_branch_ships_what_it_contains(
    emulator_factory: EmulatorFactory,
) -> None:
    # v1.2 moves to r1, a release commit on top of c2 that main never got.
    at = app_world(NOW).at(19, 8)
    values = _v12_on_a_new_commit(emulator_factory, "Release 1.2", at, at, "bob", on_main=False)
    assert values["deployment-frequency"] == "0.0667"
    # PR #1: 09:00 -> v1.1 at 15:00 = 6 h; c2 shipped by v1.2: authored S+18d 09:00 -> r1's
    # committer date S+19d 08:00 = 23 h. Median 14.5 (r1 is on no default branch: no change).
    assert values["lead-time-hours"] == "14.5"


def test_a_bots_push_to_the_default_branch_is_a_bots_change(
    emulator_factory: EmulatorFactory,
) -> None:
    # c3: the release workflow's version bump, pushed on top of c2 and tagged v1.2.
    app = app_world(NOW)
    values = _v12_on_a_new_commit(
        emulator_factory,
        "Bump version",
        app.at(18, 10.5),
        app.at(18, 11),
        "github-actions[bot]",
        on_main=True,
    )
    # PR #1: 6 h; c2: authored S+18d 09:00 -> v1.2 at 11:00 = 2 h; c3 is a bot's: left out
    # (include-bots is false). Median 4.
    assert values["lead-time-hours"] == "4"
