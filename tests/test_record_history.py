"""``scripts/record-history`` on a small repository made here with git, and its fixture loaded
into an emulator world: how pull requests are reconstructed from merge and squash commits.

The repository (dates in 2024, UTC; ``since`` is 2024-01-01):

- c0 "Initial import" committed 2023-12-01: older than the recording, left out;
- c1 "Start" on main (01-01); branch ``feat``: f1 "Add x" (01-02), merged into main by
  "Merge pull request #2 from someone/feat" (01-03), tagged ``v1.0`` (annotated, 01-03 12:00);
- s3 "Fix y (#3)", a squash on main (01-04) whose body reverts f1 and names a co-author;
- branch ``dep``: d1 by dependabot (01-05), merged by "Bump z (#4)" (01-06), GitHub's
  pull-request-title merge message; tagged ``v1.1`` (lightweight);
- branch ``1.x`` from c1: b5 "Backport (#5)" (01-07), then the branch is replaced by a tag.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ghaction_metrics_dev.dataset.real import RealHistory, build_world, login_of
from ghaction_metrics_dev.dataset.record import main

BOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
ALICE = ("Alice Example", "alice@example.com")


def _git(
    work: Path, *args: str, when: str = "2024-01-01T10:00:00Z", who: tuple[str, str] = ALICE
) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "GIT_AUTHOR_NAME": who[0],
        "GIT_AUTHOR_EMAIL": who[1],
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_NAME": "GitHub",
        "GIT_COMMITTER_EMAIL": "noreply@github.com",
        "GIT_COMMITTER_DATE": when,
    }
    done = subprocess.run(
        ["git", "-C", str(work), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _commit(work: Path, message: str, when: str, who: tuple[str, str] = ALICE) -> str:
    _git(work, "commit", "-q", "--allow-empty", "-m", message, when=when, who=who)
    return _git(work, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("repo")
    _git(work, "init", "-q", "-b", "main")
    shas = {"c0": _commit(work, "Initial import", "2023-12-01T10:00:00Z")}
    shas["c1"] = _commit(work, "Start", "2024-01-01T10:00:00Z")
    _git(work, "checkout", "-q", "-b", "feat")
    shas["f1"] = _commit(work, "Add x", "2024-01-02T10:00:00Z")
    _git(work, "checkout", "-q", "main")
    merge = "Merge pull request #2 from someone/feat\n\nAdd the x"
    _git(work, "merge", "-q", "--no-ff", "-m", merge, "feat", when="2024-01-03T10:00:00Z")
    shas["m2"] = _git(work, "rev-parse", "HEAD")
    _git(work, "tag", "-a", "-m", "v1.0", "v1.0", when="2024-01-03T12:00:00Z")
    squash = (
        f"Fix y (#3)\n\nThis reverts commit {shas['f1']}.\nSome prose.\n\nCo-authored-by: B <b@x>"
    )
    shas["s3"] = _commit(work, squash, "2024-01-04T10:00:00Z")
    _git(work, "checkout", "-q", "-b", "dep")
    shas["d1"] = _commit(work, "Bump z", "2024-01-05T10:00:00Z", who=BOT)
    _git(work, "checkout", "-q", "main")
    _git(work, "merge", "-q", "--no-ff", "-m", "Bump z (#4)", "dep", when="2024-01-06T10:00:00Z")
    shas["m4"] = _git(work, "rev-parse", "HEAD")
    _git(work, "tag", "v1.1")
    _git(work, "checkout", "-q", "-b", "1.x", shas["c1"])
    shas["b5"] = _commit(work, "Backport (#5)", "2024-01-07T10:00:00Z")
    _git(work, "checkout", "-q", "main")
    _git(work, "tag", "1.x", "1.x")
    _git(work, "branch", "-q", "-D", "1.x", "feat", "dep")
    bare = tmp_path_factory.mktemp("bare") / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    out = tmp_path_factory.mktemp("out") / "acme-app.json.gz"
    args = [str(bare), "acme/app", "--branch", "main", "--branch", "1.x"]
    assert main([*args, "--since", "2024-01-01", "--out", str(out)]) == 0
    first = out.read_bytes()
    assert main([*args, "--since", "2024-01-01", "--out", str(out)]) == 0
    assert out.read_bytes() == first  # the same history always gives the same bytes
    document: dict[str, Any] = json.loads(gzip.decompress(first))
    return {"document": document, "shas": shas, "path": out}


def test_the_slice_starts_at_since_and_keeps_real_parents(recorded: dict[str, Any]) -> None:
    doc, shas = recorded["document"], recorded["shas"]
    commits = {c[0]: c for c in doc["commits"]}
    assert shas["c0"] not in commits
    assert set(commits) == {shas[k] for k in ("c1", "f1", "m2", "s3", "d1", "m4", "b5")}
    assert commits[shas["c1"]][1] == [shas["c0"]]  # the real parent, outside the slice
    assert commits[shas["m2"]][1] == [shas["c1"], shas["f1"]]
    assert commits[shas["d1"]][2] == [*BOT, "2024-01-05T10:00:00+00:00"]
    # Only the lines the action reads stay in a message.
    assert commits[shas["s3"]][4] == (
        f"Fix y (#3)\n\nThis reverts commit {shas['f1']}.\nCo-authored-by: B <b@x>"
    )
    assert commits[shas["m2"]][4] == "Merge pull request #2 from someone/feat\n\nAdd the x"
    assert doc["branches"] == {"main": shas["m4"], "1.x": shas["b5"]}


def test_pull_requests_from_merge_and_squash_commits(recorded: dict[str, Any]) -> None:
    doc, shas = recorded["document"], recorded["shas"]
    pulls = {p["number"]: p for p in doc["pulls"]}
    assert sorted(pulls) == [2, 3, 4, 5]
    two, three, four, five = (pulls[n] for n in (2, 3, 4, 5))
    assert (two["method"], two["title"], two["head"], two["base"]) == (
        "merge",
        "Add the x",
        "someone/feat",
        "main",
    )
    assert (two["merge_commit"], two["commits"], two["body"]) == (shas["m2"], [shas["f1"]], "")
    assert (three["method"], three["title"], three["commits"]) == ("squash", "Fix y", [shas["s3"]])
    assert three["body"] == f"This reverts commit {shas['f1']}.\nCo-authored-by: B <b@x>"
    assert (four["method"], four["title"], four["commits"]) == ("merge", "Bump z", [shas["d1"]])
    assert four["author"] == list(BOT)
    assert (five["base"], five["method"]) == ("1.x", "squash")  # a line that is a tag now


def test_tags_keep_their_object_and_tagger_date(recorded: dict[str, Any]) -> None:
    doc, shas = recorded["document"], recorded["shas"]
    tags = {t["name"]: t for t in doc["tags"]}
    assert sorted(tags) == ["1.x", "v1.0", "v1.1"]
    assert tags["v1.0"]["commit"] == shas["m2"]
    assert tags["v1.0"]["object"] not in (None, shas["m2"])
    assert tags["v1.0"]["tagger_date"] == "2024-01-03T12:00:00+00:00"
    assert (tags["v1.1"]["commit"], tags["v1.1"]["object"]) == (shas["m4"], None)


def test_the_world_built_from_the_recording(recorded: dict[str, Any]) -> None:
    shas = recorded["shas"]
    world = build_world(RealHistory.load(recorded["path"]), datetime(2024, 2, 1, tzinfo=UTC))
    repo = world.repositories["acme/app"]
    assert repo.commits[shas["c1"]].parents == []  # its parent was not recorded
    assert repo.refs["heads/main"] == shas["m4"]
    annotated = repo.refs["tags/v1.0"]
    assert repo.tag_objects[annotated] == (shas["m2"], datetime(2024, 1, 3, 12, tzinfo=UTC))
    pulls = {p.number: p for p in repo.pull_requests}
    assert pulls[2].author == "someone"  # a fork's owner
    assert pulls[2].created_at == datetime(2024, 1, 2, 10, tzinfo=UTC)  # its earliest commit
    assert pulls[2].merged_at == datetime(2024, 1, 3, 10, tzinfo=UTC)
    assert pulls[3].created_at == pulls[3].merged_at  # a squash keeps no earlier time
    assert pulls[3].body.startswith("This reverts commit")
    assert pulls[4].author == "dependabot[bot]"
    assert world.users["dependabot[bot]"].type == "Bot"
    assert repo.commits[shas["f1"]].author == "alice-example"


@pytest.mark.parametrize(
    ("name", "email", "login"),
    [
        ("Jo", "12345+jo-dev@users.noreply.github.com", "jo-dev"),
        ("Jo", "jo-dev@users.noreply.github.com", "jo-dev"),
        ("Jo Ann Smith", "jo@example.com", "jo-ann-smith"),
        ("—", "x@example.com", None),
    ],
)
def test_logins_of_commit_authors(name: str, email: str, login: str | None) -> None:
    assert login_of(name, email) == login
