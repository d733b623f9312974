"""The action's GraphQL documents and the emulator's schema against GitHub's published schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from emulator_contracts import github_schema, subset_violations, validate_rest_response
from graphql import build_schema, parse, validate

from ghaction_metrics.collect.queries import ALL_DOCUMENTS
from ghaction_metrics_dev.emulator.graphql_api import SCHEMA_PATH, schema


@pytest.mark.parametrize("name", sorted(ALL_DOCUMENTS))
def test_document_is_valid_against_githubs_schema(contracts: Path, name: str) -> None:
    errors = validate(github_schema(), parse(ALL_DOCUMENTS[name]))
    assert [e.message for e in errors] == []


@pytest.mark.parametrize("name", sorted(ALL_DOCUMENTS))
def test_document_is_valid_against_the_emulator_schema(contracts: Path, name: str) -> None:
    # A query the action adds that the emulator cannot answer fails here, not at run time.
    errors = validate(schema(), parse(ALL_DOCUMENTS[name]))
    assert [e.message for e in errors] == []


def test_emulator_schema_is_a_strict_subset_of_githubs(contracts: Path) -> None:
    assert subset_violations(schema(), github_schema()) == []


def test_subset_check_catches_drift(contracts: Path) -> None:
    sdl = SCHEMA_PATH.read_text()
    drifted = sdl.replace("  nameWithOwner: String!", "  nameWithOwner: String\n  stars: Int")
    problems = subset_violations(build_schema(drifted), github_schema())
    assert "Repository.nameWithOwner: String but GitHub has String!" in problems
    assert "Repository.stars does not exist on GitHub" in problems


def test_openapi_validation_reports_violations_and_unknown_operations(contracts: Path) -> None:
    fine = validate_rest_response("GET", "/api/v3/user", 403, {"message": "no"})
    assert fine.known
    assert fine.errors == []
    broken = validate_rest_response(
        "GET", "/api/v3/repos/o/r/git/ref/heads/main", 200, {"ref": "refs/heads/main"}
    )
    assert broken.operation == "GET /repos/{owner}/{repo}/git/ref/{ref}"
    assert any("'object' is a required property" in e for e in broken.errors)
    assert not validate_rest_response("GET", "/api/v3/no/such/thing", 200, {}).known
