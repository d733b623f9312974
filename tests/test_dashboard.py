"""The dashboard issue and its report comment, against the emulator over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from conftest import EmulatorFactory

from ghaction_metrics.api.client import GitHubClients, connect
from ghaction_metrics.publish import dashboard
from ghaction_metrics.records import same_identity
from ghaction_metrics_dev.emulator.harness import WORKFLOW_PERMISSIONS
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import (
    Commit,
    Issue,
    IssueComment,
    PullRequest,
    Repository,
    User,
    World,
)

REPO = "acme/storefront"
BOT = "github-actions[bot]"
TOKEN = "ghs_workflowtoken"
READ_ONLY_TOKEN = "read-only"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
HEADER = "Engineering metrics for acme/storefront. History: branch `metrics`."

Answer = tuple[int, dict[str, str], bytes]
Dispatch = Callable[[str, str, dict[str, str], bytes], Answer]


def make_world() -> World:
    world = World(now=NOW)
    world.users["acme"] = User(login="acme", id=1000, type="Organization")
    world.users["alice"] = User(login="alice", id=1001)
    world.users[BOT] = User(login=BOT, id=41898282, type="Bot")
    repo = Repository(owner="acme", name="storefront", id=5001, created_at=NOW)
    root = Commit(
        oid="1" * 40, message="Initial commit", authored_at=NOW, committed_at=NOW, author="alice"
    )
    repo.commits[root.oid] = root
    repo.refs["heads/main"] = root.oid
    world.repositories[REPO] = repo
    return world


@pytest.fixture
def server(emulator_factory: EmulatorFactory) -> EmulatorServer:
    writer = TokenInfo(login=BOT, kind="workflow", permissions=WORKFLOW_PERMISSIONS)
    reader = TokenInfo(login=BOT, kind="workflow", permissions={"issues": "read"})
    return emulator_factory(make_world(), {TOKEN: writer, READ_ONLY_TOKEN: reader})


def clients_for(server: EmulatorServer, token: str = TOKEN, timeout: int = 15) -> GitHubClients:
    return connect(
        token,
        server.api_url,
        server.graphql_url,
        seconds_between_writes=0,
        timeout=timeout,
        retries=3,
    )


@pytest.fixture
def clients(server: EmulatorServer) -> GitHubClients:
    return clients_for(server)


def repo_of(server: EmulatorServer) -> Repository:
    return server.world.repositories[REPO]


def live_issues(server: EmulatorServer) -> list[Issue]:
    return [i for i in repo_of(server).issues if not i.deleted]


def next_number(repo: Repository) -> int:
    numbers = [i.number for i in repo.issues] + [p.number for p in repo.pull_requests]
    return max(numbers, default=0) + 1


def add_issue(server: EmulatorServer, author: str, body: str, **kwargs: object) -> Issue:
    repo = repo_of(server)
    issue = Issue(
        number=next_number(repo),
        id=server.world.new_id(),
        title="Some issue",
        body=body,
        author=author,
        created_at=NOW - timedelta(days=3),
        updated_at=NOW - timedelta(days=3),
        **kwargs,  # type: ignore[arg-type]
    )
    repo.issues.append(issue)
    return issue


def publish(
    clients: GitHubClients,
    report: str = "report v1",
    report_id: str = "default",
    header: str = HEADER,
) -> dashboard.DashboardResult:
    return dashboard.publish_dashboard(
        clients, REPO, report_id, "Engineering metrics", header, report, sleep=lambda _s: None
    )


def intercept(
    monkeypatch: pytest.MonkeyPatch,
    server: EmulatorServer,
    answer: Callable[[Dispatch, str, str, dict[str, str], bytes], Answer],
) -> None:
    """Put ``answer`` in front of the emulator's dispatch, to lose or replace responses."""
    original: Dispatch = server.dispatch

    def dispatch(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Answer:
        return answer(original, method, raw_path, headers, body)

    monkeypatch.setattr(server, "dispatch", dispatch)


BAD_GATEWAY = (502, {"Content-Type": "application/json"}, b'{"message": "Bad Gateway"}')


def writes(server: EmulatorServer) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.requests if r.method in ("POST", "PATCH", "PUT")]


