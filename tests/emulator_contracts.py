"""GitHub's published contracts (GraphQL schema, OpenAPI description) and checks against them.

The files come from ``@octokit/graphql-schema`` and ``@octokit/openapi``, installed by
``scripts/setup --with-contracts``; ``GHACTION_METRICS_CONTRACTS`` points at their folder.
A missing folder fails the tests that need it: silently skipping would hide contract drift.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_client_schema,
    is_non_null_type,
)

from ghaction_metrics_dev.emulator.server import RequestRecord

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "GHACTION_METRICS_CONTRACTS"
API_PREFIX = "/api/v3"


def contracts_dir() -> Path:
    """The ``@octokit`` folder; fails the calling test when it is not installed."""
    raw = os.environ.get(ENV_VAR)
    folder = Path(raw) if raw else REPO_ROOT / ".cache" / "node" / "node_modules" / "@octokit"
    needed = [
        folder / "graphql-schema" / "schema.json",
        folder / "openapi" / "generated" / "api.github.com.json",
    ]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        pytest.fail(
            f"GitHub's contracts are missing ({', '.join(missing)}); "
            "run scripts/setup --with-contracts",
            pytrace=False,
        )
    return folder


@cache
def github_schema() -> GraphQLSchema:
    raw = json.loads((contracts_dir() / "graphql-schema" / "schema.json").read_text())
    return build_client_schema(raw.get("data", raw))


# -- OpenAPI ----------------------------------------------------------------------------------


def _to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema: ``nullable`` becomes a null alternative.

    ``oneOf`` with a ``discriminator`` becomes ``anyOf``: GitHub's alternatives (a private and a
    public user, say) overlap, and the discriminator, not exclusivity, is what picks one.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: _to_json_schema(sub) for name, sub in value.items()}
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_to_json_schema(sub) for sub in value]
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = _to_json_schema(value)
        elif key in ("example", "examples", "discriminator", "nullable") or key.startswith("x-"):
            continue
        else:
            out[key] = value
    if "discriminator" in node and "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


def _components(raw: dict[str, Any]) -> dict[str, Any]:
    schemas = {name: _to_json_schema(s) for name, s in raw.get("schemas", {}).items()}
    responses: dict[str, Any] = {}
    for name, response in raw.get("responses", {}).items():
        content = {
            media: {"schema": _to_json_schema(body.get("schema"))}
            for media, body in (response.get("content") or {}).items()
        }
        responses[name] = {"content": content}
    return {"schemas": schemas, "responses": responses}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    responses: dict[str, Any]


@dataclass
class ContractResult:
    operation: str | None  # "GET /repos/{owner}/{repo}", or None when OpenAPI lacks it
    errors: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.operation is not None


class OpenApi:
    """GitHub's OpenAPI description, indexed for looking up responses by method and path."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.components = _components(document.get("components", {}))
        self.operations: list[Operation] = []
        for template, item in document["paths"].items():
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                segments = template.strip("/").split("/")
                regex = "/".join(
                    rf"(?P<p{i}>[^/]+)" if s.startswith("{") else re.escape(s)
                    for i, s in enumerate(segments)
                )
                self.operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        pattern=re.compile(f"^/{regex}$"),
                        literal_segments=sum(1 for s in segments if not s.startswith("{")),
                        responses=op.get("responses", {}),
                    )
                )
        self._validators: dict[tuple[str, str, str], jsonschema.protocols.Validator | None] = {}

    def find(self, method: str, path: str) -> Operation | None:
        path = path.removeprefix(API_PREFIX) or "/"
        candidates = [o for o in self.operations if o.method == method and o.pattern.match(path)]
        if not candidates:
            # A trailing parameter such as a ref or a file path may span several segments.
            for op in self.operations:
                if op.method != method or not op.template.endswith("}"):
                    continue
                greedy = re.compile(op.pattern.pattern.rsplit("(?P", 1)[0] + r"(?P<rest>.+)$")
                if greedy.match(path):
                    candidates.append(op)
        if not candidates:
            return None
        return max(candidates, key=lambda o: o.literal_segments)

    def _response_schema(self, op: Operation, status: int) -> Any:
        response = op.responses.get(str(status)) or op.responses.get("default")
        if response is None:
            return None
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[-1]
            response = self.components.get("responses", {}).get(name, {})
        content = response.get("content") or {}
        media = content.get("application/json") or next(iter(content.values()), None)
        if media is None or media.get("schema") is None:
            return None
        return _to_json_schema(media["schema"])

    def validate(self, method: str, path: str, status: int, body: Any) -> ContractResult:
        op = self.find(method, path)
        if op is None:
            return ContractResult(None)
        name = f"{op.method} {op.template}"
        if str(status) not in op.responses and "default" not in op.responses:
            return ContractResult(name, [f"{name}: status {status} is not documented"])
        key = (op.method, op.template, str(status))
        if key not in self._validators:
            schema = self._response_schema(op, status)
            if schema is None:
                self._validators[key] = None
            else:
                # Components ride along in the root so "#/components/..." references resolve.
                root = {**schema, "components": self.components}
                self._validators[key] = jsonschema.Draft7Validator(root)
        validator = self._validators[key]
        if validator is None:
            if body not in (None, b"", ""):
                return ContractResult(name, [f"{name} {status}: documents no body, got one"])
            return ContractResult(name)
        errors = [
            f"{name} {status}: {'/'.join(str(x) for x in e.absolute_path) or '<root>'}: "
            f"{e.message[:300]}"
            for e in validator.iter_errors(body)
        ]
        return ContractResult(name, errors)


