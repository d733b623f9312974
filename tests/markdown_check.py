"""Rendering markdown as GitHub does (cmark-gfm with its extensions) and reading the result:
tables as cell text, and the visible text GitHub would scan for mentions and references."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm  # type: ignore[import-untyped]
from cmarkgfm.cmark import Options  # type: ignore[import-untyped]

# GitHub's own post-processing links @login, @org/team, #123 and owner/repo#123 in text that
# is not inside a link, code span or code block (html-pipeline's ignored ancestors).
MENTION = re.compile(r"(?<![A-Za-z0-9`])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9][A-Za-z0-9_.-]*)?")
# GitHub autolinks #123, owner/repo#123 and GH-123 (any case) to issues and pull requests.
REFERENCE = re.compile(
    r"(?:(?<![A-Za-z0-9_&])#\d+)|(?:[A-Za-z0-9-]+/[A-Za-z0-9._-]+#\d+)|(?:(?i:\bGH-)\d+)"
)
_IGNORED = {"a", "code", "pre"}


def to_html(markdown: str) -> str:
    # GitHub sanitizes raw HTML afterwards rather than escaping it, so allow it here.
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return str(html)


@dataclass
class Rendered(HTMLParser):
    tables: list[list[list[str]]] = field(default_factory=list)
    scanned_text: list[str] = field(default_factory=list)  # outside links and code
    images: list[tuple[str, str]] = field(default_factory=list)  # (src, alt)
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, label)
    tags: set[str] = field(default_factory=set)
    _stack: list[str] = field(default_factory=list)
    _cell: list[str] | None = None
    _href: str | None = None
    _label: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append((values.get("src") or "", values.get("alt") or ""))
            return
        self._stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a":
            self._href, self._label = values.get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._label)))
            self._href = None
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._href is not None:
            self._label.append(data)
        if not _IGNORED & set(self._stack):
            self.scanned_text.append(data)


def render(markdown: str) -> Rendered:
    parsed = Rendered()
    parsed.feed(to_html(markdown))
    parsed.close()
    return parsed


def live_mentions_and_references(markdown: str) -> list[str]:
    text = "\n".join(render(markdown).scanned_text)
    return MENTION.findall(text) + REFERENCE.findall(text)
