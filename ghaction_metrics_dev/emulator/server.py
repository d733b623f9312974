"""An HTTP server that answers GitHub's REST and GraphQL APIs from an emulator ``World``.

Clients talk to it exactly as to GitHub Enterprise Server: REST under ``/api/v3`` and GraphQL at
``/api/graphql``. Every request is recorded so tests and benchmarks can count REST requests and
GraphQL points on the server side, where a client cannot under-report them.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from ghaction_metrics_dev.emulator.copilot import REPORTS_PREFIX, serve_report
from ghaction_metrics_dev.emulator.graphql_api import handle as handle_graphql
from ghaction_metrics_dev.emulator.payloads import PinInfo, Urls, error
from ghaction_metrics_dev.emulator.rest import handle as handle_rest
from ghaction_metrics_dev.emulator.state import RateBucket, Response, TokenInfo, TokenKind
from ghaction_metrics_dev.emulator.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int
    kind: Literal["rest", "graphql", "download"]
    request_body: bytes
    response_body: bytes
    graphql_cost: int | None
    at: float


@dataclass(frozen=True)
class Latency:
    """How long GitHub takes to answer: a fixed cost per request plus a cost per node returned.

    A request that would take longer than ``limit`` seconds is cut at ``limit`` and answered
    with 502, as GitHub does past its 10-second query limit (the points are still spent).
    """

    per_request: float = 0.0
    per_node: float = 0.0
    limit: float = 10.0

    def seconds(self, nodes: int) -> float:
        return self.per_request + self.per_node * nodes


FaultKind = Literal[
    "server_error",  # a 5xx answer (502 by default), before or after the request is applied
    "timeout",  # the answer is held back for ``delay`` seconds, past the client's timeout
    "secondary_limit",  # 403 (or 429) with ``retry-after``: GitHub's secondary rate limit
    "graphql_rate_limited",  # HTTP 200 with an ``errors`` entry of type RATE_LIMITED
    "partial",  # HTTP 200 with ``data`` (repository nulled) and an ``errors`` entry
    "not_found",  # what a repository the token no longer sees answers: 404, or NOT_FOUND
]


@dataclass
class Fault:
    kind: FaultKind
    count: int = 1  # how many matching requests it hits
    api: Literal["rest", "graphql", "any"] = "any"
    status: int = 0  # 0: the kind's usual status
    retry_after: int | None = 1
    delay: float = 0.0
    after_processing: bool = False  # server_error: apply the request, then fail the answer
    method: str | None = None  # only requests with this verb
    # only requests whose body holds every one of these (e.g. one repository's query)
    body_contains: tuple[str, ...] = ()
    path_contains: str = ""  # only requests whose path holds this


class Faults:
    """Switches tests arm to make the emulator misbehave the way GitHub sometimes does."""

    def __init__(self) -> None:
        self._armed: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[FaultKind, str, str]] = []  # (kind, method, path)

    def arm(self, kind: FaultKind, **options: Any) -> Fault:
        fault = Fault(kind, **options)
        with self._lock:
            self._armed.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, api: str, method: str, path: str, body: bytes = b"") -> Fault | None:
        with self._lock:
            for fault in self._armed:
                if fault.api not in (api, "any") or (fault.method and fault.method != method):
                    continue
                if not all(part.encode() in body for part in fault.body_contains):
                    continue
                if fault.path_contains not in path:
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self._armed.remove(fault)
                self.fired.append((fault.kind, method, path))
                return fault
        return None


def count_nodes(body: Any) -> int:
    """Objects returned: list items of a REST answer, connection items of a GraphQL one."""
    if isinstance(body, list):
        return len(body)
    if not isinstance(body, dict):
        return 0
    if "data" in body or "errors" in body:
        return _connection_items(body.get("data"))
    return 1


def _connection_items(node: Any) -> int:
    total = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("nodes", "edges") and isinstance(value, list):
                total += sum(1 for item in value if item is not None)
            total += _connection_items(value)
    elif isinstance(node, list):
        for item in node:
            total += _connection_items(item)
    return total


def limits_for(kind: TokenKind) -> tuple[int, int]:
    """(REST, GraphQL) hourly budgets: the workflow token gets 1,000 of each per repository."""
    if kind == "workflow":
        return 1_000, 1_000
    return 5_000, 5_000


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive between requests, as clients expect from GitHub.
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add about 40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.emulator.dispatch(
            self.command, self.path, dict(self.headers.items()), body
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator: " + format, *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    emulator: EmulatorServer


class EmulatorServer:
    """Serves ``world`` on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(
        self,
        world: World,
        tokens: dict[str, TokenInfo],
        host: str = "127.0.0.1",
        port: int = 0,
        latency: Latency | None = None,
    ) -> None:
        self.world = world
        self.tokens = dict(tokens)
        self.lock = threading.RLock()
        self._host = host
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._records: list[RequestRecord] = []
        self._records_lock = threading.Lock()
        self.latency = latency or Latency()
        self.faults = Faults()
        # Rate-limit windows follow this clock; tests replace it to pass an hour instantly.
        self.clock: Callable[[], float] = time.time
        self.sleep: Callable[[float], None] = time.sleep
        self._rest_buckets: dict[str, RateBucket] = {}
        self._graphql_buckets: dict[str, RateBucket] = {}
        # Side tables for facts GitHub reports but the world does not model.
        self.comment_pins: dict[int, PinInfo] = {}
        self.commit_identities: dict[str, dict[str, Any]] = {}
        self.cache: dict[Any, Any] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.emulator = self
        self._httpd = httpd
        # A short poll interval keeps stop() fast; shutdown waits for the next poll.
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="github-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/api/graphql"

    @property
    def urls(self) -> Urls:
        return Urls(self.url)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._records_lock:
            return list(self._records)

    # -- rate limits -----------------------------------------------------------------------
    def _bucket(self, table: dict[str, RateBucket], token: TokenInfo, index: int) -> RateBucket:
        # Budgets belong to the identity, so two tokens of the same login share one.
        key = f"{token.kind}:{token.login}"
        bucket = table.get(key)
        now = int(self.clock())
        if bucket is None:
            limit = limits_for(token.kind)[index]
            bucket = table[key] = RateBucket(limit=limit, remaining=limit, reset=now + 3600)
        elif now >= bucket.reset:
            # A new hour: the budget refills.
            bucket.remaining = bucket.limit
            bucket.reset = now + 3600
        return bucket

    def rest_bucket(self, token: TokenInfo) -> RateBucket:
        return self._bucket(self._rest_buckets, token, 0)

    def graphql_bucket(self, token: TokenInfo) -> RateBucket:
        return self._bucket(self._graphql_buckets, token, 1)

    def exhaust(self, token: TokenInfo, api: Literal["rest", "graphql"], reset_in: float) -> None:
        """Spend a token's whole primary budget; it refills ``reset_in`` seconds from now."""
        with self.lock:
            bucket = self.rest_bucket(token) if api == "rest" else self.graphql_bucket(token)
            bucket.remaining = 0
            bucket.reset = int(self.clock() + reset_in)

    @staticmethod
    def rate_headers(bucket: RateBucket, resource: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.remaining),
            "X-RateLimit-Reset": str(bucket.reset),
            "X-RateLimit-Used": str(bucket.used),
            "X-RateLimit-Resource": resource,
        }

    # -- dispatch --------------------------------------------------------------------------
    def authenticate(self, headers: dict[str, str]) -> TokenInfo | Literal[False] | None:
        """The token's info; None when no credentials were sent; False for an unknown token."""
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        scheme, _, secret = value.strip().partition(" ")
        if not secret:
            return None
        if scheme.lower() not in ("token", "bearer"):
            return False
        return self.tokens.get(secret.strip(), False)

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        kind: Literal["rest", "graphql", "download"] = (
            "graphql" if path == "/api/graphql" else "rest"
        )
        if path.startswith(REPORTS_PREFIX):
            kind = "download"  # a signed report link: no token, no rate limit
        fault = self.faults.take(kind, method, path, body)
        response = self._before(fault, kind) if fault else None
        if response is None and kind == "download":
            with self.lock:
                response = serve_report(self, path, query, headers)
        if response is None:
            try:
                with self.lock:
                    if kind == "graphql":
                        response = handle_graphql(self, method, headers, body)
                    else:
                        response = handle_rest(self, method, path, query, headers, body)
            except Exception:
                logger.exception("emulator failed on %s %s", method, raw_path)
                response = Response(500, error("Server Error", 500))
            if fault is not None:
                response = self._after(fault, response)
        # The latency model runs outside the lock, so concurrent clients overlap as on GitHub.
        delay = self.latency.seconds(count_nodes(response.body))
        if delay > self.latency.limit:
            delay = self.latency.limit
            response = Response(
                502,
                {"message": "We couldn't respond to your request in time. Sorry about that."},
                graphql_cost=response.graphql_cost,
            )
        if delay > 0:
            self.sleep(delay)
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        if response.raw is not None:
            payload = response.raw
        out_headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            "X-GitHub-Media-Type": "github.v3; format=json",
            "Server": "github-emulator",
            **response.headers,
        }
        record = RequestRecord(
            method=method,
            path=path,
            query=query,
            status=response.status,
            kind=kind,
            request_body=body,
            response_body=payload,
            graphql_cost=response.graphql_cost,
            at=time.time(),
        )
        with self._records_lock:
            self._records.append(record)
        return response.status, out_headers, payload

    # -- faults ----------------------------------------------------------------------------
    def _before(self, fault: Fault, kind: str) -> Response | None:
        """The answer a fault gives instead of handling the request, if it replaces it."""
        if fault.kind == "timeout":
            self.sleep(fault.delay)
            return None
        if fault.kind == "server_error" and not fault.after_processing:
            return Response(fault.status or 502, error("Server Error", fault.status or 502))
        if fault.kind == "secondary_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before "
                "you try again."
            )
            return Response(fault.status or 403, error(message, fault.status or 403), headers)
        if fault.kind == "graphql_rate_limited" and kind == "graphql":
            body = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded."}]}
            return Response(200, body, graphql_cost=0)
        if fault.kind == "not_found":
            if kind == "rest":
                return Response(404, error("Not Found", 404))
            message = "Could not resolve to a Repository with the name given."
            missing: dict[str, Any] = {
                "data": {"repository": None},
                "errors": [{"type": "NOT_FOUND", "path": ["repository"], "message": message}],
            }
            return Response(200, missing, graphql_cost=1)
        return None

    @staticmethod
    def _after(fault: Fault, response: Response) -> Response:
        if fault.kind == "server_error":
            return Response(fault.status or 502, error("Server Error", fault.status or 502))
        body = response.body
        data = body.get("data") if isinstance(body, dict) else None
        if fault.kind == "partial" and isinstance(body, dict) and isinstance(data, dict):
            field_name = next((k for k in data if k != "rateLimit"), None)
            if field_name is not None:
                data[field_name] = None
                body.setdefault("errors", []).append(
                    {
                        "path": [field_name],
                        "message": "Something went wrong while executing your query. This may "
                        "be the result of a timeout, or it could be a GitHub bug.",
                    }
                )
        return response
