"""The image is complete and holds nothing it cannot import, checked without Docker: the build
context is reproduced from ``.dockerignore``, the Dockerfile's COPY lines lay it out as
/action, its RUN line installs ``requirements.lock`` into a fresh virtual environment (no
system site packages) with the Dockerfile's ENV, and that interpreter, with PYTHONPATH at the
copy alone, imports every module the image holds and runs its two ways in.

The environment is built once per lock (and RUN line, and Python version) under
``.cache/image/`` and reused, so only the first run pays for the install."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "image"
# What the development and test setup installs, never the image.
DEV_ONLY = ("ghaction_metrics_dev", "graphql", "websocket", "cmarkgfm", "hypothesis", "pytest")

# Imports the given modules, then reports every module loaded: where its file lies and, for
# an installed package, which distribution holds it.
IMPORT_ALL = """
import importlib, importlib.metadata, json, sys, sysconfig
names = json.loads(sys.argv[1])
at_startup = set(sys.modules)  # the interpreter's own, and what its .pth files load
for name in names:
    importlib.import_module(name)
holders = importlib.metadata.packages_distributions()
stdlib = sysconfig.get_paths()["stdlib"]
site = sysconfig.get_paths()["purelib"] + "/"
loaded = {}
for name, module in sorted(sys.modules.items()):
    path = getattr(module, "__file__", None)
    top = name.split(".")[0]
    if name in at_startup or path is None or top in sys.stdlib_module_names:
        continue
    if path.startswith(stdlib):
        continue
    # Extension modules may register under a top-level name of their own (pandas's
    # _cyutility): their distribution is the one holding the folder they were loaded from.
    folder = path[len(site):].split("/")[0] if path.startswith(site) else top
    loaded[name] = {"file": path, "dists": holders.get(top, []) or holders.get(folder, [])}
