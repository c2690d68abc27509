"""Report files and the console summary."""

from __future__ import annotations

import json
from pathlib import Path

from fivetran_e2e.compare import CellDiff, RowDiff, TableResult
from fivetran_e2e.report import RunReport, SyncSummary, markdown, print_summary, write_reports
from rich.console import Console


def _report() -> RunReport:
    report = RunReport(
        run_id="abc", connector="connector", cratedb="emulator", destination="in-process", started="t0"
    )
    report.syncs.append(SyncSummary(1, True, "recorded in the fivetran debug run", 10, 10, 1.5))
    good = TableResult("tester.a", "tester.a", True, 3, 3, 3)
    bad = TableResult("tester.b", "tester.b", True, 2, 2, 1, different=1)
    bad.diffs.append(RowDiff("different", {"id": "2"}, (CellDiff("v|x", "1", "2"),)))
    report.tables += [good, bad]
    return report


def test_ok_needs_every_table_to_match_and_no_problems() -> None:
    report = _report()
    assert not report.ok
    report.tables.pop()
    assert report.ok
    report.problems.append("something")
    assert not report.ok
    assert not RunReport("x", "c", "e", "d", "t").ok  # nothing compared is not a match


def test_markdown_shows_cell_level_diffs(tmp_path: Path) -> None:
    text = markdown(_report())
    assert "MISMATCH" in text and "| tester.b | tester.b | 2 | 1 | 1 | 0 | 0 | DIFFERENT |" in text
    assert "**different** id=2" in text and "| v\\|x | 1 | 2 |" in text
    json_path, md_path = write_reports(_report(), tmp_path / "out" / "report.json")
    data = json.loads(json_path.read_text())
    assert data["ok"] is False and [t["ok"] for t in data["tables"]] == [True, False]
    assert data["tables"][1]["diffs"][0]["cells"][0]["cratedb"] == "2"
    assert md_path.name == "report.md" and md_path.read_text() == text


def test_console_summary_has_counts_but_no_values() -> None:
    console = Console(record=True, width=120)
    print_summary(_report(), console)
    output = console.export_text()
    assert "tester.b" in output and "MISMATCH" in output
    assert "v|x" not in output  # cell values and column diffs stay in the report files
