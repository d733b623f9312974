"""GitHub's timestamps (ISO 8601, ``Z`` for UTC) as aware datetimes."""

from __future__ import annotations

from datetime import datetime


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def required_time(value: str) -> datetime:
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError("GitHub returned an empty timestamp where one is required")
    return parsed
