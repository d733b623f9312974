"""GraphQL nodes as GitHub answers them, read into records (``collect/nodes.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from ghaction_metrics.collect import nodes
from ghaction_metrics.records import Actor


def _commit(author: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "oid": "a" * 40,
        "message": "Bump version",
        "authoredDate": "2026-05-01T10:00:00Z",
        "committedDate": "2026-05-01T10:00:00Z",
        "parents": {"nodes": [{"oid": "b" * 40}]},
        "author": author,
        "associatedPullRequests": {"nodes": []},
    }


@pytest.mark.parametrize(
    ("associated", "expected"),
    [
        ([], None),
        # An open pull request whose branch took in a direct push: GitHub may name it first,
        # but it brought nothing to the default branch.
        ([{"number": 7, "merged": False}], None),
        # A rebase merge's commits: the merged pull request they came with.
        ([{"number": 8, "merged": True}], 8),
    ],
)
def test_a_default_branch_commit_s_pull_request_is_a_merged_one(
    associated: list[dict[str, Any]], expected: int | None
) -> None:
    node = {**_commit(None), "associatedPullRequests": {"nodes": associated}}
    assert nodes.commit(node).pull_request == expected


BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        # A bot is no User: GitHub answers user: null, so only the name or e-mail tell.
        (
            {"name": "github-actions[bot]", "email": BOT_EMAIL, "user": None},
            Actor("github-actions", True),
        ),
        ({"name": "Release Bot", "email": BOT_EMAIL, "user": None}, Actor("github-actions", True)),
        (
            {"name": "renovate[bot]", "email": "bot@renovateapp.com", "user": None},
            Actor("renovate", True),
        ),
        (
            {"name": "Alice", "email": "alice@example.com", "user": {"login": "alice"}},
            Actor("alice"),
        ),
        # An e-mail that maps to no account: nobody known, a person's change.
        ({"name": "Alice", "email": "alice@laptop.local", "user": None}, None),
        (None, None),
    ],
)
def test_a_default_branch_commit_s_author(
    author: dict[str, Any] | None, expected: Actor | None
) -> None:
    assert nodes.commit(_commit(author)).author == expected