print(json.dumps({"loaded": loaded, "prefix": sys.prefix, "base": sys.base_prefix}))
"""


@dataclass(frozen=True)
class Dockerfile:
    env: dict[str, str]
    copies: list[tuple[list[str], str]]
    run: str
    entrypoint: list[str]
    python: str  # the base image's Python, major.minor


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    """(keyword, arguments) per instruction; continuation lines joined, comments dropped."""
    logical = ""
    for line in text.splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        keyword, _, rest = logical.strip().partition(" ")
        yield keyword.upper(), rest.strip()
        logical = ""


def read_dockerfile(path: Path) -> Dockerfile:
    env: dict[str, str] = {}
    copies: list[tuple[list[str], str]] = []
    runs: list[str] = []
    entrypoint: list[str] = []
    python = ""
    for keyword, rest in _instructions(path.read_text(encoding="utf-8")):
        if keyword == "FROM":
            found = re.match(r"python:(\d+\.\d+)", rest)
            assert found, rest
            python = found.group(1)
        elif keyword == "ENV":
            for part in shlex.split(rest):
                name, _, value = part.partition("=")
                env[name] = value
        elif keyword == "COPY":
            parts = shlex.split(rest)
            assert not parts[0].startswith("--"), f"COPY flags are not reproduced: {rest}"
            copies.append((parts[:-1], parts[-1]))
        elif keyword == "RUN":
            runs.append(rest)
        elif keyword == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        else:
            assert keyword in {"ARG", "LABEL"}, f"{keyword} is not reproduced here"
    assert len(runs) == 1, "one RUN line: the layer this test caches"
    return Dockerfile(env, copies, runs[0], entrypoint, python)


def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: `*` and `?` stay within one path element,
    `**` spans any number of them."""
    assert "[" not in glob, f"unsupported .dockerignore syntax: {glob}"
    assert "\\" not in glob, f"unsupported .dockerignore syntax: {glob}"
    regex = ""
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif glob.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif glob[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif glob[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(glob[index]), index + 1
    return re.compile(regex)


@dataclass(frozen=True)
class DockerIgnore:
    rules: list[tuple[re.Pattern[str], bool, str]]  # (pattern, re-includes, text)

    @classmethod
    def read(cls, path: Path) -> DockerIgnore:
        rules = []
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            text = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
            rules.append((_pattern(text), include, text))
        return cls(rules)

    def excluded(self, relative: str) -> bool:
        """Docker's rule: the last pattern matching the path or one of its parent folders
        decides."""
        parts = relative.split("/")
        candidates = ["/".join(parts[: count + 1]) for count in range(len(parts))]
        matched = False
        for pattern, include, _ in self.rules:
            if include != matched:
                continue
            if any(pattern.fullmatch(candidate) for candidate in candidates):
                matched = not include
        return matched

    def may_include_below(self, folder: str) -> bool:
        """Whether a re-including pattern could match something inside an excluded folder."""
        depth = folder.count("/") + 1
        for _, include, text in self.rules:
            if include:
                head = "/".join(text.split("/")[:depth])
                if text.startswith("**") or _pattern(head).fullmatch(folder):
                    return True
        return False


def build_context(source: Path, target: Path) -> list[str]:
    """Copies what `docker build` would send from source into target; the relative paths."""
    ignore = DockerIgnore.read(source / ".dockerignore")
    sent: list[str] = []
    for folder, subfolders, files in os.walk(source):
        here = Path(folder).relative_to(source).as_posix()
        prefix = "" if here == "." else here + "/"
        subfolders[:] = [
            name
            for name in subfolders
            if not ignore.excluded(prefix + name) or ignore.may_include_below(prefix + name)
        ]
        for name in files:
            relative = prefix + name
            if not ignore.excluded(relative):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / relative, target / relative)
                sent.append(relative)
    return sorted(sent)


def _mapped(text: str, dirs: Mapping[str, Path]) -> str:
    for image_dir, local in dirs.items():
        text = re.sub(rf"(?<![\w./]){re.escape(image_dir)}(?=/|\b|$)", str(local), text)
    return text


def apply_copies(dockerfile: Dockerfile, context: Path, dirs: Mapping[str, Path]) -> None:
    """The COPY lines: a folder's contents go into the destination, files by name."""
    for sources, destination in dockerfile.copies:
        into = Path(_mapped(destination, dirs))
        for source in sources:
            origin = context / source
            assert origin.exists(), f"COPY {source}: not in the build context"
            if origin.is_dir():
                shutil.copytree(origin, into, dirs_exist_ok=True)
            elif destination.endswith("/"):
                into.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into / origin.name)
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into)


def image_env(dockerfile: Dockerfile, dirs: Mapping[str, Path], venv: Path) -> dict[str, str]:
    """The container's environment: the Dockerfile's ENV, a PATH to the image's Python, and a
    HOME that does not exist (the runner mounts its own)."""
    env = {name: _mapped(value, dirs) for name, value in dockerfile.env.items()}
    env["PATH"] = f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin"
    env["HOME"] = "/nonexistent"
    env["LANG"] = "C.UTF-8"
    return env


