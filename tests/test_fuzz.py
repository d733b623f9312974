"""Property-based fuzzing of everything that reads text a user or a file controls: the
inputs, the window and duration parsers, the alert rules, the Markdown escaping and the
history readers (snapshots, trends index, collection cache). Each may only succeed or raise
its documented error type, and valid values must round-trip."""

from __future__ import annotations

import contextlib
import gzip
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_check import live_mentions_and_references, render

from ghaction_metrics.collect.sync import CacheError, RepoState, decode_state, encode_state
from ghaction_metrics.inputs.config import InputError, Inputs
from ghaction_metrics.inputs.windows import parse_duration, parse_window
from ghaction_metrics.metrics.alerts import COMPARISONS, METRICS, AlertRuleError, parse_rules
from ghaction_metrics.metrics.tidy import figure_rows
from ghaction_metrics.metrics.trends import (
    NewerSnapshotError,
    UnreadableSnapshotError,
)
from ghaction_metrics.records import RepositoryInfo
from ghaction_metrics.views.exports import parse_csv
from ghaction_metrics.views.markdown import md_text
from ghaction_metrics_dev.emulator.harness import action_inputs, input_env_name

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = sorted(action_inputs())
# Text as people (and attackers) type it: ASCII, Unicode, control and bidi characters.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("|`*_[]()<>#@!:,.\n\r\t\u202e\u200b -/*0123456789dwhms")),
    ),
    max_size=80,
)


def _defaults() -> dict[str, str]:
    env = {}
    for name, spec in action_inputs().items():
        default = "" if spec.get("default") is None else str(spec["default"])
        env[input_env_name(name)] = "" if default.startswith("${{") else default
    env[input_env_name("token")] = "ghs_fuzz"
    return env


def _explains(exc: InputError, name: str, value: str) -> None:
    assert exc.name == name
    message = str(exc)
    assert f"Input '{name}'" in message
    assert "\n" not in message  # one annotation line, one summary line
    if name == "pseudonym-salt" and value.strip("*"):
        assert value.strip() not in message  # a secret is never echoed


@FUZZ
@given(name=st.sampled_from(NAMES), value=TEXT)
def test_any_input_value_parses_or_names_the_input(name: str, value: str) -> None:
    environ = {**_defaults(), input_env_name(name): value}
    try:
        inputs = Inputs.from_environ(environ, "acme/home")
    except InputError as exc:
        _explains(exc, name, value)
        return
    assert inputs.token
    assert inputs.repositories


@FUZZ
@given(TEXT)
def test_window_parser_accepts_or_explains(text: str) -> None:
    try:
        spec = parse_window(text)
    except ValueError:
        return
    window = spec.resolve(datetime(2026, 6, 1, 12, tzinfo=UTC), UTC)
    assert window.since < window.until


@FUZZ
@given(st.integers(1, 3660), st.sampled_from(["d", "w"]))
def test_relative_windows_round_trip(number: int, unit: str) -> None:
    days = number * (7 if unit == "w" else 1)
    if days > 3660:
        with pytest.raises(ValueError, match="at most"):
            parse_window(f"{number}{unit}")
        return
    assert parse_window(f"{number}{unit}").days == days


