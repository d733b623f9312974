"""Alert rules (SPEC §3 ``alerts``): parsed strictly, evaluated against the window and the
comparison period.

Two kinds of rule, separated by commas or new lines:

- a threshold on the window's figure: ``lead-time-hours > 72``, ``merged-prs < 5``;
- a relative change against the comparison period: ``cycle-time-hours increases 25%``.

Metric names are the action's output names, so a rule reads like the output it watches.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ghaction_metrics.metrics.headline import COMPARED, Figure, Kind
from ghaction_metrics.metrics.levels import MIN_N
from ghaction_metrics.metrics.report import PeriodReport, Report, format_number

# Alert metrics are the compared headline figures that are outputs, by output name: a rule
# names the output it watches.
METRICS: dict[str, Figure] = {figure.name: figure for figure in COMPARED if figure.output}

COMPARISONS = (">=", "<=", ">", "<")
CHANGES = ("increases", "decreases")
GRAMMAR = (
    "a rule is METRIC OPERATOR NUMBER (operators >, >=, <, <=) or METRIC increases N% / "
    "METRIC decreases N%, rules separated by commas or new lines; metrics: " + ", ".join(METRICS)
)
_THRESHOLD = re.compile(r"^([a-z-]+)\s*(>=|<=|>|<)\s*([0-9]+(?:\.[0-9]+)?)$")
_RELATIVE = re.compile(r"^([a-z-]+)\s+(increases|decreases)\s+(?:by\s+)?([0-9]+(?:\.[0-9]+)?)%$")


class AlertRuleError(ValueError):
    """A rule that does not parse; the message names the rule and what is allowed."""


@dataclass(frozen=True)
class AlertRule:
    text: str  # as written, whitespace normalized
    metric: str
    operator: str  # one of COMPARISONS, or "increases" / "decreases"
    amount: float  # the threshold, or the relative change in percent

    @property
    def relative(self) -> bool:
        return self.operator in CHANGES


def parse_rules(value: str) -> tuple[AlertRule, ...]:
    """Parse the ``alerts`` input; raise AlertRuleError naming the first bad rule."""
    rules: list[AlertRule] = []
    for raw in re.split(r"[,\n]", value):
        text = " ".join(raw.split())
        if text:
            rules.append(parse_rule(text))
    return tuple(rules)


def parse_rule(text: str) -> AlertRule:
    lowered = text.lower()
    match = _THRESHOLD.match(lowered) or _RELATIVE.match(lowered)
    if match is None:
        name = re.match(r"^[a-z-]+", lowered)
        if name and name.group(0) not in METRICS:
            raise AlertRuleError(f"rule {text!r} names an unknown metric; {GRAMMAR}")
        raise AlertRuleError(f"rule {text!r} is not understood; {GRAMMAR}")
    metric, operator, number = match.groups()
    if metric not in METRICS:
        raise AlertRuleError(
            f"rule {text!r} names an unknown metric {metric!r}; use one of " + ", ".join(METRICS)
        )
    amount = float(number)
    if operator in CHANGES and amount <= 0:
        raise AlertRuleError(f"rule {text!r}: the change must be more than 0%")
    if METRICS[metric].kind is Kind.RATIO and operator in COMPARISONS and amount > 1:
        raise AlertRuleError(f"rule {text!r}: {metric} is a ratio from 0 to 1 (write 0.15, not 15)")
    return AlertRule(text=text, metric=metric, operator=operator, amount=amount)


def figure(period: PeriodReport, metric: str) -> tuple[float | None, int]:
    """The period's value of a metric and the size of the sample behind it."""
    reading = METRICS[metric].read(period.dora, period.pulls)
    assert not isinstance(reading.value, str)
    return (None if reading.value is None else float(reading.value)), reading.n


@dataclass(frozen=True)
class AlertResult:
    rule: AlertRule
    fired: bool
    value: float | None
    previous: float | None
    # Why it fired, or why it could not be evaluated (None when evaluated and quiet).
    message: str | None

    @property
    def evaluated(self) -> bool:
        return self.fired or self.message is None


def _compare(value: float, operator: str, amount: float) -> bool:
    return {
        ">": value > amount,
        ">=": value >= amount,
        "<": value < amount,
        "<=": value <= amount,
    }[operator]


def _usable(value: float | None, n: int, metric: str) -> str | None:
    """Why the figure cannot be alerted on, or None when it can."""
    if METRICS[metric].needs_sample and (value is None or n < MIN_N):
        return f"insufficient data (n={n}, needs {MIN_N})"
    if value is None:
        return "no data"
    return None


def evaluate_rule(rule: AlertRule, report: Report) -> AlertResult:
    value, n = figure(report.current, rule.metric)
    problem = _usable(value, n, rule.metric)
    if not rule.relative:
        if problem is not None:
            return AlertResult(rule, False, value, None, f"not evaluated: {problem}")
        assert value is not None
        if _compare(value, rule.operator, rule.amount):
            return AlertResult(
                rule, True, value, None, f"{rule.metric} is {format_number(value)} ({rule.text})"
            )
        return AlertResult(rule, False, value, None, None)

    if report.previous is None:
        return AlertResult(
            rule, False, value, None, "not evaluated: no comparison period (compare-to: none)"
        )
    previous, previous_n = figure(report.previous, rule.metric)
    problem = problem or _usable(previous, previous_n, rule.metric)
    if problem is not None:
        return AlertResult(rule, False, value, previous, f"not evaluated: {problem}")
    assert value is not None
    assert previous is not None
    if previous == 0:
        # Any rise from zero is an unbounded relative increase; nothing can decrease from it.
        change = math.inf if value > 0 else 0.0
    else:
        change = (value - previous) / abs(previous) * 100
    moved = change if rule.operator == "increases" else -change
    if moved >= rule.amount:
        shown = "from 0" if math.isinf(change) else f"{abs(change):.0f}%"
        return AlertResult(
            rule,
            True,
            value,
            previous,
            f"{rule.metric} {rule.operator.removesuffix('s')}d {shown}: "
            f"{format_number(previous)} → {format_number(value)} ({rule.text})",
        )
    return AlertResult(rule, False, value, previous, None)


def evaluate(rules: Sequence[AlertRule], report: Report) -> tuple[AlertResult, ...]:
    return tuple(evaluate_rule(rule, report) for rule in rules)


def alerts_output(results: Sequence[AlertResult]) -> str:
    """The ``alerts`` output: the rules that fired, as a JSON list (``[]`` when none)."""
    fired = [
        {
            "rule": r.rule.text,
            "metric": r.rule.metric,
            "value": None if r.value is None else float(format_number(r.value)),
            "previous": None if r.previous is None else float(format_number(r.previous)),
            "message": r.message,
        }
        for r in results
        if r.fired
    ]
    return json.dumps(fired, ensure_ascii=False)
