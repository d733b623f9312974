"""What the request handlers (rest.py, graphql_api.py) share with the server: tokens, rate
buckets, responses, and the interface of the server they are handed.

The handlers depend on this module only, and the server imports the handlers, so there is no
import cycle between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ghaction_metrics_dev.emulator.payloads import PinInfo, Urls, bare_login
from ghaction_metrics_dev.emulator.world import World

TokenKind = Literal["workflow", "pat", "app"]


@dataclass(frozen=True)
class TokenInfo:
    """Who a token authenticates and what it may do.

    ``kind`` "workflow" is the ``GITHUB_TOKEN`` of a workflow run (an installation token of the
    ``github-actions`` app): it cannot read ``/user`` and has 1,000 points an hour.
    ``repositories`` is the set of ``owner/name`` the token can see; None means all.
    """

    login: str
    kind: TokenKind = "pat"
    permissions: dict[str, str] = field(default_factory=dict)
    repositories: frozenset[str] | None = None

    @property
    def graphql_login(self) -> str:
        return bare_login(self.login)

    def can_write(self, scope: str) -> bool:
        return self.permissions.get(scope) == "write"

    def can_see(self, full_name: str) -> bool:
        return self.repositories is None or full_name in self.repositories


@dataclass
class RateBucket:
    limit: int
    remaining: int
    reset: int

    @property
    def used(self) -> int:
        return self.limit - self.remaining


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    graphql_cost: int | None = None
    raw: bytes | None = None  # a body sent as it is (a report file), not as JSON


class ServerState(Protocol):
    """The part of ``EmulatorServer`` a request handler uses."""

    world: World
    comment_pins: dict[int, PinInfo]
    commit_identities: dict[str, dict[str, Any]]
    cache: dict[Any, Any]
    clock: Callable[[], float]

    @property
    def url(self) -> str: ...

    @property
    def urls(self) -> Urls: ...

    def authenticate(self, headers: dict[str, str]) -> TokenInfo | Literal[False] | None: ...

    def rest_bucket(self, token: TokenInfo) -> RateBucket: ...

    def graphql_bucket(self, token: TokenInfo) -> RateBucket: ...

    @staticmethod
    def rate_headers(bucket: RateBucket, resource: str) -> dict[str, str]: ...
