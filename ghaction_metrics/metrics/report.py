"""The report: metrics for the window and its comparison period, and its JSON snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from ghaction_metrics.inputs.teams import Teams
from ghaction_metrics.inputs.windows import Window, midnight
from ghaction_metrics.metrics.bugs import BugRate
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.cohorts import CohortMetrics, cohort_metrics
from ghaction_metrics.metrics.compare import Delta, Significance, deltas, significance
from ghaction_metrics.metrics.dora import (
    DoraSummary,
    RepositoryDora,
    Shipping,
    choose_source,
    ship,
    summarize,
    window_dora,
)
from ghaction_metrics.metrics.headline import OUTPUTS, Figure, Headline, Kind, headline_of
from ghaction_metrics.metrics.incidents import incidents_for
from ghaction_metrics.metrics.levels import Levels
from ghaction_metrics.metrics.pulls import PullRequestMetrics, pull_request_metrics
from ghaction_metrics.metrics.stats import Stat, ratio
from ghaction_metrics.metrics.team import TeamMetrics, team_metrics
from ghaction_metrics.metrics.teams import TeamsMetrics, team_figures, teams_json
from ghaction_metrics.metrics.usage import UsageSummary, summarize_usage
from ghaction_metrics.records import Collection, CopilotUsage, SkippedRepository

SCHEMA_VERSION = 2


@dataclass(frozen=True)
class PeriodReport:
    window: Window
    dora: DoraSummary
    pulls: PullRequestMetrics
    team: TeamMetrics
    teams: TeamsMetrics | None = None  # per team, with the teams input
    usage: UsageSummary | None = None  # Copilot usage (input copilot-metrics), when read
    cohorts: CohortMetrics = field(default_factory=lambda: CohortMetrics(()))


@dataclass(frozen=True)
class Comparison:
    """``compare-to``: the previous window, or before/after a date."""

    mode: str  # previous, date
    event: datetime | None  # the date's midnight in ``timezone`` (mode date)
    before: PeriodReport
    after: PeriodReport
    deltas: tuple[Delta, ...]  # after vs before, every headline figure
    significance: tuple[Significance, ...]  # mode date only


@dataclass(frozen=True)
class Report:
    report_id: str
    generated_at: datetime
    repositories: tuple[str, ...]
    sources: Mapping[str, str]
    current: PeriodReport
    previous: PeriodReport | None  # the previous window (compare-to: previous)
    skipped: tuple[SkippedRepository, ...]
    notes: tuple[str, ...]
    partial: bool
    settings: Settings
    comparison: Comparison | None = None


def event_time(compare_to: str, zone: tzinfo) -> datetime | None:
    """A ``compare-to`` date as the instant its day starts in ``timezone``; else None."""
    try:
        day = date.fromisoformat(compare_to)
    except ValueError:
        return None
    return midnight(day, zone)


def comparison_windows(
    window: Window, compare_to: str, zone: tzinfo, now: datetime
) -> tuple[Window, Window] | None:
    """(before, after) for ``compare-to``; None for ``none`` or a date with no time after it.

    Before/after a date: each side is a window of the report's length, the after side
    clipped to now.
    """
    window = Window(window.since, window.until, zone)
    if compare_to == "previous":
        return window.previous(), window
    if compare_to == "none":
        return None
    event = event_time(compare_to, zone)
    if event is None:
        raise ValueError(f"compare-to must be previous, none or a date, not {compare_to!r}")
    after = window.starting(event, cut=now)
    if after.until <= event:
        return None
    return window.ending(event), after


def earliest_needed(window: Window, compare_to: str, zone: tzinfo, now: datetime) -> datetime:
    """The earliest instant any period of the report starts at (what collection reads back to)."""
    starts = [window.previous().since]
    sides = comparison_windows(window, compare_to, zone, now)
    if sides is not None:
        starts.append(sides[0].since)
    return min(starts)


def build_report(
    collection: Collection,
    settings: Settings,
    window: Window,
    compare_to: str,
    now: datetime,
    report_id: str,
    *,
    teams: Teams | None = None,
    usage: CopilotUsage | None = None,
) -> Report:
    sides = comparison_windows(window, compare_to, settings.timezone, now)
    auto_periods = [window, window.previous()]
    if sides is not None:
        auto_periods += list(sides)
    names = [repo.info.full_name for repo in collection.repositories]
    sources = {
        repo.info.full_name: choose_source(repo, settings, auto_periods)
        for repo in collection.repositories
    }
    shipping: list[Shipping] = [
        ship(
            repo,
            settings,
            sources[repo.info.full_name],
            incidents_for(
                repo.info.full_name,
                repo.incidents,
                collection.incidents,
                names,
                settings.incident_repository,
            ),
        )
        for repo in collection.repositories
    ]
    cache: dict[Window, PeriodReport] = {}

    def period(span: Window) -> PeriodReport:
        if span not in cache:
            per_repo: list[RepositoryDora] = [
                window_dora(done, settings, span, now) for done in shipping
            ]
            deployed = [o.time for r in per_repo for o in r.outcomes]
            cache[span] = PeriodReport(
                span,
                summarize(per_repo),
                pull_request_metrics(collection.repositories, settings, span),
                team_metrics(collection.repositories, settings, span, deployed),
                team_figures(collection.repositories, settings, span, teams) if teams else None,
                summarize_usage(usage, span) if usage is not None else None,
                cohort_metrics(collection.repositories, settings, span, shipping),
            )
        return cache[span]

    notes = [note for repo in collection.repositories for note in repo.notes]
    current = period(window)
    notes += [note for repo in current.dora.repositories for note in repo.notes]
    comparison: Comparison | None = None
    if sides is not None:
        before, after = period(sides[0]), period(sides[1])
        tests: tuple[Significance, ...] = ()
        event: datetime | None = None
        if compare_to != "previous":
            event = sides[1].since
            tests = _significance(before, after)
            if sides[1].days < window.days:
                notes.append(
                    f"The period after {compare_to} is cut at the report's time: "
                    f"{sides[1].days:g} of {window.days:g} days."
                )
        comparison = Comparison(
            mode="previous" if compare_to == "previous" else "date",
            event=event,
            before=before,
            after=after,
            deltas=deltas(
                headline_of(after.dora, after.pulls), headline_of(before.dora, before.pulls)
            ),
            significance=tests,
        )
    elif compare_to not in ("previous", "none"):
        notes.append(f"compare-to {compare_to} is not before the report's time: no comparison.")
    return Report(
        report_id=report_id,
        generated_at=now,
        repositories=tuple(names),
        sources=sources,
        current=current,
        previous=comparison.before if comparison and comparison.mode == "previous" else None,
        skipped=collection.skipped,
        notes=tuple(notes),
        partial=collection.partial,
        settings=settings,
        comparison=comparison,
    )


def _pooled_lead_times(period: PeriodReport) -> list[float]:
    return [v for repo in period.dora.repositories for v in repo.lead_times]


def _significance(before: PeriodReport, after: PeriodReport) -> tuple[Significance, ...]:
    return (
        significance("cycle_time_hours", before.pulls.cycle_times, after.pulls.cycle_times),
        significance("lead_time_hours", _pooled_lead_times(before), _pooled_lead_times(after)),
        significance(
            "time_to_first_review_hours",
            before.pulls.first_review_times,
            after.pulls.first_review_times,
        ),
    )


def format_number(value: float | int | None) -> str:
    """Outputs: plain decimals, four places at most, trailing zeros dropped; None is empty."""
    if value is None:
        return ""
    text = f"{round(float(value), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _output_value(figure: Figure, headline: Headline) -> str:
    value = headline.value(figure)
    if figure.kind is Kind.LEVEL:
        return str(value or "")
    if figure.kind is Kind.COUNT:
        return str(value)
    assert not isinstance(value, str)
    return format_number(value)


def outputs(report: Report) -> dict[str, str]:
    """The headline action outputs of SPEC §4 that the report itself determines."""
    headline = headline_of(report.current.dora, report.current.pulls)
    values = {figure.name: _output_value(figure, headline) for figure in OUTPUTS}
    return {**values, "partial": "true" if report.partial else "false"}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _stat(stat: Stat) -> dict[str, Any]:
    return {"n": stat.n, "median": stat.median, "p75": stat.p75, "p90": stat.p90}


def _levels(levels: Levels) -> dict[str, Any]:
    return {
        "deployment_frequency": levels.deployment_frequency,
        "lead_time": levels.lead_time,
        "change_failure_rate": levels.change_failure_rate,
        "recovery_time": levels.recovery_time,
        "overall": levels.overall,
    }


def _window(window: Window) -> dict[str, Any]:
    return {"since": _iso(window.since), "until": _iso(window.until), "days": window.days}


def _repository(repo: RepositoryDora) -> dict[str, Any]:
    return {
        "repository": repo.repository,
        "source": repo.source,
        "deployments": repo.deployments,
        "deployment_frequency": repo.deployment_frequency,
        "deployments_per_week": repo.deployments_per_week,
        "deployment_days": repo.deployment_days,
        "deployment_days_per_week": repo.deployment_days_per_week,
        "lead_time_hours": _stat(repo.lead_time),
        "deploy_time_hours": _stat(repo.deploy_time),
        "failed_deployments": repo.failed,
        "change_failure_rate": repo.change_failure_rate,
        "recovery_time_hours": _stat(repo.recovery),
        "unrecovered_failures": repo.unrecovered,
        "unrecovered_age_hours": _stat(repo.unrecovered_age),
        "rework_deployments": repo.rework,
        "rework_rate": repo.rework_rate,
        "awaiting_deployment": repo.awaiting,
        "awaiting_age_hours": _stat(repo.awaiting_age),
        "failed_attempts": repo.failed_attempts,
        "negative_durations": repo.negative_durations,
        "excluded_changes": repo.excluded_changes,
        "levels": _levels(repo.levels),
        "deployments_evidence": [
            {
                "key": o.key,
                "environment": o.environment,
                "sha": o.sha,
                "time": _iso(o.time),
                "approximate_time": o.approximate_time,
                "changes": o.changes,
                "ships": list(o.ships),
                "rollback": o.is_rollback,
                "failed_by": o.failed_by,
                "evidence": o.evidence,
                "recovery_from": _iso(o.recovery_from),
                "recovered_at": _iso(o.recovered_at),
                "rework": o.is_rework,
            }
            for o in repo.outcomes
        ],
        "left_out": [
            {"key": item.key, "time": _iso(item.time), "reason": item.reason}
            for item in repo.left_out
        ],
        "unlinked_incidents": [
            {"key": i.key, "opened_at": _iso(i.opened_at), "closed_at": _iso(i.closed_at)}
            for i in repo.unlinked_incidents
        ],
        "unlinked_incident_close_hours": _stat(repo.incident_close_time),
    }


def _pulls(pulls: PullRequestMetrics) -> dict[str, Any]:
    depth, outcome = pulls.review_depth, pulls.outcome
    return {
        "merged": pulls.merged,
        "cycle_time_hours": _stat(pulls.cycle_time),
        "coding_time_hours": _stat(pulls.coding_time),
        "pickup_time_hours": _stat(pulls.pickup_time),
        "review_time_hours": _stat(pulls.review_time),
        "merge_time_hours": _stat(pulls.merge_time),
        "time_to_first_review_hours": _stat(pulls.time_to_first_review),
        "time_to_approval_hours": _stat(pulls.time_to_approval),
        "time_in_draft_hours": _stat(pulls.time_in_draft),
        "time_to_first_response_hours": _stat(pulls.time_to_first_response),
        "bot_reviews": pulls.bot_reviews,
        "review_depth": {
            "reviews_per_pr": _stat(depth.reviews_per_pr),
            "comments_per_pr": _stat(depth.comments_per_pr),
            "changes_requested_share": depth.changes_requested_share,
            "unreviewed_share": depth.unreviewed_share,
        },
        "outcome": {
            "closed": outcome.closed,
            "merged": outcome.merged,
            "closed_unmerged": outcome.closed_unmerged,
            "merged_share": outcome.merged_share,
            "open_at_end": outcome.open_at_end,
            "open_age_hours": _stat(outcome.open_age),
        },
        "sizes": [
            {"bucket": b.name, "merged": b.merged, "cycle_time_hours": _stat(b.cycle_time)}
            for b in pulls.sizes
        ],
        "excluded_bots": pulls.excluded_bots,
        "excluded_authors": pulls.excluded_authors,
        "negative_durations": pulls.negative_durations,
        "negative_durations_by_figure": dict(pulls.negative_by_figure),
        "ai_assisted_share": ratio(pulls.ai_assisted, pulls.merged),
    }


def _cohorts(cohorts: CohortMetrics) -> dict[str, Any]:
    """Every cohort's figures in one uniform shape: {cohort: {metric: {value, n}}}."""
    return {
        cohort.name: {
            metric: {"value": reading.value, "n": reading.n}
            for metric, reading in cohort.readings().items()
        }
        for cohort in cohorts.cohorts
    }


