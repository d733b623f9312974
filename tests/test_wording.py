"""Counts in log lines read as sentences."""

from __future__ import annotations

import pytest

from ghaction_metrics.wording import counted


@pytest.mark.parametrize(
    ("number", "noun", "plural", "text"),
    [
        (0, "request", None, "0 requests"),
        (1, "request", None, "1 request"),
        (2, "pull request", None, "2 pull requests"),
        (1, "repository", "repositories", "1 repository"),
        (12, "repository", "repositories", "12 repositories"),
        (1500, "point", None, "1,500 points"),
    ],
)
def test_counted(number: int, noun: str, plural: str | None, text: str) -> None:
    assert counted(number, noun, plural) == text
