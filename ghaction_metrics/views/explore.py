"""What the trends page needs to be explored: its figure rows as JSON that is safe inside a
``<script>`` element, and its script with the hash the Content-Security-Policy allows."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ghaction_metrics.metrics.headline import FIGURES, Kind
from ghaction_metrics.metrics.tidy import ALL_COHORTS, ALL_REPOSITORIES, COLUMNS
from ghaction_metrics.metrics.trends import iso, rounded
from ghaction_metrics.views.markdown import TEMPLATES

SCRIPT_FILE = "explore.js"  # beside the trends page on the history branch
SCRIPT = (Path(TEMPLATES) / SCRIPT_FILE).read_text(encoding="utf-8")
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
# A self-contained page's policy runs its inline script and no other: an injected one would
# not match the hash.
SCRIPT_SOURCE = f"'{SCRIPT_HASH}'"

# JSON is valid JavaScript string content except for these, which would end the element
# (``</script>``), start a comment (``<!--``) or break a line in older parsers.
_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: object) -> str:
    """``value`` as JSON that no string in it can break out of a script element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "".join(_ESCAPES.get(char, char) for char in text)


def _kind(metric: str) -> Kind:
    """How to show a figure no headline declares (a cohort's own), by its name's unit."""
    if metric.endswith("-hours"):
        return Kind.MEDIAN_HOURS
    if metric.endswith(("-share", "-rate")):
        return Kind.RATIO
    return Kind.COUNT


def _metrics(names: set[str]) -> list[dict[str, str]]:
    """The metrics the rows hold: the headline figures in their order and with their labels,
    then any other (a cohort section's own figures) by name."""
    declared = [f for f in FIGURES if f.kind is not Kind.LEVEL and f.name in names]
    others = sorted(names - {f.name for f in declared})
    return [{"name": f.name, "label": f.label, "kind": f.kind.value} for f in declared] + [
        {"name": name, "label": name.replace("-", " ").capitalize(), "kind": _kind(name).value}
        for name in others
    ]


def page_data(rows: pd.DataFrame) -> str:
    """The figure rows the trends page embeds (metrics/trends.py ``page_rows``), with the
    metrics' labels and kinds (how the page formats them), as script-safe JSON.

    The page is rewritten by every run, so the rows travel as series: one per repository,
    cohort and metric, with a value and an n per snapshot (``snapshots``: run, generated_at,
    since, until, period); an n of null is no row. The script expands them into the tidy rows
    of ``columns``.
    """
    snapshots: dict[tuple[str, str, str, str, str], int] = {}
    series: dict[tuple[str, str, str], tuple[list[float | None], list[int | None]]] = {}
    records = rows.to_dict("records")
    for r in records:
        key = _snapshot(r)
        snapshots.setdefault(key, len(snapshots))
    for r in records:
        values, counts = series.setdefault(
            (r["repository"], r["cohort"], r["metric"]),
            ([None] * len(snapshots), [None] * len(snapshots)),
        )
        at = snapshots[_snapshot(r)]
        value = None if pd.isna(r["value"]) else float(r["value"])
        values[at], counts[at] = rounded(value), int(r["n"])
    return script_json(
        {
            "metrics": _metrics({str(r["metric"]) for r in records}),
            "all": {"repository": ALL_REPOSITORIES, "cohort": ALL_COHORTS},
            "columns": list(COLUMNS),
            "snapshots": [list(key) for key in snapshots],
            "series": [[*key, values, counts] for key, (values, counts) in series.items()],
        }
    )


def _snapshot(row: Mapping[Hashable, Any]) -> tuple[str, str, str, str, str]:
    return (
        str(row["run"]),
        iso(row["generated_at"].to_pydatetime()),
        iso(row["since"].to_pydatetime()),
        iso(row["until"].to_pydatetime()),
        str(row["period"]),
    )
