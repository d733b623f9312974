"""The REST side of the emulator: routing, authorization, pagination and the endpoints."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlencode

from ghaction_metrics_dev.emulator import payloads as p
from ghaction_metrics_dev.emulator.payloads import EMPTY_TREE, JSON, Urls, aware, iso, parse_time
from ghaction_metrics_dev.emulator.state import Response, ServerState, TokenInfo
from ghaction_metrics_dev.emulator.world import (
    Commit,
    Deployment,
    GitBlob,
    GitTree,
    GitTreeEntry,
    Issue,
    IssueComment,
    Label,
    PullRequest,
    RefUpdate,
    Repository,
    Workflow,
    WorkflowRun,
    World,
)

NOT_ACCESSIBLE = "Resource not accessible by integration"


class HttpError(Exception):
    def __init__(self, status: int, message: str, doc_path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.doc_path = doc_path


@dataclass
class Ctx:
    server: ServerState
    token: TokenInfo
    method: str
    path: str
    query: dict[str, str]
    body: Any

    @property
    def world(self) -> World:
        return self.server.world

    @property
    def urls(self) -> Urls:
        return self.server.urls

    def repo(self, owner: str, name: str) -> Repository:
        """The repository, or 404 when it does not exist or the token may not see it."""
        wanted = f"{owner}/{name}".lower()
        for full_name, repo in self.world.repositories.items():
            if full_name.lower() == wanted and self.token.can_see(repo.full_name):
                return repo
        raise HttpError(404, "Not Found", "/repos/repos#get-a-repository")

    def require(self, scope: str, repo: Repository) -> None:
        if not self.token.can_write(scope):
            raise HttpError(403, NOT_ACCESSIBLE)
        if repo.archived:
            raise HttpError(403, "Repository was archived so is read-only.")

    def field(self, name: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
        if not isinstance(self.body, dict):
            raise HttpError(400, "Problems parsing JSON")
        value = self.body.get(name)
        if value is None:
            if required:
                raise HttpError(422, f'Invalid request.\n\n"{name}" wasn\'t supplied.')
            return None
        if not isinstance(value, kind):
            raise HttpError(422, f'Invalid request.\n\nInvalid property "{name}".')
        return value


Handler = Callable[..., Response]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
SEGMENT = r"[^/]+"


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Registers a handler; ``{name}`` matches one path segment, ``{name+}`` the rest."""

    def pattern_of(template: str) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\+\}", r"(?P<\1>.+)", template)
        regex = re.sub(r"\{(\w+)\*\}", r"(?P<\1>.*)", regex)
        regex = re.sub(r"\{(\w+)\}", rf"(?P<\1>{SEGMENT})", regex)
        return re.compile(f"^{regex}$")

    def register(handler: Handler) -> Handler:
        ROUTES.append((method, pattern_of(template), handler))
        return handler

    return register


def handle(
    server: ServerState,
    method: str,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    raw_body: bytes,
) -> Response:
    if not path.startswith("/api/v3"):
        return Response(404, p.error("Not Found", 404))
    sub = path[len("/api/v3") :].rstrip("/") or "/"
    token = server.authenticate(headers)
    if token is None:
        return Response(401, p.error("Requires authentication", 401))
    if token is False:
        return Response(401, p.error("Bad credentials", 401))
    bucket = server.rest_bucket(token)
    rate = server.rate_headers
    # GET /rate_limit is free on GitHub, so checking the budget does not spend it.
    if sub != "/rate_limit":
        if bucket.remaining <= 0:
            response = Response(
                403,
                p.error(
                    f"API rate limit exceeded for {token.login}.",
                    403,
                    "/overview/rate-limits-for-the-rest-api",
                ),
            )
            response.headers.update(rate(bucket, "core"))
            return response
        bucket.remaining -= 1
    try:
        body: Any = json.loads(raw_body) if raw_body.strip() else None
    except ValueError:
        response = Response(400, p.error("Problems parsing JSON", 400))
        response.headers.update(rate(bucket, "core"))
        return response
    ctx = Ctx(server, token, method, sub, query, body)
    response = Response(404, p.error("Not Found", 404))
    for verb, pattern, handler in ROUTES:
        match = pattern.match(sub)
        if match is None or verb != method:
            continue
        args = {k: unquote(v) for k, v in match.groupdict().items()}
        try:
            response = handler(ctx, **args)
        except HttpError as exc:
            response = Response(exc.status, p.error(exc.message, exc.status, exc.doc_path))
        break
    response.headers.update(rate(bucket, "core"))
    return response


