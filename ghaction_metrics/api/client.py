"""The one way to GitHub: every REST and GraphQL request of the action is sent from here.

One session, one policy (quota.py): failures (5xx, timeouts, resets) retried with capped,
jittered backoff when sending again is safe; secondary limits waited as GitHub asks within
what is left of ``max-wait`` and a ceiling; a spent primary limit waited out within
``max-wait``; any other 403 handed back to the caller as the refusal it is.

PyGithub stays for its exception types, which the callers catch, and REST calls keep the
shape of its ``Requester.requestJsonAndCheck``. Its own transport is not used: its urllib3
retries also resend POSTs (a duplicate issue or comment when the first did reach GitHub),
sleep a ``retry-after`` in full whatever ``max-wait`` says, and pace writes with real
sleeps; its ``graphql_query`` raises on any ``errors`` entry, discarding partial data and
rate-limit details.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from github import GithubException
from github.Requester import Requester

from ghaction_metrics.api.quota import (
    RATE_LIMITED_TYPES,
    RetryPolicy,
    SecondaryLimitError,
    Waiter,
    primary_reset,
    refusal,
    reset_time,
    retry_after,
)

log = logging.getLogger(__name__)

# After this many RATE_LIMITED answers without a spent budget in the headers, the limit is
# taken as the primary one (it also answers a query costing more than what remains).
_RATE_LIMITED_RETRIES = 2

# Verbs sent again after a failure that may have reached GitHub: sending them twice does what
# sending them once does. A POST or PATCH is not (a duplicate issue or comment); GitHub's
# refusals (rate limits) are sent again whatever the verb, as nothing was done.
_REPLAYABLE = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_WRITES_PACED = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class GitHubUnreachableError(Exception):
    """No answer from GitHub (connection refused or reset, or none within the timeout)."""


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


# REST calls made while repositories are collected in parallel take this lock (GitHub asks
# for serial requests); the name is from when they went through PyGithub's requester.
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


@dataclass(frozen=True)
class Answer:
    """GitHub's answer to one request: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    text: str

    def payload(self) -> Any:
        """The body as JSON; None when empty, PyGithub's ``{"data": text}`` when not JSON."""
        if not self.text:
            return None
        try:
            return json.loads(self.text)
        except json.JSONDecodeError:
            return {"data": self.text}

    def message(self) -> str:
        payload = self.payload()
        if not isinstance(payload, dict):
            return ""
        errors = payload.get("errors")
        texts = [str(payload.get("message") or "")]
        if isinstance(errors, list):
            texts += [str(e.get("message") or "") for e in errors if isinstance(e, dict)]
        return " ".join(texts)

    def error_types(self) -> set[str]:
        """GraphQL ``errors[].type``."""
        payload = self.payload()
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if not isinstance(errors, list):
            return set()
        return {str(e.get("type", "")) for e in errors if isinstance(e, dict)}


