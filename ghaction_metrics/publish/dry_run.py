"""A dry run: everything a run would publish, written to a folder instead (cli.py --dry-run).

Layout under the folder: ``history/`` holds every file the history-branch commit would write,
``history-deletions.txt`` the files it would remove, ``issue/`` the dashboard issue's title,
header and comment. The job summary, outputs and workspace files are written by the run
itself to the paths the command line gives it in the same folder.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ghaction_metrics.wording import counted

log = logging.getLogger(__name__)

# Stands in for the history commit's sha in links: a dry run makes no commit.
DRY_RUN_SHA = "0" * 40


@dataclass(frozen=True)
class DryRunSink:
    """A publish.Sink that writes to ``folder`` and sends nothing to GitHub."""

    folder: Path

    def commit(
        self, branch: str, files: Mapping[str, bytes], message: str, deletions: Sequence[str]
    ) -> str:
        root = self.folder / "history"
        for path, data in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        listing = "".join(f"{path}\n" for path in sorted(deletions))
        (self.folder / "history-deletions.txt").write_text(listing, encoding="utf-8")
        (self.folder / "history-commit.txt").write_text(
            f"branch: {branch}\nmessage: {message}\n", encoding="utf-8"
        )
        log.info("Dry run: %s written to %s", counted(len(files), "history file"), root)
        return DRY_RUN_SHA

    def dashboard(
        self, report_id: str, title: str, header: str, comment: str
    ) -> tuple[str, tuple[str, ...]]:
        folder = self.folder / "issue"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "title.txt").write_text(title + "\n", encoding="utf-8")
        (folder / "header.md").write_text(header, encoding="utf-8")
        (folder / "comment.md").write_text(comment, encoding="utf-8")
        log.info("Dry run: the dashboard issue %s written to %s", report_id, folder)
        return "", ()
