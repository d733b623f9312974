"""The collection cache kept on the history branch, so a run fetches only what changed.

One folder per report and repository, ``REPORT_ID/cache/v4/OWNER/NAME/`` (the folder
layout of schema 4, which later schemas keep): ``state.json``, a
header (schema version, when the data was synced, the settings it depends on, from when on
each kind of record is complete, and the blob sha of every part), and one part per week,
``YYYY-MM-DD.jsonl`` (the Monday the week starts), holding one JSON line per record created
(committed) in that week. Everyone who clones the repository downloads the whole branch, so
the cache is split where records stop changing: a daily run rewrites the header and the few
weeks whose records changed, and every other part keeps its blob. The files are plain text,
which git compresses as well as gzip would and which a commit can carry inline, without a
request per file. A part whose sha is not the one the header names (another run's, a hand
edit) makes the whole cache unreadable rather than silently mixed.

The cache is disposable: a missing, unreadable or mismatched file means a full collection.
Versions before 2026-12 kept one gzip'd file per repository, ``REPORT_ID/cache/v2/OWNER/
NAME.jsonl.gz``, with the same lines under a header; it is still read, and replaced by the
folder on the next commit.

Workflow runs and tags (``workflow:<x>``, ``tags:<glob>``) and the incidents of
``incident-repository`` are not cached: each run reads them afresh, back to the baseline, which
takes a page or two and keeps warm and cold runs equal without tracking re-runs and moved tags.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import re
import secrets
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from github import GithubException

from ghaction_metrics.api.client import GitHubClients
from ghaction_metrics.api.quota import QuotaExhaustedError
from ghaction_metrics.collect.seal import Seal, SealError, is_sealed
from ghaction_metrics.publish.history import HistoryError, git_blob_sha, read_blob
from ghaction_metrics.records import (
    Actor,
    BugReport,
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
# 3: pull requests keep their conversation comments (for the time to first response) and
#    every commit's authored time.
# 4: one folder of plain-text weekly parts per repository (the lines are those of 3).
# 5: bug-labelled issues (for the bug rate), the history of deployed commits off the
#    default branch ("side-commit" lines), and each pull request's commit authors and
#    Co-authored-by trailers (for the AI-assisted cohorts), in the same folders as 4. A cache
#    of 4 lacks them, so it means one full collection.
# 6: a commit names only a merged pull request (Commit.pull_request); a commit of 5 may name
#    an open one that took it in, and read as 6 it would lose its direct push.
CACHE_SCHEMA = 6
# The folder a cache is kept in: a schema that only adds records keeps it, so a new run
# rewrites the same files instead of leaving the earlier version's on the branch.
_FOLDER_VERSION = 4
_READABLE_SCHEMAS = (CACHE_SCHEMA,)
# "Complete from the beginning": the connection was read to its end.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEADER = "state.json"
_PART = re.compile(r"^\d{4}-\d{2}-\d{2}\.jsonl$")


def cache_root(report_id: str) -> str:
    """Every repository's cache folder is under this one."""
    return f"{report_id}/cache/v{_FOLDER_VERSION}/"


def cache_folder(report_id: str, repository: str) -> str:
    owner, name = repository.split("/", 1)
    return f"{cache_root(report_id)}{owner}/{name}/"


def cache_path(report_id: str, repository: str) -> str:
    """The header of ``repository``'s cache: a cache is on the branch when this file is."""
    return cache_folder(report_id, repository) + _HEADER


def legacy_cache_path(report_id: str, repository: str) -> str:
    """The one-file cache of versions before 2026-12 (schema 2): never read, only removed."""
    owner, name = repository.split("/", 1)
    return f"{report_id}/cache/v2/{owner}/{name}.jsonl.gz"


