#!/usr/bin/env python3
"""One entry point for people and CI: creates (or reuses) `.venv`, installs the project, runs a job.

    python3 dev.py run     the main job: connector -> fivetran debug + destination -> compare (3 syncs,
                           3 rows per bulk request)
    python3 dev.py test    the whole test suite (ruff, mypy, pytest)
    python3 dev.py serve   start the destination server on port 50052
    python3 dev.py shell   print the line that activates the environment

Only the standard library is used here, so a fresh machine needs nothing but Python 3.10+ and pip.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".dev-stamp"
INSTALL_INPUTS = ("pyproject.toml", "requirements.txt", "destination/cratedb_destination/_native.c")
# (The C source is there because an editable install compiles it once: a change needs a new build.)
# The main job. 3 rows per bulk request: every table with more than 3 rows in a sync spans several chunks,
# and a chunk of updates can still mix three sets of modified columns. 1024 bytes of values per request
# (the least the destination accepts): chunks of wider rows (devices, firmware releases, type edge cases)
# are also split by size. `fivetran-e2e mutants` runs the same (tests/e2e/test_mutants.py checks it).
MAIN_JOB = (
    *("--connector", "connector", "--syncs", "3"),
    *("--destination-setting", "batch_size_rows=3", "--destination-setting", "batch_size_bytes=1024"),
)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INSTALL_INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create the virtual environment and (re)install when the dependency files changed."""
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV.relative_to(ROOT)}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_fingerprint())


def environment() -> dict[str, str]:
    """`fivetran debug` calls `pipreqs`, so the venv's bin must lead PATH; telemetry stays off."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def run(*argv: str) -> int:
    return subprocess.run(list(argv), cwd=ROOT, env=environment()).returncode


def main(args: list[str]) -> int:
    command = args[0] if args else "help"
    if command in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    ensure_environment()
    rest = args[1:]
    if command == "test":
        for step in (["ruff", "check", "."], ["mypy"]):
            if (code := run(str(BIN / step[0]), *step[1:])) != 0:
                return code
        return run(str(BIN / "pytest"), *rest)
    if command == "run":
        return run(str(BIN / "fivetran-e2e"), "run", *MAIN_JOB, *rest)
    if command == "serve":
        return run(str(BIN / "cratedb-fivetran-destination"), "--port", "50052", *rest)
    if command == "shell":
        print(f"source {BIN / 'activate'}")
        return 0
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
