"""Headless Chromium through the DevTools protocol: open a page, record what it logs and
requests, take a full-page screenshot. Used by the tests and by the README screenshots of
the demo; not part of the action's image (it needs ``websocket-client`` and Chromium).

Chromium is started with a fresh profile and everything that would talk to the network on its
own (updates, sync, background fetches, QUIC) turned off, so every request recorded is one the
page made.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import websocket

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
)


class BrowserError(RuntimeError):
    """Chromium could not be started, or did not answer over the DevTools protocol."""


@dataclass
class PageVisit:
    url: str
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    exceptions: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # URLs whose loading failed
    screenshot: bytes = b""
    text: str = ""  # what a reader sees: the page's rendered text (innerText)
    values: dict[str, Any] = field(default_factory=dict)  # each probe's result

    @property
    def errors(self) -> list[str]:
        logged = [text for level, text in self.console if level in ("error", "assert")]
        return logged + self.exceptions + [f"failed to load {url}" for url in self.failed]


class _Session:
    def __init__(self, ws_url: str, timeout: float) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message: dict[str, Any] = json.loads(self.ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, deadline: float) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while time.monotonic() < deadline:
            message: dict[str, Any] = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == method:
                return
        raise BrowserError(f"timed out waiting for {method}")

    def drain(self, seconds: float) -> None:
        """Collect the events that arrive within ``seconds`` (late console messages)."""
        previous = self.ws.gettimeout()
        self.ws.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self.ws.recv()))
        except websocket.WebSocketTimeoutException:
            return  # quiet for ``seconds``: every late event has arrived
        finally:
            self.ws.settimeout(previous)

    def close(self) -> None:
        self.ws.close()


def _devtools_port(profile: Path, process: subprocess.Popen[bytes], deadline: float) -> int:
    marker = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if marker.exists():
            lines = marker.read_text().splitlines()
            if lines and lines[0].isdigit():
                return int(lines[0])
        if process.poll() is not None:
            raise BrowserError(f"chromium exited with {process.returncode}")
        time.sleep(0.05)
    raise BrowserError("chromium did not open its DevTools port")


def visit(
    path: Path,
    width: int = 1200,
    height: int = 900,
    timeout: float = 30,
    probes: Mapping[str, str] | None = None,
    fragment: str = "",
) -> PageVisit:
    """Open a local file (at ``fragment``, e.g. ``#a=b``), wait for it to load, record its
    requests and logs, its rendered text and the JSON value of each JavaScript expression in
    ``probes`` (evaluated in order, so one may change what the next sees), and screenshot it."""
    url = path.resolve().as_uri() + fragment
    record = PageVisit(url)
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    deadline = time.monotonic() + timeout
    process = subprocess.Popen(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",  # any free port; Chromium writes it to the profile
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = _devtools_port(profile, process, deadline)
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=timeout).json()
        page = next(t for t in targets if t.get("type") == "page")
        session = _Session(page["webSocketDebuggerUrl"], timeout)
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                session.call(f"{domain}.enable")
            session.call("Page.navigate", url=url)
            session.wait_for("Page.loadEventFired", deadline)
            session.drain(0.3)
            record.text = _evaluate(session, "document.body.innerText")
            for name, expression in (probes or {}).items():
                record.values[name] = _evaluate(session, expression)
            metrics = session.call("Page.getLayoutMetrics")
            size = metrics["cssContentSize"]
            shot = session.call(
                "Page.captureScreenshot",
                format="png",
                captureBeyondViewport=True,
                clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1},
            )
            record.screenshot = base64.b64decode(shot["data"])
        finally:
            session.close()
        _read_events(session.events, record)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return record


def _evaluate(session: _Session, expression: str) -> Any:
    answer = session.call("Runtime.evaluate", expression=expression, returnByValue=True)
    if "exceptionDetails" in answer:
        raise BrowserError(f"{expression!r} failed: {answer['exceptionDetails']}")
    return answer["result"].get("value")


def _read_events(events: list[dict[str, Any]], record: PageVisit) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            # data: URLs are decoded in place (inline images); they never reach a network.
            if not params["request"]["url"].startswith("data:"):
                record.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            record.failed.append(str(params.get("errorText")))
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            record.console.append((params["type"], text))
        elif method == "Runtime.exceptionThrown":
            record.exceptions.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Log.entryAdded":
            entry = params["entry"]
            record.console.append((entry["level"], f"{entry.get('url', '')} {entry['text']}"))
