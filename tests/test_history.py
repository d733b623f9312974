"""The history branch through the Git Data API, against the emulator over HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from conftest import EmulatorFactory

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.publish import history
from ghaction_metrics_dev.emulator.harness import WORKFLOW_PERMISSIONS
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import Commit, Repository, User, World

REPO = "acme/storefront"
BRANCH = "metrics"
BOT = "github-actions[bot]"
TOKEN = "ghs_workflowtoken"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)

Dispatch = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


def make_world() -> World:
    world = World(now=NOW)
    world.users["acme"] = User(login="acme", id=1000, type="Organization")
    world.users["alice"] = User(login="alice", id=1001)
    world.users[BOT] = User(login=BOT, id=41898282, type="Bot")
    repo = Repository(owner="acme", name="storefront", id=5001, created_at=NOW)
    root = Commit(
        oid="1" * 40,
        message="Initial commit",
        authored_at=NOW,
        committed_at=NOW,
        author="alice",
    )
    repo.commits[root.oid] = root
    repo.refs["heads/main"] = root.oid
    world.repositories[REPO] = repo
    return world


@pytest.fixture
def server(emulator_factory: EmulatorFactory) -> EmulatorServer:
    # emulator_factory also checks every REST answer against GitHub's OpenAPI description.
    token = TokenInfo(
        login="github-actions[bot]", kind="workflow", permissions=WORKFLOW_PERMISSIONS
    )
    return emulator_factory(make_world(), {TOKEN: token})


def clients_for(server: EmulatorServer) -> GitHubClients:
    return connect(TOKEN, server.api_url, server.graphql_url, seconds_between_writes=0, retries=3)


@pytest.fixture
def clients(server: EmulatorServer) -> GitHubClients:
    return clients_for(server)


def repo_of(server: EmulatorServer) -> Repository:
    return server.world.repositories[REPO]


def no_sleep(_seconds: float) -> None:
    return None


def intercept(
    monkeypatch: pytest.MonkeyPatch,
    server: EmulatorServer,
    before: Callable[[str, str, bytes], None],
) -> None:
    """Run ``before(method, path, body)`` in the server thread ahead of each request.

    It runs outside the emulator's lock, so it may itself talk HTTP to the emulator: this is
    how a second run's commit is slipped in between our read and our ref update.
    """
    original: Dispatch = server.dispatch

    def dispatch(
        method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        before(method, raw_path, body)
        return original(method, raw_path, headers, body)

    monkeypatch.setattr(server, "dispatch", dispatch)


def files_at_tip(clients: GitHubClients) -> dict[str, bytes]:
    tree = history.read_tree(clients, REPO, BRANCH)
    assert tree is not None
    return {path: history.read_blob(clients, REPO, sha) for path, sha in tree.files.items()}


def commit_of(server: EmulatorServer, sha: str) -> Commit:
    return repo_of(server).commits[sha]


def assert_never_forced(server: EmulatorServer) -> None:
    log = repo_of(server).ref_log
    assert log, "the emulator recorded no ref update"
    assert not any(update.forced for update in log)


def test_missing_branch_reads_as_none(clients: GitHubClients) -> None:
    assert history.read_tree(clients, REPO, BRANCH) is None


def test_first_commit_creates_an_orphan_branch(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    snapshot = json.dumps({"schema": 1, "merged_prs": 3}).encode()
    result = history.commit_files(
        clients, REPO, BRANCH, {"default/snapshots/2025-06-02-1.json": snapshot}, "Add snapshot"
    )
    assert result.created_branch
    assert result.attempts == 1
    assert repo_of(server).refs[f"heads/{BRANCH}"] == result.sha
    assert commit_of(server, result.sha).parents == []  # no link to the code's history
    assert files_at_tip(clients) == {"default/snapshots/2025-06-02-1.json": snapshot}
    (update,) = repo_of(server).ref_log[-1:]
    assert update.old is None
    assert_never_forced(server)


def test_second_run_adds_a_file_and_keeps_the_first(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    first = history.commit_files(clients, REPO, BRANCH, {"a/one.json": b"1\n"}, "one")
    second = history.commit_files(clients, REPO, BRANCH, {"a/two.json": b"2\n"}, "two")
    assert not second.created_branch
    assert commit_of(server, second.sha).parents == [first.sha]
    assert files_at_tip(clients) == {"a/one.json": b"1\n", "a/two.json": b"2\n"}
    tree = history.read_tree(clients, REPO, BRANCH)
    assert tree is not None
    assert tree.head_sha == second.sha
    assert not tree.truncated
    assert_never_forced(server)


def test_binary_content_goes_through_a_blob(server: EmulatorServer, clients: GitHubClients) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary"
    history.commit_files(clients, REPO, BRANCH, {"charts/lead.png": png, "r.json": b"{}"}, "c")
    assert files_at_tip(clients) == {"charts/lead.png": png, "r.json": b"{}"}
    blob_posts = [r for r in server.requests if r.method == "POST" and r.path.endswith("/blobs")]
    assert len(blob_posts) == 1  # the text file rode inline in the tree


def test_rewriting_a_file_replaces_only_that_file(clients: GitHubClients) -> None:
    history.commit_files(clients, REPO, BRANCH, {"s/run-1.json": b"old", "s/run-2.json": b"x"}, "a")
    history.commit_files(clients, REPO, BRANCH, {"s/run-1.json": b"new"}, "re-run of run 1")
    assert files_at_tip(clients) == {"s/run-1.json": b"new", "s/run-2.json": b"x"}


def test_same_content_again_makes_no_commit(server: EmulatorServer, clients: GitHubClients) -> None:
    first = history.commit_files(clients, REPO, BRANCH, {"a.json": b"1"}, "one")
    again = history.commit_files(clients, REPO, BRANCH, {"a.json": b"1"}, "one again")
    assert again.sha == first.sha
    assert len(repo_of(server).ref_log) == 1


def test_deletions_remove_only_named_files(clients: GitHubClients) -> None:
    history.commit_files(
        clients, REPO, BRANCH, {"s/old.json": b"o", "s/keep.json": b"k", "x/y/z.json": b"z"}, "a"
    )
    history.commit_files(
        clients,
        REPO,
        BRANCH,
        {"s/new.json": b"n"},
        "retention",
        deletions=["s/old.json", "x/y/z.json", "s/never-existed.json"],
    )
    assert files_at_tip(clients) == {"s/keep.json": b"k", "s/new.json": b"n"}


def test_deletions_alone(clients: GitHubClients) -> None:
    history.commit_files(clients, REPO, BRANCH, {"a.json": b"a", "b.json": b"b"}, "a")
    history.commit_files(clients, REPO, BRANCH, {}, "drop b", deletions=["b.json"])
    assert files_at_tip(clients) == {"a.json": b"a"}


@pytest.mark.parametrize(
    ("files", "deletions", "match"),
    [
        ({}, [], "nothing to commit"),
        ({"/abs.json": b""}, [], "invalid file path"),
        ({"a/../b.json": b""}, [], "invalid file path"),
        ({"a.json": b""}, ["a.json"], "both written and deleted"),
    ],
)
def test_bad_requests_are_refused_before_any_write(
    server: EmulatorServer,
    clients: GitHubClients,
    files: dict[str, bytes],
    deletions: list[str],
    match: str,
) -> None:
    with pytest.raises(ValueError, match=match):
        history.commit_files(clients, REPO, BRANCH, files, "m", deletions=deletions)
    assert server.requests == []


def test_ref_moved_between_read_and_update_is_rebuilt_on_the_new_head(
    server: EmulatorServer, clients: GitHubClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    history.commit_files(clients, REPO, BRANCH, {"s/run-0.json": b"0"}, "first run")
    other = clients_for(server)
    moved = threading.Event()

    def other_run_commits_first(method: str, path: str, _body: bytes) -> None:
        if method == "PATCH" and path.endswith(f"/git/refs/heads/{BRANCH}") and not moved.is_set():
            moved.set()
            history.commit_files(other, REPO, BRANCH, {"s/run-2.json": b"2"}, "other run")

    intercept(monkeypatch, server, other_run_commits_first)
    result = history.commit_files(
        clients, REPO, BRANCH, {"s/run-1.json": b"1"}, "our run", sleep=no_sleep
    )
    assert moved.is_set()
    assert result.attempts == 2
    assert files_at_tip(clients) == {
        "s/run-0.json": b"0",
        "s/run-1.json": b"1",
        "s/run-2.json": b"2",
    }
    refused = [r for r in server.requests if r.method == "PATCH" and r.status == 422]
    assert len(refused) == 1
    assert b"fast forward" in refused[0].response_body
    assert_never_forced(server)


def test_branch_created_by_another_run_meanwhile(
    server: EmulatorServer, clients: GitHubClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = clients_for(server)
    created = threading.Event()

    def other_run_creates_branch_first(method: str, path: str, _body: bytes) -> None:
        if method == "POST" and path.endswith("/git/refs") and not created.is_set():
            created.set()
            history.commit_files(other, REPO, BRANCH, {"s/run-2.json": b"2"}, "other run")

    intercept(monkeypatch, server, other_run_creates_branch_first)
    result = history.commit_files(
        clients, REPO, BRANCH, {"s/run-1.json": b"1"}, "our run", sleep=no_sleep
    )
    assert not result.created_branch
    assert result.attempts == 2
    assert files_at_tip(clients) == {"s/run-1.json": b"1", "s/run-2.json": b"2"}
    parents = commit_of(server, result.sha).parents
    assert len(parents) == 1
    assert commit_of(server, parents[0]).parents == []  # one root: the other run's orphan
    assert_never_forced(server)


def test_concurrent_runs_keep_every_file(server: EmulatorServer) -> None:
    runs = 4
    files_per_run = 3
    barrier = threading.Barrier(runs)
    errors: list[BaseException] = []
    results: list[history.CommitResult] = []

    def run(index: int) -> None:
        clients = clients_for(server)
        try:
            barrier.wait()
            for n in range(files_per_run):
                path = f"s/run-{index}-{n}.json"
                results.append(
                    history.commit_files(clients, REPO, BRANCH, {path: b"%d" % n}, f"run {index}")
                )
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == runs * files_per_run
    tip = files_at_tip(clients_for(server))
    assert set(tip) == {f"s/run-{i}-{n}.json" for i in range(runs) for n in range(files_per_run)}
    assert_never_forced(server)
    # One orphan root, and every other commit has exactly one parent: a straight line.
    repo = repo_of(server)
    sha: str | None = repo.refs[f"heads/{BRANCH}"]
    length = 0
    while sha is not None:
        parents = repo.commits[sha].parents
        assert len(parents) <= 1
        sha = parents[0] if parents else None
        length += 1
    assert length == runs * files_per_run


def test_gives_up_cleanly_when_the_branch_keeps_moving(
    server: EmulatorServer, clients: GitHubClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    history.commit_files(clients, REPO, BRANCH, {"s/base.json": b"b"}, "base")
    other = clients_for(server)
    counter = iter(range(100))
    busy = threading.Event()

    def always_first(method: str, path: str, _body: bytes) -> None:
        # The other run's own update passes through here too: let it through.
        if method == "PATCH" and path.endswith(f"/heads/{BRANCH}") and not busy.is_set():
            busy.set()
            try:
                name = f"s/other-{next(counter)}.json"
                history.commit_files(other, REPO, BRANCH, {name: b"o"}, "other run")
            finally:
                busy.clear()

    intercept(monkeypatch, server, always_first)
    with pytest.raises(history.HistoryError, match="after 3 attempts"):
        history.commit_files(
            clients, REPO, BRANCH, {"s/ours.json": b"x"}, "ours", max_attempts=3, sleep=no_sleep
        )
    tip = files_at_tip(clients)
    assert "s/ours.json" not in tip
    assert {"s/base.json", "s/other-0.json", "s/other-1.json", "s/other-2.json"} <= set(tip)
    assert_never_forced(server)


@pytest.mark.parametrize("existing", [False, True])
def test_lost_answer_to_the_ref_write_is_not_committed_twice(
    server: EmulatorServer,
    clients: GitHubClients,
    monkeypatch: pytest.MonkeyPatch,
    existing: bool,
) -> None:
    if existing:
        history.commit_files(clients, REPO, BRANCH, {"a.json": b"a"}, "a")
    original: Dispatch = server.dispatch
    lost: list[str] = []

    def lose_ref_answer(
        method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        answer = original(method, raw_path, headers, body)
        if method in ("POST", "PATCH") and "/git/refs" in raw_path and not lost:
            lost.append(raw_path)  # the branch moved; only the answer is lost
            return 502, {"Content-Type": "application/json"}, b'{"message": "Bad Gateway"}'
        return answer

    monkeypatch.setattr(server, "dispatch", lose_ref_answer)
    result = history.commit_files(clients, REPO, BRANCH, {"b.json": b"b"}, "b", sleep=no_sleep)
    assert lost
    assert result.created_branch is not existing
    assert repo_of(server).refs[f"heads/{BRANCH}"] == result.sha
    assert len(repo_of(server).ref_log) == (2 if existing else 1)
    assert_never_forced(server)
