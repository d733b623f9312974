"""Builders for the JSON payloads GitHub's REST API returns, filled from the emulator's world.

Every builder fills each property GitHub's OpenAPI description marks as required, with values
shaped like GitHub's (URLs pointing at the emulator itself, because PyGithub follows them).
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ghaction_metrics_dev.emulator.world import (
    Deployment,
    DeploymentStatus,
    Issue,
    IssueComment,
    Label,
    PullRequest,
    Repository,
    Review,
    User,
    Workflow,
    WorkflowRun,
    World,
)

JSON = dict[str, Any]

DOCS = "https://docs.github.com/rest"
GHOST = User(login="ghost", id=10137, type="User")
# Well-known bot accounts keep their real ids so payloads look like the real thing.
KNOWN_BOT_IDS = {"github-actions[bot]": 41898282, "dependabot[bot]": 49699333}
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

NODE_PREFIXES = {
    "User": "U_kgDO",
    "Bot": "BOT_kgDO",
    "Organization": "O_kgDO",
    "Repository": "R_kgDO",
    "Issue": "I_kwDO",
    "PullRequest": "PR_kwDO",
    "IssueComment": "IC_kwDO",
    "Label": "LA_kwDO",
    "Commit": "C_kwDO",
    "Tree": "T_kwDO",
    "Blob": "B_kwDO",
    "Ref": "REF_kwDO",
    "Deployment": "DE_kwDO",
    "DeploymentStatus": "DES_kwDO",
    "Release": "RE_kwDO",
    "PullRequestReview": "PRR_kwDO",
    "PullRequestCommit": "PURC_kwDO",
    "ReadyForReviewEvent": "RFRE_kwDO",
    "Tag": "TAG_kwDO",
    "Workflow": "W_kwDO",
    "WorkflowRun": "WFR_kwDO",
    "CheckSuite": "CS_kwDO",
}


def iso(value: datetime | None) -> str | None:
    """GitHub's timestamp form: UTC, second precision, ``Z`` suffix."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_required(value: datetime) -> str:
    text = iso(value)
    assert text is not None
    return text


def parse_time(text: str) -> datetime:
    """Parses an ISO 8601 timestamp into an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def aware(value: datetime) -> datetime:
    """World timestamps may be naive (meaning UTC); comparisons need one convention."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def node_id(kind: str, key: object) -> str:
    raw = base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")
    return NODE_PREFIXES[kind] + raw


def decode_node_id(value: str) -> tuple[str, str] | None:
    """Inverse of ``node_id``; None for ids the emulator never issued."""
    for kind, prefix in NODE_PREFIXES.items():
        if value.startswith(prefix):
            raw = value[len(prefix) :]
            try:
                text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            except (ValueError, UnicodeDecodeError):
                return None
            found, _, key = text.partition(":")
            if found == kind:
                return kind, key
    return None


def stable_id(text: str) -> int:
    """A deterministic positive id for objects the world does not number (labels, users)."""
    return 1_000_000 + zlib.crc32(text.encode())


def bare_login(login: str) -> str:
    """GraphQL spells bot logins without the ``[bot]`` suffix REST uses."""
    return login.removesuffix("[bot]")


@dataclass(frozen=True)
class Urls:
    """The emulator's own addresses; every URL in a payload is built from these."""

    base: str  # http://127.0.0.1:PORT

    @property
    def api(self) -> str:
        return f"{self.base}/api/v3"

    def repo_api(self, repo: Repository) -> str:
        return f"{self.api}/repos/{repo.owner}/{repo.name}"

    def repo_html(self, repo: Repository) -> str:
        return f"{self.base}/{repo.owner}/{repo.name}"


def resolve_user(world: World, login: str | None) -> User:
    """The account behind a login: deleted or unknown-to-history authors become GitHub's ghost."""
    if login is None:
        return GHOST
    user = world.users.get(login)
    if user is None:
        kind: Any = "Bot" if login.endswith("[bot]") else "User"
        user = User(login=login, id=KNOWN_BOT_IDS.get(login, stable_id(login)), type=kind)
    if user.deleted:
        return GHOST
    return user


