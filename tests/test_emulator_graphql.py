"""The emulator's GraphQL API: the action's own documents, GitHub's pagination rules and costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from conftest import WORKFLOW_TOKEN, EmulatorFactory
from github import Auth, Github, GithubException

from ghaction_metrics.collect import queries
from ghaction_metrics_dev.emulator.harness import WORKFLOW_PERMISSIONS
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import (
    Commit,
    Deployment,
    DeploymentStatus,
    Issue,
    IssueComment,
    PullRequest,
    Release,
    Repository,
    Review,
    User,
    World,
)

# The one-connection documents earlier versions of the action sent; the emulator still
# answers them like GitHub, and they keep its resolvers tested one at a time.
RATE_LIMIT = "rateLimit { cost remaining resetAt }"

REPOSITORY = f"""
query Repository($owner: String!, $name: String!) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    nameWithOwner
    isPrivate
    isArchived
    defaultBranchRef {{ name }}
  }}
}}
"""

PULL_REQUESTS = f"""
query PullRequests($owner: String!, $name: String!, $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    pullRequests(first: 50, after: $cursor, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        number
        title
        body
        url
        state
        isDraft
        createdAt
        updatedAt
        closedAt
        mergedAt
        baseRefName
        additions
        deletions
        author {{ __typename login }}
        mergeCommit {{ oid }}
        labels(first: 20) {{ nodes {{ name }} }}
        commits(first: 1) {{ totalCount nodes {{ commit {{ authoredDate }} }} }}
        reviews(first: 50) {{
          totalCount
          nodes {{
            author {{ __typename login }}
            state
            submittedAt
            comments {{ totalCount }}
          }}
        }}
        timelineItems(first: 10, itemTypes: [READY_FOR_REVIEW_EVENT]) {{
          nodes {{ ... on ReadyForReviewEvent {{ createdAt }} }}
        }}
      }}
    }}
  }}
}}
"""

DEPLOYMENTS = f"""
query Deployments($owner: String!, $name: String!, $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    deployments(first: 100, after: $cursor, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        databaseId
        environment
        createdAt
        commitOid
        creator {{ __typename login }}
        statuses(first: 20) {{ nodes {{ state createdAt }} }}
      }}
    }}
  }}
}}
"""

RELEASES = f"""
query Releases($owner: String!, $name: String!, $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    releases(first: 100, after: $cursor, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        tagName
        name
        isDraft
        isPrerelease
        createdAt
        publishedAt
        tagCommit {{ oid }}
        author {{ __typename login }}
      }}
    }}
  }}
}}
"""

INCIDENTS = f"""
query Incidents($owner: String!, $name: String!, $labels: [String!], $since: DateTime,
                $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    issues(first: 100, after: $cursor, filterBy: {{labels: $labels, since: $since}},
           orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        number
        title
        url
        state
        createdAt
        closedAt
        author {{ __typename login }}
      }}
    }}
  }}
}}
"""

HISTORY = f"""
query History($owner: String!, $name: String!, $branch: String!, $since: GitTimestamp,
              $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    ref(qualifiedName: $branch) {{
      target {{
        ... on Commit {{
          history(first: 100, after: $cursor, since: $since) {{
            pageInfo {{ hasNextPage endCursor }}
            nodes {{
              oid
              message
              authoredDate
              committedDate
              parents(first: 3) {{ nodes {{ oid }} }}
              author {{ user {{ login }} }}
              associatedPullRequests(first: 1) {{ nodes {{ number }} }}
            }}
          }}
        }}
      }}
    }}
  }}
}}
"""


NOW = datetime(2024, 6, 1, tzinfo=UTC)
PAT = "ghp_alice"
READ_ONLY = "ghs_readonly"


def tokens() -> dict[str, TokenInfo]:
    return {
        WORKFLOW_TOKEN: TokenInfo(
            login="github-actions[bot]", kind="workflow", permissions=WORKFLOW_PERMISSIONS
        ),
        PAT: TokenInfo(login="alice", kind="pat", permissions={"issues": "write"}),
        READ_ONLY: TokenInfo(
            login="github-actions[bot]", kind="workflow", permissions={"issues": "read"}
        ),
    }


def days(n: float) -> datetime:
    return NOW - timedelta(days=n)


def oid(n: int) -> str:
    return f"{n:040x}"


def make_world() -> World:
    world = World(now=NOW)
    for user in (
        User("alice", 1),
        User("bob", 2),
        User("dependabot[bot]", 49699333, "Bot"),
        User("gone", 3, deleted=True),
    ):
        world.users[user.login] = user
    repo = Repository(owner="acme", name="app", id=100, private=True)
    # main: 1 <- 2 <- 4 (merge of PR 1, whose own commit is 3) <- 5 (direct push)
    commits = [
        Commit(oid(1), "init", days(10), days(10), "alice"),
        Commit(oid(2), "feat: a (#2)", days(9), days(9), "bob", [oid(1)], associated_pr=2),
        Commit(oid(3), "wip", days(8.5), days(8.5), "gone", [oid(2)]),
        Commit(oid(4), "Merge pull request #1", days(8), days(8), "alice", [oid(2), oid(3)]),
        Commit(oid(5), "hotfix", days(7), days(7), "dependabot[bot]", [oid(4)]),
    ]
    repo.commits = {c.oid: c for c in commits}
    repo.refs["heads/main"] = oid(5)
    repo.refs["tags/v1"] = oid(4)
    repo.pull_requests = [
        PullRequest(
            number=1,
            id=501,
            title="Add a",
            body="b",
            author="dependabot[bot]",
            created_at=days(9.5),
            updated_at=days(8),
            base_ref="main",
            head_ref="a",
            state="closed",
            closed_at=days(8),
            merged_at=days(8),
            merge_commit=oid(4),
            commits=[oid(3)],
            additions=10,
            deletions=2,
            labels=["deps"],
            reviews=[
                Review(71, "gone", "APPROVED", days(8.2), comments=2),
                Review(72, "bob", "COMMENTED", days(8.3)),
            ],
            is_draft=False,
            ready_for_review_at=[days(9.2)],
            merged_by="alice",
        ),
        PullRequest(
            number=2,
            id=502,
            title="Feat a",
            body="",
            author="gone",
            created_at=days(9.8),
            updated_at=days(9),
            base_ref="main",
            head_ref="feat",
            state="closed",
            closed_at=days(9),
            merged_at=days(9),
            merge_commit=oid(2),
            commits=[oid(2)],
        ),
        PullRequest(
            number=3,
            id=503,
            title="Open one",
            body="",
            author="bob",
            created_at=days(2),
            updated_at=days(1),
            base_ref="main",
            head_ref="x",
            state="open",
            is_draft=True,
        ),
    ]
    repo.issues = [
        Issue(4, 601, "Outage", "", "alice", days(6), days(5), "closed", days(5), ["incident"]),
        Issue(5, 602, "Slow", "", "gone", days(3), days(3), labels=["sev2"]),
        Issue(6, 603, "Typo", "", "bob", days(2), days(2), labels=["docs"]),
        Issue(7, 604, "Deleted", "", "bob", days(1), days(1), labels=["incident"], deleted=True),
    ]
    repo.deployments = [
        Deployment(
            801,
            oid(4),
            "main",
            "production",
            days(7.9),
            "github-actions[bot]",
            [
                DeploymentStatus(1, "in_progress", days(7.9)),
                DeploymentStatus(2, "success", days(7.8)),
            ],
        ),
        Deployment(802, oid(5), "main", "staging", days(6.9), "gone"),
    ]
    repo.releases = [
        Release(901, "v1", "First", oid(4), days(7.5), days(7.5), author="dependabot[bot]"),
        Release(902, "v2", "", oid(5), days(6), None, is_draft=True, author="alice"),
    ]
    world.repositories[repo.full_name] = repo
    return world


def gql(
    server: EmulatorServer, query: str, variables: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    response = requests.post(
        server.graphql_url,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"bearer {token or WORKFLOW_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(server: EmulatorServer, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(server, query, variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


REPO = {"owner": "acme", "name": "app"}


def test_viewer_login_drops_bot_suffix(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    assert data(server, queries.VIEWER) == {"viewer": {"login": "github-actions"}}
    assert gql(server, queries.VIEWER, token=PAT)["data"]["viewer"]["login"] == "alice"


def test_pygithub_graphql_endpoint(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    gh = Github(
        auth=Auth.Token(WORKFLOW_TOKEN),
        base_url=server.api_url,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    _, body = gh.requester.graphql_query(REPOSITORY, REPO)
    assert body["data"]["repository"] == {
        "nameWithOwner": "acme/app",
        "isPrivate": True,
        "isArchived": False,
        "defaultBranchRef": {"name": "main"},
    }
    with pytest.raises(GithubException):
        gh.requester.graphql_query(REPOSITORY, {"owner": "acme", "name": "missing"})


def test_unknown_repository_is_not_found(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    body = gql(server, REPOSITORY, {"owner": "acme", "name": "nope"})
    assert body["data"]["repository"] is None
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["repository"]


def test_pull_requests_query(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    result = data(server, PULL_REQUESTS, **REPO)
    assert result["rateLimit"]["cost"] == 2  # 1 + 50 x 4 nested connections = 201 -> 2
    prs = result["repository"]["pullRequests"]["nodes"]
    assert [pr["number"] for pr in prs] == [3, 1, 2]  # UPDATED_AT DESC
    merged = prs[1]
    assert merged["state"] == "MERGED"
    assert merged["author"] == {"__typename": "Bot", "login": "dependabot"}
    assert merged["mergeCommit"] == {"oid": oid(4)}
    assert merged["labels"]["nodes"] == [{"name": "deps"}]
    assert merged["commits"]["totalCount"] == 1
    assert merged["commits"]["nodes"][0]["commit"]["authoredDate"] == "2024-05-23T12:00:00Z"
    assert merged["reviews"]["nodes"] == [
        {
            "author": {"__typename": "User", "login": "bob"},
            "state": "COMMENTED",
            "submittedAt": "2024-05-23T16:48:00Z",
            "comments": {"totalCount": 0},
        },
        {
            "author": None,  # deleted account
            "state": "APPROVED",
            "submittedAt": "2024-05-23T19:12:00Z",
            "comments": {"totalCount": 2},
        },
    ]
    assert merged["timelineItems"]["nodes"] == [{"createdAt": "2024-05-22T19:12:00Z"}]
    assert prs[2]["author"] is None
    assert prs[0]["isDraft"] is True
    assert prs[0]["state"] == "OPEN"


TIMELINE = """
query Timeline($owner: String!, $name: String!, $types: [PullRequestTimelineItemsItemType!]) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: 10) {
      nodes {
        number
        timelineItems(first: 10, itemTypes: $types) {
          totalCount
          nodes {
            __typename
            ... on ReadyForReviewEvent { createdAt }
            ... on IssueComment { author { __typename login } createdAt }
          }
        }
      }
    }
  }
}
"""


def test_timeline_serves_ready_events_and_comments_in_time_order(
    emulator_factory: EmulatorFactory,
) -> None:
    world = make_world()
    pr = next(p for p in world.repositories["acme/app"].pull_requests if p.number == 2)
    pr.ready_for_review_at = [days(9.5)]
    pr.comments = [
        IssueComment(91, "bob", "Why?", days(9.7), days(9.7)),  # days ago
        IssueComment(92, "dependabot[bot]", "Rebased", days(9.4), days(9.4)),
    ]
    server = emulator_factory(world, tokens())

    def items(types: list[str]) -> list[dict[str, Any]]:
        result = data(server, TIMELINE, **REPO, types=types)
        pulls: list[dict[str, Any]] = result["repository"]["pullRequests"]["nodes"]
        found: list[dict[str, Any]] = next(p for p in pulls if p["number"] == 2)["timelineItems"][
            "nodes"
        ]
        return found

    both = items(["READY_FOR_REVIEW_EVENT", "ISSUE_COMMENT"])
    assert [n["__typename"] for n in both] == [
        "IssueComment",
        "ReadyForReviewEvent",
        "IssueComment",
    ]
    assert both[0]["author"] == {"__typename": "User", "login": "bob"}
    assert both[2]["author"] == {"__typename": "Bot", "login": "dependabot"}
    assert [n["__typename"] for n in items(["READY_FOR_REVIEW_EVENT"])] == ["ReadyForReviewEvent"]
    assert [n["__typename"] for n in items(["ISSUE_COMMENT"])] == ["IssueComment"] * 2


def test_cursor_pagination(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    query = """
    query($cursor: String) {
      repository(owner: "acme", name: "app") {
        pullRequests(first: 2, after: $cursor) {
          totalCount
          pageInfo { hasNextPage endCursor }
          nodes { number }
        }
      }
    }"""
    first = data(server, query)["repository"]["pullRequests"]
    assert first["totalCount"] == 3
    assert [n["number"] for n in first["nodes"]] == [2, 1]  # CREATED_AT ASC by default
    assert first["pageInfo"]["hasNextPage"] is True
    second = data(server, query, cursor=first["pageInfo"]["endCursor"])["repository"]
    assert [n["number"] for n in second["pullRequests"]["nodes"]] == [3]
    assert second["pullRequests"]["pageInfo"]["hasNextPage"] is False
    bad = gql(server, query, {"cursor": "bm90IGEgY3Vyc29y"})
    assert bad["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"


def test_pagination_rules(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    missing = gql(
        server, '{ repository(owner: "acme", name: "app") { pullRequests { nodes { number } } } }'
    )
    assert "data" not in missing
    assert missing["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert missing["errors"][0]["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `pullRequests` "
        "connection."
    )
    excessive = gql(
        server,
        '{ repository(owner: "acme", name: "app") '
        "{ pullRequests(first: 101) { nodes { number } } } }",
    )
    assert excessive["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert excessive["errors"][0]["message"] == (
        "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of "
        "100 records."
    )
    # Only counting needs no page size, as on GitHub.
    counted = data(server, '{ repository(owner: "acme", name: "app") { issues { totalCount } } }')
    assert counted["repository"]["issues"]["totalCount"] == 3
    # Rejected queries cost nothing.
    assert [r.graphql_cost for r in server.requests] == [0, 0, 1]


def test_node_limit(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    query = """{ repository(owner: "acme", name: "app") {
      pullRequests(first: 100) { nodes { commits(first: 100) { nodes { commit {
        parents(first: 100) { nodes { oid } } } } } } } } }"""
    body = gql(server, query)
    assert body["errors"][0]["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert "1,010,100" in body["errors"][0]["message"]


def test_cost_and_remaining_points(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    query = """{
      rateLimit { cost remaining used limit nodeCount resetAt }
      repository(owner: "acme", name: "app") {
        pullRequests(first: 100) { nodes { labels(first: 10) { nodes { name } }
                                          reviews(first: 100) { nodes { state } } } }
      }
    }"""
    first = data(server, query)["rateLimit"]
    # 1 request for the pull requests + 100 for labels + 100 for reviews = 201 -> cost 2.
    assert first["cost"] == 2
    assert first["nodeCount"] == 100 + 100 * 10 + 100 * 100
    assert (first["limit"], first["remaining"], first["used"]) == (1000, 998, 2)
    second = data(server, query)["rateLimit"]
    assert second["remaining"] == 996
    assert [r.graphql_cost for r in server.requests] == [2, 2]
    assert server.requests[-1].kind == "graphql"
    pat = gql(server, "{ rateLimit { limit remaining } }", token=PAT)["data"]["rateLimit"]
    assert pat == {"limit": 5000, "remaining": 4999}


def test_deployments_query(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    nodes = data(server, DEPLOYMENTS, **REPO)["repository"]["deployments"]["nodes"]
    assert [d["databaseId"] for d in nodes] == [802, 801]
    assert nodes[1]["creator"] == {"__typename": "Bot", "login": "github-actions"}
    assert nodes[1]["commitOid"] == oid(4)
    assert nodes[1]["statuses"]["nodes"] == [
        {"state": "SUCCESS", "createdAt": "2024-05-24T04:48:00Z"},
        {"state": "IN_PROGRESS", "createdAt": "2024-05-24T02:24:00Z"},
    ]
    # Deployment.creator is non-null on GitHub: a deleted creator shows as the ghost user.
    assert nodes[0]["creator"] == {"__typename": "User", "login": "ghost"}
    assert nodes[0]["statuses"]["nodes"] == []


def test_releases_query(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    nodes = data(server, RELEASES, **REPO)["repository"]["releases"]["nodes"]
    assert [r["tagName"] for r in nodes] == ["v2", "v1"]
    assert nodes[0]["isDraft"] is True
    assert nodes[0]["publishedAt"] is None
    assert nodes[0]["author"] == {"__typename": "User", "login": "alice"}
    assert nodes[1]["tagCommit"] == {"oid": oid(4)}
    assert nodes[1]["author"] is None  # Release.author is a User: bots are null


def test_incidents_query(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    labelled = data(server, INCIDENTS, **REPO, labels=["incident", "sev2"])
    nodes = labelled["repository"]["issues"]["nodes"]
    # GraphQL label filters match ANY label; pull requests and deleted issues are absent.
    assert [n["number"] for n in nodes] == [5, 4]
    assert nodes[0]["author"] is None
    assert nodes[1] == {
        "number": 4,
        "title": "Outage",
        "url": f"{server.url}/acme/app/issues/4",
        "state": "CLOSED",
        "createdAt": "2024-05-26T00:00:00Z",
        "closedAt": "2024-05-27T00:00:00Z",
        "author": {"__typename": "User", "login": "alice"},
    }
    recent = data(server, INCIDENTS, **REPO, labels=None, since="2024-05-28T00:00:00Z")
    assert [n["number"] for n in recent["repository"]["issues"]["nodes"]] == [6, 5]


def test_history_query(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    result = data(server, HISTORY, **REPO, branch="main")
    history = result["repository"]["ref"]["target"]["history"]
    nodes = history["nodes"]
    assert [n["oid"] for n in nodes] == [oid(5), oid(4), oid(3), oid(2), oid(1)]
    by_oid = {n["oid"]: n for n in nodes}
    assert by_oid[oid(4)]["parents"]["nodes"] == [{"oid": oid(2)}, {"oid": oid(3)}]
    assert by_oid[oid(4)]["associatedPullRequests"]["nodes"] == [{"number": 1}]
    assert by_oid[oid(3)]["associatedPullRequests"]["nodes"] == [{"number": 1}]
    assert by_oid[oid(2)]["associatedPullRequests"]["nodes"] == [{"number": 2}]
    assert by_oid[oid(5)]["associatedPullRequests"]["nodes"] == []
    assert by_oid[oid(1)]["author"] == {"user": {"login": "alice"}}
    assert by_oid[oid(3)]["author"] == {"user": None}  # deleted account
    assert by_oid[oid(5)]["author"] == {"user": None}  # a bot is not a User
    assert result["rateLimit"]["cost"] == 2
    since = data(server, HISTORY, **REPO, branch="refs/heads/main", since="2024-05-23T06:00:00Z")
    recent = since["repository"]["ref"]["target"]["history"]["nodes"]
    assert [n["oid"] for n in recent] == [oid(5), oid(4), oid(3)]
    missing = data(server, HISTORY, **REPO, branch="nope")
    assert missing["repository"]["ref"] is None


OBJECT = f"""
query Object($owner: String!, $name: String!, $oid: GitObjectID, $expression: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    object(oid: $oid, expression: $expression) {{
      __typename
      oid
      ... on Commit {{ history(first: 10) {{ nodes {{ oid }} }} }}
      ... on Tag {{ name target {{ oid }} }}
    }}
  }}
}}
"""


def test_object_serves_any_commit_on_a_branch_or_not(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    repo = world.repositories["acme/app"]
    # 6: a release commit on top of 4 that no branch holds; 7: an annotated tag of it.
    repo.commits[oid(6)] = Commit(oid(6), "Release 1.0.1", days(6), days(6), "alice", [oid(4)])
    repo.tag_objects[oid(7)] = (oid(6), days(5))
    repo.refs["tags/v1.0.1"] = oid(7)
    server = emulator_factory(world, tokens())
    result = data(server, OBJECT, **REPO, oid=oid(6))
    found = result["repository"]["object"]
    assert found["__typename"] == "Commit"
    assert [n["oid"] for n in found["history"]["nodes"]] == [oid(6), oid(4), oid(3), oid(2), oid(1)]
    assert result["rateLimit"]["cost"] == 1
    tag = data(server, OBJECT, **REPO, oid=oid(7))["repository"]["object"]
    assert tag == {"__typename": "Tag", "oid": oid(7), "name": "v1.0.1", "target": {"oid": oid(6)}}
    by_name = data(server, OBJECT, **REPO, expression="main")["repository"]["object"]
    assert by_name["oid"] == oid(5)
    assert data(server, OBJECT, **REPO, oid=oid(99))["repository"]["object"] is None


def test_pin_issue_limit_and_permission(emulator_factory: EmulatorFactory) -> None:
    world = make_world()
    repo: Repository = world.repositories["acme/app"]
    for number in (10, 11, 12, 13):
        repo.issues.append(Issue(number, 700 + number, f"i{number}", "", "alice", NOW, NOW))
    server = emulator_factory(world, tokens())

    def node_id(number: int) -> str:
        query = (
            '{ repository(owner: "acme", name: "app") '
            "{ issues(last: 10) { nodes { id number } } } }"
        )
        nodes = data(server, query)["repository"]["issues"]["nodes"]
        return str(next(n["id"] for n in nodes if n["number"] == number))

    denied = gql(server, queries.PIN_ISSUE, {"issueId": node_id(10)}, token=READ_ONLY)
    assert denied["errors"][0]["type"] == "FORBIDDEN"
    for number in (10, 11, 12):
        pinned = data(server, queries.PIN_ISSUE, issueId=node_id(number))
        assert pinned == {"pinIssue": {"issue": {"number": number}}}
    again = data(server, queries.PIN_ISSUE, issueId=node_id(12))
    assert again["pinIssue"]["issue"]["number"] == 12
    fourth = gql(server, queries.PIN_ISSUE, {"issueId": node_id(13)})
    assert fourth["data"]["pinIssue"] is None
    assert "3 pinned issues" in fourth["errors"][0]["message"]
    with server.lock:
        assert [i.number for i in repo.issues if i.pinned] == [10, 11, 12]
    unknown = gql(server, queries.PIN_ISSUE, {"issueId": "I_kwDOnothing"})
    assert unknown["errors"][0]["type"] == "NOT_FOUND"


def test_errors_look_like_githubs(emulator_factory: EmulatorFactory) -> None:
    server = emulator_factory(make_world(), tokens())
    invalid = gql(server, '{ repository(owner: "acme", name: "app") { stars } }')
    assert invalid["errors"][0]["message"].startswith("Cannot query field 'stars'")
    assert "data" not in invalid
    unauthenticated = requests.post(
        server.graphql_url, json={"query": "{ viewer { login } }"}, timeout=10
    )
    assert unauthenticated.status_code == 401
