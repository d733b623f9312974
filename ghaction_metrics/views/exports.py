"""The tidy rows (metrics/tidy.py) as files other tools read without this code (SPEC §7):
CSV for spreadsheets and pandas, OpenMetrics text for Prometheus-style tools.

CSV: a header of ``tidy.COLUMNS``; times in ISO 8601 UTC (``2026-03-02T06:00:00Z``); a
value as Python writes a float (the shortest text that reads back as the same number), empty
for no data.

OpenMetrics: one gauge family per metric, ``ghaction_metrics_<metric in snake case>``,
labelled ``repository`` and ``cohort``, and beside it ``…_sample_size``, the n behind each
value; a figure with no data has no sample (absent, not 0). Ends with ``# EOF``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ghaction_metrics.metrics.tidy import COLUMNS, FigureRow
from ghaction_metrics.metrics.trends import UnreadableSnapshotError, snapshot_time

PREFIX = "ghaction_metrics_"
_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _value(value: float | None) -> str:
    if value is None:
        return ""
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(value)


def csv_text(rows: Iterable[FigureRow]) -> bytes:
    """The rows as CSV (a header, then one line per row, in the order given)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.run, _time(r.generated_at), _time(r.since), _time(r.until), r.period,
                r.repository, r.cohort, r.metric, _value(r.value), r.n,
            ]
        )  # fmt: skip
    return out.getvalue().encode("utf-8")


def parse_csv(data: bytes) -> list[FigureRow]:
    """Rows of a CSV that ``csv_text`` wrote; UnreadableSnapshotError for anything else."""
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8")))
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise UnreadableSnapshotError(f"not a figures CSV (header {header!r})")
        return [_row(line) for line in reader]
    except (UnicodeDecodeError, csv.Error, ValueError) as exc:
        if isinstance(exc, UnreadableSnapshotError):
            raise
        raise UnreadableSnapshotError(f"not a figures CSV: {exc}") from None


def _row(line: Sequence[str]) -> FigureRow:
    if len(line) != len(COLUMNS):
        raise UnreadableSnapshotError(f"a line of {len(line)} fields, expected {len(COLUMNS)}")
    run, generated, since, until, period, repository, cohort, metric, value, n = line
    count = int(n)
    if count < 0:
        raise UnreadableSnapshotError(f"negative n {n!r}")
    return FigureRow(
        run,
        snapshot_time(generated),
        snapshot_time(since),
        snapshot_time(until),
        period,
        repository,
        cohort,
        metric,
        float(value) if value else None,
        count,
    )


def metric_name(metric: str) -> str:
    """The OpenMetrics family: ``lead-time-hours`` is ``ghaction_metrics_lead_time_hours``."""
    return PREFIX + _NAME.sub("_", metric)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics_text(rows: Sequence[FigureRow]) -> bytes:
    """The rows of one snapshot as OpenMetrics text: gauges, families in first-seen order."""
    families: dict[str, list[FigureRow]] = {}
    for r in rows:
        families.setdefault(r.metric, []).append(r)
    lines: list[str] = []
    for metric, members in families.items():
        name = metric_name(metric)
        for family, help_text, values in (
            (name, f"{metric}, the latest run's figure", [(r, r.value) for r in members]),
            (
                f"{name}_sample_size",
                f"the number of events behind {metric}",
                [(r, float(r.n)) for r in members],
            ),
        ):
            lines.append(f"# TYPE {family} gauge")
            lines.append(f"# HELP {family} {help_text}")
            for r, value in values:
                if value is None:
                    continue  # no data: no sample, rather than a made-up 0
                labels = f'repository="{_label(r.repository)}",cohort="{_label(r.cohort)}"'
                lines.append(f"{family}{{{labels}}} {_value(value)}")
    lines.append("# EOF")
    return ("\n".join(lines) + "\n").encode("utf-8")
