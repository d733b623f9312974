"""The runner's I/O contract: workflow commands on stdout, the output and summary files.

Everything here works on explicit streams and paths, so tests can read back exactly what the
runner would parse. Formats follow GitHub's workflow-command documentation and the runner's
parser (``ActionCommand`` in actions/runner).
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

# Between INFO and WARNING: a message that should become a notice annotation.
NOTICE = 25

# GitHub drops a step summary larger than this (with an error annotation instead).
SUMMARY_LIMIT_BYTES = 1024 * 1024

# The runner trims leading whitespace before looking for a command, and still honours the
# legacy "##[" form, so a plain log line starting with either would be executed.
_COMMAND_STARTS = ("::", "##[")
# Not whitespace to .NET's TrimStart, so the runner no longer sees a command; invisible in logs.
_NEUTRALIZER = "\u200b"


class SummaryTooLargeError(Exception):
    """Appending would push the step summary past GitHub's 1 MiB limit."""


def escape_data(value: str) -> str:
    """Escape a command's message (what follows the second ``::``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a command property value (``title=…``), where ``:`` and ``,`` are separators."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_command(
    command: str, message: str, properties: Mapping[str, object] | None = None
) -> str:
    """One workflow command line, without the trailing newline."""
    props = ""
    if properties:
        items = [f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None]
        props = " " + ",".join(items) if items else ""
    return f"::{command}{props}::{escape_data(message)}"


def neutralize_commands(text: str) -> str:
    """Make sure no line of plain log text is taken for a workflow command."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith(_COMMAND_STARTS):
            lines[i] = _NEUTRALIZER + line
    return "\n".join(lines)


# Properties a log record may carry (``log.warning(msg, extra={"title": …})``) that the
# runner understands on annotations.
_ANNOTATION_PROPERTIES = ("title", "file", "line", "endLine", "col", "endColumn")


class WorkflowCommandFormatter(logging.Formatter):
    """Turns records into workflow commands: debug, notice, warning and error annotations.

    INFO stays plain text: annotations are capped at 10 per type and step, so only what a
    reader must see becomes one.
    """

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        level = record.levelno
        if level < logging.INFO:
            return format_command("debug", message)
        if level < NOTICE:
            return neutralize_commands(message)
        properties = {
            name: getattr(record, name)
            for name in _ANNOTATION_PROPERTIES
            if getattr(record, name, None) is not None
        }
        if level < logging.WARNING:
            command = "notice"
        elif level < logging.ERROR:
            command = "warning"
        else:
            command = "error"
        return format_command(command, message, properties)


class TerminalFormatter(logging.Formatter):
    """Log lines for a person at a terminal (the command line outside GitHub Actions): the
    level as a word, the message as written, no workflow command and nothing escaped."""

    def __init__(self) -> None:
        super().__init__("%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        level = record.levelno
        if level >= logging.ERROR:
            return f"Error: {message}"
        if level >= logging.WARNING:
            return f"Warning: {message}"
        if level >= NOTICE:
            return f"Note: {message}"
        if level < logging.INFO:
            return f"Debug: {message}"
        return message


def setup_logging(
    stream: TextIO, level: int = logging.DEBUG, *, workflow_commands: bool = True
) -> logging.Handler:
    """Route the root logger through the workflow-command (or terminal) formatter; return
    the handler.

    DEBUG is emitted as ``::debug::``, which the runner shows only when step debug logging is
    on, so the default level is DEBUG rather than INFO. Without ``workflow_commands`` (not
    under GitHub Actions) the lines are plain text for a terminal instead, groups included.
    """
    logging.addLevelName(NOTICE, "NOTICE")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(WorkflowCommandFormatter() if workflow_commands else TerminalFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, WorkflowCommandFormatter | TerminalFormatter):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # PyGithub and urllib3 log every request at DEBUG, with headers.
    for noisy in ("github", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.INFO)
    return handler


class PrivateNames(logging.Filter):
    """Drops log lines that name a repository whose data must not reach this log.

    A public repository's log is public: once a private repository is known to be measured
    there without ``allow-private-data``, no further line may name it (or carry its figures).
    """

    def __init__(self) -> None:
        super().__init__()
        self._names: set[str] = set()

    def add(self, name: str) -> None:
        self._names.add(name.lower())

    def hides(self, text: str) -> bool:
        lowered = text.lower()
        return any(name in lowered for name in self._names)

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self._names and self.hides(record.getMessage()))


def _withheld(title: str) -> bool:
    """Whether a PrivateNames filter on the logging handlers hides ``title``."""
    return any(
        isinstance(f, PrivateNames) and f.hides(title)
        for handler in logging.getLogger().handlers
        for f in handler.filters
    )


def _terminal() -> bool:
    """Whether the log is set up for a terminal (TerminalFormatter) rather than a runner."""
    return any(
        isinstance(handler.formatter, TerminalFormatter) for handler in logging.getLogger().handlers
    )


