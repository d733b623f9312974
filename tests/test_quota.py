"""Waiting rules: backoff bounds, the max-wait budget, rate-limit headers, the max-wait input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ghaction_metrics.api.quota import (
    SECONDARY_CEILING,
    QuotaExhaustedError,
    RetryPolicy,
    SecondaryLimitError,
    Waiter,
    primary_reset,
    refusal,
    reset_time,
    retry_after,
)
from ghaction_metrics.inputs.config import InputError, Inputs, env_name


class Sleeps:
    def __init__(self) -> None:
        self.now = 1000.0
        self.calls: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_backoff_doubles_is_jittered_and_capped(jitter: float) -> None:
    waiter = Waiter(RetryPolicy(base_delay=1, max_delay=8), jitter=lambda: jitter)
    delays = [waiter.backoff(n) for n in range(1, 8)]
    ceilings = [1, 2, 4, 8, 8, 8, 8]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling


def test_reset_within_max_wait_is_waited_out_and_counted() -> None:
    clock = Sleeps()
    waiter = Waiter(RetryPolicy(max_wait=600), sleep=clock.sleep, clock=lambda: clock.now)
    waiter.wait_for_reset("GraphQL", clock.now + 299)
    assert clock.calls == [300.0]
    # The budget is for the whole run: a second wait that would pass it is refused.
    with pytest.raises(QuotaExhaustedError, match="beyond the input max-wait"):
        waiter.wait_for_reset("GraphQL", clock.now + 400)
    assert clock.calls == [300.0]


def test_reset_beyond_max_wait_is_not_waited_for() -> None:
    clock = Sleeps()
    waiter = Waiter(RetryPolicy(max_wait=60), sleep=clock.sleep, clock=lambda: clock.now)
    with pytest.raises(QuotaExhaustedError) as raised:
        waiter.wait_for_reset("REST", clock.now + 3600)
    assert raised.value.reset_at == clock.now + 3600
    assert clock.calls == []


@pytest.mark.parametrize(
    ("headers", "after", "primary", "reset"),
    [
        ({"Retry-After": "30"}, 30.0, None, None),
        ({"retry-after": "x"}, None, None, None),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700"}, None, 1700.0, 1700.0),
        ({"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "1700"}, None, None, 1700.0),
        ({}, None, None, None),
    ],
)
def test_rate_limit_headers(
    headers: dict[str, str], after: float | None, primary: float | None, reset: float | None
) -> None:
    assert retry_after(headers) == after
    assert primary_reset(headers) == primary
    assert reset_time(headers) == reset


SPENT = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700"}
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)


@pytest.mark.parametrize(
    ("status", "headers", "message", "types", "expected"),
    [
        (403, SPENT, "API rate limit exceeded for installation ID 1.", (), "primary"),
        (429, SPENT, "", (), "primary"),
        (200, SPENT, "API rate limit exceeded.", ("RATE_LIMITED",), "primary"),
        (429, {}, "", (), "secondary"),
        (403, {"retry-after": "60"}, "", (), "secondary"),
        (403, {"x-ratelimit-remaining": "4000"}, SECONDARY, (), "secondary"),
        (200, {"x-ratelimit-remaining": "12"}, "", ("RATE_LIMIT",), "secondary"),
        (
            403,
            {"x-ratelimit-remaining": "12"},
            "Resource not accessible by integration",
            (),
            "forbidden",
        ),
        (403, {}, "Must have admin rights to Repository.", (), "forbidden"),
        (404, {}, "Not Found", (), None),
        (200, {}, "", ("NOT_FOUND",), None),
        (502, {"retry-after": "5"}, "Server Error", (), None),
    ],
)
def test_a_refusal_is_read_from_status_headers_and_message(
    status: int, headers: dict[str, str], message: str, types: tuple[str, ...], expected: str | None
) -> None:
    assert refusal(status, headers, message, types) == expected


@pytest.mark.parametrize(
    ("max_wait", "asked", "slept"),
    [
        (0, 1.0, [1.0]),
        (0, 3600.0, None),
        (60, 61.0, [61.0]),
        (60, 62.0, None),
        (6 * 3600, 900.0, [900.0]),
        (6 * 3600, 3600.0, None),  # the ceiling, whatever max-wait allows
    ],
)
def test_a_secondary_limit_is_waited_as_told_within_max_wait_and_the_ceiling(
    max_wait: float, asked: float, slept: list[float] | None
) -> None:
    clock = Sleeps()
    waiter = Waiter(RetryPolicy(max_wait=max_wait), sleep=clock.sleep, clock=lambda: clock.now)
    if slept is None:
        with pytest.raises(SecondaryLimitError, match=f"asked to wait {asked:.0f} s"):
            waiter.slow_down("REST", asked, 1)
        assert clock.calls == []
    else:
        waiter.slow_down("REST", asked, 1)
        assert clock.calls == slept


@pytest.mark.parametrize("max_wait", [0, 5, 600, 6 * 3600])
def test_no_backoff_is_longer_than_what_max_wait_leaves(max_wait: float) -> None:
    clock = Sleeps()
    policy = RetryPolicy(max_wait=max_wait, max_delay=10_000)
    waiter = Waiter(policy, sleep=clock.sleep, clock=lambda: clock.now, jitter=lambda: 0.999)
    for attempt in range(1, 16):
        waiter.pause(waiter.backoff(attempt), "HTTP 502")
        waiter.slow_down("GraphQL", None, attempt)
    assert clock.calls
    assert max(clock.calls) <= min(max_wait + 1, SECONDARY_CEILING)


def _inputs(max_wait: str | None) -> Inputs:
    environ = {env_name("token"): "t"}
    if max_wait is not None:
        environ[env_name("max-wait")] = max_wait
    return Inputs.from_environ(environ, "o/r")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, timedelta(minutes=10)),
        ("", timedelta(minutes=10)),
        ("0", timedelta(0)),
        ("45s", timedelta(seconds=45)),
        ("10m", timedelta(minutes=10)),
        ("2H", timedelta(hours=2)),
    ],
)
def test_max_wait_input(value: str | None, expected: timedelta) -> None:
    assert _inputs(value).max_wait == expected


@pytest.mark.parametrize("value", ["10", "7d", "-1m", "1.5h", "7h", "ten minutes"])
def test_bad_max_wait_names_the_input_and_what_is_allowed(value: str) -> None:
    with pytest.raises(InputError) as raised:
        _inputs(value)
    message = str(raised.value)
    assert "'max-wait'" in message
    assert repr(value) in message
    assert "Nm" in message
