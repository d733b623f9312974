"""The emulator's REST API, driven through PyGithub and raw HTTP like the action drives GitHub.

Every response is also checked against GitHub's OpenAPI description by ``emulator_factory``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import requests
from conftest import WORKFLOW_TOKEN, EmulatorFactory
from github import Auth, Github, GithubException, InputGitTreeElement

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

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
PAT = "ghp_owner"
READ_ONLY = "ghs_readonly"


def tokens() -> dict[str, TokenInfo]:
    return {
        WORKFLOW_TOKEN: TokenInfo(
            login="github-actions[bot]", kind="workflow", permissions=WORKFLOW_PERMISSIONS
        ),
        PAT: TokenInfo(login="alice", kind="pat", permissions={"issues": "write"}),
        READ_ONLY: TokenInfo(
            login="github-actions[bot]",
            kind="workflow",
            permissions={"contents": "read", "issues": "read"},
            repositories=frozenset({"acme/app"}),
        ),
    }


def make_world(issues: int = 3, prs: int = 2) -> World:
    world = World(now=NOW)
    for user in (
        User("alice", 1),
        User("dependabot[bot]", 49699333, "Bot"),
        User("gone", 3, deleted=True),
        User("acme", 4, "Organization"),
    ):
        world.users[user.login] = user
    repo = Repository(owner="acme", name="app", id=100, created_at=NOW - timedelta(days=400))
    root = Commit("a" * 40, "init", NOW - timedelta(days=9), NOW - timedelta(days=9), "alice")
    repo.commits[root.oid] = root
    repo.refs["heads/main"] = root.oid
    number = 0
    for i in range(issues):
        number += 1
        repo.issues.append(
            Issue(
                number=number,
                id=1000 + number,
                title=f"issue {number}",
                body="body",
                author="gone" if i == 0 else "alice",
                created_at=NOW - timedelta(days=30 - number),
                updated_at=NOW - timedelta(days=30 - number),
                labels=["incident", "sev1"] if i % 2 == 0 else ["incident"],
            )
        )
    for _ in range(prs):
        number += 1
        repo.pull_requests.append(
            PullRequest(
                number=number,
                id=2000 + number,
                title=f"pr {number}",
                body="",
                author="dependabot[bot]",
                created_at=NOW - timedelta(days=30 - number),
                updated_at=NOW - timedelta(days=30 - number),
                base_ref="main",
                head_ref=f"b{number}",
                state="open",
            )
        )
    world.repositories[repo.full_name] = repo
    world.repositories["acme/secret"] = Repository(
        owner="acme", name="secret", id=101, private=True
    )
    return world


def client(server: EmulatorServer, token: str = WORKFLOW_TOKEN) -> Github:
    return Github(
        auth=Auth.Token(token),
        base_url=server.api_url,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )


def get(server: EmulatorServer, path: str, token: str = WORKFLOW_TOKEN) -> requests.Response:
    return requests.get(
        f"{server.api_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def test_repository_payload_and_visibility(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    repo = client(server).get_repo("acme/app")
    assert repo.full_name == "acme/app"
    assert repo.default_branch == "main"
    assert repo.private is False
    assert repo.archived is False
    assert repo.permissions.push is True
    assert repo.url.startswith(server.api_url)
    with pytest.raises(GithubException) as missing:
        client(server).get_repo("acme/nope")
    assert missing.value.status == 404
    # A token scoped to one repository does not see the others.
    assert get(server, "/repos/acme/secret", READ_ONLY).status_code == 404
    assert get(server, "/repos/acme/secret").status_code == 200


def test_headers_auth_and_bad_credentials(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    ok = get(server, "/repos/acme/app")
    assert ok.headers["Content-Type"] == "application/json; charset=utf-8"
    assert ok.headers["X-RateLimit-Limit"] == "1000"
    assert ok.headers["X-RateLimit-Resource"] == "core"
    assert int(ok.headers["X-RateLimit-Used"]) == 1
    assert ok.headers["X-GitHub-Request-Id"]
    bad = get(server, "/repos/acme/app", "ghp_unknown")
    assert bad.status_code == 401
    assert bad.json()["message"] == "Bad credentials"
    token_scheme = requests.get(
        f"{server.api_url}/repos/acme/app",
        headers={"Authorization": f"token {WORKFLOW_TOKEN}"},
        timeout=10,
    )
    assert token_scheme.status_code == 200


def test_get_user_is_forbidden_for_the_workflow_token(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    response = get(server, "/user")
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"
    with pytest.raises(GithubException) as raised:
        _ = client(server).get_user().login
    assert raised.value.status == 403
    assert client(server, PAT).get_user().login == "alice"


def test_rate_limit_endpoint_is_free(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    first = get(server, "/rate_limit").json()
    second = get(server, "/rate_limit").json()
    assert first["resources"]["core"] == second["resources"]["core"]
    assert first["resources"]["core"]["remaining"] == 1000
    assert first["resources"]["graphql"]["limit"] == 1000
    assert client(server, PAT).get_rate_limit().resources.core.limit == 5000


def test_issue_listing_includes_pull_requests_and_skips_deleted(
    emulator_factory: EmulatorFactory,
) -> None:
    world = make_world(issues=3, prs=2)
    world.repositories["acme/app"].issues[1].deleted = True
    server = emulator_factory(world, tokens())
    listed = list(client(server).get_repo("acme/app").get_issues(state="all"))
    numbers = [i.number for i in listed]
    assert numbers == [5, 4, 3, 1]  # newest first; deleted issue 2 is gone
    assert [i.pull_request is not None for i in listed] == [True, True, False, False]
    assert get(server, "/repos/acme/app/issues/2").status_code == 410
    assert get(server, "/repos/acme/app/issues/99").status_code == 404
    # A deleted account is served as GitHub's ghost user; bots keep their [bot] login.
    assert listed[-1].user.login == "ghost"
    assert listed[0].user.login == "dependabot[bot]"
    assert listed[0].user.type == "Bot"


def test_issue_filters(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(issues=5, prs=0), tokens())
    repo = client(server).get_repo("acme/app")
    both = [i.number for i in repo.get_issues(labels=["incident", "sev1"])]
    assert both == [5, 3, 1]  # every label must match
    by_creator = [
        i["number"]
        for i in get(server, "/repos/acme/app/issues?creator=alice&direction=asc").json()
    ]
    assert by_creator == [2, 3, 4, 5]
    since = [i.number for i in repo.get_issues(since=NOW - timedelta(days=26))]
    assert since == [5, 4]
    assert list(repo.get_issues(state="closed")) == []


def test_pagination_and_link_headers(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(issues=7, prs=0), tokens())
    page1 = get(server, "/repos/acme/app/issues?per_page=3")
    assert [i["number"] for i in page1.json()] == [7, 6, 5]
    links = page1.links
    assert set(links) == {"next", "last"}
    assert links["next"]["url"].startswith(server.api_url)
    assert "page=2" in links["next"]["url"]
    assert "per_page=3" in links["next"]["url"]
    assert "page=3" in links["last"]["url"]
    middle = requests.get(
        links["next"]["url"], headers={"Authorization": f"Bearer {WORKFLOW_TOKEN}"}, timeout=10
    )
    assert set(middle.links) == {"prev", "next", "last", "first"}
    last = get(server, "/repos/acme/app/issues?per_page=3&page=3")
    assert [i["number"] for i in last.json()] == [1]
    assert set(last.links) == {"prev", "first"}
    assert "Link" not in get(server, "/repos/acme/app/issues").headers
    capped = get(server, "/repos/acme/app/issues?per_page=500")
    assert len(capped.json()) == 7
    # PyGithub walks the pages through the Link header.
    gh = Github(
        auth=Auth.Token(WORKFLOW_TOKEN),
        base_url=server.api_url,
        per_page=2,
        lazy=True,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    before = len(server.requests)
    assert len(list(gh.get_repo("acme/app").get_issues())) == 7
    assert len(server.requests) - before == 4


def test_org_and_user_repository_listing(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    lazy = Github(auth=Auth.Token(WORKFLOW_TOKEN), base_url=server.api_url, lazy=True)
    names = [r.name for r in lazy.get_organization("acme").get_repos()]
    assert names == ["app", "secret"]
    public = get(server, "/orgs/acme/repos?type=public").json()
    assert [r["name"] for r in public] == ["app"]
    assert [r["name"] for r in get(server, "/users/acme/repos", READ_ONLY).json()] == ["app"]


def test_create_and_edit_issue(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    server = emulator_factory(world, tokens())
    repo = client(server).get_repo("acme/app")
    issue = repo.create_issue("Metrics dashboard", body="numbers", labels=["metrics"])
    assert issue.number == 6
    assert issue.user.login == "github-actions[bot]"
    assert [label.name for label in issue.labels] == ["metrics"]
    issue.edit(body="new numbers", state="closed", state_reason="not_planned")
    with server.lock:
        stored = world.repositories["acme/app"].issues[-1]
        assert stored.body == "new numbers"
        assert stored.state == "closed"
        assert stored.closed_at == NOW
        assert any(label.name == "metrics" for label in world.repositories["acme/app"].labels)
    assert server.requests[-1].status == 200
    assert server.requests[-2].status == 201


def test_create_label_once(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    server = emulator_factory(world, tokens())
    repo = client(server).get_repo("acme/app")
    label = repo.create_label("ghaction-metrics", "0e8a16", "Dashboard")
    assert (label.name, label.color, label.description) == (
        "ghaction-metrics",
        "0e8a16",
        "Dashboard",
    )
    with pytest.raises(GithubException) as again:
        repo.create_label("GHACTION-METRICS", "000000")
    assert again.value.status == 422


def test_writes_need_permission(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    with pytest.raises(GithubException) as raised:
        client(server, READ_ONLY).get_repo("acme/app").create_issue("nope")
    assert raised.value.status == 403
    assert raised.value.data["message"] == "Resource not accessible by integration"


def test_comments_create_edit_list_and_pin(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    server = emulator_factory(world, tokens())
    issue = client(server).get_repo("acme/app").get_issue(2)
    first = issue.create_comment("first")
    second = issue.create_comment("second")
    second.edit("second, edited")
    assert [c.body for c in issue.get_comments()] == ["first", "second, edited"]
    assert first.user.login == "github-actions[bot]"
    url = f"{server.api_url}/repos/acme/app/issues/comments/{second.id}/pin"
    auth = {"Authorization": f"Bearer {WORKFLOW_TOKEN}"}
    pinned = requests.put(url, headers=auth, timeout=10)
    assert pinned.status_code == 200
    assert pinned.json()["pin"]["pinned_by"]["login"] == "github-actions[bot]"
    with server.lock:
        assert world.repositories["acme/app"].issues[1].comments[1].pinned is True
    assert requests.delete(url, headers=auth, timeout=10).status_code == 204
    with server.lock:
        assert world.repositories["acme/app"].issues[1].comments[1].pinned is False
    fetched = get(server, f"/repos/acme/app/issues/comments/{second.id}").json()
    assert fetched["body"] == "second, edited"
    assert fetched["pin"] is None


def test_locked_issue_comments(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    world.repositories["acme/app"].issues[0].locked = True
    world.repositories["acme/app"].issues[0].comments.append(
        IssueComment(id=77, author="alice", body="x", created_at=NOW, updated_at=NOW)
    )
    server = emulator_factory(world, tokens())
    # A token with issues: write may still comment on a locked issue.
    client(server).get_repo("acme/app").get_issue(1).create_comment("still here")
    response = requests.post(
        f"{server.api_url}/repos/acme/app/issues/1/comments",
        json={"body": "no"},
        headers={"Authorization": f"Bearer {READ_ONLY}"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["message"] == "Unable to create comment because issue is locked."


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def test_git_data_flow(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    server = emulator_factory(world, tokens())
    repo = client(server).get_repo("acme/app")
    blob = repo.create_git_blob(base64.b64encode(b"{}\n").decode(), "base64")
    assert blob.sha == git_blob_sha(b"{}\n")
    tree = repo.create_git_tree(
        [
            InputGitTreeElement("history/2024-06-01.json", "100644", "blob", sha=blob.sha),
            InputGitTreeElement("README.md", "100644", "blob", content="metrics\n"),
        ]
    )
    # The same content always gives the same tree, as in git.
    again = repo.create_git_tree(
        [
            InputGitTreeElement("README.md", "100644", "blob", content="metrics\n"),
            InputGitTreeElement("history/2024-06-01.json", "100644", "blob", sha=blob.sha),
        ]
    )
    assert again.sha == tree.sha
    root = repo.create_git_commit("metrics: start", tree, [])
    assert root.parents == []
    ref = repo.create_git_ref("refs/heads/metrics", root.sha)
    assert ref.object.sha == root.sha
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/metrics", root.sha)
    assert exists.value.status == 422
    assert exists.value.data["message"] == "Reference already exists"

    listing = repo.get_git_tree(tree.sha, recursive=True).tree
    assert [(e.path, e.type) for e in listing] == [
        ("README.md", "blob"),
        ("history", "tree"),
        ("history/2024-06-01.json", "blob"),
    ]
    content = repo.get_contents("history/2024-06-01.json", ref="metrics")
    assert not isinstance(content, list)
    assert content.decoded_content == b"{}\n"

    # Next commit: base_tree plus a deletion; a fast-forward update succeeds.
    second_tree = repo.create_git_tree(
        [
            InputGitTreeElement("history/2024-06-02.json", "100644", "blob", content="[]"),
            InputGitTreeElement("README.md", "100644", "blob", sha=None),
        ],
        base_tree=tree,
    )
    child = repo.create_git_commit("metrics: day 2", second_tree, [repo.get_git_commit(root.sha)])
    live = repo.get_git_ref("heads/metrics")
    live.edit(child.sha, force=False)
    assert repo.get_git_ref("heads/metrics").object.sha == child.sha
    paths = [e.path for e in repo.get_git_tree(child.sha, recursive=True).tree]
    assert paths == ["history", "history/2024-06-01.json", "history/2024-06-02.json"]

    # A sibling of the tip is not a fast forward: 422, and the ref does not move.
    sibling = repo.create_git_commit("racing writer", tree, [repo.get_git_commit(root.sha)])
    with pytest.raises(GithubException) as raced:
        live.edit(sibling.sha, force=False)
    assert raced.value.status == 422
    assert raced.value.data["message"] == "Update is not a fast forward"
    with server.lock:
        stored = world.repositories["acme/app"]
        assert stored.refs["heads/metrics"] == child.sha
        assert [(u.old, u.new, u.forced) for u in stored.ref_log] == [
            (None, root.sha, False),
            (root.sha, child.sha, False),
        ]
        assert stored.commits[child.sha].tree == second_tree.sha
        assert stored.commits[child.sha].parents == [root.sha]
    commit = repo.get_git_commit(child.sha)
    assert commit.author.name == "github-actions[bot]"
    assert commit.raw_data["verification"]["verified"] is True


def test_git_reads_and_errors(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    assert get(server, "/repos/acme/app/git/ref/heads/missing").status_code == 404
    matching = get(server, "/repos/acme/app/git/matching-refs/heads/ma").json()
    assert [r["ref"] for r in matching] == ["refs/heads/main"]
    assert get(server, "/repos/acme/app/git/matching-refs/heads/zzz").json() == []
    repo = client(server).get_repo("acme/app")
    blob = repo.create_git_blob("hello", "utf-8")
    fetched = get(server, f"/repos/acme/app/git/blobs/{blob.sha}").json()
    assert base64.b64decode(fetched["content"]) == b"hello"
    assert fetched["size"] == 5
    bad_tree = requests.post(
        f"{server.api_url}/repos/acme/app/git/trees",
        json={"tree": [{"path": "x", "mode": "100644", "type": "blob", "sha": "0" * 40}]},
        headers={"Authorization": f"Bearer {WORKFLOW_TOKEN}"},
        timeout=10,
    )
    assert bad_tree.status_code == 422
    read_only = client(server, READ_ONLY).get_repo("acme/app")
    with pytest.raises(GithubException) as raised:
        read_only.create_git_blob("x", "utf-8")
    assert raised.value.status == 403


def test_forced_update_is_recorded(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    server = emulator_factory(world, tokens())
    repo = client(server).get_repo("acme/app")
    tree = repo.create_git_tree([InputGitTreeElement("a", "100644", "blob", content="a")])
    orphan = repo.create_git_commit("orphan", tree, [])
    repo.get_git_ref("heads/main").edit(orphan.sha, force=True)
    with server.lock:
        assert world.repositories["acme/app"].ref_log[-1].forced is True


def test_requests_are_recorded(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    get(server, "/repos/acme/app/issues?state=all&per_page=2")
    record = server.requests[-1]
    assert record.method == "GET"
    assert record.path == "/api/v3/repos/acme/app/issues"
    assert record.query == {"state": "all", "per_page": "2"}
    assert record.kind == "rest"
    assert record.status == 200
    assert record.graphql_cost is None
    assert record.response_body.startswith(b"[")
