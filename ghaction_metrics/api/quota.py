"""Rate limits and retries: how long to wait, and when to stop waiting.

GitHub signals three different things that all look like "try later": a primary limit that
is spent until a reset time (REST 403 with ``x-ratelimit-remaining: 0``, GraphQL HTTP 200
with a ``RATE_LIMITED`` error), a secondary limit (403 or 429, usually with ``retry-after``),
and plain failures (5xx, timeouts). The first is waited out only within the run's
``max-wait``; a secondary limit is waited as GitHub asks, within what is left of
``max-wait`` and never longer than a fixed ceiling; plain failures are retried a bounded
number of times with exponential backoff and jitter. No single wait is longer than what is
left of ``max-wait`` plus one second (GitHub counts in whole seconds). Sleeping and the
clock are injected so tests never wait for real.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

# The longest wait a secondary limit may impose on a run, whatever max-wait allows: GitHub's
# penalties are minutes long, and a run that waits longer would rather report and stop.
SECONDARY_CEILING = 15 * 60.0
# GitHub's documented message for a secondary limit (REST and GraphQL alike).
SECONDARY_MESSAGE = "secondary rate limit"
# GraphQL error types that mean "spent": the primary budget (or, with quota left, a burst).
RATE_LIMITED_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})

Refusal = Literal["primary", "secondary", "forbidden"]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries per request for secondary limits, 5xx and timeouts
    base_delay: float = 1.0  # seconds before the second try; doubles each time
    max_delay: float = 60.0
    max_wait: float = 600.0  # longest total wait for primary-limit resets in one run


class QuotaExhaustedError(Exception):
    """The primary rate limit is spent and its reset is further away than ``max-wait`` allows."""

    def __init__(self, api: str, reset_at: float, waited: float) -> None:
        when = time.strftime("%H:%M:%S UTC", time.gmtime(reset_at))
        super().__init__(
            f"the {api} rate limit is used up until {when}, beyond the input max-wait "
            f"({waited:.0f} s already waited this run)"
        )
        self.api = api
        self.reset_at = reset_at


class SecondaryLimitError(QuotaExhaustedError):
    """GitHub keeps asking to slow down (a secondary rate limit) longer than the run may wait.

    A QuotaExhaustedError too: what was collected is published, marked partial, as when the
    primary limit runs out.
    """

    def __init__(self, api: str, asked: float | None, allowed: float, now: float) -> None:
        wait = f"asked to wait {asked:.0f} s" if asked is not None else "kept refusing requests"
        Exception.__init__(
            self,
            f"GitHub's {api} secondary rate limit {wait}, longer than this run may still wait "
            f"({allowed:.0f} s, from the input max-wait and a {SECONDARY_CEILING:.0f} s "
            "ceiling)",
        )
        self.api = api
        self.reset_at = now + (asked or 0.0)


class Waiter:
    """Sleeps on behalf of the clients, within the policy's bounds."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self.waited_for_reset = 0.0
        self.slept = 0.0
        # Threads collecting in parallel meet the same reset: they wait for it together, and
        # the run's max-wait counts that wait once.
        self._lock = threading.Lock()
        self._waiting_until = 0.0

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based): exponential, half of it jittered.

        Half fixed, half random: two runs that failed together do not retry in lockstep, and
        no retry comes back immediately.
        """
        ceiling = min(self.policy.max_delay, self.policy.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + self.jitter() * ceiling / 2

    def allowance(self) -> float:
        """The longest one wait may be now: what is left of max-wait and one second, and never
        more than the ceiling."""
        left = max(0.0, self.policy.max_wait - self.waited_for_reset)
        return min(SECONDARY_CEILING, left + 1.0)

    def pause(self, seconds: float, reason: str) -> None:
        """Back off after a failure: ``seconds``, or less when max-wait leaves less."""
        with self._lock:
            seconds = min(seconds, self.allowance())
            self.slept += seconds
        log.info("%s; retrying in %.1f s", reason, seconds)
        self.sleep(seconds)

    def slow_down(self, api: str, asked: float | None, attempt: int) -> None:
        """Wait out a secondary limit: the ``retry-after`` GitHub gave, else a backoff.

        A ``retry-after`` longer than the run may still wait raises SecondaryLimitError at
        once: a shorter wait would only be refused again. The wait counts against max-wait.
        """
        with self._lock:
            allowed = self.allowance()
            if asked is not None and asked > allowed:
                raise SecondaryLimitError(api, asked, allowed, self.clock())
            seconds = asked if asked is not None else min(self.backoff(attempt), allowed)
            self.waited_for_reset += seconds
            self.slept += seconds
        log.info("GitHub's %s secondary rate limit; retrying in %.1f s", api, seconds)
        self.sleep(seconds)

    def wait_for_reset(self, api: str, reset_at: float) -> None:
        """Wait until the primary limit resets, or raise QuotaExhaustedError if that is too far."""
        with self._lock:
            now = self.clock()
            # One second more: GitHub does not say where in that second the reset happens.
            until = max(now, reset_at) + 1.0
            # Only the part of this wait that no other thread is already waiting out counts.
            extra = max(0.0, until - max(now, self._waiting_until))
            if self.waited_for_reset + extra > self.policy.max_wait:
                raise QuotaExhaustedError(api, reset_at, self.waited_for_reset)
            self.waited_for_reset += extra
            self._waiting_until = max(self._waiting_until, until)
            seconds = until - now
            self.slept += seconds
        log.warning(
            "The %s rate limit is used up; waiting %.0f s for its reset (input max-wait allows "
            "%.0f s in all)",
            api,
            seconds,
            self.policy.max_wait,
        )
        self.sleep(seconds)


def retry_after(headers: dict[str, str] | object) -> float | None:
    """The ``retry-after`` header in seconds, when present and numeric."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    value = get("Retry-After") or get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def primary_reset(headers: object) -> float | None:
    """The reset time (epoch seconds) when the headers say the primary budget is spent."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    remaining = get("X-RateLimit-Remaining") or get("x-ratelimit-remaining")
    reset = get("X-RateLimit-Reset") or get("x-ratelimit-reset")
    if remaining is None or str(remaining).strip() != "0" or reset is None:
        return None
    try:
        return float(reset)
    except ValueError:
        return None


def reset_time(headers: object) -> float | None:
    """The ``x-ratelimit-reset`` time (epoch seconds), whatever remains."""
    get = getattr(headers, "get", None)
    value = get("X-RateLimit-Reset") or get("x-ratelimit-reset") if get else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def refusal(
    status: int, headers: object, message: str, types: Collection[str] = ()
) -> Refusal | None:
    """Why GitHub refused a request, read from its status, headers and message, never guessed.

    ``primary``: the budget is spent (``x-ratelimit-remaining: 0``). ``secondary``: 429, a
    ``retry-after``, GitHub's documented message, or a GraphQL ``RATE_LIMITED`` error with
    budget left. ``forbidden``: any other 403, a permission the token lacks or something it
    may not see, which its message and the caller's context tell apart. None: no refusal.
    """
    limited = bool(RATE_LIMITED_TYPES.intersection(types))
    if status not in (403, 429) and not limited:
        return None
    if primary_reset(headers) is not None:
        return "primary"
    if limited or status == 429 or retry_after(headers) is not None:
        return "secondary"
    if SECONDARY_MESSAGE in message.lower():
        return "secondary"
    return "forbidden"
