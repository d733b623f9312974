"""The action end to end on two real repositories' recorded histories, checked against an
independent reference computed here straight from ``git rev-list`` ranges over the recorded
commit graph, following SPEC §5 ("What a deployment ships", "DORA").

The recordings are other projects' data, so they are not in this repository: they are kept in
``../shared/real-histories/`` beside the clone (or in the folder named by
``GHACTION_METRICS_REAL_HISTORIES``), and without them these tests skip. From bare clones of
https://github.com/pallets/flask and https://github.com/encode/httpx::

    scripts/record-history flask.git pallets/flask --branch main --branch stable \
        --branch 2.3.x --branch 2.2.x --since 2023-01-01 \
        --out ../shared/real-histories/pallets-flask.json.gz
    scripts/record-history httpx.git encode/httpx --branch master --since 2022-06-01 \
        --out ../shared/real-histories/encode-httpx.json.gz

(Flask's finished maintenance lines 2.2.x and 2.3.x are tags now; they are named so that the
pull requests merged into them are recognised.) The windows below end before both recordings
did, so a later recording gives the same figures unless the projects rewrite their history.

Deployments are the repositories' release tags (``tags:<glob>``): both projects publish by
tagging, neither uses GitHub deployments, and tags are the only deployment record git keeps.
Each repository is also measured with ``merges`` (every pull request merged into the default
branch is a deployment), which ships far smaller ranges and so tests the chaining, the revert
links and the lead times at a much finer grain. Every base branch counts (``base-branches:
*``): Flask merges pull requests into its maintenance lines too.
"""

from __future__ import annotations

import fnmatch
import gzip
import json
import os
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from emulator_contracts import rest_contract_problems

