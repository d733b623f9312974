"""The collection cache kept on the history branch, so a run fetches only what changed.

One file per report and repository, ``REPORT_ID/cache/v1/OWNER/NAME.jsonl.gz``: gzip'd JSON
lines, a header first (schema version, when the data was synced, the settings it depends on,
and from when on each kind of record is complete), then one line per record. The cache is
disposable: a missing, unreadable or mismatched file means a full collection.

Workflow runs and tags (``workflow:<x>``, ``tags:<glob>``) and the incidents of
``incident-repository`` are not cached: each run reads them afresh, back to the baseline, which
takes a page or two and keeps warm and cold runs equal without tracking re-runs and moved tags.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import secrets
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from github import GithubException

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.publish.history import HistoryError, read_blob
from ghaction_metrics.records import (
    Actor,
    Commit,
    Deployment,
    DeploymentStatus,
    Incident,
    PullRequest,
    Release,
    RepositoryData,
    RepositoryInfo,
    Review,
    Tag,
    WorkflowRun,
)

log = logging.getLogger(__name__)

# 2: incidents keep their body and labels (for incident-repository matching).
# 3: pull requests keep their conversation comments (for the time to first response).
CACHE_SCHEMA = 3
# "Complete from the beginning": the connection was read to its end.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cache_path(report_id: str, repository: str) -> str:
    owner, name = repository.split("/", 1)
    return f"{report_id}/cache/v{CACHE_SCHEMA}/{owner}/{name}.jsonl.gz"


@dataclass
class RepoState:
    """Records of one repository by key, and from when on each kind is complete."""

    info: RepositoryInfo
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)  # by GraphQL node id
    releases: dict[str, Release] = field(default_factory=dict)  # by GraphQL node id
    incidents: dict[int, Incident] = field(default_factory=dict)
    incident_updated: dict[int, datetime] = field(default_factory=dict)
    # GraphQL node ids of the incident issues: a deleted issue is found only by asking for it.
    incident_ids: dict[int, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    # Lower bounds: every record at or after them is here (PRs and incidents by update time,
    # deployments and releases by creation, commits by commit time).
    coverage: dict[str, datetime] = field(default_factory=dict)
    synced_at: datetime | None = None
    settings_key: str = ""
    # Read afresh every run, never cached (see the module docstring).
    workflow_runs: list[WorkflowRun] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


def repository_data(state: RepoState, notes: tuple[str, ...] = ()) -> RepositoryData:
    """The records of one repository, ordered as a fresh collection orders them."""
    return RepositoryData(
        info=state.info,
        pull_requests=tuple(sorted(state.pulls.values(), key=lambda p: p.number)),
        deployments=tuple(
            sorted(state.deployments.values(), key=lambda d: (d.created_at, d.id), reverse=True)
        ),
        releases=tuple(sorted(state.releases.values(), key=lambda r: r.created_at, reverse=True)),
        incidents=tuple(sorted(state.incidents.values(), key=lambda i: i.created_at)),
        commits=tuple(
            sorted(state.commits.values(), key=lambda c: (c.committed_at, c.oid), reverse=True)
        ),
        workflow_runs=tuple(state.workflow_runs),
        tags=tuple(state.tags),
        notes=notes,
    )


# -- records to JSON and back ---------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


_RECORD_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        Actor,
        Review,
        PullRequest,
        DeploymentStatus,
        Deployment,
        Release,
        Incident,
        Commit,
        RepositoryInfo,
    )
}


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(inner[0], value)
    if origin is tuple:
        (item, _ellipsis) = typing.get_args(hint)
        return tuple(_decode(item, v) for v in value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return decode_record(hint, value)
    if hint in (int, str, bool) and not isinstance(value, hint):
        raise ValueError(f"expected {hint.__name__}, got {value!r}")
    return value


def decode_record(cls: type[Any], data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls)})


def encode_state(state: RepoState) -> bytes:
    header = {
        "kind": "header",
        "schema": CACHE_SCHEMA,
        "repository": state.info.full_name,
        "synced_at": state.synced_at.isoformat() if state.synced_at else None,
        "settings": state.settings_key,
        "coverage": {k: v.isoformat() for k, v in sorted(state.coverage.items())},
        "info": _encode(state.info),
    }
    lines = [json.dumps(header, sort_keys=True)]
    for number, pull in sorted(state.pulls.items()):
        lines.append(json.dumps({"kind": "pull", "key": number, "record": _encode(pull)}))
    for node, deployment in sorted(state.deployments.items()):
        lines.append(json.dumps({"kind": "deployment", "key": node, "record": _encode(deployment)}))
    for node, release in sorted(state.releases.items()):
        lines.append(json.dumps({"kind": "release", "key": node, "record": _encode(release)}))
    for number, incident in sorted(state.incidents.items()):
        updated = state.incident_updated[number].isoformat()
        record = {"kind": "incident", "key": number, "updated": updated}
        if number in state.incident_ids:
            record["id"] = state.incident_ids[number]
        lines.append(json.dumps({**record, "record": _encode(incident)}))
    for oid, commit in sorted(state.commits.items()):
        lines.append(json.dumps({"kind": "commit", "key": oid, "record": _encode(commit)}))
    # mtime=0: the same records give the same bytes, so an unchanged cache is no new blob.
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)


class CacheError(ValueError):
    """The cache file cannot be used (corrupt, another schema, another repository)."""


def decode_state(data: bytes, repository: str) -> RepoState:
    try:
        text = gzip.decompress(data).decode("utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CacheError(f"not gzip'd JSON lines ({exc})") from exc
    if not rows or not isinstance(rows[0], dict) or rows[0].get("kind") != "header":
        raise CacheError("no header line")
    header = rows[0]
    if header.get("schema") != CACHE_SCHEMA:
        raise CacheError(f"schema {header.get('schema')!r}, this version reads {CACHE_SCHEMA}")
    if str(header.get("repository", "")).lower() != repository.lower():
        raise CacheError(f"it holds {header.get('repository')!r}")
    try:
        state = RepoState(
            info=decode_record(RepositoryInfo, header["info"]),
            synced_at=datetime.fromisoformat(header["synced_at"]),
            settings_key=str(header.get("settings", "")),
            coverage={k: datetime.fromisoformat(v) for k, v in header["coverage"].items()},
        )
        for row in rows[1:]:
            kind, key, record = row["kind"], row["key"], row["record"]
            if kind == "pull":
                state.pulls[int(key)] = decode_record(PullRequest, record)
            elif kind == "deployment":
                state.deployments[str(key)] = decode_record(Deployment, record)
            elif kind == "release":
                state.releases[str(key)] = decode_record(Release, record)
            elif kind == "incident":
                state.incidents[int(key)] = decode_record(Incident, record)
                state.incident_updated[int(key)] = datetime.fromisoformat(row["updated"])
                if "id" in row:  # absent in caches written before ids were kept
                    state.incident_ids[int(key)] = str(row["id"])
            elif kind == "commit":
                state.commits[str(key)] = decode_record(Commit, record)
            else:
                raise CacheError(f"unknown record kind {kind!r}")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CacheError(f"malformed record ({type(exc).__name__}: {exc})") from exc
    return state


def read_cache(
    clients: GitHubClients,
    home: str,
    files: Mapping[str, str] | None,
    report_id: str,
    repository: str,
) -> tuple[RepoState | None, str]:
    """The cached state of ``repository`` and why it is (not) there, for the log.

    ``files`` is the history branch's listing (path → blob sha), None when there is none.
    """
    path = cache_path(report_id, repository)
    if files is None:
        return None, "there is no history branch to hold a cache"
    sha = files.get(path)
    if sha is None:
        return None, f"no cache file {path} on the history branch"
    try:
        blob = read_blob(clients, home, sha)
        return decode_state(blob, repository), f"cache {path}"
    except (CacheError, GithubException, HistoryError) as exc:
        log.warning("The collection cache %s is unreadable (%s); collecting everything.", path, exc)
        return None, f"the cache file {path} is unreadable"


def read_secret(
    clients: GitHubClients, home: str, files: Mapping[str, str] | None, path: str
) -> str | None:
    """A small text file kept on the history branch (the pseudonym salt), None when absent."""
    sha = (files or {}).get(path)
    if sha is None:
        return None
    try:
        text = read_blob(clients, home, sha).decode("utf-8").strip()
    except (GithubException, HistoryError, UnicodeDecodeError) as exc:
        log.warning("%s on the history branch is unreadable (%s)", path, exc)
        return None
    return text or None


def salt_path(report_id: str) -> str:
    return f"{report_id}/pseudonym-salt"


def history_salt(
    clients: GitHubClients, home: str, files: Mapping[str, str] | None, report_id: str
) -> tuple[str, dict[str, bytes]]:
    """The pseudonym salt kept on the history branch, and the file to write when it is new.

    Random (256 bits), so a pseudonym cannot be reversed by hashing guessed logins; but anyone
    who can read the history branch can read the salt too (see README, per-person).
    """
    path = salt_path(report_id)
    stored = read_secret(clients, home, files, path)
    if stored is not None:
        return stored, {}
    log.info("No pseudonym salt on the history branch yet: a random one is stored at %s", path)
    salt = secrets.token_hex(32)
    return salt, {path: (salt + "\n").encode("utf-8")}
