"""Trends: the headline figures of every past snapshot on the history branch.

Reading a snapshot costs one request, so the figures already read are kept in a small index
file on the branch (``REPORT_ID/trends-index.json``), keyed by path and blob sha; a run reads
the index and only the snapshots it does not cover. The index is disposable: one that does
not parse, or that a newer version wrote, is ignored and every snapshot is read again.

This module reads nothing itself: publish/history_read.py fetches the branch listing, the
index and the snapshots it names, and ``history_of`` makes the history of them.

SPEC §6: a snapshot in a newer schema version than this code knows stops the run before it
writes anything; an unreadable old snapshot is skipped with a warning and left as it is.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from ghaction_metrics.metrics.frame import BACKFILL_SUFFIX, one_per_window
from ghaction_metrics.metrics.headline import FIGURES, Figure, Headline, Kind, Value

# What reads a snapshot document lives below the tidy rows, which the points carry; the
# modules that read snapshots through the trends still find it here.
from ghaction_metrics.metrics.snapshot_document import NewerSnapshotError as NewerSnapshotError
from ghaction_metrics.metrics.snapshot_document import (
    UnreadableSnapshotError as UnreadableSnapshotError,
)
from ghaction_metrics.metrics.snapshot_document import check_schema as check_schema
from ghaction_metrics.metrics.snapshot_document import count as _count
from ghaction_metrics.metrics.snapshot_document import number as _number
from ghaction_metrics.metrics.snapshot_document import parse_json as parse_json
from ghaction_metrics.metrics.snapshot_document import snapshot_time as snapshot_time
from ghaction_metrics.metrics.tidy import PERIOD, FigureRow, figure_rows

log = logging.getLogger(__name__)

INDEX_VERSION = 1
_SNAPSHOT_NAME = re.compile(
    r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{6}Z)-run(?P<run>[A-Za-z0-9_.]+?)(?P<backfill>-backfill)?\.json$"
)
_REPORT_NAME = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{6}Z)-run[A-Za-z0-9_.]+\.html$")


@dataclass(frozen=True)
class TrendPoint(Headline):
    """One snapshot's headline figures (SPEC §4 pooling), placed at its window's end."""

    until: datetime
    generated_at: datetime
    backfill: bool
    deployments: int
    # The snapshot's current window as tidy rows (per repository, per cohort) for the trends
    # page's filters; not part of a point's identity.
    rows: tuple[FigureRow, ...] = field(default=(), compare=False, repr=False)


def _figure_value(figure: Figure, period: Mapping[str, Any]) -> Value:
    value: Any = period
    for step in figure.snapshot:
        if (figure.needs_sample or figure.kind is Kind.PER_100) and step not in value:
            # A median, ratio or the bug rate added after the snapshot was written: that run
            # did not measure it.
            return None
        value = value[step]
    return _checked(figure, value)


def _checked(figure: Figure, value: object) -> Value:
    """``value`` as the figure's kind of value; UnreadableSnapshotError when it is not one."""
    if figure.kind is Kind.LEVEL:
        if value is not None and not isinstance(value, str):
            raise UnreadableSnapshotError(f"expected a level, found {value!r}")
        return value
    if figure.kind is Kind.COUNT:
        return _count(value)
    number = _number(value)
    return (number or 0.0) if figure.kind is Kind.PER_DAY else number


def point_from_snapshot(
    document: object, path: str = "the snapshot", backfill: bool = False
) -> TrendPoint:
    """The trend point of a snapshot document (the shape report.snapshot writes)."""
    check_schema(document, path)
    assert isinstance(document, dict)
    try:
        current = document["current"]
        figures: dict[str, Any] = {f.key: _figure_value(f, current) for f in FIGURES}
        return TrendPoint(
            until=snapshot_time(current["window"]["until"]),
            generated_at=snapshot_time(document["generated_at"]),
            backfill=backfill,
            deployments=_count(current["dora"]["deployments"]),
            rows=tuple(figure_rows(document, path)),
            **figures,
        )
    except (KeyError, TypeError) as exc:
        raise UnreadableSnapshotError(f"missing or malformed field: {exc}") from None


def _point_json(point: TrendPoint) -> dict[str, Any]:
    data = asdict(point)
    del data["rows"]  # kept beside the point, compactly
    data["until"] = point.until.isoformat()
    data["generated_at"] = point.generated_at.isoformat()
    return data


def rounded(value: float | None) -> float | None:
    """A row's figure as the index keeps it for the trends page: four significant digits,
    more than the page shows (the index is rewritten by every run; the snapshot and the
    exports keep the figure whole)."""
    return None if value is None else float(f"{value:.4g}")