def simple_user(urls: Urls, world: World, login: str | None) -> JSON:
    user = resolve_user(world, login)
    api_user = f"{urls.api}/users/{user.login}"
    kind = user.type
    profile = f"apps/{bare_login(user.login)}" if kind == "Bot" else user.login
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id("Bot" if kind == "Bot" else kind, user.id),
        "avatar_url": f"{urls.base}/avatars/u/{user.id}?v=4",
        "gravatar_id": "",
        "url": api_user,
        "html_url": f"{urls.base}/{profile}",
        "followers_url": f"{api_user}/followers",
        "following_url": f"{api_user}/following{{/other_user}}",
        "gists_url": f"{api_user}/gists{{/gist_id}}",
        "starred_url": f"{api_user}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api_user}/subscriptions",
        "organizations_url": f"{api_user}/orgs",
        "repos_url": f"{api_user}/repos",
        "events_url": f"{api_user}/events{{/privacy}}",
        "received_events_url": f"{api_user}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def private_user(urls: Urls, world: World, login: str) -> JSON:
    created = iso_required(world.now)
    payload = simple_user(urls, world, login)
    payload["user_view_type"] = "private"
    payload.update(
        {
            "name": login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": created,
            "updated_at": created,
            "private_gists": 0,
            "total_private_repos": 0,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
        }
    )
    return payload


def _repo_urls(urls: Urls, repo: Repository) -> JSON:
    api = urls.repo_api(repo)
    return {
        "url": api,
        "html_url": urls.repo_html(repo),
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "assignees_url": f"{api}/assignees{{/user}}",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "comments_url": f"{api}/comments{{/number}}",
        "commits_url": f"{api}/commits{{/sha}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "contributors_url": f"{api}/contributors",
        "deployments_url": f"{api}/deployments",
        "downloads_url": f"{api}/downloads",
        "events_url": f"{api}/events",
        "forks_url": f"{api}/forks",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "hooks_url": f"{api}/hooks",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "issues_url": f"{api}/issues{{/number}}",
        "keys_url": f"{api}/keys{{/key_id}}",
        "labels_url": f"{api}/labels{{/name}}",
        "languages_url": f"{api}/languages",
        "merges_url": f"{api}/merges",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "releases_url": f"{api}/releases{{/id}}",
        "stargazers_url": f"{api}/stargazers",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "tags_url": f"{api}/tags",
        "teams_url": f"{api}/teams",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "git_url": f"git://{urls.base.split('://', 1)[1]}/{repo.full_name}.git",
        "ssh_url": f"git@{urls.base.split('://', 1)[1]}:{repo.full_name}.git",
        "clone_url": f"{urls.repo_html(repo)}.git",
        "svn_url": urls.repo_html(repo),
        "mirror_url": None,
    }


def repository(
    urls: Urls, world: World, repo: Repository, permissions: dict[str, bool], full: bool
) -> JSON:
    """``full-repository`` when ``full`` (GET /repos/{o}/{r}), else ``minimal-repository``."""
    open_issues = sum(1 for i in repo.issues if i.state == "open" and not i.deleted) + sum(
        1 for p in repo.pull_requests if p.state == "open"
    )
    created = iso_required(repo.created(world.now))
    pushed = iso_required(world.now)
    payload: JSON = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": simple_user(urls, world, repo.owner),
        "private": repo.private,
        "description": repo.description or None,
        "fork": False,
        **_repo_urls(urls, repo),
        "homepage": None,
        "language": "Python",
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo.default_branch,
        "open_issues_count": open_issues,
        "open_issues": open_issues,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": repo.archived,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": pushed,
        "created_at": created,
        "updated_at": pushed,
        "permissions": permissions,
        "license": None,
        "allow_forking": not repo.private,
        "web_commit_signoff_required": False,
    }
    if full:
        payload.update(
            {
                "network_count": 0,
                "subscribers_count": 0,
                "allow_rebase_merge": True,
                "allow_squash_merge": True,
                "allow_merge_commit": True,
                "allow_auto_merge": False,
                "delete_branch_on_merge": False,
                "temp_clone_token": None,
            }
        )
    return payload