def cached_repositories(files: Mapping[str, str], report_id: str) -> list[str]:
    """owner/name of every repository with a cache header among ``files``, sorted."""
    root = cache_root(report_id)
    names = []
    for path in files:
        if path.startswith(root) and path.endswith("/" + _HEADER):
            rest = path[len(root) : -len("/" + _HEADER)]
            if rest.count("/") == 1:
                names.append(rest)
    return sorted(names, key=str.lower)


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
    # Bug reports, read with the incidents and kept like them (coverage "incidents").
    bugs: dict[int, BugReport] = field(default_factory=dict)
    bug_updated: dict[int, datetime] = field(default_factory=dict)
    bug_ids: dict[int, str] = field(default_factory=dict)
    # Deployed commits off the default branch and their history back to it (off_branch.py),
    # kept and pruned as commits are.
    side_commits: dict[str, Commit] = field(default_factory=dict)
    # Lower bounds: every record at or after them is here (PRs and incidents by update time,
    # deployments and releases by creation, commits by commit time).
    coverage: dict[str, datetime] = field(default_factory=dict)
    synced_at: datetime | None = None
    settings_key: str = ""
    # Read afresh every run, never cached (see the module docstring).
    workflow_runs: list[WorkflowRun] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    # The cache's week files as read (name → bytes): one that lost only records older than
    # the coverage is written back unchanged (cache_files).
    parts: dict[str, bytes] = field(default_factory=dict)


# Per kind of record (as ``coverage`` names it): the row kind and the time coverage bounds.
_COVERAGE_ROWS = {
    "pulls": "pull",
    "deployments": "deployment",
    "releases": "release",
    "incidents": "incident",
    "commits": "commit",
}
_KIND_COVERAGE = {row: kind for kind, row in _COVERAGE_ROWS.items()} | {
    "bug": "incidents",
    "side-commit": "commits",
}


def drop_older(state: RepoState, keep: Mapping[str, datetime]) -> None:
    """Drop the records older than ``keep`` (by kind; a kind it does not name stays)."""
    far = EPOCH
    state.pulls = {k: v for k, v in state.pulls.items() if v.updated_at >= keep.get("pulls", far)}
    state.deployments = {
        k: v for k, v in state.deployments.items() if v.created_at >= keep.get("deployments", far)
    }
    state.releases = {
        k: v for k, v in state.releases.items() if v.created_at >= keep.get("releases", far)
    }
    state.incidents = {
        k: v
        for k, v in state.incidents.items()
        if state.incident_updated[k] >= keep.get("incidents", far)
    }
    state.incident_updated = {k: state.incident_updated[k] for k in state.incidents}
    state.incident_ids = {k: v for k, v in state.incident_ids.items() if k in state.incidents}
    state.bugs = {
        k: v for k, v in state.bugs.items() if state.bug_updated[k] >= keep.get("incidents", far)
    }
    state.bug_updated = {k: state.bug_updated[k] for k in state.bugs}
    state.bug_ids = {k: v for k, v in state.bug_ids.items() if k in state.bugs}
    state.commits = {
        k: v for k, v in state.commits.items() if v.committed_at >= keep.get("commits", far)
    }
    state.side_commits = {
        k: v for k, v in state.side_commits.items() if v.committed_at >= keep.get("commits", far)
    }


def _row_time(row: Mapping[str, Any]) -> datetime:
    """The time ``drop_older`` judges a cache row by."""
    record = row["record"]
    kind = row["kind"]
    if kind == "pull":
        return datetime.fromisoformat(record["updated_at"])
    if kind in ("incident", "bug"):
        return datetime.fromisoformat(row["updated"])
    if kind in ("commit", "side-commit"):
        return datetime.fromisoformat(record["committed_at"])
    return datetime.fromisoformat(record["created_at"])


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
        bugs=tuple(sorted(state.bugs.values(), key=lambda b: (b.created_at, b.number))),
        notes=notes,
        # A commit main has since got is main's (a maintenance line merged back).
        side_commits=tuple(
            sorted(
                (c for oid, c in state.side_commits.items() if oid not in state.commits),
                key=lambda c: (c.committed_at, c.oid),
                reverse=True,
            )
        ),
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
        BugReport,
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


def _header(state: RepoState) -> dict[str, Any]:
    return {
        "kind": "header",
        "schema": CACHE_SCHEMA,
        "repository": state.info.full_name,
        "synced_at": state.synced_at.isoformat() if state.synced_at else None,
        "settings": state.settings_key,
        "coverage": {k: v.isoformat() for k, v in sorted(state.coverage.items())},
        "info": _encode(state.info),
    }


def _week(moment: datetime) -> str:
    day = moment.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


def _line(row: dict[str, Any]) -> str:
    return json.dumps(row, separators=(",", ":"))


