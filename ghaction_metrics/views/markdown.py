"""Markdown from the Jinja2 templates in ``templates/``, with small tested filters, kept under
GitHub's size limits by cutting long tables with a line that says what was left out."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ghaction_metrics.metrics.alerts import AlertResult
from ghaction_metrics.metrics.cohorts import cohort_changes
from ghaction_metrics.metrics.dora import DeploymentOutcome, DoraSummary, RepositoryDora
from ghaction_metrics.metrics.headline import BY_KEY
from ghaction_metrics.metrics.report import Report

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_ZWSP = "\u200b"
# Bidirectional overrides and isolates (and the marks) reorder the text shown around them, so a
# title could display as something else ("Trojan Source"); user text never needs them here.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(value: object) -> object:
    """``value`` with bidirectional control characters removed, when it is text.

    Markup stays Markup: as Jinja2's ``finalize`` hook this sees template output that is
    already safe (macros, ``|safe``), and a plain string would be escaped a second time.
    """
    if isinstance(value, Markup):
        return Markup(_BIDI_CONTROLS.sub("", str(value)))
    return _BIDI_CONTROLS.sub("", value) if isinstance(value, str) else value


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()|+!~#&])")
_MENTION_OR_REF = re.compile(r"([@#])(?=[A-Za-z0-9])")
_AUTOLINK = re.compile(r"(?i)(?<=:)//|\bwww\.")
# GitHub also autolinks GH-123 (any case) to issue 123.
_GH_REF = re.compile(r"(?i)\b(gh)-(?=\d)")
_T = TypeVar("_T")

# GitHub's limits (SPEC §6), less room for what is added after rendering: the dashboard's
# hidden marker, and the caution lines publish() appends to the summary.
SUMMARY_BUDGET_BYTES = 1024 * 1024 - 16 * 1024
COMMENT_BUDGET_CHARS = 65_536 - 1_024


def md_text(value: object) -> str:
    """User-provided text made inert: no markup, no @-mention, no #123 reference."""
    text = " ".join(_BIDI_CONTROLS.sub("", str(value)).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # GFM's autolink extension would turn a bare URL or www. name into a live link.
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + _ZWSP + m.group(0)[-1], text)
    text = _GH_REF.sub(lambda m: m.group(1) + _ZWSP + "-", text)
    return _MENTION_OR_REF.sub(lambda m: m.group(1) + _ZWSP, text)


