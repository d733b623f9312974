"""Seeded dataset generator: a realistic ``World`` plus the ground truth of its metrics.

The generator plans each repository backwards from its deployments: it draws the deployment
schedule and each deployment's fate first, then the changes each deployment ships (merge
times inside the gap before it, then cycle and coding times before that), then reviews,
incidents and the other objects. Only then does it number pull requests and issues and write
commits, deployments and releases into the world. Every drawn value that a headline metric
depends on goes into the ledger (``truth.py``), which is what the ground truth reads.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeVar

from ghaction_metrics_dev.dataset.agents import (
    AgentWork,
    agent_users,
    mark_cohorts,
    pull_truth,
    write_agent_work,
)
from ghaction_metrics_dev.dataset.bugs import bug_records
from ghaction_metrics_dev.dataset.truth import (
    ChangeRecord,
    DeploymentRecord,
    Fate,
    GroundTruth,
    HeadlineTruth,
    IncidentRecord,
    PullRecord,
    RepositoryLedger,
    ReworkReason,
    Source,
)
from ghaction_metrics_dev.dataset.usage import UsageTruth, add_copilot_usage
from ghaction_metrics_dev.emulator.world import (
    Commit,
    Deployment,
    DeploymentStatus,
    Issue,
    IssueComment,
    Label,
    PullRequest,
    Release,
    Repository,
    Review,
    ReviewState,
    StatusState,
    User,
    Workflow,
    WorkflowRun,
    World,
)

__all__ = [
    "GeneratedDataset",
    "GroundTruth",
    "HeadlineTruth",
    "generate_dataset",
]

MINUTE = 60
HOUR = 3600
DAY = 86400
INCIDENT_WINDOW = 7 * DAY

ORGANISATION = "acme"
WORKFLOW_LOGIN = "github-actions[bot]"
HOME_REPOSITORY = "acme/storefront"
DELETED_LOGIN = "former-dev"
DEPENDENCY_BOTS = ("dependabot[bot]", "renovate[bot]")
AI_REVIEWER_LOGIN = "copilot-pull-request-reviewer[bot]"  # Copilot code review
HUMANS = (
    "alice-chen",
    "bmartinez",
    "dkowalski",
    "emma-lund",
    "farid-h",
    "grace-obi",
    "hiro-tanaka",
    "ines-costa",
    "jonas-weber",
    "kpatel",
    "liam-oconnor",
    "maya-ross",
)
# The deleted account was active only early in the history, then left the company.
DELETED_ACTIVE_DAYS = 70

MergeMethod = Literal["squash", "merge", "rebase"]
ChangeKind = Literal["human", "bot", "push", "hotfix", "revert"]
T = TypeVar("T")

LABEL_COLOURS = {
    "incident": "b60205",
    "hotfix": "d93f0b",
    "bug": "d73a4a",
    "enhancement": "a2eeef",
    "feature": "0e8a16",
    "chore": "c5def5",
    "refactor": "fbca04",
    "tests": "bfdadc",
    "dependencies": "0366d6",
    "documentation": "0075ca",
    "backport": "5319e7",
    "severity:high": "e99695",
    "customer-impact": "f9d0c4",
    "needs-triage": "ededed",
}


@dataclass(frozen=True)
class _Profile:
    name: str
    style: Source
    description: str
    start_days_ago: int
    team: tuple[str, ...]
    merges_per_weekday: float
    end_days_ago: int = 0
    # Probabilities of 0, 1, 2, 3 production deployments on a weekday (deployments style).
    deploys_per_weekday: tuple[float, ...] = ()
    weekend_deploy_chance: float = 0.0
    fail_rate: float = 0.0
    causes: tuple[tuple[Fate, float], ...] = ()
    environment: str = "production"
    merge_methods: tuple[tuple[MergeMethod, float], ...] = (("squash", 1.0),)
    bot_share: float = 0.0
    push_share: float = 0.0
    open_prs: int = 0
    release_branch_prs: int = 0
    freeze_days: tuple[int, int] | None = None  # day offsets from the history start
    archived: bool = False
    issues_per_week: float = 0.0
    unmerged_share: float = 0.07
    same_deployment_revert: bool = False
    open_incident: bool = False
    failed_attempt_chance: float = 0.0
    staging: bool = False


_STOREFRONT = _Profile(
    name="storefront",
    style="deployments",
    description="Customer-facing web shop",
    start_days_ago=180,
    team=(
        "alice-chen",
        "bmartinez",
        "dkowalski",
        "emma-lund",
        "farid-h",
        "grace-obi",
        "hiro-tanaka",
        "maya-ross",
        DELETED_LOGIN,
    ),
    merges_per_weekday=4.5,
    deploys_per_weekday=(0.04, 0.46, 0.44, 0.06),
    weekend_deploy_chance=0.08,
    fail_rate=0.13,
    causes=(("incident", 0.4), ("revert", 0.2), ("hotfix", 0.25), ("rollback", 0.15)),
    merge_methods=(("squash", 0.7), ("merge", 0.2), ("rebase", 0.1)),
    bot_share=0.1,
    push_share=0.04,
    open_prs=9,
    release_branch_prs=6,
    freeze_days=(75, 87),
    issues_per_week=1.5,
    same_deployment_revert=True,
    open_incident=True,
    failed_attempt_chance=0.05,
    staging=True,
)
_PAYMENTS = _Profile(
    name="payments",
    style="deployments",
    description="Payment service",
    start_days_ago=180,
    team=("ines-costa", "jonas-weber", "kpatel", "liam-oconnor", "alice-chen"),
    merges_per_weekday=1.4,
    deploys_per_weekday=(0.35, 0.65),
    fail_rate=0.16,
    causes=(("incident", 0.3), ("revert", 0.15), ("hotfix", 0.15), ("rollback", 0.4)),
    environment="Production",
    merge_methods=(("merge", 0.6), ("squash", 0.4)),
    bot_share=0.12,
    push_share=0.03,
    open_prs=4,
    issues_per_week=0.5,
    failed_attempt_chance=0.06,
    staging=True,
)
_MOBILE = _Profile(
    name="mobile-app",
    style="releases",
    description="iOS and Android app",
    start_days_ago=180,
    team=("emma-lund", "grace-obi", "hiro-tanaka", "maya-ross", "kpatel"),
    merges_per_weekday=2.0,
    fail_rate=0.18,
    causes=(("incident", 0.6), ("hotfix", 0.4)),
    merge_methods=(("squash", 0.85), ("rebase", 0.15)),
    bot_share=0.08,
    push_share=0.02,
    open_prs=5,
    issues_per_week=1.0,
)
_DOCS = _Profile(
    name="docs",
    style="merges",
    description="Product documentation",
    start_days_ago=180,
    team=HUMANS,
    merges_per_weekday=0.6,
    merge_methods=(("squash", 0.7), ("merge", 0.3)),
    bot_share=0.1,
    open_prs=2,
    issues_per_week=0.3,
)
_LEGACY = _Profile(
    name="legacy",
    style="merges",
    description="Old monolith, replaced by storefront",
    start_days_ago=420,
    end_days_ago=250,
    team=("bmartinez", "dkowalski", DELETED_LOGIN),
    merges_per_weekday=0.05,
    merge_methods=(("merge", 1.0),),
    archived=True,
    unmerged_share=0.1,
)
_TINY = _Profile(
    name="storefront",
    style="deployments",
    description="Customer-facing web shop",
    start_days_ago=60,
    team=("alice-chen", "bmartinez", "dkowalski", "emma-lund"),
    merges_per_weekday=0.65,
    deploys_per_weekday=(0.5, 0.5),
    fail_rate=0.22,
    causes=(("incident", 0.4), ("revert", 0.2), ("hotfix", 0.2), ("rollback", 0.2)),
    merge_methods=(("squash", 0.6), ("merge", 0.25), ("rebase", 0.15)),
    bot_share=0.1,
    push_share=0.05,
    open_prs=3,
    issues_per_week=0.5,
    same_deployment_revert=True,
    failed_attempt_chance=0.05,
    staging=True,
)

PROFILES: dict[str, tuple[_Profile, ...]] = {
    "demo": (_STOREFRONT, _PAYMENTS, _MOBILE, _DOCS, _LEGACY),
    "tiny": (_TINY,),
}

_FEATURE_WORDS = (
    "checkout",
    "cart",
    "search",
    "product page",
    "wishlist",
    "order history",
    "coupon codes",
    "shipping rates",
    "inventory sync",
    "login",
    "session handling",
    "price display",
    "image gallery",
    "recommendations",
    "tax calculation",
    "address form",
    "refunds",
    "webhooks",
    "retry policy",
    "rate limiter",
    "metrics export",
    "feature flags",
    "push notifications",
    "offline mode",
    "onboarding",
    "settings screen",
    "API client",
    "logging",
    "cache layer",
    "currency conversion",
)
_VERBS = (
    "Add",
    "Fix",
    "Refactor",
    "Improve",
    "Update",
    "Speed up",
    "Simplify",
    "Handle errors in",
    "Add tests for",
    "Clean up",
)
_DOC_VERBS = ("Document", "Fix typos in", "Rewrite", "Add example for", "Update screenshots of")
_PACKAGES = (
    "lodash",
    "axios",
    "react",
    "webpack",
    "eslint",
    "jest",
    "typescript",
    "urllib3",
    "requests",
    "pydantic",
    "golang.org/x/net",
    "actions/checkout",
)
_COMMIT_MESSAGES = (
    "Address review comments",
    "Add tests",
    "Fix lint",
    "WIP",
    "Rename variables",
    "Handle edge case",
    "Update snapshots",
    "Tidy up",
    "Fix failing test",
    "Extract helper",
)
_PUSH_MESSAGES = (
    "Update CODEOWNERS",
    "Fix typo in README",
    "Bump version",
    "Update CI cache key",
    "Tweak log level",
)
_INCIDENT_TITLES = (
    "Elevated 5xx rate on {area}",
    "{area} latency spike after deploy",
    "Customers unable to use {area}",
    "Error budget burn: {area}",
    "Crash reports increasing in {area}",
)
_ISSUE_TITLES = (
    "{area} shows wrong value for some users",
    "Flaky test in {area}",
    "Support dark mode in {area}",
    "Improve accessibility of {area}",
    "{area}: slow on large accounts",
)


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass
class _ReviewPlan:
    author: str
    state: ReviewState
    at: int
    comments: int


@dataclass
class _PullPlan:
    author: str
    bot: bool
    title: str
    body: str
    created: int
    base: str
    head_ref: str
    commit_times: list[int]
    labels: list[str]
    additions: int
    deletions: int
    method: MergeMethod = "squash"
    merged: int | None = None
    closed: int | None = None
    merged_by: str | None = None
    opened_as_draft: bool = False
    still_draft: bool = False
    ready_times: list[int] = field(default_factory=list)
    reviews: list[_ReviewPlan] = field(default_factory=list)
    first_review: int | None = None
    comments: list[tuple[str, int]] = field(default_factory=list)  # (login, time)
    first_response: int | None = None
    reverts: _PullPlan | None = None
    number: int = 0
    own_oids: list[str] = field(default_factory=list)
    merge_commit: str | None = None
    work: AgentWork | None = None  # a coding agent's work (dataset/agents.py)

    @property
    def ready(self) -> int:
        return self.ready_times[-1] if self.ready_times else self.created


@dataclass
class _Change:
    kind: ChangeKind
    merged: int
    first_authored: int
    pull: _PullPlan | None = None
    author: str | None = None  # direct pushes
    message: str = ""
    tip: str = ""  # main-branch oid after this change
    deploy: _Deploy | None = None  # first successful deployment shipping it


@dataclass
class _IssuePlan:
    title: str
    body: str
    author: str
    created: int
    labels: list[str]
    closed: int | None = None
    comments: list[tuple[str, int, str]] = field(default_factory=list)
    incident_for: _Deploy | None = None
    unlinked_incident: bool = False
    number: int = 0


@dataclass
class _Deploy:
    time: int
    kind: Literal["normal", "rollback"] = "normal"
    forced_ok: bool = False
    fate: Fate = "ok"
    carries: Literal["revert", "hotfix"] | None = None
    carries_for: _Deploy | None = None
    recovered_by: _Deploy | None = None
    rollback_to: _Deploy | None = None
    changes: list[_Change] = field(default_factory=list)
    incident: _IssuePlan | None = None
    same_deployment_revert: bool = False
    sha: str = ""
    index: int = 0


@dataclass
class _RepoPlan:
    profile: _Profile
    full_name: str
    start: int  # midnight UTC of the first day
    end: int  # last moment anything may happen
    deploys: list[_Deploy] = field(default_factory=list)
    changes: list[_Change] = field(default_factory=list)
    pulls: list[_PullPlan] = field(default_factory=list)
    issues: list[_IssuePlan] = field(default_factory=list)
    titles: set[str] = field(default_factory=set)
    freeze: tuple[int, int] | None = None
    release_cut: int | None = None

    def blocked(self, ts: int) -> bool:
        return self.freeze is not None and self.freeze[0] <= ts < self.freeze[1]


@dataclass(frozen=True)
class GeneratedDataset:
    world: World
    truth: GroundTruth
    workflow_login: str
    home_repository: str
    seed: int
    profile: str
    copilot_usage: UsageTruth | None = None  # the organisation's Copilot usage reports


class _Generator:
    def __init__(self, seed: int, now: datetime, profiles: Sequence[_Profile]) -> None:
        self.rng = random.Random(seed)
        # Conversation comments and AI reviews draw from their own stream, so the rest of the
        # world (and every figure measured on it) is what the main stream alone builds.
        self.talk = random.Random(f"{seed}:conversation")
        self.seed = seed
        self.now = now
        self.now_ts = math.floor(now.timestamp())
        self.profiles = profiles
        self.world = World(now=now)
        self.oid_counter = 0

    # ---- random helpers -------------------------------------------------------------------

    def lognormal(self, median: float, sigma: float, low: float, high: float) -> int:
        value = self.rng.lognormvariate(math.log(median), sigma)
        return round(min(max(value, low), high))

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        # Knuth's method is exact and fast for the small rates used here.
        threshold = math.exp(-min(lam, 60.0))
        count, product = 0, self.rng.random()
        while product > threshold:
            count += 1
            product *= self.rng.random()
        return count

    def weighted(self, options: Sequence[tuple[T, float]]) -> T:
        values = [value for value, _ in options]
        weights = [weight for _, weight in options]
        return self.rng.choices(values, weights=weights, k=1)[0]

    def between(self, low: int, high: int) -> int:
        """A whole second strictly inside (low, high) when there is room, else the midpoint."""
        if high - low < 2:
            return low + (high - low) // 2
        return self.rng.randint(low + 1, high - 1)

    def work_time(self, plan: _RepoPlan, low: int, high: int) -> int:
        """A moment in (low, high), favouring weekday office hours, outside any code freeze."""
        fallback: int | None = None
        for _ in range(30):
            ts = self.between(low, high)
            if plan.blocked(ts):
                continue
            fallback = ts
            moment = _dt(ts)
            chance = (0.2 if moment.weekday() >= 5 else 1.0) * (
                1.0 if 8 <= moment.hour < 19 else 0.15
            )
            if self.rng.random() < chance:
                return ts
        if fallback is not None:
            return fallback
        return low + 1 if not plan.blocked(low + 1) else high - 1

    def new_oid(self, plan: _RepoPlan) -> str:
        self.oid_counter += 1
        text = f"{self.seed}:{plan.full_name}:{self.oid_counter}"
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    def colleague(self, plan: _RepoPlan, at: int, exclude: Sequence[str] = ()) -> str:
        people = [
            login
            for login in plan.profile.team
            if login not in exclude and self.active(plan, login, at)
        ]
        if not people:
            people = [login for login in HUMANS if login not in exclude]
        return self.rng.choice(people)

    def active(self, plan: _RepoPlan, login: str, at: int) -> bool:
        if login != DELETED_LOGIN:
            return True
        return at < self.now_ts - (180 - DELETED_ACTIVE_DAYS) * DAY

    def title(self, plan: _RepoPlan, verbs: Sequence[str]) -> str:
        for attempt in range(50):
            base = f"{self.rng.choice(verbs)} {self.rng.choice(_FEATURE_WORDS)}"
            candidate = base if attempt < 10 else f"{base} ({attempt})"
            if candidate not in plan.titles:
                plan.titles.add(candidate)
                return candidate
        raise AssertionError("title space exhausted")

    # ---- schedule ---------------------------------------------------------------------------

    def deploy_times(self, plan: _RepoPlan) -> list[int]:
        p = plan.profile
        times: list[int] = []
        day = plan.start + DAY
        while day < plan.end:
            if plan.blocked(day) or plan.blocked(day + DAY - 1):
                day += DAY
                continue
            if _dt(day).weekday() < 5:
                count = self.weighted(list(enumerate(p.deploys_per_weekday)))
            else:
                count = 1 if self.rng.random() < p.weekend_deploy_chance else 0
            last: int | None = None
            for ts in sorted(
                self.rng.randint(day + 9 * HOUR, day + 18 * HOUR) for _ in range(count)
            ):
                if last is not None and ts - last < 45 * MINUTE:
                    continue
                if ts >= plan.end - 15 * MINUTE:
                    continue
                times.append(ts)
                last = ts
            day += DAY
        return times

    def release_times(self, plan: _RepoPlan) -> list[int]:
        times: list[int] = []
        day = plan.start + 3 * DAY
        while True:
            weekday = _dt(day).weekday()
            if weekday == 5:
                day -= DAY
            elif weekday == 6:
                day += DAY
            ts = day + self.rng.randint(10 * HOUR, 16 * HOUR)
            if ts >= plan.end - HOUR:
                return times
            if not times or ts > times[-1] + DAY:
                times.append(ts)
            day += self.rng.randint(5, 8) * DAY

    def merge_times(self, plan: _RepoPlan) -> list[int]:
        times: list[int] = []
        day = plan.start + DAY
        while day < plan.end:
            weekday = _dt(day).weekday() < 5
            lam = plan.profile.merges_per_weekday * (1.0 if weekday else 0.1)
            for _ in range(self.poisson(lam)):
                ts = self.between(day + 8 * HOUR, day + 19 * HOUR)
                if ts < plan.end - MINUTE and ts not in times:
                    times.append(ts)
            day += DAY
        return sorted(times)

    def assign_fates(self, plan: _RepoPlan) -> None:
        p = plan.profile
        deploys = plan.deploys
        if plan.freeze is not None:
            # The deployment before the freeze stays plain so the freeze holds one incident
            # that provably belongs to no deployment.
            before = [d for d in deploys if d.time < plan.freeze[0]]
            if before:
                before[-1].forced_ok = True
        i = 1  # the first deployment has no predecessor to roll back to; keep it plain
        while i < len(deploys):
            d = deploys[i]
            if not d.forced_ok and d.kind == "normal" and self.rng.random() < p.fail_rate:
                self.fail(plan, i, self.weighted(p.causes))
            i += 1
        # Every cause the profile knows appears at least once, whatever the seed.
        for cause, _ in p.causes:
            if any(d.fate == cause for d in deploys):
                continue
            candidates = [
                d for d in deploys[1:] if d.fate == "ok" and not d.forced_ok and d.kind == "normal"
            ]
            self.rng.shuffle(candidates)
            for d in candidates:
                if self.fail(plan, deploys.index(d), cause):
                    break

        if p.open_incident:
            recent = [
                d
                for d in deploys
                if d.fate == "ok"
                and not d.forced_ok
                and d.kind == "normal"
                and d.time >= plan.end - 6 * DAY
            ]
            if recent:
                recent[-1].fate = "incident"

    def fail(self, plan: _RepoPlan, i: int, cause: Fate) -> bool:
        """Fail deployment ``i`` by ``cause`` and plan what recovers it; False when no room."""
        deploys = plan.deploys
        d = deploys[i]
        following = deploys[i + 1] if i + 1 < len(deploys) else None
        limit = following.time if following is not None else plan.end
        if following is not None and following.fate == "rollback":
            # Anything inserted here would stand between a rollback and the deployment it
            # returns to.
            return False
        if cause in ("revert", "hotfix"):
            if plan.profile.style == "releases":
                delay = self.lognormal(30 * HOUR, 0.5, 6 * HOUR, 3 * DAY)
            else:
                delay = self.lognormal(3 * HOUR, 0.6, 40 * MINUTE, 12 * HOUR)
            carrier: _Deploy | None = None
            if d.time + delay < limit - HOUR and not plan.blocked(d.time + delay):
                carrier = _Deploy(time=d.time + delay)
                deploys.insert(i + 1, carrier)
            elif following is not None and following.kind == "normal" and following.fate == "ok":
                carrier = following
            if carrier is None:
                return False
            carrier.forced_ok = True
            carrier.carries = "revert" if cause == "revert" else "hotfix"
            carrier.carries_for = d
            d.recovered_by = carrier
        elif cause == "rollback":
            previous = deploys[i - 1]
            if previous.kind == "rollback":
                return False
            # Rollback and the fixed re-deployment happen the same UTC day, so no window
            # aligned on days separates a rolled-back change from its first deployment.
            day_end = (d.time // DAY + 1) * DAY
            latest = min(limit, day_end) - 30 * MINUTE
            rollback_at = d.time + self.lognormal(40 * MINUTE, 0.5, 10 * MINUTE, 90 * MINUTE)
            reship_at = rollback_at + self.lognormal(2 * HOUR, 0.5, 45 * MINUTE, 5 * HOUR)
            if reship_at >= latest:
                return False
            rollback = _Deploy(
                time=rollback_at, kind="rollback", forced_ok=True, rollback_to=previous
            )
            deploys.insert(i + 1, rollback)
            deploys.insert(i + 2, _Deploy(time=reship_at, forced_ok=True))
            d.recovered_by = rollback
        d.fate = cause
        return True

    # ---- changes and pull requests ----------------------------------------------------------

    def plan_changes(self, plan: _RepoPlan) -> None:
        p = plan.profile
        floor = plan.start + 10 * HOUR
        if p.style != "merges":
            initial = _Change(
                kind="push",
                merged=plan.start + 9 * HOUR,
                first_authored=plan.start + 9 * HOUR,
                author=p.team[0],
                message="Initial commit",
            )
            plan.changes.append(initial)
            if plan.deploys:
                plan.deploys[0].changes.append(initial)
                initial.deploy = plan.deploys[0]
        rate = p.merges_per_weekday * 5.4 / 7 / DAY
        previous_time = floor
        for d in plan.deploys:
            low, high = previous_time, d.time
            previous_time = d.time
            if d.kind == "rollback":
                continue
            if p.style == "merges":
                kind: ChangeKind = "bot" if self.rng.random() < p.bot_share else "human"
                self.add_change(plan, d, kind, d.time, floor)
                continue
            count = self.poisson(rate * (high - low))
            if d.carries is None:
                count = max(count, 1)
            kinds = [self.regular_kind(p) for _ in range(count)]
            if d.fate == "revert" and "human" not in kinds:
                kinds.append("human")
            for kind in kinds:
                self.add_change(plan, d, kind, self.work_time(plan, low, high), floor)
            if d.carries is not None and d.carries_for is not None:
                self.add_trigger(plan, d, d.carries_for, d.carries)
        if p.style != "merges":
            low = plan.deploys[-1].time if plan.deploys else floor
            for _ in range(self.poisson(rate * (plan.end - low))):
                merged = self.work_time(plan, low, plan.end - MINUTE)
                self.add_change(plan, None, self.regular_kind(p), merged, floor)
        if p.same_deployment_revert:
            self.add_same_deployment_revert(plan, floor)

    def regular_kind(self, p: _Profile) -> ChangeKind:
        roll = self.rng.random()
        if roll < p.push_share:
            return "push"
        if roll < p.push_share + p.bot_share:
            return "bot"
        return "human"

    def add_change(
        self, plan: _RepoPlan, d: _Deploy | None, kind: ChangeKind, merged: int, floor: int
    ) -> _Change:
        if kind == "push":
            first = merged - self.lognormal(40 * MINUTE, 1.0, 2 * MINUTE, 2 * DAY)
            first = max(first, floor)
            author = self.colleague(plan, first)
            if self.talk.random() < 0.25:
                # A workflow's push (a version bump): a bot's change, never in lead time.
                author = WORKFLOW_LOGIN
            change = _Change(
                kind="push",
                merged=merged,
                first_authored=first,
                author=author,
                message=self.rng.choice(_PUSH_MESSAGES),
            )
        else:
            pull = self.plan_merged_pull(plan, merged, floor, bot=kind == "bot")
            change = _Change(
                kind=kind, merged=merged, first_authored=pull.commit_times[0], pull=pull
            )
        plan.changes.append(change)
        if d is not None:
            d.changes.append(change)
            change.deploy = d
        return change

    def plan_merged_pull(self, plan: _RepoPlan, merged: int, floor: int, bot: bool) -> _PullPlan:
        if bot:
            cycle = self.lognormal(8 * HOUR, 1.0, 10 * MINUTE, 10 * DAY)
            coding = self.rng.randint(20, 120)
        else:
            cycle = self.lognormal(18 * HOUR, 1.3, 15 * MINUTE, 25 * DAY)
            coding = self.lognormal(4 * HOUR, 1.2, 5 * MINUTE, 12 * DAY)
        available = merged - floor - 2 * MINUTE
        if cycle + coding > available:
            scale = available / (cycle + coding)
            cycle = max(MINUTE, int(cycle * scale))
            coding = max(MINUTE, int(coding * scale))
        created = merged - cycle
        first = created - coding
        pull = self.new_pull(plan, created, first, merged, bot=bot)
        pull.merged = merged
        pull.closed = merged
        pull.method = self.weighted(plan.profile.merge_methods)
        pull.merged_by = self.merger(plan, pull)
        self.plan_reviews(plan, pull, merged, merged_pull=True)
        return pull

    def new_pull(
        self,
        plan: _RepoPlan,
        created: int,
        first: int,
        end: int,
        bot: bool,
        base: str = "main",
    ) -> _PullPlan:
        p = plan.profile
        if bot:
            author = self.rng.choice(DEPENDENCY_BOTS)
            package = self.rng.choice(_PACKAGES)
            major = self.rng.randint(1, 9)
            minor = self.rng.randint(0, 30)
            if author == "dependabot[bot]":
                title = f"Bump {package} from {major}.{minor}.0 to {major}.{minor + 1}.0"
            else:
                title = f"Update dependency {package} to v{major}.{minor + 1}.0"
            title = self.unique(plan, title)
            body = "Automated dependency update."
            labels = ["dependencies"]
            head = f"{author.split('[')[0]}/{package.replace('/', '-')}-{major}.{minor + 1}.0"
            commit_count = 1
        else:
            author = self.colleague(plan, first)
            verbs = _DOC_VERBS if p.name == "docs" else _VERBS
            title = self.title(plan, verbs)
            body = f"This change: {title.lower()}.\n\nTested locally."
            labels = []
            if self.rng.random() < 0.6:
                labels.append(
                    "documentation"
                    if p.name == "docs"
                    else self.rng.choice(("feature", "bug", "chore", "refactor", "tests"))
                )
            head = f"{author.split('-')[0]}/{title.lower().replace(' ', '-')[:40]}"
            commit_count = min(30, 1 + self.lognormal(1.5, 1.0, 0, 29))
        commit_times = self.commit_times(first, end, commit_count)
        return _PullPlan(
            author=author,
            bot=bot,
            title=title,
            body=body,
            created=created,
            base=base,
            head_ref=head,
            commit_times=commit_times,
            labels=labels,
            additions=1 + self.lognormal(70, 1.4, 0, 20000),
            deletions=self.lognormal(25, 1.5, 0, 15000),
        )

    def unique(self, plan: _RepoPlan, title: str) -> str:
        candidate, n = title, 1
        while candidate in plan.titles:
            n += 1
            candidate = f"{title} ({n})"
        plan.titles.add(candidate)
        return candidate

    def commit_times(self, first: int, end: int, count: int) -> list[int]:
        """The first is the earliest; the rest strictly later, before the end (merge/close)."""
        high = end - MINUTE
        if high - first < 2 * count + 2:
            return [first]
        rest = sorted({self.rng.randint(first + 1, high) for _ in range(count - 1)})
        return [first, *rest]

    def merger(self, plan: _RepoPlan, pull: _PullPlan) -> str:
        if not pull.bot and self.rng.random() < 0.7:
            return pull.author
        return self.colleague(plan, pull.merged or pull.created, exclude=(pull.author,))

    def plan_reviews(self, plan: _RepoPlan, pull: _PullPlan, end: int, merged_pull: bool) -> None:
        """Reviews and draft history; records the first qualifying review as drawn."""
        author = pull.author
        if not pull.bot and self.rng.random() < 0.15 and end - pull.created > 2 * HOUR:
            pull.opened_as_draft = True
            span = end - pull.created
            last_ready = pull.created + int(span * self.rng.uniform(0.05, 0.6))
            if self.rng.random() < 0.3:
                earlier = self.between(pull.created, last_ready)
                pull.ready_times = [earlier, last_ready]
            else:
                pull.ready_times = [last_ready]
            if self.rng.random() < 0.35:
                pull.reviews.append(
                    _ReviewPlan(
                        self.colleague(plan, pull.created, exclude=(author,)),
                        "COMMENTED",
                        self.between(pull.created, last_ready),
                        self.rng.randint(0, 3),
                    )
                )
        ready = pull.ready
        room = end - ready
        wants_review = self.rng.random() < (0.7 if pull.bot else 0.9)
        if wants_review and room > 2 * MINUTE:
            pickup = self.lognormal(2.5 * HOUR, 1.3, MINUTE, max(MINUTE, room * 0.9))
            at = min(ready + max(1, pickup), end - 1)
            reviewer = self.colleague(plan, at, exclude=(author,))
            state: ReviewState = (
                "APPROVED"
                if pull.bot
                else self.weighted(
                    (("APPROVED", 0.55), ("CHANGES_REQUESTED", 0.2), ("COMMENTED", 0.25))
                )
            )
            pull.reviews.append(_ReviewPlan(reviewer, state, at, self.review_comments(state)))
            pull.first_review = at
            last = at
            if not pull.bot:
                for _ in range(self.rng.choice((0, 0, 1, 1, 2, 3))):
                    if end - last < 4:
                        break
                    last = self.between(last, end)
                    state = self.weighted(
                        (("APPROVED", 0.5), ("CHANGES_REQUESTED", 0.2), ("COMMENTED", 0.3))
                    )
                    pull.reviews.append(
                        _ReviewPlan(
                            self.colleague(plan, last, exclude=(author,)),
                            state,
                            last,
                            self.review_comments(state),
                        )
                    )
                approved = any(r.state == "APPROVED" for r in pull.reviews)
                if merged_pull and not approved and end - last >= 4 and self.rng.random() < 0.85:
                    at = self.between(last, end)
                    pull.reviews.append(
                        _ReviewPlan(self.colleague(plan, at, exclude=(author,)), "APPROVED", at, 0)
                    )
        if room > 4 and not pull.bot and author != DELETED_LOGIN and self.rng.random() < 0.1:
            # The author answering in their own review thread: never a first review.
            pull.reviews.append(
                _ReviewPlan(author, "COMMENTED", self.between(ready, end), self.rng.randint(1, 3))
            )
        if room > 4 and self.rng.random() < 0.12:
            pull.reviews.append(
                _ReviewPlan(WORKFLOW_LOGIN, "COMMENTED", self.between(ready, end), 1)
            )
        pull.reviews.sort(key=lambda r: r.at)

    def plan_conversation(self, plan: _RepoPlan, pull: _PullPlan, end: int) -> None:
        """Conversation comments and AI reviews; records the first response as drawn: the
        first comment or review after ready by a person other than the author."""
        ready, talk = pull.ready, self.talk
        people = [login for login in plan.profile.team if login not in (pull.author, DELETED_LOGIN)]
        responses = [] if pull.first_review is None else [pull.first_review]
        if end - ready > 4 and people and not pull.bot and talk.random() < 0.45:
            # A colleague asks a question before anyone reviews: a response, not a review.
            until = pull.first_review if pull.first_review is not None else end
            if until - ready > 2:
                at = talk.randint(ready + 1, until - 1)
                pull.comments.append((talk.choice(people), at))
                responses.append(at)
        if pull.opened_as_draft and ready - pull.created > 2 and people and talk.random() < 0.3:
            # A comment while still a draft: not a response.
            pull.comments.append((talk.choice(people), talk.randint(pull.created + 1, ready - 1)))
        if end - pull.created > 2 and pull.author != DELETED_LOGIN and talk.random() < 0.25:
            pull.comments.append((pull.author, talk.randint(pull.created + 1, end - 1)))
        if end - ready > 2 and talk.random() < 0.1:
            pull.comments.append((WORKFLOW_LOGIN, talk.randint(ready + 1, end - 1)))
        if end - ready > 2 and not pull.bot and talk.random() < 0.2:
            # An AI review, often before any person's: never a first review or a response.
            at = talk.randint(ready + 1, end - 1)
            pull.reviews.append(_ReviewPlan(AI_REVIEWER_LOGIN, "COMMENTED", at, talk.randint(0, 5)))
            pull.reviews.sort(key=lambda r: r.at)
        pull.comments.sort(key=lambda c: c[1])
        pull.first_response = min(responses) if responses else None

    def review_comments(self, state: ReviewState) -> int:
        if state == "APPROVED":
            return self.rng.choice((0, 0, 0, 1))
        if state == "CHANGES_REQUESTED":
            return self.rng.randint(1, 6)
        return self.rng.randint(0, 4)

    def add_trigger(
        self, plan: _RepoPlan, carrier: _Deploy, failed: _Deploy, what: Literal["revert", "hotfix"]
    ) -> None:
        """The revert or hotfix that fails ``failed``, written between it and its carrier."""
        low, high = failed.time, carrier.time
        span = high - low
        first = low + int(span * self.rng.uniform(0.03, 0.15)) + 1
        merged = low + int(span * self.rng.uniform(0.6, 0.9))
        created = first + int((merged - first) * self.rng.uniform(0.1, 0.4)) + 1
        if what == "revert":
            targets = [c.pull for c in failed.changes if c.kind == "human" and c.pull is not None]
            target = self.rng.choice(targets)
            pull = self.revert_pull(plan, target, created, first, merged)
        else:
            author = self.colleague(plan, first)
            title = self.unique(plan, f"Hotfix: {self.rng.choice(_FEATURE_WORDS)} regression")
            pull = _PullPlan(
                author=author,
                bot=False,
                title=title,
                body="Fixes the regression from the last deployment.",
                created=created,
                base="main",
                head_ref=f"hotfix/{title.lower().split(': ')[1].replace(' ', '-')}",
                commit_times=self.commit_times(first, merged, self.rng.randint(1, 2)),
                labels=["hotfix", "bug"],
                additions=self.lognormal(8, 0.8, 1, 200),
                deletions=self.lognormal(4, 0.8, 0, 100),
            )
        self.finish_fast_pull(plan, pull, merged)
        change = _Change(kind=what, merged=merged, first_authored=first, pull=pull, deploy=carrier)
        plan.changes.append(change)
        carrier.changes.append(change)

    def revert_pull(
        self, plan: _RepoPlan, target: _PullPlan, created: int, first: int, merged: int
    ) -> _PullPlan:
        title = f'Revert "{target.title}"'
        plan.titles.add(title)
        return _PullPlan(
            author=self.colleague(plan, first),
            bot=False,
            title=title,
            body="",  # filled once numbers are known: "Reverts owner/repo#N"
            created=created,
            base="main",
            head_ref=f"revert-{len(plan.titles)}-{target.head_ref}",
            commit_times=[first],
            labels=[],
            additions=target.deletions,
            deletions=target.additions,
            reverts=target,
        )

    def finish_fast_pull(self, plan: _RepoPlan, pull: _PullPlan, merged: int) -> None:
        pull.merged = merged
        pull.closed = merged
        pull.method = "squash"
        pull.merged_by = pull.author
        room = merged - pull.created
        if room > 2 * MINUTE:
            at = pull.created + self.lognormal(12 * MINUTE, 0.7, MINUTE, max(MINUTE, room // 2))
            at = min(at, merged - 1)
            reviewer = self.colleague(plan, at, exclude=(pull.author,))
            pull.reviews.append(_ReviewPlan(reviewer, "APPROVED", at, 0))
            pull.first_review = at
        plan.pulls.append(pull)

    def add_same_deployment_revert(self, plan: _RepoPlan, floor: int) -> None:
        """A change and its revert shipped together: a revert that fails nothing."""
        deploys = plan.deploys
        candidates = [
            (n, d)
            for n, d in enumerate(deploys)
            if n > 0
            and d.kind == "normal"
            and d.fate == "ok"
            and not d.forced_ok
            and d.carries is None
            and d.changes
            and 2 * HOUR <= d.time - deploys[n - 1].time <= 4 * DAY
            and not any(plan.blocked(t) for t in range(deploys[n - 1].time, d.time, HOUR))
        ]
        if not candidates:
            return
        recent = [(n, d) for n, d in candidates if d.time >= plan.end - 25 * DAY]
        n, d = (recent or candidates)[len(recent or candidates) // 2]
        low = deploys[n - 1].time
        first_merge = low + (d.time - low) // 3
        target_change = self.add_change(plan, d, "human", first_merge, floor)
        target = target_change.pull
        assert target is not None
        merged = self.between(first_merge, d.time)
        first = self.between(first_merge, merged)
        created = self.between(first, merged)
        pull = self.revert_pull(plan, target, created, first, merged)
        self.finish_fast_pull(plan, pull, merged)
        change = _Change(kind="revert", merged=merged, first_authored=first, pull=pull, deploy=d)
        plan.changes.append(change)
        d.changes.append(change)
        d.same_deployment_revert = True

    def plan_other_pulls(self, plan: _RepoPlan) -> None:
        p = plan.profile
        merged_count = sum(1 for c in plan.changes if c.pull is not None)
        span = plan.end - plan.start
        for _ in range(round(merged_count * p.unmerged_share)):
            created = self.work_time(plan, plan.start + DAY, plan.end - DAY)
            closed = min(created + self.lognormal(3 * DAY, 1.0, HOUR, 40 * DAY), plan.end - MINUTE)
            first = created - self.lognormal(5 * HOUR, 1.0, 5 * MINUTE, 5 * DAY)
            pull = self.new_pull(
                plan, created, max(first, plan.start + 10 * HOUR), closed, bot=False
            )
            pull.closed = closed
            self.plan_reviews(plan, pull, closed, merged_pull=False)
            plan.pulls.append(pull)
        for n in range(p.open_prs):
            age = 90 * DAY if n == 0 else self.lognormal(5 * DAY, 0.8, 2 * HOUR, 25 * DAY)
            created = max(plan.end - min(age, span // 2), plan.start + DAY)
            first = created - self.lognormal(6 * HOUR, 1.0, 5 * MINUTE, 5 * DAY)
            first = max(first, plan.start + 10 * HOUR)
            pull = self.new_pull(plan, created, first, plan.end, bot=n % 4 == 3)
            self.plan_reviews(plan, pull, plan.end, merged_pull=False)
            if not pull.bot and self.rng.random() < 0.3:
                # Opened as draft and still a draft, or marked ready then converted back.
                pull.opened_as_draft = True
                pull.still_draft = True
                pull.ready_times = []
                pull.reviews = [r for r in pull.reviews if r.author != pull.author]
                pull.first_review = None
            plan.pulls.append(pull)
        if p.release_branch_prs and plan.release_cut is not None:
            for _ in range(p.release_branch_prs):
                merged = self.work_time(plan, plan.release_cut + DAY, plan.end - HOUR)
                created = merged - self.lognormal(6 * HOUR, 0.8, 20 * MINUTE, 3 * DAY)
                created = max(created, plan.release_cut + HOUR)
                first = created - self.lognormal(HOUR, 0.6, MINUTE, DAY)
                pull = self.new_pull(plan, created, first, merged, bot=False, base="release/1.x")
                pull.title = self.unique(plan, f"Backport to 1.x: {pull.title}")
                pull.labels = ["backport"]
                pull.merged = merged
                pull.closed = merged
                pull.method = "merge"
                pull.merged_by = self.merger(plan, pull)
                self.plan_reviews(plan, pull, merged, merged_pull=True)
                plan.pulls.append(pull)
        listed = {id(pull) for pull in plan.pulls}
        for change in plan.changes:
            if change.pull is not None and id(change.pull) not in listed:
                plan.pulls.append(change.pull)
                listed.add(id(change.pull))

    # ---- issues -----------------------------------------------------------------------------

    def plan_incidents(self, plan: _RepoPlan) -> None:
        deploys = plan.deploys
        incident_deploys = [d for d in deploys if d.fate == "incident"]
        for d in incident_deploys:
            index = deploys.index(d)
            following = deploys[index + 1].time if index + 1 < len(deploys) else None
            limit = min(INCIDENT_WINDOW, plan.end - d.time) - MINUTE
            if following is not None:
                limit = min(limit, following - d.time - MINUTE)
            if limit < 2 * MINUTE:
                d.fate = "ok"
                continue
            opened = d.time + self.lognormal(2 * HOUR, 1.0, MINUTE, limit)
            keep_open = plan.profile.open_incident and d is incident_deploys[-1]
            closed: int | None = opened + self.lognormal(6 * HOUR, 1.1, 20 * MINUTE, 10 * DAY)
            if keep_open or (closed is not None and closed > plan.end):
                closed = None
            issue = self.incident_issue(plan, opened, closed)
            issue.incident_for = d
            d.incident = issue
            plan.issues.append(issue)
        if plan.freeze is not None:
            before = [d for d in deploys if d.time < plan.freeze[0]]
            after = [d for d in deploys if d.time >= plan.freeze[1]]
            if before:
                opened = before[-1].time + INCIDENT_WINDOW + self.rng.randint(6 * HOUR, 30 * HOUR)
                bound = min(plan.freeze[1], after[0].time if after else plan.end) - HOUR
                if opened < bound:
                    closed = opened + self.lognormal(5 * HOUR, 0.8, 30 * MINUTE, DAY)
                    issue = self.incident_issue(plan, opened, min(closed, plan.end))
                    issue.unlinked_incident = True
                    plan.issues.append(issue)

    def label_one_incident(self, plan: _RepoPlan) -> None:
        """Incidents often carry a second label; make sure at least one does."""
        incidents = [issue for issue in plan.issues if "incident" in issue.labels]
        if incidents and all(len(issue.labels) == 1 for issue in incidents):
            incidents[0].labels.append("severity:high")

    def incident_issue(self, plan: _RepoPlan, opened: int, closed: int | None) -> _IssuePlan:
        area = self.rng.choice(_FEATURE_WORDS)
        title = self.rng.choice(_INCIDENT_TITLES).format(area=area)
        title = title[0].upper() + title[1:]
        labels = ["incident"]
        if self.rng.random() < 0.35:
            labels.append(self.rng.choice(("severity:high", "customer-impact")))
        author = WORKFLOW_LOGIN if self.rng.random() < 0.2 else self.colleague(plan, opened)
        issue = _IssuePlan(
            title=title,
            body=f"Alert fired at {_dt(opened):%H:%M} UTC. Investigating.",
            author=author,
            created=opened,
            labels=labels,
            closed=closed,
        )
        end = closed if closed is not None else plan.end
        for _ in range(self.rng.randint(1, 3)):
            at = self.between(opened, end)
            issue.comments.append((self.colleague(plan, at), at, "Update: mitigation in progress."))
        issue.comments.sort(key=lambda c: c[1])
        return issue

    def plan_issues(self, plan: _RepoPlan) -> None:
        weeks = (plan.end - plan.start) / (7 * DAY)
        for _ in range(self.poisson(plan.profile.issues_per_week * weeks)):
            created = self.work_time(plan, plan.start + DAY, plan.end - MINUTE)
            area = self.rng.choice(_FEATURE_WORDS)
            title = self.rng.choice(_ISSUE_TITLES).format(area=area)
            title = title[0].upper() + title[1:]
            label = self.weighted(
                ((["bug"], 0.5), (["enhancement"], 0.3), (["bug", "needs-triage"], 0.2))
            )
            closed: int | None = None
            if self.rng.random() < 0.6:
                closed = created + self.lognormal(5 * DAY, 1.0, HOUR, 60 * DAY)
                if closed > plan.end:
                    closed = None
            plan.issues.append(
                _IssuePlan(
                    title=title,
                    body="Steps to reproduce are in the first comment.",
                    author=self.colleague(plan, created),
                    created=created,
                    labels=list(label),
                    closed=closed,
                )
            )

    # ---- planning per repository ------------------------------------------------------------

    def plan_repository(self, profile: _Profile) -> _RepoPlan:
        start = (self.now_ts - profile.start_days_ago * DAY) // DAY * DAY
        end = self.now_ts - profile.end_days_ago * DAY
        plan = _RepoPlan(
            profile=profile, full_name=f"{ORGANISATION}/{profile.name}", start=start, end=end
        )
        if profile.freeze_days is not None:
            plan.freeze = (
                start + profile.freeze_days[0] * DAY,
                start + profile.freeze_days[1] * DAY,
            )
        if profile.release_branch_prs:
            plan.release_cut = start + 40 * DAY + 14 * HOUR
        if profile.style == "deployments":
            times = self.deploy_times(plan)
        elif profile.style == "releases":
            times = self.release_times(plan)
        else:
            times = self.merge_times(plan)
        plan.deploys = [_Deploy(time=ts) for ts in times]
        if profile.style != "merges":
            self.assign_fates(plan)
        self.plan_changes(plan)
        self.plan_other_pulls(plan)
        for pull in plan.pulls:
            self.plan_conversation(plan, pull, pull.closed if pull.closed is not None else plan.end)
        self.plan_incidents(plan)
        self.label_one_incident(plan)
        self.plan_issues(plan)
        return plan

    # ---- writing the world ------------------------------------------------------------------

    def build(self) -> GeneratedDataset:
        self.add_users()
        agent_users(self.world)
        ledgers: dict[str, RepositoryLedger] = {}
        for profile in self.profiles:
            plan = self.plan_repository(profile)
            mark_cohorts(plan, self.seed, DELETED_LOGIN)
            repo = self.write_repository(plan)
            write_agent_work(plan, repo, self.world)
            self.world.repositories[repo.full_name] = repo
            ledgers[repo.full_name] = self.ledger(plan)
        # After every repository, so no id or random draw any truth depends on moves.
        if HOME_REPOSITORY in self.world.repositories:
            self.add_workflow_runs(self.world.repositories[HOME_REPOSITORY])
        return GeneratedDataset(
            world=self.world,
            truth=GroundTruth(repositories=ledgers),
            workflow_login=WORKFLOW_LOGIN,
            home_repository=HOME_REPOSITORY,
            seed=self.seed,
            profile="",
        )

    def add_workflow_runs(self, repo: Repository) -> None:
        """A ``deploy.yml`` run behind each production deployment: a success for one that
        succeeded, a failure for one that failed; so ``workflow:deploy.yml`` gives the same
        deployments as the ``deployments`` source."""
        created = repo.created_at or self.world.now
        flow = Workflow(self.world.new_id(), "Deploy", ".github/workflows/deploy.yml", created)
        repo.workflows.append(flow)
        production = [d for d in repo.deployments if d.environment == "production"]
        for number, d in enumerate(sorted(production, key=lambda d: (d.created_at, d.id)), 1):
            states: dict[str, datetime] = {}
            for status in d.statuses:  # oldest first: keep each state's first time
                states.setdefault(status.state, status.created_at)
            if "success" in states:
                conclusion, ended = "success", states["success"]
            elif "failure" in states or "error" in states:
                conclusion, ended = "failure", states.get("failure") or states["error"]
            else:
                continue
            repo.workflow_runs.append(
                WorkflowRun(
                    id=self.world.new_id(),
                    workflow_id=flow.id,
                    run_number=number,
                    attempt=1,
                    head_branch=repo.default_branch,
                    head_sha=d.sha,
                    event="push",
                    status="completed",
                    conclusion=conclusion,
                    created_at=d.created_at,
                    updated_at=ended,
                    actor=WORKFLOW_LOGIN,
                )
            )

    def add_users(self) -> None:
        users = self.world.users
        users[ORGANISATION] = User(ORGANISATION, self.world.new_id(), type="Organization")
        for login in HUMANS:
            users[login] = User(login, self.world.new_id())
        users[DELETED_LOGIN] = User(DELETED_LOGIN, self.world.new_id(), deleted=True)
        for login in (*DEPENDENCY_BOTS, WORKFLOW_LOGIN, AI_REVIEWER_LOGIN):
            users[login] = User(login, self.world.new_id(), type="Bot")

    def write_repository(self, plan: _RepoPlan) -> Repository:
        p = plan.profile
        repo = Repository(
            owner=ORGANISATION,
            name=p.name,
            id=self.world.new_id(),
            archived=p.archived,
            description=p.description,
            created_at=_dt(plan.start + 9 * HOUR),
        )
        self.number_items(plan)
        main_times, main_oids = self.write_main(plan, repo)
        for d in plan.deploys:
            if d.kind == "rollback":
                assert d.rollback_to is not None
                d.sha = d.rollback_to.sha
            else:
                d.sha = main_oids[bisect_left(main_times, d.time) - 1]
        for index, d in enumerate(plan.deploys):
            d.index = index
        self.write_side_pulls(plan, repo, main_times, main_oids)
        repo.pull_requests = [self.pull_request(plan, pull) for pull in plan.pulls]
        repo.pull_requests.sort(key=lambda pr: pr.number)
        self.open_pull_holding_pushes(plan, repo)
        repo.issues = [self.issue(issue) for issue in plan.issues]
        if p.style == "deployments":
            repo.deployments = self.deployments(plan, main_times, main_oids)
        elif p.style == "releases":
            repo.releases = self.releases(plan, repo, main_times, main_oids)
        used = {label for pr in repo.pull_requests for label in pr.labels}
        used |= {label for issue in repo.issues for label in issue.labels}
        used |= {"bug", "enhancement", "incident", "hotfix"}
        repo.labels = [Label(name, LABEL_COLOURS.get(name, "ededed")) for name in sorted(used)]
        return repo

    def open_pull_holding_pushes(self, plan: _RepoPlan, repo: Repository) -> None:
        """An open pull request whose branch took in the last direct pushes made after it was
        opened: GitHub then names it first among the pushes' pull requests, though it never
        brought them to the default branch (they stay direct pushes)."""
        pushes = [
            c
            for c in plan.changes
            if c.kind == "push" and c.pull is None and c.message != "Initial commit"
        ]
        opened = [pr for pr in repo.pull_requests if pr.state == "open" and pr.base_ref == "main"]
        if not pushes or not opened or self.talk.random() < 0.2:
            return
        pull = min(opened, key=lambda pr: pr.created_at)
        # The newest ones, so that the latest windows ship them.
        later = [c for c in pushes if _dt(c.merged) > pull.created_at]
        for change in sorted(later, key=lambda c: c.merged)[-3:]:
            pull.commits.append(change.tip)

    def number_items(self, plan: _RepoPlan) -> None:
        """Pull requests and issues share one counter, in order of creation."""
        items: list[tuple[int, int, _PullPlan | _IssuePlan]] = [
            (pull.created, n, pull) for n, pull in enumerate(plan.pulls)
        ]
        items += [(issue.created, len(items) + n, issue) for n, issue in enumerate(plan.issues)]
        items.sort(key=lambda item: (item[0], item[1]))
        for number, (_, _, item) in enumerate(items, start=1):
            item.number = number
        for pull in plan.pulls:
            if pull.reverts is not None:
                pull.body = f"Reverts {plan.full_name}#{pull.reverts.number}"

    def commit(
        self,
        plan: _RepoPlan,
        repo: Repository,
        message: str,
        authored: int,
        committed: int,
        author: str | None,
        parents: list[str],
        pr: int | None,
    ) -> str:
        oid = self.new_oid(plan)
        repo.commits[oid] = Commit(
            oid=oid,
            message=message,
            authored_at=_dt(authored),
            committed_at=_dt(committed),
            author=author,
            parents=parents,
            associated_pr=pr,
        )
        return oid

    def own_commits(
        self, plan: _RepoPlan, repo: Repository, pull: _PullPlan, base: str
    ) -> list[str]:
        oids: list[str] = []
        parent = base
        times = pull.commit_times
        authored = list(times)
        if len(times) >= 2 and self.talk.random() < 0.2:
            # The earliest work sits second (a commit rebased onto a later one): the first
            # listed commit is not the earliest authored.
            authored[0], authored[1] = times[1], times[0]
        for n, at in enumerate(times):
            message = pull.title if n == 0 else self.rng.choice(_COMMIT_MESSAGES)
            # A few commits carry an e-mail that maps to no account.
            author = None if not pull.bot and self.rng.random() < 0.02 else pull.author
            committed = max(at, authored[n])
            parent = self.commit(
                plan, repo, message, authored[n], committed, author, [parent], pull.number
            )
            oids.append(parent)
        pull.own_oids = oids
        return oids

    def write_main(self, plan: _RepoPlan, repo: Repository) -> tuple[list[int], list[str]]:
        times: list[int] = []
        oids: list[str] = []
        changes = sorted(plan.changes, key=lambda c: c.merged)
        if not changes or changes[0].kind != "push" or changes[0].message != "Initial commit":
            root = self.commit(
                plan,
                repo,
                "Initial commit",
                plan.start + 9 * HOUR,
                plan.start + 9 * HOUR,
                plan.profile.team[0],
                [],
                None,
            )
            times.append(plan.start + 9 * HOUR)
            oids.append(root)
        for change in changes:
            parents = [oids[-1]] if oids else []
            if change.pull is None:
                tip = self.commit(
                    plan,
                    repo,
                    change.message,
                    change.first_authored,
                    change.merged,
                    change.author,
                    parents,
                    None,
                )
            else:
                pull = change.pull
                fork = oids[max(0, bisect_right(times, pull.commit_times[0]) - 1)]
                own = self.own_commits(plan, repo, pull, fork)
                if pull.method == "merge":
                    message = (
                        f"Merge pull request #{pull.number} from {ORGANISATION}/{pull.head_ref}"
                        f"\n\n{pull.title}"
                    )
                    tip = self.commit(
                        plan,
                        repo,
                        message,
                        change.merged,
                        change.merged,
                        pull.merged_by,
                        [*parents, own[-1]],
                        pull.number,
                    )
                elif pull.method == "rebase":
                    tip = parents[0]
                    for oid in own:
                        original = repo.commits[oid]
                        tip = self.commit(
                            plan,
                            repo,
                            original.message,
                            math.floor(original.authored_at.timestamp()),
                            change.merged,
                            original.author,
                            [tip],
                            pull.number,
                        )
                else:
                    tip = self.commit(
                        plan,
                        repo,
                        f"{pull.title} (#{pull.number})",
                        change.merged,
                        change.merged,
                        pull.author,
                        parents,
                        pull.number,
                    )
                pull.merge_commit = tip
            change.tip = tip
            times.append(change.merged)
            oids.append(tip)
        repo.refs[f"heads/{repo.default_branch}"] = oids[-1]
        return times, oids

    def write_side_pulls(
        self, plan: _RepoPlan, repo: Repository, main_times: list[int], main_oids: list[str]
    ) -> None:
        """Commits of pull requests that never reach main: unmerged, open, release branch."""
        release_tip: str | None = None
        if plan.release_cut is not None:
            release_tip = main_oids[bisect_right(main_times, plan.release_cut) - 1]
        side = [pull for pull in plan.pulls if not pull.own_oids]
        side.sort(key=lambda pull: pull.merged or pull.created)
        for pull in side:
            if pull.base == "release/1.x" and release_tip is not None:
                own = self.own_commits(plan, repo, pull, release_tip)
                merged = pull.merged or pull.created
                message = f"Merge pull request #{pull.number} from {ORGANISATION}/{pull.head_ref}"
                release_tip = self.commit(
                    plan,
                    repo,
                    message,
                    merged,
                    merged,
                    pull.merged_by,
                    [release_tip, own[-1]],
                    pull.number,
                )
                pull.merge_commit = release_tip
            else:
                fork = main_oids[max(0, bisect_right(main_times, pull.commit_times[0]) - 1)]
                self.own_commits(plan, repo, pull, fork)
        if release_tip is not None:
            repo.refs["heads/release/1.x"] = release_tip

    def pull_request(self, plan: _RepoPlan, pull: _PullPlan) -> PullRequest:
        reviews = [
            Review(
                id=self.world.new_id(),
                author=r.author,
                state=r.state,
                submitted_at=_dt(r.at),
                body="" if r.state == "APPROVED" else "See inline comments.",
                comments=r.comments,
            )
            for r in pull.reviews
        ]
        comments = [
            IssueComment(
                id=pull.number * 1000 + index,  # not world.new_id(): other ids stay as they were
                author=login,
                body="Could you say why?",
                created_at=_dt(at),
                updated_at=_dt(at),
            )
            for index, (login, at) in enumerate(pull.comments)
        ]
        last = max(
            [
                pull.closed or pull.created,
                *(r.at for r in pull.reviews),
                *pull.ready_times,
                *(at for _, at in pull.comments),
            ]
        )
        return PullRequest(
            number=pull.number,
            id=self.world.new_id(),
            title=pull.title,
            body=pull.body,
            author=pull.author,
            created_at=_dt(pull.created),
            updated_at=_dt(min(last, plan.end)),
            base_ref=pull.base,
            head_ref=pull.head_ref,
            state="closed" if pull.closed is not None else "open",
            closed_at=_dt(pull.closed) if pull.closed is not None else None,
            merged_at=_dt(pull.merged) if pull.merged is not None else None,
            merge_commit=pull.merge_commit,
            commits=list(pull.own_oids),
            additions=pull.additions,
            deletions=pull.deletions,
            labels=list(pull.labels),
            reviews=reviews,
            is_draft=pull.still_draft,
            ready_for_review_at=[_dt(ts) for ts in pull.ready_times],
            merged_by=pull.merged_by if pull.merged is not None else None,
            comments=comments,
        )

    def issue(self, plan_issue: _IssuePlan) -> Issue:
        comments = [
            IssueComment(
                id=self.world.new_id(),
                author=author,
                body=body,
                created_at=_dt(at),
                updated_at=_dt(at),
            )
            for author, at, body in plan_issue.comments
        ]
        last = max(
            [plan_issue.created, plan_issue.closed or 0, *(at for _, at, _ in plan_issue.comments)]
        )
        return Issue(
            number=plan_issue.number,
            id=self.world.new_id(),
            title=plan_issue.title,
            body=plan_issue.body,
            author=plan_issue.author,
            created_at=_dt(plan_issue.created),
            updated_at=_dt(last),
            state="closed" if plan_issue.closed is not None else "open",
            closed_at=_dt(plan_issue.closed) if plan_issue.closed is not None else None,
            labels=list(plan_issue.labels),
            comments=comments,
        )

    def deployments(
        self, plan: _RepoPlan, main_times: list[int], main_oids: list[str]
    ) -> list[Deployment]:
        p = plan.profile
        # (created, sha, ref, environment, [(state, at)], description)
        specs: list[tuple[int, str, str, str, list[tuple[StatusState, int]], str]] = []
        deploys = plan.deploys
        for n, d in enumerate(deploys):
            created = d.time - self.rng.randint(2 * MINUTE, 10 * MINUTE)
            statuses: list[tuple[StatusState, int]] = [
                ("queued", created),
                ("in_progress", created + 20),
                ("success", d.time),
            ]
            following = deploys[n + 1].time if n + 1 < len(deploys) else None
            if following is not None:
                if following - d.time > HOUR and self.rng.random() < 0.03:
                    # A re-run health check reports success again; the first one is the time.
                    statuses.append(("success", d.time + 5 * MINUTE))
                statuses.append(("inactive", following))
            ref = d.sha if d.kind == "rollback" else "main"
            description = (
                f"Rollback to {d.sha[:7]}" if d.kind == "rollback" else "Deploy to production"
            )
            specs.append((created, d.sha, ref, p.environment, statuses, description))
            previous = deploys[n - 1].time if n > 0 else plan.start + 10 * HOUR
            attempt = p.failed_attempt_chance and self.rng.random() < p.failed_attempt_chance
            if attempt and created - previous > 2 * HOUR:
                at = self.between(previous + 30 * MINUTE, created - 30 * MINUTE)
                sha = main_oids[bisect_right(main_times, at) - 1]
                state: StatusState = self.rng.choice(("failure", "error"))
                specs.append(
                    (
                        at,
                        sha,
                        "main",
                        p.environment,
                        [("queued", at), ("in_progress", at + 20), (state, at + 6 * MINUTE)],
                        "Deploy to production",
                    )
                )
        if p.staging:
            staged: list[tuple[int, str]] = []
            for change in plan.changes:
                if change.pull is None and change.message == "Initial commit":
                    continue
                at = change.merged + self.rng.randint(2 * MINUTE, 10 * MINUTE)
                if self.rng.random() < 0.85 and at + 5 * MINUTE < plan.end:
                    staged.append((at, change.tip))
            staged.sort()
            for n, (at, sha) in enumerate(staged):
                final: StatusState = "failure" if self.rng.random() < 0.04 else "success"
                statuses = [("in_progress", at + 10), (final, at + 4 * MINUTE)]
                if n + 1 < len(staged) and final == "success":
                    statuses.append(("inactive", staged[n + 1][0] + 4 * MINUTE))
                specs.append((at, sha, "main", "staging", statuses, "Deploy to staging"))
        specs.sort(key=lambda spec: spec[0])
        result: list[Deployment] = []
        for created, sha, ref, environment, statuses, description in specs:
            result.append(
                Deployment(
                    id=self.world.new_id(),
                    sha=sha,
                    ref=ref,
                    environment=environment,
                    created_at=_dt(created),
                    creator=WORKFLOW_LOGIN,
                    statuses=[
                        DeploymentStatus(
                            id=self.world.new_id(),
                            state=state,
                            created_at=_dt(at),
                            creator=WORKFLOW_LOGIN,
                        )
                        for state, at in sorted(statuses, key=lambda s: s[1])
                        if at <= plan.end
                    ],
                    description=description,
                )
            )
        return result

    def releases(
        self, plan: _RepoPlan, repo: Repository, main_times: list[int], main_oids: list[str]
    ) -> list[Release]:
        minor, patch = 0, 0
        releases: list[Release] = []
        candidates = [n for n, d in enumerate(plan.deploys) if n > 0 and d.carries is None]
        with_candidate = set(self.rng.sample(candidates, min(3, len(candidates))))
        for n, d in enumerate(plan.deploys):
            if d.carries == "hotfix":
                patch += 1
            else:
                minor, patch = minor + 1, 0
            tag = f"v1.{minor}.{patch}"
            if n in with_candidate:
                previous = plan.deploys[n - 1].time
                at = max(d.time - self.rng.randint(DAY, 2 * DAY), previous + HOUR)
                if at < d.time - HOUR:
                    rc_tag = f"{tag}-rc.1"
                    sha = main_oids[bisect_right(main_times, at) - 1]
                    repo.refs[f"tags/{rc_tag}"] = sha
                    releases.append(
                        Release(
                            id=self.world.new_id(),
                            tag_name=rc_tag,
                            name=f"{tag} release candidate 1",
                            tag_commit=sha,
                            created_at=_dt(at - 15 * MINUTE),
                            published_at=_dt(at),
                            is_prerelease=True,
                            author=self.colleague(plan, at),
                        )
                    )
            repo.refs[f"tags/{tag}"] = d.sha
            releases.append(
                Release(
                    id=self.world.new_id(),
                    tag_name=tag,
                    name=f"{tag}" + (" (hotfix)" if patch else ""),
                    tag_commit=d.sha,
                    created_at=_dt(d.time - self.rng.randint(20 * MINUTE, HOUR)),
                    published_at=_dt(d.time),
                    author=WORKFLOW_LOGIN
                    if self.rng.random() < 0.5
                    else self.colleague(plan, d.time),
                )
            )
        last = plan.deploys[-1].time if plan.deploys else plan.start
        draft_at = max(plan.end - self.rng.randint(HOUR, DAY), last + MINUTE)
        if draft_at < plan.end:
            releases.append(
                Release(
                    id=self.world.new_id(),
                    tag_name=f"v1.{minor + 1}.0",
                    name=f"v1.{minor + 1}.0 (draft)",
                    tag_commit=main_oids[bisect_right(main_times, draft_at) - 1],
                    created_at=_dt(draft_at),
                    published_at=None,
                    is_draft=True,
                    author=self.colleague(plan, draft_at),
                )
            )
        return releases

    # ---- ledger -----------------------------------------------------------------------------

    def ledger(self, plan: _RepoPlan) -> RepositoryLedger:
        name = plan.full_name
        deployments: list[DeploymentRecord] = []
        for d in plan.deploys:
            recovery: float | None = None
            incident_number: int | None = None
            if d.fate == "incident" and d.incident is not None:
                incident_number = d.incident.number
                if d.incident.closed is not None:
                    recovery = (d.incident.closed - d.incident.created) / HOUR
            elif d.fate != "ok" and d.recovered_by is not None:
                recovery = (d.recovered_by.time - d.time) / HOUR
            rework: ReworkReason | None = None
            if d.kind == "rollback":
                rework = "rollback"
            elif d.carries is not None:
                rework = d.carries
            elif d.same_deployment_revert:
                rework = "revert-same-deployment"
            deployments.append(
                DeploymentRecord(
                    repository=name,
                    index=d.index,
                    time=_dt(d.time),
                    sha=d.sha,
                    fate=d.fate,
                    recovery_hours=recovery,
                    recovered_by=d.recovered_by.index if d.recovered_by is not None else None,
                    incident=incident_number,
                    rework=rework,
                    is_rollback=d.kind == "rollback",
                    changes=tuple(self.change_key(c) for c in d.changes),
                )
            )
        changes = tuple(
            ChangeRecord(
                repository=name,
                key=self.change_key(c),
                pull_request=c.pull.number if c.pull is not None else None,
                first_authored_at=_dt(c.first_authored),
                merged_at=_dt(c.merged),
                deployed_at=_dt(c.deploy.time) if c.deploy is not None else None,
                deployment_index=c.deploy.index if c.deploy is not None else None,
                bot=c.pull.bot if c.pull is not None else c.author == WORKFLOW_LOGIN,
            )
            for c in sorted(plan.changes, key=lambda c: c.merged)
            if plan.profile.style != "merges" or c.pull is not None
        )
        pulls = tuple(
            PullRecord(
                repository=name,
                number=pull.number,
                created_at=_dt(pull.created),
                merged_at=_dt(pull.merged) if pull.merged is not None else None,
                closed_at=_dt(pull.closed) if pull.closed is not None else None,
                base_ref=pull.base,
                into_default_branch=pull.base == "main",
                bot=pull.bot,
                ready_at=_dt(pull.ready),
                first_review_at=_dt(pull.first_review) if pull.first_review is not None else None,
                first_response_at=(
                    _dt(pull.first_response) if pull.first_response is not None else None
                ),
                labels=tuple(pull.labels),
                reverts=pull.reverts.number if pull.reverts is not None else None,
                **pull_truth(pull),
            )
            for pull in sorted(plan.pulls, key=lambda pull: pull.number)
        )
        incidents = tuple(
            IncidentRecord(
                repository=name,
                number=issue.number,
                opened_at=_dt(issue.created),
                closed_at=_dt(issue.closed) if issue.closed is not None else None,
                deployment_index=(
                    issue.incident_for.index if issue.incident_for is not None else None
                ),
            )
            for issue in sorted(plan.issues, key=lambda issue: issue.number)
            if "incident" in issue.labels
        )
        return RepositoryLedger(
            name=name,
            style=plan.profile.style,
            default_branch="main",
            deployments=tuple(deployments),
            changes=changes,
            pulls=pulls,
            incidents=incidents,
            bugs=bug_records(name, ((i.number, _dt(i.created), i.labels) for i in plan.issues)),
        )

    @staticmethod
    def change_key(change: _Change) -> str:
        if change.pull is not None:
            return f"pr#{change.pull.number}"
        return f"push:{change.tip}"


def generate_dataset(
    seed: int = 7, now: datetime | None = None, profile: str = "demo"
) -> GeneratedDataset:
    """Build a seeded world and its ground truth; same (seed, now, profile), same result."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    dataset = _Generator(seed, now, PROFILES[profile]).build()
    usage = add_copilot_usage(dataset.world, ORGANISATION, seed, now)
    return GeneratedDataset(
        world=dataset.world,
        truth=dataset.truth,
        workflow_login=dataset.workflow_login,
        home_repository=dataset.home_repository,
        seed=seed,
        profile=profile,
        copilot_usage=usage,
    )
