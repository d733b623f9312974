"""A large, busy repository for the collection benchmark (``benchmarks/collect.py``).

One repository with a year of work: 5,000 pull requests (1-30 commits and 0-8 reviews each,
squash-merged onto ``main``), 1,000 production deployments of ``main`` with their statuses,
100 incident issues and other issues. ``advance`` adds one more day of the same activity and
touches older records the way a day does (late reviews, edits, a closed pull request).
``build_worlds`` puts several smaller repositories of the same kind in one world, for the
concurrency benchmark (``benchmarks/concurrency.py``). Unlike ``generate.py`` it keeps no
ground truth: it exists to be collected, not checked.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ghaction_metrics_dev.emulator.world import (
    Commit,
    Deployment,
    DeploymentStatus,
    Issue,
    PullRequest,
    Repository,
    Review,
    ReviewState,
    StatusState,
    User,
    World,
)

OWNER, NAME = "bench", "service"
FULL_NAME = f"{OWNER}/{NAME}"
WORKFLOW_LOGIN = "github-actions[bot]"
PEOPLE = tuple(f"dev-{n:02d}" for n in range(1, 25))
LABELS = ("bug", "feature", "chore", "refactor", "dependencies", "hotfix")
REVIEW_STATES: tuple[ReviewState, ...] = ("APPROVED", "COMMENTED", "CHANGES_REQUESTED")


@dataclass
class _Builder:
    world: World
    repo: Repository
    rng: random.Random
    head: str | None = None
    pending_merges: list[tuple[datetime, PullRequest]] = field(default_factory=list)
    oid_counter: int = 0

    def oid(self) -> str:
        self.oid_counter += 1
        return f"{self.rng.getrandbits(96):024x}{self.oid_counter:016x}"

    def commit(
        self, message: str, at: datetime, author: str, parents: list[str], pr: int | None
    ) -> str:
        oid = self.oid()
        self.repo.commits[oid] = Commit(oid, message, at, at, author, parents, associated_pr=pr)
        return oid

    def pull(self, number: int, created: datetime, end: datetime) -> PullRequest:
        """A pull request opened at ``created``; merged, closed or left open by ``end``."""
        rng = self.rng
        author = rng.choice(PEOPLE)
        commits: list[str] = []
        parent = self.head or ""
        count = rng.randint(1, 30)
        start = created - timedelta(hours=rng.uniform(1, 72))
        for n in range(count):
            at = start + (created - start) * (n / count)
            parent = self.commit(f"Work on #{number} ({n + 1})", at, author, [parent], number)
            commits.append(parent)
        reviews: list[Review] = []
        at = created
        for _ in range(rng.randint(0, 8)):
            at += timedelta(hours=rng.uniform(0.2, 12))
            reviewer = rng.choice([p for p in PEOPLE if p != author])
            state = rng.choice(REVIEW_STATES)
            reviews.append(
                Review(self.world.new_id(), reviewer, state, at, comments=rng.randint(0, 4))
            )
        fate = rng.random()
        closes = at + timedelta(hours=rng.uniform(1, 96))
        pull = PullRequest(
            number=number,
            id=self.world.new_id(),
            title=f"Change {number}: {rng.choice(('fix', 'add', 'update', 'remove'))} things",
            body="Details of the change.",
            author=author,
            created_at=created,
            updated_at=created,
            base_ref="main",
            head_ref=f"topic-{number}",
            state="open",
            commits=commits,
            additions=int(rng.lognormvariate(4, 1.2)),
            deletions=int(rng.lognormvariate(3, 1.2)),
            labels=rng.sample(LABELS, rng.randint(0, 2)),
            reviews=reviews,
        )
        if rng.random() < 0.08:
            ready = created + timedelta(hours=rng.uniform(1, 24))
            pull.ready_for_review_at = [ready]
        if closes < end and fate < 0.85:
            self.pending_merges.append((closes, pull))
        elif closes < end and fate < 0.93:
            pull.state, pull.closed_at = "closed", closes
        pull.updated_at = max([created, *(r.submitted_at for r in reviews)])
        return pull

    def merge_until(self, moment: datetime) -> None:
        """Squash-merge, in time order, the pull requests whose merge time has come."""
        self.pending_merges.sort(key=lambda item: item[0])
        while self.pending_merges and self.pending_merges[0][0] <= moment:
            at, pull = self.pending_merges.pop(0)
            parents = [self.head] if self.head else []
            oid = self.commit(
                f"{pull.title} (#{pull.number})", at, pull.author or "", parents, pull.number
            )
            self.head = oid
            pull.state, pull.merged_at, pull.closed_at = "closed", at, at
            pull.merge_commit, pull.merged_by = oid, pull.author
            pull.updated_at = max(pull.updated_at, at)
            self.repo.refs["heads/main"] = oid

    def deploy(self, at: datetime) -> Deployment | None:
        if self.head is None:
            return None
        rng = self.rng
        outcome: StatusState = "success" if rng.random() < 0.9 else "failure"
        deployment = Deployment(
            id=self.world.new_id(),
            sha=self.head,
            ref="main",
            environment="production",
            created_at=at,
            creator=WORKFLOW_LOGIN,
            statuses=[
                DeploymentStatus(self.world.new_id(), "in_progress", at),
                DeploymentStatus(self.world.new_id(), outcome, at + timedelta(minutes=8)),
            ],
        )
        self.repo.deployments.append(deployment)
        return deployment

    def issue(self, number: int, opened: datetime, incident: bool, end: datetime) -> Issue:
        closes = opened + timedelta(hours=self.rng.uniform(1, 48))
        closed = closes < end
        return Issue(
            number=number,
            id=self.world.new_id(),
            title=("Outage: " if incident else "Question: ") + f"item {number}",
            body="",
            author=self.rng.choice(PEOPLE),
            created_at=opened,
            updated_at=closes if closed else opened,
            state="closed" if closed else "open",
            closed_at=closes if closed else None,
            labels=["incident"] if incident else ["question"],
        )


@dataclass
class BulkRepository:
    world: World
    builder: _Builder

    def advance(self, to: datetime, *, seed: int = 2) -> None:
        advance(self, to, seed=seed)


@dataclass(frozen=True)
class _Sizes:
    pulls: int
    days: int
    deployments: int
    incidents: int
    other_issues: int


def build_world(
    now: datetime,
    *,
    seed: int = 1,
    pulls: int = 5_000,
    days: int = 365,
    deployments: int = 1_000,
    incidents: int = 100,
    other_issues: int = 200,
) -> BulkRepository:
    """The benchmark world, ending at ``now``."""
    rng = random.Random(seed)
    world = _people(now)
    builder = _add_repository(
        world, NAME, rng, now, _Sizes(pulls, days, deployments, incidents, other_issues)
    )
    return BulkRepository(world, builder)


@dataclass(frozen=True)
class BulkWorld:
    world: World
    names: tuple[str, ...]  # owner/name of each repository, in the order built


def build_worlds(
    now: datetime,
    count: int,
    *,
    seed: int = 1,
    pulls: int = 1_000,
    days: int = 365,
    deployments: int = 200,
    incidents: int = 20,
    other_issues: int = 40,
) -> BulkWorld:
    """``count`` repositories ``bench/service-1`` .. ``bench/service-N`` in one world, each with
    the given sizes: for measuring the collection of several repositories in one run. Each has
    its own random stream, so a repository is the same whatever ``count`` is."""
    world = _people(now)
    sizes = _Sizes(pulls, days, deployments, incidents, other_issues)
    names: list[str] = []
    for index in range(1, count + 1):
        rng = random.Random(f"{seed}-{index}")
        builder = _add_repository(world, f"{NAME}-{index}", rng, now, sizes)
        names.append(builder.repo.full_name)
    return BulkWorld(world, tuple(names))


def _people(now: datetime) -> World:
    """An empty world at ``now`` with the developers, the owner and the workflow's bot."""
    world = World(now=now)
    for login in PEOPLE:
        world.users[login] = User(login, world.new_id())
    world.users[OWNER] = User(OWNER, world.new_id(), type="Organization")
    world.users[WORKFLOW_LOGIN] = User(WORKFLOW_LOGIN, world.new_id(), type="Bot")
    return world


