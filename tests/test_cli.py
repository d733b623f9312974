"""The command line: its options are action.yml's inputs, and a dry run writes exactly what a
real run publishes to the emulator, without a single write request."""

from __future__ import annotations

import contextlib
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


@pytest.mark.parametrize("module", ["ghaction_metrics", "ghaction_metrics_dev.demo"])
def test_the_commands_run_from_any_folder(tmp_path: Path, module: str) -> None:
    # scripts/setup installs the checkout into .venv, so no cd or PYTHONPATH is needed.
    completed = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert f"python -m {module}" in completed.stdout


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
    ghes_url = cli.environment(ghes, {"GH_TOKEN": "t"}, inputs, NOW)["GITHUB_SERVER_URL"]
    assert ghes_url == "https://ghe.example"


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        # A wildcard names no single repository to publish to.
        (["--repositories", "octo/*"], {"GH_TOKEN": "t"}, "give --repository OWNER/NAME"),
        (
            ["--repository", "octo/app"],
            {"GH_TOKEN": " "},
            "no token: set GH_TOKEN (or GITHUB_TOKEN) to a personal access token, or pass --token",
        ),
    ],
    ids=["wildcard without --repository", "no token"],
)
def test_usage_errors_say_what_to_give(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    environ: dict[str, str],
    message: str,
) -> None:
    with pytest.raises(SystemExit) as raised:
        cli.main([*argv, "--out", str(tmp_path)], environ=environ)
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {message}" in err
    assert "::" not in err


def test_a_refused_token_says_how_to_give_another(tmp_path: Path) -> None:
    dataset = generate_dataset(seed=5, now=NOW, profile="tiny")
    log = io.StringIO()
    with EmulatorServer(dataset.world, workflow_tokens(dataset.workflow_login)) as server:
        argv = ["--api-url", server.api_url, "--repository", dataset.home_repository]
        with contextlib.redirect_stdout(log):
            code = cli.main(
                [*argv, "--out", str(tmp_path)],
                environ={"GH_TOKEN": "expired"},
                stream=log,
                clock=lambda: NOW,
            )
    assert code == 1
    assert (
        "Error: The token was refused by GitHub (401 Bad credentials): it is expired, revoked "
        "or mistyped. Set GH_TOKEN (or GITHUB_TOKEN) to a valid token, or pass --token.\n"
    ) in log.getvalue()
    assert log.getvalue().splitlines()[-1].endswith(f"nothing published; files in {tmp_path}")


def test_inside_a_workflow_the_log_is_the_runners_again(tmp_path: Path) -> None:
    inputs = cli.action_inputs()
    args = cli.parser(inputs).parse_args(["--repository", "o/r", "--out", str(tmp_path)])
    outside = cli.environment(args, {"GH_TOKEN": "t"}, inputs, NOW)
    inside = cli.environment(args, {"GH_TOKEN": "t", "GITHUB_ACTIONS": "true"}, inputs, NOW)
    assert (outside["GITHUB_ACTIONS"], inside["GITHUB_ACTIONS"]) == ("", "true")


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
    server_url: str
    dry_log: str
    real_log: str


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
        # Log groups go to stdout: one stream holds what a terminal would show.
        dry_log, real_log = io.StringIO(), io.StringIO()
        # The dry run first: both runs then start from the same (empty) history branch.
        with contextlib.redirect_stdout(dry_log):
            dry_code = cli.main(
                [*common, "--dry-run", "--out", str(folder / "dry")],
                environ=environ,
                stream=dry_log,
                clock=lambda: NOW,
            )
        dry_requests = list(server.requests)
        server_url = server.url
        with contextlib.redirect_stdout(real_log):
            real_code = cli.main(
                [*common, "--out", str(folder / "real")],
                environ=environ,
                stream=real_log,
                clock=lambda: NOW,
            )
        with server.lock:
            repository = dataset.world.repositories[home]
            branch = branch_files(repository, "metrics")
            issues = [i for i in repository.issues if i.title == "Engineering metrics"]
    assert (dry_code, real_code) == (0, 0)
    assert len(issues) == 1
    return Runs(
        dataset,
        folder / "dry",
        folder / "real",
        dry_requests,
        branch,
        issues[0],
        server_url,
        dry_log.getvalue(),
        real_log.getvalue(),
    )


def test_the_log_speaks_to_a_terminal(runs: Runs) -> None:
    # Outside GitHub Actions: no workflow commands, no %-escapes, counts worded as sentences.
    for log in (runs.dry_log, runs.real_log):
        lines = log.splitlines()
        assert lines
        assert [line for line in lines if line.lstrip().startswith("::")] == []
        assert not re.search(r"%(25|0A|0D)", log)
        assert not re.search(
            r"(?<![\d.,])1 (?:[A-Za-z]+ )?(?:requests|points|pages|incidents)\b", log
        )
        assert "at most 0" not in log
    assert "after 1 request: " in runs.real_log  # the tiny dataset takes one page


def test_the_run_ends_naming_the_dashboard_and_the_history_commit(runs: Runs) -> None:
    real = _outputs(runs.real)
    web = f"{runs.server_url}/{runs.dataset.home_repository}"
    last = runs.real_log.splitlines()[-1]
    assert last.startswith("Finished in ")
    assert (
        f"with exit code 0: dashboard {real['issue-url']}, history commit "
        f"{web}/commit/{real['history-sha']} on metrics; files in {runs.real}"
    ) in last
    assert runs.dry_log.splitlines()[-1].endswith(
        f"with exit code 0: a dry run, nothing published; files in {runs.dry}"
    )


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
