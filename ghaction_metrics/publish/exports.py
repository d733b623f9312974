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
from collections.abc import Callable, Mapping, Sequence
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
    new_rows: Mapping[str, Sequence[FigureRow]],
    latest: Sequence[FigureRow],
    read: BlobReader,
) -> Exports:
    """The export files to write when the branch goes from ``before`` to ``after`` (path →
    blob sha; ``after`` lists this run's snapshots, whose rows ``new_rows`` holds by path)."""
    months_before = _by_month(before, report_id)
    months_after = _by_month(after, report_id)
    existing = partitions(before, report_id)
    files: dict[str, bytes] = {}
    for month, snaps in sorted(months_after.items()):
        unchanged = [(s.path, s.blob) for s in months_before.get(month, [])] == [
            (s.path, s.blob) for s in snaps
        ]
        if unchanged and month in existing and not any(s.path in new_rows for s in snaps):
            continue  # keeps its blob: nothing is sent
        old = _old_rows(read, existing.get(month), before)
        rows: list[FigureRow] = []
        for snap in snaps:
            if snap.path in new_rows:
                rows.extend(new_rows[snap.path])
            elif _key(snap) in old:
                rows.extend(old[_key(snap)])
            else:
                rows.extend(_snapshot_rows(read, snap))
        files[partition_path(report_id, month)] = csv_text(rows)
    files[openmetrics_path(report_id)] = openmetrics_text(latest)
    gone = tuple(sorted(path for month, path in existing.items() if month not in months_after))
    return Exports(files, gone)


def _old_rows(
    read: BlobReader, path: str | None, before: Mapping[str, str]
) -> dict[tuple[str, str], list[FigureRow]]:
    """The rows a monthly CSV on the branch holds, by snapshot; empty when it is unreadable."""
    if path is None:
        return {}
    data = read(before[path])
    if data is None:
        return {}
    try:
        rows = parse_csv(data)
    except UnreadableSnapshotError as exc:
        log.info("Rebuilding %s from the snapshots: %s", path, exc)
        return {}
    grouped: dict[tuple[str, str], list[FigureRow]] = {}
    for row in rows:
        grouped.setdefault(_row_key(row), []).append(row)
    return grouped


def _snapshot_rows(read: BlobReader, snap: SnapshotFile) -> list[FigureRow]:
    data = read(snap.blob)
    if data is None:
        return []
    try:
        document = parse_json(data)
        if not isinstance(document, dict):
            raise UnreadableSnapshotError("not a JSON object")
        return figure_rows(document, snap.path)
    except UnreadableSnapshotError as exc:
        # The trends skip it with a warning already; the exports follow them.
        log.info("Snapshot %s left out of the exports: %s", snap.path, exc)
        return []


def branch_rows(files: Mapping[str, str], report_id: str, read: BlobReader) -> list[FigureRow]:
    """Every snapshot's rows on a branch holding ``files`` (path → what ``read`` takes), in
    snapshot order: from the monthly CSVs, and from the snapshots the CSVs lack."""
    existing = partitions(files, report_id)
    rows: list[FigureRow] = []
    for month, snaps in sorted(_by_month(files, report_id).items()):
        old = _old_rows(read, existing.get(month), files)
        for snap in snaps:
            found = old.get(_key(snap))
            rows.extend(found if found is not None else _snapshot_rows(read, snap))
    return rows
