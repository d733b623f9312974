"""The runner I/O contract: workflow commands, the output file and the step summary."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghaction_metrics import workflow_commands as runner
from ghaction_metrics_dev.emulator.harness import parse_output_file


def read(path: Path) -> str:
    # Bytes as written: text mode would turn "\r\n" into "\n" and hide a wrong value.
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("plain", "plain", "plain"),
        ("100%", "100%25", "100%25"),
        ("a\nb", "a%0Ab", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("%0A", "%250A", "%250A"),
        ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
        ("::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"),
        ("", "", ""),
    ],
)
def test_escaping(raw: str, data: str, prop: str) -> None:
    assert runner.escape_data(raw) == data
    assert runner.escape_property(raw) == prop


def test_format_command_with_properties() -> None:
    line = runner.format_command(
        "error", "bad\nthing", {"title": "Input: window, value", "x": None}
    )
    assert line == "::error title=Input%3A window%2C value::bad%0Athing"


def _logging_to(*, workflow_commands: bool) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    handler = runner.setup_logging(stream, workflow_commands=workflow_commands)
    yield stream
    root.removeHandler(handler)
    for h in saved_handlers:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(saved_level)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    yield from _logging_to(workflow_commands=True)


def _each_level(stream: io.StringIO) -> list[str]:
    """One record of each level, and a group, written as the installed formatter says."""
    log = logging.getLogger("ghaction_metrics.test")
    log.debug("details %d", 1)
    log.info("plain line")
    log.log(runner.NOTICE, "look here")
    log.warning("careful\nsecond line", extra={"title": "Rate limit: low"})
    log.error("50% failed")
    log.critical("stop")
    with runner.group("Collect acme/app", stream):
        log.info("::inside")
    return stream.getvalue().splitlines()


def test_levels_become_commands(log_stream: io.StringIO) -> None:
    assert _each_level(log_stream) == [
        "::debug::details 1",
        "plain line",
        "::notice::look here",
        "::warning title=Rate limit%3A low::careful%0Asecond line",
        "::error::50%25 failed",
        "::error::stop",
        "::group::Collect acme/app",
        "\u200b::inside",  # neutralized: never run as a command
        "::endgroup::",
    ]


@pytest.fixture
def terminal_stream() -> Iterator[io.StringIO]:
    yield from _logging_to(workflow_commands=False)


def test_a_terminal_gets_plain_sentences(terminal_stream: io.StringIO) -> None:
    # Outside GitHub Actions nobody parses commands: no "::" prefix and no %25 escapes.
    assert _each_level(terminal_stream) == [
        "Debug: details 1",
        "plain line",
        "Note: look here",
        "Warning: careful",
        "second line",
        "Error: 50% failed",
        "Error: stop",
        "Collect acme/app",
        "::inside",
    ]


def test_exception_text_stays_in_one_annotation(log_stream: io.StringIO) -> None:
    log = logging.getLogger("ghaction_metrics.test")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("collection failed")
    (line,) = log_stream.getvalue().splitlines()
    assert line.startswith("::error::collection failed%0ATraceback")
    assert "RuntimeError: boom" in line


def test_info_lines_cannot_smuggle_commands(log_stream: io.StringIO) -> None:
    # A pull request title logged at INFO must not be run as a command by the runner.
    log = logging.getLogger("ghaction_metrics.test")
    log.info("title: ok\n  ::add-mask::x\n##[set-output name=a]b\n::stop-commands::t")
    for line in log_stream.getvalue().splitlines():
        assert not line.lstrip().startswith(("::", "##["))
    assert "::add-mask::x" in log_stream.getvalue()


def test_group_wraps_output_even_on_error() -> None:
    out = io.StringIO()

    def fail_inside() -> None:
        with runner.group("Collect acme/app\nnext", out):
            out.write("work\n")
            raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        fail_inside()
    assert out.getvalue() == "::group::Collect acme/app%0Anext\nwork\n::endgroup::\n"


def test_add_mask_registers_whole_value_and_each_line() -> None:
    out = io.StringIO()
    runner.add_mask("line1\nline2", out)
    runner.add_mask("", out)
    assert out.getvalue().splitlines() == [
        "::add-mask::line1%0Aline2",
        "::add-mask::line1",
        "::add-mask::line2",
    ]


ADVERSARIAL = [
    "",
    "simple",
    '{\n  "a": 1,\n  "b": [1, 2]\n}',
    "ends with newline\n",
    "\n",
    "ghadelimiter_",
    "x\nghadelimiter_0123\ninjected<<EOF\nvalue\nEOF",
    "EOF\nother=forged",
    "crlf\r\nvalue",
    "unicode ✓ – ü",
]


@pytest.mark.parametrize("value", ADVERSARIAL)
def test_outputs_round_trip(tmp_path: Path, value: str) -> None:
    path = tmp_path / "output"
    runner.write_outputs(path, {"report-json": value, "merged-prs": "2"})
    assert parse_output_file(read(path)) == {
        "report-json": value,
        "merged-prs": "2",
    }
    assert runner.read_outputs(path) == {"report-json": value, "merged-prs": "2"}


def test_delimiter_is_fresh_per_value_and_never_in_value(tmp_path: Path) -> None:
    path = tmp_path / "output"
    runner.write_outputs(path, {"a": "1", "b": "2"})
    runner.write_outputs(path, {"c": "3"})
    delimiters = re.findall(r"^\w+<<(\S+)$", path.read_text(), flags=re.MULTILINE)
    assert len(delimiters) == 3
    assert len(set(delimiters)) == 3


def test_delimiter_collision_draws_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The value holds the first delimiter the random source will produce.
    draws = iter(["aa" * 16, "bb" * 16])
    monkeypatch.setattr(
        "ghaction_metrics.workflow_commands.secrets.token_hex", lambda n: next(draws)
    )
    value = f"before\nghadelimiter_{'aa' * 16}\nafter"
    path = tmp_path / "output"
    runner.write_outputs(path, {"x": value})
    assert read(path).startswith(f"x<<ghadelimiter_{'bb' * 16}\n")
    assert parse_output_file(read(path)) == {"x": value}


@pytest.mark.parametrize("name", ["", "a\nb", "a=b", "a<<b"])
def test_bad_output_names_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="invalid output name"):
        runner.write_outputs(tmp_path / "output", {name: "v"})


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    runner.append_summary(path, "# One\n")
    runner.append_summary(path, "two ✓\n")
    assert path.read_text(encoding="utf-8") == "# One\ntwo ✓\n"


def test_summary_exactly_one_mib_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    runner.append_summary(path, "x" * (runner.SUMMARY_LIMIT_BYTES - 2))
    runner.append_summary(path, "ü")  # two bytes in UTF-8
    assert path.stat().st_size == runner.SUMMARY_LIMIT_BYTES


def test_summary_over_one_mib_is_refused_and_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    runner.append_summary(path, "x" * (runner.SUMMARY_LIMIT_BYTES - 1))
    with pytest.raises(runner.SummaryTooLargeError, match="1 MiB"):
        runner.append_summary(path, "ü")  # counted in bytes, not characters
    assert path.stat().st_size == runner.SUMMARY_LIMIT_BYTES - 1
