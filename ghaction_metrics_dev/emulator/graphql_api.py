"""The GraphQL side of the emulator: GitHub's pagination rules, cost accounting and resolvers.

Documents are executed by graphql-core against ``schema.graphql``, a subset of GitHub's public
schema. Before execution every connection is checked the way GitHub checks it (``first`` or
``last`` between 1 and 100, at most 500,000 nodes) and the query's cost is computed as GitHub
documents it, so a client that would be rejected or throttled by GitHub is here too.
"""

from __future__ import annotations

import base64
import heapq
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, cast

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    assert_valid_schema,
    build_schema,
    execute_sync,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.collect_fields import should_include_node
from graphql.execution.values import get_argument_values, get_variable_values

from ghaction_metrics_dev.emulator import payloads as p
from ghaction_metrics_dev.emulator.payloads import JSON, aware, bare_login, iso, parse_time
from ghaction_metrics_dev.emulator.state import Response, ServerState, TokenInfo
from ghaction_metrics_dev.emulator.world import (
    Commit,
    Deployment,
    Issue,
    PullRequest,
    Release,
    Repository,
    User,
    World,
)

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
MAX_PAGE = 100
MAX_NODES = 500_000


@cache
def schema() -> GraphQLSchema:
    built = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    # Fail on first use rather than on every request if the SDL is inconsistent.
    assert_valid_schema(built)
    return built


