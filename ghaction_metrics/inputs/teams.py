"""The ``teams`` file: which people make up each team, read from the workspace before anything
is read from GitHub (the workflow token cannot read an organisation's teams).

The format is a YAML mapping from team name to a list of GitHub logins::

    payments: [alice, bob]
    platform:
      - carol
      - dave

Nothing else is accepted, so that a mistake is an error naming its line instead of a team
that silently counts nobody. A person may be in several teams and then counts in each;
people in no team are grouped as ``other``. Logins compare without case and without a
``[bot]`` suffix, like everywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ghaction_metrics.records import normalize_login

OTHER = "other"  # people in no team
# A teams file lists people, not data: even a large organisation's fits well under this.
MAX_BYTES = 1024 * 1024
MAX_TEAM_NAME = 100
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
EXAMPLE = "payments: [alice, bob]"
# libyaml's loader where PyYAML has it (its wheels do): ten times faster on a large file.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Team:
    name: str  # as written in the file
    members: tuple[str, ...]  # logins without "@" or "[bot]", as written, in the file's order


@dataclass(frozen=True)
class Teams:
    path: str  # as given in the input
    teams: tuple[Team, ...]  # in the file's order

    def of(self, login: str) -> tuple[str, ...]:
        """The names of the teams ``login`` is in, or ``("other",)``."""
        key = normalize_login(login).lower()
        names = tuple(team.name for team in self.teams if key in (m.lower() for m in team.members))
        return names or (OTHER,)


class TeamsFileError(ValueError):
    """The teams file is missing or not a mapping of teams to logins: where and why. Like a
    bad input value (config.InputError), it stops the run before anything is read."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(
            f"Input 'teams' names {where}: {problem}. Write one team per entry, mapping its "
            f"name to a list of GitHub logins, such as '{EXAMPLE}'."
        )
        self.line = line


def load_teams(workspace: Path, path: str) -> Teams:
    """Read and check the teams file at ``path`` (relative to ``workspace``)."""
    target = workspace / path
    if target.exists() and not target.resolve().is_relative_to(workspace.resolve()):
        # A link committed in a pull request could otherwise show a runner's file (its
        # environment, say) in the error message.
        raise TeamsFileError(path, None, "the file is a link to outside the repository")
    try:
        with target.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise TeamsFileError(
            path,
            None,
            "no such file in the workspace; check the path, and check out the repository "
            "(actions/checkout) in a step before this one",
        ) from None
    except OSError as exc:
        raise TeamsFileError(path, None, f"the file cannot be read ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise TeamsFileError(path, None, f"the file is larger than {MAX_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TeamsFileError(path, None, "the file is not UTF-8 text") from None
    return parse_teams(path, text)


def parse_teams(path: str, text: str) -> Teams:
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise TeamsFileError(path, line, f"not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise TeamsFileError(path, None, f"not valid YAML ({exc})") from None
    if root is None:
        raise TeamsFileError(path, None, "the file is empty")
    if not isinstance(root, yaml.MappingNode):
        raise TeamsFileError(path, _line(root), "the file is not a mapping of teams")
    teams: list[Team] = []
    seen: dict[str, int] = {}
    lists: set[int] = set()
    for key, value in root.value:
        name = _team_name(path, key)
        line = _line(key)
        if name.lower() in seen:
            raise TeamsFileError(
                path, line, f"team {name!r} is named again (first on line {seen[name.lower()]})"
            )
        seen[name.lower()] = line
        if not isinstance(value, yaml.SequenceNode):
            raise TeamsFileError(path, _line(value), f"team {name!r} is not a list of logins")
        if id(value) in lists:
            # An alias: a list shared between teams could multiply a small file's size.
            raise TeamsFileError(path, line, "anchors and aliases are not supported")
        lists.add(id(value))
        members: list[str] = []
        keys: set[str] = set()
        for item in value.value:
            login = _login(path, name, item)
            if login.lower() not in keys:
                keys.add(login.lower())
                members.append(login)
        if not members:
            raise TeamsFileError(path, _line(value), f"team {name!r} has no members")
        teams.append(Team(name, tuple(members)))
    if not teams:
        raise TeamsFileError(path, _line(root), "the file names no team")
    return Teams(path, tuple(teams))


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _team_name(path: str, node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise TeamsFileError(path, _line(node), "a team's name must be plain text")
    name = " ".join(str(node.value).split())
    if len(name) > MAX_TEAM_NAME:
        raise TeamsFileError(
            path, _line(node), f"a team's name is longer than {MAX_TEAM_NAME} characters"
        )
    if name.lower() == OTHER:
        raise TeamsFileError(
            path, _line(node), f"{OTHER!r} is the group of people in no team; name the team else"
        )
    return name


def _login(path: str, team: str, node: yaml.Node) -> str:
    # Composed, not loaded: a login such as 1234 stays the text it was written as.
    text = str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""
    login = text.removeprefix("@")
    if not login or not _LOGIN.match(login):
        shown = text[:60] if text else "(not text)"
        raise TeamsFileError(path, _line(node), f"{shown!r} in team {team!r} is not a GitHub login")
    return normalize_login(login)
