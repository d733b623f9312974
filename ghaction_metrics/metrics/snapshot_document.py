"""Reading a snapshot document from the history branch: its JSON, its schema version, its
times and numbers, each checked (SPEC §6: a snapshot in a newer schema version stops the run;
an unreadable one is skipped). The trends and the tidy rows both read snapshots through it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ghaction_metrics.metrics.report import SCHEMA_VERSION


class NewerSnapshotError(RuntimeError):
    """A snapshot on the branch was written by a newer version of the action."""


class UnreadableSnapshotError(ValueError):
    """A snapshot that does not have the shape its schema version promises."""


# No snapshot can describe a time before any repository held data, nor one far beyond any
# run; such a time only breaks the charts' date arithmetic (year 1, year 9999).
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def snapshot_time(value: object) -> datetime:
    """A snapshot's ISO time in UTC; UnreadableSnapshotError for anything else."""
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


def number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnreadableSnapshotError(f"expected a number, found {value!r}")
    return float(value)


def count(value: object) -> int:
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
