"""The repositories a run measures: ``owner/*`` in the ``repositories`` input expanded."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from github import GithubException

from ghaction_metrics.api.client import PYGITHUB_LOCK, GitHubClients
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)


def expand_repositories(
    clients: GitHubClients,
    names: Sequence[str],
    on_private: Callable[[str], None] | None = None,
) -> list[str]:
    """Expand ``owner/*`` into the owner's non-archived repositories the token can see."""
    result: list[str] = []
    for name in names:
        owner, repo = name.split("/", 1)
        if repo != "*":
            result.append(name)
            continue
        try:
            listing = list(_rest_pages(clients, f"/orgs/{owner}/repos", {"type": "all"}))
        except GithubException as exc:
            if exc.status != 404:
                raise
            listing = list(_rest_pages(clients, f"/users/{owner}/repos", {"type": "owner"}))
        found = [r["full_name"] for r in listing if not r.get("archived")]
        if on_private is not None:
            for entry in listing:
                if entry.get("private"):
                    on_private(entry["full_name"])
        log.info("%s expanded to %s", name, counted(len(found), "repository", "repositories"))
        result.extend(found)
    # GitHub's names are case-insensitive: acme/* and ACME/Web name acme/web once.
    return list({name.lower(): name for name in reversed(result)}.values())[::-1]


def _rest_pages(
    clients: GitHubClients, path: str, parameters: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    page = 1
    while True:
        with PYGITHUB_LOCK:
            _headers, items = clients.rest.requester.requestJsonAndCheck(
                "GET", path, parameters={**parameters, "per_page": 100, "page": page}
            )
        yield from items
        if len(items) < 100:
            return
        page += 1
