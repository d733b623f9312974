"""The dashboard issue: one issue per report-id whose pinned comment holds the report.

The issue and its comment are recognised by a hidden HTML-comment marker carrying the
report-id, and only when the token's own identity wrote them, so a person quoting the marker
cannot hijack the dashboard. They are found by listing issues, never through the search API
(it lags behind writes, so a run right after another would not see its issue and make a
duplicate) and never by title (people rename issues).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github import GithubException

from ghaction_metrics.api.client import (
    GitHubClients,
    GitHubUnreachableError,
    GraphQLError,
    github_message,
    repo_path,
)
from ghaction_metrics.collect import queries
from ghaction_metrics.records import same_identity

log = logging.getLogger(__name__)

# Issue and comment bodies are capped by GitHub at this many characters.
BODY_LIMIT = 65_536
# Put on the dashboard issue when it is created, so later runs find it with one small listing.
LABEL = "ghaction-metrics"
_LABEL_COLOR = "0e8a16"
_LABEL_DESCRIPTION = "Dashboard issue kept up to date by the ghaction-metrics action"
DEFAULT_CREATE_ATTEMPTS = 3

_MARKER_PREFIX = "<!-- ghaction-metrics:"
# Any text that could be read as one of our markers: "<!--", optional blanks, the tool name,
# optional blanks, ":". The colon is replaced by an entity, which inside an HTML comment is
# never decoded, so the text stays hidden and stops matching.
_MARKER_LIKE = re.compile(r"<!--(\s*)ghaction-metrics(\s*):", re.IGNORECASE)


class DashboardError(Exception):
    """The dashboard could not be published; the message says why and what to change."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BodyTooLongError(DashboardError, ValueError):
    """The caller passed a header or report longer than GitHub accepts."""


@dataclass(frozen=True)
class DashboardResult:
    issue_number: int
    issue_url: str
    comment_id: int
    comment_url: str
    created_issue: bool
    created_comment: bool
    notices: tuple[str, ...] = ()


def _safe_id(report_id: str) -> str:
    # Percent-encoding leaves only [A-Za-z0-9_.~-]: no ">" to end the comment, no blank to
    # end the value.
    return quote(report_id, safe="")


def issue_marker(report_id: str) -> str:
    return f"{_MARKER_PREFIX}dashboard report-id={_safe_id(report_id)} -->"


def report_marker(report_id: str) -> str:
    return f"{_MARKER_PREFIX}report report-id={_safe_id(report_id)} -->"


def strip_markers(markdown: str) -> str:
    """Neutralise marker-like text in caller-supplied markdown (a PR title could carry one)."""
    return _MARKER_LIKE.sub(r"<!--\1ghaction-metrics\2&#58;", markdown)


def _error_text(exc: GithubException) -> str:
    text = github_message(exc) if isinstance(exc.data, dict) else ""
    return text or f"HTTP {exc.status}"


def _is_transient(exc: Exception) -> bool:
    """A failure after which the write may or may not have happened."""
    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, GitHubUnreachableError)


_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


