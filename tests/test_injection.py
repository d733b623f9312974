"""Hostile text end to end: titles, labels, branch names and a login built to break Markdown,
HTML, mentions, references, workflow commands and bidirectional text, served by the emulator
as GitHub would serve them, through a whole run of the action. Everything it publishes (the
job summary, the dashboard comment, the HTML report, the history JSON, the log) must keep
them as inert text. Unit-level escaping is in test_render.py and test_html.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from markdown_check import live_mentions_and_references, render

from ghaction_metrics.views.explore import SCRIPT, SCRIPT_FILE
from ghaction_metrics_dev.dataset.generate import generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    ActionRun,
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.world import User

# The tests share one module-scoped run; in parallel, one worker makes it for all of them.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("injection")]
HOME = "acme/storefront"
RLO = "\u202e"
HOSTILE = [
    "pipes | in || a cell |",
    "`backticks` and ``` a fence",
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "ping @acme/everyone and @octocat",
    "fixes #1 and acme/storefront#2",
    "[click](javascript:alert(3)) ](javascript:alert(4))",
    f"{RLO}gnp.exe{RLO} right-to-left",
    "::error::forged annotation\n##[warning]forged too",
    "<!-- ghaction-metrics:report id=default -->",
    "x" * 10_000,
]
# GitHub would never allow this login; the emulator serves it anyway, and so must we survive it.
LOGIN = f"evil|`<b>x</b>`@acme/team#1{RLO}"


@dataclass
class HostileRun:
    run: ActionRun
    comment: str
    header: str
    branch: dict[str, bytes]
    html: str


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    dataset = generate_dataset(seed=3, now=datetime.now(UTC).replace(microsecond=0), profile="tiny")
    world = dataset.world
    repo = world.repositories[HOME]
    victim = max(world.users, key=lambda login: sum(p.author == login for p in repo.pull_requests))
    world.users[LOGIN] = User(LOGIN, world.new_id())
    for index, pull in enumerate(repo.pull_requests):
        pull.title = HOSTILE[index % len(HOSTILE)]
        pull.head_ref = HOSTILE[(index + 3) % len(HOSTILE)].replace(" ", "-")[:200]
        pull.labels = [*pull.labels, HOSTILE[(index + 5) % len(HOSTILE)][:50]]
        if pull.author == victim:
            pull.author = LOGIN
        for review in pull.reviews:
            if review.author == victim:
                review.author = LOGIN
    for issue in repo.issues:
        issue.title = HOSTILE[issue.number % len(HOSTILE)]
    with EmulatorServer(world, workflow_tokens(dataset.workflow_login)) as server:
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=HOME,
            workspace=tmp_path_factory.mktemp("hostile") / "workspace",
            overrides={"backfill": "2w", "max-wait": "0", "exclude-authors": ""},
        )
        run = run_action(env, timeout=120)
        with server.lock:
            branch = branch_files(repo, "metrics")
    assert run.returncode == 0, run.stdout + run.stderr
    (dashboard,) = [i for i in repo.issues if "ghaction-metrics:dashboard" in i.body]
    (comment,) = [c.body for c in dashboard.comments if "ghaction-metrics:report" in c.body]
    html = (run.workspace / ".ghaction-metrics" / "default" / "report.html").read_text("utf-8")
    return HostileRun(run, comment, dashboard.body, branch, html)


def test_the_hostile_login_reached_the_report(hostile: HostileRun) -> None:
    document = json.loads((hostile.run.workspace / hostile.run.outputs["report-json"]).read_text())
    people = [person["name"] for person in document["current"]["team"]["people"]]
    assert LOGIN in people  # kept as data, exactly
    assert any(title in json.dumps(document) for title in HOSTILE[:4]) or people


@pytest.mark.parametrize("part", ["summary", "comment", "header"])
def test_markdown_stays_inert(hostile: HostileRun, part: str) -> None:
    markdown = {
        "summary": hostile.run.summary,
        "comment": hostile.comment,
        "header": hostile.header,
    }[part]
    parsed = render(markdown)
    assert live_mentions_and_references(markdown) == []
    assert not parsed.tags & {"script", "iframe", "object", "embed", "style", "form", "b"}
    for src, _alt in parsed.images:
        assert src.startswith("http://127.0.0.1") or src.startswith("http://localhost")
    for href, _label in parsed.links:
        assert not href.strip().lower().startswith(("javascript:", "data:", "vbscript:"))
    assert RLO not in "".join(parsed.scanned_text)
    for table in parsed.tables:
        assert len({len(row) for row in table}) == 1, table  # no pipe split a row
    # Only the report's own marker: a title cannot fake another one.
    assert markdown.count("<!-- ghaction-metrics:report") <= 1
    assert len(markdown) <= (1024 * 1024 if part == "summary" else 65_536)


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.urls: list[str] = []
        self.handlers: list[str] = []
        self.text: list[str] = []
        # (attributes, content) of each script element: only the page's own may be there.
        self.scripts: list[tuple[dict[str, str | None], str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.urls.append(value)

    def handle_data(self, data: str) -> None:
        if self.lasttag == "script" and self.scripts:
            attrs, content = self.scripts[-1]
            self.scripts[-1] = (attrs, content + data)
            return
        self.text.append(data)


def _inert_html(page: str) -> None:
    parsed = _Html()
    parsed.feed(page)
    parsed.close()
    # The trends page's own script (inline, or the file beside it) and its JSON data are the
    # only scripts: hostile names stay data, inside the JSON element.
    for attrs, content in parsed.scripts:
        if attrs.get("type") == "application/json":
            json.loads(content)
        elif attrs.get("src") is not None:
            assert attrs["src"] == SCRIPT_FILE
        else:
            assert content.strip() == SCRIPT.strip()
    assert not parsed.tags & {"iframe", "object", "embed", "form", "b"}
    assert parsed.handlers == []
    for url in parsed.urls:
        assert not url.strip().lower().startswith(("javascript:", "vbscript:"))
        # Inline charts, and the empty icon that keeps browsers from fetching /favicon.ico.
        assert not url.startswith("data:") or url.startswith(("data:image/png;base64,", "data:,"))
    assert RLO not in "".join(parsed.text)


def test_html_report_stays_inert(hostile: HostileRun) -> None:
    _inert_html(hostile.html)
    pages = [p for p in hostile.branch if p.endswith(".html")]
    assert len(pages) >= 3
    for path in pages:
        _inert_html(hostile.branch[path].decode("utf-8"))


def test_history_json_keeps_the_text_as_data(hostile: HostileRun) -> None:
    documents = [p for p in hostile.branch if p.endswith(".json")]
    assert documents
    for path in documents:
        raw = hostile.branch[path]
        json.loads(raw)  # still valid JSON
        assert RLO.encode() not in raw  # escaped as \u202e, so no viewer reorders the file


def test_the_log_carries_no_forged_workflow_command(hostile: HostileRun) -> None:
    for line in hostile.run.stdout.splitlines():
        stripped = line.lstrip()
        assert not stripped.startswith("##[")
        assert "forged" not in stripped or not stripped.startswith("::")