def label(urls: Urls, repo: Repository, name: str) -> JSON:
    known: Label | None = next((lab for lab in repo.labels if lab.name == name), None)
    return {
        "id": stable_id(f"{repo.full_name}:label:{name}"),
        "node_id": node_id("Label", f"{repo.id}:{name}"),
        "url": f"{urls.repo_api(repo)}/labels/{name}",
        "name": name,
        "color": known.color if known else "ededed",
        "description": (known.description or None) if known else None,
        "default": False,
    }


def _reactions(url: str) -> JSON:
    return {
        "url": f"{url}/reactions",
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }


def association(repo: Repository, login: str | None) -> str:
    if login is not None and login == repo.owner:
        return "OWNER"
    return "CONTRIBUTOR" if login is not None else "NONE"


def issue(urls: Urls, world: World, repo: Repository, item: Issue) -> JSON:
    api = f"{urls.repo_api(repo)}/issues/{item.number}"
    state_reason = "completed" if item.state == "closed" else None
    return {
        "id": item.id,
        "node_id": node_id("Issue", item.id),
        "url": api,
        "repository_url": urls.repo_api(repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{urls.repo_html(repo)}/issues/{item.number}",
        "timeline_url": f"{api}/timeline",
        "number": item.number,
        "state": item.state,
        "state_reason": state_reason,
        "title": item.title,
        "body": item.body or None,
        "user": simple_user(urls, world, item.author),
        "labels": [label(urls, repo, name) for name in item.labels],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": item.locked,
        "active_lock_reason": "resolved" if item.locked else None,
        "comments": len(item.comments),
        "closed_at": iso(item.closed_at),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "author_association": association(repo, item.author),
        "performed_via_github_app": None,
        "reactions": _reactions(api),
    }


def pull_request_as_issue(urls: Urls, world: World, repo: Repository, pr: PullRequest) -> JSON:
    """The issues endpoints list pull requests too, marked by a ``pull_request`` key."""
    api = f"{urls.repo_api(repo)}/issues/{pr.number}"
    html = f"{urls.repo_html(repo)}/pull/{pr.number}"
    return {
        "id": pr.id,
        "node_id": node_id("PullRequest", pr.id),
        "url": api,
        "repository_url": urls.repo_api(repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": html,
        "timeline_url": f"{api}/timeline",
        "number": pr.number,
        "state": pr.state,
        "state_reason": None,
        "title": pr.title,
        "body": pr.body or None,
        "user": simple_user(urls, world, pr.author),
        "labels": [label(urls, repo, name) for name in pr.labels],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": 0,
        "closed_at": iso(pr.closed_at),
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "author_association": association(repo, pr.author),
        "draft": pr.is_draft,
        "pull_request": {
            "url": f"{urls.repo_api(repo)}/pulls/{pr.number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": iso(pr.merged_at),
        },
        "performed_via_github_app": None,
        "reactions": _reactions(api),
    }


@dataclass
class PinInfo:
    """Who pinned a comment and when; GitHub reports it, the world does not keep it."""

    at: datetime
    by: str


def issue_comment(
    urls: Urls,
    world: World,
    repo: Repository,
    item: Issue,
    comment: IssueComment,
    pin: PinInfo | None,
) -> JSON:
    api = f"{urls.repo_api(repo)}/issues/comments/{comment.id}"
    pin_payload: JSON | None = None
    if comment.pinned:
        at = pin.at if pin else comment.updated_at
        by = pin.by if pin else repo.owner
        pin_payload = {"pinned_at": iso(at), "pinned_by": simple_user(urls, world, by)}
    return {
        "id": comment.id,
        "node_id": node_id("IssueComment", comment.id),
        "url": api,
        "html_url": f"{urls.repo_html(repo)}/issues/{item.number}#issuecomment-{comment.id}",
        "body": comment.body,
        "user": simple_user(urls, world, comment.author),
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "issue_url": f"{urls.repo_api(repo)}/issues/{item.number}",
        "author_association": association(repo, comment.author),
        "performed_via_github_app": None,
        "reactions": _reactions(api),
        "pin": pin_payload,
    }


def git_ref(urls: Urls, repo: Repository, name: str, sha: str) -> JSON:
    """``name`` is the world's form, e.g. ``heads/main``."""
    is_tag_object = name.startswith("tags/") and sha in repo.tag_objects
    kind = "tag" if is_tag_object else "commit"
    plural = "tags" if is_tag_object else "commits"
    return {
        "ref": f"refs/{name}",
        "node_id": node_id("Ref", f"{repo.id}:{name}"),
        "url": f"{urls.repo_api(repo)}/git/refs/{name}",
        "object": {"type": kind, "sha": sha, "url": f"{urls.repo_api(repo)}/git/{plural}/{sha}"},
    }


def error(message: str, status: int, doc_path: str = "") -> JSON:
    return {"message": message, "documentation_url": f"{DOCS}{doc_path}", "status": str(status)}


def _branch(urls: Urls, world: World, repo: Repository, ref: str, sha: str) -> JSON:
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": simple_user(urls, world, repo.owner),
        "repo": repository(
            urls,
            world,
            repo,
            {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
            full=False,
        ),
    }


def pull_request(urls: Urls, world: World, repo: Repository, pr: PullRequest, full: bool) -> JSON:
    """``pull-request`` when ``full`` (GET .../pulls/N), else ``pull-request-simple``."""
    api = f"{urls.repo_api(repo)}/pulls/{pr.number}"
    html = f"{urls.repo_html(repo)}/pull/{pr.number}"
    issue_api = f"{urls.repo_api(repo)}/issues/{pr.number}"
    head_sha = pr.commits[-1] if pr.commits else (pr.merge_commit or EMPTY_TREE)
    base_sha = pr.merge_commit or head_sha
    payload: JSON = {
        "url": api,
        "id": pr.id,
        "node_id": node_id("PullRequest", pr.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_api,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{urls.repo_api(repo)}/pulls/comments{{/number}}",
        "comments_url": f"{issue_api}/comments",
        "statuses_url": f"{urls.repo_api(repo)}/statuses/{head_sha}",
        "number": pr.number,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": simple_user(urls, world, pr.author),
        "body": pr.body or None,
        # This schema's labels have a plain-string description.
        "labels": [
            {**label(urls, repo, name), "description": label(urls, repo, name)["description"] or ""}
            for name in pr.labels
        ],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at),
        "merged_at": iso(pr.merged_at),
        "merge_commit_sha": pr.merge_commit,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch(urls, world, repo, pr.head_ref, head_sha),
        "base": _branch(urls, world, repo, pr.base_ref, base_sha),
        "_links": {
            name: {"href": href}
            for name, href in (
                ("self", api),
                ("html", html),
                ("issue", issue_api),
                ("comments", f"{issue_api}/comments"),
                ("review_comments", f"{api}/comments"),
                ("review_comment", f"{urls.repo_api(repo)}/pulls/comments{{/number}}"),
                ("commits", f"{api}/commits"),
                ("statuses", f"{urls.repo_api(repo)}/statuses/{head_sha}"),
            )
        },
        "author_association": association(repo, pr.author),
        "auto_merge": None,
        "draft": pr.is_draft,
    }
    if full:
        payload.update(
            {
                "merged": pr.merged_at is not None,
                "mergeable": None,
                "rebaseable": None,
                "mergeable_state": "unknown",
                "merged_by": simple_user(urls, world, pr.merged_by) if pr.merged_by else None,
                "comments": 0,
                "review_comments": sum(r.comments for r in pr.reviews),
                "maintainer_can_modify": False,
                "commits": len(pr.commits),
                "additions": pr.additions,
                "deletions": pr.deletions,
                "changed_files": max(1, len(pr.commits)),
            }
        )
    return payload


def review(urls: Urls, world: World, repo: Repository, pr: PullRequest, item: Review) -> JSON:
    html = f"{urls.repo_html(repo)}/pull/{pr.number}"
    return {
        "id": item.id,
        "node_id": node_id("PullRequestReview", item.id),
        "user": simple_user(urls, world, item.author),
        "body": item.body,
        "state": item.state,
        "html_url": f"{html}#pullrequestreview-{item.id}",
        "pull_request_url": f"{urls.repo_api(repo)}/pulls/{pr.number}",
        "_links": {
            "html": {"href": f"{html}#pullrequestreview-{item.id}"},
            "pull_request": {"href": f"{urls.repo_api(repo)}/pulls/{pr.number}"},
        },
        "submitted_at": iso(item.submitted_at),
        "commit_id": pr.commits[-1] if pr.commits else None,
        "author_association": association(repo, item.author),
    }


def deployment(urls: Urls, world: World, repo: Repository, item: Deployment) -> JSON:
    api = f"{urls.repo_api(repo)}/deployments/{item.id}"
    return {
        "url": api,
        "id": item.id,
        "node_id": node_id("Deployment", item.id),
        "sha": item.sha,
        "ref": item.ref,
        "task": item.task,
        "payload": {},
        "original_environment": item.environment,
        "environment": item.environment,
        "description": item.description or None,
        "creator": simple_user(urls, world, item.creator),
        "created_at": iso(item.created_at),
        "updated_at": iso(item.statuses[-1].created_at if item.statuses else item.created_at),
        "statuses_url": f"{api}/statuses",
        "repository_url": urls.repo_api(repo),
        "transient_environment": False,
        "production_environment": item.environment.lower() == "production",
    }


def deployment_status(
    urls: Urls, world: World, repo: Repository, item: Deployment, status: DeploymentStatus
) -> JSON:
    api = f"{urls.repo_api(repo)}/deployments/{item.id}"
    return {
        "url": f"{api}/statuses/{status.id}",
        "id": status.id,
        "node_id": node_id("DeploymentStatus", status.id),
        "state": status.state,
        "creator": simple_user(urls, world, status.creator or item.creator),
        "description": status.description,
        "environment": item.environment,
        "target_url": "",
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
        "deployment_url": api,
        "repository_url": urls.repo_api(repo),
        "environment_url": "",
        "log_url": "",
    }


def workflow(urls: Urls, repo: Repository, item: Workflow) -> JSON:
    html = urls.repo_html(repo)
    return {
        "id": item.id,
        "node_id": node_id("Workflow", item.id),
        "name": item.name,
        "path": item.path,
        "state": item.state,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.created_at),
        "url": f"{urls.repo_api(repo)}/actions/workflows/{item.id}",
        "html_url": f"{html}/blob/{repo.default_branch}/{item.path}",
        "badge_url": f"{html}/workflows/{item.path.rsplit('/', 1)[-1]}/badge.svg",
    }


def workflow_run(
    urls: Urls, world: World, repo: Repository, flow: Workflow, item: WorkflowRun
) -> JSON:
    api = f"{urls.repo_api(repo)}/actions/runs/{item.id}"
    minimal = repository(urls, world, repo, {}, full=False)
    minimal.pop("permissions")
    commit = repo.commits.get(item.head_sha)
    head_commit = None
    if commit is not None:
        head_commit = {
            "id": commit.oid,
            "tree_id": commit.tree or EMPTY_TREE,
            "message": commit.message,
            "timestamp": iso(commit.committed_at),
            "author": {"name": commit.author or "Unknown", "email": "unknown@example.com"},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        }
    return {
        "id": item.id,
        "name": flow.name,
        "node_id": node_id("WorkflowRun", item.id),
        "check_suite_id": item.id,
        "check_suite_node_id": node_id("CheckSuite", item.id),
        "head_branch": item.head_branch,
        "head_sha": item.head_sha,
        "path": flow.path,
        "display_title": commit.message.split("\n", 1)[0] if commit else flow.name,
        "run_number": item.run_number,
        "run_attempt": item.attempt,
        "event": item.event,
        "status": item.status,
        "conclusion": item.conclusion,
        "workflow_id": flow.id,
        "url": api,
        "html_url": f"{urls.repo_html(repo)}/actions/runs/{item.id}",
        "pull_requests": [],
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
        "run_started_at": iso(item.created_at),
        "actor": simple_user(urls, world, item.actor),
        "triggering_actor": simple_user(urls, world, item.actor),
        "jobs_url": f"{api}/jobs",
        "logs_url": f"{api}/logs",
        "check_suite_url": f"{urls.repo_api(repo)}/check-suites/{item.id}",
        "artifacts_url": f"{api}/artifacts",
        "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun",
        "previous_attempt_url": (
            f"{api}/attempts/{item.attempt - 1}" if item.attempt > 1 else None
        ),
        "workflow_url": f"{urls.repo_api(repo)}/actions/workflows/{flow.id}",
        "head_commit": head_commit,
        "repository": minimal,
        "head_repository": minimal,
    }
