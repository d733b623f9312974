"""Bug reports of the demo organisation, for the truth of the bug rate.

The generator already files issues labelled ``bug`` (and ``bug, needs-triage``) beside
``enhancement`` ones (``plan_issues``), and labels some pull requests ``bug`` too (hotfixes
and ordinary changes). The ledger keeps the issues alone: pull requests are never bug
reports, whatever their labels. No random draw is made here, so every other figure of the
world stays as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from ghaction_metrics_dev.dataset.truth import BugRecord

BUG_LABELS = ("bug",)  # the action's default bug-labels


def is_bug(labels: Sequence[str], bug_labels: Sequence[str] = BUG_LABELS) -> bool:
    wanted = {label.casefold() for label in bug_labels}
    return any(label.casefold() in wanted for label in labels)


def bug_records(
    repository: str, issues: Iterable[tuple[int, datetime, Sequence[str]]]
) -> tuple[BugRecord, ...]:
    """The bug reports among ``issues`` (number, opened, labels), by number."""
    return tuple(
        BugRecord(repository, number, opened)
        for number, opened, labels in sorted(issues, key=lambda issue: issue[0])
        if is_bug(labels)
    )