class Transport:
    """One session to GitHub and the policy every request is sent under."""

    def __init__(
        self,
        token: str,
        waiter: Waiter,
        *,
        timeout: float = 15,
        seconds_between_writes: float = 0.5,
    ) -> None:
        self.waiter = waiter
        self.timeout = timeout
        self.seconds_between_writes = seconds_between_writes
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "User-Agent": USER_AGENT,
                "Accept": "application/vnd.github+json",
            }
        )
        self.sent = 0  # requests sent, every attempt counted
        self._lock = threading.Lock()
        self._pace_lock = threading.Lock()
        self._last_write = 0.0

    def send(
        self,
        method: str,
        url: str,
        *,
        api: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        replayable: bool,
        shrinkable: bool = False,
        cost: QueryCost | None = None,
        transient: Callable[[Answer], str | None] | None = None,
    ) -> Answer:
        """Send one request under the policy; the answer that ends it, or raise.

        Raises PageTooSlowError (``shrinkable``: a 502/504 or timeout, which a lighter query
        may avoid), GitHubUnreachableError (no answer), QuotaExhaustedError (a spent primary
        limit beyond max-wait) or SecondaryLimitError (a secondary limit longer than the run
        may wait). ``transient(answer)`` names a failure inside a successful answer worth
        another try (GraphQL errors beside partial data).
        """
        policy = self.waiter.policy
        attempt = limited = 0
        while True:
            attempt += 1
            last = attempt >= policy.attempts
            if api == "REST" and method in _WRITES_PACED:
                self._pace()
            with self._lock:
                self.sent += 1
            if cost is not None:
                cost.sent()
            try:
                response = self.session.request(
                    method, url, params=params, json=json_body, timeout=self.timeout
                )
            except requests.RequestException as exc:
                if shrinkable and isinstance(exc, requests.Timeout):
                    raise PageTooSlowError(f"no answer within {self.timeout} s") from exc
                if not replayable or last:
                    raise GitHubUnreachableError(
                        f"no answer from GitHub's {api} API ({type(exc).__name__})"
                    ) from exc
                self.waiter.pause(self.waiter.backoff(attempt), f"{api} {type(exc).__name__}")
                continue
            answer = Answer(
                response.status_code,
                {k.lower(): v for k, v in response.headers.items()},
                response.text,
            )
            if answer.status >= 500:
                if shrinkable and answer.status in (502, 504):
                    raise PageTooSlowError(f"GitHub answered HTTP {answer.status}")
                if not replayable or last:
                    return answer
                self.waiter.pause(self.waiter.backoff(attempt), f"{api} HTTP {answer.status}")
                continue
            types = answer.error_types() if api == "GraphQL" else set()
            why = refusal(answer.status, answer.headers, answer.message(), types)
            if why in ("primary", "secondary"):
                reset = primary_reset(answer.headers)
                if RATE_LIMITED_TYPES & types:
                    limited += 1
                    if limited > _RATE_LIMITED_RETRIES and reset is None:
                        reset = reset_time(answer.headers)
                if reset is not None:
                    self.waiter.wait_for_reset(api, reset)
                    attempt = 0
                    continue
                if cost is not None:
                    cost.slowed()
                if last:
                    raise SecondaryLimitError(
                        api, None, self.waiter.allowance(), self.waiter.clock()
                    )
                self.waiter.slow_down(api, retry_after(answer.headers), attempt)
                continue
            reason = transient(answer) if transient is not None else None
            if reason and replayable and not last:
                self.waiter.pause(self.waiter.backoff(attempt), reason)
                continue
            return answer

    def count(self) -> None:
        """One more request sent (a download, which does not go through ``send``)."""
        with self._lock:
            self.sent += 1

    def _pace(self) -> None:
        """GitHub asks for a pause between content-creating requests."""
        with self._pace_lock:
            wait = self._last_write + self.seconds_between_writes - time.monotonic()
            if wait > 0:
                self.waiter.sleep(wait)
            self._last_write = time.monotonic()


class RestRequester:
    """REST calls through the transport, in the shape of PyGithub's Requester (callers reach
    it as ``clients.rest.requester``) and failing with PyGithub's exceptions."""

    def __init__(self, transport: Transport, api_url: str) -> None:
        self.transport = transport
        self.api_url = api_url.rstrip("/")
        parts = urlsplit(self.api_url)
        self._origin = f"{parts.scheme}://{parts.netloc}/"

    @property
    def requester(self) -> RestRequester:
        return self

    def requestJsonAndCheck(  # noqa: N802 - PyGithub's name, which the callers use
        self,
        verb: str,
        url: str,
        parameters: Mapping[str, Any] | None = None,
        input: Any = None,
    ) -> tuple[dict[str, str], Any]:
        """``(headers, JSON body)``; a GithubException for an error status."""
        answer = self.transport.send(
            verb,
            self._absolute(url),
            api="REST",
            params=parameters,
            json_body=input,
            replayable=verb in _REPLAYABLE,
        )
        data = answer.payload()
        headers = dict(answer.headers)
        if answer.status >= 400:
            raise Requester.createException(answer.status, headers, data)
        return headers, data

    def _absolute(self, url: str) -> str:
        if url.startswith("/"):
            return self.api_url + url
        # Links GitHub gives (the next page) must point at the same server: the token goes
        # with every request.
        if not url.startswith(self._origin):
            raise ValueError(f"refusing to send the token to {url!r}")
        return url


class DownloadRefusedError(Exception):
    """A download link this client will not follow (not https, or no host)."""


