"""GitHub Actions expressions, evaluated as the runner does, for the ``if:`` conditions of the
example workflows: so a test can say which events run a job or a step, not just what the
condition's text holds.

The subset the workflows use: literals, context property access (a missing property is
null), ``!``, comparisons, ``==``/``!=`` (strings compared case-insensitively, other type
mixes compared as numbers), ``&&``/``||`` (which return an operand, as in JavaScript), and
the functions ``format``, ``contains``, ``startsWith``, ``endsWith``, ``fromJSON`` and the
status functions. A step or job condition with no status function is ``success() && (...)``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|'(?P<string>(?:[^']|'')*)'|(?P<op>==|!=|<=|>=|&&|\|\||[<>!().,\[\]])"
    r"|(?P<name>[A-Za-z_][\w-]*))"
)
_STATUS = ("success", "failure", "cancelled", "always")


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the expression at: {text[position:]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, str | int | float | bool | None):
        return left is right  # objects and arrays: the same instance only
    return _number(left) == _number(right)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.contexts = contexts
        self.status = status
        self.used_status = False

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, found {token[1]!r}")
        self.at += 1
        return token

    def parse(self) -> Any:
        value = self.either()
        if self.at != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.at][1]!r}")
        return value

    def either(self) -> Any:
        value = self.both()
        while self.peek() == "||":
            self.take()
            right = self.both()
            value = value if truthy(value) else right
        return value

    def both(self) -> Any:
        value = self.equality()
        while self.peek() == "&&":
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.comparison()
        while self.peek() in ("==", "!="):
            op = self.take()[1]
            right = self.comparison()
            value = _equal(value, right) == (op == "==")
        return value

    def comparison(self) -> Any:
        value = self.unary()
        while self.peek() in ("<", "<=", ">", ">="):
            op = self.take()[1]
            left, right = _number(value), _number(self.unary())
            value = {"<": left < right, "<=": left <= right, ">": left > right}.get(
                op, left >= right
            )
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.access(self.primary())

    def access(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                key: Any = self.take()[1]
            else:
                key = self.either()
                self.take("]")
            if isinstance(value, Mapping):
                value = next(
                    (v for k, v in value.items() if k.casefold() == str(key).casefold()), None
                )
            elif isinstance(value, list) and isinstance(key, int | float) and 0 <= key < len(value):
                value = value[int(key)]
            else:
                value = None
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return float(text)
        if kind == "string":
            return text.replace("''", "'")
        if text == "(":
            value = self.either()
            self.take(")")
            return value
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            return self.call(text)
        return self.contexts.get(text)

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ")":
            args.append(self.either())
            if self.peek() == ",":
                self.take()
        self.take(")")
        if name in _STATUS:
            self.used_status = True
            return {
                "success": self.status == "success",
                "failure": self.status == "failure",
                "cancelled": self.status == "cancelled",
                "always": True,
            }[name]
        if name == "format":
            template, *values = args
            return (
                re.sub(r"\{(\d+)\}", lambda m: _text(values[int(m.group(1))]), str(template))
                .replace("{{", "{")
                .replace("}}", "}")
            )
        if name == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_equal(item, needle) for item in haystack)
            return _text(needle).casefold() in _text(haystack).casefold()
        if name == "startsWith":
            return _text(args[0]).casefold().startswith(_text(args[1]).casefold())
        if name == "endsWith":
            return _text(args[0]).casefold().endswith(_text(args[1]).casefold())
        if name == "fromJSON":
            return json.loads(_text(args[0]))
        raise ValueError(f"function {name} is not modelled")


def evaluate(expression: str, contexts: Mapping[str, Any]) -> Any:
    """The value of one expression (the text inside ``${{ }}``)."""
    return _Parser(expression, contexts, "success").parse()


def condition(
    text: str | bool | None, contexts: Mapping[str, Any], status: str = "success"
) -> bool:
    """Whether a job's or step's ``if:`` lets it run, given the run's status so far."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text and status == "success"
    stripped = text.strip()
    if stripped.startswith("${{") and stripped.endswith("}}"):
        stripped = stripped[3:-2]
    parser = _Parser(stripped, contexts, status)
    value = truthy(parser.parse())
    return value if parser.used_status else value and status == "success"


def interpolate(text: str, contexts: Mapping[str, Any]) -> str:
    """A string with ``${{ }}`` parts, as the runner fills it in (a ``with:`` or ``env:``)."""
    return re.sub(
        r"\$\{\{(.*?)\}\}", lambda m: _text(evaluate(m.group(1), contexts)), text, flags=re.S
    )
