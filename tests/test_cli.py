"""The command line: its options are action.yml's inputs, and a dry run writes exactly what a
real run publishes to the emulator, without a single write request."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from ghaction_metrics import cli
from ghaction_metrics.publish.dry_run import DRY_RUN_SHA
from ghaction_metrics_dev.dataset.generate import GeneratedDataset, generate_dataset
from ghaction_metrics_dev.emulator.harness import (
    WORKFLOW_TOKEN,
    branch_files,
    parse_output_file,
    workflow_tokens,
)
from ghaction_metrics_dev.emulator.server import EmulatorServer, RequestRecord
from ghaction_metrics_dev.emulator.world import Issue

ROOT = Path(__file__).resolve().parents[1]
# The dry-run tests share one module-scoped pair of runs; in parallel, one worker makes it.
pytestmark = pytest.mark.xdist_group("cli")
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
LOCAL_OPTIONS = ("--api-url", "--server-url", "--repository", "--out", "--run-id", "--dry-run")


def _inputs() -> list[str]:
    loaded = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return list(loaded["inputs"])


def test_help_lists_every_input_and_the_local_options() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "ghaction_metrics", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    options = set(re.findall(r"(--[a-z][a-z-]*)", completed.stdout))
    missing = [f"--{name}" for name in _inputs() if f"--{name}" not in options]
    assert not missing
    assert set(LOCAL_OPTIONS) <= options


def test_token_comes_from_the_environment_and_defaults_from_action_yml(tmp_path: Path) -> None:
    inputs = cli.action_inputs()
    args = cli.parser(inputs).parse_args(
        ["--repositories", "octo/app", "--out", str(tmp_path), "--window", "2w"]
    )
    env = cli.environment(args, {"GH_TOKEN": "from-gh"}, inputs, NOW)
    assert env["INPUT_TOKEN"] == "from-gh"
    assert env["GITHUB_REPOSITORY"] == "octo/app"
    assert env["INPUT_WINDOW"] == "2w"
    assert env["INPUT_PUBLISH"] == "summary,issue,history"
    assert env["GITHUB_SERVER_URL"] == "https://github.com"
    both = {"GITHUB_TOKEN": "from-github", "GH_TOKEN": "from-gh"}
    assert cli.environment(args, both, inputs, NOW)["INPUT_TOKEN"] == "from-github"
    ghes = cli.parser(inputs).parse_args(
        ["--repository", "o/r", "--api-url", "https://ghe.example/api/v3", "--out", str(tmp_path)]
    )
    assert cli.environment(ghes, {}, inputs, NOW)["GITHUB_SERVER_URL"] == "https://ghe.example"


def test_a_wildcard_needs_an_explicit_repository(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main(["--repositories", "octo/*", "--out", str(tmp_path)], environ={})
    assert raised.value.code == 2


def _is_write(record: RequestRecord) -> bool:
    if record.method in ("GET", "HEAD", "OPTIONS"):
        return False
    if record.kind == "graphql":
        query = str(json.loads(record.request_body or b"{}").get("query", ""))
        return query.lstrip().startswith("mutation")
    return True


@dataclass
class Runs:
    dataset: GeneratedDataset
    dry: Path
    real: Path
    dry_requests: list[RequestRecord]
    branch: dict[str, bytes]
    issue: Issue


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    dataset = generate_dataset(seed=5, now=NOW, profile="tiny")
    home = dataset.home_repository
    folder = tmp_path_factory.mktemp("cli")
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        common = [
            "--api-url",
            server.api_url,
            "--server-url",
            server.url,
            "--repository",
            home,
            "--run-id",
            "77",
        ]
        environ = {"GITHUB_TOKEN": WORKFLOW_TOKEN}
        # The dry run first: both runs then start from the same (empty) history branch.
        dry_code = cli.main(
            [*common, "--dry-run", "--out", str(folder / "dry")],
            environ=environ,
            stream=io.StringIO(),
            clock=lambda: NOW,
        )
        dry_requests = list(server.requests)
        real_code = cli.main(
            [*common, "--out", str(folder / "real")],
            environ=environ,
            stream=io.StringIO(),
            clock=lambda: NOW,
        )
        with server.lock:
            repository = dataset.world.repositories[home]
            branch = branch_files(repository, "metrics")
            issues = [i for i in repository.issues if i.title == "Engineering metrics"]
    assert (dry_code, real_code) == (0, 0)
    assert len(issues) == 1
    return Runs(dataset, folder / "dry", folder / "real", dry_requests, branch, issues[0])


def test_the_dry_run_sends_no_write_request(runs: Runs) -> None:
    assert runs.dry_requests, "the dry run reads GitHub"
    assert [r.path for r in runs.dry_requests if _is_write(r)] == []


def test_the_dry_run_writes_the_history_files_the_real_run_commits(runs: Runs) -> None:
    root = runs.dry / "history"
    written = {
        p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }
    assert sorted(written) == sorted(runs.branch)
    assert any(path.endswith(".png") for path in written)
    assert any(path.endswith(".html") for path in written)
    # Same clock and run id: the same bytes, charts and HTML included.
    different = [path for path in written if written[path] != runs.branch[path]]
    assert different == []


def _outputs(folder: Path) -> dict[str, str]:
    return parse_output_file((folder / "outputs.txt").read_text(encoding="utf-8"))


def _without_marker(body: str) -> str:
    """An issue or comment body without the hidden marker line the dashboard adds."""
    first, rest = body.split("\n", 1)
    assert first.startswith("<!-- ghaction-metrics:")
    return rest


def test_the_dry_run_writes_the_dashboard_and_summary_the_real_run_publishes(runs: Runs) -> None:
    real = _outputs(runs.real)
    sha, issue_url = real["history-sha"], real["issue-url"]
    assert sha
    assert issue_url

    def dry(name: str) -> str:
        # Only a real run has a commit to link to; the dry run links a placeholder sha.
        text = (runs.dry / name).read_text(encoding="utf-8")
        return text.replace(DRY_RUN_SHA, sha)

    assert dry("issue/title.txt") == "Engineering metrics\n"
    assert dry("issue/header.md") == _without_marker(runs.issue.body)
    assert dry("issue/comment.md") == _without_marker(runs.issue.comments[-1].body)
    # ... and only a real run has an issue to link to from the summary.
    summary = (runs.real / "summary.md").read_text(encoding="utf-8")
    assert dry("summary.md") == summary.replace(f"[Dashboard issue]({issue_url}) · ", "")


def test_the_dry_run_writes_the_same_report_and_outputs(runs: Runs) -> None:
    dry, real = _outputs(runs.dry), _outputs(runs.real)
    assert dry["history-sha"] == DRY_RUN_SHA
    assert dry["issue-url"] == ""
    assert {**dry, "history-sha": "", "issue-url": ""} == {
        **real,
        "history-sha": "",
        "issue-url": "",
    }
    report = "workspace/.ghaction-metrics/default/report.json"
    assert (runs.dry / report).read_bytes() == (runs.real / report).read_bytes()
