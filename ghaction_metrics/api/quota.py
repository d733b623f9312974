"""Rate limits and retries: how long to wait, and when to stop waiting.

GitHub signals three different things that all look like "try later": a primary limit that
is spent until a reset time (REST 403 with ``x-ratelimit-remaining: 0``, GraphQL HTTP 200
with a ``RATE_LIMITED`` error), a secondary limit (403 or 429, usually with ``retry-after``),
and plain failures (5xx, timeouts). The first is waited out only within the run's
``max-wait``; the others are retried a bounded number of times with exponential backoff and
jitter. Sleeping and the clock are injected so tests never wait for real.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


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

    def pause(self, seconds: float, reason: str) -> None:
        log.info("%s; retrying in %.1f s", reason, seconds)
        with self._lock:
            self.slept += seconds
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
