"""The image: locked, hash-checked runtime packages (the same file the tests install), the
environment a run needs, a build context with exactly what the Dockerfile copies, and
hadolint clean."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _pins(text: str) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", text, flags=re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in found}


def test_the_lock_pins_every_runtime_requirement_at_the_same_version_with_hashes() -> None:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    direct = _pins((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    locked = _pins(lock)
    assert direct
    for name, version in direct.items():
        assert locked.get(name) == version, name
    # Every locked package carries at least one hash, so pip runs in --require-hashes mode.
    blocks = re.split(r"\n(?=[A-Za-z0-9])", lock.split("\n\n", 1)[1] if "\n\n" in lock else lock)
    for block in blocks:
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_image_and_the_tests_install_the_same_lock() -> None:
    assert "--require-hashes" in DOCKERFILE
    assert "-r /action/requirements.lock" in DOCKERFILE
    setup = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    assert "--require-hashes --only-binary=:all: -r requirements.lock" in setup


def test_the_environment_needs_no_home() -> None:
    for setting in ("PYTHONUNBUFFERED=1", "MPLBACKEND=Agg", "MPLCONFIGDIR=/opt/matplotlib"):
        assert setting in DOCKERFILE
    assert "import matplotlib.font_manager" in DOCKERFILE  # the font cache, built once
    assert "--only-binary=:all:" in DOCKERFILE  # no compiler needed, none left behind
    assert not re.search(r"^\s*(USER|WORKDIR)\b", DOCKERFILE, flags=re.MULTILINE)


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied: set[str] = set()
    for line in DOCKERFILE.splitlines():
        if line.startswith("COPY "):
            copied.update(part.rstrip("/") for part in line.split()[1:-1])
    assert copied == allowed
    assert "action.yml" in copied  # the command line reads the inputs from it


def test_hadolint_finds_nothing() -> None:
    completed = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "hadolint"), "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_base_image_is_pinned_by_digest() -> None:
    froms = [line for line in DOCKERFILE.splitlines() if line.startswith("FROM ")]
    assert froms
    assert all(re.search(r"@sha256:[0-9a-f]{64}(\s|$)", line) for line in froms), froms