def test_first_run_creates_pinned_issue_and_pinned_comment(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    result = publish(clients, "## Report\nlead time 3h")
    assert result.created_issue
    assert result.created_comment
    assert result.notices == ()
    (issue,) = live_issues(server)
    assert result.issue_number == issue.number
    assert result.issue_url.endswith(f"/acme/storefront/issues/{issue.number}")
    assert issue.author == BOT
    assert issue.title == "Engineering metrics"
    assert issue.body == f"{dashboard.issue_marker('default')}\n{HEADER}"
    assert dashboard.LABEL in issue.labels
    assert issue.pinned
    (comment,) = issue.comments
    assert comment.id == result.comment_id
    assert comment.body == f"{dashboard.report_marker('default')}\n## Report\nlead time 3h"
    assert comment.pinned
    assert str(comment.id) in result.comment_url
    paths = [r.path for r in server.requests]
    assert not any("/search/" in p for p in paths)
    assert "/api/v3/user" not in paths


def test_second_run_updates_in_place(server: EmulatorServer, clients: GitHubClients) -> None:
    first = publish(clients, "report v1")
    seen = len(server.requests)
    second = publish(clients, "report v2", header=HEADER + " Updated.")
    assert (second.issue_number, second.comment_id) == (first.issue_number, first.comment_id)
    assert not second.created_issue
    assert not second.created_comment
    (issue,) = live_issues(server)
    (comment,) = issue.comments
    assert comment.body.endswith("report v2")
    assert issue.body is not None
    assert issue.body.endswith("Updated.")
    later = server.requests[seen:]
    assert [r.method for r in later if r.method != "GET" and r.kind == "rest"] == [
        "PATCH",
        "PATCH",
    ]
    # Found through the label: one listing, no scan of every issue.
    listings = [r for r in later if r.method == "GET" and r.path.endswith("/issues")]
    assert len(listings) == 1
    assert listings[0].query.get("labels") == dashboard.LABEL
    assert listings[0].query.get("state") == "all"


def test_unchanged_texts_are_not_rewritten(server: EmulatorServer, clients: GitHubClients) -> None:
    publish(clients, "same")
    seen = len(server.requests)
    publish(clients, "same")
    assert [r for r in server.requests[seen:] if r.method != "GET" and r.kind == "rest"] == []


def test_markers_written_by_people_are_ignored(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    marker = dashboard.issue_marker("default")
    impostor = add_issue(server, "alice", f"{marker}\nlooks like a dashboard")
    result = publish(clients)
    assert result.created_issue
    assert result.issue_number != impostor.number
    # A person's comment carrying the report marker in the real dashboard is left alone.
    ours = next(i for i in repo_of(server).issues if i.number == result.issue_number)
    ours.comments.insert(
        0,
        IssueComment(
            id=server.world.new_id(),
            author="alice",
            body=f"{dashboard.report_marker('default')}\nfake report",
            created_at=NOW - timedelta(days=1),
            updated_at=NOW - timedelta(days=1),
        ),
    )
    again = publish(clients, "report v2")
    assert again.comment_id == result.comment_id
    assert ours.comments[0].body.endswith("fake report")
    assert ours.comments[1].body.endswith("report v2")


def test_pull_requests_in_the_issue_listing_are_skipped(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    repo = repo_of(server)
    repo.pull_requests.append(
        PullRequest(
            number=next_number(repo),
            id=server.world.new_id(),
            title="Bump deps",
            body=f"{dashboard.issue_marker('default')}\n",
            author=BOT,
            created_at=NOW - timedelta(days=5),
            updated_at=NOW - timedelta(days=5),
            base_ref="main",
            head_ref="bump",
            state="open",
            labels=[dashboard.LABEL],
        )
    )
    result = publish(clients)
    assert result.created_issue
    assert result.issue_number != repo.pull_requests[0].number


def test_report_text_cannot_spoof_another_reports_marker(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    spoof_issue = dashboard.issue_marker("other")
    spoof_report = dashboard.report_marker("other").upper()
    a = publish(clients, f"title: {spoof_report}", report_id="team-a", header=spoof_issue)
    b = publish(clients, "report b", report_id="other")
    assert b.created_issue
    assert b.issue_number != a.issue_number
    issue_a = next(i for i in live_issues(server) if i.number == a.issue_number)
    assert issue_a.body is not None
    assert spoof_issue not in issue_a.body
    assert "<!-- ghaction-metrics&#58;dashboard report-id=other -->" in issue_a.body
    assert dashboard.report_marker("other") not in issue_a.comments[0].body.lower()


@pytest.mark.parametrize("report_id", ["default", "team a", "x-->y", "ünï/cøde", "a--"])
def test_report_id_stays_inside_the_hidden_comment(report_id: str) -> None:
    for marker in (dashboard.issue_marker(report_id), dashboard.report_marker(report_id)):
        assert marker.startswith("<!-- ghaction-metrics:")
        assert marker.endswith(" -->")
        inner = marker[len("<!--") : -len("-->")]
        assert ">" not in inner
        assert "\n" not in marker
        assert inner.count(" ") == 3  # "<!-- kind report-id=… -->": the id has no blank


def test_report_ids_have_separate_dashboards(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    a = publish(clients, "a1", report_id="team-a")
    b = publish(clients, "b1", report_id="team-b")
    a2 = publish(clients, "a2", report_id="team-a")
    assert a.issue_number != b.issue_number
    assert a2.issue_number == a.issue_number
    assert len(live_issues(server)) == 2


def test_removed_label_still_finds_the_dashboard(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    # Old issues from other people first, so the dashboard is not simply the first issue.
    for _ in range(3):
        add_issue(server, "alice", "unrelated")
    first = publish(clients)
    (issue,) = [i for i in live_issues(server) if i.number == first.issue_number]
    issue.labels.clear()
    again = publish(clients, "report v2")
    assert again.issue_number == first.issue_number
    assert not again.created_issue
    assert len(live_issues(server)) == 4
    assert dashboard.LABEL in issue.labels  # put back for the next run's cheap lookup


def test_closed_dashboard_is_updated_and_left_closed(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    first = publish(clients)
    (issue,) = live_issues(server)
    issue.state = "closed"
    issue.closed_at = NOW
    again = publish(clients, "report v2")
    assert again.issue_number == first.issue_number
    assert issue.state == "closed"
    assert issue.comments[0].body.endswith("report v2")
    assert any("closed" in n and f"#{issue.number}" in n for n in again.notices)


def test_deleted_dashboard_is_recreated(server: EmulatorServer, clients: GitHubClients) -> None:
    first = publish(clients)
    (issue,) = live_issues(server)
    issue.deleted = True
    again = publish(clients, "report v2")
    assert again.created_issue
    assert again.created_comment
    assert again.issue_number != first.issue_number
    (new,) = live_issues(server)
    assert new.comments[0].body.endswith("report v2")


def test_deleted_comment_is_recreated(server: EmulatorServer, clients: GitHubClients) -> None:
    first = publish(clients)
    (issue,) = live_issues(server)
    issue.comments.clear()
    again = publish(clients, "report v2")
    assert again.issue_number == first.issue_number
    assert again.created_comment
    assert not again.created_issue
    (comment,) = issue.comments
    assert comment.body.endswith("report v2")


def test_lost_answer_to_issue_create_does_not_duplicate(
    server: EmulatorServer, clients: GitHubClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost: list[str] = []

    def lose_first_create(
        original: Dispatch, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        answer = original(method, path, headers, body)
        if method == "POST" and path.endswith("/repos/acme/storefront/issues") and not lost:
            lost.append(path)
            return BAD_GATEWAY  # the issue was made; only the answer is lost
        return answer

    intercept(monkeypatch, server, lose_first_create)
    result = publish(clients)
    assert lost
    assert result.created_issue
    (issue,) = live_issues(server)
    assert issue.number == result.issue_number
    assert len(issue.comments) == 1
    assert issue.pinned
    creates = [w for w in writes(server) if w[0] == "POST" and w[1].endswith("/issues")]
    assert len(creates) == 1


def _another_runs_dashboard(server: EmulatorServer) -> Issue:
    """The dashboard a concurrent first run made: the same marker, label and identity."""
    return add_issue(
        server,
        BOT,
        f"{dashboard.issue_marker('default')}\n{HEADER}",
        labels=[dashboard.LABEL],
        pinned=True,
    )


def _retired(issue: Issue, kept: int) -> None:
    assert issue.state == "closed"
    assert dashboard.issue_marker("default") not in issue.body
    assert f"#{kept}" in issue.body
    assert dashboard.LABEL not in issue.labels
    assert not issue.pinned


def test_two_first_runs_at_once_leave_one_dashboard(
    server: EmulatorServer, clients: GitHubClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both runs found no dashboard; the other run's create landed just before ours."""
    other: list[Issue] = []

    def race(
        original: Dispatch, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        if method == "POST" and path.endswith("/repos/acme/storefront/issues") and not other:
            other.append(_another_runs_dashboard(server))
        return original(method, path, headers, body)

    intercept(monkeypatch, server, race)
    result = publish(clients, "report v1")
    (kept,) = other
    assert result.issue_number == kept.number
    assert not result.created_issue
    (mine,) = [i for i in live_issues(server) if i.number != kept.number]
    _retired(mine, kept.number)
    assert [c.body.splitlines()[-1] for c in kept.comments] == ["report v1"]
    assert mine.comments == []
    # The next run finds the one dashboard and changes nothing else.
    again = publish(clients, "report v2")
    assert again.issue_number == kept.number
    assert [c.body.splitlines()[-1] for c in kept.comments] == ["report v2"]


def test_a_duplicate_left_by_an_earlier_race_is_retired(
    server: EmulatorServer, clients: GitHubClients
) -> None:
    first = _another_runs_dashboard(server)
    second = _another_runs_dashboard(server)
    result = publish(clients)
    assert result.issue_number == first.number
    _retired(second, first.number)
    assert first.state == "open"
    assert first.pinned


def test_timed_out_comment_create_does_not_duplicate(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = clients_for(server, timeout=1)
    slow: list[str] = []

    def slow_first_comment(
        original: Dispatch, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        answer = original(method, path, headers, body)
        if method == "POST" and path.endswith("/comments") and not slow:
            slow.append(path)
            time.sleep(1.5)  # past the client's timeout: it gives up waiting
        return answer

    intercept(monkeypatch, server, slow_first_comment)
    result = publish(clients)
    assert slow
    (issue,) = live_issues(server)
    (comment,) = issue.comments
    assert comment.id == result.comment_id
    assert result.created_comment


def test_failed_create_is_retried_when_nothing_was_made(
    server: EmulatorServer, clients: GitHubClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused: list[str] = []

    def refuse_first_comment(
        original: Dispatch, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        if method == "POST" and path.endswith("/comments") and not refused:
            refused.append(path)
            return BAD_GATEWAY  # failed before anything was written
        return original(method, path, headers, body)

    intercept(monkeypatch, server, refuse_first_comment)
    result = publish(clients)
    (issue,) = live_issues(server)
    (comment,) = issue.comments
    assert comment.id == result.comment_id


def test_issue_pin_refused_becomes_a_notice(server: EmulatorServer, clients: GitHubClients) -> None:
    for _ in range(3):
        add_issue(server, "alice", "important", pinned=True)
    result = publish(clients)
    assert result.created_issue
    (notice,) = result.notices
    assert f"#{result.issue_number}" in notice
    assert "3 pinned issues" in notice
    assert "@" not in notice
    assert sum(i.pinned for i in live_issues(server)) == 3


def test_comment_pin_missing_on_enterprise_server_becomes_a_notice(
    server: EmulatorServer, clients: GitHubClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_comment_pins(
        original: Dispatch, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        if method == "PUT" and path.endswith("/pin"):
            return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'
        return original(method, path, headers, body)

    intercept(monkeypatch, server, no_comment_pins)
    result = publish(clients)
    (notice,) = result.notices
    assert "Enterprise Server" in notice
    assert result.created_comment


def test_read_only_token_fails_with_the_permission_fix(server: EmulatorServer) -> None:
    with pytest.raises(dashboard.DashboardError, match="issues: write"):
        publish(clients_for(server, READ_ONLY_TOKEN))
    assert live_issues(server) == []


@pytest.mark.parametrize("which", ["header", "report"])
def test_too_long_bodies_are_refused_before_any_request(
    server: EmulatorServer, clients: GitHubClients, which: str
) -> None:
    texts = {"header": HEADER, "report": "report", which: "x" * dashboard.BODY_LIMIT}
    with pytest.raises(dashboard.BodyTooLongError, match="65,536"):
        publish(clients, texts["report"], header=texts["header"])
    assert server.requests == []


def test_longest_accepted_report(server: EmulatorServer, clients: GitHubClients) -> None:
    room = dashboard.BODY_LIMIT - len(dashboard.report_marker("default")) - 1
    result = publish(clients, "y" * room)
    (issue,) = live_issues(server)
    assert len(issue.comments[0].body) == dashboard.BODY_LIMIT
    assert result.created_comment


@pytest.mark.parametrize(
    ("rest", "graphql"),
    [("github-actions[bot]", "github-actions"), ("Alice", "alice"), ("x[bot]", "x[bot]")],
)
def test_login_comparison_ignores_bot_suffix_and_case(rest: str, graphql: str) -> None:
    assert same_identity(rest, graphql)
