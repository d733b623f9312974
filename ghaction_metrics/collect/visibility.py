"""Whether a repository is private, read from the API (the runner's environment does not say)."""

from __future__ import annotations

import logging

from github import GithubException

from ghaction_metrics.api.client import GitHubClients, GitHubUnreachableError, repo_path

log = logging.getLogger(__name__)


def is_private(clients: GitHubClients, repository: str) -> bool | None:
    """``private`` of ``GET /repos/{owner}/{repo}``; None when it cannot be read."""
    try:
        _headers, data = clients.rest.requester.requestJsonAndCheck("GET", repo_path(repository))
    except (GithubException, GitHubUnreachableError) as exc:
        log.debug("Could not read the visibility of %s: %s", repository, exc)
        return None
    private = data.get("private") if isinstance(data, dict) else None
    return private if isinstance(private, bool) else None
