"""What a collection reads: the report's reach in time, the deployment source, page sizes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# History is read this far before the oldest deployment needed, so a commit made some time
# before its first deployment is still seen as shipped by it.
HISTORY_SLACK = timedelta(days=30)
# A warm run re-reads this far before the last sync: GitHub's update times and the runner's
# clock may disagree a little, and re-reading a record is harmless.
SYNC_OVERLAP = timedelta(hours=1)
SUCCESS = "success"


@dataclass(frozen=True)
class PageSizes:
    """First-page sizes per connection, chosen by measurement (see README, Performance)."""

    pulls: int = 100
    deployments: int = 100
    releases: int = 100
    issues: int = 100
    history: int = 100
    reviews: int = 50


@dataclass(frozen=True)
class CollectionPlan:
    since: datetime  # the earliest instant any period of the report starts at
    until: datetime
    production_environments: tuple[str, ...]  # lower-cased
    incident_labels: tuple[str, ...]
    incident_window: timedelta
    deployment_source: str  # auto, deployments, releases, merges, workflow:<x>, tags:<glob>
    pages: PageSizes = field(default_factory=PageSizes)
    incident_repository: str | None = None  # owner/name holding every incident, when set
    bug_labels: tuple[str, ...] = ()  # issues counted by the bug rate

    @property
    def settings_key(self) -> str:
        """What cached records depend on besides time: a change means a full collection."""
        labels = ",".join(sorted(label.lower() for label in self.incident_labels))
        bugs = ",".join(sorted(label.lower() for label in self.bug_labels))
        return f"source={self.deployment_source};incident-labels={labels};bug-labels={bugs}"

    @property
    def issue_labels(self) -> tuple[str, ...]:
        """Incident and bug labels, each once: GitHub's ``labels`` filter is an OR, so one
        issues connection reads both kinds and they are told apart by label afterwards."""
        seen: dict[str, str] = {}
        for label in (*self.incident_labels, *self.bug_labels):
            seen.setdefault(label.lower(), label)
        return tuple(seen.values())


def read_connections(plan: CollectionPlan) -> dict[str, int]:
    """The connections a COLLECT page reads for this plan, with their first-page sizes."""
    pages, source = plan.pages, plan.deployment_source
    # Issues (incidents) and history (per-person commits) are read for every source.
    first = {"pulls": pages.pulls, "issues": pages.issues, "history": pages.history}
    if source in ("deployments", "auto"):
        first["deployments"] = pages.deployments
    if source in ("releases", "auto"):
        first["releases"] = pages.releases
    return first
