"""Copilot usage reports: the emulator's endpoints and files, the client that reads them, and
the period figures, checked against the dataset's own truth."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import requests
from conftest import WORKFLOW_TOKEN, EmulatorFactory, default_tokens
from emulator_contracts import validate_rest_response

from ghaction_metrics.api.client import DownloadRefusedError, GitHubClients, connect
from ghaction_metrics.api.quota import RetryPolicy, Waiter
from ghaction_metrics.collect.copilot_usage import ReportError, parse_report_file, read_usage
from ghaction_metrics.inputs.windows import Window, midnight
from ghaction_metrics.metrics.usage import period_days, summarize_usage
from ghaction_metrics.records import CopilotUsage
from ghaction_metrics.workflow_commands import NOTICE
from ghaction_metrics_dev.dataset.usage import UsageTruth, add_copilot_usage
from ghaction_metrics_dev.emulator.copilot import PERMISSION
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import User, World

NOW = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
VIEWER = "ghp_copilotMetricsViewer"  # a fine-grained token with the permission
PLAIN = "ghp_plainToken"  # a fine-grained token without it
REPORTS = "/api/v3/orgs/acme/copilot/metrics/reports"


def _tokens() -> dict[str, TokenInfo]:
    return {
        **default_tokens(),
        VIEWER: TokenInfo("owner", "pat", {PERMISSION: "read"}),
        PLAIN: TokenInfo("someone", "pat", {"issues": "read"}),
    }


def _world() -> tuple[World, UsageTruth]:
    world = World(now=NOW)
    world.users["acme"] = User("acme", 4, "Organization")
    return world, add_copilot_usage(world, "acme", seed=5, now=NOW)


@pytest.fixture
def served(emulator_factory: EmulatorFactory) -> tuple[EmulatorServer, UsageTruth]:
    world, truth = _world()
    return emulator_factory(world, _tokens()), truth


def _clients(server: EmulatorServer, token: str, attempts: int = 3) -> GitHubClients:
    waiter = Waiter(RetryPolicy(attempts=attempts), sleep=lambda _: None)
    return connect(token, server.api_url, server.graphql_url, waiter=waiter)


def _get(server: EmulatorServer, path: str, token: str, **params: str) -> requests.Response:
    return requests.get(
        f"{server.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


# -- the emulator -----------------------------------------------------------------------------


def test_the_28_day_report_links_to_signed_files_on_the_emulators_host(
    served: tuple[EmulatorServer, UsageTruth],
) -> None:
    server, truth = served
    answer = _get(server, f"{REPORTS}/organization-28-day/latest", VIEWER)
    assert answer.status_code == 200
    body = answer.json()
    assert body["report_end_day"] == "2026-03-19"
    assert body["report_start_day"] == "2026-02-20"
    assert len(body["download_links"]) == 2
    days: list[str] = []
    for link in body["download_links"]:
        assert link.startswith(f"{server.url}/_reports/acme/")
        assert "sig=" in link
        file = requests.get(link, timeout=10)
        assert file.status_code == 200
        days += [d.day.isoformat() for d in parse_report_file(file.text, "file")]
    expected = [d.day.isoformat() for d in truth.days if d.day >= date(2026, 2, 20)]
    assert days == expected


def test_a_one_day_report_and_a_day_without_one(served: tuple[EmulatorServer, UsageTruth]) -> None:
    server, truth = served
    first = truth.days[0]
    answer = _get(server, f"{REPORTS}/organization-1-day", VIEWER, day=first.day.isoformat())
    assert answer.status_code == 200
    assert answer.json()["report_day"] == first.day.isoformat()
    file = requests.get(answer.json()["download_links"][0], timeout=10)
    (record,) = parse_report_file(file.text, "file")
    assert (record.daily_active_users, record.code_acceptance_activity_count) == (
        first.daily_active_users,
        first.accepted,
    )
    today = _get(server, f"{REPORTS}/organization-1-day", VIEWER, day="2026-03-20")
    assert (today.status_code, today.text) == (204, "")
    too_old = first.day - timedelta(days=1)
    assert (
        _get(server, f"{REPORTS}/organization-1-day", VIEWER, day=str(too_old)).status_code == 204
    )


@pytest.mark.parametrize(
    ("token", "status", "message"),
    [
        (WORKFLOW_TOKEN, 403, "Resource not accessible by integration"),
        (PLAIN, 403, "Resource not accessible by personal access token"),
    ],
)
def test_tokens_without_the_permission_are_refused(
    served: tuple[EmulatorServer, UsageTruth], token: str, status: int, message: str
) -> None:
    server, _ = served
    path = f"{REPORTS}/organization-28-day/latest"
    answer = _get(server, path, token)
    assert (answer.status_code, answer.json()["message"]) == (status, message)
    assert validate_rest_response("GET", path, status, answer.json()).errors == []


def test_an_unknown_organisation_is_404(served: tuple[EmulatorServer, UsageTruth]) -> None:
    server, _ = served
    path = "/api/v3/orgs/nobody/copilot/metrics/reports/organization-28-day/latest"
    answer = _get(server, path, VIEWER)
    assert answer.status_code == 404
    assert validate_rest_response("GET", path, 404, answer.json()).errors == []


def test_a_report_file_refuses_a_token_and_a_bad_signature(
    served: tuple[EmulatorServer, UsageTruth],
) -> None:
    server, _ = served
    link = _get(server, f"{REPORTS}/organization-28-day/latest", VIEWER).json()["download_links"][0]
    with_token = requests.get(link, headers={"Authorization": f"Bearer {VIEWER}"}, timeout=10)
    assert with_token.status_code == 400
    forged = requests.get(link.replace("sig=", "sig=0"), timeout=10)
    assert forged.status_code == 403


# -- the client -------------------------------------------------------------------------------


def _window_days(days: int) -> list[date]:
    return [NOW.date() - timedelta(days=n) for n in range(days, 0, -1)]


def test_reading_with_the_permission_gives_the_true_days_at_the_stated_cost(
    served: tuple[EmulatorServer, UsageTruth],
) -> None:
    server, truth = served
    wanted = _window_days(30)  # two days before the 28-day report: two 1-day reports
    usage = read_usage(_clients(server, VIEWER), "acme", wanted)
    assert usage is not None
    by_day = {d.day: d for d in usage.days}
    for day in truth.days:
        if day.day in wanted:
            got = by_day[day.day]
            assert (got.daily_active_users, got.weekly_active_users) == (
                day.daily_active_users,
                day.weekly_active_users,
            )
            assert (got.code_generation_activity_count, got.code_acceptance_activity_count) == (
                day.shown,
                day.accepted,
            )
            assert got.user_initiated_interaction_count == day.interactions
    assert set(wanted) <= set(by_day)
    # 28-day answer + its 2 files, then 2 × (1-day answer + its file).
    assert usage.requests == 7
    api = [r for r in server.requests if r.kind == "rest"]
    downloads = [r for r in server.requests if r.kind == "download"]
    assert (len(api), len(downloads)) == (3, 4)
    assert all(r.status == 200 for r in downloads)


def test_the_workflow_token_gives_one_notice_naming_the_permission(
    served: tuple[EmulatorServer, UsageTruth], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = served
    with caplog.at_level(logging.INFO):
        assert read_usage(_clients(server, WORKFLOW_TOKEN), "acme", _window_days(30)) is None
    notices = [r for r in caplog.records if r.levelno == NOTICE]
    assert len(notices) == 1
    text = notices[0].getMessage()
    assert '"View Organization Copilot Metrics"' in text
    assert "read:org or manage_billing:copilot" in text
    assert "the workflow token never has it" in text
    assert "Resource not accessible by integration" in text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(server.requests) == 1  # nothing more is tried after the refusal


def test_a_failing_file_is_a_warning_that_never_shows_the_signature(
    served: tuple[EmulatorServer, UsageTruth], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = served
    server.faults.arm("server_error", count=100, status=503, path_contains="/_reports/")
    with caplog.at_level(logging.INFO):
        assert read_usage(_clients(server, VIEWER), "acme", _window_days(10)) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "HTTP 503" in warnings[0]
    assert "/_reports/acme/" in warnings[0]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "sig=" not in logged
    assert "se=" not in logged
    assert not [r for r in caplog.records if r.levelno == NOTICE]


class _ForeignHost(BaseHTTPRequestHandler):
    """Another host, as the signed links name: records the headers it is sent."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers.items()))
        body = b'{"day": "2026-03-01", "daily_active_users": 3}\n'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def foreign_host() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ForeignHost)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _ForeignHost.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_download_link_on_another_host_never_receives_the_token(foreign_host: str) -> None:
    secret = "ghp_secretThatMustStayHome"
    clients = connect(secret, "http://127.0.0.1:1/api/v3", "http://127.0.0.1:1/api/graphql")
    answer = clients.downloads.get(f"{foreign_host}/report.ndjson?sig=abc&se=1")
    assert answer.status == 200
    (headers,) = _ForeignHost.seen
    assert not any(k.lower() == "authorization" for k in headers)
    assert secret not in str(headers)