def iso(moment: datetime) -> str:
    """A time as snapshots write it: UTC, to the second, with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rows_json(point: TrendPoint) -> dict[str, Any]:
    """A point's rows, compactly: they share the snapshot's run and window (the index is
    rewritten by every run, on a branch everyone clones)."""
    first = point.rows[0] if point.rows else None
    shared = (
        [first.run, iso(first.generated_at), iso(first.since), iso(first.until)] if first else []
    )
    return {
        "snapshot": shared,
        "figures": [[r.repository, r.cohort, r.metric, rounded(r.value), r.n] for r in point.rows],
    }


def _texts(values: object, count: int) -> list[str]:
    if not isinstance(values, list) or len(values) != count:
        raise UnreadableSnapshotError(f"expected {count} values, found {values!r}")
    if not all(isinstance(value, str) for value in values):
        raise UnreadableSnapshotError(f"expected text, found {values!r}")
    return values


def _rows_from_json(data: object) -> tuple[FigureRow, ...]:
    """Rows from the index, checked: the index is a file anyone with write access can change."""
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        raise UnreadableSnapshotError("the index entry has no rows")
    if not data["figures"]:
        return ()
    run, generated_text, since_text, until_text = _texts(data.get("snapshot"), 4)
    generated_at = snapshot_time(generated_text)
    since, until = snapshot_time(since_text), snapshot_time(until_text)
    rows = []
    for item in data["figures"]:
        if not isinstance(item, list) or len(item) != 5:
            raise UnreadableSnapshotError(f"not a figure row: {item!r}")
        repository, cohort, metric = _texts(item[:3], 3)
        value, n = _number(item[3]), _count(item[4])
        rows.append(
            FigureRow(run, generated_at, since, until, PERIOD, repository, cohort, metric, value, n)
        )
    return tuple(rows)


def _point_from_json(data: Mapping[str, Any], rows: object) -> TrendPoint:
    """A trend point from the index, checked like a snapshot's figures: the index is a file
    anyone with write access can change."""
    values: dict[str, Any] = {
        f.key: _checked(f, data.get(f.key) if f.needs_sample else data[f.key]) for f in FIGURES
    }
    backfill = data["backfill"]
    if not isinstance(backfill, bool):
        raise UnreadableSnapshotError(f"expected true or false, found {backfill!r}")
    return TrendPoint(
        until=snapshot_time(data["until"]),
        generated_at=snapshot_time(data["generated_at"]),
        backfill=backfill,
        deployments=_count(data["deployments"]),
        rows=_rows_from_json(rows),
        **values,
    )


def snapshot_path(report_id: str, generated_at: datetime, run_id: str, backfill: bool) -> str:
    """Named by time and run id (SPEC §6); backfilled weeks carry a suffix of their own so a
    re-run, which replaces its own ``-runID.json`` snapshot, leaves them alone."""
    stamp = generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    suffix = "-backfill" if backfill else ""
    return f"{report_id}/snapshots/{stamp}-run{run_id}{suffix}.json"


@dataclass(frozen=True)
class SnapshotFile:
    path: str
    blob: str
    taken_at: datetime  # from the file name: when the run (or backfilled week) happened
    backfill: bool


def snapshot_files(files: Mapping[str, str], report_id: str) -> list[SnapshotFile]:
    """The report id's snapshot files among the branch's files (path → blob sha)."""
    folder = f"{report_id}/snapshots/"
    found: list[SnapshotFile] = []
    for path, blob in files.items():
        if not path.startswith(folder) or "/" in path[len(folder) :]:
            continue
        match = _SNAPSHOT_NAME.match(path[len(folder) :])
        if match is None:
            continue
        taken = datetime.strptime(match.group("stamp"), "%Y-%m-%dT%H%M%SZ").replace(tzinfo=UTC)
        found.append(SnapshotFile(path, blob, taken, bool(match.group("backfill"))))
    return sorted(found, key=lambda f: (f.taken_at, f.path))


@dataclass(frozen=True)
class History:
    """What the history branch holds for one report id, read before anything is written."""

    exists: bool
    files: Mapping[str, str]  # every file on the branch tip: path → blob sha
    snapshots: tuple[SnapshotFile, ...]
    entries: Mapping[str, tuple[str, TrendPoint]]  # readable snapshots: path → (blob, point)
    skipped: tuple[str, ...] = ()  # unreadable snapshots

    @property
    def first_run(self) -> bool:
        return not self.snapshots

    @property
    def points(self) -> tuple[TrendPoint, ...]:
        """The readable snapshots' points, oldest first."""
        return tuple(sorted((point for _, point in self.entries.values()), key=_order))

    @property
    def index(self) -> bytes:
        """The index to write back, covering every readable snapshot."""
        return encode_index(self.entries)


EMPTY_HISTORY = History(False, {}, (), {})


def index_path(report_id: str) -> str:
    return f"{report_id}/trends-index.json"


def read_index(data: bytes | None) -> dict[str, Any]:
    """Index entries (path → {blob, point}); empty when missing, unreadable or newer."""
    if data is None:
        return {}
    try:
        loaded = parse_json(data)
    except UnreadableSnapshotError:
        log.info("The trends index on the history branch does not parse; rebuilding it.")
        return {}
    if not isinstance(loaded, dict) or loaded.get("version") != INDEX_VERSION:
        return {}
    entries = loaded.get("entries")
    return entries if isinstance(entries, dict) else {}


