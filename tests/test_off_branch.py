"""Deployments off the default branch (SPEC §5): the history of deployed commits main lacks is
read back to the known history, ships what it contains, and is cached.

On ``acme/app`` of test_sources_collect (days from the window's start S), under ``tags:v*``:

- a maintenance line ``1.1.x`` from m1 (PR #1's squash commit): x1 … x80 by bob, committed at
  S+10d + i h; x80 is the squash commit of PR #2, merged into ``1.1.x`` (its own commit p2
  authored at S+9d 12:00), and tagged v1.1.1 (lightweight: at S+13d 08:00);
- an old line: y1, committed at S+5d on top of y0, a commit of S-200d no branch holds (older
  than the collection's history horizon), tagged v0.9.1.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from conftest import EmulatorFactory
from test_sources_collect import (
    HOME,
    NOW,
    AppWorld,
    _oid,
    app_world,
    clients_for,
    plan_for,
    window_of,
)

from ghaction_metrics.collect import queries
from ghaction_metrics.collect.repository import collect_repository
from ghaction_metrics.collect.sync import decode_state, encode_state
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, outputs
from ghaction_metrics.records import Collection, RepositoryData
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.world import Commit, Deployment, DeploymentStatus, PullRequest

TAGS = "tags:v*"
LINE = 80  # longer than one request's page


def with_lines(app: AppWorld) -> list[str]:
    """The two lines of the module docstring; returns x1 … x80."""
    repo = app.repo
    m1 = repo.pull_requests[0].merge_commit
    assert m1 is not None
    line: list[str] = []
    parent = m1
    for i in range(1, LINE + 1):
        name = "Backport checkout fix (#2)" if i == LINE else f"Backport step {i}"
        oid = _oid(name)
        at = app.at(10, i)
        repo.commits[oid] = Commit(oid, name, at, at, "bob", [parent])
        line.append(oid)
        parent = oid
    p2 = _oid("Fix checkout on 1.1")
    repo.commits[p2] = Commit(p2, "Fix checkout on 1.1", app.at(9, 12), app.at(9, 12), "bob", [m1])
    repo.pull_requests.append(
        PullRequest(
            number=2,
            id=9002,
            title="Backport checkout fix",
            body="",
            author="bob",
            created_at=app.at(9, 13),
            updated_at=app.at(10, LINE),
            base_ref="1.1.x",
            head_ref="backport",
            state="closed",
            closed_at=app.at(10, LINE),
            merged_at=app.at(10, LINE),
            merge_commit=line[-1],
            commits=[p2],
            additions=3,
            deletions=1,
        )
    )
    repo.refs["heads/1.1.x"] = line[-1]
    repo.refs["tags/v1.1.1"] = line[-1]
    y0, y1 = _oid("Old line root"), _oid("Old line fix")
    repo.commits[y0] = Commit(y0, "Old line root", app.at(-200), app.at(-200), "alice", [])
    repo.commits[y1] = Commit(y1, "Old line fix", app.at(5), app.at(5), "alice", [y0])
    repo.refs["tags/v0.9.1"] = y1
    return line


def off_branch_requests(server: EmulatorServer, since: int = 0) -> list[dict[str, Any]]:
    """The variables of every off-branch history request served after the first ``since``."""
    found = []
    for record in server.requests[since:]:
        if record.kind != "graphql":
            continue
        body = json.loads(record.request_body)
        if "query OffBranch" in body["query"]:
            found.append(body["variables"])
    return found


def report_outputs(data: RepositoryData, settings: Settings) -> dict[str, str]:
    collection = Collection((data,), (), 0, 0)
    return outputs(build_report(collection, settings, window_of(NOW), "previous", NOW, "default"))


def test_a_maintenance_line_ships_what_it_contains(emulator_factory: EmulatorFactory) -> None:
    app = app_world(NOW)
    line = with_lines(app)
    server = emulator_factory(app.world)
    result = collect_repository(clients_for(server), "acme", "app", plan_for(NOW, TAGS), NOW)
    # x80 and y1 in one request of 73 commits each: x80 … x8, and y1 alone (y0 is past the
    # horizon); then x8's parent x7 alone, 100 commits: x7 … x1, which reach m1 on main.
    requests = off_branch_requests(server)
    assert [sorted(v for k, v in r.items() if k.startswith("oid")) for r in requests] == [
        sorted([line[-1], _oid("Old line fix")]),
        [line[6]],
    ]
    side = {c.oid for c in result.data.side_commits}
    assert side == {*line, _oid("Old line fix")}
    assert not side & {c.oid for c in result.data.commits}
    # Every base branch counts: v1.1.1 ships PR #2 (p2 authored S+9d 12:00 -> x80's commit
    # date S+13d 08:00 = 92 h), besides PR #1 (6 h) and c2 (1 h, by v1.2). x1 … x79 belong to
    # no pull request and are on no default branch: no change. Median 6.
    every_base = report_outputs(result.data, Settings(deployment_source=TAGS, base_branches=("*",)))
    assert every_base["lead-time-hours"] == "6"
    # v0.9.1, v1.1, v1.1.1 and v1.2 in the 30 days.
    assert every_base["deployment-frequency"] == "0.1333"
    # Only the default branch counts: PR #2 is no change; PR #1 and c2 as before.
    assert report_outputs(result.data, Settings(deployment_source=TAGS))["lead-time-hours"] == "3.5"


def test_a_branch_deploy_ships_the_default_branch_changes_it_contains(
    emulator_factory: EmulatorFactory,
) -> None:
    # Production deployments: c0 (the baseline, S-120d), m1 (success S+8d 14:00), and f1, a
    # commit of the branch "preview" on top of c2 (success S+20d 10:00).
    app = app_world(NOW)
    repo = app.repo
    m1, c2 = repo.pull_requests[0].merge_commit, repo.refs["heads/main"]
    assert m1 is not None
    f1 = _oid("Preview banner")
    repo.commits[f1] = Commit(f1, "Preview banner", app.at(20, 8), app.at(20, 8), "bob", [c2])
    repo.refs["heads/preview"] = f1
    c0 = repo.commits[m1].parents[0]
    for number, (sha, ref, day, hour) in enumerate(
        [(c0, "main", -120, 0), (m1, "main", 8, 13), (f1, "preview", 20, 9)], start=1
    ):
        done = app.at(day, hour + 1)
        repo.deployments.append(
            Deployment(
                700 + number,
                sha,
                ref,
                "production",
                app.at(day, hour),
                "alice",
                [DeploymentStatus(number, "success", done)],
            )
        )
    server = emulator_factory(app.world)
    plan = plan_for(NOW, "deployments")
    result = collect_repository(clients_for(server), "acme", "app", plan, NOW)
    assert [r["oid0"] for r in off_branch_requests(server)] == [f1]
    assert [c.oid for c in result.data.side_commits] == [f1]
    # PR #1: c1 authored S+8d 09:00 -> 14:00 = 5 h; c2: authored S+18d 09:00 -> f1's
    # deployment at S+20d 10:00 = 49 h; f1 itself is no change. Median 27.
    values = report_outputs(result.data, Settings(deployment_source="deployments"))
    assert values["lead-time-hours"] == "27"


def test_deployments_on_the_default_branch_make_no_extra_request(
    emulator_factory: EmulatorFactory,
) -> None:
    app = app_world(NOW)
    server = emulator_factory(app.world)
    clients = clients_for(server)
    for source in (TAGS, "workflow:deploy.yml"):
        result = collect_repository(clients, "acme", "app", plan_for(NOW, source), NOW)
        assert result.data.side_commits == ()
    assert off_branch_requests(server) == []


def test_a_warm_run_keeps_the_lines_and_reads_only_what_is_new(
    emulator_factory: EmulatorFactory,
) -> None:
    app = app_world(NOW)
    line = with_lines(app)
    server = emulator_factory(app.world)
    clients = clients_for(server)
    first = collect_repository(clients, "acme", "app", plan_for(NOW, TAGS), NOW)
    assert first.state is not None
    cached = decode_state(encode_state(first.state), HOME)
    assert cached.side_commits == first.state.side_commits
    # Later: x81 on the line, tagged v1.1.2.
    later = NOW + timedelta(hours=6)
    x81 = _oid("Backport step 81")
    app.repo.commits[x81] = Commit(x81, "Backport step 81", later, later, "bob", [line[-1]])
    app.repo.refs["tags/v1.1.2"] = x81
    then = NOW + timedelta(days=1)
    seen = len(server.requests)
    warm = collect_repository(clients, "acme", "app", plan_for(then, TAGS), then, cached, "cache")
    # One request, for x81 alone: its page reaches x80, which the cache holds.
    assert [r["oid0"] for r in off_branch_requests(server, seen)] == [x81]
    cold = collect_repository(clients, "acme", "app", plan_for(then, TAGS), then)
    assert warm.data == cold.data
    assert x81 in {c.oid for c in warm.data.side_commits}
    assert warm.state is not None
    seen = len(server.requests)
    again = collect_repository(
        clients, "acme", "app", plan_for(then, TAGS), then, warm.state, "cache"
    )
    assert off_branch_requests(server, seen) == []
    assert again.data == cold.data


def test_the_lines_leave_the_cache_with_their_deployments(
    emulator_factory: EmulatorFactory,
) -> None:
    app = app_world(NOW)
    with_lines(app)
    server = emulator_factory(app.world)
    clients = clients_for(server)
    first = collect_repository(clients, "acme", "app", plan_for(NOW, TAGS), NOW)
    assert first.state is not None
    assert first.state.side_commits
    # A year on, v2.0 on main, before the periods: the new baseline, so v1.1.1 and v0.9.1 are
    # past the history horizon, and their lines go with them.
    later = NOW + timedelta(days=365)
    app.world.now = later
    c9 = _oid("Version 2")
    at = later - timedelta(days=70)
    app.repo.commits[c9] = Commit(c9, "Version 2", at, at, "alice", [app.repo.refs["heads/main"]])
    app.repo.refs["heads/main"] = app.repo.refs["tags/v2.0"] = c9
    cached = decode_state(encode_state(first.state), HOME)
    seen = len(server.requests)
    warm = collect_repository(clients, "acme", "app", plan_for(later, TAGS), later, cached, "c")
    cold = collect_repository(clients, "acme", "app", plan_for(later, TAGS), later)
    assert warm.data.side_commits == cold.data.side_commits == ()
    assert off_branch_requests(server, seen) == []
    assert warm.data == cold.data


def test_an_off_branch_request_costs_one_point(emulator_factory: EmulatorFactory) -> None:
    app = app_world(NOW)
    line = with_lines(app)
    server = emulator_factory(app.world)
    clients = clients_for(server)
    since = (NOW - timedelta(days=400)).isoformat()
    for count in range(1, queries.OFF_BRANCH_BATCH + 1):
        variables: dict[str, object] = {
            "owner": "acme",
            "name": "app",
            "first": queries.off_branch_page(count),
            "since": since,
            **{f"oid{i}": line[-1 - i] for i in range(count)},
        }
        data = clients.graphql(queries.off_branch_query(count), variables)
        assert data["rateLimit"]["cost"] == 1, count
        # One more commit a page would cost two (past 100, GitHub allows no larger page).
        larger = queries.off_branch_page(count) + 1
        if larger <= 100:
            more = clients.graphql(queries.off_branch_query(count), {**variables, "first": larger})
            assert more["rateLimit"]["cost"] == 2, count
    history = data["repository"]["c0"]["history"]
    assert [n["oid"] for n in history["nodes"][:2]] == [line[-1], line[-2]]
    assert history["pageInfo"]["hasNextPage"] is True
