"""Every input of action.yml, each with at least three bad values, through the action's ``main``.

Each run gets a runner's environment (action.yml defaults for every other input) pointed at a
live emulator, so a bad value that slipped past the parser would show as requests. Each must
end with exit code 1, one ``::error::`` naming the input and what to write instead, the same
text in the job summary, and nothing published: not one request reaches the emulator.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghaction_metrics import cli
from ghaction_metrics.action import main
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_TOKEN,
    action_inputs,
    input_env_name,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer

LONG = "x" * 300
# input → (bad value, a word of the fix the message must give)
BAD: dict[str, list[tuple[str, str]]] = {
    "token": [
        ("", "github.token"),
        ("   ", "github.token"),
        ("\n\t\n", "github.token"),
        ("ghp_revoked0000000000000000000000000000", "github.token"),
    ],
    "repositories": [
        ("acme", "owner/name"),
        ("acme/storefront/extra", "owner/name"),
        ("https://github.com/acme/storefront", "owner/name"),
        ("acme/", "owner/name"),
        ("acme/..", "owner/name"),
        ("acme/.", "owner/name"),
    ],
    "window": [
        ("30", "Nd"),
        ("0d", "at least one day"),
        ("2026-05-02..2026-05-01", "before"),
        ("0001-01-01..0001-01-02", "1970-01-01"),
        ("9999-12-30..9999-12-31", "future"),
        ("2999-01-01..2999-01-31", "future"),
        ("2000-01-01..2026-01-01", "3660 days"),
    ],
    "timezone": [("Mars/Olympus", "IANA"), ("../../etc/passwd", "IANA"), ("UTC+25", "IANA")],
    "compare-to": [
        ("yesterday", "previous"),
        ("2026-02-30", "day"),
        ("2026/01/01", "YYYY-MM-DD"),
        ("0001-01-01", "1970-01-01"),
        ("9999-12-31", "future"),
    ],
    "base-branches": [("*,main", "*"), ("a..b", "branch names"), ("main~1", "branch names")],
    "deployment-source": [("kubernetes", "auto"), ("jenkins", "auto"), ("all", "auto")],
    "deployment-environment": [(",", "at least one"), (", ,", "at least one"), (",\n,", "one")],
    "incident-labels": [(",", "at least one"), (", ,", "at least one"), (",\n,", "at least one")],
    "incident-window": [("7", "Nh"), ("0d", "positive"), ("forever", "Nd"), ("9999w", "52w")],
    "hotfix-labels": [(",", "at least one"), (", ,", "at least one"), (",\n,", "at least one")],
    "exclude-authors": [("not a login", "logins"), ("-bad", "logins"), ("a@b.com", "logins")],
    "include-bots": [("yes", "true or false"), ("1", "true or false"), ("on", "true or false")],
    "publish": [("summary,slack", "none"), ("all", "none"), ("none,summary", "none")],
    "report-id": [("../x", "letters"), ("a b", "letters"), ("x" * 65, "64")],
    "history-branch": [("refs/heads/x", "plain branch"), ("a..b", "plain"), ("-x", "plain")],
    "issue-title": [(LONG, "256"), ("one\ntwo", "one line"), ("bell\x07", "one line")],
    "alerts": [
        ("lead-time > ", "METRIC"),
        ("speed > 3", "unknown metric"),
        ("rework-rate > 15", "0 to 1"),
    ],
    "fail-on-alert": [
        ("yes", "true or false"),
        ("0", "true or false"),
        ("always", "true or false"),
    ],
    "backfill": [("12", "Nw"), ("0w", "Nw"), ("9999w", "3660")],
    "history-retention": [("0", "empty"), ("1y", "Nd"), ("-5d", "Nd")],
    "per-person": [("yes", "anonymous"), ("anon", "anonymous"), ("ranking", "anonymous")],
    "pseudonym-salt": [("a", "16"), ("short", "16"), ("123456789012345", "16")],
    "incident-repository": [
        ("not-a-repo", "owner/name"),
        ("a/b/c", "owner/name"),
        ("acme/*", "owner/name"),
    ],
    "max-wait": [("10", "Nm"), ("7h", "6h"), ("-1m", "Nm")],
    "mode": [("both", "single"), ("single,shard", "single"), ("parallel", "single")],
    "api-url": [
        ("ghe.example/api/v3", "https://HOST/api/v3"),
        ("ftp://ghe.example", "https://HOST/api/v3"),
        ("https://", "https://HOST/api/v3"),
    ],
    "allow-private-data": [
        ("yes", "true or false"),
        ("1", "true or false"),
        ("sure", "true or false"),
    ],
    "ai-authors": [
        ("a@", "e-mails"),
        ("<bot@example.com>", "e-mails"),
        ("agent\x07", "Co-authored-by names"),
        ("x" * 101, "100 characters"),
    ],
    "bug-labels": [(",", "at least one"), (", ,", "at least one"), (",\n,", "at least one")],
    "copilot-metrics": [
        ("acme/storefront", "organisation"),
        ("-acme", "organisation"),
        ("two words", "organisation"),
    ],
    "teams": [
        ("/etc/teams.yml", "relative path"),
        ("../teams.yml", "relative path"),
        ("teams.json", ".yml"),
        ("no-such-teams.yml", "actions/checkout"),
    ],
}
CASES = [(name, value, fix) for name, values in BAD.items() for value, fix in values]
# Values that are only bad together with another input.
CONTEXT = {"pseudonym-salt": {"per-person": "anonymous"}}


def test_the_table_covers_every_input_of_action_yml() -> None:
    assert set(BAD) == set(action_inputs())
    assert all(len(values) >= 3 for values in BAD.values())


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    dataset = generate_dataset(seed=3, now=datetime.now(UTC), profile="tiny")
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as running:
        yield running


@pytest.mark.parametrize(("name", "value", "fix"), CASES)
def test_a_bad_value_stops_the_run_before_anything_is_read_or_published(
    server: EmulatorServer, tmp_path: Path, name: str, value: str, fix: str
) -> None:
    overrides = {**CONTEXT.get(name, {}), name: value}
    environ = runner_environment(
        api_url=server.api_url,
        graphql_url=server.graphql_url,
        server_url=server.url,
        repository="acme/storefront",
        workspace=tmp_path / "workspace",
        overrides=overrides,
    )
    assert environ[input_env_name(name)] == value
    before = len(server.requests)
    stream = io.StringIO()
    code = main(environ, stream)
    log = stream.getvalue()
    assert code == 1
    errors = [line for line in log.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1, log
    message = errors[0].removeprefix("::error::")
    assert f"Input '{name}'" in message
    assert fix in message.replace("%0A", "\n")
    summary = Path(environ["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary == f"## Engineering metrics\n\n**Error:** {_unescape(message)}\n"
    assert Path(environ["GITHUB_OUTPUT"]).read_text(encoding="utf-8") == ""
    sent = server.requests[before:]
    # Only a token GitHub refuses needs a request to find out; it must be a read.
    assert [r.method for r in sent] == (["GET"] if name == "token" and value.strip() else [])


# A teams file that is there but does not map teams to logins: (content, where it is named).
BAD_TEAMS_FILES = [
    ("payments: alice\n", "line 1"),
    ("payments: [alice]\nplatform: []\n", "line 2"),
    ("payments: [alice]\nplatform:\n  - bob\n  - bob@example.com\n", "line 4"),
    ("payments: [alice]\npayments: [bob]\n", "line 2"),
    ("payments: [alice\n", "line 2"),
]


@pytest.mark.parametrize(("content", "where"), BAD_TEAMS_FILES)
def test_a_bad_teams_file_stops_the_run_naming_its_line_before_anything_is_read(
    server: EmulatorServer, tmp_path: Path, content: str, where: str
) -> None:
    workspace = tmp_path / "workspace"
    (workspace / ".github").mkdir(parents=True)
    (workspace / ".github/teams.yml").write_text(content, encoding="utf-8")
    environ = runner_environment(
        api_url=server.api_url,
        graphql_url=server.graphql_url,
        server_url=server.url,
        repository="acme/storefront",
        workspace=workspace,
        overrides={"teams": ".github/teams.yml"},
    )
    before = len(server.requests)
    stream = io.StringIO()
    assert main(environ, stream) == 1
    errors = [line for line in stream.getvalue().splitlines() if line.startswith("::error::")]
    assert len(errors) == 1, stream.getvalue()
    message = errors[0].removeprefix("::error::")
    assert message.startswith(f"Input 'teams' names .github/teams.yml, {where}: ")
    summary = Path(environ["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary == f"## Engineering metrics\n\n**Error:** {_unescape(message)}\n"
    assert Path(environ["GITHUB_OUTPUT"]).read_text(encoding="utf-8") == ""
    assert server.requests[before:] == []


def _unescape(message: str) -> str:
    return message.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


@pytest.mark.parametrize("run_id", ["a/../../../../tmp/x", "..", "1 2", "x" * 65])
def test_a_run_id_that_is_no_plain_name_stops_the_command_line_before_anything(
    server: EmulatorServer, tmp_path: Path, run_id: str
) -> None:
    # The run id names files (the snapshot, the HTML report): a path in it would write
    # outside the output folder in a dry run, and fail only after a full collection otherwise.
    out = tmp_path / "deep" / "out"
    before = len(server.requests)
    stream = io.StringIO()
    code = cli.main(
        [
            "--repository", "acme/storefront", "--api-url", server.api_url,
            "--server-url", server.url, "--out", str(out), "--run-id", run_id, "--dry-run",
        ],
        environ={"GH_TOKEN": WORKFLOW_TOKEN},
        stream=stream,
    )  # fmt: skip
    assert code == 1
    assert "run id" in stream.getvalue()
    assert server.requests[before:] == []
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(out in p.parents for p in written), written