class GitHubError(Exception):
    """An error GitHub reports with a ``type`` (NOT_FOUND, FORBIDDEN, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# -- cost and pagination rules ----------------------------------------------------------------


@dataclass
class Analysis:
    requests: int = 0
    nodes: int = 0
    dry_run: bool = False
    errors: list[JSON] = field(default_factory=list)

    @property
    def cost(self) -> int:
        # GitHub: requests needed (full pages assumed) divided by 100, rounded, at least 1.
        return max(1, math.floor(self.requests / 100 + 0.5))


def _selects_items(
    selection: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    """Whether a connection's selection reads its items (``nodes``/``edges``).

    GitHub lets a connection go without ``first``/``last`` when only ``totalCount`` or
    ``pageInfo`` is read.
    """
    if selection is None:
        return False
    for sel in selection.selections:
        if isinstance(sel, FieldNode) and sel.name.value in ("nodes", "edges"):
            return True
        if isinstance(sel, InlineFragmentNode) and _selects_items(sel.selection_set, fragments):
            return True
        if isinstance(sel, FragmentSpreadNode):
            frag = fragments.get(sel.name.value)
            if frag is not None and _selects_items(frag.selection_set, fragments):
                return True
    return False


def analyse(
    gql_schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> Analysis:
    result = Analysis()
    root = (
        gql_schema.mutation_type
        if operation.operation.value == "mutation"
        else gql_schema.query_type
    )
    assert root is not None

    def walk(selection: SelectionSetNode, parent: Any, multiplier: int, path: list[str]) -> None:
        for sel in selection.selections:
            # A field or fragment left out by @include/@skip is neither fetched nor charged.
            selectable = isinstance(sel, FieldNode | InlineFragmentNode | FragmentSpreadNode)
            if selectable and not should_include_node(variables, cast(Any, sel)):
                continue
            if isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = gql_schema.get_type(cond.name.value) if cond else parent
                walk(sel.selection_set, target, multiplier, path)
                continue
            if isinstance(sel, FragmentSpreadNode):
                frag = fragments[sel.name.value]
                target = gql_schema.get_type(frag.type_condition.name.value)
                walk(frag.selection_set, target, multiplier, path)
                continue
            assert isinstance(sel, FieldNode)
            name = sel.name.value
            if name.startswith("__") or not isinstance(
                parent, GraphQLObjectType | GraphQLInterfaceType
            ):
                continue
            definition = parent.fields[name]
            args = get_argument_values(definition, sel, variables)
            here = [*path, (sel.alias or sel.name).value]
            if name == "rateLimit" and args.get("dryRun"):
                result.dry_run = True
            returned = get_named_type(definition.type)
            child = multiplier
            # A connection read only for totalCount/pageInfo costs nothing: GitHub reports
            # cost 1 for 100 nodes each counting two such connections.
            if returned.name.endswith("Connection"):
                first, last = args.get("first"), args.get("last")
                if _selects_items(sel.selection_set, fragments):
                    result.requests += multiplier
                    location = (
                        {"line": sel.loc.start_token.line, "column": sel.loc.start_token.column}
                        if sel.loc
                        else None
                    )
                    error = _pagination_error(name, first, last)
                    if error is not None:
                        error_type, message = error
                        result.errors.append(
                            {
                                "type": error_type,
                                "path": here,
                                "locations": [location] if location else [],
                                "message": message,
                            }
                        )
                        continue
                    size = max(first or 0, last or 0)
                    result.nodes += multiplier * size
                    child = multiplier * size
            if sel.selection_set is not None:
                walk(sel.selection_set, returned, child, here)

    walk(operation.selection_set, root, 1, [])
    if not result.errors and result.nodes > MAX_NODES:
        result.errors.append(
            {
                "type": "MAX_NODE_LIMIT_EXCEEDED",
                "message": f"This query requests up to {result.nodes:,} possible nodes which "
                f"exceeds the maximum limit of {MAX_NODES:,}.",
            }
        )
    return result


def _pagination_error(name: str, first: int | None, last: int | None) -> tuple[str, str] | None:
    if first is None and last is None:
        return (
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the `{name}` "
            "connection.",
        )
    for arg, value in (("first", first), ("last", last)):
        if value is None:
            continue
        if value > MAX_PAGE:
            return (
                "EXCESSIVE_PAGINATION",
                f"Requesting {value} records on the `{name}` connection exceeds the `{arg}` "
                f"limit of {MAX_PAGE} records.",
            )
        if value < 1:
            return (
                "INVALID_PAGINATION",
                f"`{arg}` on the `{name}` connection must be between 1 and {MAX_PAGE}.",
            )
    return None


# -- request handling -------------------------------------------------------------------------


@dataclass
class GqlContext:
    server: ServerState
    token: TokenInfo
    analysis: Analysis
    prs_by_commit: dict[str, dict[str, list[PullRequest]]] = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.server.world

    @property
    def base(self) -> str:
        return self.server.url


def _error_response(errors: list[JSON], status: int = 200) -> Response:
    return Response(status, {"errors": errors}, graphql_cost=0)


def handle(server: ServerState, method: str, headers: dict[str, str], raw: bytes) -> Response:
    token = server.authenticate(headers)
    if method != "POST":
        return Response(404, p.error("Not Found", 404))
    if token is None or token is False:
        message = "This endpoint requires you to be authenticated."
        if token is False:
            message = "Bad credentials"
        return Response(401, {"message": message, "documentation_url": f"{p.DOCS}/graphql"})
    response = _run(server, token, raw)
    response.headers.update(server.rate_headers(server.graphql_bucket(token), "graphql"))
    return response


def _run(server: ServerState, token: TokenInfo, raw: bytes) -> Response:
    try:
        request = json.loads(raw or b"{}")
    except ValueError:
        return Response(400, {"message": "Problems parsing JSON", "documentation_url": p.DOCS})
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return _error_response(
            [{"message": "A query attribute must be specified and must be a string."}]
        )
    variables = request.get("variables") or {}
    operation_name = request.get("operationName")
    try:
        document = parse(request["query"])
    except GraphQLError as exc:
        return _error_response([_format_error(exc)])
    gql_schema = schema()
    problems = validate(gql_schema, document)
    if problems:
        return _error_response([_format_error(e) for e in problems])
    operation = _pick_operation(document, operation_name)
    if operation is None:
        return _error_response([{"message": "An operation name is required"}])
    coerced = get_variable_values(gql_schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return _error_response([_format_error(e) for e in coerced])
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    analysis = analyse(gql_schema, operation, fragments, coerced)
    if analysis.errors:
        return _error_response(analysis.errors)
    bucket = server.graphql_bucket(token)
    cost = 0 if analysis.dry_run else analysis.cost
    if cost > bucket.remaining:
        return _error_response(
            [
                {
                    "type": "RATE_LIMITED",
                    "message": f"API rate limit already exceeded for user ID {token.login}.",
                }
            ]
        )
    bucket.remaining -= cost
    context = GqlContext(server, token, analysis)
    result = execute_sync(
        gql_schema,
        document,
        root_value=_root(context),
        context_value=context,
        variable_values=variables,
        operation_name=operation_name,
    )
    body: JSON = {"data": result.data}
    errors = result.errors
    if errors:
        body["errors"] = [_format_error(e) for e in errors]
    return Response(200, body, graphql_cost=cost)


def _pick_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        return next((o for o in operations if o.name and o.name.value == name), None)
    return operations[0] if len(operations) == 1 else None


def _format_error(error: GraphQLError) -> JSON:
    entry: JSON = {}
    original = error.original_error
    if isinstance(original, GitHubError):
        entry["type"] = original.kind
    if error.path:
        entry["path"] = list(error.path)
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    entry["message"] = error.message
    return entry


# -- connections ------------------------------------------------------------------------------


def _cursor(key: object) -> str:
    return base64.b64encode(f"cursor:v2:{key}".encode()).decode()


def _cursor_key(cursor: str) -> str:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    if not text.startswith("cursor:v2:"):
        raise GitHubError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        )
    return text[len("cursor:v2:") :]


def connection(
    items: list[Any],
    key: Callable[[Any], object],
    to_node: Callable[[Any], Any],
    args: dict[str, Any],
) -> JSON:
    """A Relay connection over ``items``, sliced by first/last/after/before like GitHub."""
    keys = [str(key(item)) for item in items]
    start, end = 0, len(items)
    if args.get("after") is not None:
        wanted = _cursor_key(args["after"])
        start = keys.index(wanted) + 1 if wanted in keys else len(items)
    if args.get("before") is not None:
        wanted = _cursor_key(args["before"])
        end = keys.index(wanted) if wanted in keys else end
    end = max(start, end)
    if args.get("first") is not None:
        end = min(end, start + args["first"])
    if args.get("last") is not None:
        start = max(start, end - args["last"])
    window = list(range(start, end))
    built: dict[int, Any] = {}

    def node_at(index: int) -> Any:
        if index not in built:
            built[index] = to_node(items[index])
        return built[index]

    return {
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(keys[start]) if window else None,
            "endCursor": _cursor(keys[end - 1]) if window else None,
        },
        "nodes": lambda info: [node_at(i) for i in window],
        "edges": lambda info: [{"cursor": _cursor(keys[i]), "node": node_at(i)} for i in window],
    }


def _ordered(
    items: Iterable[Any],
    order: dict[str, Any] | None,
    fields: dict[str, Callable[[Any], Any]],
    default: str,
    default_dir: str = "ASC",
) -> list[Any]:
    field_name = order["field"] if order else default
    direction = order["direction"] if order else default_dir
    getter = fields.get(field_name, fields[default])
    return sorted(items, key=getter, reverse=direction == "DESC")


# -- node builders ----------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return iso(value)


def _user_of(world: World, login: str | None) -> User | None:
    if login is None:
        return None
    user = p.resolve_user(world, login)
    return None if user is p.GHOST else user


def actor(ctx: GqlContext, login: str | None, non_null: bool = False) -> JSON | None:
    """An ``Actor``: ``Bot`` logins lose ``[bot]``; deleted accounts are null (or ghost)."""
    user = _user_of(ctx.world, login)
    if user is None:
        if not non_null:
            return None
        user = p.GHOST
    if user.type == "Bot" or user.login.endswith("[bot]"):
        name = bare_login(user.login)
        return {
            "__typename": "Bot",
            "id": p.node_id("Bot", user.id),
            "databaseId": user.id,
            "login": name,
            "url": f"{ctx.base}/apps/{name}",
        }
    return user_node(ctx, user)


def user_node(ctx: GqlContext, user: User) -> JSON:
    return {
        "__typename": "User",
        "id": p.node_id("User", user.id),
        "databaseId": user.id,
        "login": user.login,
        "name": user.login,
        "url": f"{ctx.base}/{user.login}",
    }


def _user_only(ctx: GqlContext, login: str | None) -> JSON | None:
    """Fields typed ``User`` (not ``Actor``) are null for bots and deleted accounts."""
    user = _user_of(ctx.world, login)
    if user is None or user.type != "User" or user.login.endswith("[bot]"):
        return None
    return user_node(ctx, user)


def _root(ctx: GqlContext) -> JSON:
    def viewer(info: GraphQLResolveInfo) -> JSON:
        user = p.resolve_user(ctx.world, ctx.token.login)
        node = user_node(ctx, user)
        node["login"] = ctx.token.graphql_login
        return node

    def rate_limit(info: GraphQLResolveInfo, dryRun: bool = False) -> JSON:  # noqa: N803
        bucket = ctx.server.graphql_bucket(ctx.token)
        return {
            "cost": ctx.analysis.cost,
            "limit": bucket.limit,
            "nodeCount": ctx.analysis.nodes,
            "remaining": bucket.remaining,
            "resetAt": datetime.fromtimestamp(bucket.reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "used": bucket.used,
        }

    def repository(info: GraphQLResolveInfo, owner: str, name: str, **_: Any) -> JSON:
        wanted = f"{owner}/{name}".lower()
        for full_name, repo in ctx.world.repositories.items():
            if full_name.lower() == wanted and ctx.token.can_see(repo.full_name):
                return repository_node(ctx, repo)
        raise GitHubError(
            "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
        )

    def node(info: GraphQLResolveInfo, id: str) -> JSON | None:
        found = _find_node(ctx, id)
        if found is None:
            raise GitHubError(
                "NOT_FOUND", f"Could not resolve to a node with the global id of '{id}'"
            )
        return found

    def nodes(info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
        if len(ids) > MAX_PAGE:
            raise GitHubError(
                "EXCESSIVE_PAGINATION",
                f"You may not ask for more than {MAX_PAGE} nodes at once.",
            )
        # An id that resolves to nothing is null in the list with a NOT_FOUND error beside it.
        missing = "Could not resolve to a node with the global id of '{}'"
        return [_find_node(ctx, i) or GitHubError("NOT_FOUND", missing.format(i)) for i in ids]

    def writable_issue(issue_id: str) -> tuple[Repository, Issue]:
        located = _locate_issue(ctx, issue_id)
        if located is None:
            raise GitHubError(
                "NOT_FOUND", f"Could not resolve to a node with the global id of '{issue_id}'"
            )
        if not ctx.token.can_write("issues"):
            raise GitHubError("FORBIDDEN", "Resource not accessible by integration")
        return located

    def pin_issue(info: GraphQLResolveInfo, input: dict[str, Any]) -> JSON:
        repo, issue = writable_issue(input["issueId"])
        if not issue.pinned:
            pinned = sum(1 for i in repo.issues if i.pinned and not i.deleted)
            if pinned >= 3:
                raise GitHubError(
                    "UNPROCESSABLE", "Repository already has 3 pinned issues, the maximum allowed."
                )
            issue.pinned = True
        return {
            "clientMutationId": input.get("clientMutationId"),
            "issue": issue_node(ctx, repo, issue),
        }

    def unpin_issue(info: GraphQLResolveInfo, input: dict[str, Any]) -> JSON:
        repo, issue = writable_issue(input["issueId"])
        issue.pinned = False
        return {
            "clientMutationId": input.get("clientMutationId"),
            "issue": issue_node(ctx, repo, issue),
        }

    return {
        "viewer": viewer,
        "rateLimit": rate_limit,
        "repository": repository,
        "node": node,
        "nodes": nodes,
        "pinIssue": pin_issue,
        "unpinIssue": unpin_issue,
    }


def _locate_issue(ctx: GqlContext, node: str) -> tuple[Repository, Issue] | None:
    decoded = p.decode_node_id(node)
    if decoded is None or decoded[0] != "Issue":
        return None
    for repo in ctx.world.repositories.values():
        if not ctx.token.can_see(repo.full_name):
            continue
        for issue in repo.issues:
            if str(issue.id) == decoded[1] and not issue.deleted:
                return repo, issue
    return None


def _find_node(ctx: GqlContext, node: str) -> JSON | None:
    decoded = p.decode_node_id(node)
    if decoded is None:
        return None
    kind, key = decoded
    for repo in ctx.world.repositories.values():
        if not ctx.token.can_see(repo.full_name):
            continue
        if kind == "Repository" and str(repo.id) == key:
            return repository_node(ctx, repo)
        if kind == "Issue":
            for issue in repo.issues:
                if str(issue.id) == key and not issue.deleted:
                    return issue_node(ctx, repo, issue)
        if kind == "PullRequest":
            for pr in repo.pull_requests:
                if str(pr.id) == key:
                    return pr_node(ctx, repo, pr)
        if kind == "Deployment":
            for deployment in repo.deployments:
                if str(deployment.id) == key:
                    return deployment_node(ctx, repo, deployment)
        if kind == "Release":
            for release in repo.releases:
                if str(release.id) == key:
                    return release_node(ctx, repo, release)
    return None


def repository_node(ctx: GqlContext, repo: Repository) -> JSON:
    def ref(info: GraphQLResolveInfo, qualifiedName: str) -> JSON | None:  # noqa: N803
        return ref_node(ctx, repo, qualifiedName)

    def git_object(
        info: GraphQLResolveInfo, oid: str | None = None, expression: str | None = None
    ) -> JSON | None:
        return object_node(ctx, repo, oid, expression)

    return {
        "__typename": "Repository",
        "id": p.node_id("Repository", repo.id),
        "databaseId": repo.id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "url": f"{ctx.base}/{repo.full_name}",
        "isPrivate": repo.private,
        "isArchived": repo.archived,
        "createdAt": p.iso_required(repo.created(ctx.world.now)),
        "defaultBranchRef": lambda info: ref_node(ctx, repo, repo.default_branch),
        "ref": ref,
        "object": git_object,
        "pullRequests": lambda info, **a: _pull_requests(ctx, repo, a),
        "deployments": lambda info, **a: _deployments(ctx, repo, a),
        "releases": lambda info, **a: _releases(ctx, repo, a),
        "issues": lambda info, **a: _issues(ctx, repo, a),
        "refs": lambda info, **a: _refs(ctx, repo, a),
    }


def _refs(ctx: GqlContext, repo: Repository, args: dict[str, Any]) -> JSON:
    """``refs(refPrefix:)``: the refs under a prefix, named without it, as on GitHub."""
    prefix = args["refPrefix"].removeprefix("refs/")
    keys = [k for k in repo.refs if k.startswith(prefix)]
    if args.get("query"):
        keys = [k for k in keys if args["query"] in k[len(prefix) :]]

    def commit_date(key: str) -> datetime:
        oid = repo.tag_objects.get(repo.refs[key], (repo.refs[key], None))[0]
        commit = repo.commits.get(oid)
        return aware(commit.committed_at) if commit else datetime.min.replace(tzinfo=UTC)

    fields: dict[str, Callable[[Any], Any]] = {
        "ALPHABETICAL": lambda k: k,
        "TAG_COMMIT_DATE": lambda k: (commit_date(k), k),
    }
    keys = _ordered(keys, args.get("orderBy"), fields, "ALPHABETICAL")
    return connection(keys, lambda k: k, lambda k: ref_node(ctx, repo, k), args)


def _issue_sort_fields() -> dict[str, Callable[[Any], Any]]:
    return {
        "CREATED_AT": lambda i: (aware(i.created_at), i.number),
        "UPDATED_AT": lambda i: (aware(i.updated_at), i.number),
        "COMMENTS": lambda i: (len(getattr(i, "comments", [])), i.number),
    }


def _labels_match(labels: list[str] | None, item_labels: list[str]) -> bool:
    # GraphQL label filters match any of the labels (REST requires all of them).
    if not labels:
        return True
    have = {x.lower() for x in item_labels}
    return any(x.lower() in have for x in labels)


def pr_state(pr: PullRequest) -> str:
    if pr.merged_at is not None:
        return "MERGED"
    return "OPEN" if pr.state == "open" else "CLOSED"


def _pull_requests(ctx: GqlContext, repo: Repository, args: dict[str, Any]) -> JSON:
    items = list(repo.pull_requests)
    if args.get("states"):
        items = [pr for pr in items if pr_state(pr) in args["states"]]
    if args.get("baseRefName"):
        items = [pr for pr in items if pr.base_ref == args["baseRefName"]]
    if args.get("headRefName"):
        items = [pr for pr in items if pr.head_ref == args["headRefName"]]
    items = [pr for pr in items if _labels_match(args.get("labels"), pr.labels)]
    items = _ordered(items, args.get("orderBy"), _issue_sort_fields(), "CREATED_AT")
    return connection(items, lambda pr: pr.number, lambda pr: pr_node(ctx, repo, pr), args)


def pr_node(ctx: GqlContext, repo: Repository, pr: PullRequest) -> JSON:
    def commits(info: GraphQLResolveInfo, **a: Any) -> JSON:
        own = [repo.commits[oid] for oid in pr.commits if oid in repo.commits]
        return connection(
            own,
            lambda c: c.oid,
            lambda c: {
                "id": p.node_id("PullRequestCommit", f"{pr.id}:{c.oid}"),
                "commit": commit_node(ctx, repo, c),
            },
            a,
        )

    def reviews(info: GraphQLResolveInfo, **a: Any) -> JSON:
        items = sorted(pr.reviews, key=lambda r: (aware(r.submitted_at), r.id))
        if a.get("states"):
            items = [r for r in items if r.state in a["states"]]
        return connection(
            items,
            lambda r: r.id,
            lambda r: {
                "id": p.node_id("PullRequestReview", r.id),
                "databaseId": r.id,
                "author": actor(ctx, r.author),
                "state": r.state,
                "submittedAt": _time(r.submitted_at),
                "body": r.body,
                "comments": lambda info, **ca: {
                    "totalCount": r.comments,
                    "pageInfo": {
                        "hasNextPage": False,
                        "hasPreviousPage": False,
                        "startCursor": None,
                        "endCursor": None,
                    },
                },
            },
            a,
        )

    def timeline(info: GraphQLResolveInfo, **a: Any) -> JSON:
        # Ready-for-review events and conversation comments are modelled, in time order like
        # GitHub's timeline; any other requested type has no items.
        types = a.get("itemTypes")
        items: list[tuple[datetime, str, JSON]] = []
        if types is None or "READY_FOR_REVIEW_EVENT" in types:
            items += [
                (
                    aware(e),
                    f"ready:{iso(e)}",
                    {
                        "__typename": "ReadyForReviewEvent",
                        "id": p.node_id("ReadyForReviewEvent", f"{pr.id}:{iso(e)}"),
                        "createdAt": _time(e),
                        "actor": actor(ctx, pr.author),
                    },
                )
                for e in pr.ready_for_review_at
            ]
        if types is None or "ISSUE_COMMENT" in types:
            items += [
                (
                    aware(c.created_at),
                    f"comment:{c.id}",
                    {
                        "__typename": "IssueComment",
                        "id": p.node_id("IssueComment", c.id),
                        "author": actor(ctx, c.author),
                        "body": c.body,
                        "createdAt": _time(c.created_at),
                    },
                )
                for c in pr.comments
            ]
        items.sort(key=lambda item: (item[0], item[1]))
        return connection(items, lambda item: item[1], lambda item: item[2], a)

    def labels(info: GraphQLResolveInfo, **a: Any) -> JSON:
        return _label_connection(ctx, repo, pr.labels, a)

    merge = repo.commits.get(pr.merge_commit) if pr.merge_commit else None
    return {
        "__typename": "PullRequest",
        "id": p.node_id("PullRequest", pr.id),
        "databaseId": pr.id,
        "number": pr.number,
        "title": pr.title,
        "body": pr.body,
        "url": f"{ctx.base}/{repo.full_name}/pull/{pr.number}",
        "state": pr_state(pr),
        "isDraft": pr.is_draft,
        "createdAt": _time(pr.created_at),
        "updatedAt": _time(pr.updated_at),
        "closedAt": _time(pr.closed_at),
        "mergedAt": _time(pr.merged_at),
        "merged": pr.merged_at is not None,
        "baseRefName": pr.base_ref,
        "headRefName": pr.head_ref,
        "additions": pr.additions,
        "deletions": pr.deletions,
        "author": lambda info: actor(ctx, pr.author),
        "mergedBy": lambda info: actor(ctx, pr.merged_by),
        "mergeCommit": (lambda info: commit_node(ctx, repo, merge)) if merge else None,
        "labels": labels,
        "commits": commits,
        "reviews": reviews,
        "timelineItems": timeline,
    }


def _label_connection(
    ctx: GqlContext, repo: Repository, names: list[str], args: dict[str, Any]
) -> JSON:
    def label_node(name: str) -> JSON:
        known = next((lab for lab in repo.labels if lab.name == name), None)
        return {
            "id": p.node_id("Label", f"{repo.id}:{name}"),
            "name": name,
            "color": known.color if known else "ededed",
            "description": (known.description or None) if known else None,
        }

    return connection(list(names), lambda n: n, label_node, args)


def _deployments(ctx: GqlContext, repo: Repository, args: dict[str, Any]) -> JSON:
    items = list(repo.deployments)
    if args.get("environments"):
        items = [d for d in items if d.environment in args["environments"]]
    fields: dict[str, Callable[[Any], Any]] = {"CREATED_AT": lambda d: (aware(d.created_at), d.id)}
    items = _ordered(items, args.get("orderBy"), fields, "CREATED_AT")
    return connection(items, lambda d: d.id, lambda d: deployment_node(ctx, repo, d), args)


def deployment_node(ctx: GqlContext, repo: Repository, deployment: Deployment) -> JSON:
    def statuses(info: GraphQLResolveInfo, **a: Any) -> JSON:
        # Newest first, as GitHub lists deployment statuses.
        items = sorted(deployment.statuses, key=lambda s: (aware(s.created_at), s.id), reverse=True)
        return connection(
            items,
            lambda s: s.id,
            lambda s: {
                "id": p.node_id("DeploymentStatus", s.id),
                "state": s.state.upper(),
                "createdAt": _time(s.created_at),
                "description": s.description or None,
                "creator": actor(ctx, s.creator or deployment.creator, non_null=True),
            },
            a,
        )

    return {
        "__typename": "Deployment",
        "id": p.node_id("Deployment", deployment.id),
        "databaseId": deployment.id,
        "environment": deployment.environment,
        "createdAt": _time(deployment.created_at),
        "commitOid": deployment.sha,
        "creator": lambda info: actor(ctx, deployment.creator, non_null=True),
        "description": deployment.description or None,
        "task": deployment.task,
        "statuses": statuses,
    }


def _releases(ctx: GqlContext, repo: Repository, args: dict[str, Any]) -> JSON:
    fields: dict[str, Callable[[Any], Any]] = {
        "CREATED_AT": lambda r: (aware(r.created_at), r.id),
        "NAME": lambda r: (r.name, r.id),
    }
    items = _ordered(repo.releases, args.get("orderBy"), fields, "CREATED_AT")
    return connection(items, lambda r: r.id, lambda r: release_node(ctx, repo, r), args)


def release_node(ctx: GqlContext, repo: Repository, release: Release) -> JSON:
    tag_commit = repo.commits.get(release.tag_commit)
    return {
        "__typename": "Release",
        "id": p.node_id("Release", release.id),
        "databaseId": release.id,
        "tagName": release.tag_name,
        "name": release.name or None,
        "isDraft": release.is_draft,
        "isPrerelease": release.is_prerelease,
        "createdAt": _time(release.created_at),
        "publishedAt": _time(release.published_at),
        "tagCommit": (lambda info: commit_node(ctx, repo, tag_commit)) if tag_commit else None,
        "author": lambda info: _user_only(ctx, release.author),
        "url": f"{ctx.base}/{repo.full_name}/releases/tag/{release.tag_name}",
    }


def _issues(ctx: GqlContext, repo: Repository, args: dict[str, Any]) -> JSON:
    items = [i for i in repo.issues if not i.deleted]
    filters: dict[str, Any] = args.get("filterBy") or {}
    for states in (args.get("states"), filters.get("states")):
        if states:
            items = [i for i in items if i.state.upper() in states]
    items = [i for i in items if _labels_match(args.get("labels"), i.labels)]
    items = [i for i in items if _labels_match(filters.get("labels"), i.labels)]
    if filters.get("since"):
        since = parse_time(filters["since"])
        items = [i for i in items if aware(i.updated_at) >= since]
    if filters.get("createdBy"):
        wanted = bare_login(filters["createdBy"]).lower()
        items = [i for i in items if i.author and bare_login(i.author).lower() == wanted]
    items = _ordered(items, args.get("orderBy"), _issue_sort_fields(), "CREATED_AT")
    return connection(items, lambda i: i.number, lambda i: issue_node(ctx, repo, i), args)


def issue_node(ctx: GqlContext, repo: Repository, issue: Issue) -> JSON:
    return {
        "__typename": "Issue",
        "id": p.node_id("Issue", issue.id),
        "databaseId": issue.id,
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "url": f"{ctx.base}/{repo.full_name}/issues/{issue.number}",
        "state": issue.state.upper(),
        "stateReason": "COMPLETED" if issue.state == "closed" else None,
        "createdAt": _time(issue.created_at),
        "updatedAt": _time(issue.updated_at),
        "closedAt": _time(issue.closed_at),
        "author": lambda info: actor(ctx, issue.author),
        "locked": issue.locked,
        "isPinned": issue.pinned,
        "labels": lambda info, **a: _label_connection(ctx, repo, issue.labels, a),
    }


# -- git --------------------------------------------------------------------------------------


def ref_node(ctx: GqlContext, repo: Repository, qualified: str) -> JSON | None:
    """``main``, ``heads/main`` and ``refs/heads/main`` all name the branch, as on GitHub."""
    name = qualified.removeprefix("refs/")
    for key in (name, f"heads/{name}", f"tags/{name}"):
        oid = repo.refs.get(key)
        if oid is None:
            continue
        prefix, _, short = key.partition("/")
        target: JSON | None
        if oid in repo.tag_objects:
            target = tag_node(ctx, repo, short, oid)
        else:
            commit = repo.commits.get(oid)
            target = commit_node(ctx, repo, commit) if commit else None
        return {
            "id": p.node_id("Ref", f"{repo.id}:{key}"),
            "name": short,
            "prefix": f"refs/{prefix}/",
            "target": target,
        }
    return None


def object_node(
    ctx: GqlContext, repo: Repository, oid: str | None, expression: str | None
) -> JSON | None:
    """``object(oid:)`` or ``object(expression:)``: any commit or annotated tag of the
    repository, on a branch or not; an expression may be a full oid or a ref's name (the
    emulator does not parse the rest of rev-parse's syntax). Unknown: null, as on GitHub."""
    wanted = oid or expression
    if wanted is None:
        return None
    if oid is None and wanted not in repo.commits and wanted not in repo.tag_objects:
        found = ref_node(ctx, repo, wanted)
        return found["target"] if found else None
    if oid is not None and oid in repo.blobs:
        return blob_node(repo, oid)
    if wanted in repo.tag_objects:
        names = [k[5:] for k, at in repo.refs.items() if at == wanted and k.startswith("tags/")]
        return tag_node(ctx, repo, names[0] if names else wanted, wanted)
    commit = repo.commits.get(wanted)
    return commit_node(ctx, repo, commit) if commit else None