def _adoption_weeks(cohorts: CohortMetrics) -> list[dict[str, Any]]:
    return [
        {
            "start": week.start.isoformat(),
            "merged": week.merged,
            "agent_authored": week.agent_authored,
            "agent_assisted": week.agent_assisted,
            "share": week.share,
            "partial": week.partial,
        }
        for week in cohorts.weeks
    ]


def _team(team: TeamMetrics) -> dict[str, Any]:
    network = team.network
    return {
        "per_person": team.mode,
        "people": [
            {
                "name": p.name,
                "opened": p.opened,
                "merged": p.merged,
                "reviews_given": p.reviews_given,
                "commits": p.commits,
                "cycle_time_median_hours": p.cycle_time_median,
                "lines_changed": p.lines_changed,
            }
            for p in team.people
        ],
        "review_network": {
            "edges": [
                {"reviewer": e.reviewer, "author": e.author, "reviews": e.reviews}
                for e in network.edges
            ],
            "reviews": network.reviews,
            "busiest_reviewer_share": network.busiest_reviewer_share,
            "distinct_reviewers_per_pr": _stat(network.distinct_reviewers),
        },
        "weeks": [
            {
                "start": w.start.isoformat(),
                "merged_prs": w.merged_prs,
                "deployments": w.deployments,
                "deployment_days": w.deployment_days,
                "partial": w.partial,
            }
            for w in team.weeks
        ],
    }