def encode_index(entries: Mapping[str, tuple[str, TrendPoint]]) -> bytes:
    # Compact: the index grows with every run and is rewritten by each, on a branch everyone
    # clones; one entry a line keeps its diffs readable.
    lines = [
        json.dumps(path)
        + ":"
        + json.dumps(
            {"blob": blob, "point": _point_json(point), "rows": _rows_json(point)},
            separators=(",", ":"),
            sort_keys=True,
        )
        for path, (blob, point) in sorted(entries.items())
    ]
    body = ",\n".join(lines)
    return f'{{"version":{INDEX_VERSION},"entries":{{\n{body}\n}}}}\n'.encode()


def _cached_point(entry: object, snap: SnapshotFile) -> TrendPoint | None:
    """The index's point for a snapshot, when the index covers this very blob (an entry
    written before the index kept rows does not: the snapshot is read once more)."""
    if isinstance(entry, dict) and entry.get("blob") == snap.blob:
        try:
            return _point_from_json(entry["point"], entry.get("rows"))
        except (KeyError, TypeError, UnreadableSnapshotError):
            pass  # a damaged entry: read the snapshot itself
    return None


def unindexed(
    files: Mapping[str, str], report_id: str, index: Mapping[str, Any]
) -> list[SnapshotFile]:
    """The report id's snapshots the index entries (``read_index``) do not cover: the ones to
    read before ``history_of``."""
    return [
        snap
        for snap in snapshot_files(files, report_id)
        if _cached_point(index.get(snap.path), snap) is None
    ]


def history_of(
    files: Mapping[str, str],
    report_id: str,
    index: Mapping[str, Any],
    blobs: Mapping[str, bytes],
) -> History:
    """The history of ``report_id`` on a branch holding ``files`` (path → blob sha), from its
    trends index entries (``read_index``) and the ``blobs`` (sha → bytes) of the snapshots
    ``unindexed`` names.

    Raises NewerSnapshotError; unreadable snapshots are skipped with a warning.
    """
    snapshots = snapshot_files(files, report_id)
    entries: dict[str, tuple[str, TrendPoint]] = {}
    skipped: list[str] = []
    for snap in snapshots:
        point = _cached_point(index.get(snap.path), snap)
        if point is not None:
            entries[snap.path] = (snap.blob, point)
            continue
        try:
            point = point_from_snapshot(parse_json(blobs[snap.blob]), snap.path, snap.backfill)
        except UnreadableSnapshotError as exc:
            log.warning("Skipping unreadable snapshot %s in the trends: %s", snap.path, exc)
            skipped.append(snap.path)
            continue
        entries[snap.path] = (snap.blob, point)
    return History(True, dict(files), tuple(snapshots), entries, tuple(skipped))


def _order(point: TrendPoint) -> tuple[datetime, datetime]:
    return point.until, point.generated_at


def series(points: Iterable[TrendPoint]) -> list[TrendPoint]:
    """One point per window end, oldest first: a real run wins over a backfilled week, and the
    latest run over earlier runs of the same day (the rule of the analysts' DataFrame,
    metrics/frame.py, applied to the points)."""
    listed = list(points)
    if not listed:
        return []
    frame = pd.DataFrame(
        {
            "run": [f"{i}{BACKFILL_SUFFIX if p.backfill else ''}" for i, p in enumerate(listed)],
            "generated_at": [p.generated_at for p in listed],
            "until": [p.until for p in listed],
            "position": range(len(listed)),
        }
    )
    return [listed[int(i)] for i in one_per_window(frame)["position"]]


def expired(
    files: Mapping[str, str], report_id: str, now: datetime, retention: timedelta | None
) -> list[str]:
    """Snapshots and HTML reports of ``report_id`` older than ``retention`` (SPEC §3)."""
    if retention is None:
        return []
    cutoff = now - retention
    old = [s.path for s in snapshot_files(files, report_id) if s.taken_at < cutoff]
    folder = f"{report_id}/reports/"
    for path in files:
        match = _REPORT_NAME.match(path[len(folder) :]) if path.startswith(folder) else None
        if match:
            taken = datetime.strptime(match.group("stamp"), "%Y-%m-%dT%H%M%SZ")
            if taken.replace(tzinfo=UTC) < cutoff:
                old.append(path)
    return sorted(old)


def without(history: History, removed: Iterable[str]) -> History:
    """The history as trends should see it once ``removed`` files are pruned."""
    gone = set(removed)
    return History(
        history.exists,
        {p: b for p, b in history.files.items() if p not in gone},
        tuple(s for s in history.snapshots if s.path not in gone),
        {p: e for p, e in history.entries.items() if p not in gone},
        tuple(p for p in history.skipped if p not in gone),
    )