def blob_node(repo: Repository, oid: str) -> JSON:
    """A blob of the repository's git objects (the Git Data API's); its text when it is
    UTF-8, as GitHub gives it."""
    content = repo.blobs[oid].content
    try:
        text: str | None = content.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {
        "__typename": "Blob",
        "id": p.node_id("Blob", f"{repo.id}:{oid}"),
        "oid": oid,
        "text": text,
        "isTruncated": False,
        "isBinary": text is None,
    }


def tag_node(ctx: GqlContext, repo: Repository, name: str, oid: str) -> JSON | None:
    """An annotated tag object; its target is the tagged commit."""
    commit_oid, tagged_at = repo.tag_objects[oid]
    commit = repo.commits.get(commit_oid)
    if commit is None:
        return None
    return {
        "__typename": "Tag",
        "id": p.node_id("Tag", f"{repo.id}:{oid}"),
        "oid": oid,
        "name": name,
        "message": f"{name}\n",
        "tagger": lambda info: _git_actor(ctx, commit.author, tagged_at),
        "target": lambda info: commit_node(ctx, repo, commit),
    }


def _git_actor(ctx: GqlContext, login: str | None, when: datetime) -> JSON:
    user = _user_of(ctx.world, login)
    name = user.login if user else "Unknown"
    email = f"{user.id}+{user.login}@users.noreply.github.com" if user else "unknown@example.com"
    if user is not None and user.commit_email:
        email = user.commit_email
    return {
        "name": name,
        "email": email,
        "date": _time(when),
        "user": _user_only(ctx, login),
    }


