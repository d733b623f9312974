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

from ghaction_metrics.metrics.figure_rows import FigureRow, figure_rows
from ghaction_metrics.metrics.headline import FIGURES, Figure, Headline, Kind, Value
from ghaction_metrics.metrics.report import SCHEMA_VERSION

log = logging.getLogger(__name__)

INDEX_VERSION = 1
_SNAPSHOT_NAME = re.compile(
    r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{6}Z)-run(?P<run>[A-Za-z0-9_.]+?)(?P<backfill>-backfill)?\.json$"
)
_REPORT_NAME = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}T\d{6}Z)-run[A-Za-z0-9_.]+\.html$")


class NewerSnapshotError(RuntimeError):
    """A snapshot on the branch was written by a newer version of the action."""


class UnreadableSnapshotError(ValueError):
    """A snapshot that does not have the shape its schema version promises."""


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


# No snapshot can describe a time before any repository held data, nor one far beyond any
# run; such a time only breaks the charts' date arithmetic (year 1, year 9999).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise UnreadableSnapshotError(f"expected a time, found {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnreadableSnapshotError(str(exc)) from None
    if moment.tzinfo is None:
        raise UnreadableSnapshotError(f"time without a zone: {value!r}")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise UnreadableSnapshotError(f"time out of range: {value!r}") from None
    if not _EARLIEST <= moment < _LATEST:
        raise UnreadableSnapshotError(f"implausible time: {value!r}")
    return moment


def parse_json(data: bytes) -> object:
    """JSON of a history file; UnreadableSnapshotError for anything that is not JSON,
    including arrays nested so deep that the parser gives up with a RecursionError."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise UnreadableSnapshotError(f"not JSON: {type(exc).__name__}") from None


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnreadableSnapshotError(f"expected a number, found {value!r}")
    return float(value)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnreadableSnapshotError(f"expected a count, found {value!r}")
    return value


def check_schema(document: object, path: str) -> int:
    """The snapshot's schema version; NewerSnapshotError when this code cannot read it."""
    if not isinstance(document, dict):
        raise UnreadableSnapshotError("not a JSON object")
    version = document.get("schema")
    if isinstance(version, bool) or not isinstance(version, int):
        raise UnreadableSnapshotError(f"no schema version (found {version!r})")
    if version > SCHEMA_VERSION:
        raise NewerSnapshotError(
            f"The history branch holds {path} in snapshot schema version {version}, but this "
            f"version of the action reads versions up to {SCHEMA_VERSION}. A newer version of "
            "the action has written to this branch: use that version (or newer) in this "
            "workflow, or point history-branch at another branch. Nothing was published."
        )
    return version


def _figure_value(figure: Figure, period: Mapping[str, Any]) -> Value:
    value: Any = period
    for step in figure.snapshot:
        if figure.kind is Kind.MEDIAN_HOURS and step not in value:
            # A median added after the snapshot was written: that run did not measure it.
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
            until=_time(current["window"]["until"]),
            generated_at=_time(document["generated_at"]),
            backfill=backfill,
            deployments=_count(current["dora"]["deployments"]),
            rows=tuple(r for r in figure_rows(document, path) if r.period == "current"),
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
    """A figure as stored beside the history: four decimals, like the outputs (SPEC §4)."""
    return None if value is None else round(value, 4)


def _rows_json(point: TrendPoint) -> dict[str, Any]:
    """A point's rows, compactly: they share the snapshot's run and window (the index is
    rewritten by every run, on a branch everyone clones)."""
    first = point.rows[0] if point.rows else None
    shared = [first.run, first.generated_at, first.since, first.until] if first else []
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
    run, generated_at, since, until = _texts(data.get("snapshot"), 4)
    rows = []
    for item in data["figures"]:
        if not isinstance(item, list) or len(item) != 5:
            raise UnreadableSnapshotError(f"not a figure row: {item!r}")
        repository, cohort, metric = _texts(item[:3], 3)
        value, n = _number(item[3]), _count(item[4])
        rows.append(
            FigureRow(
                run, generated_at, since, until, "current", repository, cohort, metric, value, n
            )
        )
    return tuple(rows)


def _point_from_json(data: Mapping[str, Any], rows: object) -> TrendPoint:
    """A trend point from the index, checked like a snapshot's figures: the index is a file
    anyone with write access can change."""
    values: dict[str, Any] = {f.key: _checked(f, data[f.key]) for f in FIGURES}
    backfill = data["backfill"]
    if not isinstance(backfill, bool):
        raise UnreadableSnapshotError(f"expected true or false, found {backfill!r}")
    return TrendPoint(
        until=_time(data["until"]),
        generated_at=_time(data["generated_at"]),
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
    latest run over earlier runs of the same day."""
    chosen: dict[datetime, TrendPoint] = {}
    for point in sorted(points, key=lambda p: (not p.backfill, p.generated_at)):
        chosen[point.until] = point
    return [chosen[key] for key in sorted(chosen)]


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
