"""Markdown from the Jinja2 templates in ``templates/``, with small tested filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .report import Report

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_ZWSP = "\u200b"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()|+!~])")
_MENTION_OR_REF = re.compile(r"([@#])(?=[A-Za-z0-9])")


def md_text(value: object) -> str:
    """User-provided text made inert: no markup, no @-mention, no #123 reference."""
    text = " ".join(str(value).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
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


def level(value: str | None) -> str:
    return "insufficient data" if value is None else value


# Whether a larger value is better, for the comparison arrows.
HIGHER_IS_BETTER = {
    "deployment_frequency": True,
    "lead_time": False,
    "change_failure_rate": False,
    "recovery_time": False,
    "rework_rate": False,
    "cycle_time": False,
    "time_to_first_review": False,
    "merged": True,
}


def change(current: float | None, previous: float | None, metric: str) -> str:
    """An arrow with the relative change, and whether that is better or worse."""
    if current is None or previous is None:
        return "–"
    if previous == current:
        return "→ no change"
    arrow = "↑" if current > previous else "↓"
    better = (current > previous) == HIGHER_IS_BETTER[metric]
    verdict = "better" if better else "worse"
    if previous == 0:
        return f"{arrow} {verdict}"
    relative = (current - previous) / abs(previous) * 100
    return f"{arrow} {relative:+.0f}% {verdict}"


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
    env.globals["change"] = change
    return env


def render(template: str, report: Report, links: Mapping[str, str | None]) -> str:
    context: dict[str, Any] = {"report": report, "links": links}
    return environment().get_template(template).render(context)
