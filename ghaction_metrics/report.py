"""The report: metrics for the window and its comparison period, and its JSON snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .metrics.changes import Settings
from .metrics.dora import DoraSummary, RepositoryDora, choose_source, repository_dora, summarize
from .metrics.levels import Levels
from .metrics.pulls import PullRequestMetrics, pull_request_metrics
from .metrics.stats import Stat
from .models import Collection, SkippedRepository
from .windows import Window

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class PeriodReport:
    window: Window
    dora: DoraSummary
    pulls: PullRequestMetrics


@dataclass(frozen=True)
class Report:
    report_id: str
    generated_at: datetime
    repositories: tuple[str, ...]
    sources: Mapping[str, str]
    current: PeriodReport
    previous: PeriodReport | None
    skipped: tuple[SkippedRepository, ...]
    notes: tuple[str, ...]
    partial: bool
    settings: Settings


def build_report(
    collection: Collection,
    settings: Settings,
    window: Window,
    compare_to: str,
    now: datetime,
    report_id: str,
) -> Report:
    comparison = window.previous() if compare_to == "previous" else None
    periods = [window] + ([comparison] if comparison else [])
    sources = {
        repo.info.full_name: choose_source(repo, settings, [window, window.previous()])
        for repo in collection.repositories
    }

    def period(span: Window) -> PeriodReport:
        per_repo: list[RepositoryDora] = [
            repository_dora(repo, settings, sources[repo.info.full_name], span, repo.incidents, now)
            for repo in collection.repositories
        ]
        return PeriodReport(
            span,
            summarize(per_repo),
            pull_request_metrics(collection.repositories, settings, span),
        )

    notes = [note for repo in collection.repositories for note in repo.notes]
    return Report(
        report_id=report_id,
        generated_at=now,
        repositories=tuple(repo.info.full_name for repo in collection.repositories),
        sources=sources,
        current=period(periods[0]),
        previous=period(periods[1]) if comparison else None,
        skipped=collection.skipped,
        notes=tuple(notes),
        partial=collection.partial,
        settings=settings,
    )


def format_number(value: float | int | None) -> str:
    """Outputs: plain decimals, four places at most, trailing zeros dropped; None is empty."""
    if value is None:
        return ""
    text = f"{round(float(value), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def outputs(report: Report) -> dict[str, str]:
    """The headline action outputs of SPEC §4 that the report itself determines."""
    dora, pulls = report.current.dora, report.current.pulls
    return {
        "deployment-frequency": format_number(dora.deployment_frequency),
        "lead-time-hours": format_number(dora.lead_time.median),
        "change-failure-rate": format_number(dora.change_failure_rate),
        "recovery-time-hours": format_number(dora.recovery.median),
        "rework-rate": format_number(dora.rework_rate),
        "dora-level": dora.levels.overall or "",
        "cycle-time-hours": format_number(pulls.cycle_time.median),
        "merged-prs": str(pulls.merged),
        "partial": "true" if report.partial else "false",
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


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
        "lead_time_hours": _stat(repo.lead_time),
        "failed_deployments": repo.failed,
        "change_failure_rate": repo.change_failure_rate,
        "recovery_time_hours": _stat(repo.recovery),
        "unrecovered_failures": repo.unrecovered,
        "rework_deployments": repo.rework,
        "rework_rate": repo.rework_rate,
        "awaiting_deployment": repo.awaiting,
        "failed_attempts": repo.failed_attempts,
        "negative_durations": repo.negative_durations,
        "levels": _levels(repo.levels),
        "deployments_evidence": [
            {
                "key": o.key,
                "environment": o.environment,
                "sha": o.sha,
                "time": _iso(o.time),
                "changes": o.changes,
                "failed_by": o.failed_by,
                "evidence": o.evidence,
                "recovered_at": _iso(o.recovered_at),
                "rework": o.is_rework,
            }
            for o in repo.outcomes
        ],
    }


def _period(period: PeriodReport) -> dict[str, Any]:
    dora, pulls = period.dora, period.pulls
    return {
        "window": _window(period.window),
        "dora": {
            "deployments": dora.deployments,
            "deployment_frequency": dora.deployment_frequency,
            "lead_time_hours": _stat(dora.lead_time),
            "change_failure_rate": dora.change_failure_rate,
            "recovery_time_hours": _stat(dora.recovery),
            "rework_rate": dora.rework_rate,
            "levels": _levels(dora.levels),
        },
        "pull_requests": {
            "merged": pulls.merged,
            "cycle_time_hours": _stat(pulls.cycle_time),
            "time_to_first_review_hours": _stat(pulls.time_to_first_review),
            "excluded_bots": pulls.excluded_bots,
            "excluded_authors": pulls.excluded_authors,
            "negative_durations": pulls.negative_durations,
        },
        "repositories": [_repository(repo) for repo in dora.repositories],
    }


def snapshot(report: Report, run_id: str, run_attempt: str) -> dict[str, Any]:
    """The JSON document committed to the history branch (see schemas/snapshot.schema.json)."""
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
        "notes": list(report.notes),
    }
