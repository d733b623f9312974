"""Connections to GitHub: PyGithub for REST, a thin GraphQL transport of our own.

PyGithub's ``graphql_query`` raises on any ``errors`` entry, discarding partial data and
rate-limit details, and its requester paces every POST as a write, GraphQL reads included.
So GraphQL goes through its own session and errors are classified here.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubRetry

from ghaction_metrics.api.quota import RetryPolicy, Waiter, primary_reset, reset_time, retry_after

log = logging.getLogger(__name__)

# GraphQL error types that mean "spent": the primary budget (or, with quota left, a burst).
_RATE_LIMITED = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
_RATE_LIMITED_RETRIES = 2

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


class PageTooSlowError(Exception):
    """GitHub gave up on a query (502/504) or the answer did not come in time.

    Raised instead of retrying when the caller can make the query lighter (smaller pages),
    since the same query would most likely fail the same way.
    """


# PyGithub's connection object holds the request being sent between two calls (``request``
# stores it, ``getresponse`` sends it), so two threads sharing a Github object can send each
# other's requests. REST calls made while repositories are collected in parallel take this.
PYGITHUB_LOCK = threading.RLock()


@dataclass
class QueryCost:
    """Points spent, summed over the run, from ``rateLimit { cost remaining resetAt }``.

    Shared by the threads that collect repositories in parallel, hence the lock.
    """

    points: int = 0
    remaining: int | None = None
    reset_at: str | None = None
    queries: int = 0  # GraphQL requests sent, failed ones included
    secondary_limits: int = 0  # answers asking to slow down (a secondary rate limit)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def sent(self) -> None:
        with self._lock:
            self.queries += 1

    def slowed(self) -> None:
        with self._lock:
            self.secondary_limits += 1

    def spent(self, rate: dict[str, Any]) -> None:
        with self._lock:
            self.points += int(rate.get("cost") or 0)
            self.remaining = rate.get("remaining")
            self.reset_at = rate.get("resetAt")


@dataclass
class GitHubClients:
    rest: Github
    session: requests.Session
    graphql_url: str
    timeout: float = 15
    cost: QueryCost = field(default_factory=QueryCost)

    waiter: Waiter = field(default_factory=Waiter)

    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        shrinkable: bool = False,
        tolerate: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        """Run one GraphQL document; return ``data`` or raise.

        Queries are retried on 5xx, timeouts, secondary limits and errors that came with
        partial data; a spent primary limit is waited out within ``max-wait`` (else
        QuotaExhaustedError). Mutations are retried only when GitHub refused them unprocessed (a
        rate limit), never after a failure that may have applied them. With ``shrinkable``
        a 502/504 or timeout raises PageTooSlowError at once. Errors whose type is in
        ``tolerate`` (e.g. NOT_FOUND for ids that no longer exist) come back with the data.
        """
        mutation = query.lstrip().startswith("mutation")
        policy = self.waiter.policy
        attempt = limited = 0
        while True:
            attempt += 1
            last = attempt >= policy.attempts
            self.cost.sent()
            try:
                response = self.session.post(
                    self.graphql_url,
                    json={"query": query, "variables": variables or {}},
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                if shrinkable and isinstance(exc, requests.Timeout):
                    raise PageTooSlowError(f"no answer within {self.timeout} s") from exc
                if mutation or last:
                    raise
                self.waiter.pause(self.waiter.backoff(attempt), f"GraphQL {type(exc).__name__}")
                continue
            status, headers = response.status_code, response.headers
            if status >= 500:
                if shrinkable and status in (502, 504):
                    raise PageTooSlowError(f"GitHub answered HTTP {status}")
                if mutation or last:
                    raise GraphQLError(f"GraphQL answered HTTP {status}", [], status)
                self.waiter.pause(self.waiter.backoff(attempt), f"GraphQL HTTP {status}")
                continue
            payload = _json(response)
            errors: list[dict[str, Any]] = payload.get("errors") or []
            types = {str(e.get("type", "")) for e in errors}
            if status in (403, 429) or types & _RATE_LIMITED:
                reset = primary_reset(headers)
                if types & _RATE_LIMITED:
                    limited += 1
                    # RATE_LIMITED also answers a query costing more than what remains:
                    # after two short retries it is taken as the primary limit.
                    if limited > _RATE_LIMITED_RETRIES and reset is None:
                        reset = reset_time(headers)
                if reset is not None:
                    self.waiter.wait_for_reset("GraphQL", reset)
                    attempt = 0
                    continue
                wait = retry_after(headers)
                secondary = wait is not None or bool(types & _RATE_LIMITED) or status == 429
                secondary = secondary or "secondary rate limit" in str(payload.get("message"))
                if secondary and not last:
                    self.cost.slowed()
                    delay = max(wait or 0.0, self.waiter.backoff(attempt))
                    self.waiter.pause(delay, "GraphQL secondary rate limit")
                    continue
            data = payload.get("data")
            unexpected = [e for e in errors if str(e.get("type", "")) not in tolerate]
            if status != 200 or unexpected:
                message = "; ".join(str(e.get("message", e)) for e in unexpected)
                error = GraphQLError(message or f"HTTP {status}", unexpected, status)
                # Errors beside partial data, with no type, are GitHub's "something went
                # wrong" (a timeout inside the query): worth another try for a read.
                transient = bool(data) and all(not e.get("type") for e in unexpected)
                if transient and not mutation and not last:
                    self.waiter.pause(self.waiter.backoff(attempt), f"GraphQL error: {message}")
                    continue
                raise error
            result: dict[str, Any] = data or {}
            rate = result.get("rateLimit")
            if isinstance(rate, dict):
                self.cost.spent(rate)
            return result


def _json(response: requests.Response) -> dict[str, Any]:
    body = response.text
    try:
        payload = json.loads(body) if body else {}
    except json.JSONDecodeError as exc:
        raise GraphQLError(
            f"GraphQL answered HTTP {response.status_code} with no JSON", [], response.status_code
        ) from exc
    return payload if isinstance(payload, dict) else {}


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
    policy: RetryPolicy | None = None,
    waiter: Waiter | None = None,
) -> GitHubClients:
    rest = Github(
        auth=Auth.Token(token),
        base_url=api_url,
        per_page=100,
        timeout=int(timeout),
        user_agent=USER_AGENT,
        retry=GithubRetry(
            total=retries,
            allowed_methods=_RETRY_METHODS,
            status_forcelist=[429, *range(500, 600)],
            backoff_factor=0.5,
            backoff_jitter=0.5,
            secondary_rate_wait=30,
            max_rate_limit_wait=(policy or RetryPolicy()).max_wait,
        ),
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
    return GitHubClients(
        rest=rest,
        session=session,
        graphql_url=graphql_url,
        timeout=timeout,
        waiter=waiter or Waiter(policy),
    )