def _rows(state: RepoState) -> list[tuple[str, str]]:
    """(week the record was created in, its line), in a stable order."""
    rows: list[tuple[str, str]] = []
    for number, pull in sorted(state.pulls.items()):
        line = _line({"kind": "pull", "key": number, "record": _encode(pull)})
        rows.append((_week(pull.created_at), line))
    for node, deployment in sorted(state.deployments.items()):
        line = _line({"kind": "deployment", "key": node, "record": _encode(deployment)})
        rows.append((_week(deployment.created_at), line))
    for node, release in sorted(state.releases.items()):
        line = _line({"kind": "release", "key": node, "record": _encode(release)})
        rows.append((_week(release.created_at), line))
    for number, incident in sorted(state.incidents.items()):
        updated = state.incident_updated[number].isoformat()
        record = {"kind": "incident", "key": number, "updated": updated}
        if number in state.incident_ids:
            record["id"] = state.incident_ids[number]
        line = _line({**record, "record": _encode(incident)})
        rows.append((_week(incident.created_at), line))
    for oid, commit in sorted(state.commits.items()):
        line = _line({"kind": "commit", "key": oid, "record": _encode(commit)})
        rows.append((_week(commit.committed_at), line))
    for number, bug in sorted(state.bugs.items()):
        row = {"kind": "bug", "key": number, "updated": state.bug_updated[number].isoformat()}
        line = _line({**row, "id": state.bug_ids[number], "record": _encode(bug)})
        rows.append((_week(bug.created_at), line))
    for oid, commit in sorted(state.side_commits.items()):
        line = _line({"kind": "side-commit", "key": oid, "record": _encode(commit)})
        rows.append((_week(commit.committed_at), line))
    return rows


def encode_state(state: RepoState) -> bytes:
    """The whole state as one text: the header line, then every record's line."""
    lines = [json.dumps(_header(state), sort_keys=True), *(line for _, line in _rows(state))]
    return ("\n".join(lines) + "\n").encode("utf-8")


def cache_files(report_id: str, state: RepoState, seal: Seal | None = None) -> dict[str, bytes]:
    """The state as the files of its cache folder: the header and one part per week, each
    part sealed when ``seal`` is given (collect/seal.py)."""
    weeks: dict[str, list[str]] = {}
    for week, line in _rows(state):
        weeks.setdefault(week, []).append(line)
    folder = cache_folder(report_id, state.info.full_name)
    parts = {f"{week}.jsonl": _part(state, f"{week}.jsonl", lines) for week, lines in weeks.items()}
    if seal is not None:
        parts = {name: seal.close(name, data) for name, data in parts.items()}
    header = {**_header(state), "parts": {n: git_blob_sha(d) for n, d in sorted(parts.items())}}
    files = {folder + name: data for name, data in parts.items()}
    files[folder + _HEADER] = (json.dumps(header, sort_keys=True) + "\n").encode("utf-8")
    return files


def _part(state: RepoState, name: str, lines: list[str]) -> bytes:
    """A week's file; the one read, when it differs only by records older than the coverage
    (reading drops them again). Records leave the collection's reach every day, and
    rewriting the oldest weeks for that alone would add their blobs to the branch daily."""
    data = ("\n".join(lines) + "\n").encode()
    previous = state.parts.get(name)
    if previous is None or previous == data:
        return data
    kept = set(lines)
    old = [line for line in previous.decode("utf-8", "replace").splitlines() if line]
    if not kept <= set(old):
        return data
    try:
        for line in old:
            if line in kept:
                continue
            row = json.loads(line)
            bound = state.coverage.get(_KIND_COVERAGE.get(str(row["kind"]), ""))
            if bound is None or _row_time(row) >= bound:
                return data
    except (ValueError, KeyError, TypeError):
        return data
    return previous


def stale_cache_files(
    files: Mapping[str, str], report_id: str, written: Mapping[str, bytes]
) -> list[str]:
    """Files of the caches being ``written`` that the new ones do not hold: weeks that left
    the state, and the one-file cache of earlier versions."""
    folders = {path.rsplit("/", 1)[0] + "/" for path in written if path.endswith("/" + _HEADER)}
    legacy = {
        legacy_cache_path(report_id, folder[len(cache_root(report_id)) : -1])
        for folder in folders
        if folder.startswith(cache_root(report_id))
    }
    return sorted(
        path
        for path in files
        if path not in written
        and (path in legacy or any(path.startswith(folder) for folder in folders))
    )


