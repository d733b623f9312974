"""Secrets and privacy end to end: the token masked first and found nowhere else, a private
repository's data kept out of a public repository's publications unless allowed, and
pseudonyms nobody can reverse by hashing a list of known logins."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_TOKEN,
    ActionRun,
    branch_files,
    run_action,
    runner_environment,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, RequestRecord

pytestmark = pytest.mark.e2e
NOW = datetime.now(UTC).replace(microsecond=0)
HOME = "acme/storefront"  # public
SECRET = "acme/docs"  # made private below
OTHER = "acme/legacy"  # public


@dataclass
class Published:
    run: ActionRun
    texts: list[str]  # everything a reader of the publishing repository can see
    requests: list[RequestRecord]


def _is_write(record: RequestRecord) -> bool:
    if record.kind == "graphql":
        return str(json.loads(record.request_body)["query"]).lstrip().startswith("mutation")
    return record.method not in ("GET", "HEAD")


def _writes(records: list[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if _is_write(r)]


def _run(
    dataset: GeneratedDataset,
    tmp_path: Path,
    inputs: dict[str, str],
    home_private: bool = False,
    arm: Callable[[EmulatorServer], object] | None = None,
) -> Published:
    if SECRET in dataset.world.repositories:
        dataset.world.repositories[SECRET].private = True
    dataset.world.repositories[HOME].private = home_private
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        if arm is not None:
            arm(server)
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=HOME,
            workspace=tmp_path / "workspace",
            overrides={"backfill": "0", "max-wait": "0", **inputs},
        )
        run = run_action(env, timeout=120)
        requests = list(server.requests)
    repo = dataset.world.repositories[HOME]
    texts = [run.stdout, run.stderr, run.summary, json.dumps(run.outputs)]
    texts += [i.title + "\n" + i.body for i in repo.issues]
    texts += [c.body for i in repo.issues for c in i.comments]
    texts += [b.decode("utf-8", "replace") for b in branch_files(repo, "metrics").values()]
    texts += [
        p.read_bytes().decode("utf-8", "replace") for p in run.workspace.rglob("*") if p.is_file()
    ]
    return Published(run, texts, requests)


def _secret_titles(dataset: GeneratedDataset) -> list[str]:
    pulls = dataset.world.repositories[SECRET].pull_requests
    return [p.title for p in pulls if len(p.title) > 12]


def test_the_token_is_masked_first_and_appears_nowhere_else(tmp_path: Path) -> None:
    dataset = generate_dataset(seed=3, now=NOW, profile="tiny")
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        # GitHub misbehaves too, so error paths and retries are in what is captured.
        server.faults.arm("server_error", api="graphql", count=2)
        server.faults.arm("secondary_limit", api="rest", method="GET", retry_after=1)
        env = runner_environment(
            api_url=server.api_url,
            graphql_url=server.graphql_url,
            server_url=server.url,
            repository=HOME,
            workspace=tmp_path / "workspace",
            overrides={"backfill": "0", "alerts": "lead-time-hours > 0"},
        )
        run = run_action(env, timeout=120)
        bodies = [r.request_body + r.response_body for r in server.requests]
    assert run.returncode == 0, run.stdout + run.stderr
    first, _, rest = run.stdout.partition("\n")
    assert first == f"::add-mask::{WORKFLOW_TOKEN}"
    repo = dataset.world.repositories[HOME]
    captured = [rest, run.stderr, run.summary, json.dumps(run.outputs)]
    captured += [i.body for i in repo.issues] + [c.body for i in repo.issues for c in i.comments]
    captured += [b.decode("utf-8", "replace") for b in branch_files(repo, "metrics").values()]
    captured += [
        p.read_bytes().decode("utf-8", "replace")
        for p in tmp_path.rglob("*")
        if p.is_file() and "runner-files" not in str(p)  # the runner's own event.json
    ]
    captured += [
        Path(env["GITHUB_STEP_SUMMARY"]).read_text(),
        Path(env["GITHUB_OUTPUT"]).read_text(),
    ]
    captured += [b.decode("utf-8", "replace") for b in bodies]
    assert len(captured) > 20
    assert [t for t in captured if WORKFLOW_TOKEN in t] == []


# The tests that read one run over a public and a private repository share it; in parallel,
# on one worker.
SHARES_MIXED_RUN = pytest.mark.xdist_group("privacy-mixed")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedDataset, Published]:
    """One run over a public and a private repository, from a public one."""
    dataset = generate_dataset(seed=3, now=NOW)
    done = _run(dataset, tmp_path_factory.mktemp("mixed"), {"repositories": f"{OTHER},{SECRET}"})
    return dataset, done


@SHARES_MIXED_RUN
def test_a_public_repository_leaves_private_repositories_out(
    mixed: tuple[GeneratedDataset, Published],
) -> None:
    dataset, done = mixed
    secret_titles = _secret_titles(dataset)
    assert secret_titles
    assert done.run.returncode == 0, done.run.stdout + done.run.stderr
    warnings = [line for line in done.run.stdout.splitlines() if line.startswith("::warning::")]
    assert any("allow-private-data: true" in line for line in warnings)
    for text in done.texts:
        assert not [title for title in secret_titles if title in text]
    document = json.loads(
        (done.run.workspace / done.run.outputs["report-json"]).read_text(encoding="utf-8")
    )
    measured = json.dumps(document["current"])
    assert OTHER in measured
    assert SECRET not in measured
    # The publishing repository's visibility came from the API (it is not measured here).
    assert any(r.method == "GET" and r.path == f"/api/v3/repos/{HOME}" for r in done.requests)


def test_allow_private_data_publishes_them(tmp_path: Path) -> None:
    dataset = generate_dataset(seed=3, now=NOW)
    inputs = {"repositories": f"{OTHER},{SECRET}", "publish": "summary"}
    done = _run(dataset, tmp_path, {**inputs, "allow-private-data": "true"})
    assert done.run.returncode == 0
    assert SECRET in done.run.summary
    assert "allow-private-data" not in done.run.stdout


def test_a_private_repository_may_publish_private_data(tmp_path: Path) -> None:
    dataset = generate_dataset(seed=3, now=NOW)
    inputs = {"repositories": f"{HOME},{SECRET}", "publish": "summary"}
    done = _run(dataset, tmp_path, inputs, home_private=True)
    assert done.run.returncode == 0
    assert SECRET in done.run.summary


def test_only_private_repositories_from_a_public_one_is_an_error_before_any_write(
    tmp_path: Path,
) -> None:
    dataset = generate_dataset(seed=3, now=NOW)
    done = _run(dataset, tmp_path, {"repositories": SECRET})
    assert done.run.returncode == 1
    errors = [line for line in done.run.stdout.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1
    assert "allow-private-data" in errors[0]
    assert "allow-private-data" in done.run.summary
    assert _writes(done.requests) == []
    for text in done.texts:
        assert not [title for title in _secret_titles(dataset) if title in text]


def test_pseudonyms_cannot_be_reversed_by_hashing_known_logins(tmp_path: Path) -> None:
    dataset = generate_dataset(seed=3, now=NOW, profile="tiny")
    salt = "9f2c1e7b4a6d8e0f1a3b5c7d"
    inputs = {"publish": "summary,history", "per-person": "anonymous", "pseudonym-salt": salt}
    done = _run(dataset, tmp_path, inputs)
    assert done.run.returncode == 0, done.run.stdout + done.run.stderr
    document = json.loads(
        (done.run.workspace / done.run.outputs["report-json"]).read_text(encoding="utf-8")
    )
    names = [person["name"] for person in document["current"]["team"]["people"]]
    assert names
    logins = sorted(dataset.world.users)
    digests = {re.sub(r"^dev-", "", name) for name in names}
    guesses: set[str] = set()
    for login in logins:
        for form in {login, login.lower(), login.removesuffix("[bot]")}:
            data = form.encode()
            for algorithm in ("md5", "sha1", "sha256", "sha512", "blake2b"):
                guesses.add(hashlib.new(algorithm, data).hexdigest()[:8])
            for key in ("", "salt", "default", HOME, "ghaction-metrics", "anonymous"):
                guesses.add(hmac.new(key.encode(), data, hashlib.sha256).hexdigest()[:8])
                guesses.add(hashlib.sha256(key.encode() + data).hexdigest()[:8])
    assert digests.isdisjoint(guesses)
    for text in done.texts:
        assert salt not in text.replace(f"::add-mask::{salt}", "")
    summary_people = done.run.summary
    assert not [login for login in logins if f"| {login} |" in summary_people]


def test_a_public_repositorys_log_does_not_show_private_repositories(tmp_path: Path) -> None:
    # The log of a public repository is public. acme/* finds the private repository through
    # the owner's listing, so its name and figures must not appear in the log at all.
    dataset = generate_dataset(seed=3, now=NOW)
    done = _run(dataset, tmp_path, {"repositories": "acme/*"})
    assert done.run.returncode == 0, done.run.stdout + done.run.stderr
    assert "acme/payments" in done.run.stdout  # public: logged as usual (acme/legacy is archived)
    assert SECRET not in done.run.stdout + done.run.stderr


@SHARES_MIXED_RUN
def test_a_named_private_repository_shows_in_the_log_only_as_named(
    mixed: tuple[GeneratedDataset, Published],
) -> None:
    # Named in the workflow file (already readable there), lines before its visibility is
    # known may name it (collected in parallel, its lines wait until it is done, and by then
    # it is known: none shows); no line may carry its figures.
    _, done = mixed
    assert done.run.returncode == 0, done.run.stdout + done.run.stderr
    mentions = [line for line in done.run.stdout.splitlines() if SECRET in line]
    figures = [
        line
        for line in mentions
        if not line.startswith("::group::Collecting")  # its place in the list, not its data
        and any(ch.isdigit() for ch in line.split(SECRET)[1])
    ]
    assert figures == []
    other = [line for line in done.run.stdout.splitlines() if OTHER in line]
    assert any("pull requests" in line for line in other)


def test_a_skipped_private_repository_is_not_named_in_what_is_published(tmp_path: Path) -> None:
    # acme/* finds the private repository; collecting it fails, so it lands in the skipped
    # list, which the summary, snapshot and HTML report print ("Skipped acme/docs: ...").
    dataset = generate_dataset(seed=3, now=NOW)
    name = SECRET.split("/")[1]

    def fail_its_collection(server: EmulatorServer) -> None:
        # Access lost between the owner's listing and its collection: it is skipped.
        server.faults.arm(
            "not_found",
            api="graphql",
            count=1000,
            body_contains=(f'"name": "{name}"', "pullsFirst"),
        )

    done = _run(dataset, tmp_path, {"repositories": "acme/*"}, arm=fail_its_collection)
    assert done.run.returncode == 0, done.run.stdout + done.run.stderr
    for text in done.texts:
        assert SECRET not in text.replace(f"::add-mask::{SECRET}", "")
    warnings = [line for line in done.run.stdout.splitlines() if line.startswith("::warning::")]
    assert any("private repositories were left out" in line for line in warnings)


def test_when_nothing_is_measured_the_error_does_not_name_a_private_repository(
    tmp_path: Path,
) -> None:
    dataset = generate_dataset(seed=3, now=NOW)

    def lose_every_repository(server: EmulatorServer) -> None:
        server.faults.arm("not_found", api="graphql", count=1000, body_contains=("pullsFirst",))

    done = _run(dataset, tmp_path, {"repositories": "acme/*"}, arm=lose_every_repository)
    assert done.run.returncode == 1
    assert "No repository was measured" in done.run.summary
    assert "acme/storefront" in done.run.summary  # public: named, with why
    for text in done.texts:
        assert SECRET not in text.replace(f"::add-mask::{SECRET}", "")
