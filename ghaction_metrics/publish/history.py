"""The history branch, read and written through the Git Data API.

Writes are optimistic: build a tree on the current head, commit on top of it, then move the
branch with ``force: false``. GitHub refuses a move that is not a fast forward (another run
got there first), which makes the ref update a compare-and-swap: re-read, rebuild, retry.
Nothing here force-pushes, and files the caller does not name are carried over from the head,
so a concurrent run's snapshot is never lost.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from github import GithubException

from ghaction_metrics.api.client import (
    GitHubClients,
    GitHubUnreachableError,
    github_message,
    repo_path,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
_BLOB_ATTEMPTS = 3
_FILE_MODE = "100644"


class HistoryError(Exception):
    """The history branch could not be read or written."""


@dataclass(frozen=True)
class HistoryTree:
    """The branch tip: its commit, its root tree and every file path → blob sha."""

    head_sha: str
    tree_sha: str
    files: Mapping[str, str] = field(default_factory=dict)
    # GitHub cuts a recursive listing at 100,000 entries / 7 MB; files may then be missing.
    truncated: bool = False


@dataclass(frozen=True)
class CommitResult:
    sha: str
    attempts: int
    created_branch: bool


def git_blob_sha(content: bytes) -> str:
    """The id git gives a blob, so files can be named (and compared) before they are pushed."""
    return hashlib.sha1(b"blob %d\x00" % len(content) + content, usedforsecurity=False).hexdigest()


def _ref_path(branch: str) -> str:
    if not branch or branch.startswith(("/", "refs/")) or ".." in branch:
        raise ValueError(f"invalid branch name {branch!r} (give the short name, e.g. 'metrics')")
    return "heads/" + quote(branch, safe="/")


def _check_path(path: str) -> None:
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid file path {path!r}: use relative paths like 'a/b.json'")


def _request(
    clients: GitHubClients, verb: str, url: str, body: dict[str, Any] | None = None
) -> Any:
    _headers, data = clients.rest.requester.requestJsonAndCheck(verb, url, input=body)
    return data


def _head(clients: GitHubClients, repo: str, branch: str) -> str | None:
    try:
        data = _request(clients, "GET", f"{repo}/git/ref/{_ref_path(branch)}")
    except GithubException as exc:
        if exc.status == 404:
            return None
        raise
    return str(data["object"]["sha"])


def _tree_of(clients: GitHubClients, repo: str, commit_sha: str) -> str:
    data = _request(clients, "GET", f"{repo}/git/commits/{commit_sha}")
    return str(data["tree"]["sha"])


def _list_tree(
    clients: GitHubClients, repo: str, tree_ish: str
) -> tuple[str, dict[str, str], bool]:
    """(root tree sha, path → blob sha, truncated) from one recursive read."""
    data = _request(clients, "GET", f"{repo}/git/trees/{tree_ish}?recursive=1")
    files = {
        str(entry["path"]): str(entry["sha"])
        for entry in data.get("tree", [])
        if entry.get("type") == "blob"
    }
    return str(data["sha"]), files, bool(data.get("truncated"))


def read_tree(clients: GitHubClients, repository: str, branch: str) -> HistoryTree | None:
    """The branch's tip and its files, or None when the branch does not exist."""
    repo = repo_path(repository)
    head = _head(clients, repo, branch)
    if head is None:
        return None
    # The trees endpoint takes any tree-ish: given the commit, it answers that commit's root
    # tree, which saves reading the commit first.
    tree_sha, files, truncated = _list_tree(clients, repo, head)
    if truncated:
        log.warning(
            "The file listing of branch %s in %s was cut short by GitHub; "
            "older history files may be missing from this run's trends.",
            branch,
            repository,
        )
    return HistoryTree(head_sha=head, tree_sha=tree_sha, files=files, truncated=truncated)


def read_blob(clients: GitHubClients, repository: str, sha: str) -> bytes:
    data = _request(clients, "GET", f"{repo_path(repository)}/git/blobs/{sha}")
    content = str(data.get("content") or "")
    if data.get("encoding") == "base64":
        return base64.b64decode(content)
    return content.encode("utf-8")


