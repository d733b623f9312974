"""Records a public repository's history from a bare git directory as a compact fixture.

Only plain ``git`` commands are used. The fixture keeps what the action reads from GitHub:
commits with their real shas, parents, author and committer names, e-mails and dates, the
message lines the action reads (subject, a merge's pull-request title, revert and co-author
lines), tags, branch heads, and pull requests reconstructed from the commits:

- ``Merge pull request #N from owner/branch`` (a merge-commit merge): pull request N, merged
  by that commit, whose own commits are the merged branch's commits new to the base
  (``git rev-list M^2 ^M^1``), titled by the merge message's body line;
- a merge commit whose subject ends in ``(#N)`` (GitHub's "pull request title" merge
  message): the same, titled by the subject;
- a single-parent commit whose subject ends in ``(#N)`` (a squash merge): pull request N,
  merged by that commit, with that commit as its only commit (the branch's original commits
  are not in the repository),
  whose description holds the squash message's kept body lines (GitHub fills a one-commit
  pull request's description with the commit's body and squashes with the description or the
  commits' messages, so a squashed revert's ``This reverts commit`` line is in both).

A pull request's base is the branch whose first-parent chain holds its merge commit. A
number seen twice (a squash subject cherry-picked onto another branch) keeps the first one
found on the default branch's first-parent chain, else the earliest merged.

The slice is every commit reachable from the recorded branches or tags and committed on or
after ``since`` (a UTC day); parents older than the slice stay in the parent lists (real
shas), and whoever loads the fixture decides what to do with them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = "real-history-v1"
_MERGE_PULL = re.compile(r"^Merge pull request #(\d+)(?: from (\S+))?")
_SQUASH_PULL = re.compile(r"\(#(\d+)\)$")
# Body lines the action reads; everything else in a message is left out of the fixture.
_KEPT_LINE = re.compile(
    r"^(This reverts commit [0-9a-f]{7,40}|Reverts \S+#\d+|Co-authored-by:)", re.IGNORECASE
)
_FIELD = "\x1f"
_RECORD = "\x1e"


@dataclass(frozen=True)
class _Commit:
    sha: str
    parents: tuple[str, ...]
    author: tuple[str, str, str]
    committer: tuple[str, str, str]
    subject: str
    body: tuple[str, ...]


def _git(git_dir: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args],
        capture_output=True,
        text=True,
        check=True,
        encoding="utf-8",
        errors="replace",
    )
    return completed.stdout


def _commits(git_dir: Path, refs: Sequence[str]) -> list[_Commit]:
    fmt = _FIELD.join(["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B"]) + _RECORD
    text = _git(git_dir, "log", "--topo-order", "--reverse", f"--format={fmt}", *refs, "--")
    commits: list[_Commit] = []
    for record in text.split(_RECORD):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, parents, an, ae, ad, cn, ce, cd, message = record.split(_FIELD)
        lines = message.strip("\n").split("\n")
        commits.append(
            _Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author=(an, ae, ad),
                committer=(cn, ce, cd),
                subject=lines[0].strip(),
                body=tuple(line.strip() for line in lines[1:]),
            )
        )
    return commits


def _utc_day(stamp: str) -> str:
    return datetime.fromisoformat(stamp).astimezone(UTC).date().isoformat()


def _kept_message(commit: _Commit) -> str:
    kept = [line for line in commit.body if _KEPT_LINE.match(line)]
    if _MERGE_PULL.match(commit.subject):
        # GitHub writes the pull request's title as the merge message's first body line.
        title = next((line for line in commit.body if line), "")
        kept = [title, *(line for line in kept if line != title)] if title else kept
    return commit.subject + ("\n\n" + "\n".join(kept) if kept else "")


def _first_parent_chain(by_sha: dict[str, _Commit], head: str) -> list[str]:
    chain: list[str] = []
    sha: str | None = head
    while sha is not None and sha in by_sha:
        chain.append(sha)
        parents = by_sha[sha].parents
        sha = parents[0] if parents else None
    return chain


def _tags(git_dir: Path) -> list[tuple[str, str, str | None, str | None]]:
    """(name, commit, tag object, tagger date) for every tag of a commit; the last two are
    None for a lightweight tag."""
    fmt = _FIELD.join(["%(refname:short)", "%(objecttype)", "%(*objecttype)", "%(*objectname)"])
    fmt += _FIELD + _FIELD.join(["%(objectname)", "%(taggerdate:iso-strict)"])
    tags: list[tuple[str, str, str | None, str | None]] = []
    for line in _git(git_dir, "for-each-ref", f"--format={fmt}", "refs/tags").splitlines():
        name, kind, target_kind, target, obj, tagger_date = line.split(_FIELD)
        if kind == "commit":
            tags.append((name, obj, None, None))
        elif kind == "tag" and target_kind == "commit":
            tags.append((name, target, obj, tagger_date or None))
    return tags


def _pull(
    git_dir: Path, commit: _Commit, base: str | None, by_sha: dict[str, _Commit]
) -> dict[str, Any] | None:
    """The pull request ``commit`` merged, when its message says so."""
    merge = _MERGE_PULL.match(commit.subject)
    titled = _SQUASH_PULL.search(commit.subject)
    if base is None or not (merge or titled) or len(commit.parents) > 2:
        return None
    kept = "\n".join(line for line in commit.body if _KEPT_LINE.match(line))
    if merge:
        # GitHub's classic merge message: the title is the body's first line, no description.
        number, head, body = int(merge.group(1)), merge.group(2), ""
        title = next((line for line in commit.body if line), commit.subject)
    elif titled:
        # "Title (#N)": a squash, or a merge commit under the "pull request title" setting;
        # the body is the description or the squashed commits' messages.
        number, head, body = int(titled.group(1)), None, kept
        title = commit.subject[: titled.start()].rstrip()
    if len(commit.parents) == 2:
        own = _git(git_dir, "rev-list", "--reverse", commit.parents[1], f"^{commit.parents[0]}")
        method, commits = "merge", [sha for sha in own.split() if sha in by_sha]
    else:
        method, commits = "squash", [commit.sha]
    return {
        "number": number,
        "method": method,
        "title": title,
        "head": head,
        "base": base,
        "body": body,
        "merge_commit": commit.sha,
        "commits": commits,
    }


def _line_head(git_dir: Path, name: str) -> str:
    """The tip of a line of development: a branch, or a tag a finished maintenance branch was
    turned into (projects often replace ``2.2.x`` branches by ``2.2.x`` tags)."""
    for ref in (f"refs/heads/{name}", f"refs/tags/{name}"):
        found = subprocess.run(
            ["git", f"--git-dir={git_dir}", "rev-parse", "--verify", "-q", f"{ref}^{{commit}}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if found.returncode == 0:
            return found.stdout.strip()
    raise SystemExit(f"{name}: neither a branch nor a tag of {git_dir}")


def record(git_dir: Path, repository: str, branches: Sequence[str], since: str) -> dict[str, Any]:
    """The fixture of ``repository``: the slice of ``branches`` (the default branch first) and
    of its tags committed on or after ``since`` (an ISO date)."""
    heads = {b: _line_head(git_dir, b) for b in branches}
    tags = _tags(git_dir)
    everything = _commits(git_dir, [*heads.values(), *sorted({t[1] for t in tags})])
    kept = [c for c in everything if _utc_day(c.committer[2]) >= since]
    by_sha = {c.sha: c for c in kept}
    chains = {b: set(_first_parent_chain(by_sha, head)) for b, head in heads.items()}

    def base_of(sha: str) -> str | None:
        return next((b for b in branches if sha in chains[b]), None)

    pulls: dict[int, dict[str, Any]] = {}
    for commit in kept:
        pull = _pull(git_dir, commit, base_of(commit.sha), by_sha)
        if pull is None:
            continue
        number, base = pull["number"], pull["base"]
        earlier = pulls.get(number)
        if earlier is None or (earlier["base"] != branches[0] and base == branches[0]):
            pulls[number] = pull
    for pull in pulls.values():
        mine = [by_sha[sha] for sha in pull["commits"]] or [by_sha[pull["merge_commit"]]]
        first = min(mine, key=lambda c: c.author[2])
        pull["author"] = [first.author[0], first.author[1]]
    return {
        "schema": SCHEMA,
        "repository": repository,
        "default_branch": branches[0],
        "since": since,
        "branches": heads,
        "commits": [
            [
                c.sha,
                list(c.parents),
                list(c.author),
                list(c.committer),
                _kept_message(c),
            ]
            for c in kept
        ],
        "tags": [
            {"name": name, "commit": sha, "object": obj, "tagger_date": date}
            for name, sha, obj, date in sorted(tags)
            if sha in by_sha
        ],
        "pulls": [pulls[n] for n in sorted(pulls)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("git_dir", type=Path, help="a bare git directory of the repository")
    parser.add_argument("repository", help="owner/name as GitHub spells it")
    parser.add_argument(
        "--branch",
        action="append",
        required=True,
        help="a line whose merges are pull requests (a branch, or a tag that replaced one); "
        "the default branch first",
    )
    parser.add_argument("--since", required=True, help="first committer date kept, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True, help="the .json.gz file to write")
    args = parser.parse_args(argv)
    fixture = record(args.git_dir, args.repository, args.branch, args.since)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixture, separators=(",", ":"), ensure_ascii=False)
    # mtime=0: the same history always gives the same bytes.
    args.out.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    return 0
