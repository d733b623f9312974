"""Coding agents: who they are, and which cohort a pull request belongs to (SPEC §5).

A pull request is agent-authored when a coding agent opened it, agent-assisted when a person
opened it and one of its commits was written by an agent or names one in a
``Co-authored-by:`` trailer, and human otherwise. Identities are logins, commit e-mails or
trailer names, compared without case and without a ``[bot]`` suffix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ghaction_metrics.records import Actor, PullRequest, normalize_login

AGENT_AUTHORED = "agent-authored"
AGENT_ASSISTED = "agent-assisted"
HUMAN = "human"
COHORTS = (AGENT_AUTHORED, AGENT_ASSISTED, HUMAN)

# The Copilot coding agent, as GitHub documents it: it opens pull requests as the Bot
# ``Copilot`` and commits as copilot-swe-agent[bot] with this e-mail. Only documented
# identities are defaults; ``ai-authors`` adds others.
COPILOT_AGENT = ("Copilot", "copilot-swe-agent", "198982749+Copilot@users.noreply.github.com")

# Copilot code review, as GitHub documents it (a Bot). Reviews by it, or by an identity in
# ``ai-authors``, are AI reviews: counted per cohort, never as a person's review.
AI_REVIEWERS = ("copilot-pull-request-reviewer",)

_TRAILER = re.compile(r"^(?P<name>.*?)\s*(?:<(?P<email>[^>]*)>)?\s*$")
_NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


def identity_key(identity: str) -> str:
    return normalize_login(identity.strip()).lower()


def person_key(login: str) -> str:
    """The per-person table's key of a login: one row per person, and one per coding agent,
    whose documented identities (the author of its pull requests, of its commits) are one."""
    key = identity_key(login)
    return _COPILOT_KEY if key in _COPILOT_KEYS else key


_COPILOT_KEYS = frozenset(identity_key(i) for i in COPILOT_AGENT)
_COPILOT_KEY = identity_key(COPILOT_AGENT[0])


def trailer_parts(trailer: str) -> tuple[str, str]:
    """A ``Co-authored-by:`` value ("Name <e-mail>") as (name, e-mail); either may be empty."""
    match = _TRAILER.match(trailer.strip())
    if match is None:
        return trailer.strip(), ""
    return match.group("name").strip(), (match.group("email") or "").strip()


@dataclass(frozen=True)
class Agents:
    """The identities that make a pull request an agent's work."""

    identities: frozenset[str] = frozenset(identity_key(i) for i in COPILOT_AGENT)

    @staticmethod
    def of(extra: Iterable[str]) -> Agents:
        """The documented defaults plus ``ai-authors``."""
        return Agents(frozenset(identity_key(i) for i in (*COPILOT_AGENT, *extra)))

    def names(self, identity: str) -> bool:
        return bool(identity) and identity_key(identity) in self.identities

    def is_agent(self, actor: Actor) -> bool:
        return self.names(actor.login)

    def reviews_as_ai(self, actor: Actor) -> bool:
        """An AI reviewer's review; other bots' reviews (linters, bots of CI) are not AI's."""
        return self.names(actor.login) or identity_key(actor.login) in AI_REVIEWERS

    def in_trailer(self, trailer: str) -> bool:
        name, email = trailer_parts(trailer)
        return self.names(name) or self.names(email)

    def cohort(self, pull: PullRequest) -> str:
        if self.is_agent(pull.author):
            return AGENT_AUTHORED
        if any(self.names(a) for a in pull.commit_authors) or any(
            self.in_trailer(t) for t in pull.co_authors
        ):
            return AGENT_ASSISTED
        return HUMAN

    def requesters(self, pull: PullRequest) -> tuple[str, ...]:
        """Who asked an agent for its pull request: the people (not agents) its commits name
        as co-authors, by login where the e-mail is GitHub's noreply address, else by name."""
        found: dict[str, None] = {}
        for trailer in pull.co_authors:
            if self.in_trailer(trailer):
                continue
            name, email = trailer_parts(trailer)
            noreply = _NOREPLY.match(email)
            who = noreply.group("login") if noreply else name or email
            if who:
                found[who] = None
        return tuple(found)