def _add_repository(
    world: World, name: str, rng: random.Random, now: datetime, sizes: _Sizes
) -> _Builder:
    """One busy repository ``bench/<name>`` with ``sizes.days`` of work up to ``now``."""
    start = now - timedelta(days=sizes.days)
    repo = Repository(OWNER, name, world.new_id(), created_at=start - timedelta(days=30))
    world.repositories[f"{OWNER}/{name}"] = repo
    builder = _Builder(world, repo, rng)
    root = builder.commit("Initial commit", start - timedelta(days=1), PEOPLE[0], [], None)
    builder.head = root
    repo.refs["heads/main"] = root
    span = (now - start).total_seconds()
    events: list[tuple[datetime, str]] = [
        (start + timedelta(seconds=rng.uniform(0, span)), "pull") for _ in range(sizes.pulls)
    ]
    events += [
        (start + timedelta(seconds=rng.uniform(0, span)), "deploy")
        for _ in range(sizes.deployments)
    ]
    events.sort()
    number = 0
    deployed: list[datetime] = []
    for at, kind in events:
        builder.merge_until(at)
        if kind == "pull":
            number += 1
            repo.pull_requests.append(builder.pull(number, at, now))
        elif builder.deploy(at) is not None:
            deployed.append(at)
    builder.merge_until(now)
    for at in rng.sample(deployed, min(sizes.incidents, len(deployed))):
        number += 1
        repo.issues.append(
            builder.issue(number, at + timedelta(hours=rng.uniform(1, 48)), True, now)
        )
    for _ in range(sizes.other_issues):
        number += 1
        opened = start + timedelta(seconds=rng.uniform(0, span))
        repo.issues.append(builder.issue(number, opened, False, now))
    repo.issues.sort(key=lambda i: i.number)
    return builder


