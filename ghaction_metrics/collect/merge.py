"""A COLLECT page's nodes merged into one repository's state (``sync.RepoState``).

A node whose nested connection was full (reviews, ready events, deployment statuses) has the
rest read with ``queries.OVERFLOW`` first. A warm run's re-read records replace the cached ones,
and those GitHub no longer has are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.collect import nodes, queries
from ghaction_metrics.collect.sync import RepoState
from ghaction_metrics.collect.timestamps import required_time
from ghaction_metrics.records import Deployment


class StateMerger:
    """Each connection's merge returns the sort time of its last node (None for no nodes):
    how far back that connection has been read."""

    def __init__(
        self,
        clients: GitHubClients,
        full_name: str,
        incident_labels: Sequence[str],
        state: RepoState,
        count: Callable[[], None],
        bug_labels: Sequence[str] = (),
    ) -> None:
        self.clients = clients
        self.full_name = full_name
        self.wanted = {label.lower() for label in incident_labels}
        self.bug_labels = {label.lower() for label in bug_labels}
        self.state = state
        self.count = count  # hears of each request

    def pulls(self, page: list[dict[str, Any]]) -> datetime | None:
        oldest = None
        for node in page:
            node = self._complete_pull(node)
            pull = nodes.pull_request(node, self.full_name)
            self.state.pulls[pull.number] = pull
            oldest = pull.updated_at
        return oldest

    def _complete_pull(self, node: dict[str, Any]) -> dict[str, Any]:
        """Read the rest of a pull request's reviews, timeline or commits when a page was full."""
        for key, flag in (
            ("reviews", "reviews"),
            ("timelineItems", "ready"),
            ("commits", "commits"),
        ):
            connection = node[key]
            if connection["pageInfo"]["hasNextPage"]:
                rest = self._overflow(node["id"], key, flag, connection["pageInfo"]["endCursor"])
                node = {**node, key: {**connection, "nodes": connection["nodes"] + rest}}
        return node

    def _overflow(self, node_id: str, key: str, flag: str, after: str | None) -> list[Any]:
        found: list[Any] = []
        while True:
            variables = {
                "id": node_id,
                "after": after,
                "reviews": flag == "reviews",
                "ready": flag == "ready",
                "commits": flag == "commits",
                "statuses": flag == "statuses",
            }
            data = self.clients.graphql(queries.OVERFLOW, variables)
            self.count()
            connection = (data.get("node") or {}).get(key)
            if connection is None:
                return found
            found.extend(connection["nodes"])
            if not connection["pageInfo"]["hasNextPage"]:
                return found
            after = connection["pageInfo"]["endCursor"]

    def _deployment(self, node: dict[str, Any]) -> Deployment:
        statuses = node["statuses"]
        status_nodes = statuses["nodes"]
        if statuses["pageInfo"]["hasNextPage"]:
            cursor = statuses["pageInfo"]["endCursor"]
            status_nodes = status_nodes + self._overflow(node["id"], "statuses", "statuses", cursor)
        return nodes.deployment(node, self.full_name, status_nodes)

    def deployments(self, page: list[dict[str, Any]]) -> datetime | None:
        oldest = None
        for node in page:
            deployment = self._deployment(node)
            self.state.deployments[node["id"]] = deployment
            oldest = deployment.created_at
        return oldest

    def releases(self, page: list[dict[str, Any]]) -> datetime | None:
        oldest = None
        for node in page:
            release = nodes.release(node, self.full_name)
            self.state.releases[node["id"]] = release
            oldest = release.created_at
        return oldest

    def issues(self, page: list[dict[str, Any]]) -> datetime | None:
        """Incident issues; None: they are read back to a date GitHub filters by."""
        for node in page:
            number = int(node["number"])
            labels = {label["name"].lower() for label in node["labels"]["nodes"]}
            self._bug(node, number, labels)
            if not labels & self.wanted:
                # Updated and no longer (or never) an incident.
                self._forget_incident(number)
                continue
            names = tuple(label["name"] for label in node["labels"]["nodes"])
            self.state.incidents[number] = nodes.incident(node, self.full_name, names)
            self.state.incident_updated[number] = required_time(node["updatedAt"])
            self.state.incident_ids[number] = str(node["id"])
        return None

    def _bug(self, node: dict[str, Any], number: int, labels: set[str]) -> None:
        """A bug report when a bug label is among ``labels``, else forgotten (a warm run
        reads every updated issue: one whose bug label was removed is no bug any more)."""
        if not labels & self.bug_labels:
            self._forget_bug(number)
            return
        names = tuple(label["name"] for label in node["labels"]["nodes"])
        self.state.bugs[number] = nodes.bug_report(node, self.full_name, names)
        self.state.bug_updated[number] = required_time(node["updatedAt"])
        self.state.bug_ids[number] = str(node["id"])

    def _forget_bug(self, number: int) -> None:
        self.state.bugs.pop(number, None)
        self.state.bug_updated.pop(number, None)
        self.state.bug_ids.pop(number, None)

    def _forget_incident(self, number: int) -> None:
        self.state.incidents.pop(number, None)
        self.state.incident_updated.pop(number, None)
        self.state.incident_ids.pop(number, None)

    def history(self, page: list[dict[str, Any]]) -> datetime | None:
        oldest = None
        for node in page:
            commit = nodes.commit(node)
            self.state.commits[commit.oid] = commit
            oldest = commit.committed_at
        return oldest

    def recheck(self, chunk: list[str], found: list[Any]) -> None:
        """Records a warm run re-read by node id (``found``, in ``chunk``'s order)."""
        incidents = {node_id: number for number, node_id in self.state.incident_ids.items()}
        bugs = {node_id: number for number, node_id in self.state.bug_ids.items()}
        for node_id, node in zip(chunk, found, strict=True):
            if node is None:
                # Deleted since the last run.
                self.state.deployments.pop(node_id, None)
                self.state.releases.pop(node_id, None)
                if node_id in incidents:
                    self._forget_incident(incidents[node_id])
                if node_id in bugs:
                    self._forget_bug(bugs[node_id])
            elif node.get("__typename") == "Deployment":
                self.state.deployments[node_id] = self._deployment(node)
            elif node.get("__typename") == "Release":
                self.state.releases[node_id] = nodes.release(node, self.full_name)
            elif node.get("__typename") == "Issue":
                self.issues([node])