@cache
def openapi() -> OpenApi:
    path = contracts_dir() / "openapi" / "generated" / "api.github.com.json"
    return OpenApi(json.loads(path.read_text()))


def validate_rest_response(method: str, path: str, status: int, body: Any) -> ContractResult:
    """Checks one REST response against GitHub's OpenAPI description of that operation."""
    return openapi().validate(method, path, status, body)


# -- GraphQL subset ---------------------------------------------------------------------------


def _type_kind(t: GraphQLNamedType) -> str:
    return type(t).__name__


def _args_violations(where: str, mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for name, arg in mine.items():
        other = theirs.get(name)
        if other is None:
            problems.append(f"{where}: argument {name} does not exist on GitHub")
            continue
        if str(arg.type) != str(other.type):
            problems.append(f"{where}({name}): {arg.type} but GitHub has {other.type}")
        if arg.default_value != other.default_value:
            problems.append(
                f"{where}({name}): default {arg.default_value!r}, GitHub {other.default_value!r}"
            )
    for name, other in theirs.items():
        required = is_non_null_type(other.type) and other.default_value is Undefined
        if required and name not in mine:
            problems.append(f"{where}: GitHub requires argument {name}")
    return problems


def subset_violations(mine: GraphQLSchema, theirs: GraphQLSchema) -> list[str]:
    """Everything in ``mine`` that GitHub's schema does not have exactly the same way."""
    problems: list[str] = []
    for root in ("query_type", "mutation_type", "subscription_type"):
        own, other = getattr(mine, root), getattr(theirs, root)
        if own is not None and (other is None or own.name != other.name):
            problems.append(f"root {root}: {own.name} is not GitHub's")
    for name, own_type in mine.type_map.items():
        if name.startswith("__"):
            continue
        other_type = theirs.type_map.get(name)
        if other_type is None:
            problems.append(f"type {name} does not exist on GitHub")
            continue
        if _type_kind(own_type) != _type_kind(other_type):
            problems.append(
                f"type {name} is a {_type_kind(own_type)}, GitHub's a {_type_kind(other_type)}"
            )
            continue
        if isinstance(own_type, GraphQLObjectType | GraphQLInterfaceType):
            assert isinstance(other_type, GraphQLObjectType | GraphQLInterfaceType)
            other_interfaces = {i.name for i in other_type.interfaces}
            for interface in own_type.interfaces:
                if interface.name not in other_interfaces:
                    problems.append(f"{name} implements {interface.name}; GitHub's does not")
            for field_name, own_field in own_type.fields.items():
                other_field = other_type.fields.get(field_name)
                where = f"{name}.{field_name}"
                if other_field is None:
                    problems.append(f"{where} does not exist on GitHub")
                    continue
                if str(own_field.type) != str(other_field.type):
                    problems.append(f"{where}: {own_field.type} but GitHub has {other_field.type}")
                problems.extend(_args_violations(where, own_field.args, other_field.args))
        elif isinstance(own_type, GraphQLUnionType):
            assert isinstance(other_type, GraphQLUnionType)
            members = {t.name for t in other_type.types}
            problems.extend(
                f"union {name} has {t.name}; GitHub's does not"
                for t in own_type.types
                if t.name not in members
            )
        elif isinstance(own_type, GraphQLEnumType):
            assert isinstance(other_type, GraphQLEnumType)
            problems.extend(
                f"enum {name} has {value}; GitHub's does not"
                for value in own_type.values
                if value not in other_type.values
            )
        elif isinstance(own_type, GraphQLInputObjectType):
            assert isinstance(other_type, GraphQLInputObjectType)
            problems.extend(_args_violations(f"input {name}", own_type.fields, other_type.fields))
    return problems


def rest_contract_problems(records: Iterable[RequestRecord]) -> list[str]:
    """Every 2xx JSON REST response among ``records`` checked against GitHub's OpenAPI."""
    problems: list[str] = []
    for record in records:
        if record.kind != "rest" or not 200 <= record.status < 300 or not record.response_body:
            continue
        body = json.loads(record.response_body)
        result = validate_rest_response(record.method, record.path, record.status, body)
        if not result.known:
            problems.append(f"{record.method} {record.path}: not in GitHub's OpenAPI")
        problems.extend(result.errors)
    return problems