def advance(bulk: BulkRepository, to: datetime, *, seed: int = 2) -> None:
    """One more stretch of activity up to ``to``, at the year's daily rate."""
    world, builder = bulk.world, bulk.builder
    builder.rng = random.Random(seed)
    rng = builder.rng
    repo = builder.repo
    start = world.now
    span = (to - start).total_seconds()
    days = span / 86400
    number = max([p.number for p in repo.pull_requests] + [i.number for i in repo.issues])
    events = [
        (start + timedelta(seconds=rng.uniform(0, span)), "pull") for _ in range(round(14 * days))
    ]
    events += [
        (start + timedelta(seconds=rng.uniform(0, span)), "deploy") for _ in range(round(3 * days))
    ]
    for at, kind in sorted(events):
        builder.merge_until(at)
        if kind == "pull":
            number += 1
            repo.pull_requests.append(builder.pull(number, at, to))
        else:
            builder.deploy(at)
    builder.merge_until(to)
    # Older records change too: a late review, an edited title, a closed stale pull request.
    open_pulls = [p for p in repo.pull_requests if p.state == "open" and p.created_at < start]
    for pull in rng.sample(open_pulls, min(3, len(open_pulls))):
        at = start + timedelta(seconds=rng.uniform(0, span))
        pull.reviews.append(Review(world.new_id(), rng.choice(PEOPLE), "APPROVED", at))
        pull.updated_at = at
    number += 1
    repo.issues.append(builder.issue(number, start + timedelta(hours=2), True, to))
    world.now = to
