"""Incidents kept in one repository of their own (the ``incident-repository`` input)."""

from __future__ import annotations

import logging

from ghaction_metrics.api.client import GitHubClients, GraphQLError
from ghaction_metrics.collect import nodes, queries
from ghaction_metrics.collect.plan import CollectionPlan
from ghaction_metrics.collect.sources import SourceUnreadableError
from ghaction_metrics.collect.visibility import INVISIBLE, invisible
from ghaction_metrics.records import Incident
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)


def collect_incidents(
    clients: GitHubClients, full_name: str, plan: CollectionPlan
) -> tuple[tuple[Incident, ...], bool]:
    """The incident issues of ``incident-repository`` updated since the first period, and
    whether that repository is private (privacy.py withholds them from public reports).

    Read afresh every run (one query per 100 issues): they are few, and the cache is kept per
    measured repository.
    """
    owner, name = full_name.split("/", 1)
    wanted = {label.lower() for label in plan.incident_labels}
    found: dict[int, Incident] = {}
    private = True  # until GitHub says otherwise: withholding is the safe mistake
    after: str | None = None
    while True:
        variables = {
            "owner": owner,
            "name": name,
            "first": 100,
            "after": after,
            "labels": list(plan.incident_labels),
            "since": plan.since.isoformat(),
        }
        try:
            data = clients.graphql(queries.INCIDENTS, variables)
        except GraphQLError as exc:
            if invisible(exc):
                raise SourceUnreadableError(
                    f"{INVISIBLE}; incidents from it are not counted"
                ) from exc
            raise
        repository = data.get("repository")
        if repository is None:
            raise SourceUnreadableError(f"{INVISIBLE}; incidents from it are not counted")
        private = bool(repository["isPrivate"])
        connection = repository["issues"]
        for node in connection["nodes"]:
            if node is None:
                continue
            labels = tuple(label["name"] for label in node["labels"]["nodes"])
            if not {label.lower() for label in labels} & wanted:
                continue
            incident = nodes.incident(node, full_name, labels)
            found[incident.number] = incident
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    log.info(
        "incident-repository %s: %s (read in full each run)",
        full_name,
        counted(len(found), "incident"),
    )
    return tuple(sorted(found.values(), key=lambda i: (i.created_at, i.number))), private
