"""An organisation's Copilot usage reports (input ``copilot-metrics``).

GitHub answers ``GET /orgs/{org}/copilot/metrics/reports/...`` with signed download links to
NDJSON report files, not with the figures. The organisation's 28-day report (one request and
its files) covers the 28 days up to the last day GitHub has processed; window days before
that are read from the 1-day report of each day. Days after it are not processed yet and are
left out. Each file line holds a ``day_totals`` array of day records (the 28-day shape) or is
one day record itself; the fields read are those documented in "Data available in Copilot
usage metrics" on docs.github.com (see docs/metrics.md).

The reports are optional: a refusal (403/404) is one notice naming the permission, anything
else unexpected a warning, and the run goes on without them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

from github import GithubException

from ghaction_metrics.api.client import (
    DownloadRefusedError,
    GitHubClients,
    GitHubUnreachableError,
    github_message,
    redacted,
)
from ghaction_metrics.api.quota import QuotaExhaustedError, SecondaryLimitError
from ghaction_metrics.records import CopilotDay, CopilotUsage
from ghaction_metrics.workflow_commands import NOTICE

log = logging.getLogger(__name__)

PERMISSION = (
    "Reading them needs a token of an organisation owner, or a fine-grained token with the "
    'organisation permission "View Organization Copilot Metrics" (a classic token: the '
    "read:org or manage_billing:copilot scope); the workflow token never has it. Give such a "
    "token in the input token, or leave copilot-metrics empty."
)


class ReportError(Exception):
    """A report answer or file that is not what GitHub documents."""


@dataclass(frozen=True)
class _Links:
    links: tuple[str, ...]
    first: date | None  # the first day the report covers


def _reports(organization: str) -> str:
    return f"/orgs/{quote(organization, safe='')}/copilot/metrics/reports"


def read_usage(
    clients: GitHubClients, organization: str, days: Sequence[date]
) -> CopilotUsage | None:
    """The usage of ``organization`` on ``days`` (those GitHub has reports for), or None
    when the reports cannot be read (logged as a notice or a warning)."""
    reader = _Reader(clients, organization)
    try:
        return reader.read(days)
    except GithubException as exc:
        if exc.status in (403, 404):
            log.log(NOTICE, _refusal(organization, exc), extra={"title": "Copilot usage"})
        else:
            log.warning(
                "Copilot usage is not shown: GitHub answered HTTP %s for organisation %s's "
                "usage reports (%s).",
                exc.status,
                organization,
                github_message(exc) or "no message",
            )
    except (
        ReportError,
        DownloadRefusedError,
        GitHubUnreachableError,
        QuotaExhaustedError,
        SecondaryLimitError,
    ) as exc:
        log.warning("Copilot usage is not shown: %s", exc)
    return None


def _refusal(organization: str, exc: GithubException) -> str:
    said = github_message(exc) or "no message"
    if exc.status == 404:
        cause = (
            f"GitHub answered 404 ({said}) for organisation {organization}'s Copilot usage "
            "reports: the organisation does not exist, the token cannot see it, or its "
            "Copilot usage metrics are turned off."
        )
    else:
        cause = f"GitHub refused organisation {organization}'s Copilot usage reports (403: {said})."
    return f"Copilot usage is not shown. {cause} {PERMISSION}"


class _Reader:
    def __init__(self, clients: GitHubClients, organization: str) -> None:
        self.clients = clients
        self.organization = organization
        self.requests = 0

    def read(self, days: Sequence[date]) -> CopilotUsage:
        found: dict[date, CopilotDay] = {}
        latest = self._links("organization-28-day/latest", None)
        for record in self._files(latest.links):
            found[record.day] = record
        # Window days older than the 28-day report: one 1-day report each.
        older = sorted(d for d in set(days) if latest.first is None or d < latest.first)
        for day in older:
            for record in self._files(self._links("organization-1-day", day).links):
                found.setdefault(record.day, record)
        usage = CopilotUsage(
            self.organization, tuple(found[d] for d in sorted(found)), self.requests
        )
        log.info(
            "Copilot usage of %s: %d days read with %d requests",
            self.organization,
            len(usage.days),
            self.requests,
        )
        return usage

    def _links(self, report: str, day: date | None) -> _Links:
        params = {"day": day.isoformat()} if day is not None else None
        self.requests += 1
        _, data = self.clients.rest.requestJsonAndCheck(
            "GET", f"{_reports(self.organization)}/{report}", params
        )
        if data is None:  # 204: no report for that day
            return _Links((), day)
        if not isinstance(data, dict) or not isinstance(data.get("download_links"), list):
            raise ReportError(f"the {report} report answer has no download_links")
        links = tuple(str(link) for link in data["download_links"])
        first = data.get("report_start_day") or data.get("report_day")
        try:
            start = date.fromisoformat(str(first)) if first else day
        except ValueError as exc:
            raise ReportError(f"the {report} report answer has a bad day {first!r}") from exc
        return _Links(links, start)

    def _files(self, links: Iterable[str]) -> list[CopilotDay]:
        records: list[CopilotDay] = []
        for link in links:
            self.requests += 1
            answer = self.clients.downloads.get(link)
            if answer.status != 200:
                raise ReportError(f"downloading {redacted(link)} answered HTTP {answer.status}")
            records += parse_report_file(answer.text, redacted(link))
        return records


def parse_report_file(text: str, name: str) -> list[CopilotDay]:
    """The day records of one NDJSON report file (a JSON array is read too)."""
    stripped = text.strip()
    try:
        if stripped.startswith("["):
            lines: list[Any] = json.loads(stripped)
        else:
            lines = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ReportError(f"{name} is not NDJSON ({exc.msg}, line {exc.lineno})") from None
    records: list[CopilotDay] = []
    for line in lines:
        if not isinstance(line, dict):
            raise ReportError(f"{name} holds a line that is not an object")
        totals = line.get("day_totals")
        entries = totals if isinstance(totals, list) else [line]
        records += [_day(entry, name) for entry in entries]
    return records


def _count(entry: dict[str, Any], name: str, where: str, default: int | None) -> int | None:
    """A documented count; ``default`` when the record leaves it out."""
    value = entry.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReportError(f"{where}: {name} is {value!r}, not a count")
    return value


def _total(entry: dict[str, Any], name: str, where: str) -> int:
    # Activity counts left out of a record are taken as none that day.
    return _count(entry, name, where, 0) or 0


def _day(entry: Any, where: str) -> CopilotDay:
    if not isinstance(entry, dict):
        raise ReportError(f"{where}: a day record is not an object")
    try:
        day = date.fromisoformat(str(entry.get("day")))
    except ValueError:
        raise ReportError(f"{where}: a day record has a bad day {entry.get('day')!r}") from None
    active = _count(entry, "daily_active_users", where, None)
    if active is None:
        raise ReportError(f"{where}: the record of {day} has no daily_active_users")
    return CopilotDay(
        day=day,
        daily_active_users=active,
        weekly_active_users=_count(entry, "weekly_active_users", where, None),
        user_initiated_interaction_count=_total(entry, "user_initiated_interaction_count", where),
        code_generation_activity_count=_total(entry, "code_generation_activity_count", where),
        code_acceptance_activity_count=_total(entry, "code_acceptance_activity_count", where),
    )
