"""The tidy exports on the history branch (SPEC §7): every snapshot's figures as CSV, and
the latest run's as OpenMetrics text, both under ``REPORT_ID/exports/``.

- ``figures-YYYY-MM.csv``: the rows (metrics/tidy.py) of the snapshots taken in that month
  (UTC, by the snapshot's file name), oldest first. A run rewrites only the months whose
  snapshots changed (its own month; a first run's backfilled months; months that
  ``history-retention`` thins out); the others keep their blob. One all-time file rewritten
  every day would add the whole history to the branch again each day (SPEC §6); a month's
  file adds at most a month of rows.
- ``latest.txt``: the latest run's rows as OpenMetrics text, overwritten each run.

A month's file is rebuilt from the file the branch holds (one read), taking the rows of the
snapshots still on the branch, and from the snapshots themselves for any it lacks: the
snapshots of a version that wrote no exports, or of a concurrent run whose commit this one
retried over. The files are derived data, so an unreadable one is rebuilt, never an error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

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
_PARTITION = re.compile(r"^figures-(?P<month>\d{4}-\d{2})\.csv$")

# A blob of the branch by its sha; None when it could not be read.
BlobReader = Callable[[str], bytes | None]


def partition_path(report_id: str, month: str) -> str:
    """The CSV of the snapshots taken in ``month`` (``YYYY-MM``)."""
    return f"{report_id}/{FOLDER}/figures-{month}.csv"


def openmetrics_path(report_id: str) -> str:
    return f"{report_id}/{FOLDER}/latest.txt"


def partitions(files: Mapping[str, str], report_id: str) -> dict[str, str]:
    """The report id's monthly CSVs among ``files``: month → path."""
    folder = f"{report_id}/{FOLDER}/"
    found: dict[str, str] = {}
    for path in files:
        match = _PARTITION.match(path[len(folder) :]) if path.startswith(folder) else None
        if match:
            found[match.group("month")] = path
    return found


@dataclass(frozen=True)
class Exports:
    files: Mapping[str, bytes]  # path → content to write
    deletions: tuple[str, ...]  # monthly files whose snapshots are all gone


def _key(snap: SnapshotFile) -> tuple[str, str]:
    """(run column, time stamp) of a snapshot, from its name ``STAMP-runID[-backfill].json``:
    what its rows carry in ``run`` and ``generated_at``."""
    name = snap.path.rsplit("/", 1)[1]
    stamp = snap.taken_at.strftime(_STAMP)
    return name[len(stamp) + len("-run") : -len(".json")], stamp


def _row_key(row: FigureRow) -> tuple[str, str]:
    return row.run, row.generated_at.strftime(_STAMP)


def _by_month(files: Mapping[str, str], report_id: str) -> dict[str, list[SnapshotFile]]:
    months: dict[str, list[SnapshotFile]] = {}
    for snap in snapshot_files(files, report_id):
        months.setdefault(snap.taken_at.strftime("%Y-%m"), []).append(snap)
    return months


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
    history's, read by ``branch_figures``, and this run's); ``behind`` the months whose file
    on the branch lacks some of them. Nothing is read: the rows are all known."""
    months_before = _by_month(before, report_id)
    months_after = _by_month(after, report_id)
    existing = partitions(before, report_id)
    stale = set(behind)
    files: dict[str, bytes] = {}
    for month, snaps in sorted(months_after.items()):
        unchanged = [(s.path, s.blob) for s in months_before.get(month, [])] == [
            (s.path, s.blob) for s in snaps
        ]
        if unchanged and month in existing and month not in stale:
            continue  # keeps its blob: nothing is sent
        rows = [row for snap in snaps for row in figures.get(snap.path, ())]
        files[partition_path(report_id, month)] = csv_text(rows)
    files[openmetrics_path(report_id)] = openmetrics_text(latest)
    gone = tuple(sorted(path for month, path in existing.items() if month not in months_after))
    return Exports(files, gone)


def _csv_rows(read: BlobReader, path: str | None, files: Mapping[str, str]) -> _ByKey | None:
    """The rows a monthly CSV on the branch holds, by snapshot; None when it is missing or
    unreadable (the month is then rebuilt from its snapshots)."""
    if path is None:
        return None
    data = read(files[path])
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
    """Every snapshot's rows on a branch, as the monthly CSVs and the snapshots give them."""

    rows: Mapping[str, tuple[FigureRow, ...]]  # readable snapshots: path → rows
    skipped: tuple[str, ...]  # snapshots that do not parse (left as they are)
    behind: tuple[str, ...]  # months whose CSV is missing, unreadable or lacks a snapshot
    read_from_snapshots: tuple[str, ...]  # snapshots the CSVs lacked, read themselves


def branch_figures(
    files: Mapping[str, str],
    report_id: str,
    read_csv: BlobReader,
    read_snapshot: Callable[[str], bytes | None],
) -> BranchFigures:
    """Every snapshot's rows on a branch holding ``files`` (path → what the readers take):
    from the monthly CSVs, and from the snapshots they lack. A snapshot that does not parse
    is skipped with a warning; one in a newer schema raises NewerSnapshotError."""
    existing = partitions(files, report_id)
    rows: dict[str, tuple[FigureRow, ...]] = {}
    skipped: list[str] = []
    behind: list[str] = []
    read: list[str] = []
    for month, snaps in sorted(_by_month(files, report_id).items()):
        known = _csv_rows(read_csv, existing.get(month), files)
        for snap in snaps:
            found = None if known is None else known.get(_key(snap))
            if found is not None:
                rows[snap.path] = tuple(found)
                continue
            if month not in behind:
                behind.append(month)
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


def branch_rows(files: Mapping[str, str], report_id: str, read: BlobReader) -> list[FigureRow]:
    """Every snapshot's rows on a branch holding ``files`` (path → what ``read`` takes), in
    snapshot order: from the monthly CSVs, and from the snapshots the CSVs lack."""
    found = branch_figures(files, report_id, read, read)
    return [
        row for snap in snapshot_files(files, report_id) for row in found.rows.get(snap.path, ())
    ]
