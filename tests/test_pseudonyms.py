"""``per-person: anonymous``: without ``pseudonym-salt`` a random salt is stored once on the
history branch and reused, so pseudonyms stay the same from run to run; a given salt is
masked in the log before anything else is printed. The action runs as a runner runs it,
against the emulator serving ``acme/app`` of ``test_sources_collect``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from test_sources_collect import HOME, app_world

from ghaction_metrics.collect.sync import salt_path
from ghaction_metrics_dev.emulator.harness import (
    ActionRun,
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer

SALT_FILE = salt_path("default")


def _run(server: EmulatorServer, workspace: Path, run_id: str, **inputs: str) -> ActionRun:
    env = runner_environment(
        api_url=server.api_url,
        graphql_url=server.graphql_url,
        server_url=server.url,
        repository=HOME,
        workspace=workspace,
        run_id=run_id,
        overrides={"per-person": "anonymous", "publish": "history", "backfill": "0", **inputs},
    )
    done = run_action(env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _names(done: ActionRun) -> list[str]:
    document = json.loads((done.workspace / done.outputs["report-json"]).read_text())
    return [person["name"] for person in document["current"]["team"]["people"]]


def test_the_salt_is_stored_once_and_pseudonyms_stay_stable(tmp_path: Path) -> None:
    app = app_world(datetime.now(UTC).replace(microsecond=0))
    repo = app.world.repositories[HOME]
    with EmulatorServer(app.world, workflow_tokens("github-actions[bot]")) as server:
        first = _run(server, tmp_path / "one", "3001")
        with server.lock:
            salt = branch_files(repo, "metrics")[SALT_FILE]
        second = _run(server, tmp_path / "two", "3002")
        with server.lock:
            files = branch_files(repo, "metrics")
    # 256 random bits, hex: not a value anyone could guess and hash logins with.
    assert len(salt.strip()) == 64
    assert files[SALT_FILE] == salt
    names = _names(first)
    assert len(names) == 2  # alice and bob, neither shown by login
    assert not {"alice", "bob"} & set(names)
    assert _names(second) == names
    assert salt.decode().strip() not in first.stdout


def test_a_given_salt_is_masked_and_not_stored(tmp_path: Path) -> None:
    app = app_world(datetime.now(UTC).replace(microsecond=0))
    repo = app.world.repositories[HOME]
    secret = "team-salt-5b1e0c"
    with EmulatorServer(app.world, workflow_tokens("github-actions[bot]")) as server:
        done = _run(server, tmp_path / "one", "3101", **{"pseudonym-salt": secret})
        with server.lock:
            files = branch_files(repo, "metrics")
    lines = done.stdout.splitlines()
    assert f"::add-mask::{secret}" in lines[:3]
    assert SALT_FILE not in files
    assert not {"alice", "bob"} & set(_names(done))


def test_with_a_secret_salt_nothing_readable_on_the_branch_names_a_person(
    tmp_path: Path,
) -> None:
    # The collection cache holds every record's author and reviewers; beside figures that
    # match the pseudonyms it would undo them. Sealed with a key from the secret salt, it
    # still serves the next run.
    app = app_world(datetime.now(UTC).replace(microsecond=0))
    repo = app.world.repositories[HOME]
    secret = "team-salt-5b1e0c"
    with EmulatorServer(app.world, workflow_tokens("github-actions[bot]")) as server:
        _run(server, tmp_path / "one", "3201", **{"pseudonym-salt": secret})
        second = _run(server, tmp_path / "two", "3202", **{"pseudonym-salt": secret})
        with server.lock:
            files = branch_files(repo, "metrics")
        # Without the salt the sealed cache is of no use: a full collection, with a warning.
        other = _run(server, tmp_path / "three", "3203", **{"pseudonym-salt": "another-salt-000"})
    assert any("/cache/" in path for path in files)
    for path, data in files.items():
        text = data.decode("utf-8", "replace").lower()
        assert "alice" not in text, path
        assert "bob" not in text, path
    assert "full collection" not in second.stdout  # the sealed cache was read
    assert "sealed" in other.stdout
