"""Whether a repository is private, read from the API (the runner's environment does not say).

Collection also reports each repository it finds private as soon as it knows, and names the
repositories the token cannot see at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar

from github import GithubException

from ghaction_metrics.api.client import (
    PYGITHUB_LOCK,
    GitHubClients,
    GitHubUnreachableError,
    GraphQLError,
    repo_path,
)

log = logging.getLogger(__name__)

INVISIBLE = (
    "the token cannot see it (it does not exist, or it is private and the workflow token only "
    "reads its own repository: use a personal or GitHub App token)"
)

# Called with a repository's name as soon as it is known to be private, before any line about
# its data is logged (action.py hides such lines from a public repository's log).
ON_PRIVATE: ContextVar[Callable[[str], None] | None] = ContextVar("on_private", default=None)


def private_found(name: str) -> None:
    report = ON_PRIVATE.get()
    if report is not None:
        with PYGITHUB_LOCK:  # it may ask GitHub for the publishing repository's visibility
            report(name)


def invisible(exc: GraphQLError) -> bool:
    """A repository the token cannot see. A refused token (401) is not this: it fails the run."""
    return "NOT_FOUND" in exc.types or exc.status in (403, 404)


def is_private(clients: GitHubClients, repository: str) -> bool | None:
    """``private`` of ``GET /repos/{owner}/{repo}``; None when it cannot be read."""
    try:
        _headers, data = clients.rest.requester.requestJsonAndCheck("GET", repo_path(repository))
    except (GithubException, GitHubUnreachableError) as exc:
        log.debug("Could not read the visibility of %s: %s", repository, exc)
        return None
    private = data.get("private") if isinstance(data, dict) else None
    return private if isinstance(private, bool) else None
