"""The tidy figures as a pandas DataFrame, and what the trends take from it: one snapshot per
window end, and weekly buckets with weeks in the report's time zone.

A frame has the columns of metrics/tidy.py's ``COLUMNS``: times tz-aware, ``value`` a float
(NaN for no data), ``n`` an integer. Functions here need only the columns they name, so the
trends can pass a frame of their own points (metrics/trends.py ``series``).
"""

from __future__ import annotations

import pandas as pd

BACKFILL_SUFFIX = "-backfill"


def is_backfill(frame: pd.DataFrame) -> pd.Series:
    """Rows of weeks computed by backfill on a first run (their run id carries the suffix)."""
    return frame["run"].astype(str).str.endswith(BACKFILL_SUFFIX)


def one_per_window(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of one snapshot per window end (``until``), oldest first: a real run wins
    over a backfilled week, and the latest run over earlier runs of the same window.

    Needs the columns ``run``, ``generated_at`` and ``until``.
    """
    ranked = frame.assign(_real=~is_backfill(frame))
    snapshots = ranked[["until", "_real", "generated_at", "run"]].drop_duplicates()
    chosen = snapshots.sort_values(["until", "_real", "generated_at"], kind="stable")
    chosen = chosen.drop_duplicates("until", keep="last")[["run", "generated_at"]]
    kept = ranked.merge(chosen, on=["run", "generated_at"], how="inner")
    kept = kept.sort_values(["until", "generated_at"], kind="stable")
    return kept.drop(columns="_real").reset_index(drop=True)


def weekly(frame: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """One row per week, repository, cohort and metric: the figure of the last window that
    ends in that week (weeks start on Monday at local midnight in ``timezone``; a window ends
    at a midnight, so it belongs to the week of the day before its end).

    Columns: ``week`` (the week's first day, a date), ``repository``, ``cohort``,
    ``metric``, ``value``, ``n``, ``until``.
    """
    chosen = one_per_window(frame)
    buckets = chosen.assign(week=week_start(chosen["until"], timezone)).sort_values(
        ["week", "until"], kind="stable"
    )
    keys = ["week", "repository", "cohort", "metric"]
    latest = buckets.drop_duplicates(keys, keep="last")
    return latest[[*keys, "value", "n", "until"]].reset_index(drop=True)


def last_moment(until: pd.Series, timezone: str) -> pd.Series:
    """The last instant inside a window ending at ``until``, in ``timezone``: a window ends
    at a midnight, so its days, weeks and months are those of this moment."""
    moment: pd.Series = until.dt.tz_convert(timezone) - pd.Timedelta(microseconds=1)
    return moment


def week_start(until: pd.Series, timezone: str) -> pd.Series:
    """The first day (a date) of the week, Monday to Sunday in ``timezone``, that a window
    ending at ``until`` belongs to."""
    last_day = last_moment(until, timezone).dt.date
    week: pd.Series = pd.to_datetime(last_day).dt.to_period("W-SUN").dt.start_time.dt.date
    return week