def _paginate(
    clients: GitHubClients, url: str, parameters: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    requester = clients.rest.requester
    headers, page = requester.requestJsonAndCheck("GET", url, parameters=parameters)
    while True:
        yield from page or []
        match = _NEXT_LINK.search(headers.get("link", ""))
        if not match:
            return
        headers, page = requester.requestJsonAndCheck("GET", match.group(1))


@dataclass
class _Context:
    clients: GitHubClients
    repo: str
    viewer: str  # as GraphQL answered it
    issue_marker: str
    report_marker: str

    def own(self, item: dict[str, Any], marker: str) -> bool:
        user = item.get("user") or {}
        login = str(user.get("login") or "")
        body = str(item.get("body") or "")
        return same_identity(login, self.viewer) and marker in body


def _viewer_login(clients: GitHubClients) -> str:
    try:
        data = clients.graphql(queries.VIEWER)
    except GraphQLError as exc:
        raise DashboardError(
            f"could not tell which account the token belongs to (GraphQL viewer): {exc}",
            exc.status,
        ) from exc
    return str(data["viewer"]["login"])


@dataclass(frozen=True)
class _Found:
    issue: dict[str, Any] | None  # the oldest dashboard issue for this report-id
    labelled: bool  # whether it still has the label
    duplicates: tuple[dict[str, Any], ...] = ()  # newer ones, made by runs that raced


def _find_issue(ctx: _Context) -> _Found:
    """The oldest dashboard issue for this report-id, and any newer duplicates of it.

    Listing by the label costs one request whatever the repository's size, and holds every
    labelled dashboard, so duplicates left by two first runs at once are found there too. If
    a person removed the label (or GitHub dropped it at creation, as it does for tokens
    without push access), the issues this identity created are listed instead: the issue
    list's ``creator`` filter reaches every issue we could have written, without paging
    through all of the repository's issues and pull requests. Both listings include closed
    issues, so a closed dashboard is reused rather than duplicated.
    """
    common = {"state": "all", "sort": "created", "direction": "asc", "per_page": 100}
    url = f"{ctx.repo}/issues"
    labelled = [
        item
        for item in _paginate(ctx.clients, url, {**common, "labels": LABEL})
        if "pull_request" not in item and ctx.own(item, ctx.issue_marker)
    ]
    if labelled:
        return _Found(labelled[0], True, tuple(labelled[1:]))
    # GraphQL may give the login without "[bot]" while REST filters on the REST login.
    base = ctx.viewer.removesuffix("[bot]")
    for creator in dict.fromkeys([ctx.viewer, base, f"{base}[bot]"]):
        try:
            for item in _paginate(ctx.clients, url, {**common, "creator": creator}):
                if "pull_request" not in item and ctx.own(item, ctx.issue_marker):
                    return _Found(item, False)
        except GithubException as exc:
            # An unknown creator login answers 404 or 422 rather than an empty list.
            if exc.status not in (404, 422):
                raise
    return _Found(None, False)


def _retire(ctx: _Context, duplicate: dict[str, Any], kept: int) -> None:
    """Close a dashboard a racing run made, so only ``kept`` remains.

    Its marker and label go, so no later run takes it for a dashboard; it is unpinned, as
    the pinned places are few.
    """
    number = duplicate["number"]
    labels = [str(lab["name"]) for lab in duplicate.get("labels") or [] if lab["name"] != LABEL]
    body = (
        f"Two runs created the metrics dashboard at the same time; this copy was closed. "
        f"The dashboard is #{kept}."
    )
    change = {"state": "closed", "state_reason": "duplicate", "body": body, "labels": labels}
    if _patch(ctx, f"/issues/{number}", change) is None:
        return  # deleted meanwhile
    log.info("Closed the duplicate dashboard issue #%s; the dashboard is #%s.", number, kept)
    try:
        ctx.clients.graphql(queries.UNPIN_ISSUE, {"issueId": duplicate["node_id"]})
    except (GraphQLError, GithubException, GitHubUnreachableError) as exc:
        log.info("The duplicate dashboard issue #%s stays pinned (%s).", number, exc)


def _find_comment(ctx: _Context, number: int) -> dict[str, Any] | None:
    url = f"{ctx.repo}/issues/{number}/comments"
    for item in _paginate(ctx.clients, url, {"per_page": 100}):
        if ctx.own(item, ctx.report_marker):
            return item
    return None


def _create_adopting(
    create: Callable[[], dict[str, Any]],
    find: Callable[[], dict[str, Any] | None],
    what: str,
    attempts: int,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Create once; after an unclear failure, adopt what the lost attempt made before retrying.

    Retrying a create blindly would duplicate the issue or comment whenever the first request
    did reach GitHub and only its answer was lost.
    """
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            return create()
        except (GithubException, GitHubUnreachableError) as exc:
            if not _is_transient(exc):
                raise
            last = _error_text(exc) if isinstance(exc, GithubException) else type(exc).__name__
            log.warning("Creating the %s failed (%s); checking whether it was made.", what, last)
        # Give a write still in flight on GitHub's side time to become visible.
        sleep(float(attempt))
        found = find()
        if found is not None:
            log.info("Found the %s made by the failed request; using it.", what)
            return found
    raise DashboardError(f"could not create the {what} after {attempts} attempts (last: {last})")


def _post(ctx: _Context, url: str, body: dict[str, Any]) -> dict[str, Any]:
    _headers, data = ctx.clients.rest.requester.requestJsonAndCheck(
        "POST", f"{ctx.repo}{url}", input=body
    )
    return dict(data)


def _patch(ctx: _Context, url: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """PATCH, or None when the target was deleted meanwhile."""
    try:
        _headers, data = ctx.clients.rest.requester.requestJsonAndCheck(
            "PATCH", f"{ctx.repo}{url}", input=body
        )
    except GithubException as exc:
        if exc.status in (404, 410):
            return None
        raise
    return dict(data)


def _ensure_label(ctx: _Context) -> None:
    try:
        _post(
            ctx,
            "/labels",
            {"name": LABEL, "color": _LABEL_COLOR, "description": _LABEL_DESCRIPTION},
        )
    except GithubException as exc:
        if exc.status != 422:  # 422: it exists already
            log.info("Could not create the label %s: %s", LABEL, _error_text(exc))
    except GitHubUnreachableError as exc:
        log.info("Could not create the label %s: %s", LABEL, type(exc).__name__)


def _pin_issue(ctx: _Context, issue: dict[str, Any]) -> str | None:
    """Pin the issue; a notice saying why when GitHub refuses."""
    number = issue["number"]
    try:
        ctx.clients.graphql(queries.PIN_ISSUE, {"issueId": issue["node_id"]})
    except GraphQLError as exc:
        return (
            f"The dashboard issue #{number} could not be pinned ({exc}). GitHub allows at most "
            "3 pinned issues per repository and pinning needs write access to issues; unpin "
            "another issue and pin this one by hand if you want it on top."
        )
    except (GithubException, GitHubUnreachableError) as exc:
        return f"The dashboard issue #{number} could not be pinned ({exc}); pin it by hand."
    return None


def _pin_comment(ctx: _Context, comment: dict[str, Any], number: int) -> str | None:
    """Pin the report comment in its issue; a notice saying why when GitHub refuses."""
    try:
        ctx.clients.rest.requester.requestJsonAndCheck(
            "PUT", f"{ctx.repo}/issues/comments/{comment['id']}/pin"
        )
    except GithubException as exc:
        if exc.status == 404:
            reason = (
                "this GitHub does not offer comment pinning (older GitHub Enterprise Server "
                "versions lack it)"
            )
        elif exc.status == 403:
            reason = f"the token may not pin comments: {_error_text(exc)}"
        else:
            reason = _error_text(exc)
        return f"The report comment in issue #{number} could not be pinned: {reason}."
    except GitHubUnreachableError as exc:
        return f"The report comment in issue #{number} could not be pinned: {type(exc).__name__}."
    return None


def _check_length(kind: str, body: str) -> None:
    if len(body) > BODY_LIMIT:
        raise BodyTooLongError(
            f"the dashboard {kind} is {len(body):,} characters including its hidden marker; "
            f"GitHub accepts at most {BODY_LIMIT:,}. Shorten it before publishing."
        )


def publish_dashboard(
    clients: GitHubClients,
    repository: str,
    report_id: str,
    title: str,
    header_markdown: str,
    comment_markdown: str,
    *,
    create_attempts: int = DEFAULT_CREATE_ATTEMPTS,
    sleep: Callable[[float], None] | None = None,
) -> DashboardResult:
    """Create or update the dashboard issue (body = header) and its report comment.

    ``title`` is used only when the issue is created: a title a person chose later is kept.
    Waits go to the clients' waiter unless ``sleep`` is given.
    """
    if sleep is None:
        sleep = functools.partial(clients.waiter.pause, reason="Dashboard write")
    ctx = _Context(
        clients=clients,
        repo=repo_path(repository),
        viewer="",
        issue_marker=issue_marker(report_id),
        report_marker=report_marker(report_id),
    )
    header_body = f"{ctx.issue_marker}\n{strip_markers(header_markdown)}"
    comment_body = f"{ctx.report_marker}\n{strip_markers(comment_markdown)}"
    _check_length("issue header", header_body)
    _check_length("report comment", comment_body)
    try:
        return _publish(ctx, title, header_body, comment_body, create_attempts, sleep)
    except GithubException as exc:
        hint = ""
        if exc.status in (403, 404):
            hint = (
                " The workflow needs `permissions: issues: write` (and the token must be able "
                "to see the repository)."
            )
        raise DashboardError(
            f"could not publish the dashboard issue in {repository}: {_error_text(exc)}.{hint}",
            exc.status,
        ) from exc
    except GitHubUnreachableError as exc:
        raise DashboardError(
            f"could not publish the dashboard issue in {repository}: {type(exc).__name__}"
        ) from exc


def _publish(
    ctx: _Context,
    title: str,
    header_body: str,
    comment_body: str,
    create_attempts: int,
    sleep: Callable[[float], None],
) -> DashboardResult:
    ctx.viewer = _viewer_login(ctx.clients)
    notices: list[str] = []

    found = _find_issue(ctx)
    issue, labelled = found.issue, found.labelled
    created_issue = False
    if issue is not None:
        changes: dict[str, Any] = {}
        if issue.get("body") != header_body:
            changes["body"] = header_body
        if not labelled:
            # Put the label back so the next run finds the issue with the cheap listing. The
            # edit replaces the label set, so it is the one just read plus ours.
            names = [str(lab["name"]) for lab in issue.get("labels") or []]
            changes["labels"] = [*names, LABEL]
        if changes:
            # None: deleted between the listing and now; made anew below.
            issue = _patch(ctx, f"/issues/{issue['number']}", changes)
    if issue is None:
        _ensure_label(ctx)

        def create_issue() -> dict[str, Any]:
            body = {"title": title, "body": header_body, "labels": [LABEL]}
            return _post(ctx, "/issues", body)

        issue = _create_adopting(
            create_issue, lambda: _find_issue(ctx).issue, "dashboard issue", create_attempts, sleep
        )
        created_issue = True
        # Another first run may have created one at the same moment: the oldest is kept.
        found = _find_issue(ctx)
        if found.issue is not None and found.issue["number"] != issue["number"]:
            _retire(ctx, issue, found.issue["number"])
            issue, created_issue = found.issue, False
            # The listing's duplicates include the copy just retired; other racers retire theirs.
            found = _Found(issue, found.labelled)
        else:
            # Pinned when made, not every run: a person who unpins the dashboard meant it.
            notice = _pin_issue(ctx, issue)
            if notice:
                notices.append(notice)
    for duplicate in found.duplicates:
        _retire(ctx, duplicate, int(issue["number"]))
    number = int(issue["number"])
    if issue.get("state") == "closed":
        notices.append(
            f"The dashboard issue #{number} is closed; it was updated and left closed. "
            "Reopen it to show it among open issues again."
        )

    comment = None if created_issue else _find_comment(ctx, number)
    created_comment = False
    if comment is not None and comment.get("body") != comment_body:
        comment = _patch(ctx, f"/issues/comments/{comment['id']}", {"body": comment_body})
    if comment is None:
        comment = _create_adopting(
            lambda: _post(ctx, f"/issues/{number}/comments", {"body": comment_body}),
            lambda: _find_comment(ctx, number),
            "report comment",
            create_attempts,
            sleep,
        )
        created_comment = True
        notice = _pin_comment(ctx, comment, number)
        if notice:
            notices.append(notice)

    for notice in notices:
        log.debug("%s", notice)
    return DashboardResult(
        issue_number=number,
        issue_url=str(issue["html_url"]),
        comment_id=int(comment["id"]),
        comment_url=str(comment["html_url"]),
        created_issue=created_issue,
        created_comment=created_comment,
        notices=tuple(notices),
    )