def duration(hours_value: float | None) -> str:
    """Hours as people read them: minutes, hours or days; "–" for no data."""
    if hours_value is None:
        return "–"
    if hours_value < 1:
        return f"{hours_value * 60:.0f} min"
    if hours_value < 48:
        return f"{hours_value:.1f} h"
    return f"{hours_value / 24:.1f} d"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def per_day(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1:
        return f"{value:.2f}/day"
    return f"{value * 7:.2f}/week"


def per_100(value: float | None) -> str:
    """A rate per 100 merged pull requests; "–" for no data (nothing merged)."""
    return "–" if value is None else f"{value:.1f}"


def level(value: str | None) -> str:
    return "insufficient data" if value is None else value


# Colour for better / worse: summaries and comments take no CSS, so a coloured mark carries it.
BETTER, WORSE, SAME = "🟢", "🔴", "⚪"


def change(current: float | None, previous: float | None, metric: str) -> str:
    """An arrow with the relative change of a headline figure (by key), coloured and worded
    better or worse."""
    if current is None or previous is None:
        return "–"
    if previous == current:
        return f"{SAME} → no change"
    arrow = "↑" if current > previous else "↓"
    better = (current > previous) == BY_KEY[metric].higher_is_better
    mark, verdict = (BETTER, "better") if better else (WORSE, "worse")
    if previous == 0:
        return f"{mark} {arrow} {verdict}"
    relative = (current - previous) / abs(previous) * 100
    return f"{mark} {arrow} {relative:+.0f}% {verdict}"


# Evidence names pull requests "pr:12" (in the repository at hand) and incidents
# "owner/repo#12".
_EVIDENCE_REF = re.compile(r"\bpr:(\d+)\b|\b([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)#(\d+)\b")
# Default-branch commits that belong to no pull request: "commit:<oid>".
_COMMIT_REF = re.compile(r"\bcommit:([0-9a-f]{7,40})\b")


# Deployment keys that end in a name someone chose (a tag's): plain text, never parsed.
_NAMED_KEYS = ("tag ", "release ")


def _pieces(text: object) -> list[tuple[str, bool]]:
    """Evidence is a record's key ("pr:12", "owner/repo#5", "tag v1.2", ...) or keys joined by
    " in "; each piece comes with whether it may hold references: a tag's or release's name is
    text someone chose, never read for them."""
    return [(piece, not piece.startswith(_NAMED_KEYS)) for piece in str(text).split(" in ")]


def _short_commits(value: str, repository: str) -> str:
    return _COMMIT_REF.sub(lambda m: f"{repository}@{m.group(1)[:7]}", value)


def readable_evidence(text: object, repository: str) -> str:
    """Evidence with the records' internal ids as readers know them: ``pr:12`` becomes
    ``owner/repo#12`` and ``commit:<oid>`` ``owner/repo@<short oid>``."""

    def readable(piece: str) -> str:
        value = _short_commits(piece, repository)
        return re.sub(r"\bpr:(\d+)\b", lambda m: f"{repository}#{m.group(1)}", value)

    return " in ".join(readable(p) if parsed else p for p, parsed in _pieces(text))


def no_backlink_url(server_url: str, repository: str, kind: str, number: int) -> str | None:
    """A link to a pull request or issue that creates no cross-reference on it (SPEC §5).

    GitHub turns every link to an issue or pull request into a "mentioned this" event on it,
    except links through redirect.github.com, which GitHub documents for exactly this
    ("Avoiding backlinks to linked references") and which Dependabot and Renovate use. It
    exists for github.com only: on another server (GitHub Enterprise Server) any link would
    back-reference, so none is made there and the reference stays plain, inert text.
    """
    if server_url.rstrip("/") != "https://github.com":
        return None
    return f"https://redirect.github.com/{repository}/{kind}/{number}"


def evidence(text: object, repository: str, server_url: str) -> str:
    """Evidence text with its pull requests and issues linked without back-references."""
    return " in ".join(
        _linked(p, repository, server_url) if parsed else md_text(p) for p, parsed in _pieces(text)
    )


def _linked(piece: str, repository: str, server_url: str) -> str:
    value = _short_commits(piece, repository)
    out: list[str] = []
    position = 0
    for match in _EVIDENCE_REF.finditer(value):
        out.append(_md_words(value[position : match.start()]))
        if match.group(1):
            repo, kind, number = repository, "pull", int(match.group(1))
        else:
            repo, kind, number = match.group(2), "issues", int(match.group(3))
        label = md_text(f"{repo}#{number}")
        url = no_backlink_url(server_url, repo, kind, number)
        out.append(f"[{label}]({url})" if url else label)
        position = match.end()
    out.append(_md_words(value[position:]))
    return "".join(part for part in out)


def _md_words(value: str) -> str:
    """``md_text`` of a piece of a longer text, keeping the space that separates it."""
    lead = " " if value[:1].isspace() else ""
    trail = " " if value[-1:].isspace() and value.strip() else ""
    return lead + md_text(value) + trail


def set_formation(dora: DoraSummary) -> str | None:
    """One line on how a set of repositories' headline figures are formed (SPEC §4); None
    for a single repository, whose figures are its own."""
    count = len(dora.repositories)
    if count < 2:
        return None
    deploying = sum(1 for r in dora.repositories if r.deployments > 0)
    return (
        f"How the figures of the {count} repositories are formed: lead, recovery and cycle "
        "times pool every repository's events; change failure rate and rework rate pool "
        f"their deployments; deployment frequency is the median of the {deploying} that "
        f"deploy ({per_day(dora.deployments_per_day_total)} for all {count} together)."
    )


@dataclass(frozen=True)
class Limits:
    """How many rows each long table shows; None is all."""

    repositories: int | None = None
    evidence_repositories: int | None = None
    evidence_rows: int | None = None
    notes: int | None = None
    people: int | None = None

    @property
    def teams(self) -> int | None:
        # One row per team, and teams are about as many as repositories: cut alike.
        return self.repositories


FULL = Limits()
# Tried in order until the text fits: each step gives up detail a reader needs least. Even
# when everything would fit, the summary shows the evidence of 100 repositories at most:
# past that a page of collapsed sections helps nobody, and the HTML report has it all.
SUMMARY_LADDER = (
    Limits(None, 100, 100, None, None),
    Limits(1000, 50, 50, 500, 1000),
    Limits(300, 50, 30, 200, 300),
    Limits(100, 10, 10, 50, 100),
    Limits(30, 0, 0, 20, 30),
    Limits(0, 0, 0, 0, 0),
)
# The comment tells the same story compactly: per-person rows stay in the summary and the
# HTML report.
COMMENT_LADDER = (
    Limits(50, 10, 10, 30, 0),
    Limits(25, 3, 5, 15, 0),
    Limits(10, 0, 0, 10, 0),
    Limits(0, 0, 0, 0, 0),
)


@dataclass(frozen=True)
class Cut:
    shown: Sequence[Any]
    hidden: int

    @property
    def total(self) -> int:
        return len(self.shown) + self.hidden


def cut(items: Sequence[_T], limit: int | None, first: Callable[[_T], bool] | None = None) -> Cut:
    """The first ``limit`` items; when that cuts, those ``first`` picks come before the rest,
    so what a reader must see (failed deployments, say) is never what is left out."""
    if limit is None or len(items) <= limit:
        return Cut(items, 0)
    if first is not None:
        items = [i for i in items if first(i)] + [i for i in items if not first(i)]
    return Cut(items[:limit], len(items) - limit)


def _failed(outcome: DeploymentOutcome) -> bool:
    return outcome.failed_by is not None


def _has_failures(repository: RepositoryDora) -> bool:
    return repository.failed > 0


@dataclass(frozen=True)
class ChartLink:
    title: str
    alt: str
    url: str


@dataclass(frozen=True)
class View:
    """Everything a template may show."""

    report: Report
    # history (branch folder), snapshot (this run's JSON), issue, html_report, index
    links: Mapping[str, str | None] = field(default_factory=dict)
    charts: tuple[ChartLink, ...] = ()
    alerts: tuple[AlertResult, ...] = ()
    server_url: str = "https://github.com"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML: user text goes through md_text instead
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(md=md_text, duration=duration, percent=percent, per_day=per_day, level=level)
    env.filters.update(per_100=per_100)
    env.globals.update(
        change=change,
        cohort_changes=cohort_changes,
        cut=cut,
        evidence=evidence,
        failed=_failed,
        has_failures=_has_failures,
        set_formation=set_formation,
    )
    return env


def render(template: str, view: View, limits: Limits = FULL) -> str:
    context: dict[str, Any] = {
        "report": view.report,
        "links": {
            key: view.links.get(key)
            for key in ("history", "snapshot", "issue", "html_report", "index")
        },
        "charts": view.charts,
        "alerts": view.alerts,
        "fired": [a for a in view.alerts if a.fired],
        "server_url": view.server_url,
        "limits": limits,
    }
    return environment().get_template(template).render(context)


def utf16_length(text: str) -> int:
    """GitHub's body limit counts characters as its JavaScript does: UTF-16 code units, the
    larger count for emoji, so measuring this way is the safe side."""
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def render_within(
    template: str,
    view: View,
    budget: int,
    measure: Callable[[str], int],
    ladder: Sequence[Limits],
) -> str:
    """The fullest rendering whose size fits the budget."""
    text = ""
    for limits in ladder:
        text = render(template, view, limits)
        if measure(text) <= budget:
            return text
    # Even the shortest form is too long (only a pathological input gets here): cut the text
    # itself, at a line boundary, and say so.
    note = "\n\n*The rest was cut to stay within GitHub's size limit.*\n"
    while measure(text + note) > budget:
        text = text[: max(0, len(text) - max(1000, len(text) // 10))]
        text = text[: text.rfind("\n") + 1] if "\n" in text else ""
    return text + note


def summary_markdown(view: View) -> str:
    return render_within("summary.md.j2", view, SUMMARY_BUDGET_BYTES, utf8_bytes, SUMMARY_LADDER)


def comment_markdown(view: View) -> str:
    return render_within("comment.md.j2", view, COMMENT_BUDGET_CHARS, utf16_length, COMMENT_LADDER)


def issue_header_markdown(view: View) -> str:
    return render_within("issue_header.md.j2", view, COMMENT_BUDGET_CHARS, utf16_length, [FULL])