def _cache_key(dockerfile: Dockerfile, lock: bytes) -> str:
    digest = hashlib.sha256(lock)
    digest.update(dockerfile.run.encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()[:16]


def image_python(dockerfile: Dockerfile) -> tuple[Path, Path]:
    """(virtual environment, the image's /opt) with the RUN line done; built once per key."""
    lock = (ROOT / "requirements.lock").read_bytes()
    home = CACHE / _cache_key(dockerfile, lock)
    venv, opt, done = home / "venv", home / "opt", home / "complete"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{home.name}.lock").open("w") as guard:
        # Parallel test workers wait for the one building it.
        fcntl.flock(guard, fcntl.LOCK_EX)
        if done.exists():
            return venv, opt
        shutil.rmtree(home, ignore_errors=True)
        (home / "action").mkdir(parents=True)
        (home / "action" / "requirements.lock").write_bytes(lock)
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        dirs = {"/action": home / "action", "/opt": opt}
        # pip's own settings on this machine (index, proxy, certificates) still apply.
        env = {
            **{k: v for k, v in os.environ.items() if k.startswith("PIP_") or "proxy" in k},
            **image_env(dockerfile, dirs, venv),
        }
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", _mapped(dockerfile.run, dirs)],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        done.write_text(dockerfile.run, encoding="utf-8")
    return venv, opt


@dataclass(frozen=True)
class Image:
    action: Path
    venv: Path
    env: dict[str, str]
    entrypoint: list[str]
    workspace: Path
    context: list[str]

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            env={**self.env, **(env or {})},
            cwd=self.workspace,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    dockerfile = read_dockerfile(ROOT / "Dockerfile")
    assert dockerfile.python == f"{sys.version_info[0]}.{sys.version_info[1]}", (
        "the tests must run on the image's Python version"
    )
    base = tmp_path_factory.mktemp("image")
    sent = build_context(ROOT, base / "context")
    venv, opt = image_python(dockerfile)
    dirs = {"/action": base / "action", "/opt": opt}
    apply_copies(dockerfile, base / "context", dirs)
    (base / "workspace").mkdir()
    entrypoint = [_mapped(part, dirs) for part in dockerfile.entrypoint]
    return Image(
        base / "action",
        venv,
        image_env(dockerfile, dirs, venv),
        entrypoint,
        base / "workspace",
        sent,
    )


def _lock_names() -> set[str]:
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    return {_normal(name) for name in re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.MULTILINE)}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_context_holds_the_package_and_its_templates_and_no_development_code(
    image: Image,
) -> None:
    tops = {path.split("/")[0] for path in image.context}
    assert tops == {
        "requirements.lock",
        "action.yml",
        "entrypoint.py",
        "ghaction_metrics",
        "templates",
    }
    assert not [path for path in image.context if "__pycache__" in path or path.endswith(".pyc")]
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "ghaction_metrics").rglob("*.py")}
    assert source - {p for p in image.context if p.endswith(".py")} == set()
    assert (image.action / "ghaction_metrics" / "schemas" / "snapshot-v2.schema.json").is_file()
    assert list((image.action / "templates").iterdir())


def test_the_image_imports_every_module_it_holds_and_only_locked_packages(image: Image) -> None:
    modules = ["entrypoint"]
    for path in sorted((image.action / "ghaction_metrics").rglob("*.py")):
        parts = list(path.relative_to(image.action).with_suffix("").parts)
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert len(modules) > 40
    completed = image.run("python", "-W", "error", "-c", IMPORT_ALL, json.dumps(modules))
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    report = json.loads(completed.stdout)
    # A fresh environment on the base interpreter: none of this machine's site packages.
    assert Path(report["prefix"]) == image.venv
    assert Path(report["base"]) == Path(sys.base_prefix)
    loaded: dict[str, dict[str, object]] = report["loaded"]
    assert set(modules) <= set(loaded)
    site = str(image.venv / "lib")
    locked = _lock_names()
    outside = []
    for name, found in loaded.items():
        file = str(found["file"])
        assert name.split(".")[0] not in DEV_ONLY, name
        if file.startswith(str(image.action) + "/"):
            assert name == "entrypoint" or name.startswith("ghaction_metrics"), name
        elif file.startswith(site + "/"):
            dists = {_normal(str(d)) for d in found["dists"]}  # type: ignore[attr-defined]
            assert dists & locked, (name, file, dists)
        else:
            outside.append((name, file))
    assert outside == []


def test_the_command_line_help_runs_in_the_image(image: Image) -> None:
    completed = image.run("python", "-m", "ghaction_metrics", "--help")
    assert completed.returncode == 0, completed.stderr
    assert "--dry-run" in completed.stdout
    assert "--repositories" in completed.stdout  # the options come from action.yml
    assert completed.stderr == ""


def test_the_entrypoint_without_a_runner_environment_fails_cleanly(image: Image) -> None:
    # Under Actions (GITHUB_ACTIONS=true, which the runner sets) the error is an annotation;
    # from a terminal it is a plain line.
    for env, prefix in (({"GITHUB_ACTIONS": "true"}, "::error::"), ({}, "Error: ")):
        completed = image.run(*image.entrypoint, env=env)
        assert completed.returncode == 1
        assert completed.stdout.startswith(prefix), completed.stdout
        assert "GITHUB_API_URL" in completed.stdout
        assert completed.stderr == ""