@contextmanager
def group(title: str, stream: TextIO | None = None) -> Iterator[None]:
    """Fold the log lines written inside the block under ``title``.

    The runner does not nest groups: a group opened inside another closes the outer one.
    """
    out = stream if stream is not None else sys.stdout
    # Group titles bypass logging, so the filter that keeps private names out is asked here.
    shown = "(a private repository; name withheld)" if _withheld(title) else title
    if _terminal():
        # A terminal cannot fold lines: the title is a plain line above them.
        out.write(shown + "\n")
        out.flush()
        yield
        return
    out.write(format_command("group", shown) + "\n")
    out.flush()
    try:
        yield
    finally:
        out.write("::endgroup::\n")
        out.flush()


class _HeldBack(logging.Filter):
    """Holds back the INFO and DEBUG lines of the threads it is told about, for later replay.

    Warnings and errors pass at once: they are annotations, and a wait or a failure must not
    sit unseen until a repository is done.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._held: dict[int, list[logging.LogRecord]] = {}
        self._seen: set[int] = set()  # a record reaches every handler's filter: hold it once

    def hold(self, thread: int) -> None:
        with self._lock:
            self._held[thread] = []

    def release(self, thread: int) -> list[logging.LogRecord]:
        with self._lock:
            records = self._held.pop(thread, [])
            self._seen.difference_update(id(r) for r in records)
        return records

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "replayed", False) or record.levelno >= logging.WARNING:
            return True
        with self._lock:
            held = self._held.get(record.thread or 0)
            if held is None:
                return True
            if id(record) not in self._seen:
                self._seen.add(id(record))
                held.append(record)
        return False


class ParallelLog:
    """Log lines of work done in parallel threads, shown one block at a time.

    A runner log group cannot nest or interleave, so each thread's lines are held back while
    it works (``capture``) and written under one group when the main thread calls ``show``.
    """

    def __init__(self) -> None:
        self._filter = _HeldBack()
        self._handlers: list[logging.Handler] = []

    def __enter__(self) -> ParallelLog:
        self._handlers = list(logging.getLogger().handlers)
        for handler in self._handlers:
            handler.addFilter(self._filter)
        return self

    def __exit__(self, *exc: object) -> None:
        for handler in self._handlers:
            handler.removeFilter(self._filter)

    @contextmanager
    def capture(self) -> Iterator[list[logging.LogRecord]]:
        """Hold back the calling thread's lines; the list holds them when the block ends."""
        thread = threading.get_ident()
        lines: list[logging.LogRecord] = []
        self._filter.hold(thread)
        try:
            yield lines
        finally:
            lines.extend(self._filter.release(thread))

    @staticmethod
    def show(title: str, lines: list[logging.LogRecord]) -> None:
        """Write held-back lines under a group (the handlers' filters apply as they are now)."""
        with group(title):
            for record in lines:
                record.replayed = True
                logging.getLogger(record.name).handle(record)


def add_mask(secret: str, stream: TextIO) -> None:
    """Ask the runner to hide ``secret`` in every later log line.

    The runner masks line by line, so each line of a multiline secret is registered as well.
    """
    if not secret:
        return
    values = [secret, *(line for line in secret.splitlines() if line.strip() and line != secret)]
    for value in values:
        stream.write(format_command("add-mask", value) + "\n")
    stream.flush()


def _fresh_delimiter(name: str, value: str) -> str:
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        if delimiter not in value and delimiter not in name:
            return delimiter


def write_outputs(path: str | os.PathLike[str], mapping: Mapping[str, str]) -> None:
    """Append step outputs to the ``GITHUB_OUTPUT`` file.

    Every value uses the ``name<<DELIMITER`` form with its own random delimiter, checked not to
    occur in the value, so multiline JSON or hostile text cannot end a value early or forge
    another output.
    """
    chunks = []
    for name, value in mapping.items():
        if not name or any(c in name for c in "\r\n=") or "<<" in name:
            raise ValueError(f"invalid output name {name!r}")
        if not isinstance(value, str):
            raise TypeError(f"output {name!r} must be a string, got {type(value).__name__}")
        delimiter = _fresh_delimiter(name, value)
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    # newline="" keeps "\n" on every platform: the runner splits on the line feed.
    with Path(path).open("a", encoding="utf-8", newline="") as fh:
        fh.write("".join(chunks))


def read_outputs(path: str | os.PathLike[str]) -> dict[str, str]:
    """The step outputs ``write_outputs`` appended to ``path``, by name (the last one wins)."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    values: dict[str, str] = {}
    index = 0
    while index < len(lines):
        name, marker, delimiter = lines[index].partition("<<")
        if not marker:
            index += 1
            continue
        end = lines.index(delimiter, index + 1)
        values[name] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return values


def append_summary(path: str | os.PathLike[str], markdown: str) -> None:
    """Append markdown to the step summary file, refusing to exceed GitHub's 1 MiB limit.

    GitHub discards an oversized summary entirely, so failing here, where the caller can still
    shorten its tables, is better than publishing nothing.
    """
    summary = Path(path)
    data = markdown.encode("utf-8")
    existing = summary.stat().st_size if summary.exists() else 0
    total = existing + len(data)
    if total > SUMMARY_LIMIT_BYTES:
        raise SummaryTooLargeError(
            f"the job summary would be {total:,} bytes ({existing:,} already written plus "
            f"{len(data):,} new), over GitHub's limit of {SUMMARY_LIMIT_BYTES:,} bytes (1 MiB) "
            "per step; GitHub would drop it entirely"
        )
    with summary.open("ab") as fh:
        fh.write(data)