@FUZZ
@given(st.dates(date(2000, 1, 1), date(2099, 1, 1)), st.integers(0, 3659))
def test_date_windows_round_trip(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    spec = parse_window(f"{first.isoformat()}..{last.isoformat()}")
    assert (spec.first, spec.last) == (first, last)


@FUZZ
@given(TEXT)
def test_duration_parser_accepts_or_explains(text: str) -> None:
    try:
        value = parse_duration(text)
    except ValueError:
        return
    assert value > timedelta(0)


@FUZZ
@given(TEXT)
def test_alert_rules_parse_or_name_the_rule(text: str) -> None:
    try:
        rules = parse_rules(text)
    except AlertRuleError as exc:
        message = str(exc)
    else:
        assert all(rule.metric in METRICS for rule in rules)
        return
    assert "rule" in message


RULE = st.builds(
    lambda metric, op, amount: f"{metric} {op} {amount}",
    st.sampled_from(sorted(METRICS)),
    st.sampled_from(COMPARISONS),
    st.decimals(0, 1, places=2).map(str),
) | st.builds(
    lambda metric, op, amount: f"{metric} {op} {amount}%",
    st.sampled_from(sorted(METRICS)),
    st.sampled_from(["increases", "decreases"]),
    st.integers(1, 500),
)


@FUZZ
@given(st.lists(RULE, min_size=1, max_size=5))
def test_valid_rules_round_trip(texts: list[str]) -> None:
    rules = parse_rules(",\n".join(texts))
    assert [rule.metric for rule in rules] == [text.split()[0] for text in texts]
    assert parse_rules(", ".join(rule.text for rule in rules)) == rules


@FUZZ
@given(TEXT)
def test_escaped_text_is_inert_markdown(text: str) -> None:
    escaped = md_text(text)
    assert "\n" not in escaped
    assert live_mentions_and_references(escaped) == []
    assert live_mentions_and_references(f"| a |\n|---|\n| {escaped} |\n") == []
    parsed = render(f"| a |\n|---|\n| {escaped} |\n")
    assert parsed.tags <= {"table", "thead", "tbody", "tr", "th", "td", "p"}
    assert all(len(row) == 1 for row in parsed.tables[0])
    assert "\u202e" not in escaped


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _snapshot_like() -> st.SearchStrategy[Any]:
    """Documents near the real shape, so the fuzzer reaches the field checks."""
    number = st.none() | st.floats(allow_nan=False) | st.integers() | TEXT
    return st.fixed_dictionaries(
        {
            "schema": st.sampled_from([1, 1, 2, 0, "1", None, True]),
            "generated_at": st.sampled_from(["2026-06-01T00:00:00Z", "yesterday", 3]),
            "current": st.fixed_dictionaries(
                {
                    "window": st.fixed_dictionaries(
                        {"until": st.sampled_from(["2026-06-01T00:00:00Z", "", None])}
                    ),
                    "dora": JSON | st.fixed_dictionaries({"deployments": number}),
                    "pull_requests": JSON,
                }
            ),
        }
    )


@FUZZ
@given(JSON | _snapshot_like())
def test_the_snapshot_reader_reads_or_refuses(document: Any) -> None:
    with contextlib.suppress(UnreadableSnapshotError, NewerSnapshotError):
        figure_rows(document, "default/snapshots/x.json")


@FUZZ
@given(
    st.binary(max_size=300)
    | st.lists(st.lists(TEXT, min_size=10, max_size=10), max_size=3).map(
        lambda rows: "\n".join(
            [
                "run,generated_at,since,until,period,repository,cohort,metric,value,n",
                *(",".join(r) for r in rows),
            ]
        ).encode()
    )
)
def test_the_monthly_csv_reader_reads_or_refuses(data: bytes) -> None:
    # The trends read their rows from these files, which anyone with write access can change.
    with contextlib.suppress(UnreadableSnapshotError):
        parse_csv(data)


@FUZZ
@given(
    st.binary(max_size=200)
    | st.lists(JSON, max_size=4).map(
        lambda rows: gzip.compress("\n".join(json.dumps(r) for r in rows).encode())
    )
)
def test_the_cache_reader_reads_or_refuses(data: bytes) -> None:
    with contextlib.suppress(CacheError):
        decode_state(data, "acme/docs")


@FUZZ
@given(st.booleans(), st.booleans(), st.text(min_size=1, max_size=30))
def test_the_cache_round_trips(private: bool, archived: bool, branch: str) -> None:
    state = RepoState(info=RepositoryInfo("acme/docs", private, archived, branch))
    state.synced_at = datetime(2026, 6, 1, tzinfo=UTC)
    decoded = decode_state(encode_state(state), "acme/docs")
    assert decoded.info == state.info
    assert encode_state(decoded) == encode_state(state)