def _create_blob(
    clients: GitHubClients, repo: str, data: bytes, sleep: Callable[[float], None]
) -> str:
    """POST one blob, retried on a transient failure.

    A blob is addressed by its content, so sending it again cannot make a duplicate; POST is
    otherwise never retried by the client.
    """
    body = {"content": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
    for attempt in range(1, _BLOB_ATTEMPTS + 1):
        try:
            return str(_request(clients, "POST", f"{repo}/git/blobs", body)["sha"])
        except (GithubException, GitHubUnreachableError) as exc:
            if not _is_transient(exc) or attempt == _BLOB_ATTEMPTS:
                raise
            sleep(clients.waiter.backoff(attempt))
    raise AssertionError("unreachable")


def _tree_entries(
    clients: GitHubClients,
    repo: str,
    files: Mapping[str, bytes],
    sleep: Callable[[float], None],
) -> list[Any]:
    """Tree entries for the new content; done once, as blobs are addressed by content."""
    entries: list[dict[str, Any]] = []
    for path, data in sorted(files.items()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        entry: dict[str, Any] = {"path": path, "mode": _FILE_MODE, "type": "blob"}
        if text is not None:
            # Text rides inline in the tree request: one request less per file.
            entry["content"] = text
        else:
            entry["sha"] = _create_blob(clients, repo, data, sleep)
        entries.append(entry)
    return entries


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, GitHubUnreachableError)


def commit_files(
    clients: GitHubClients,
    repository: str,
    branch: str,
    files: Mapping[str, bytes],
    message: str,
    deletions: Iterable[str] = (),
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    sleep: Callable[[float], None] | None = None,
) -> CommitResult:
    """Commit ``files`` (path → content) and remove ``deletions`` on ``branch``.

    Every other file on the branch is kept. A missing branch is created as an orphan (a root
    commit). Returns the new tip; if the content is already there, the current tip and no
    new commit. Waits go to the clients' waiter unless ``sleep`` is given.
    """
    if sleep is None:
        sleep = functools.partial(clients.waiter.pause, reason="History branch write")
    repo = repo_path(repository)
    ref = _ref_path(branch)
    to_delete = sorted(set(deletions))
    for path in [*files, *to_delete]:
        _check_path(path)
    clash = set(files) & set(to_delete)
    if clash:
        raise ValueError(f"paths both written and deleted: {sorted(clash)}")
    if not files and not to_delete:
        raise ValueError("nothing to commit: no files and no deletions")

    try:
        entries = _tree_entries(clients, repo, files, sleep)
    except GithubException as exc:
        raise HistoryError(
            f"could not store the files for branch {branch} of {repository}: "
            f"HTTP {exc.status} {github_message(exc)}".rstrip()
        ) from exc
    except GitHubUnreachableError as exc:
        raise HistoryError(
            f"could not store the files for branch {branch} of {repository}: {type(exc).__name__}"
        ) from exc
    # A commit whose ref update got no answer: (sha, whether it was creating the branch).
    pending: tuple[str, bool] | None = None
    last_error = ""
    for attempt in range(1, max_attempts + 1):
        if attempt > 1:
            # Jittered: two runs that collided do not retry in lockstep.
            sleep(clients.waiter.backoff(attempt - 1))
        try:
            head = _head(clients, repo, branch)
            if pending is not None and head == pending[0]:
                # The previous attempt's ref update landed although its answer was lost.
                return CommitResult(sha=head, attempts=attempt - 1, created_branch=pending[1])
            pending = None
            result = _attempt(clients, repo, ref, head, entries, to_delete, message, attempt)
        except GithubException as exc:
            text = github_message(exc)
            if exc.status == 422 and (
                "fast forward" in text.lower()
                or "already exists" in text.lower()
                or "does not exist" in text.lower()
            ):
                # Another run moved, created or removed the branch since we read it.
                last_error = text
                log.info("History branch %s moved during the commit (%s); retrying.", branch, text)
                continue
            if _is_transient(exc):
                last_error = f"HTTP {exc.status}"
                continue
            raise HistoryError(
                f"could not commit to branch {branch} of {repository}: "
                f"HTTP {exc.status} {text}".rstrip()
            ) from exc
        except GitHubUnreachableError as exc:
            last_error = type(exc).__name__
            continue
        if isinstance(result, tuple):
            pending = result
            last_error = "no answer to the branch update"
            continue
        return result
    raise HistoryError(
        f"could not commit to branch {branch} of {repository} after {max_attempts} attempts: "
        f"other runs kept moving it or GitHub kept failing (last: {last_error or 'unknown'})"
    )


def _attempt(
    clients: GitHubClients,
    repo: str,
    ref: str,
    head: str | None,
    entries: list[dict[str, Any]],
    deletions: list[str],
    message: str,
    attempt: int,
) -> CommitResult | tuple[str, bool]:
    """One build-and-swap on ``head``.

    Returns a CommitResult on success, or (commit sha, creating) when the ref update got no
    answer and may or may not have landed.
    """
    tree_request: dict[str, Any] = {"tree": list(entries)}
    base_tree: str | None = None
    if head is not None:
        if deletions:
            # GitHub rejects deleting a path the base tree lacks, so delete only what exists.
            base_tree, existing, _ = _list_tree(clients, repo, head)
            tree_request["tree"] += [
                {"path": p, "mode": _FILE_MODE, "type": "blob", "sha": None}
                for p in deletions
                if p in existing
            ]
        else:
            base_tree = _tree_of(clients, repo, head)
        tree_request["base_tree"] = base_tree
    if not tree_request["tree"]:
        if head is None:
            raise HistoryError("nothing to commit: the branch does not exist and only deletions")
        return CommitResult(sha=head, attempts=attempt, created_branch=False)
    tree = _request(clients, "POST", f"{repo}/git/trees", tree_request)
    tree_sha = str(tree["sha"])
    if head is not None and tree_sha == base_tree:
        # Same content as the tip (for example a re-run): an empty commit would only add noise.
        return CommitResult(sha=head, attempts=attempt, created_branch=False)
    commit = _request(
        clients,
        "POST",
        f"{repo}/git/commits",
        {"message": message, "tree": tree_sha, "parents": [head] if head else []},
    )
    commit_sha = str(commit["sha"])
    try:
        if head is None:
            _request(clients, "POST", f"{repo}/git/refs", {"ref": f"refs/{ref}", "sha": commit_sha})
        else:
            _request(
                clients, "PATCH", f"{repo}/git/refs/{ref}", {"sha": commit_sha, "force": False}
            )
    except GitHubUnreachableError:
        # The update may have landed; the next attempt compares the head with this commit.
        return commit_sha, head is None
    except GithubException as exc:
        if exc.status >= 500:
            return commit_sha, head is None
        raise
    return CommitResult(sha=commit_sha, attempts=attempt, created_branch=head is None)