def paginate(ctx: Ctx, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and GitHub's RFC 5988 ``Link`` header for the others."""
    try:
        per_page = min(100, max(1, int(ctx.query.get("per_page", "30"))))
        page = max(1, int(ctx.query.get("page", "1")))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    base = f"{ctx.urls.api}{ctx.path}"

    def link(number: int, rel: str) -> str:
        query = {**ctx.query, "page": str(number)}
        return f'<{base}?{urlencode(query)}>; rel="{rel}"'

    links: list[str] = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
        links.append(link(last, "last"))
    if page > 1:
        links.append(link(1, "first"))
    return chunk, ({"Link": ", ".join(links)} if links else {})


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise HttpError(404, "Not Found") from None


# -- users, repositories, rate limit ----------------------------------------------------------


@route("GET", "/user")
def get_user(ctx: Ctx) -> Response:
    if ctx.token.kind != "pat":
        raise HttpError(403, NOT_ACCESSIBLE, "/users/users#get-the-authenticated-user")
    return Response(200, p.private_user(ctx.urls, ctx.world, ctx.token.login))


@route("GET", "/rate_limit")
def get_rate_limit(ctx: Ctx) -> Response:
    def entry(limit: int, remaining: int, reset: int) -> JSON:
        return {"limit": limit, "remaining": remaining, "reset": reset, "used": limit - remaining}

    core = ctx.server.rest_bucket(ctx.token)
    graphql = ctx.server.graphql_bucket(ctx.token)
    core_entry = entry(core.limit, core.remaining, core.reset)
    resources = {
        "core": core_entry,
        "graphql": entry(graphql.limit, graphql.remaining, graphql.reset),
        "search": entry(30, 30, core.reset),
        "code_search": entry(10, 10, core.reset),
        "integration_manifest": entry(5000, 5000, core.reset),
    }
    return Response(200, {"resources": resources, "rate": core_entry})


def _permissions(token: TokenInfo, repo: Repository) -> dict[str, bool]:
    if token.kind == "pat" and token.login == repo.owner:
        return {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True}
    push = token.can_write("contents") or (token.kind == "pat" and not token.permissions)
    triage = push or token.can_write("issues")
    return {"admin": False, "maintain": False, "push": push, "triage": triage, "pull": True}


@route("GET", "/repos/{owner}/{name}")
def get_repo(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    return Response(
        200, p.repository(ctx.urls, ctx.world, repo, _permissions(ctx.token, repo), full=True)
    )


def _list_repos(ctx: Ctx, owner: str) -> Response:
    kind = ctx.query.get("type", "all")
    repos = [
        r
        for r in ctx.world.repositories.values()
        if r.owner.lower() == owner.lower() and ctx.token.can_see(r.full_name)
    ]
    if kind == "public":
        repos = [r for r in repos if not r.private]
    elif kind == "private":
        repos = [r for r in repos if r.private]
    elif kind == "forks":
        repos = []
    sort = ctx.query.get("sort", "full_name")
    if sort == "full_name":
        repos.sort(key=lambda r: r.full_name.lower(), reverse=ctx.query.get("direction") == "desc")
    else:
        repos.sort(key=lambda r: r.id, reverse=ctx.query.get("direction", "desc") == "desc")
    page, headers = paginate(ctx, repos)
    body = [
        p.repository(ctx.urls, ctx.world, r, _permissions(ctx.token, r), full=False) for r in page
    ]
    return Response(200, body, headers)


@route("GET", "/orgs/{org}/repos")
def list_org_repos(ctx: Ctx, org: str) -> Response:
    if not any(r.owner.lower() == org.lower() for r in ctx.world.repositories.values()):
        raise HttpError(404, "Not Found")
    return _list_repos(ctx, org)


@route("GET", "/users/{username}/repos")
def list_user_repos(ctx: Ctx, username: str) -> Response:
    return _list_repos(ctx, username)


# -- issues -----------------------------------------------------------------------------------


def _find_issue(repo: Repository, number: int) -> Issue | PullRequest:
    for item in repo.issues:
        if item.number == number:
            if item.deleted:
                raise HttpError(410, "This issue was deleted", "/issues/issues#get-an-issue")
            return item
    for pr in repo.pull_requests:
        if pr.number == number:
            return pr
    raise HttpError(404, "Not Found", "/issues/issues#get-an-issue")


def _issue_payload(ctx: Ctx, repo: Repository, item: Issue | PullRequest) -> JSON:
    if isinstance(item, PullRequest):
        return p.pull_request_as_issue(ctx.urls, ctx.world, repo, item)
    return p.issue(ctx.urls, ctx.world, repo, item)


def _same_login(a: str | None, b: str) -> bool:
    return a is not None and a.lower() == b.lower()


@route("GET", "/repos/{owner}/{name}/issues")
def list_issues(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    q = ctx.query
    items: list[Issue | PullRequest] = [i for i in repo.issues if not i.deleted]
    items.extend(repo.pull_requests)
    state = q.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise HttpError(422, "Validation Failed")
    if state != "all":
        items = [i for i in items if i.state == state]
    if q.get("labels"):
        wanted = {x.strip().lower() for x in q["labels"].split(",") if x.strip()}
        items = [i for i in items if wanted <= {x.lower() for x in i.labels}]
    if q.get("creator"):
        items = [i for i in items if _same_login(i.author, q["creator"])]
    if q.get("since"):
        try:
            since = parse_time(q["since"])
        except ValueError:
            raise HttpError(422, "Validation Failed") from None
        items = [i for i in items if aware(i.updated_at) >= since]
    sort = q.get("sort", "created")
    descending = q.get("direction", "desc") != "asc"

    def key(item: Issue | PullRequest) -> tuple[Any, int]:
        if sort == "updated":
            return aware(item.updated_at), item.number
        if sort == "comments":
            return (len(item.comments) if isinstance(item, Issue) else 0), item.number
        return aware(item.created_at), item.number

    items.sort(key=key, reverse=descending)
    page, headers = paginate(ctx, items)
    return Response(200, [_issue_payload(ctx, repo, i) for i in page], headers)


@route("GET", "/repos/{owner}/{name}/issues/{number}")
def get_issue(ctx: Ctx, owner: str, name: str, number: str) -> Response:
    repo = ctx.repo(owner, name)
    item = _find_issue(repo, _int(number))
    payload = _issue_payload(ctx, repo, item)
    payload["closed_by"] = None
    return Response(200, payload)


def _labels_from(ctx: Ctx, repo: Repository) -> list[str] | None:
    raw = ctx.field("labels", list)
    if raw is None:
        return None
    names: list[str] = []
    for entry in raw:
        label_name = entry.get("name") if isinstance(entry, dict) else entry
        if not isinstance(label_name, str) or not label_name:
            raise HttpError(422, "Validation Failed")
        # GitHub creates labels it has not seen, with the default colour.
        if not any(lab.name.lower() == label_name.lower() for lab in repo.labels):
            repo.labels.append(Label(name=label_name))
        if label_name not in names:
            names.append(label_name)
    return names


@route("POST", "/repos/{owner}/{name}/labels")
def create_label(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("issues", repo)
    label_name = ctx.field("name", str, required=True)
    if any(lab.name.lower() == label_name.lower() for lab in repo.labels):
        raise HttpError(422, "Validation Failed")
    color = ctx.field("color", str) or "ededed"
    repo.labels.append(Label(label_name, color.lstrip("#"), ctx.field("description", str) or ""))
    return Response(201, p.label(ctx.urls, repo, label_name))


MAX_BODY = 65_536


def _body_text(ctx: Ctx, required: bool = False) -> str | None:
    text: str | None = ctx.field("body", str, required=required)
    if text is not None and len(text) > MAX_BODY:
        raise HttpError(422, "Validation Failed")
    return text


@route("POST", "/repos/{owner}/{name}/issues")
def create_issue(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("issues", repo)
    title = ctx.field("title", (str, int), required=True)
    body = _body_text(ctx) or ""
    labels = _labels_from(ctx, repo) or []
    numbers = [i.number for i in repo.issues] + [pr.number for pr in repo.pull_requests]
    now = ctx.world.now
    item = Issue(
        number=max(numbers, default=0) + 1,
        id=ctx.world.new_id(),
        title=str(title),
        body=body,
        author=ctx.token.login,
        created_at=now,
        updated_at=now,
        labels=labels,
    )
    repo.issues.append(item)
    payload = p.issue(ctx.urls, ctx.world, repo, item)
    return Response(201, payload, {"Location": payload["url"]})


@route("PATCH", "/repos/{owner}/{name}/issues/{number}")
def edit_issue(ctx: Ctx, owner: str, name: str, number: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("issues", repo)
    item = _find_issue(repo, _int(number))
    title = ctx.field("title", (str, int))
    body = _body_text(ctx)
    state = ctx.field("state", str)
    state_reason = ctx.field("state_reason", str)
    labels = _labels_from(ctx, repo)
    if state not in (None, "open", "closed"):
        raise HttpError(422, "Validation Failed")
    if state_reason not in (None, "completed", "not_planned", "duplicate", "reopened"):
        raise HttpError(422, "Validation Failed")
    if title is not None:
        item.title = str(title)
    if body is not None:
        item.body = body
    if labels is not None:
        item.labels = labels
    if state is not None and state != item.state:
        item.state = "open" if state == "open" else "closed"
        item.closed_at = ctx.world.now if state == "closed" else None
    item.updated_at = ctx.world.now
    payload = _issue_payload(ctx, repo, item)
    if isinstance(item, Issue) and item.state == "closed" and state_reason is not None:
        payload["state_reason"] = state_reason
    return Response(200, payload)


# -- comments ---------------------------------------------------------------------------------


def _real_issue(repo: Repository, number: int) -> Issue | None:
    """The issue; None for a pull request (its conversation is not modelled: no comments)."""
    item = _find_issue(repo, number)
    return item if isinstance(item, Issue) else None


def _comment_payload(ctx: Ctx, repo: Repository, item: Issue, comment: IssueComment) -> JSON:
    pin = ctx.server.comment_pins.get(comment.id)
    return p.issue_comment(ctx.urls, ctx.world, repo, item, comment, pin)


@route("GET", "/repos/{owner}/{name}/issues/{number}/comments")
def list_comments(ctx: Ctx, owner: str, name: str, number: str) -> Response:
    repo = ctx.repo(owner, name)
    item = _real_issue(repo, _int(number))
    if item is None:
        return Response(200, [])
    comments = list(item.comments)
    if ctx.query.get("since"):
        since = parse_time(ctx.query["since"])
        comments = [c for c in comments if aware(c.updated_at) >= since]
    comments.sort(key=lambda c: (aware(c.created_at), c.id))
    page, headers = paginate(ctx, comments)
    return Response(200, [_comment_payload(ctx, repo, item, c) for c in page], headers)


@route("POST", "/repos/{owner}/{name}/issues/{number}/comments")
def create_comment(ctx: Ctx, owner: str, name: str, number: str) -> Response:
    repo = ctx.repo(owner, name)
    found = _find_issue(repo, _int(number))
    if isinstance(found, Issue) and found.locked and not ctx.token.can_write("issues"):
        # Collaborators (and tokens with issues: write) may still comment on locked issues.
        raise HttpError(403, "Unable to create comment because issue is locked.")
    ctx.require("issues", repo)
    if not isinstance(found, Issue):
        raise HttpError(422, "Validation Failed")
    body = _body_text(ctx, required=True) or ""
    now = ctx.world.now
    comment = IssueComment(
        id=ctx.world.new_id(), author=ctx.token.login, body=body, created_at=now, updated_at=now
    )
    found.comments.append(comment)
    found.updated_at = now
    payload = _comment_payload(ctx, repo, found, comment)
    return Response(201, payload, {"Location": payload["url"]})


def _find_comment(repo: Repository, comment_id: str) -> tuple[Issue, IssueComment]:
    wanted = _int(comment_id)
    for item in repo.issues:
        if item.deleted:
            continue
        for comment in item.comments:
            if comment.id == wanted:
                return item, comment
    raise HttpError(404, "Not Found")


@route("GET", "/repos/{owner}/{name}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx, owner: str, name: str, comment_id: str) -> Response:
    repo = ctx.repo(owner, name)
    item, comment = _find_comment(repo, comment_id)
    return Response(200, _comment_payload(ctx, repo, item, comment))


@route("PATCH", "/repos/{owner}/{name}/issues/comments/{comment_id}")
def edit_comment(ctx: Ctx, owner: str, name: str, comment_id: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("issues", repo)
    item, comment = _find_comment(repo, comment_id)
    comment.body = _body_text(ctx, required=True) or ""
    comment.updated_at = ctx.world.now
    return Response(200, _comment_payload(ctx, repo, item, comment))


@route("PUT", "/repos/{owner}/{name}/issues/comments/{comment_id}/pin")
def pin_comment(ctx: Ctx, owner: str, name: str, comment_id: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("issues", repo)
    item, comment = _find_comment(repo, comment_id)
    if not comment.pinned:
        # One pinned comment per issue: pinning another replaces it.
        for other in item.comments:
            other.pinned = False
        comment.pinned = True
        ctx.server.comment_pins[comment.id] = p.PinInfo(at=ctx.world.now, by=ctx.token.login)
    return Response(200, _comment_payload(ctx, repo, item, comment))


@route("DELETE", "/repos/{owner}/{name}/issues/comments/{comment_id}/pin")
def unpin_comment(ctx: Ctx, owner: str, name: str, comment_id: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("issues", repo)
    _, comment = _find_comment(repo, comment_id)
    comment.pinned = False
    ctx.server.comment_pins.pop(comment.id, None)
    return Response(204)


# -- git objects ------------------------------------------------------------------------------


def git_hash(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


def store_blob(repo: Repository, content: bytes) -> GitBlob:
    sha = git_hash("blob", content)
    blob = repo.blobs.get(sha)
    if blob is None:
        blob = repo.blobs[sha] = GitBlob(sha=sha, content=content)
    return blob


def _tree_sort_key(entry: GitTreeEntry) -> bytes:
    # Git orders a subtree as if its name ended with "/".
    return (entry.path + ("/" if entry.type == "tree" else "")).encode()


def store_tree(repo: Repository, entries: list[GitTreeEntry]) -> GitTree:
    ordered = sorted(entries, key=_tree_sort_key)
    data = b"".join(
        f"{e.mode.lstrip('0')} {e.path}\0".encode() + bytes.fromhex(e.sha) for e in ordered
    )
    sha = git_hash("tree", data)
    tree = repo.trees.get(sha)
    if tree is None:
        tree = repo.trees[sha] = GitTree(sha=sha, entries=ordered)
    return tree


def tree_of(repo: Repository, sha: str) -> GitTree | None:
    if sha == EMPTY_TREE:
        return repo.trees.get(sha) or GitTree(sha=EMPTY_TREE, entries=[])
    return repo.trees.get(sha)


def commit_tree(repo: Repository, commit: Commit) -> str:
    """Commits from the dataset carry no tree; they are served as having an empty one."""
    return commit.tree or EMPTY_TREE


class _Dir:
    """A tree being edited: entries as stored plus subtrees opened for changes."""

    def __init__(self, repo: Repository, sha: str | None) -> None:
        self.repo = repo
        base = tree_of(repo, sha) if sha else None
        self.entries: dict[str, GitTreeEntry] = {e.path: e for e in (base.entries if base else [])}
        self.children: dict[str, _Dir] = {}

    def set(self, parts: list[str], entry: GitTreeEntry | None) -> None:
        name = parts[0]
        if len(parts) == 1:
            self.children.pop(name, None)
            if entry is None:
                self.entries.pop(name, None)
            else:
                self.entries[name] = entry
            return
        child = self.children.get(name)
        if child is None:
            existing = self.entries.get(name)
            child = _Dir(self.repo, existing.sha if existing and existing.type == "tree" else None)
            self.children[name] = child
        child.set(parts[1:], entry)

    def write(self) -> str | None:
        """Stores this tree and returns its sha; None when it ended up empty (git drops it)."""
        for name, child in self.children.items():
            sha = child.write()
            if sha is None:
                self.entries.pop(name, None)
            else:
                self.entries[name] = GitTreeEntry(path=name, mode="040000", type="tree", sha=sha)
        self.children = {}
        if not self.entries:
            return None
        return store_tree(self.repo, list(self.entries.values())).sha


def _tree_payload(ctx: Ctx, repo: Repository, tree: GitTree, recursive: bool) -> JSON:
    api = ctx.urls.repo_api(repo)
    rows: list[JSON] = []

    def walk(current: GitTree, prefix: str) -> None:
        for entry in current.entries:
            row: JSON = {
                "path": prefix + entry.path,
                "mode": entry.mode,
                "type": entry.type,
                "sha": entry.sha,
            }
            if entry.type == "blob":
                blob = repo.blobs.get(entry.sha)
                row["size"] = len(blob.content) if blob else 0
                row["url"] = f"{api}/git/blobs/{entry.sha}"
            else:
                row["url"] = f"{api}/git/trees/{entry.sha}"
            rows.append(row)
            if recursive and entry.type == "tree":
                sub = tree_of(repo, entry.sha)
                if sub is not None:
                    walk(sub, f"{prefix}{entry.path}/")

    walk(tree, "")
    return {"sha": tree.sha, "url": f"{api}/git/trees/{tree.sha}", "tree": rows, "truncated": False}


@route("POST", "/repos/{owner}/{name}/git/blobs")
def create_blob(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("contents", repo)
    content = ctx.field("content", str, required=True)
    encoding = ctx.field("encoding", str) or "utf-8"
    if encoding == "base64":
        try:
            data = base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise HttpError(422, "Validation Failed") from None
    elif encoding in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise HttpError(422, f"encoding must be either 'utf-8' or 'base64', not {encoding!r}")
    blob = store_blob(repo, data)
    url = f"{ctx.urls.repo_api(repo)}/git/blobs/{blob.sha}"
    return Response(201, {"sha": blob.sha, "url": url}, {"Location": url})


@route("GET", "/repos/{owner}/{name}/git/blobs/{sha}")
def get_blob(ctx: Ctx, owner: str, name: str, sha: str) -> Response:
    repo = ctx.repo(owner, name)
    blob = repo.blobs.get(sha)
    if blob is None:
        raise HttpError(404, "Not Found")
    encoded = base64.encodebytes(blob.content).decode()
    return Response(
        200,
        {
            "sha": blob.sha,
            "node_id": p.node_id("Blob", f"{repo.id}:{blob.sha}"),
            "size": len(blob.content),
            "url": f"{ctx.urls.repo_api(repo)}/git/blobs/{blob.sha}",
            "content": encoded,
            "encoding": "base64",
        },
    )


@route("POST", "/repos/{owner}/{name}/git/trees")
def create_tree(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("contents", repo)
    entries = ctx.field("tree", list, required=True)
    base_sha = ctx.field("base_tree", str)
    if base_sha is not None and tree_of(repo, base_sha) is None:
        raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
    root = _Dir(repo, base_sha)
    for raw in entries:
        if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
            raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
        path = raw["path"].strip("/")
        mode = raw.get("mode", "100644")
        kind = raw.get("type", "blob")
        # Submodules (type "commit") are not modelled by the world.
        if mode not in ("100644", "100755", "040000", "120000") or kind not in ("blob", "tree"):
            raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
        if "content" in raw and raw.get("sha") is not None:
            raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
        parts = [x for x in path.split("/") if x]
        if not parts:
            raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
        if "content" in raw:
            if not isinstance(raw["content"], str):
                raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
            entry_sha = store_blob(repo, raw["content"].encode()).sha
        elif "sha" in raw and raw["sha"] is None:
            root.set(parts, None)
            continue
        else:
            given = raw.get("sha")
            if not isinstance(given, str):
                raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
            known = repo.blobs.get(given) if kind == "blob" else tree_of(repo, given)
            if known is None:
                raise HttpError(422, "Invalid tree info", "/git/trees#create-a-tree")
            entry_sha = given
        root.set(parts, GitTreeEntry(path=parts[-1], mode=mode, type=kind, sha=entry_sha))
    root_sha = root.write()
    tree = tree_of(repo, root_sha) if root_sha else store_tree(repo, [])
    assert tree is not None
    payload = _tree_payload(ctx, repo, tree, recursive=False)
    return Response(201, payload, {"Location": payload["url"]})


def _resolve_commitish(repo: Repository, name: str) -> Commit | None:
    for candidate in (name, name.removeprefix("refs/")):
        for ref in (candidate, f"heads/{candidate}", f"tags/{candidate}"):
            oid = repo.refs.get(ref)
            if oid is not None:
                oid = repo.tag_objects.get(oid, (oid, None))[0]
                return repo.commits.get(oid)
    return repo.commits.get(name)


@route("GET", "/repos/{owner}/{name}/git/trees/{sha}")
def get_tree(ctx: Ctx, owner: str, name: str, sha: str) -> Response:
    repo = ctx.repo(owner, name)
    tree = tree_of(repo, sha)
    if tree is None:
        commit = _resolve_commitish(repo, sha)
        tree = tree_of(repo, commit_tree(repo, commit)) if commit else None
    if tree is None:
        raise HttpError(404, "Not Found", "/git/trees#get-a-tree")
    recursive = ctx.query.get("recursive", "") not in ("", "0", "false")
    return Response(200, _tree_payload(ctx, repo, tree, recursive))


def _identity(ctx: Ctx, raw: Any, fallback: JSON | None) -> JSON:
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        email = raw.get("email")
        date = raw.get("date")
        return {
            "name": raw["name"],
            "email": email if isinstance(email, str) else "",
            "date": parse_time(date) if isinstance(date, str) else ctx.world.now,
        }
    if fallback is not None:
        return dict(fallback)
    user = p.resolve_user(ctx.world, ctx.token.login)
    return {
        "name": user.login,
        "email": f"{user.id}+{user.login}@users.noreply.github.com",
        "date": ctx.world.now,
    }


def _git_time(value: datetime) -> str:
    return f"{int(aware(value).timestamp())} +0000"


def _commit_identities(ctx: Ctx, repo: Repository, commit: Commit) -> JSON:
    known = ctx.server.commit_identities.get(commit.oid)
    if known is not None:
        return known
    user = p.resolve_user(ctx.world, commit.author)
    email = f"{user.id}+{user.login}@users.noreply.github.com"
    return {
        "author": {"name": user.login, "email": email, "date": commit.authored_at},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "date": commit.committed_at},
        "verified": False,
    }


def _commit_payload(ctx: Ctx, repo: Repository, commit: Commit) -> JSON:
    api = ctx.urls.repo_api(repo)
    ids = _commit_identities(ctx, repo, commit)
    verified = bool(ids["verified"])

    def person(raw: JSON) -> JSON:
        return {"name": raw["name"], "email": raw["email"], "date": iso(raw["date"])}

    tree = commit_tree(repo, commit)
    return {
        "sha": commit.oid,
        "node_id": p.node_id("Commit", f"{repo.id}:{commit.oid}"),
        "url": f"{api}/git/commits/{commit.oid}",
        "html_url": f"{ctx.urls.repo_html(repo)}/commit/{commit.oid}",
        "author": person(ids["author"]),
        "committer": person(ids["committer"]),
        "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
        "message": commit.message,
        "parents": [
            {
                "sha": parent,
                "url": f"{api}/git/commits/{parent}",
                "html_url": f"{ctx.urls.repo_html(repo)}/commit/{parent}",
            }
            for parent in commit.parents
        ],
        "verification": {
            "verified": verified,
            "reason": "valid" if verified else "unsigned",
            "signature": "-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"
            if verified
            else None,
            "payload": None,
            "verified_at": iso(ctx.world.now) if verified else None,
        },
    }


@route("POST", "/repos/{owner}/{name}/git/commits")
def create_commit(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("contents", repo)
    message = ctx.field("message", str, required=True)
    tree_sha = ctx.field("tree", str, required=True)
    parents = ctx.field("parents", list) or []
    if tree_of(repo, tree_sha) is None:
        raise HttpError(422, "Tree SHA does not exist", "/git/commits#create-a-commit")
    for parent in parents:
        if not isinstance(parent, str) or parent not in repo.commits:
            raise HttpError(
                422, "Parent SHA does not exist or is not a commit object", "/git/commits"
            )
    raw_author = ctx.field("author", dict)
    author = _identity(ctx, raw_author, None)
    committer = _identity(ctx, ctx.field("committer", dict), author)
    # GitHub signs commits it authors itself (no custom author) for app tokens.
    verified = raw_author is None and ctx.token.kind != "pat"
    lines = [f"tree {tree_sha}"]
    lines += [f"parent {parent}" for parent in parents]
    lines.append(f"author {author['name']} <{author['email']}> {_git_time(author['date'])}")
    lines.append(
        f"committer {committer['name']} <{committer['email']}> {_git_time(committer['date'])}"
    )
    data = ("\n".join(lines) + "\n\n" + message).encode()
    oid = git_hash("commit", data)
    login = ctx.token.login if raw_author is None else _login_for_email(ctx, author["email"])
    commit = repo.commits.get(oid)
    if commit is None:
        commit = Commit(
            oid=oid,
            message=message,
            authored_at=author["date"],
            committed_at=committer["date"],
            author=login,
            parents=list(parents),
            tree=tree_sha,
        )
        repo.commits[oid] = commit
    ctx.server.commit_identities[oid] = {
        "author": author,
        "committer": committer,
        "verified": verified,
    }
    payload = _commit_payload(ctx, repo, commit)
    return Response(201, payload, {"Location": payload["url"]})


def _login_for_email(ctx: Ctx, email: str) -> str | None:
    local = email.partition("@")[0]
    login = local.partition("+")[2] if "+" in local else local
    return login if login in ctx.world.users else None


@route("GET", "/repos/{owner}/{name}/git/commits/{sha}")
def get_commit(ctx: Ctx, owner: str, name: str, sha: str) -> Response:
    repo = ctx.repo(owner, name)
    commit = repo.commits.get(sha)
    if commit is None:
        raise HttpError(404, "Not Found", "/git/commits#get-a-commit-object")
    return Response(200, _commit_payload(ctx, repo, commit))


# -- refs -------------------------------------------------------------------------------------


def is_ancestor(repo: Repository, ancestor: str, descendant: str) -> bool:
    seen: set[str] = set()
    stack = [descendant]
    while stack:
        oid = stack.pop()
        if oid == ancestor:
            return True
        if oid in seen:
            continue
        seen.add(oid)
        commit = repo.commits.get(oid)
        if commit is not None:
            stack.extend(commit.parents)
    return False


def _ref_key(raw: str) -> str:
    return raw.removeprefix("refs/").strip("/")


@route("GET", "/repos/{owner}/{name}/git/ref/{ref+}")
@route("GET", "/repos/{owner}/{name}/git/refs/{ref+}")
def get_ref(ctx: Ctx, owner: str, name: str, ref: str) -> Response:
    repo = ctx.repo(owner, name)
    key = _ref_key(ref)
    sha = repo.refs.get(key)
    if sha is None:
        raise HttpError(404, "Not Found", "/git/refs#get-a-reference")
    return Response(200, p.git_ref(ctx.urls, repo, key, sha))


@route("GET", "/repos/{owner}/{name}/git/matching-refs/{ref*}")
def matching_refs(ctx: Ctx, owner: str, name: str, ref: str) -> Response:
    repo = ctx.repo(owner, name)
    prefix = _ref_key(ref)
    found = sorted(k for k in repo.refs if k.startswith(prefix))
    page, headers = paginate(ctx, found)
    return Response(200, [p.git_ref(ctx.urls, repo, k, repo.refs[k]) for k in page], headers)


@route("POST", "/repos/{owner}/{name}/git/refs")
def create_ref(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("contents", repo)
    raw_ref = ctx.field("ref", str, required=True)
    sha = ctx.field("sha", str, required=True)
    if not raw_ref.startswith("refs/") or raw_ref.count("/") < 2:
        raise HttpError(422, f"{raw_ref} is not a valid ref name.", "/git/refs#create-a-reference")
    key = _ref_key(raw_ref)
    if key in repo.refs:
        raise HttpError(422, "Reference already exists", "/git/refs#create-a-reference")
    if sha not in repo.commits and sha not in repo.tag_objects:
        raise HttpError(422, "Object does not exist", "/git/refs#create-a-reference")
    repo.refs[key] = sha
    repo.ref_log.append(RefUpdate(ref=key, old=None, new=sha, forced=False, at=ctx.world.now))
    payload = p.git_ref(ctx.urls, repo, key, sha)
    return Response(201, payload, {"Location": payload["url"]})


@route("PATCH", "/repos/{owner}/{name}/git/refs/{ref+}")
def update_ref(ctx: Ctx, owner: str, name: str, ref: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("contents", repo)
    sha = ctx.field("sha", str, required=True)
    force = ctx.field("force", bool) or False
    key = _ref_key(ref)
    old = repo.refs.get(key)
    if old is None:
        raise HttpError(422, "Reference does not exist", "/git/refs#update-a-reference")
    if sha not in repo.commits:
        raise HttpError(422, "Object does not exist", "/git/refs#update-a-reference")
    fast_forward = is_ancestor(repo, old, sha)
    if not force and not fast_forward:
        raise HttpError(422, "Update is not a fast forward", "/git/refs#update-a-reference")
    if old != sha:
        repo.refs[key] = sha
        repo.ref_log.append(
            RefUpdate(ref=key, old=old, new=sha, forced=not fast_forward, at=ctx.world.now)
        )
    return Response(200, p.git_ref(ctx.urls, repo, key, sha))


@route("DELETE", "/repos/{owner}/{name}/git/refs/{ref+}")
def delete_ref(ctx: Ctx, owner: str, name: str, ref: str) -> Response:
    repo = ctx.repo(owner, name)
    ctx.require("contents", repo)
    key = _ref_key(ref)
    if repo.refs.pop(key, None) is None:
        raise HttpError(422, "Reference does not exist", "/git/refs#delete-a-reference")
    return Response(204)


# -- contents ---------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{name}/contents")
@route("GET", "/repos/{owner}/{name}/contents/{path*}")
def get_contents(ctx: Ctx, owner: str, name: str, path: str = "") -> Response:
    repo = ctx.repo(owner, name)
    ref = ctx.query.get("ref") or repo.default_branch
    commit = _resolve_commitish(repo, ref)
    if commit is None:
        raise HttpError(404, f"No commit found for the ref {ref}", "/repos/contents")
    tree = tree_of(repo, commit_tree(repo, commit))
    parts = [x for x in path.strip("/").split("/") if x]
    entry: GitTreeEntry | None = None
    for index, part in enumerate(parts):
        if tree is None:
            break
        entry = next((e for e in tree.entries if e.path == part), None)
        if entry is None:
            tree = None
            break
        if entry.type == "tree":
            tree = tree_of(repo, entry.sha)
        elif index != len(parts) - 1:
            tree = None
            break
    if tree is None and (entry is None or entry.type != "blob"):
        raise HttpError(404, "Not Found", "/repos/contents#get-repository-content")
    api = ctx.urls.repo_api(repo)
    html = ctx.urls.repo_html(repo)

    def item(full: str, e: GitTreeEntry) -> JSON:
        blob = repo.blobs.get(e.sha) if e.type == "blob" else None
        kind = "file" if e.type == "blob" else "dir"
        git_url = f"{api}/git/{'blobs' if kind == 'file' else 'trees'}/{e.sha}"
        self_url = f"{api}/contents/{full}?{urlencode({'ref': ref})}"
        html_url = f"{html}/{'blob' if kind == 'file' else 'tree'}/{ref}/{full}"
        return {
            "type": kind,
            "size": len(blob.content) if blob else 0,
            "name": e.path,
            "path": full,
            "sha": e.sha,
            "url": self_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": f"{html}/raw/{ref}/{full}" if kind == "file" else None,
            "_links": {"self": self_url, "git": git_url, "html": html_url},
        }

    full_path = "/".join(parts)
    if entry is not None and entry.type == "blob":
        blob = repo.blobs.get(entry.sha)
        payload = item(full_path, entry)
        payload["encoding"] = "base64"
        payload["content"] = base64.encodebytes(blob.content if blob else b"").decode()
        return Response(200, payload)
    assert tree is not None
    prefix = f"{full_path}/" if full_path else ""
    return Response(200, [item(prefix + e.path, e) for e in tree.entries])


# -- pull requests and deployments (read-only) --------------------------------------------------


def _pull(repo: Repository, number: str) -> PullRequest:
    wanted = _int(number)
    for pr in repo.pull_requests:
        if pr.number == wanted:
            return pr
    raise HttpError(404, "Not Found", "/pulls/pulls#get-a-pull-request")


@route("GET", "/repos/{owner}/{name}/pulls")
def list_pulls(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    q = ctx.query
    state = q.get("state", "open")
    if state not in ("open", "closed", "all"):
        raise HttpError(422, "Validation Failed")
    items = [pr for pr in repo.pull_requests if state == "all" or pr.state == state]
    if q.get("base"):
        items = [pr for pr in items if pr.base_ref == q["base"]]
    sort = q.get("sort", "created")
    default_direction = "desc" if sort in ("updated", "popularity", "long-running") else "asc"
    if sort == "created" and "direction" not in q:
        default_direction = "desc"
    descending = q.get("direction", default_direction) == "desc"
    field = "updated_at" if sort == "updated" else "created_at"
    items.sort(key=lambda pr: (aware(getattr(pr, field)), pr.number), reverse=descending)
    page, headers = paginate(ctx, items)
    body = [p.pull_request(ctx.urls, ctx.world, repo, pr, full=False) for pr in page]
    return Response(200, body, headers)


@route("GET", "/repos/{owner}/{name}/pulls/{number}")
def get_pull(ctx: Ctx, owner: str, name: str, number: str) -> Response:
    repo = ctx.repo(owner, name)
    pr = _pull(repo, number)
    return Response(200, p.pull_request(ctx.urls, ctx.world, repo, pr, full=True))


@route("GET", "/repos/{owner}/{name}/pulls/{number}/reviews")
def list_reviews(ctx: Ctx, owner: str, name: str, number: str) -> Response:
    repo = ctx.repo(owner, name)
    pr = _pull(repo, number)
    reviews = sorted(pr.reviews, key=lambda r: (aware(r.submitted_at), r.id))
    page, headers = paginate(ctx, reviews)
    return Response(200, [p.review(ctx.urls, ctx.world, repo, pr, r) for r in page], headers)


@route("GET", "/repos/{owner}/{name}/pulls/{number}/commits")
def list_pull_commits(ctx: Ctx, owner: str, name: str, number: str) -> Response:
    repo = ctx.repo(owner, name)
    pr = _pull(repo, number)
    commits = [repo.commits[oid] for oid in pr.commits if oid in repo.commits]
    page, headers = paginate(ctx, commits)
    api = ctx.urls.repo_api(repo)
    body = []
    for commit in page:
        git = _commit_payload(ctx, repo, commit)
        body.append(
            {
                "url": f"{api}/commits/{commit.oid}",
                "sha": commit.oid,
                "node_id": git["node_id"],
                "html_url": git["html_url"],
                "comments_url": f"{api}/commits/{commit.oid}/comments",
                "commit": {
                    "url": git["url"],
                    "author": git["author"],
                    "committer": git["committer"],
                    "message": commit.message,
                    "comment_count": 0,
                    "tree": git["tree"],
                    "verification": git["verification"],
                },
                "author": p.simple_user(ctx.urls, ctx.world, commit.author)
                if commit.author
                else None,
                "committer": None,
                "parents": git["parents"],
            }
        )
    return Response(200, body, headers)


def _deployment(repo: Repository, deployment_id: str) -> Deployment:
    wanted = _int(deployment_id)
    for deployment in repo.deployments:
        if deployment.id == wanted:
            return deployment
    raise HttpError(404, "Not Found", "/deployments/deployments#get-a-deployment")


@route("GET", "/repos/{owner}/{name}/deployments")
def list_deployments(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    q = ctx.query
    items = list(repo.deployments)
    for key in ("sha", "ref", "task", "environment"):
        if q.get(key):
            items = [d for d in items if getattr(d, key) == q[key]]
    # Newest first, as GitHub lists them.
    items.sort(key=lambda d: (aware(d.created_at), d.id), reverse=True)
    page, headers = paginate(ctx, items)
    return Response(200, [p.deployment(ctx.urls, ctx.world, repo, d) for d in page], headers)


@route("GET", "/repos/{owner}/{name}/deployments/{deployment_id}/statuses")
def list_deployment_statuses(ctx: Ctx, owner: str, name: str, deployment_id: str) -> Response:
    repo = ctx.repo(owner, name)
    deployment = _deployment(repo, deployment_id)
    statuses = sorted(deployment.statuses, key=lambda s: (aware(s.created_at), s.id), reverse=True)
    page, headers = paginate(ctx, statuses)
    body = [p.deployment_status(ctx.urls, ctx.world, repo, deployment, s) for s in page]
    return Response(200, body, headers)


def _require_actions_read(ctx: Ctx) -> None:
    """A workflow token reads runs only with ``actions: read`` (a PAT with no table: all)."""
    token = ctx.token
    if token.kind == "workflow" and token.permissions.get("actions") not in ("read", "write"):
        raise HttpError(403, NOT_ACCESSIBLE, "/actions/workflow-runs")


def _workflow(repo: Repository, key: str) -> Workflow:
    """A workflow by id or by file name, as GitHub accepts either in the path."""
    for flow in repo.workflows:
        if key == str(flow.id) or key == flow.path.rsplit("/", 1)[-1]:
            return flow
    raise HttpError(404, "Not Found", "/actions/workflows#get-a-workflow")


@route("GET", "/repos/{owner}/{name}/actions/workflows")
def list_workflows(ctx: Ctx, owner: str, name: str) -> Response:
    repo = ctx.repo(owner, name)
    _require_actions_read(ctx)
    flows = sorted(repo.workflows, key=lambda f: f.id)
    page, headers = paginate(ctx, flows)
    body = {"total_count": len(flows), "workflows": [p.workflow(ctx.urls, repo, f) for f in page]}
    return Response(200, body, headers)


@route("GET", "/repos/{owner}/{name}/actions/workflows/{workflow_id}/runs")
def list_workflow_runs(ctx: Ctx, owner: str, name: str, workflow_id: str) -> Response:
    repo = ctx.repo(owner, name)
    _require_actions_read(ctx)
    flow = _workflow(repo, workflow_id)
    # The list shows each run once, as its latest attempt.
    latest: dict[int, WorkflowRun] = {}
    for run in repo.workflow_runs:
        if run.workflow_id == flow.id and run.attempt >= latest.get(run.id, run).attempt:
            latest[run.id] = run
    q = ctx.query
    runs = list(latest.values())
    if q.get("branch"):
        runs = [r for r in runs if r.head_branch == q["branch"]]
    if q.get("event"):
        runs = [r for r in runs if r.event == q["event"]]
    status = q.get("status")
    if status in ("completed", "in_progress", "queued"):
        runs = [r for r in runs if r.status == status]
    elif status:
        runs = [r for r in runs if r.conclusion == status]
    # Newest first, as GitHub lists runs.
    runs.sort(key=lambda r: (aware(r.created_at), r.id), reverse=True)
    page, headers = paginate(ctx, runs)
    body = {
        "total_count": len(runs),
        "workflow_runs": [p.workflow_run(ctx.urls, ctx.world, repo, flow, r) for r in page],
    }
    return Response(200, body, headers)
