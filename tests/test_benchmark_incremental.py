"""The live-update benchmark runs and prints its table (``--quick``: no latency model, so its
times mean nothing; the figures the README states come from a run without it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_incremental_benchmark_prints_the_live_runs_against_the_cold_one() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "incremental.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    header = next(line for line in lines if line.startswith("run "))
    assert header.split()[1:] == [
        "time", "collect", "req", "publish", "req", "GraphQL", "pts", "collect", "s", "run", "s",
        "branch", "KB",
    ]  # fmt: skip
    rows = {
        line.split(")")[0] + ")": line
        for line in lines
        if re.match(r"\([asbc]\) .* \d\d:\d\d ", line)
    }
    assert list(rows) == ["(a)", "(s)", "(b)", "(c)"]
    assert "production deployment succeeded" in rows["(b)"] + rows["(c)"]
    assert "pull request merged into main" in rows["(b)"] + rows["(c)"]
    for row in rows.values():
        figures = row.rsplit(None, 7)[1:]
        assert re.fullmatch(r"\d\d:\d\d", figures[0]), row
        assert all(re.fullmatch(r"\d+(\.\d)?", figure) for figure in figures[1:]), row
    # The live runs write nothing to the history branch; the scheduled run does.
    assert [float(row.split()[-1]) == 0 for row in rows.values()] == [True, False, True, True]
    # Each live run's figures show its event; each spends fewer points than the cold run.
    reported = [line for line in lines if re.match(r"  \([asbc]\) .*: \d+ deployments, ", line)]
    assert len(reported) == 4
    compared = [line for line in lines if re.match(r"\([bc]\) against \(a\): ", line)]
    assert len(compared) == 2
    assert "PROBLEM" not in completed.stdout
