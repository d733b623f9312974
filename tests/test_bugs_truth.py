"""Property: over generated datasets (seeds, windows, timezones, sets of repositories), the
bug rate of the window and of each week equals the generator's truth (truth_bugs.py), and
pull requests labelled ``bug`` never count as bug reports."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from test_properties_truth import NOW, PROPERTY, TODAY, _truth, dataset, records

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report
from ghaction_metrics.records import Collection
from ghaction_metrics_dev.dataset.truth_bugs import weekly_bug_rates

REPOSITORIES = ["acme/docs", "acme/legacy", "acme/mobile-app", "acme/payments", "acme/storefront"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]


@PROPERTY
@given(
    seed=st.integers(min_value=0, max_value=3),
    days=st.sampled_from([7, 14, 30, 90]),
    ago=st.integers(min_value=0, max_value=60),
    zone=st.sampled_from(ZONES),
    subset=st.sets(st.sampled_from(REPOSITORIES), min_size=1),
)
def test_window_and_weekly_bug_rates_equal_the_truth(
    seed: int, days: int, ago: int, zone: str, subset: set[str]
) -> None:
    names = tuple(sorted(subset))
    tz = ZoneInfo(zone)
    until = TODAY - timedelta(days=ago)
    window = Window(until - timedelta(days=days), until, tz)
    ds = dataset("demo", seed)
    truth = _truth(ds, names, window)
    collection = Collection(tuple(records("demo", seed, n) for n in names), (), 0, 0)
    report = build_report(collection, Settings(timezone=tz), window, "none", NOW, "bugs")
    bugs = report.current.pulls.bugs
    assert (bugs.opened, bugs.merged_prs) == (truth.bugs_opened, truth.merged_prs)
    assert bugs.rate_per_100 == truth.bug_rate
    weeks = weekly_bug_rates(ds.truth, names, window.since, window.until, tz)
    assert [
        (*w.start.isocalendar()[:2], w.opened, w.merged_prs, w.rate_per_100) for w in bugs.weeks
    ] == [(t.year, t.week, t.opened, t.merged_prs, t.rate_per_100) for t in weeks]


def test_pull_requests_labelled_bug_are_not_bug_reports() -> None:
    ds = dataset("demo", 0)
    for name, repo in ds.world.repositories.items():
        pulls = {p.number for p in repo.pull_requests}
        ledger = ds.truth.ledger(name)
        assert not {b.number for b in ledger.bugs} & pulls
        assert {b.number for b in records("demo", 0, name).bugs} == {b.number for b in ledger.bugs}
    labelled = [p for repo in ds.world.repositories.values() for p in repo.pull_requests]
    assert any("bug" in p.labels for p in labelled)
    assert sum(len(ds.truth.ledger(n).bugs) for n in ds.world.repositories) > 0
