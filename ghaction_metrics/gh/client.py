"""Connections to GitHub: PyGithub for REST, a thin GraphQL transport of our own.

PyGithub's ``graphql_query`` raises on any ``errors`` entry, discarding partial data and
rate-limit details, and its requester paces every POST as a write, GraphQL reads included.
So GraphQL goes through its own session and errors are classified here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubRetry

log = logging.getLogger(__name__)

# urllib3 retries: idempotent verbs only. PyGithub's default also retries POST, which can
# duplicate an issue or a comment when the first attempt did reach GitHub.
_RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class GraphQLError(Exception):
    """A GraphQL response with an ``errors`` entry (HTTP 200 on GitHub) or a non-200 status."""

    def __init__(self, message: str, errors: list[dict[str, Any]], status: int) -> None:
        super().__init__(message)
        self.errors = errors
        self.status = status

    @property
    def types(self) -> set[str]:
        return {str(e.get("type", "")) for e in self.errors}


@dataclass
class QueryCost:
    """Points spent, summed over the run, from ``rateLimit { cost remaining }``."""

    points: int = 0
    remaining: int | None = None
    queries: int = 0


@dataclass
class GitHubClients:
    rest: Github
    session: requests.Session
    graphql_url: str
    timeout: float = 15
    cost: QueryCost = field(default_factory=QueryCost)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL document; return ``data`` or raise GraphQLError."""
        response = self.session.post(
            self.graphql_url,
            json={"query": query, "variables": variables or {}},
            timeout=self.timeout,
        )
        status, body = response.status_code, response.text
        try:
            payload = json.loads(body) if body else {}
        except json.JSONDecodeError as exc:
            raise GraphQLError(f"GraphQL answered HTTP {status} with no JSON", [], status) from exc
        errors = payload.get("errors") or []
        if status != 200 or errors:
            message = "; ".join(str(e.get("message", e)) for e in errors) or f"HTTP {status}"
            raise GraphQLError(message, errors, status)
        data: dict[str, Any] = payload.get("data") or {}
        rate = data.get("rateLimit")
        self.cost.queries += 1
        if isinstance(rate, dict):
            self.cost.points += int(rate.get("cost") or 0)
            self.cost.remaining = rate.get("remaining")
        return data


USER_AGENT = "ghaction-metrics"


def repo_path(repository: str) -> str:
    """``/repos/OWNER/NAME`` for ``owner/name``, each part URL-quoted."""
    owner, sep, name = repository.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f"repository must be 'owner/name', got {repository!r}")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def connect(
    token: str,
    api_url: str,
    graphql_url: str,
    *,
    seconds_between_writes: float = 0.5,
    timeout: float = 15,
    retries: int = 5,
) -> GitHubClients:
    rest = Github(
        auth=Auth.Token(token),
        base_url=api_url,
        per_page=100,
        timeout=int(timeout),
        user_agent=USER_AGENT,
        retry=GithubRetry(total=retries, allowed_methods=_RETRY_METHODS),
        # GitHub asks for serial requests and a pause between content-creating ones.
        seconds_between_requests=0,
        seconds_between_writes=seconds_between_writes,
    )
    session = requests.Session()
    session.headers.update(
        {
            "Authorization": f"bearer {token}",
            "User-Agent": USER_AGENT,
            "Accept": "application/vnd.github+json",
        }
    )
    return GitHubClients(rest=rest, session=session, graphql_url=graphql_url, timeout=timeout)