def commit_node(ctx: GqlContext, repo: Repository, commit: Commit) -> JSON:
    def parents(info: GraphQLResolveInfo, **a: Any) -> JSON:
        items = [repo.commits[oid] for oid in commit.parents if oid in repo.commits]
        return connection(items, lambda c: c.oid, lambda c: commit_node(ctx, repo, c), a)

    def history(info: GraphQLResolveInfo, **a: Any) -> JSON:
        items = _history(ctx, repo, commit.oid)
        if a.get("since"):
            since = parse_time(a["since"])
            items = [c for c in items if aware(c.committed_at) >= since]
        if a.get("until"):
            until = parse_time(a["until"])
            items = [c for c in items if aware(c.committed_at) <= until]
        return connection(items, lambda c: c.oid, lambda c: commit_node(ctx, repo, c), a)

    def associated(info: GraphQLResolveInfo, **a: Any) -> JSON:
        prs = _prs_by_commit(ctx, repo).get(commit.oid, [])
        return connection(prs, lambda pr: pr.number, lambda pr: pr_node(ctx, repo, pr), a)

    return {
        "__typename": "Commit",
        "id": p.node_id("Commit", f"{repo.id}:{commit.oid}"),
        "oid": commit.oid,
        "message": commit.message,
        "messageHeadline": commit.message.split("\n", 1)[0],
        "authoredDate": _time(commit.authored_at),
        "committedDate": _time(commit.committed_at),
        "url": f"{ctx.base}/{repo.full_name}/commit/{commit.oid}",
        "author": lambda info: _git_actor(ctx, commit.author, commit.authored_at),
        "committer": lambda info: _git_actor(ctx, commit.author, commit.committed_at),
        "parents": parents,
        "history": history,
        "associatedPullRequests": associated,
    }