def test_a_link_that_is_not_https_is_refused_when_the_api_is_https() -> None:
    clients = connect("t", "https://ghes.example/api/v3", "https://ghes.example/api/graphql")
    with pytest.raises(
        DownloadRefusedError, match=r"^refusing to download http://evil\.example/x$"
    ):
        clients.downloads.get("http://evil.example/x?sig=secret")


def test_a_malformed_file_is_a_report_error() -> None:
    with pytest.raises(ReportError, match="not NDJSON"):
        parse_report_file("{not json", "f")
    with pytest.raises(ReportError, match="daily_active_users is -1"):
        parse_report_file('{"day": "2026-01-01", "daily_active_users": -1}', "f")
    with pytest.raises(ReportError, match="has no daily_active_users"):
        parse_report_file('{"day_totals": [{"day": "2026-01-01"}]}', "f")


def test_both_documented_file_shapes_are_read() -> None:
    nested = '{"report_start_day": "2026-01-01", "day_totals": [{"day": "2026-01-01", "daily_active_users": 2, "code_generation_activity_count": 10, "code_acceptance_activity_count": 3}]}'  # noqa: E501
    flat = '[{"day": "2026-01-02", "daily_active_users": 4}]'
    (first,) = parse_report_file(nested, "f")
    (second,) = parse_report_file(flat, "f")
    assert (first.day, first.acceptance_rate) == (date(2026, 1, 1), 0.3)
    assert (second.day, second.acceptance_rate, second.weekly_active_users) == (
        date(2026, 1, 2),
        None,
        None,
    )


