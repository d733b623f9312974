"""The teams input end to end: entrypoint.py as a subprocess against the emulator serving the
demo organisation, with a teams file in the workspace. The per-team figures are computed here
again, straight from the emulated world's pull requests, reviews and commits."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import pytest

from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    ActionRun,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.world import World

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("teams-e2e")]
TEAMS_PATH = ".github/teams.yml"
# The storefront's people: two teams, one person (maya-ross) in none, and a member
# (ines-costa) who does not work on it. Case and "@" as people write them.
TEAMS_FILE = """\
# Who is in which team
web:
  - "@Alice-Chen"
  - bmartinez
  - dkowalski
platform: [emma-lund, farid-h, grace-obi, hiro-tanaka, ines-costa]
"""
TEAMS = {
    "web": {"alice-chen", "bmartinez", "dkowalski"},
    "platform": {"emma-lund", "farid-h", "grace-obi", "hiro-tanaka", "ines-costa"},
}
BAD_FILE = "web: [alice-chen]\nplatform:\n  - emma-lund\n  - emma lund\n"


@dataclass
class Runs:
    dataset: GeneratedDataset
    named: ActionRun  # per-person true
    nameless: ActionRun  # per-person false
    bad: ActionRun  # a teams file with a bad login on line 4
    bad_requests: int


def _workspace(root: Path, content: str) -> Path:
    workspace = root / "workspace"
    (workspace / ".github").mkdir(parents=True)
    (workspace / TEAMS_PATH).write_text(content, encoding="utf-8")
    return workspace


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    dataset = generate_dataset(seed=11, now=datetime.now(UTC).replace(microsecond=0))
    home = dataset.home_repository
    done: dict[str, ActionRun] = {}
    requests = 0
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        for name, content, inputs in (
            ("named", TEAMS_FILE, {"per-person": "true"}),
            ("nameless", TEAMS_FILE, {"per-person": "false", "publish": "summary"}),
            ("bad", BAD_FILE, {}),
        ):
            seen = len(server.requests)
            env = runner_environment(
                api_url=server.api_url,
                graphql_url=server.graphql_url,
                server_url=server.url,
                repository=home,
                workspace=_workspace(tmp_path_factory.mktemp(name), content),
                run_id=str(3000 + len(done)),
                overrides={"teams": TEAMS_PATH, "backfill": "0", **inputs},
            )
            done[name] = run_action(env)
            requests = len(server.requests) - seen
    return Runs(dataset, done["named"], done["nameless"], done["bad"], requests)


def _document(run: ActionRun) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((run.workspace / run.outputs["report-json"]).read_text())
    return loaded


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expected_teams(
    world: World, repository: str, since: datetime, until: datetime
) -> dict[str, dict[str, Any]]:
    """Per team: opened, merged, reviews given, commits, cycle time median, lines changed,
    and the review matrix, by SPEC §5's rules, from the world itself."""
    repo = world.repositories[repository]

    def who(login: str | None) -> str:
        return (login or "ghost").removesuffix("[bot]").lower()

    def is_bot(login: str | None) -> bool:
        user = world.users.get(login or "")
        return bool(login and (login.endswith("[bot]") or (user and user.type == "Bot")))

    def team(login: str | None) -> str:
        return next((name for name, people in TEAMS.items() if who(login) in people), "other")

    def inside(moment: datetime | None) -> bool:
        return moment is not None and since <= moment < until

    counts: dict[str, Counter[str]] = {name: Counter() for name in (*TEAMS, "other")}
    cycles: dict[str, list[float]] = {name: [] for name in counts}
    matrix: Counter[tuple[str, str]] = Counter()
    for pull in repo.pull_requests:
        # The Copilot coding agent's pull requests count although it is a bot (SPEC §5,
        # AI-assisted work); its commits, like every bot's, are no person's.
        agent = who(pull.author) == "copilot"
        if pull.base_ref != repo.default_branch or (is_bot(pull.author) and not agent):
            continue
        mine = counts[team(pull.author)]
        if inside(pull.created_at):
            mine["opened"] += 1
        if inside(pull.merged_at):
            assert pull.merged_at is not None
            mine["merged"] += 1
            mine["lines"] += pull.additions + pull.deletions
            hours = (pull.merged_at - pull.created_at).total_seconds() / 3600
            if hours >= 0:
                cycles[team(pull.author)].append(hours)
        for review in pull.reviews:
            if is_bot(review.author) or who(review.author) == who(pull.author):
                continue
            if inside(review.submitted_at):
                counts[team(review.author)]["reviews"] += 1
                matrix[(team(review.author), team(pull.author))] += 1
    reachable, pending = set(), [repo.refs[f"heads/{repo.default_branch}"]]
    while pending:
        oid = pending.pop()
        if oid in reachable:
            continue
        reachable.add(oid)
        pending.extend(repo.commits[oid].parents)
    for oid in reachable:
        commit = repo.commits[oid]
        # A coding agent's commits count, like its pull requests (the Copilot agent commits as
        # copilot-swe-agent[bot]); a bot's commit with no [bot] name is nobody's (GraphQL's
        # commit author has no user for a bot).
        pushed_by_bot = is_bot(commit.author) and who(commit.author) != "copilot-swe-agent"
        if commit.author is not None and not pushed_by_bot and inside(commit.authored_at):
            counts[team(commit.author)]["commits"] += 1
    return {
        name: {
            "opened": c["opened"],
            "merged": c["merged"],
            "reviews_given": c["reviews"],
            "commits": c["commits"],
            "lines_changed": c["lines"],
            "cycle_time_median_hours": median(cycles[name]) if cycles[name] else None,
            "matrix": {b: matrix[(name, b)] for b in counts},
        }
        for name, c in counts.items()
    }


