"""The history branch as a pandas DataFrame, for analysts (SPEC §7)::

    from ghaction_metrics import history
    df = history.load("path/to/clone")
    df[df.repository == "*"].pivot_table(index="until", columns="metric", values="value")

``load`` reads a local checkout of the branch (a folder) or the branch through GitHub's API
(``"owner/name"`` with a token), and answers one row per snapshot, period, repository,
cohort and metric, the columns of the CSV export (README "Exports"), times in ``timezone``.
It reads the weekly CSVs the action keeps under ``REPORT_ID/exports/`` and, for
snapshots they do not hold (written by a version without exports), the snapshots themselves.
``weekly`` buckets the figures by week in a time zone, choosing among snapshots by the
rule the trends page follows (metrics/frame.py).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from ghaction_metrics.api.client import connect
from ghaction_metrics.metrics import frame
from ghaction_metrics.metrics.tidy import FigureRow, figure_frame
from ghaction_metrics.publish.exports import branch_rows
from ghaction_metrics.publish.history import read_tree
from ghaction_metrics.publish.history_read import blob_reader, blobs_reader

__all__ = ["load", "weekly"]

log = logging.getLogger(__name__)

_REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")


def load(
    source: str | os.PathLike[str],
    report_id: str = "default",
    timezone: str = "UTC",
    *,
    token: str | None = None,
    api_url: str = "https://api.github.com",
    branch: str = "metrics",
) -> pd.DataFrame:
    """Every snapshot's figures on the history branch, one row per figure.

    ``source``: a folder holding a checkout of the history branch
    (``git clone --branch metrics --single-branch URL``), or ``"owner/name"`` to read
    ``branch`` through the API at ``api_url`` with ``token`` (``contents: read``).
    Raises ValueError for an unknown time zone or a source that is neither, and
    FileNotFoundError when the source holds no history for ``report_id``.
    """
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {timezone!r} is not an IANA time zone name") from None
    if isinstance(source, os.PathLike) or Path(source).is_dir():
        rows = _local_rows(Path(source), report_id)
    elif _REPOSITORY.match(source):
        rows = _api_rows(source, report_id, token, api_url, branch)
    else:
        raise ValueError(
            f"source {source!r} is neither a folder nor a repository 'owner/name'; pass the "
            "folder of a checkout of the history branch, or owner/name with a token"
        )
    return figure_frame(rows, timezone)


def weekly(figures: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Weekly buckets of ``load``'s frame: per week (Monday to Sunday in ``timezone``),
    repository, cohort and metric, the figure of the last window ending in that week."""
    return frame.weekly(figures, timezone)


def _local_rows(folder: Path, report_id: str) -> list[FigureRow]:
    root = folder / report_id
    if not root.is_dir():
        raise FileNotFoundError(
            f"{folder} holds no folder {report_id}: check out the history branch there "
            "(git clone --branch metrics --single-branch URL), or pass report_id"
        )
    files = {
        path.relative_to(folder).as_posix(): path.relative_to(folder).as_posix()
        for path in root.rglob("*")
        if path.is_file()
    }

    def read(relative: str) -> bytes | None:
        return (folder / relative).read_bytes()

    return branch_rows(files, report_id, read)


def _api_rows(
    repository: str, report_id: str, token: str | None, api_url: str, branch: str
) -> list[FigureRow]:
    if not token:
        raise ValueError(f"reading {repository} through the API needs a token")
    base = api_url.rstrip("/")
    graphql = base.removesuffix("/v3") + "/graphql"
    clients = connect(token, base, graphql)
    tree = read_tree(clients, repository, branch)
    if tree is None:
        raise FileNotFoundError(f"{repository} has no branch {branch}")
    rows = branch_rows(
        tree.files,
        report_id,
        blob_reader(clients, repository),
        blobs_reader(clients, repository),
    )
    log.info("Read %d figures of %s from %s@%s", len(rows), report_id, repository, branch)
    return rows
