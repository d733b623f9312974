"""Property: over generated datasets and windows, every figure of every AI-assisted cohort
equals the generator's own truth (dataset/truth_cohorts.py), with its n."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties_truth import TODAY, _truth, dataset, report_for

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics_dev.dataset.truth_cohorts import COHORTS, cohort_truth

REPOSITORIES = ["acme/docs", "acme/legacy", "acme/mobile-app", "acme/payments", "acme/storefront"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=3),
    days=st.sampled_from([7, 30, 90]),
    ago=st.integers(min_value=0, max_value=40),
    subset=st.sets(st.sampled_from(REPOSITORIES), min_size=1),
)
def test_every_cohort_figure_equals_the_truth(
    seed: int, days: int, ago: int, subset: set[str]
) -> None:
    names = tuple(sorted(subset))
    until = TODAY - timedelta(days=ago)
    window = Window(until - timedelta(days=days), until)
    ds = dataset("demo", seed)
    _truth(ds, names, window)  # windows the ledger does not describe are not drawn
    report = report_for("demo", seed, names, window)
    expected = cohort_truth(ds.truth, names, window.since, window.until)
    for cohort in COHORTS:
        actual = report.current.cohorts.by_name(cohort).readings()
        for metric, (value, n) in expected[cohort].figures.items():
            reading = actual[metric]
            assert reading.n == n, (cohort, metric)
            if value is None:
                assert reading.value is None, (cohort, metric)
            else:
                assert reading.value == pytest.approx(value, rel=1e-9, abs=1e-9), (cohort, metric)


def test_the_demo_has_every_cohort_with_the_effects_drawn() -> None:
    ds = dataset("demo", 0)
    until = TODAY
    window = Window(until - timedelta(days=90), until)
    found = cohort_truth(ds.truth, REPOSITORIES, window.since, window.until)
    authored, human = found["agent-authored"].figures, found["human"].figures
    assert authored["merged"][1] >= 20
    assert found["agent-assisted"].figures["merged"][1] >= 20
    size_a, size_h = authored["size_lines"][0], human["size_lines"][0]
    rounds_a, rounds_h = authored["review_rounds"][0], human["review_rounds"][0]
    assert size_a is not None
    assert size_h is not None
    assert size_a < size_h
    assert rounds_a is not None
    assert rounds_h is not None
    assert rounds_a > rounds_h
