"""The collection plan the collection tests use: a 30-day window and the one before it,
deployments to ``production``, incidents labelled ``incident`` within seven days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ghaction_metrics.collect.plan import CollectionPlan, PageSizes
from ghaction_metrics.inputs.windows import parse_window


def thirty_days(
    now: datetime,
    source: str = "auto",
    *,
    pages: PageSizes | None = None,
    incident_repository: str | None = None,
) -> CollectionPlan:
    window = parse_window("30d").resolve(now, UTC)
    return CollectionPlan(
        since=window.previous().since,
        until=window.until,
        production_environments=("production",),
        incident_labels=("incident",),
        incident_window=timedelta(days=7),
        deployment_source=source,
        pages=pages or PageSizes(),
        incident_repository=incident_repository,
    )