def _bugs(bugs: BugRate) -> dict[str, Any]:
    return {
        "opened": bugs.opened,
        "merged_prs": bugs.merged_prs,
        "rate_per_100": bugs.rate_per_100,
        "weeks": [
            {
                "start": w.start.isoformat(),
                "opened": w.opened,
                "merged_prs": w.merged_prs,
                "rate_per_100": w.rate_per_100,
                "partial": w.partial,
            }
            for w in bugs.weeks
        ],
    }


def _period(period: PeriodReport) -> dict[str, Any]:
    dora = period.dora
    return {
        "window": _window(period.window),
        "dora": {
            "deployments": dora.deployments,
            "deployment_frequency": dora.deployment_frequency,
            "deployments_per_week": dora.deployment_frequency * 7,
            "deployments_per_day_total": dora.deployments_per_day_total,
            "lead_time_hours": _stat(dora.lead_time),
            "deploy_time_hours": _stat(dora.deploy_time),
            "change_failure_rate": dora.change_failure_rate,
            "recovery_time_hours": _stat(dora.recovery),
            "unrecovered_failures": dora.unrecovered,
            "rework_rate": dora.rework_rate,
            "awaiting_deployment": dora.awaiting,
            "levels": _levels(dora.levels),
        },
        "pull_requests": {
            **_pulls(period.pulls),
            "ai_adoption_weeks": _adoption_weeks(period.cohorts),
        },
        "bugs": _bugs(period.pulls.bugs),
        "team": _team(period.team),
        "teams": teams_json(period.teams, period.team.mode, _stat),
        "cohorts": _cohorts(period.cohorts),
        "repositories": [_repository(repo) for repo in dora.repositories],
        "copilot_usage": _usage(period.usage),
    }


