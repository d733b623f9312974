"""Per-team figures and the cross-team review matrix: by hand on a few records, and against
the per-person table over the demo organisation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from metric_records import ALICE, BOB, CAROL, T0, commit, h, pull, repo, review
from world_records import repository_data

from ghaction_metrics.inputs.teams import OTHER, parse_teams
from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, snapshot
from ghaction_metrics.metrics.team import pseudonym
from ghaction_metrics.metrics.teams import team_figures
from ghaction_metrics.records import Actor, Collection, RepositoryData
from ghaction_metrics_dev.dataset.generate import HUMANS, generate_dataset

SCHEMA = Path(__file__).resolve().parents[1] / "ghaction_metrics/schemas/snapshot-v2.schema.json"
DAVE = Actor("Dave")
WINDOW = Window(T0, h(24 * 7))


def small_repo() -> list[RepositoryData]:
    pulls = [
        # alice (payments): merged after 10 h, reviewed by carol (platform) and bob (payments)
        pull(1, 1, 11, author=ALICE, size=(30, 10),
             reviews=(review(CAROL, "APPROVED", 5), review(BOB, "COMMENTED", 6))),
        # bob (payments): merged after 20 h, reviewed by dave (in no team)
        pull(2, 2, 22, author=BOB, size=(5, 5), reviews=(review(DAVE, "APPROVED", 10),)),
        # carol (platform): open, reviewed by alice; her own review does not count
        pull(3, 3, None, author=CAROL,
             reviews=(review(ALICE, "CHANGES_REQUESTED", 4), review(CAROL, "COMMENTED", 5))),
        # a bot's pull request counts for nobody
        pull(4, 3, 6, author=Actor("renovate", True)),
    ]  # fmt: skip
    commits = [
        commit("c1", (), 1, author=ALICE),
        commit("c2", ("c1",), 2, author=DAVE),
        commit("c3", ("c2",), -50, author=CAROL),  # before the window
    ]
    return [repo(pulls, commits)]


def test_each_team_gets_the_figures_a_person_gets_and_the_matrix_who_reviews_whom() -> None:
    teams = parse_teams("teams.yml", "payments: [alice, BOB]\nplatform: [carol]\nidle: [erin]\n")
    figures = team_figures(small_repo(), Settings(), WINDOW, teams)
    by_name = {t.name: t for t in figures.teams}
    assert list(by_name) == ["payments", "platform", "idle", OTHER]
    payments, platform, idle, other = by_name.values()
    assert (payments.opened, payments.merged, payments.reviews_given, payments.commits) == (
        2, 2, 2, 1,
    )  # fmt: skip
    assert payments.cycle_time.n == 2
    assert payments.cycle_time.median == 15
    assert payments.lines_changed == 50
    assert (payments.members, payments.active, payments.people) == (
        2,
        2,
        ("alice", "bob"),
    )  # as the records spell them
    assert (platform.opened, platform.merged, platform.reviews_given, platform.commits) == (
        1, 0, 1, 0,
    )  # fmt: skip
    assert platform.cycle_time.median is None
    assert (idle.members, idle.active, idle.opened, idle.reviews_given) == (1, 0, 0, 0)
    assert (other.members, other.people, other.reviews_given, other.commits) == (
        1, ("Dave",), 1, 1,
    )  # fmt: skip
    assert figures.cell("platform", "payments") == 1
    assert figures.cell("payments", "payments") == 1
    assert figures.cell(OTHER, "payments") == 1
    assert figures.cell("payments", "platform") == 1
    assert sum(c.reviews for c in figures.matrix) == figures.reviews == 4
    assert figures.shared_members == 0


def test_a_person_in_two_teams_counts_in_both() -> None:
    teams = parse_teams("teams.yml", "payments: [alice, bob]\nreviewers: [alice, carol]\n")
    figures = team_figures(small_repo(), Settings(), WINDOW, teams)
    by_name = {t.name: t for t in figures.teams}
    assert by_name["payments"].merged == 2
    assert by_name["reviewers"].merged == 1
    assert by_name["reviewers"].reviews_given == 2  # alice's and carol's
    assert figures.shared_members == 1
    # alice's review of carol's pull request is in (payments → reviewers) and (reviewers →
    # reviewers): the matrix adds up to more than the reviews.
    assert sum(c.reviews for c in figures.matrix) > figures.reviews


@pytest.mark.parametrize("mode", ["false", "anonymous"])
def test_member_names_follow_per_person(mode: str) -> None:
    teams = parse_teams("teams.yml", "payments: [alice, bob]\n")
    settings = Settings(per_person=mode, pseudonym_salt="s" * 16)
    figures = team_figures(small_repo(), settings, WINDOW, teams)
    payments, other = figures.teams
    if mode == "false":
        assert payments.people == ()
        assert other.people == ()
    else:
        assert payments.people == tuple(
            sorted((pseudonym("alice", "s" * 16), pseudonym("bob", "s" * 16)), key=str.lower)
        )
        assert other.people == tuple(
            sorted((pseudonym("carol", "s" * 16), pseudonym("Dave", "s" * 16)), key=str.lower)
        )
    assert payments.merged == 2
    assert other.reviews_given == 2


NOW = datetime(2025, 6, 18, 15, 30, tzinfo=UTC)
DEMO_WINDOW = Window(datetime(2025, 5, 19, tzinfo=UTC), datetime(2025, 6, 18, tzinfo=UTC))
# Every person of the demo organisation in exactly one team.
DEMO_TEAMS = "web: [{}]\nplatform: [{}]\n".format(", ".join(HUMANS[:6]), ", ".join(HUMANS[6:]))


@pytest.fixture(scope="module")
def collection() -> Collection:
    world = generate_dataset(seed=5, now=NOW).world
    return Collection(
        tuple(repository_data(world, n) for n in sorted(world.repositories)), (), 0, 0
    )


def test_teams_that_split_everyone_add_up_to_the_per_person_table(collection: Collection) -> None:
    teams = parse_teams("teams.yml", DEMO_TEAMS)
    report = build_report(collection, Settings(), DEMO_WINDOW, "none", NOW, "x", teams=teams)
    people = report.current.team.people
    figures = report.current.teams
    assert figures is not None
    for field in ("opened", "merged", "reviews_given", "commits", "lines_changed"):
        assert sum(getattr(t, field) for t in figures.teams) == sum(
            getattr(p, field) for p in people
        ), field
    assert sum(t.merged for t in figures.teams) > 0
    assert figures.reviews == report.current.team.network.reviews > 0
    assert sum(c.reviews for c in figures.matrix) == figures.reviews
    assert {c.reviewer_team for c in figures.matrix} >= {"web", "platform"}


@pytest.mark.parametrize("per_person", ["true", "false", "anonymous"])
def test_the_snapshot_holds_the_teams_and_validates(
    collection: Collection, per_person: str
) -> None:
    teams = parse_teams("teams.yml", DEMO_TEAMS)
    settings = Settings(per_person=per_person, pseudonym_salt="salt")
    report = build_report(collection, settings, DEMO_WINDOW, "2025-06-01", NOW, "x", teams=teams)
    document = json.loads(json.dumps(snapshot(report, "1", "1")))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    section = document["current"]["teams"]
    assert section["file"] == "teams.yml"
    assert [t["name"] for t in section["teams"]][:2] == ["web", "platform"]
    assert document["comparison"]["after"]["teams"]["per_person"] == per_person
    text = json.dumps(section)
    if per_person == "true":
        assert "alice-chen" in text
    else:
        assert not any(login in text for login in HUMANS)


def test_without_a_teams_file_the_section_is_null(collection: Collection) -> None:
    report = build_report(collection, Settings(), DEMO_WINDOW, "previous", NOW, "x")
    document = snapshot(report, "1", "1")
    assert document["current"]["teams"] is None
    assert document["previous"]["teams"] is None
