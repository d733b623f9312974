"""The tidy exports on the history branch (SPEC §7): every snapshot's figures as CSV, and
the latest run's as OpenMetrics text, both under ``REPORT_ID/exports/``.

- ``figures-YYYY-MM-DD.csv``: the rows (metrics/tidy.py) of the snapshots taken in the week
  starting that Monday (UTC, by the snapshot's file name), oldest first. A run rewrites only
  the weeks whose snapshots changed (its own week; a first run's backfilled weeks; weeks that
  ``history-retention`` thins out); the others keep their blob. One all-time file rewritten
  every day would add the whole history to the branch again each day (SPEC §6); a week's
  file adds at most a week of rows. Versions before 2026-12 wrote a file a month
  (``figures-YYYY-MM.csv``): its rows are read, and the next commit replaces it by weeks.
- ``latest.txt``: the latest run's rows as OpenMetrics text, overwritten each run.

The files are read all at once (``BlobsReader``: one GraphQL request for many), and a
snapshot's rows are taken from whichever file holds them; the snapshots no file holds (of a
version that wrote no exports, or of a concurrent run whose commit this one retried over)
are read themselves, and their week's file is rewritten. The files are derived data, so an
unreadable one is rebuilt, never an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from ghaction_metrics.metrics.tidy import FigureRow, figure_rows
from ghaction_metrics.metrics.trends import (
    SnapshotFile,
    UnreadableSnapshotError,
    parse_json,
    snapshot_files,
)
from ghaction_metrics.views.exports import csv_text, openmetrics_text, parse_csv

log = logging.getLogger(__name__)

FOLDER = "exports"
_STAMP = "%Y-%m-%dT%H%M%SZ"
_PARTITION = re.compile(r"^figures-(?P<key>\d{4}-\d{2}(?:-\d{2})?)\.csv$")

# A blob of the branch by its sha; None when it could not be read.
BlobReader = Callable[[str], bytes | None]
# Many blobs at once: sha → content (None: could not be read).
BlobsReader = Callable[[Sequence[str]], Mapping[str, bytes | None]]


def one_by_one(read: BlobReader) -> BlobsReader:
    """A ``BlobsReader`` that reads each blob on its own (a checkout, a test's branch)."""
    return lambda shas: {sha: read(sha) for sha in dict.fromkeys(shas)}


def partition_path(report_id: str, week: str) -> str:
    """The CSV of the snapshots taken in the week starting on Monday ``week`` (YYYY-MM-DD)."""
    return f"{report_id}/{FOLDER}/figures-{week}.csv"


def openmetrics_path(report_id: str) -> str:
    return f"{report_id}/{FOLDER}/latest.txt"


def partitions(files: Mapping[str, str], report_id: str) -> dict[str, str]:
    """The report id's CSVs among ``files``: week (or, written by an earlier version, month)
    → path."""
    folder = f"{report_id}/{FOLDER}/"
    found: dict[str, str] = {}
    for path in files:
        match = _PARTITION.match(path[len(folder) :]) if path.startswith(folder) else None
        if match:
            found[match.group("key")] = path
    return found


def week_of(snap: SnapshotFile) -> str:
    """The Monday (UTC) of the week a snapshot was taken in: its file's week."""
    return (snap.taken_at - timedelta(days=snap.taken_at.weekday())).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Exports:
    files: Mapping[str, bytes]  # path → content to write
    deletions: tuple[str, ...]  # files whose snapshots are all gone, and monthly ones


def _key(snap: SnapshotFile) -> tuple[str, str]:
    """(run column, time stamp) of a snapshot, from its name ``STAMP-runID[-backfill].json``:
    what its rows carry in ``run`` and ``generated_at``."""
    name = snap.path.rsplit("/", 1)[1]
    stamp = snap.taken_at.strftime(_STAMP)
    return name[len(stamp) + len("-run") : -len(".json")], stamp


def _row_key(row: FigureRow) -> tuple[str, str]:
    return row.run, row.generated_at.strftime(_STAMP)


def _by_week(files: Mapping[str, str], report_id: str) -> dict[str, list[SnapshotFile]]:
    weeks: dict[str, list[SnapshotFile]] = {}
    for snap in snapshot_files(files, report_id):
        weeks.setdefault(week_of(snap), []).append(snap)
    return weeks


def export_files(
    report_id: str,
    before: Mapping[str, str],
    after: Mapping[str, str],
    figures: Mapping[str, Sequence[FigureRow]],
    latest: Sequence[FigureRow],
    behind: Iterable[str] = (),
) -> Exports:
    """The export files to write when the branch goes from ``before`` to ``after`` (path →
    blob sha). ``figures`` holds the rows of every readable snapshot ``after`` lists (the
    history's, read by ``branch_figures``, and this run's); ``behind`` the weeks whose file
    on the branch lacks some of them. Nothing is read: the rows are all known."""
    weeks_before = _by_week(before, report_id)
    weeks_after = _by_week(after, report_id)
    existing = partitions(before, report_id)
    stale = set(behind)
    files: dict[str, bytes] = {}
    for week, snaps in sorted(weeks_after.items()):
        unchanged = [(s.path, s.blob) for s in weeks_before.get(week, [])] == [
            (s.path, s.blob) for s in snaps
        ]
        if unchanged and week in existing and week not in stale:
            continue  # keeps its blob: nothing is sent
        rows = [row for snap in snaps for row in figures.get(snap.path, ())]
        files[partition_path(report_id, week)] = csv_text(rows)
    files[openmetrics_path(report_id)] = openmetrics_text(latest)
    # Weeks with no snapshot left, and an earlier version's monthly files, which the weeks'
    # files now hold.
    gone = tuple(sorted(path for key, path in existing.items() if key not in weeks_after))
    return Exports(files, gone)


def _csv_rows(data: bytes | None, path: str) -> _ByKey | None:
    """The rows of a CSV on the branch, by snapshot; None when it does not parse (the week is
    then rebuilt from its snapshots)."""
    if data is None:
        return None
    try:
        rows = parse_csv(data)
    except UnreadableSnapshotError as exc:
        log.info("Rebuilding %s from the snapshots: %s", path, exc)
        return None
    grouped: _ByKey = {}
    for row in rows:
        grouped.setdefault(_row_key(row), []).append(row)
    return grouped


_ByKey = dict[tuple[str, str], list[FigureRow]]


@dataclass(frozen=True)
class BranchFigures:
    """Every snapshot's rows on a branch, as the CSVs and the snapshots give them."""

    rows: Mapping[str, tuple[FigureRow, ...]]  # readable snapshots: path → rows
    skipped: tuple[str, ...]  # snapshots that do not parse (left as they are)
    behind: tuple[str, ...]  # weeks whose CSV is missing, unreadable or lacks a snapshot
    read_from_snapshots: tuple[str, ...]  # snapshots no CSV held, read themselves


def branch_figures(
    files: Mapping[str, str],
    report_id: str,
    read_csvs: BlobsReader,
    read_snapshot: Callable[[str], bytes | None],
) -> BranchFigures:
    """Every snapshot's rows on a branch holding ``files`` (path → what the readers take):
    from the CSVs, all read at once, and from the snapshots they lack. A snapshot that does
    not parse is skipped with a warning; one in a newer schema raises NewerSnapshotError."""
    existing = partitions(files, report_id)
    contents = read_csvs([files[path] for path in existing.values()]) if existing else {}
    held: dict[str, _ByKey] = {}  # partition key → its rows by snapshot
    for key, path in existing.items():
        grouped = _csv_rows(contents.get(files[path]), path)
        if grouped is not None:
            held[key] = grouped
    anywhere: _ByKey = {}
    for grouped in held.values():
        anywhere.update(grouped)
    rows: dict[str, tuple[FigureRow, ...]] = {}
    skipped: list[str] = []
    behind: dict[str, None] = {}
    read: list[str] = []
    for week, snaps in sorted(_by_week(files, report_id).items()):
        for snap in snaps:
            if _key(snap) not in held.get(week, {}):
                behind[week] = None  # its own week's file lacks it: rewritten next
            found = anywhere.get(_key(snap))
            if found is not None:
                rows[snap.path] = tuple(found)
                continue
            read.append(snap.path)
            snapshot = _snapshot_rows(read_snapshot, snap)
            if snapshot is None:
                skipped.append(snap.path)
            else:
                rows[snap.path] = tuple(snapshot)
    return BranchFigures(rows, tuple(skipped), tuple(behind), tuple(read))


def _snapshot_rows(
    read: Callable[[str], bytes | None], snap: SnapshotFile
) -> list[FigureRow] | None:
    data = read(snap.blob)
    if data is None:
        return None
    try:
        document = parse_json(data)
        if not isinstance(document, dict):
            raise UnreadableSnapshotError("not a JSON object")
        return figure_rows(document, snap.path)
    except UnreadableSnapshotError as exc:
        log.warning("Skipping unreadable snapshot %s, left as it is: %s", snap.path, exc)
        return None


def branch_rows(
    files: Mapping[str, str],
    report_id: str,
    read: BlobReader,
    read_csvs: BlobsReader | None = None,
) -> list[FigureRow]:
    """Every snapshot's rows on a branch holding ``files`` (path → what ``read`` takes), in
    snapshot order: from the CSVs (``read_csvs``, else one by one), and from the snapshots
    the CSVs lack."""
    found = branch_figures(files, report_id, read_csvs or one_by_one(read), read)
    return [
        row for snap in snapshot_files(files, report_id) for row in found.rows.get(snap.path, ())
    ]
