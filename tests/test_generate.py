"""The seeded dataset generator: determinism, structure, and ground truth checked against the
raw world objects (never against metric code)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from ghaction_metrics_dev.dataset.agents import AGENT_LOGIN
from ghaction_metrics_dev.dataset.generate import (
    AI_REVIEWER_LOGIN,
    GeneratedDataset,
    HeadlineTruth,
    generate_dataset,
)
from ghaction_metrics_dev.emulator.world import PullRequest, Repository, World

NOW = datetime(2025, 6, 18, 15, 30, 12, 345678, tzinfo=UTC)
WINDOWS = (7, 30, 90)
REVERT_BODY = re.compile(r"^Reverts (?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+)$")


@pytest.fixture(scope="module")
def demo() -> GeneratedDataset:
    return generate_dataset(seed=7, now=NOW)


@pytest.fixture(scope="module")
def tiny() -> GeneratedDataset:
    return generate_dataset(seed=3, now=NOW, profile="tiny")


@dataclass(frozen=True)
class RawDeployment:
    time: datetime
    sha: str


def production_deployments(repo: Repository) -> list[RawDeployment]:
    """Successful production deployments read straight from the world, oldest first."""
    found: list[RawDeployment] = []
    for deployment in repo.deployments:
        if deployment.environment.lower() != "production":
            continue
        successes = [s.created_at for s in deployment.statuses if s.state == "success"]
        if successes:
            found.append(RawDeployment(min(successes), deployment.sha))
    return sorted(found, key=lambda d: d.time)


def published_releases(repo: Repository) -> list[RawDeployment]:
    found = [
        RawDeployment(r.published_at, r.tag_commit)
        for r in repo.releases
        if r.published_at is not None and not r.is_draft and not r.is_prerelease
    ]
    return sorted(found, key=lambda d: d.time)


def raw_chain(repo: Repository) -> list[RawDeployment]:
    return production_deployments(repo) if repo.deployments else published_releases(repo)


def ancestors(repo: Repository, oid: str) -> set[str]:
    seen: set[str] = set()
    stack = [oid]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(repo.commits[current].parents)
    return seen


def first_shipping(repo: Repository) -> dict[str, datetime]:
    """Commit oid -> time of the first successful deployment whose commit reaches it."""
    shipped: dict[str, datetime] = {}
    for deployment in raw_chain(repo):
        for oid in ancestors(repo, deployment.sha):
            shipped.setdefault(oid, deployment.time)
    return shipped


def merged_pulls(world: World) -> list[PullRequest]:
    return [
        pr
        for repo in world.repositories.values()
        for pr in repo.pull_requests
        if pr.merged_at is not None
    ]


def main_commits(repo: Repository) -> set[str]:
    return ancestors(repo, repo.refs[f"heads/{repo.default_branch}"])


def all_timestamps(world: World) -> Iterator[datetime]:
    for repo in world.repositories.values():
        if repo.created_at is not None:
            yield repo.created_at
        for commit in repo.commits.values():
            yield commit.authored_at
            yield commit.committed_at
        for pr in repo.pull_requests:
            yield pr.created_at
            yield pr.updated_at
            yield from (t for t in (pr.closed_at, pr.merged_at) if t is not None)
            yield from pr.ready_for_review_at
            yield from (review.submitted_at for review in pr.reviews)
        for deployment in repo.deployments:
            yield deployment.created_at
            yield from (status.created_at for status in deployment.statuses)
        for release in repo.releases:
            yield release.created_at
            if release.published_at is not None:
                yield release.published_at
        for issue in repo.issues:
            yield issue.created_at
            yield issue.updated_at
            if issue.closed_at is not None:
                yield issue.closed_at
            for comment in issue.comments:
                yield comment.created_at
                yield comment.updated_at


def is_bot(world: World, login: str | None) -> bool:
    return login is not None and (login.endswith("[bot]") or world.users[login].type == "Bot")


def left_out_bot(world: World, login: str | None) -> bool:
    """A bot the figures leave out: every bot but the coding agent, whose work is measured."""
    return is_bot(world, login) and login != AGENT_LOGIN


def window(days: int) -> tuple[datetime, datetime]:
    until = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    return until - timedelta(days=days), until


# ---- determinism ----------------------------------------------------------------------------


def object_counts(dataset: GeneratedDataset) -> dict[str, tuple[int, ...]]:
    return {
        name: (
            len(repo.commits),
            len(repo.pull_requests),
            len(repo.issues),
            len(repo.deployments),
            len(repo.releases),
            sum(len(pr.reviews) for pr in repo.pull_requests),
        )
        for name, repo in dataset.world.repositories.items()
    }


def test_same_seed_and_now_give_the_same_dataset(demo: GeneratedDataset) -> None:
    again = generate_dataset(seed=7, now=NOW)
    assert again.truth == demo.truth
    assert object_counts(again) == object_counts(demo)
    assert again.world.repositories["acme/storefront"].refs == (
        demo.world.repositories["acme/storefront"].refs
    )
    since, until = window(30)
    repos = list(demo.world.repositories)
    assert again.truth.headline(repos, since, until) == demo.truth.headline(repos, since, until)


def test_another_seed_gives_another_dataset(demo: GeneratedDataset) -> None:
    other = generate_dataset(seed=8, now=NOW)
    assert object_counts(other) != object_counts(demo)


def test_now_defaults_to_the_current_time() -> None:
    before = datetime.now(UTC)
    dataset = generate_dataset(profile="tiny")
    assert before <= dataset.world.now <= datetime.now(UTC)
    assert dataset.world.now.tzinfo is not None


def test_rejects_unknown_profile_and_naive_now() -> None:
    with pytest.raises(ValueError, match="profile"):
        generate_dataset(profile="huge")
    with pytest.raises(ValueError, match="timezone"):
        generate_dataset(now=datetime(2025, 1, 1))


# ---- shape of the organisation --------------------------------------------------------------


def test_demo_organisation(demo: GeneratedDataset) -> None:
    world = demo.world
    assert world.now == NOW
    assert demo.home_repository == "acme/storefront"
    assert demo.workflow_login == "github-actions[bot]"
    assert set(world.repositories) == {
        "acme/storefront",
        "acme/payments",
        "acme/mobile-app",
        "acme/docs",
        "acme/legacy",
    }
    assert world.repositories["acme/legacy"].archived
    assert world.users[demo.workflow_login].type == "Bot"
    assert {"dependabot[bot]", "renovate[bot]"} <= {
        login for login, user in world.users.items() if user.type == "Bot"
    }
    humans = [u for u in world.users.values() if u.type == "User" and not u.deleted]
    assert len(humans) >= 10
    deleted = [u for u in world.users.values() if u.deleted]
    assert len(deleted) == 1
    authored = {pr.author for repo in world.repositories.values() for pr in repo.pull_requests} | {
        review.author
        for repo in world.repositories.values()
        for pr in repo.pull_requests
        for review in pr.reviews
    }
    assert deleted[0].login in authored
    assert all(login in world.users for login in authored if login is not None)


def test_each_repository_has_one_unambiguous_deployment_style(demo: GeneratedDataset) -> None:
    repos = demo.world.repositories
    storefront, payments = repos["acme/storefront"], repos["acme/payments"]
    mobile, docs = repos["acme/mobile-app"], repos["acme/docs"]
    for repo in (storefront, payments):
        assert production_deployments(repo)
        assert not repo.releases
        environments = {d.environment for d in repo.deployments}
        assert len({e.lower() for e in environments}) == 2  # production and staging
    assert "Production" in {d.environment for d in payments.deployments}
    assert not mobile.deployments
    assert published_releases(mobile)
    assert any(r.is_draft and r.published_at is None for r in mobile.releases)
    assert any(r.is_prerelease for r in mobile.releases)
    assert not docs.deployments
    assert not docs.releases
    since, until = window(30)
    assert demo.truth.headline(list(repos), since, until).source == {
        "acme/storefront": "deployments",
        "acme/payments": "deployments",
        "acme/mobile-app": "releases",
        "acme/docs": "merges",
        "acme/legacy": "merges",
    }


def test_demo_volume_is_realistic(demo: GeneratedDataset) -> None:
    storefront = demo.world.repositories["acme/storefront"]
    merged = [pr for pr in storefront.pull_requests if pr.merged_at and pr.base_ref == "main"]
    assert 400 <= len(merged) <= 900
    assert 120 <= len(production_deployments(storefront)) <= 300
    assert any(pr.state == "open" for pr in storefront.pull_requests)
    assert any(pr.state == "closed" and pr.merged_at is None for pr in storefront.pull_requests)
    assert any(pr.base_ref == "release/1.x" and pr.merged_at for pr in storefront.pull_requests)
    failed_attempts = [
        d
        for d in storefront.deployments
        if d.environment == "production" and all(s.state != "success" for s in d.statuses)
    ]
    assert failed_attempts
    assert all(
        s.state in {"failure", "error", "queued", "in_progress"}
        for d in failed_attempts
        for s in d.statuses
    )
    superseded = [
        d
        for d in storefront.deployments
        if d.environment == "production" and any(s.state == "inactive" for s in d.statuses)
    ]
    assert len(superseded) >= 100
    drafts = [pr for pr in merged if pr.ready_for_review_at]
    assert 0.08 <= len(drafts) / len(merged) <= 0.25
    assert {pr.merged_at for pr in merged}
    weekday_merges = Counter(pr.merged_at.weekday() < 5 for pr in merged if pr.merged_at)
    assert weekday_merges[True] > 4 * weekday_merges[False]


def test_tiny_profile_is_small(tiny: GeneratedDataset) -> None:
    assert list(tiny.world.repositories) == ["acme/storefront"]
    repo = tiny.world.repositories["acme/storefront"]
    assert 25 <= len(repo.pull_requests) <= 70
    created = min(pr.created_at for pr in repo.pull_requests)
    assert NOW - created <= timedelta(days=61)


# ---- structural invariants ------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["demo", "tiny"])
@pytest.mark.parametrize("seed", [1, 7, 42])
def test_structural_invariants(profile: str, seed: int) -> None:
    dataset = generate_dataset(seed=seed, now=NOW, profile=profile)
    world = dataset.world
    for moment in all_timestamps(world):
        assert moment.tzinfo is not None
        assert moment.microsecond == 0
        assert moment <= NOW

    for repo in world.repositories.values():
        on_main = main_commits(repo)
        for commit in repo.commits.values():
            assert all(parent in repo.commits for parent in commit.parents)
            assert commit.authored_at <= commit.committed_at
        for oid in on_main:
            commit = repo.commits[oid]
            for parent in commit.parents:
                if parent in on_main:
                    assert repo.commits[parent].committed_at <= commit.committed_at

        numbers = [pr.number for pr in repo.pull_requests] + [i.number for i in repo.issues]
        assert len(numbers) == len(set(numbers))
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        ids = [pr.id for pr in repo.pull_requests] + [i.id for i in repo.issues]
        assert len(ids) == len(set(ids))

        for pr in repo.pull_requests:
            check_pull_request(repo, pr, on_main)

        for deployment in repo.deployments:
            assert deployment.sha in on_main
            times = [s.created_at for s in deployment.statuses]
            assert times == sorted(times)
            assert deployment.created_at <= times[0]
        for release in repo.releases:
            assert release.tag_commit in on_main
            if release.published_at is not None:
                assert repo.refs[f"tags/{release.tag_name}"] == release.tag_commit

        used = {label for pr in repo.pull_requests for label in pr.labels}
        used |= {label for issue in repo.issues for label in issue.labels}
        assert used <= {label.name for label in repo.labels}

        chain = raw_chain(repo)
        shipped = first_shipping(repo)
        for pr in repo.pull_requests:
            if pr.merged_at is not None and pr.merge_commit in shipped:
                assert pr.created_at < pr.merged_at <= shipped[pr.merge_commit]
        assert [d.time for d in chain] == sorted({d.time for d in chain})


def check_pull_request(repo: Repository, pr: PullRequest, on_main: set[str]) -> None:
    assert 1 <= len(pr.commits) <= 30
    assert all(oid in repo.commits for oid in pr.commits)
    authored = [repo.commits[oid].authored_at for oid in pr.commits]
    assert min(authored) <= pr.created_at
    for ready in pr.ready_for_review_at:
        assert pr.created_at < ready
    if pr.merged_at is None:
        assert pr.merge_commit is None
        # Only direct pushes its branch took in are on main; it brought none of them.
        assert all(repo.commits[oid].associated_pr is None for oid in pr.commits if oid in on_main)
        return
    assert pr.state == "closed"
    assert pr.closed_at == pr.merged_at
    assert pr.created_at < pr.merged_at
    assert pr.merge_commit is not None
    assert not pr.is_draft
    assert all(ready < pr.merged_at for ready in pr.ready_for_review_at)
    merge_commit = repo.commits[pr.merge_commit]
    assert merge_commit.associated_pr == pr.number
    if pr.base_ref != repo.default_branch:
        assert pr.merge_commit not in on_main
        return
    assert pr.merge_commit in on_main
    if len(merge_commit.parents) == 2:
        # A merge commit: the pull request's own commits become part of main.
        assert all(oid in on_main for oid in pr.commits)
    else:
        assert not any(oid in on_main for oid in pr.commits)


def test_every_merge_method_and_direct_pushes_appear(demo: GeneratedDataset) -> None:
    repo = demo.world.repositories["acme/storefront"]
    on_main = main_commits(repo)
    merged = [pr for pr in repo.pull_requests if pr.merged_at and pr.base_ref == "main"]
    methods: Counter[str] = Counter()
    for pr in merged:
        assert pr.merge_commit is not None
        commit = repo.commits[pr.merge_commit]
        if len(commit.parents) == 2:
            methods["merge"] += 1
        elif sum(1 for c in on_main if repo.commits[c].associated_pr == pr.number) > 1:
            methods["rebase"] += 1
        else:
            methods["squash"] += 1
    assert methods["squash"] > methods["merge"] > 0
    assert methods["rebase"] > 0
    pushes = [oid for oid in on_main if repo.commits[oid].associated_pr is None]
    assert len(pushes) >= 5
    # Some direct pushes are a workflow's (a bot's change), and the truth knows them as such.
    by_bots = {oid for oid in pushes if is_bot(demo.world, repo.commits[oid].author)}
    assert by_bots
    ledger = {c.key: c for c in demo.truth.ledger("acme/storefront").changes}
    assert all(ledger[f"push:{oid}"].bot for oid in by_bots)


# ---- ground truth ---------------------------------------------------------------------------


def assert_sensible(truth: HeadlineTruth) -> None:
    assert truth.deployments > 0
    assert truth.deployment_frequency > 0
    assert truth.merged_prs > 0
    for rate in (truth.change_failure_rate, truth.rework_rate):
        assert rate is not None
        assert 0.0 <= rate <= 1.0
    for hours in (truth.lead_time_hours, truth.cycle_time_hours, truth.time_to_first_review_hours):
        assert hours is not None
        assert hours > 0


@pytest.mark.parametrize("days", WINDOWS)
def test_demo_truth_is_sensible(demo: GeneratedDataset, days: int) -> None:
    since, until = window(days)
    truth = demo.truth.headline(list(demo.world.repositories), since, until)
    assert_sensible(truth)
    assert 0.2 <= truth.deployment_frequency <= 3
    storefront = demo.truth.headline(["acme/storefront"], since, until)
    assert_sensible(storefront)
    assert 0.7 <= storefront.deployment_frequency <= 2.5


def test_demo_truth_has_failures_and_recoveries(demo: GeneratedDataset) -> None:
    since, until = window(90)
    truth = demo.truth.headline(["acme/storefront", "acme/payments"], since, until)
    assert truth.change_failure_rate is not None
    assert 0.05 <= truth.change_failure_rate <= 0.3
    assert truth.recovery_time_hours is not None
    assert truth.recovery_time_hours > 0


def test_tiny_truth_is_sensible(tiny: GeneratedDataset) -> None:
    since, until = window(30)
    truth = tiny.truth.headline(["acme/storefront"], since, until)
    assert_sensible(truth)
    assert truth.source == {"acme/storefront": "deployments"}


def test_headline_with_no_activity_is_empty_not_zero(demo: GeneratedDataset) -> None:
    since, until = window(30)
    truth = demo.truth.headline(["acme/legacy"], since, until)
    assert truth.deployment_frequency == 0.0
    assert truth.deployments == 0
    assert truth.merged_prs == 0
    assert truth.lead_time_hours is None
    assert truth.change_failure_rate is None
    assert truth.rework_rate is None
    assert truth.cycle_time_hours is None


def test_several_repositories_take_the_median_of_rates(demo: GeneratedDataset) -> None:
    since, until = window(30)
    names = ["acme/storefront", "acme/payments", "acme/docs"]
    each = [demo.truth.headline([name], since, until) for name in names]
    together = demo.truth.headline(names, since, until)
    frequencies = sorted(t.deployment_frequency for t in each)
    assert together.deployment_frequency == pytest.approx(frequencies[1])
    assert together.merged_prs == sum(t.merged_prs for t in each)
    assert together.deployments == sum(t.deployments for t in each)


@pytest.mark.parametrize("days", WINDOWS)
def test_deployment_counts_match_the_world(demo: GeneratedDataset, days: int) -> None:
    since, until = window(days)
    world = demo.world
    for name in ("acme/storefront", "acme/payments", "acme/mobile-app"):
        expected = sum(1 for d in raw_chain(world.repositories[name]) if since <= d.time < until)
        assert demo.truth.headline([name], since, until).deployments == expected
    docs = world.repositories["acme/docs"]
    merges = [
        pr
        for pr in docs.pull_requests
        if pr.merged_at and pr.base_ref == "main" and since <= pr.merged_at < until
    ]
    docs_truth = demo.truth.headline(["acme/docs"], since, until)
    assert docs_truth.deployments == len(merges)  # bots' merges deploy too
    assert docs_truth.merged_prs == sum(1 for pr in merges if not left_out_bot(world, pr.author))


def test_ledger_deployments_match_the_world(demo: GeneratedDataset, tiny: GeneratedDataset) -> None:
    for dataset in (demo, tiny):
        for name, repo in dataset.world.repositories.items():
            ledger = dataset.truth.ledger(name)
            if ledger.style == "merges":
                continue
            chain = raw_chain(repo)
            assert [(d.time, d.sha) for d in chain] == [(d.time, d.sha) for d in ledger.deployments]


def test_changes_lead_times_match_the_world(demo: GeneratedDataset, tiny: GeneratedDataset) -> None:
    for dataset in (demo, tiny):
        for name, repo in dataset.world.repositories.items():
            ledger = dataset.truth.ledger(name)
            shipped = first_shipping(repo)
            pulls = {pr.number: pr for pr in repo.pull_requests}
            for change in ledger.changes:
                if change.pull_request is not None:
                    pr = pulls[change.pull_request]
                    assert pr.merged_at == change.merged_at
                    assert pr.merge_commit is not None
                    earliest = min(repo.commits[oid].authored_at for oid in pr.commits)
                    tip = pr.merge_commit
                    assert left_out_bot(dataset.world, pr.author) == change.bot
                else:
                    oid = change.key.removeprefix("push:")
                    earliest = repo.commits[oid].authored_at
                    tip = oid
                assert earliest == change.first_authored_at
                if ledger.style == "merges":
                    assert change.deployed_at == change.merged_at
                else:
                    assert shipped.get(tip) == change.deployed_at


def test_an_open_pull_request_holds_direct_pushes(demo: GeneratedDataset) -> None:
    # The trap for "associatedPullRequests' first entry": GitHub names the open pull request
    # first for these pushes, which remain direct pushes.
    held = [
        oid
        for repo in demo.world.repositories.values()
        for pr in repo.pull_requests
        if pr.merged_at is None
        for oid in pr.commits
        if oid in main_commits(repo) and repo.commits[oid].associated_pr is None
    ]
    assert held


def test_some_pull_requests_list_their_earliest_commit_later(demo: GeneratedDataset) -> None:
    # The trap for "the first commit is the earliest": lead time starts at the earliest
    # authored of all a change's commits.
    later = [
        pr
        for repo in demo.world.repositories.values()
        for pr in repo.pull_requests
        if pr.merged_at is not None
        and repo.commits[pr.commits[0]].authored_at
        > min(repo.commits[oid].authored_at for oid in pr.commits)
    ]
    assert later


def test_first_reviews_match_the_world(demo: GeneratedDataset) -> None:
    world = demo.world
    for name, repo in world.repositories.items():
        ledger = {p.number: p for p in demo.truth.ledger(name).pulls}
        for pr in repo.pull_requests:
            record = ledger[pr.number]
            ready = pr.ready_for_review_at[-1] if pr.ready_for_review_at else pr.created_at
            assert record.ready_at == ready
            if pr.merged_at is None:
                continue
            qualifying = [
                r.submitted_at
                for r in pr.reviews
                if r.submitted_at > ready and r.author != pr.author and not is_bot(world, r.author)
            ]
            assert record.first_review_at == (min(qualifying) if qualifying else None)


def test_first_responses_match_the_world(demo: GeneratedDataset) -> None:
    world = demo.world
    for name, repo in world.repositories.items():
        ledger = {p.number: p for p in demo.truth.ledger(name).pulls}
        for pr in repo.pull_requests:
            if pr.merged_at is None or left_out_bot(world, pr.author):
                continue
            ready = pr.ready_for_review_at[-1] if pr.ready_for_review_at else pr.created_at
            said = [(r.author, r.submitted_at) for r in pr.reviews]
            said += [(c.author, c.created_at) for c in pr.comments]
            qualifying = [
                at
                for author, at in said
                if at >= ready and author != pr.author and not is_bot(world, author)
            ]
            assert ledger[pr.number].first_response_at == (min(qualifying) if qualifying else None)


def test_traps_for_response_figures_exist(demo: GeneratedDataset) -> None:
    world = demo.world
    merged = merged_pulls(world)

    def first_review(pr: PullRequest) -> datetime:
        ready = pr.ready_for_review_at[-1] if pr.ready_for_review_at else pr.created_at
        human = [
            r.submitted_at
            for r in pr.reviews
            if r.submitted_at > ready and r.author != pr.author and not is_bot(world, r.author)
        ]
        return min(human, default=pr.merged_at or pr.created_at)

    answered_before_review = [
        pr
        for pr in merged
        if any(
            c.author != pr.author
            and not is_bot(world, c.author)
            and c.created_at < first_review(pr)
            for c in pr.comments
        )
    ]
    ai_reviewed_first = [
        pr
        for pr in merged
        if any(
            r.author == AI_REVIEWER_LOGIN and r.submitted_at < first_review(pr) for r in pr.reviews
        )
    ]
    own_comments = [pr for pr in merged if any(c.author == pr.author for c in pr.comments)]
    bot_comments = [pr for pr in merged if any(is_bot(world, c.author) for c in pr.comments)]
    for found in (answered_before_review, ai_reviewed_first, own_comments, bot_comments):
        assert found


def test_traps_for_review_figures_exist(demo: GeneratedDataset) -> None:
    world = demo.world
    merged = merged_pulls(world)
    self_reviews = [pr for pr in merged if any(r.author == pr.author for r in pr.reviews)]
    bot_reviews = [pr for pr in merged if any(is_bot(world, r.author) for r in pr.reviews)]
    draft_reviews = [
        pr
        for pr in merged
        if pr.ready_for_review_at
        and any(r.submitted_at < pr.ready_for_review_at[-1] for r in pr.reviews)
    ]
    twice_ready = [pr for pr in merged if len(pr.ready_for_review_at) == 2]
    for found in (self_reviews, bot_reviews, draft_reviews, twice_ready):
        assert found
    long_running = [
        pr
        for pr in merged
        if pr.merged_at is not None and pr.merged_at - pr.created_at > timedelta(days=7)
    ]
    assert long_running


# ---- failure triggers are exclusive ---------------------------------------------------------


def incident_link(chain: list[RawDeployment], opened: datetime) -> int | None:
    """Index of the deployment an incident fails by the rule, from the raw chain."""
    before = [n for n, d in enumerate(chain) if d.time < opened]
    if not before:
        return None
    n = before[-1]
    following = chain[n + 1].time if n + 1 < len(chain) else None
    if opened - chain[n].time >= timedelta(days=7):
        return None
    if following is not None and opened >= following:
        return None
    return n


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_incidents_link_exactly_where_the_ledger_says(seed: int) -> None:
    dataset = generate_dataset(seed=seed, now=NOW)
    unlinked = 0
    for name, repo in dataset.world.repositories.items():
        ledger = dataset.truth.ledger(name)
        chain = raw_chain(repo)
        records = {i.number: i for i in ledger.incidents}
        incidents = [i for i in repo.issues if "incident" in i.labels]
        assert sorted(records) == sorted(i.number for i in incidents)
        for issue in incidents:
            record = records[issue.number]
            assert record.opened_at == issue.created_at
            assert record.closed_at == issue.closed_at
            link = incident_link(chain, issue.created_at)
            assert link == record.deployment_index
            if link is None:
                unlinked += 1
            else:
                deployment = ledger.deployments[link]
                assert deployment.fate == "incident"
                assert deployment.incident == issue.number
        failed_by_incident = [d for d in ledger.deployments if d.fate == "incident"]
        assert len(failed_by_incident) == sum(
            1 for i in ledger.incidents if i.deployment_index is not None
        )
    assert unlinked >= 1
    storefront = dataset.world.repositories["acme/storefront"]
    assert any(i.state == "open" and "incident" in i.labels for i in storefront.issues)
    assert any(len(i.labels) > 1 and "incident" in i.labels for i in storefront.issues)


def shipped_by(repo: Repository, chain: list[RawDeployment]) -> list[set[int]]:
    """Pull request numbers each deployment ships (commits new since the previous one)."""
    result: list[set[int]] = []
    previous: set[str] = set()
    for deployment in chain:
        reachable = ancestors(repo, deployment.sha)
        new = reachable - previous
        result.append({n for oid in new if (n := repo.commits[oid].associated_pr) is not None})
        previous = reachable
    return result


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_reverts_hotfixes_and_rollbacks_sit_only_where_intended(seed: int) -> None:
    dataset = generate_dataset(seed=seed, now=NOW)
    seen: Counter[str] = Counter()
    for name, repo in dataset.world.repositories.items():
        ledger = dataset.truth.ledger(name)
        if ledger.style == "merges":
            assert not any("hotfix" in pr.labels for pr in repo.pull_requests)
            assert not any(pr.title.startswith('Revert "') for pr in repo.pull_requests)
            continue
        chain = raw_chain(repo)
        ships = shipped_by(repo, chain)
        first_ship: dict[int, int] = {}
        for n, numbers in enumerate(ships):
            for number in numbers:
                first_ship.setdefault(number, n)
        pulls = {pr.number: pr for pr in repo.pull_requests}
        deployments = ledger.deployments

        for pr in repo.pull_requests:
            if "hotfix" in pr.labels:
                seen["hotfix"] += 1
                n = first_ship[pr.number]
                assert deployments[n - 1].fate == "hotfix"
                assert deployments[n - 1].recovered_by == n
                assert deployments[n].rework == "hotfix"
            match = REVERT_BODY.match(pr.body)
            assert pr.title.startswith('Revert "') == (match is not None)
            if match is None:
                continue
            assert match["repo"] == name
            target = pulls[int(match["number"])]
            assert pr.title == f'Revert "{target.title}"'
            assert pr.merged_at is not None
            n, m = first_ship[target.number], first_ship[pr.number]
            if n == m:
                seen["same-deployment revert"] += 1
                assert deployments[n].fate == "ok"
                assert deployments[n].rework == "revert-same-deployment"
            else:
                seen["revert"] += 1
                assert deployments[n].fate == "revert"
                assert deployments[n].recovered_by == m
                assert deployments[m].rework == "revert"

        for n, deployment in enumerate(deployments):
            rolled_back = n > 0 and chain[n].sha in ancestors(repo, chain[n - 1].sha)
            assert rolled_back == deployment.is_rollback
            if rolled_back:
                seen["rollback"] += 1
                assert ships[n] == set()
                assert chain[n].sha == chain[n - 2].sha
                assert deployments[n - 1].fate == "rollback"
                assert deployments[n - 1].recovered_by == n
                assert deployments[n].rework == "rollback"
            if deployment.fate in {"revert", "hotfix", "rollback"}:
                assert deployment.recovered_by == n + 1
                assert deployment.recovery_hours == pytest.approx(
                    (chain[n + 1].time - chain[n].time).total_seconds() / 3600
                )
            if deployment.fate == "hotfix":
                assert any("hotfix" in pulls[p].labels for p in ships[n + 1])
            if deployment.rework is None:
                assert not any(
                    "hotfix" in pulls[p].labels or pulls[p].title.startswith('Revert "')
                    for p in ships[n]
                    if first_ship[p] == n
                )
    assert seen["hotfix"] >= 2
    assert seen["revert"] >= 1
    assert seen["rollback"] >= 2
    assert seen["same-deployment revert"] == 1


def test_rolled_back_changes_keep_their_first_deployment(demo: GeneratedDataset) -> None:
    for name in ("acme/storefront", "acme/payments"):
        ledger = demo.truth.ledger(name)
        for n, deployment in enumerate(ledger.deployments):
            if not deployment.is_rollback:
                continue
            reship = ledger.deployments[n + 1]
            failed = ledger.deployments[n - 1]
            assert reship.fate == "ok"
            assert failed.changes
            for change in ledger.changes:
                if change.key in failed.changes:
                    assert change.deployed_at == failed.time