def _history(ctx: GqlContext, repo: Repository, start: str) -> list[Commit]:
    """Commits reachable from ``start``, newest committed first, as ``git log`` lists them."""
    key = ("history", repo.full_name, start, len(repo.commits))
    cached = ctx.server.cache.get(key)
    if cached is not None:
        return list(cached)
    out: list[Commit] = []
    seen = {start}
    first = repo.commits.get(start)
    heap: list[tuple[float, int, str]] = []
    counter = 0
    if first is not None:
        heap.append((-aware(first.committed_at).timestamp(), counter, start))
    while heap:
        _, _, oid = heapq.heappop(heap)
        commit = repo.commits[oid]
        out.append(commit)
        for parent in commit.parents:
            found = repo.commits.get(parent)
            if found is not None and parent not in seen:
                seen.add(parent)
                counter += 1
                heapq.heappush(heap, (-aware(found.committed_at).timestamp(), counter, parent))
    ctx.server.cache[key] = out
    return list(out)


def _prs_by_commit(ctx: GqlContext, repo: Repository) -> dict[str, list[PullRequest]]:
    index = ctx.prs_by_commit.get(repo.full_name)
    if index is None:
        index = {}

        def add(oid: str, pr: PullRequest) -> None:
            bucket = index.setdefault(oid, [])
            if pr not in bucket:
                bucket.append(pr)

        by_number = {pr.number: pr for pr in repo.pull_requests}
        for pr in repo.pull_requests:
            for oid in pr.commits:
                add(oid, pr)
            if pr.merge_commit:
                add(pr.merge_commit, pr)
        for commit in repo.commits.values():
            if commit.associated_pr is not None and commit.associated_pr in by_number:
                add(commit.oid, by_number[commit.associated_pr])
        for prs in index.values():
            prs.sort(key=lambda pr: (aware(pr.created_at), pr.number))
        ctx.prs_by_commit[repo.full_name] = index
    return index