# -- the period figures -----------------------------------------------------------------------


def test_a_periods_figures_equal_the_truth() -> None:
    world, truth = _world()
    days = tuple(
        parse_report_file("\n".join(json.dumps(r) for r in world.copilot_usage["acme"]), "f")
    )
    usage = CopilotUsage("acme", days, 1)
    window = Window(midnight(date(2026, 2, 18), UTC), midnight(date(2026, 3, 20), UTC))
    summary = summarize_usage(usage, window)
    expected = truth.window(period_days(window))
    assert summary.days == expected["days"] == 30
    assert summary.mean_daily_active_users == pytest.approx(expected["mean_daily_active_users"])
    assert summary.mean_weekly_active_users == pytest.approx(expected["mean_weekly_active_users"])
    assert (summary.shown, summary.accepted) == (expected["shown"], expected["accepted"])
    assert summary.acceptance_rate == pytest.approx(expected["acceptance_rate"])


def test_a_day_belongs_to_the_period_it_starts_in() -> None:
    window = Window(datetime(2026, 3, 1, 5, tzinfo=UTC), datetime(2026, 3, 4, 5, tzinfo=UTC), UTC)
    assert period_days(window) == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]


def test_an_unknown_organisation_is_one_notice_saying_why(
    served: tuple[EmulatorServer, UsageTruth], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = served
    with caplog.at_level(logging.INFO):
        assert read_usage(_clients(server, VIEWER), "nobody", _window_days(3)) is None
    (notice,) = [r.getMessage() for r in caplog.records if r.levelno == NOTICE]
    assert "GitHub answered 404 (Not Found) for organisation nobody's" in notice
    assert '"View Organization Copilot Metrics"' in notice


def test_window_days_before_the_reports_begin_are_simply_not_reported(
    served: tuple[EmulatorServer, UsageTruth],
) -> None:
    server, truth = served
    before = truth.days[0].day - timedelta(days=2)
    wanted = [before + timedelta(days=n) for n in range(4)]  # two days without a report
    usage = read_usage(_clients(server, VIEWER), "acme", wanted)
    assert usage is not None
    covered = {d.day for d in usage.days} & set(wanted)
    assert covered == {truth.days[0].day, truth.days[1].day}
    assert [r.status for r in server.requests if "organization-1-day" in r.path] == [204] * 2 + [
        200
    ] * 2


def test_a_server_error_after_the_retries_is_a_warning_and_no_usage(
    served: tuple[EmulatorServer, UsageTruth], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = served
    server.faults.arm("server_error", count=100, status=500, path_contains="/copilot/")
    with caplog.at_level(logging.INFO):
        assert read_usage(_clients(server, VIEWER), "acme", _window_days(3)) is None
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("Copilot usage is not shown: GitHub answered HTTP 500")
    assert len(server.requests) == 3  # the client's three attempts, then it goes on
    assert not [r for r in caplog.records if r.levelno == NOTICE]