def _usage(usage: UsageSummary | None) -> dict[str, Any] | None:
    """Copilot usage by the report files' field names; None when not read."""
    if usage is None:
        return None
    return {
        "organization": usage.organization,
        "days": usage.days,
        "period_days": usage.period_days,
        "mean_daily_active_users": usage.mean_daily_active_users,
        "mean_weekly_active_users": usage.mean_weekly_active_users,
        "user_initiated_interaction_count": usage.interactions,
        "code_generation_activity_count": usage.shown,
        "code_acceptance_activity_count": usage.accepted,
        "acceptance_rate": usage.acceptance_rate,
        "per_day": [
            {
                "day": d.day.isoformat(),
                "daily_active_users": d.daily_active_users,
                "weekly_active_users": d.weekly_active_users,
                "user_initiated_interaction_count": d.user_initiated_interaction_count,
                "code_generation_activity_count": d.code_generation_activity_count,
                "code_acceptance_activity_count": d.code_acceptance_activity_count,
                "acceptance_rate": d.acceptance_rate,
            }
            for d in usage.series
        ],
    }


def _comparison(comparison: Comparison | None) -> dict[str, Any] | None:
    if comparison is None:
        return None
    dated = comparison.mode == "date"
    return {
        "mode": comparison.mode,
        "event": _iso(comparison.event),
        "before_window": _window(comparison.before.window),
        "after_window": _window(comparison.after.window),
        "deltas": [
            {
                "metric": d.metric,
                "after": d.current,
                "before": d.previous,
                "change": d.change,
                "relative": d.relative,
                "direction": d.direction,
            }
            for d in comparison.deltas
        ],
        "significance": [
            {
                "metric": s.metric,
                "before_n": s.before_n,
                "after_n": s.after_n,
                "method": s.method,
                "u": s.u,
                "p_value": s.p_value,
                "note": s.note,
            }
            for s in comparison.significance
        ],
        # In mode previous these are the report's "previous" and "current" periods.
        "before": _period(comparison.before) if dated else None,
        "after": _period(comparison.after) if dated else None,
    }


def snapshot(report: Report, run_id: str, run_attempt: str) -> dict[str, Any]:
    """The JSON document committed to the history branch (see schemas/snapshot-v2.schema.json)."""
    return {
        "schema": SCHEMA_VERSION,
        "report_id": report.report_id,
        "generated_at": _iso(report.generated_at),
        "run": {"id": run_id, "attempt": run_attempt},
        "repositories": list(report.repositories),
        "sources": dict(report.sources),
        "skipped": [{"repository": s.full_name, "reason": s.reason} for s in report.skipped],
        "partial": report.partial,
        "current": _period(report.current),
        "previous": _period(report.previous) if report.previous else None,
        "comparison": _comparison(report.comparison),
        "notes": list(report.notes),
    }
