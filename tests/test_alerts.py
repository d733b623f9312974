"""Alert rules: parsing as a table (good and bad rules), evaluation against the window and the
comparison period of reports built through the real pipeline."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sample_reports import sample_report

from ghaction_metrics.metrics.alerts import (
    AlertRule,
    AlertRuleError,
    alerts_output,
    evaluate,
    parse_rules,
)
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.metrics.stats import EMPTY

GOOD = [
    ("lead-time-hours > 72", "lead-time-hours", ">", 72),
    ("change-failure-rate>0.15", "change-failure-rate", ">", 0.15),
    ("merged-prs <= 3", "merged-prs", "<=", 3),
    ("deployment-frequency >= 1", "deployment-frequency", ">=", 1),
    ("time-to-first-response-hours < 4", "time-to-first-response-hours", "<", 4),
    ("cycle-time-hours increases 25%", "cycle-time-hours", "increases", 25),
    ("Deployment-Frequency decreases by 10.5%", "deployment-frequency", "decreases", 10.5),
    ("  rework-rate   <  0.1 ", "rework-rate", "<", 0.1),
]


@pytest.mark.parametrize(("text", "metric", "operator", "amount"), GOOD)
def test_good_rules_parse(text: str, metric: str, operator: str, amount: float) -> None:
    (rule,) = parse_rules(text)
    assert rule == AlertRule(" ".join(text.split()), metric, operator, amount)
    assert rule.relative is (operator in ("increases", "decreases"))


BAD = [
    ("lead-time > 72", "unknown metric"),
    ("lead-time-hours", "not understood"),
    ("lead-time-hours > ", "not understood"),
    ("lead-time-hours = 72", "not understood"),
    ("lead-time-hours > -1", "not understood"),
    ("lead-time-hours > 72h", "not understood"),
    ("cycle-time-hours increases 25", "not understood"),
    ("cycle-time-hours grows 25%", "not understood"),
    ("cycle-time-hours increases 0%", "more than 0%"),
    ("change-failure-rate > 15", "ratio from 0 to 1"),
    ("rework-rate >= 2", "ratio from 0 to 1"),
    ("> 72", "not understood"),
]


@pytest.mark.parametrize(("text", "hint"), BAD)
def test_bad_rules_name_the_rule_and_what_is_allowed(text: str, hint: str) -> None:
    with pytest.raises(AlertRuleError) as caught:
        parse_rules(f"merged-prs < 1, {text}")
    message = str(caught.value)
    assert repr(" ".join(text.split())) in message
    assert hint in message


def test_unknown_metric_lists_the_metrics() -> None:
    with pytest.raises(AlertRuleError, match="lead-time-hours, change-failure-rate"):
        parse_rules("lead-time-days > 3")


def test_rules_split_on_commas_and_new_lines() -> None:
    rules = parse_rules("lead-time-hours > 72,\nchange-failure-rate > 0.15\n\n")
    assert [r.metric for r in rules] == ["lead-time-hours", "change-failure-rate"]
    assert parse_rules("") == ()


def _with_previous_cycle(report: Report, factor: float) -> Report:
    assert report.previous is not None
    pulls = report.previous.pulls
    cycle = pulls.cycle_time
    assert cycle.median is not None
    slower = replace(cycle, median=cycle.median * factor)
    return replace(
        report, previous=replace(report.previous, pulls=replace(pulls, cycle_time=slower))
    )


REPORT = sample_report()

EVALUATION = [
    # rule, report tweak, fired, message contains
    ("lead-time-hours > 24", None, True, "lead-time-hours is"),
    ("lead-time-hours > 1000", None, False, None),
    ("lead-time-hours <= 1000", None, True, "lead-time-hours is"),
    ("merged-prs < 100", None, True, "merged-prs is 36"),
    ("merged-prs > 100", None, False, None),
    ("change-failure-rate > 0.15", None, True, "change-failure-rate is 0.25"),
    # The previous period's cycle time was half as long: +100%.
    ("cycle-time-hours increases 25%", 0.5, True, "increased 100%"),
    ("cycle-time-hours increases 150%", 0.5, False, None),
    ("cycle-time-hours decreases 25%", 2.0, True, "decreased 50%"),
    ("cycle-time-hours decreases 25%", 0.5, False, None),
]


@pytest.mark.parametrize(("rule", "factor", "fired", "message"), EVALUATION)
def test_evaluation(rule: str, factor: float | None, fired: bool, message: str | None) -> None:
    report = REPORT if factor is None else _with_previous_cycle(REPORT, factor)
    (result,) = evaluate(parse_rules(rule), report)
    assert result.fired is fired
    if message is None:
        assert result.message is None
        assert result.evaluated
    else:
        assert result.message is not None
        assert message in result.message


def test_too_few_data_points_never_fire() -> None:
    dora = replace(REPORT.current.dora, recovery=replace(REPORT.current.dora.recovery, n=2))
    report = replace(REPORT, current=replace(REPORT.current, dora=dora))
    (result,) = evaluate(parse_rules("recovery-time-hours > 0"), report)
    assert not result.fired
    assert not result.evaluated
    assert result.message == "not evaluated: insufficient data (n=2, needs 3)"


def test_counts_fire_on_an_empty_window() -> None:
    pulls = replace(REPORT.current.pulls, merged=0, cycle_time=EMPTY)
    report = replace(REPORT, current=replace(REPORT.current, pulls=pulls))
    merged, cycle = evaluate(parse_rules("merged-prs < 1, cycle-time-hours > 1"), report)
    assert merged.fired
    assert not cycle.fired
    assert cycle.message is not None
    assert "insufficient data (n=0" in cycle.message


def test_relative_rule_without_comparison_is_not_evaluated() -> None:
    (result,) = evaluate(
        parse_rules("cycle-time-hours increases 5%"), sample_report(compare_to="none")
    )
    assert not result.fired
    assert result.message == "not evaluated: no comparison period (compare-to: none)"


def test_rise_from_zero_is_an_increase() -> None:
    assert REPORT.previous is not None
    previous = replace(REPORT.previous.dora, change_failure_rate=0.0)
    report = replace(REPORT, previous=replace(REPORT.previous, dora=previous))
    (result,) = evaluate(parse_rules("change-failure-rate increases 50%"), report)
    assert result.fired
    assert result.message is not None
    assert "increased from 0: 0 → 0.25" in result.message


def test_output_lists_only_fired_rules_as_json() -> None:
    results = evaluate(parse_rules("merged-prs < 100, merged-prs > 100"), REPORT)
    assert json.loads(alerts_output(results)) == [
        {
            "rule": "merged-prs < 100",
            "metric": "merged-prs",
            "value": 36.0,
            "previous": None,
            "message": "merged-prs is 36 (merged-prs < 100)",
        }
    ]
    assert alerts_output(()) == "[]"
