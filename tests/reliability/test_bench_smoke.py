"""`bench/run_all.py --quick` runs and prints its table (figures are not checked: CI machines vary)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

RUN_ALL = Path(__file__).resolve().parents[2] / "bench" / "run_all.py"
EXPECTED_METRICS = [
    "CSV read",
    "PARQUET read",
    "replace throughput",
    "update throughput",
    "delete throughput",
    "replace HTTP requests per 10,000 rows",
    "1 concurrent WriteBatch",
    "8 concurrent WriteBatch",
    "destination peak RSS",
]


@pytest.mark.emulator_only
def test_run_all_quick_prints_the_table() -> None:
    completed = subprocess.run(
        [sys.executable, str(RUN_ALL), "--quick"], capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    out = completed.stdout
    assert out.startswith("machine: "), out[:500]
    assert re.search(r"^section\s+metric\s+value\s+unit\s+note$", out, re.MULTILINE), out
    for metric in EXPECTED_METRICS:
        line = next((line for line in out.splitlines() if metric in line), None)
        assert line is not None, f"{metric!r} missing from:\n{out}"
        assert re.search(r"\s[\d,]+(\.\d+)?\s", line), f"no figure in: {line}"
