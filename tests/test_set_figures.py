"""Figures for a set of repositories (SPEC §4): change failure rate and rework rate pool every
repository's deployments; deployment frequency is the median over the repositories that
deploy, with the set's total per day beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from metric_records import T0, deployment, linear
from metric_records import pull as make_pull
from metric_records import repo as make_repo
from sample_reports import sample_report

from ghaction_metrics.inputs.windows import Window
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.dora import RepositoryDora, repository_dora, summarize
from ghaction_metrics.metrics.report import Report
from ghaction_metrics.views.html import report_html
from ghaction_metrics.views.markdown import View, comment_markdown, summary_markdown

WINDOW = Window(T0, T0 + timedelta(days=10))
NOW = T0 + timedelta(days=20)


def _base() -> RepositoryDora:
    commits = linear(("m1", 1))
    data = make_repo([make_pull(1, 0, 1, 0)], commits, [deployment(1, "m1", 2)])
    return repository_dora(data, Settings(), "deployments", WINDOW, data.incidents, NOW)


def _repo(name: str, deployments: int, failed: int, rework: int) -> RepositoryDora:
    return replace(
        _base(),
        repository=name,
        deployments=deployments,
        deployment_frequency=deployments / WINDOW.days,
        failed=failed,
        change_failure_rate=failed / deployments if deployments else None,
        rework=rework,
        rework_rate=rework / deployments if deployments else None,
    )


def test_three_quiet_repositories_do_not_hide_one_that_fails_often() -> None:
    quiet = [_repo(f"acme/quiet-{i}", 4, 0, 0) for i in range(3)]
    noisy = _repo("acme/noisy", 4, 2, 1)
    summary = summarize([*quiet, noisy])
    assert summary.change_failure_rate == pytest.approx(2 / 16)  # the median would say 0
    assert summary.rework_rate == pytest.approx(1 / 16)


def test_frequency_is_the_typical_deploying_repository_with_the_sets_total_beside_it() -> None:
    repos = [_repo("acme/a", 2, 0, 0), _repo("acme/b", 5, 0, 0), _repo("acme/c", 30, 0, 0)]
    silent = _repo("acme/silent", 0, 0, 0)
    summary = summarize([*repos, silent])
    assert summary.deployment_frequency == pytest.approx(5 / WINDOW.days)
    assert summary.deployments_per_day_total == pytest.approx(37 / WINDOW.days)
    assert summary.change_failure_rate == 0


def test_no_deployments_anywhere_is_no_data_and_a_zero_rate() -> None:
    summary = summarize([_repo("acme/a", 0, 0, 0), _repo("acme/b", 0, 0, 0)])
    assert summary.change_failure_rate is None
    assert summary.rework_rate is None
    assert summary.deployment_frequency == 0
    assert summary.deployments_per_day_total == 0


def _summary(report: Report) -> str:
    return summary_markdown(View(report))


def _comment(report: Report) -> str:
    return comment_markdown(View(report))


def _html(report: Report) -> str:
    return report_html(report, [], [], "https://github.com").decode()


@pytest.mark.parametrize("render", [_summary, _comment, _html])
def test_every_report_says_in_one_line_how_the_sets_figures_are_formed(
    render: Callable[[Report], str],
) -> None:
    text = render(sample_report(repositories=3))
    lines = [line for line in text.splitlines() if "figures of the 3 repositories" in line]
    assert len(lines) == 1, text[:3000]
    assert "pool" in lines[0]
    assert "median of the" in lines[0]
    assert "figures of the 1 repositor" not in render(sample_report(repositories=1))
