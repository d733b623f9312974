"""Copilot usage metrics reports: the endpoints that answer with signed download links, and
the report files those links point at.

``GET /orgs/{org}/copilot/metrics/reports/organization-28-day/latest`` and
``.../organization-1-day?day=`` answer as GitHub's OpenAPI description says; the files are
served from ``/_reports/...`` on the emulator's host with a signature and an expiry in the
query string, as blob storage serves them: a request that also carries an ``Authorization``
header is refused, so a client that sends its token there fails.

Only an organisation owner or a token with the fine-grained "View Organization Copilot
Metrics" permission may read them; the workflow token (an integration) never may.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from ghaction_metrics_dev.emulator import payloads as p
from ghaction_metrics_dev.emulator.rest import NOT_ACCESSIBLE, Ctx, HttpError, route
from ghaction_metrics_dev.emulator.state import Response, ServerState

REPORTS_PREFIX = "/_reports/"
# The emulator's fine-grained permission name for "View Organization Copilot Metrics".
PERMISSION = "organization_copilot_metrics"
_DOCS = "/rest/copilot/copilot-usage-metrics"
_KEY = b"emulator-report-signing-key"
_SECONDS_VALID = 3600
_FILES_PER_28_DAY_REPORT = 2  # GitHub may split a report; the client must read every part


def _organization(ctx: Ctx, org: str) -> str:
    user = next((u for u in ctx.world.users.values() if u.login.lower() == org.lower()), None)
    if user is None or user.type != "Organization":
        raise HttpError(404, "Not Found", _DOCS)
    if ctx.token.kind != "pat":
        raise HttpError(403, NOT_ACCESSIBLE, _DOCS)
    if ctx.token.permissions.get(PERMISSION) not in ("read", "write"):
        raise HttpError(403, "Resource not accessible by personal access token", _DOCS)
    return user.login


def _last_day(ctx: Ctx) -> date:
    # Reports cover whole days GitHub has processed: up to yesterday.
    return ctx.world.now.date() - timedelta(days=1)


def _signed(server: ServerState, path: str) -> str:
    expires = int(server.clock()) + _SECONDS_VALID
    signature = hmac.new(_KEY, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()
    return f"{server.url}{path}?{urlencode({'se': expires, 'sig': signature})}"


@route("GET", "/orgs/{org}/copilot/metrics/reports/organization-28-day/latest")
def latest_28_days(ctx: Ctx, org: str) -> Response:
    login = _organization(ctx, org)
    end = _last_day(ctx)
    start = end - timedelta(days=27)
    links = [
        _signed(ctx.server, f"{REPORTS_PREFIX}{login}/28-day-{end}-{part}.ndjson")
        for part in range(_FILES_PER_28_DAY_REPORT)
    ]
    body = {
        "download_links": links,
        "report_start_day": start.isoformat(),
        "report_end_day": end.isoformat(),
    }
    return Response(200, body)


@route("GET", "/orgs/{org}/copilot/metrics/reports/organization-1-day")
def one_day(ctx: Ctx, org: str) -> Response:
    login = _organization(ctx, org)
    try:
        day = date.fromisoformat(ctx.query.get("day", ""))
    except ValueError:
        raise HttpError(422, 'Invalid request.\n\nInvalid property "day".', _DOCS) from None
    if day > _last_day(ctx) or not _records(ctx.server, login, day, day):
        return Response(204)
    link = _signed(ctx.server, f"{REPORTS_PREFIX}{login}/1-day-{day}.ndjson")
    return Response(200, {"download_links": [link], "report_day": day.isoformat()})


def _records(server: ServerState, login: str, start: date, end: date) -> list[dict[str, Any]]:
    days = server.world.copilot_usage.get(login, [])
    return [r for r in days if start.isoformat() <= str(r["day"]) <= end.isoformat()]


def serve_report(
    server: ServerState, path: str, query: dict[str, str], headers: dict[str, str]
) -> Response:
    """A report file, for a link ``_signed`` made that has not expired."""
    if any(k.lower() == "authorization" for k in headers):
        # Blob storage allows one way to authenticate: the signature in the link.
        return Response(400, p.error("Only one authentication method is allowed.", 400))
    expected = hmac.new(_KEY, f"{path}\n{query.get('se', '')}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, query.get("sig", "")):
        return Response(403, p.error("Signature did not match.", 403))
    if int(query.get("se", "0") or 0) < server.clock():
        return Response(403, p.error("Signed link expired.", 403))
    login, _, name = path.removeprefix(REPORTS_PREFIX).partition("/")
    kind, _, rest = name.removesuffix(".ndjson").partition("-day-")
    try:
        if kind == "28":
            end = date.fromisoformat(rest[:10])
            part = int(rest[11:])
            start = end - timedelta(days=27)
            records = _records(server, login, start, end)
            share = -(-len(records) // _FILES_PER_28_DAY_REPORT)
            line = {
                "organization_id": str(_org_id(server, login)),
                "report_start_day": start.isoformat(),
                "report_end_day": end.isoformat(),
                "day_totals": records[part * share : (part + 1) * share],
            }
            text = json.dumps(line) + "\n"
        else:
            day = date.fromisoformat(rest)
            text = "".join(
                json.dumps({"organization_id": str(_org_id(server, login)), **r}) + "\n"
                for r in _records(server, login, day, day)
            )
    except ValueError:
        return Response(404, p.error("Not Found", 404))
    return Response(200, headers={"Content-Type": "application/x-ndjson"}, raw=text.encode())


def _org_id(server: ServerState, login: str) -> int:
    user = server.world.users.get(login)
    return user.id if user is not None else 0
