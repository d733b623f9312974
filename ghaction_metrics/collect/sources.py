"""Deployment sources that COLLECT does not page: workflow runs (REST) and tags.

Both are read afresh each run, newest first, back to the baseline (see ``sync.py``): the
deployment source ``workflow:<x>`` reads the workflow's completed runs on the default branch,
``tags:<glob>`` the matching tags.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from github import GithubException

from ghaction_metrics.api.client import PYGITHUB_LOCK, GitHubClients
from ghaction_metrics.collect import nodes, queries
from ghaction_metrics.collect.plan import SUCCESS
from ghaction_metrics.collect.sync import RepoState
from ghaction_metrics.collect.timestamps import required_time
from ghaction_metrics.metrics.sources import TAGS_PREFIX, WORKFLOW_PREFIX
from ghaction_metrics.records import Actor, Tag, WorkflowRun
from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)


class SourceUnreadableError(Exception):
    """The token cannot read what the deployment source or incident-repository needs."""


class SourceReader:
    """Reads one repository's workflow runs or tags; ``count`` hears of each request."""

    def __init__(
        self,
        clients: GitHubClients,
        owner: str,
        name: str,
        since: datetime,
        count: Callable[[], None],
    ) -> None:
        self.clients = clients
        self.owner, self.name = owner, name
        self.full_name = f"{owner}/{name}"
        self.since = since  # the first period's start: the baseline is the last before it
        self.count = count

    def read(self, source: str, state: RepoState) -> None:
        """Fill ``state`` with what the deployment source ``source`` needs, if anything."""
        if source.startswith(WORKFLOW_PREFIX):
            state.workflow_runs = self._workflow_runs(
                source[len(WORKFLOW_PREFIX) :], state.info.default_branch
            )
            log.info(
                "%s: %s of %s (read in full each run, not cached)",
                self.full_name,
                counted(len(state.workflow_runs), "run"),
                source,
            )
        elif source.startswith(TAGS_PREFIX):
            state.tags = self._tags(source[len(TAGS_PREFIX) :])
            log.info(
                "%s: %s matching %s (read in full each run, not cached)",
                self.full_name,
                counted(len(state.tags), "tag"),
                source[len(TAGS_PREFIX) :],
            )

    def _rest(self, path: str, parameters: dict[str, Any]) -> Any:
        self.count()
        try:
            with PYGITHUB_LOCK:
                _headers, data = self.clients.rest.requester.requestJsonAndCheck(
                    "GET", f"/repos/{self.full_name}{path}", parameters=parameters
                )
        except GithubException as exc:
            if exc.status == 403:
                raise SourceUnreadableError(
                    "the token may not read workflow runs (HTTP 403): grant it in the workflow "
                    "with `permissions: actions: read` (next to the other permissions the "
                    "action needs), or use a token that can read Actions"
                ) from exc
            if exc.status == 404:
                raise SourceUnreadableError(
                    f"workflow runs not found (HTTP 404 for {path}): check the workflow file "
                    "name or name in deployment-source"
                ) from exc
            raise
        return data

    def _workflow_id(self, wanted: str) -> str:
        """A file name is used as is; a workflow's name is looked up in its workflows."""
        target = wanted.strip()
        if target.lower().endswith((".yml", ".yaml")):
            return target.rsplit("/", 1)[-1]
        page = 1
        while True:
            data = self._rest("/actions/workflows", {"per_page": 100, "page": page})
            for flow in data["workflows"]:
                if target.lower() in (flow["name"].lower(), flow["path"].lower()):
                    return str(flow["id"])
            if len(data["workflows"]) < 100:
                raise SourceUnreadableError(
                    f"no workflow named {target!r}: deployment-source workflow:<x> takes a "
                    "workflow file name (deploy.yml) or the workflow's name"
                )
            page += 1

    def _workflow_runs(self, wanted: str, branch: str) -> list[WorkflowRun]:
        """Completed runs on the default branch, newest first, back to the baseline: the
        first page holding a successful run that ended before the first period."""
        workflow_id = self._workflow_id(wanted)
        runs: list[WorkflowRun] = []
        page = 1
        while True:
            parameters = {
                "branch": branch,
                "status": "completed",
                "per_page": 100,
                "page": page,
            }
            data = self._rest(f"/actions/workflows/{workflow_id}/runs", parameters)
            items = data["workflow_runs"]
            runs.extend(_workflow_run(item, self.full_name) for item in items)
            baseline = any(r.conclusion == SUCCESS and r.updated_at < self.since for r in runs)
            if baseline or len(items) < 100:
                return runs
            page += 1

    def _tags(self, pattern: str) -> list[Tag]:
        """Tags matching the glob, newest tagged commit first, back to the baseline: the first
        page whose oldest commit is older than a matching tag made before the first period."""
        tags: list[Tag] = []
        after: str | None = None
        while True:
            variables = {"owner": self.owner, "name": self.name, "first": 100, "after": after}
            data = self.clients.graphql(queries.TAGS, variables)
            self.count()
            connection = (data.get("repository") or {}).get("refs")
            if connection is None:
                return tags
            oldest_commit: datetime | None = None
            for node in connection["nodes"]:
                tag = nodes.tag(node, self.full_name) if node else None
                if tag is None:
                    continue
                oldest_commit = tag.committed_at
                if fnmatch.fnmatchcase(tag.name, pattern):
                    tags.append(tag)
            before = [t.tagger_date or t.committed_at for t in tags]
            baseline = max((t for t in before if t < self.since), default=None)
            if not connection["pageInfo"]["hasNextPage"]:
                return tags
            if baseline is not None and oldest_commit is not None and oldest_commit < baseline:
                return tags
            after = connection["pageInfo"]["endCursor"]


def _workflow_run(item: dict[str, Any], repository: str) -> WorkflowRun:
    """A run as ``GET /repos/{owner}/{repo}/actions/workflows/{id}/runs`` lists it."""
    actor = item.get("actor")
    return WorkflowRun(
        repository=repository,
        id=int(item["id"]),
        attempt=int(item.get("run_attempt") or 1),
        name=item.get("name") or "",
        path=item["path"],
        head_branch=item.get("head_branch"),
        head_sha=item["head_sha"],
        event=item["event"],
        status=(item.get("status") or "").lower(),
        conclusion=(item.get("conclusion") or "").lower() or None,
        created_at=required_time(item["created_at"]),
        updated_at=required_time(item["updated_at"]),
        actor=Actor.from_login(actor.get("login"), actor.get("type")) if actor else None,
    )
