"""The teams file: what it accepts, and an error naming the file and the line for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghaction_metrics.inputs.teams import MAX_BYTES, OTHER, TeamsFileError, load_teams, parse_teams

PATH = ".github/teams.yml"


def test_flow_and_block_lists_both_read() -> None:
    teams = parse_teams(PATH, "payments: [alice, Bob]\nplatform:\n  - carol\n  - '@dave'\n")
    assert [(t.name, t.members) for t in teams.teams] == [
        ("payments", ("alice", "Bob")),
        ("platform", ("carol", "dave")),
    ]


def test_logins_compare_without_case_or_bot_suffix_and_repeats_count_once() -> None:
    teams = parse_teams(PATH, "ops: ['renovate[bot]', Alice, alice]\n")
    assert teams.teams[0].members == ("renovate", "Alice")
    assert teams.of("ALICE") == ("ops",)
    assert teams.of("renovate[bot]") == ("ops",)


def test_a_person_in_two_teams_belongs_to_both_and_nobody_else_to_other() -> None:
    teams = parse_teams(PATH, "a: [kim]\nb: [kim, lee]\n")
    assert teams.of("kim") == ("a", "b")
    assert teams.of("lee") == ("b",)
    assert teams.of("someone") == (OTHER,)


# content → (line named, or None for the whole file; a word of the problem)
BAD = [
    ("", None, "empty"),
    ("# only a comment\n", None, "empty"),
    ("- alice\n- bob\n", 1, "not a mapping"),
    ("just text\n", 1, "not a mapping"),
    ("payments: [alice\nplatform: [bob]\n", 2, "not valid YAML"),
    ("payments: [alice]\n\tplatform: [bob]\n", 2, "not valid YAML"),
    ("payments: [alice]\nplatform: []\n", 2, "no members"),
    ("payments: [alice]\nplatform:\n", 2, "not a list"),
    ("payments: alice\n", 1, "not a list"),
    ("payments: {alice: 1}\n", 1, "not a list"),
    ("payments:\n  - alice\n  - not a login\n", 3, "not a GitHub login"),
    ("payments:\n  - alice\n  - alice@example.com\n", 3, "not a GitHub login"),
    ("payments:\n  - [alice]\n", 2, "not a GitHub login"),
    ("payments:\n  - -alice\n", 2, "not a GitHub login"),
    ("payments: [alice]\nplatform: [bob]\nPayments: [carol]\n", 3, "first on line 1"),
    ("other: [alice]\n", 1, "people in no team"),
    ("[a, b]: [alice]\n", 1, "plain text"),
    ("a: &people [alice]\nb: *people\n", 2, "aliases"),
    ("x" * 101 + ": [alice]\n", 1, "100 characters"),
]


@pytest.mark.parametrize(("content", "line", "problem"), BAD)
def test_a_bad_file_is_an_input_error_naming_the_file_and_the_line(
    content: str, line: int | None, problem: str
) -> None:
    with pytest.raises(TeamsFileError) as raised:
        parse_teams(PATH, content)
    message = str(raised.value)
    where = f"{PATH}, line {line}:" if line is not None else f"{PATH}:"
    assert message.startswith(f"Input 'teams' names {where}"), message
    assert problem in message
    assert "payments: [alice, bob]" in message  # the fix: what to write instead


def test_a_missing_file_says_to_check_the_repository_out(tmp_path: Path) -> None:
    with pytest.raises(TeamsFileError, match=r"actions/checkout"):
        load_teams(tmp_path, PATH)


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    (tmp_path / "teams.yml").write_text("a: [x]\n" + "#" * MAX_BYTES, encoding="utf-8")
    with pytest.raises(TeamsFileError, match=r"larger than 1024 KiB"):
        load_teams(tmp_path, "teams.yml")


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "teams.yml").write_bytes(b"a: [\xff]\n")
    with pytest.raises(TeamsFileError, match=r"not UTF-8"):
        load_teams(tmp_path, "teams.yml")


def test_a_file_in_the_workspace_is_read(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / PATH).write_text("payments: [alice, bob]\n", encoding="utf-8")
    assert load_teams(tmp_path, PATH).teams[0].members == ("alice", "bob")


def test_a_link_out_of_the_workspace_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yml"
    secret.write_text("token: [ghp_not_a_login_but_a_secret]\n", encoding="utf-8")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "teams.yml").symlink_to(secret)
    with pytest.raises(TeamsFileError, match=r"link to outside the repository") as raised:
        load_teams(workspace, "teams.yml")
    assert "ghp_" not in str(raised.value)
