"""Shared fixtures: GitHub's contracts, and emulators whose REST answers are contract-checked."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from emulator_contracts import contracts_dir, rest_contract_problems

from ghaction_metrics.workflow_commands import TerminalFormatter, WorkflowCommandFormatter
from ghaction_metrics_dev.emulator.harness import WORKFLOW_PERMISSIONS
from ghaction_metrics_dev.emulator.server import EmulatorServer
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import World

WORKFLOW_TOKEN = "ghs_workflowtoken"

EmulatorFactory = Callable[..., EmulatorServer]


@pytest.fixture(autouse=True)
def _no_log_handler_left_behind() -> Iterator[None]:
    """A main() run in-process leaves its log handler on the root logger, as it should in a
    process of its own; and group() writes for the formatter it finds there (a runner's or a
    terminal's). Each test starts without the handlers earlier tests left."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if isinstance(handler.formatter, WorkflowCommandFormatter | TerminalFormatter):
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def contracts() -> Path:
    """The folder holding GitHub's contracts; fails (never skips) when they are missing."""
    return contracts_dir()


def default_tokens() -> dict[str, TokenInfo]:
    return {
        WORKFLOW_TOKEN: TokenInfo(
            login="github-actions[bot]", kind="workflow", permissions=WORKFLOW_PERMISSIONS
        )
    }


@pytest.fixture
def emulator_factory(contracts: Path) -> Iterator[EmulatorFactory]:
    """Starts emulators for worlds; at teardown checks every 2xx JSON REST response they served
    against GitHub's OpenAPI description, so any test using it is a contract test too."""
    servers: list[EmulatorServer] = []

    def start(world: World, tokens: dict[str, TokenInfo] | None = None) -> EmulatorServer:
        server = EmulatorServer(world, tokens if tokens is not None else default_tokens())
        server.start()
        servers.append(server)
        return server

    yield start
    problems: list[str] = []
    for server in servers:
        server.stop()
        problems.extend(rest_contract_problems(server.requests))
    if problems:
        pytest.fail("REST responses break GitHub's contract:\n" + "\n".join(problems[:50]))