class CacheError(ValueError):
    """The cache file cannot be used (corrupt, another schema, another repository)."""


class OutdatedCacheError(CacheError):
    """A cache an earlier version wrote: sound, but without what this version records."""


def decode_state(data: bytes, repository: str) -> RepoState:
    """A state from one text (``encode_state``, or a header followed by its parts' lines) or
    from the gzip'd file of schema 2."""
    try:
        if data.startswith(b"\x1f\x8b"):
            data = gzip.decompress(data)
        text = data.decode("utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CacheError(f"not JSON lines ({exc})") from exc
    if not rows or not isinstance(rows[0], dict) or rows[0].get("kind") != "header":
        raise CacheError("no header line")
    header = rows[0]
    schema = header.get("schema")
    if isinstance(schema, int) and not isinstance(schema, bool) and schema < CACHE_SCHEMA:
        raise OutdatedCacheError(f"schema {schema}, this version reads {CACHE_SCHEMA}")
    if schema not in _READABLE_SCHEMAS:
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
            elif kind == "bug":
                state.bugs[int(key)] = decode_record(BugReport, record)
                state.bug_updated[int(key)] = datetime.fromisoformat(row["updated"])
                state.bug_ids[int(key)] = str(row["id"])
            elif kind == "side-commit":
                state.side_commits[str(key)] = decode_record(Commit, record)
            else:
                raise CacheError(f"unknown record kind {kind!r}")
        # A week file written back unchanged may hold records that have left the coverage.
        drop_older(state, state.coverage)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CacheError(f"malformed record ({type(exc).__name__}: {exc})") from exc
    return state


def read_cache(
    clients: GitHubClients,
    home: str,
    files: Mapping[str, str] | None,
    report_id: str,
    repository: str,
    seal: Seal | None = None,
) -> tuple[RepoState | None, str]:
    """The cached state of ``repository`` and why it is (not) there, for the log.

    ``files`` is the history branch's listing (path → blob sha), None when there is none;
    ``seal`` opens sealed parts (collect/seal.py).
    """
    path = cache_path(report_id, repository)
    if files is None:
        return None, "there is no history branch to hold a cache"
    if path not in files and legacy_cache_path(report_id, repository) in files:
        # Its pull requests lack the comments and commit times this version records: read
        # afresh once, and the one-file cache is replaced by the new folder.
        return None, "the cache of an earlier version lacks what this one records"
    sha = files.get(path)
    if sha is None:
        return None, f"no cache file {path} on the history branch"
    try:
        blob = read_blob(clients, home, sha)
        parts: dict[str, bytes] = {}
        if path.endswith("/" + _HEADER):
            parts = _read_parts(clients, home, files, path.rsplit("/", 1)[0] + "/", blob)
            parts = {name: _opened(name, data, seal) for name, data in parts.items()}
        state = decode_state(blob + b"".join(parts.values()), repository)
        state.parts = parts
        return state, f"cache {path}"
    except OutdatedCacheError:
        # Expected once after an upgrade: no warning, the run rewrites the same files.
        return None, "the cache of an earlier version lacks what this one records"
    except (CacheError, SealError, GithubException, HistoryError, QuotaExhaustedError) as exc:
        log.warning("The collection cache %s is unreadable (%s); collecting everything.", path, exc)
        return None, f"the cache file {path} is unreadable"


def _opened(name: str, data: bytes, seal: Seal | None) -> bytes:
    if seal is not None:
        return seal.open(name, data)
    if is_sealed(data):
        raise SealError(f"part {name} is sealed, and this run has no pseudonym-salt to open it")
    return data


def _read_parts(
    clients: GitHubClients, home: str, files: Mapping[str, str], folder: str, header: bytes
) -> dict[str, bytes]:
    """Every part the header names (name → bytes), each checked against its sha."""
    try:
        parts = json.loads(header)["parts"]
        names = sorted(parts.items()) if isinstance(parts, dict) else None
    except (ValueError, KeyError, TypeError) as exc:
        raise CacheError(f"a header without its list of parts ({exc})") from exc
    if names is None:
        raise CacheError("a header without its list of parts")
    parts = {}
    for name, sha in names:
        if not _PART.match(str(name)) or files.get(folder + str(name)) != sha:
            raise CacheError(f"part {name} is not the one the header names")
        parts[str(name)] = read_blob(clients, home, str(sha))
    return parts


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
