"""`fivetran-e2e mutants --subset fast`: planted bugs in a temporary copy of the destination are caught.

Each mutant runs in a destination subprocess that proves it serves the mutated copy; the main job (and, for
what it cannot reach, the scenario corpus) must notice every one. About 2 minutes on 2 cores.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fivetran_e2e import mutants

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


def test_every_mutant_applies_exactly_once_to_the_current_source() -> None:
    for mutant in mutants.MUTANTS:
        text = (mutants.PACKAGE / mutant.file).read_text(encoding="utf-8")
        assert text.count(mutant.old) == 1, mutant.name
    names = [mutant.name for mutant in mutants.MUTANTS]
    assert len(names) == len(set(names))
    assert set(mutants.SUBSETS["fast"]) <= set(names)


def test_the_main_job_is_the_one_dev_py_runs() -> None:
    spec = importlib.util.spec_from_file_location("dev_script", REPO / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    assert list(dev.MAIN_JOB) == mutants.MAIN_JOB


def test_the_fast_subset_is_caught_and_the_repository_is_untouched(tmp_path: Path) -> None:
    before = {path: path.read_bytes() for path in mutants.PACKAGE.rglob("*.py")}
    summary = tmp_path / "mutants.json"
    command = [
        str(Path(sys.executable).parent / "fivetran-e2e"),
        "mutants",
        "--subset",
        "fast",
        "--json",
        str(summary),
    ]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["caught"] == len(mutants.SUBSETS["fast"]) and data["missed"] == 0 and data["error"] == 0
    for result in data["mutants"]:
        assert result["status"] == "caught", result
        assert any(phase["evidence"] for phase in result["phases"]), result
        # the process that served held the mutated copy, not the repository's package
        proof = result["proof"]
        assert proof["mutant_in_module"] is True
        assert not Path(proof["package_file"]).is_relative_to(mutants.PACKAGE.parent)
    assert {path: path.read_bytes() for path in mutants.PACKAGE.rglob("*.py")} == before
