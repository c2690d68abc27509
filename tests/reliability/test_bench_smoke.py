"""`bench/run_all.py --quick` runs and prints its table, each figure with a command the script it names
accepts; `--baseline HEAD` adds a column measured with a temporary worktree's destination package (figures
are not checked: CI machines vary)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
RUN_ALL = BENCH / "run_all.py"
# (section, text in the metric): every figure the issue asks for
EXPECTED = [
    ("reader", "CSV read"),
    ("reader", "Parquet read"),
    ("writes", "replace, 5,000 rows: rows per destination CPU-second"),
    ("writes", "update, 5,000 rows: rows per destination CPU-second"),
    ("writes", "delete, 5,000 rows: rows per destination CPU-second"),
    ("cost model", "replace, 5,000 rows: wall time"),
    ("cost model", "delete, 5,000 rows: wall time"),
    ("cluster work", "update: HTTP requests / rows / key lookups / query jobs"),
    ("memory", "peak RSS applying a 2 MB encrypted file"),
    ("concurrency", "1 concurrent replace batches"),
    ("concurrency", "8 concurrent replace batches"),
    ("history", "initial load, 1,000 records: query jobs per 10,000 records"),
    ("history", "earliest+update+delete, 1,000 records: query jobs per 10,000 records"),
    ("truncate", "truncate (hard), 1,000 records: query jobs per 10,000 records"),
    ("e2e", "fivetran debug's own time"),
    ("e2e", "our part beyond it"),
]
NUMBER = r"[\d,]+(?:\.\d+)?"
COMMAND = re.compile(r"\.venv/bin/python bench/(\w+)\.py (.*)$")

pytestmark = [pytest.mark.emulator_only, pytest.mark.e2e]


def run_all(*args: str) -> str:
    completed = subprocess.run(
        [sys.executable, str(RUN_ALL), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def figure_lines(out: str) -> dict[tuple[str, str], str]:
    lines = out.splitlines()
    assert lines[0].startswith("machine: "), out[:500]
    header = next((i for i, line in enumerate(lines) if re.match(r"section\s+metric\s", line)), None)
    assert header is not None, out
    found = {}
    for section, metric in EXPECTED:
        line = next((line for line in lines[header:] if line.startswith(section) and metric in line), None)
        assert line is not None, f"{section}: {metric!r} missing from:\n{out}"
        found[(section, metric)] = line
    return found


def check_command(line: str) -> None:
    """The command at the end of a figure's line parses with its script's own parser."""
    match = COMMAND.search(line)
    assert match, f"no command in: {line}"
    sys.path.insert(0, str(BENCH))
    try:
        module = __import__(match.group(1))
        module.build_parser().parse_args(shlex.split(match.group(2)))
    finally:
        sys.path.remove(str(BENCH))


def test_run_all_quick_prints_every_figure_with_its_command() -> None:
    out = run_all()
    assert re.search(r"^section\s+metric\s+current\s+unit\s+command$", out, re.MULTILINE), out
    for line in figure_lines(out).values():
        assert re.search(rf"\s{NUMBER}\s", line), f"no figure in: {line}"
        check_command(line)


def _git_worktrees_work() -> bool:
    if shutil.which("git") is None:
        return False
    probe = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _git_worktrees_work(), reason="needs git and a git checkout (git worktree)")
def test_run_all_quick_baseline_head_shows_both_columns() -> None:
    before = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    out = run_all("--baseline", "HEAD")
    assert re.search(r"^section\s+metric\s+baseline [0-9a-f]+\s+current\s+unit\s+command$", out, re.M), out
    assert "--rev HEAD" in out, out
    for (section, _), line in figure_lines(out).items():
        if section == "e2e":
            assert re.search(rf"current only\s+{NUMBER}\s", line), line
        else:
            # "3 / 5,000 / 1 / 0" counts as one value in the cluster-work rows
            value = rf"{NUMBER}(?: / {NUMBER})*"
            assert re.search(rf"\s{value}\s+{value}\s+\S+\s+\.venv/bin/python", line), line
    after = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert after == before, "the temporary worktree was not removed"
