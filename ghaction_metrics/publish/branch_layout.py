"""What the action writes on its history branch, and which files on a branch it did not.

Every file the action writes lies in a report id's folder (``REPORT_ID/…``: snapshots, the
cache, the exports, charts, pages, the pseudonym salt, and the trends index of earlier
versions), plus the branch root's ``index.html`` (the list of report ids) and ``.nojekyll``.
A branch that holds anything else, such as a GitHub Pages site on ``gh-pages``, is someone
else's: writing the root page there would overwrite the site's ``index.html``, so the run
refuses such a branch instead.
"""

from __future__ import annotations

from collections.abc import Iterable

# The root files the action writes; only next to a report folder of its own.
ROOT_FILES = frozenset({"index.html", ".nojekyll"})
# What marks a top-level folder as a report id's: files only the action writes there.
_REPORT_MARKS = ("snapshots/", "cache/", "exports/", "trends-index.json", "pseudonym-salt")


def report_folders(paths: Iterable[str]) -> set[str]:
    """Top-level folders that hold a report id's files."""
    folders: set[str] = set()
    for path in paths:
        top, sep, rest = path.partition("/")
        if sep and rest.startswith(_REPORT_MARKS):
            folders.add(top)
    return folders


def foreign_files(paths: Iterable[str]) -> list[str]:
    """The files on a branch that the action did not write, sorted; empty for its own."""
    listed = sorted(paths)
    ours = report_folders(listed)
    foreign = []
    for path in listed:
        top, sep, _ = path.partition("/")
        if sep and top in ours:
            continue
        if not sep and path in ROOT_FILES and ours:
            continue
        foreign.append(path)
    return foreign


def refusal(branch: str, foreign: list[str]) -> str:
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return (
        f"Input 'history-branch' names {branch}, which holds files this action did not write "
        f"({shown}). Writing its report there would overwrite or mix with them (a GitHub Pages "
        "site's index.html, say), so nothing was published. Use a branch of its own: leave "
        "history-branch out for the default, metrics, or name a new branch."
    )