def redacted(url: str) -> str:
    """A signed link without its query string, which is the credential: safe to log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class Downloader:
    """Fetches the signed links GitHub hands out for report files.

    They point at another host (blob storage) and carry their own signature in the query
    string, so the request goes out on a session of its own, without the token: a link from
    an answer must never receive the token, whatever host it names. GitHub's links are https;
    an http link is followed only when the API itself is reached over http (an emulator).
    """

    def __init__(self, transport: Transport, api_url: str) -> None:
        self.transport = transport
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT})
        self._schemes = {"https", urlsplit(api_url).scheme}

    def get(self, url: str) -> Answer:
        """The file's answer (any status), after the same retries as any GET."""
        parts = urlsplit(url)
        if parts.scheme not in self._schemes or not parts.netloc:
            raise DownloadRefusedError(f"refusing to download {redacted(url)}")
        policy = self.transport.waiter.policy
        attempt = 0
        while True:
            attempt += 1
            self.transport.count()
            try:
                # Redirects are followed: the session carries no credential to pass on.
                response = self.session.get(url, timeout=self.transport.timeout)
            except requests.RequestException as exc:
                if attempt >= policy.attempts:
                    # The exception's text holds the link and its signature: not repeated.
                    raise GitHubUnreachableError(
                        f"no answer from {redacted(url)} ({type(exc).__name__})"
                    ) from None
                self.transport.waiter.pause(
                    self.transport.waiter.backoff(attempt), f"download {type(exc).__name__}"
                )
                continue
            answer = Answer(
                response.status_code,
                {k.lower(): v for k, v in response.headers.items()},
                response.text,
            )
            if answer.status >= 500 and attempt < policy.attempts:
                self.transport.waiter.pause(
                    self.transport.waiter.backoff(attempt), f"download HTTP {answer.status}"
                )
                continue
            return answer


@dataclass
class GitHubClients:
    rest: RestRequester
    transport: Transport
    graphql_url: str
    cost: QueryCost = field(default_factory=QueryCost)

    @functools.cached_property
    def downloads(self) -> Downloader:
        """Signed report links, fetched without the token (see Downloader)."""
        return Downloader(self.transport, self.rest.api_url)

    @property
    def waiter(self) -> Waiter:
        return self.transport.waiter

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

        def unexpected(payload: Any) -> list[dict[str, Any]]:
            errors = payload.get("errors") if isinstance(payload, dict) else None
            return [
                e
                for e in errors or []
                if isinstance(e, dict) and str(e.get("type", "")) not in tolerate
            ]

        def transient(answer: Answer) -> str | None:
            # Errors beside partial data, with no type, are GitHub's "something went wrong"
            # (a timeout inside the query): worth another try for a read.
            payload = answer.payload()
            errors = unexpected(payload)
            data = payload.get("data") if isinstance(payload, dict) else None
            if answer.status == 200 and errors and data and all(not e.get("type") for e in errors):
                return "GraphQL error: " + "; ".join(str(e.get("message", e)) for e in errors)
            return None

        answer = self.transport.send(
            "POST",
            self.graphql_url,
            api="GraphQL",
            json_body={"query": query, "variables": variables or {}},
            replayable=not mutation,
            shrinkable=shrinkable,
            cost=self.cost,
            transient=transient,
        )
        status = answer.status
        if status >= 500:
            raise GraphQLError(f"GraphQL answered HTTP {status}", [], status)
        payload = _json(answer)
        data = payload.get("data")
        errors = unexpected(payload)
        if status != 200 or errors:
            message = "; ".join(str(e.get("message", e)) for e in errors)
            raise GraphQLError(message or f"HTTP {status}", errors, status)
        result: dict[str, Any] = data or {}
        rate = result.get("rateLimit")
        if isinstance(rate, dict):
            self.cost.spent(rate)
        return result


def _json(answer: Answer) -> dict[str, Any]:
    try:
        payload = json.loads(answer.text) if answer.text else {}
    except json.JSONDecodeError as exc:
        raise GraphQLError(
            f"GraphQL answered HTTP {answer.status} with no JSON", [], answer.status
        ) from exc
    return payload if isinstance(payload, dict) else {}


USER_AGENT = "ghaction-metrics"


def github_message(exc: GithubException) -> str:
    """GitHub's own words in an error answer (its JSON ``message``), or the raw body."""
    data = exc.data
    if isinstance(data, dict):
        return str(data.get("message") or "")
    return str(data or "")


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
    """Clients for one run. ``retries`` (per request) applies when neither ``policy`` nor
    ``waiter`` says; ``waiter`` carries the sleep and clock, injected by tests."""
    waiter = waiter or Waiter(policy or RetryPolicy(attempts=retries + 1))
    transport = Transport(
        token, waiter, timeout=timeout, seconds_between_writes=seconds_between_writes
    )
    return GitHubClients(
        rest=RestRequester(transport, api_url),
        transport=transport,
        graphql_url=graphql_url,
    )