from ghaction_metrics_dev.dataset.real import WORKFLOW_LOGIN, RealHistory, build_world
from ghaction_metrics_dev.emulator.harness import (
    ActionRun,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "real-histories"
ENV = "GHACTION_METRICS_REAL_HISTORIES"
HEADLINE = (
    "deployment-frequency",
    "lead-time-hours",
    "change-failure-rate",
    "recovery-time-hours",
    "rework-rate",
    "cycle-time-hours",
    "merged-prs",
    "dora-level",
)


@dataclass(frozen=True)
class Case:
    fixture: str  # file name in the real-histories folder
    first_day: str
    last_day: str  # inclusive, as the window input takes it
    source: str  # tags:<glob> or merges

    @property
    def window(self) -> str:
        return f"{self.first_day}..{self.last_day}"

    @property
    def since(self) -> datetime:
        return datetime.fromisoformat(self.first_day).replace(tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.fromisoformat(self.last_day).replace(tzinfo=UTC) + timedelta(days=1)


# Release tags are X.Y.Z; the glob leaves out Flask's "2.2.x"-style tags of finished
# maintenance lines (old branch tips, not releases).
RELEASES = "tags:[0-9]*.[0-9]*.[0-9]*"
CASES = {
    "pallets-flask": Case("pallets-flask.json.gz", "2023-09-01", "2025-12-31", RELEASES),
    "encode-httpx": Case("encode-httpx.json.gz", "2023-01-01", "2024-12-31", RELEASES),
    "pallets-flask-merges": Case("pallets-flask.json.gz", "2024-01-01", "2024-12-31", "merges"),
    "encode-httpx-merges": Case("encode-httpx.json.gz", "2024-01-01", "2024-06-30", "merges"),
}


def _fixture_path(name: str) -> Path | None:
    folders = [Path(os.environ[ENV])] if os.environ.get(ENV) else []
    for folder in [*folders, SHARED]:
        if (folder / name).is_file():
            return folder / name
    return None


# ---- the independent reference: rev-list ranges over the recorded graph -------------------


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


@dataclass(frozen=True)
class Deploy:
    tag: str
    commit: str
    at: datetime


class Reference:
    """SPEC §5's figures for one recorded repository, from its commit graph alone."""

    def __init__(self, document: dict[str, Any], case: Case) -> None:
        self.doc = document
        self.case = case
        self.parents: dict[str, list[str]] = {}
        self.authored: dict[str, datetime] = {}
        self.committed: dict[str, datetime] = {}
        self.message: dict[str, str] = {}
        self.author_email: dict[str, str] = {}
        for sha, parents, author, committer, message in document["commits"]:
            self.parents[sha] = parents
            self.authored[sha] = _time(author[2])
            self.committed[sha] = _time(committer[2])
            self.message[sha] = message
            self.author_email[sha] = author[1]
        self.pulls = {p["number"]: p for p in document["pulls"]}

    # -- git rev-list ------------------------------------------------------------------------

    def rev_list(self, include: Iterable[str], exclude: Iterable[str] = ()) -> set[str]:
        """``git rev-list INCLUDE ^EXCLUDE`` over the recorded commits."""
        return self._reachable(include) - self._reachable(exclude)

    def _reachable(self, starts: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        pending = [s for s in starts if s in self.parents]
        while pending:
            sha = pending.pop()
            if sha in seen:
                continue
            seen.add(sha)
            pending.extend(p for p in self.parents[sha] if p in self.parents)
        return seen

    # -- deployments ---------------------------------------------------------------------------

    @cached_property
    def deploys(self) -> list[Deploy]:
        """Every deployment, in time order (a failure shows after the window too)."""
        if self.case.source == "merges":
            default = self.doc["default_branch"]
            merges = [
                Deploy(f"#{p['number']}", p["merge_commit"], self.committed[p["merge_commit"]])
                for p in self.pulls.values()
                if p["base"] == default
            ]
            return sorted(merges, key=lambda d: (d.at, d.tag))
        return self.tags()

    def tags(self) -> list[Deploy]:
        """Matching tags in time order; a tag of an already deployed commit adds nothing."""
        glob = self.case.source.removeprefix("tags:")
        tags = [
            Deploy(
                t["name"],
                t["commit"],
                _time(t["tagger_date"]) if t["tagger_date"] else self.committed[t["commit"]],
            )
            for t in self.doc["tags"]
            if fnmatch.fnmatchcase(t["name"], glob)
        ]
        tags.sort(key=lambda d: (d.at, d.tag))
        out: list[Deploy] = []
        for d in tags:
            if d.commit not in {e.commit for e in out}:
                out.append(d)
        return out

    @cached_property
    def chain(self) -> list[Deploy]:
        """The window's deployments and every later one."""
        return [d for d in self.deploys if d.at >= self.case.since]

    @cached_property
    def window(self) -> list[Deploy]:
        """The window's deployments: the first entries of ``chain``."""
        return [d for d in self.chain if d.at < self.case.until]

    @cached_property
    def baseline(self) -> Deploy | None:
        before = [d for d in self.deploys if d.at < self.case.since]
        return before[-1] if before else None

    @cached_property
    def shipped(self) -> list[set[str]]:
        """What each deployment of ``chain`` ships: ``rev-list D ^baseline ^every-earlier-D``."""
        excluded = [self.baseline.commit] if self.baseline else []
        out: list[set[str]] = []
        for d in self.chain:
            out.append(self.rev_list([d.commit], excluded))
            excluded.append(d.commit)
        return out

    # -- changes -------------------------------------------------------------------------------

    @cached_property
    def owner(self) -> dict[str, str]:
        """Commit → change key: the pull request whose merge commit it is, else the earliest
        merged pull request holding it, else the commit itself on the default branch."""
        owner: dict[str, str] = {}
        on_default = self._reachable([self.doc["branches"][self.doc["default_branch"]]])
        for sha in on_default:
            owner[sha] = f"commit:{sha}"
        by_merge = sorted(self.pulls.values(), key=lambda p: self.committed[p["merge_commit"]])
        for pull in reversed(by_merge):
            for sha in pull["commits"]:
                owner[sha] = f"pull:{pull['number']}"
        for pull in by_merge:
            owner[pull["merge_commit"]] = f"pull:{pull['number']}"
        return owner

    def commits_of(self, change: str) -> list[str]:
        kind, _, key = change.partition(":")
        if kind == "commit":
            return [key]
        pull = self.pulls[int(key)]
        return [pull["merge_commit"], *pull["commits"]]

    @cached_property
    def first_shipper(self) -> dict[str, int]:
        """Change → index in ``chain`` of the deployment that ships it: the first whose range holds
        the change's link to the branch (a pull request's merge commit, or the commit itself).
        A pull request's own commits shipped before its merge (a release tagged on the
        release pull request's branch, then merged) do not ship it."""
        first: dict[str, int] = {}
        for index, shipped in enumerate(self.shipped):
            for sha in shipped:
                change = self.owner.get(sha)
                if change is not None and self.commits_of(change)[0] == sha:
                    first.setdefault(change, index)
        return first

    def by_bot(self, change: str) -> bool:
        """include-bots is false: a bot's change is left out of the lead time too."""
        kind, _, key = change.partition(":")
        if kind == "pull":
            return _bot_pull(self.pulls[int(key)], self.doc["repository"])
        return "[bot]" in self.author_email[key]

    def lead_times(self) -> list[float]:
        out = []
        for change, index in self.first_shipper.items():
            if index >= len(self.window) or self.by_bot(change):
                continue
            earliest = min(self.authored[s] for s in self.commits_of(change))
            hours = _hours(self.window[index].at - earliest)
            if hours >= 0:
                out.append(hours)
        return out

    # -- reverts, failures, rework ---------------------------------------------------------

    def title_and_body(self, change: str) -> tuple[str, str]:
        """A pull request's title and description; a direct commit's subject and body."""
        kind, _, key = change.partition(":")
        if kind == "pull":
            pull = self.pulls[int(key)]
            return pull["title"], pull["body"]
        subject, _, body = self.message[key].partition("\n")
        return subject, body

    def revert_targets(self, change: str) -> list[str] | None:
        """The changes ``change`` reverts (none when its target is unknown); None when it is
        no revert."""
        title, body = self.title_and_body(change)
        shas = re.findall(r"This reverts commit ([0-9a-f]{7,40})", body)
        repository = re.escape(self.doc["repository"])
        numbers = [int(m) for m in re.findall(rf"Reverts {repository}#(\d+)", body)]
        quoted = re.fullmatch(r'Revert "(.*)"', title)
        if not shas and not numbers and not quoted:
            return None
        targets: list[str] = []
        for prefix in shas:
            found = [s for s in self.parents if s.startswith(prefix)]
            if len(found) == 1 and found[0] in self.owner:
                targets.append(self.owner[found[0]])
        targets += [f"pull:{n}" for n in numbers if n in self.pulls]
        if quoted:
            merged = self.committed[self.commits_of(change)[0]]
            same = [
                p
                for p in self.pulls.values()
                if p["title"] == quoted.group(1) and self.committed[p["merge_commit"]] < merged
            ]
            if same:
                latest = max(same, key=lambda p: self.committed[p["merge_commit"]])
                targets.append(f"pull:{latest['number']}")
        return targets

    @cached_property
    def failures(self) -> tuple[dict[int, float | None], set[int]]:
        """(failed window deployment → recovery hours or None, deployments shipping rework)."""
        recovered: dict[int, datetime | None] = {}
        rework: set[int] = set()
        in_window = range(len(self.window))
        for change, by in self.first_shipper.items():
            targets = self.revert_targets(change)
            if targets is None:
                continue
            if by in in_window:
                rework.add(by)
            for target in targets:
                failed = self.first_shipper.get(target)
                if failed is not None and failed < by and failed in in_window:
                    at = self.chain[by].at
                    known = recovered.get(failed)
                    recovered[failed] = at if known is None else min(known, at)
        for index in range(1, len(self.chain)):
            previous, current = self.chain[index - 1], self.chain[index]
            # A rollback: the next deployment's commit is an ancestor of the previous one's.
            if current.commit in self._reachable([previous.commit]) and index - 1 in in_window:
                if index in in_window:
                    rework.add(index)
                known = recovered.get(index - 1)
                recovered[index - 1] = current.at if known is None else min(known, current.at)
        hours = {
            i: None if at is None else _hours(at - self.window[i].at) for i, at in recovered.items()
        }
        return hours, rework

    # -- pull requests -----------------------------------------------------------------------

    def merged_pulls(self) -> list[dict[str, Any]]:
        """Pull requests merged in the window by people (bots are left out by default)."""
        out = []
        for pull in self.pulls.values():
            merged = self.committed[pull["merge_commit"]]
            if self.case.since <= merged < self.case.until and not _bot_pull(
                pull, self.doc["repository"]
            ):
                out.append(pull)
        return out

    def cycle_times(self) -> list[float]:
        out = []
        for pull in self.merged_pulls():
            own = pull["commits"] or [pull["merge_commit"]]
            created = min(self.authored[s] for s in own)
            out.append(_hours(self.committed[pull["merge_commit"]] - created))
        return out

    # -- headline ----------------------------------------------------------------------------

    def headline(self) -> dict[str, str]:
        days = (self.case.until - self.case.since).days
        deployments = len(self.window)
        failed, rework = self.failures
        recoveries = [h for h in failed.values() if h is not None]
        lead = self.lead_times()
        cycle = self.cycle_times()
        frequency = deployments / days
        cfr = len(failed) / deployments if deployments else None
        levels = [
            _level(frequency, deployments, [1, 1 / 7, 1 / 30], higher_is_better=True),
            _level(_median(lead), len(lead), [24, 24 * 7, 24 * 30]),
            _level(cfr, deployments, [0.05, 0.10, 0.15], inclusive=True),
            _level(_median(recoveries), len(recoveries), [1, 24, 24 * 7]),
        ]
        ranked = [lv for lv in levels if lv is not None]
        order = ["low", "medium", "high", "elite"]
        return {
            "deployment-frequency": _figure(frequency),
            "lead-time-hours": _figure(_median(lead)),
            "change-failure-rate": _figure(cfr),
            "recovery-time-hours": _figure(_median(recoveries)),
            "rework-rate": _figure(len(rework) / deployments if deployments else None),
            "cycle-time-hours": _figure(_median(cycle)),
            "merged-prs": _figure(len(self.merged_pulls())),
            "dora-level": min(ranked, key=order.index) if ranked else "",
        }


def _bot_pull(pull: dict[str, Any], repository: str) -> bool:
    """Opened by a bot: a pull request from a fork is its owner's, else its first author's."""
    fork = (pull["head"] or "").partition("/")[0]
    if fork and fork.lower() != repository.split("/")[0].lower():
        return fork.endswith("[bot]")
    name, email = pull["author"]
    return "[bot]" in email or name.endswith("[bot]")


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _figure(value: float | None) -> str:
    """SPEC §4: four decimals, trailing zeros dropped; no data is the empty string."""
    if value is None:
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _level(
    value: float | None,
    n: int,
    bounds: list[float],
    *,
    higher_is_better: bool = False,
    inclusive: bool = False,
) -> str | None:
    if value is None or n < 3:
        return None
    names = ["elite", "high", "medium"]
    for name, bound in zip(names, bounds, strict=True):
        if higher_is_better and value >= bound:
            return name
        if not higher_is_better and (value <= bound if inclusive else value < bound):
            return name
    return "low"


# ---- the action, end to end ------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    run: ActionRun
    reference: Reference
    contract_problems: list[str]  # REST answers the emulator served that GitHub would not


_RUNS: dict[str, Outcome] = {}


def _outcome(name: str, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    if name in _RUNS:
        return _RUNS[name]
    case = CASES[name]
    path = _fixture_path(case.fixture)
    if path is None:
        pytest.skip(
            f"{case.fixture} is not in {SHARED} (nor in ${ENV}); make it with "
            "scripts/record-history (see this module's docstring)"
        )
    history = RealHistory.load(path)
    world = build_world(history, now=case.until + timedelta(days=30))
    with EmulatorServer(world, workflow_tokens(WORKFLOW_LOGIN)) as server:
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=history.repository,
            workspace=tmp_path_factory.mktemp(name) / "workspace",
            overrides={
                "window": case.window,
                "compare-to": "none",
                "deployment-source": case.source,
                "base-branches": "*",
                "publish": "summary",
                "backfill": "0",
            },
        )
        run = run_action(env)
    problems = rest_contract_problems([r for r in server.requests if r.kind == "rest"])
    document: dict[str, Any] = json.loads(gzip.decompress(path.read_bytes()))
    _RUNS[name] = Outcome(run, Reference(document, case), problems)
    return _RUNS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_action_runs_on_a_real_history(
    name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outcome = _outcome(name, tmp_path_factory)
    run = outcome.run
    assert run.returncode == 0, run.stdout + run.stderr
    assert outcome.contract_problems == []
    assert "## Engineering metrics" in run.summary
    assert run.outputs["partial"] == "false"


# Outputs the action gets wrong on a recording, each waiting for a named fix; strict, so the
# test says so the day the fix lands.
WAITING: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize(
    ("name", "output"),
    [
        pytest.param(
            name,
            output,
            marks=[pytest.mark.xfail(strict=True, reason=WAITING[name, output])]
            if (name, output) in WAITING
            else [],
        )
        for name in sorted(CASES)
        for output in HEADLINE
    ],
)
def test_headline_output_equals_the_reference(
    name: str, output: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outcome = _outcome(name, tmp_path_factory)
    expected = outcome.reference.headline()[output]
    assert outcome.run.outputs[output] == expected, (name, output)
