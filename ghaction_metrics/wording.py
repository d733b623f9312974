"""Counts in log lines, worded as sentences ("1 request", "3 requests")."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and ``noun``, plural unless the number is one; ``plural`` when not noun+s."""
    word = noun if number == 1 else (plural or f"{noun}s")
    return f"{number:,} {word}"