def test_per_team_figures_equal_those_computed_from_the_world(runs: Runs) -> None:
    assert runs.named.returncode == 0, runs.named.stdout + runs.named.stderr
    document = _document(runs.named)
    window = document["current"]["window"]
    truth = expected_teams(
        runs.dataset.world,
        runs.dataset.home_repository,
        _instant(window["since"]),
        _instant(window["until"]),
    )
    section = document["current"]["teams"]
    assert section["file"] == TEAMS_PATH
    teams = {t["name"]: t for t in section["teams"]}
    assert list(teams) == ["web", "platform", "other"]
    matrix = {
        (c["reviewer_team"], c["author_team"]): c["reviews"] for c in section["review_matrix"]
    }
    for name, expected in truth.items():
        actual = teams[name]
        for figure in ("opened", "merged", "reviews_given", "commits", "lines_changed"):
            assert actual[figure] == expected[figure], (name, figure)
        if expected["cycle_time_median_hours"] is None:
            assert actual["cycle_time_hours"]["median"] is None
        else:
            assert actual["cycle_time_hours"]["median"] == pytest.approx(
                expected["cycle_time_median_hours"], abs=0.01
            )
        for author_team, count in expected["matrix"].items():
            assert matrix.get((name, author_team), 0) == count, (name, author_team)
    assert teams["web"]["merged"] > 0
    assert teams["platform"]["reviews_given"] > 0
    assert (teams["web"]["members"], teams["platform"]["members"]) == (3, 5)
    assert teams["platform"]["active"] == 4  # ines-costa works elsewhere
    assert "maya-ross" in teams["other"]["people"]
    assert "alice-chen" in teams["web"]["people"]


def test_the_matrix_adds_up_to_the_review_count(runs: Runs) -> None:
    document = _document(runs.named)
    section = document["current"]["teams"]
    reviews = document["current"]["team"]["review_network"]["reviews"]
    assert reviews > 0
    assert section["reviews"] == reviews
    assert sum(c["reviews"] for c in section["review_matrix"]) == reviews


def test_the_summary_and_the_dashboard_show_the_teams(runs: Runs) -> None:
    summary = runs.named.summary
    section = summary[summary.index("### Teams") :]
    assert f"Teams from `{TEAMS_PATH}`" in section
    assert "| Reviewers ↓ · authors → | web | platform | other |" in section
    assert "- web: alice-chen, bmartinez, dkowalski" in section
    assert "@alice" not in summary.lower().replace("@\u200b", "")
    repo = runs.dataset.world.repositories[runs.dataset.home_repository]
    comments = [
        c.body for i in repo.issues for c in i.comments if "ghaction-metrics:report" in c.body
    ]
    assert len(comments) == 1
    assert "<summary>Teams (3)</summary>" in comments[0]


def test_with_per_person_false_no_member_is_named(runs: Runs) -> None:
    assert runs.nameless.returncode == 0, runs.nameless.stdout + runs.nameless.stderr
    section = _document(runs.nameless)["current"]["teams"]
    assert [t["people"] for t in section["teams"]] == [[], [], []]
    assert (
        section["teams"][0]["merged"]
        == _document(runs.named)["current"]["teams"]["teams"][0]["merged"]
    )
    summary = runs.nameless.summary
    teams_part = summary[summary.index("### Teams") :]
    logins = {login for people in TEAMS.values() for login in people} | {"maya-ross"}
    assert not [login for login in logins if login in teams_part.lower()]
    assert not [login for login in logins if f"| {login} |" in summary.lower()]


def test_a_bad_teams_file_stops_the_run_naming_the_line_before_any_request(runs: Runs) -> None:
    assert runs.bad.returncode == 1
    errors = [line for line in runs.bad.stdout.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1, runs.bad.stdout
    assert f"Input 'teams' names {TEAMS_PATH}, line 4: 'emma lund'" in errors[0]
    assert "not a GitHub login" in errors[0]
    assert "line 4" in runs.bad.summary
    assert runs.bad_requests == 0
    assert runs.bad.outputs == {}
