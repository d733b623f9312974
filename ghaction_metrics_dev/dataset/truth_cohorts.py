"""Ground truth of the AI-assisted cohorts' figures, from the generator's ledger alone.

Like ``truth.py``, nothing here reads the world or calls the action's metric code: the
cohort, the sizes, the reviews and the times are what the generator drew (``PullRecord``),
the lead times and deployment fates what it built (``ChangeRecord``, ``DeploymentRecord``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean, median

from ghaction_metrics_dev.dataset.truth import GroundTruth, PullRecord

COHORTS = ("agent-authored", "agent-assisted", "human")


@dataclass(frozen=True)
class CohortTruth:
    """Each figure as (value, n), named as in the snapshot's ``cohorts`` section."""

    figures: dict[str, tuple[float | None, int]]


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _median(values: Sequence[float]) -> tuple[float | None, int]:
    return (float(median(values)) if values else None, len(values))


def _mean(values: Sequence[float]) -> tuple[float | None, int]:
    return (fmean(values) if values else None, len(values))


def cohort_truth(
    truth: GroundTruth, repositories: Sequence[str], since: datetime, until: datetime
) -> dict[str, CohortTruth]:
    """Per cohort, the figures of the pull requests merged into the default branch in
    ``[since, until)`` (bots other than the coding agent left out), as the action's defaults
    define them."""
    members: dict[str, list[PullRecord]] = {name: [] for name in COHORTS}
    lead: dict[str, list[float]] = {name: [] for name in COHORTS}
    redone: set[tuple[str, int]] = set()
    for name in repositories:
        ledger = truth.ledger(name)
        by_number = {pull.number: pull for pull in ledger.pulls}
        for pull in ledger.pulls:
            if pull.reverts is not None and pull.merged_at is not None and pull.into_default_branch:
                redone.add((name, pull.reverts))
            if pull.bot or pull.merged_at is None or not pull.into_default_branch:
                continue
            if since <= pull.merged_at < until:
                members[pull.cohort].append(pull)
        fates = {d.index: d for d in ledger.deployments}
        for change in ledger.changes:
            shipped = by_number.get(change.pull_request) if change.pull_request else None
            if shipped is None or change.deployment_index is None:
                continue
            following = fates.get(change.deployment_index + 1)
            if following is not None and following.rework == "hotfix":
                redone.add((name, shipped.number))
            hours = change.lead_time_hours
            if change.bot or change.deployed_at is None or hours is None:
                continue
            if since <= change.deployed_at < until:
                lead[shipped.cohort].append(hours)
    total = sum(len(pulls) for pulls in members.values())
    found: dict[str, CohortTruth] = {}
    for cohort, pulls in members.items():
        count = len(pulls)
        cycle = [_hours(p.created_at, p.merged_at) for p in pulls if p.merged_at is not None]
        response = [_hours(p.ready_at, p.first_response_at) for p in pulls if p.first_response_at]
        later = sum(1 for p in pulls if (p.repository, p.number) in redone)
        found[cohort] = CohortTruth(
            {
                "merged": (count, count),
                "share": (count / total if total else None, total),
                "cycle_time_hours": _median(cycle),
                "time_to_first_response_hours": _median(response),
                "review_rounds": _mean([float(p.changes_requested) for p in pulls]),
                "review_comments_per_pr": _mean([float(p.review_comments) for p in pulls]),
                "size_lines": _median([float(p.size) for p in pulls]),
                "lead_time_hours": _median(lead[cohort]),
                "reverted_or_hotfixed_share": (later / count if count else None, count),
                "ai_reviews": (sum(p.ai_reviews for p in pulls), count),
            }
        )
    return found
