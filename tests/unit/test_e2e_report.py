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


def _per_sync_report() -> RunReport:
    """Sync 1 differed; sync 2 overwrote the difference, so the last comparison matches."""
    report = RunReport("abc", "connector", "emulator", "in-process", "t0")
    first = SyncSummary(1, True, "recorded in the fivetran debug run", 3, 3, 1.0, compared=True)
    bad = TableResult("tester.items", "tester.items", True, 3, 3, 2, different=1)
    bad.diffs.append(RowDiff("different", {"id": "1"}, (CellDiff("value", "sync 1", "tampered"),)))
    first.tables.append(bad)
    second = SyncSummary(2, True, "recorded in the fivetran debug run", 3, 3, 1.0, compared=True)
    second.tables.append(TableResult("tester.items", "tester.items", True, 3, 3, 3))
    report.syncs += [first, second]
    report.tables = second.tables
    return report


def test_a_difference_in_an_earlier_sync_fails_the_run_although_the_last_sync_matches(tmp_path: Path) -> None:
    report = _per_sync_report()
    assert all(table.ok for table in report.tables) and not report.ok
    assert [sync.verdict for sync in report.syncs] == ["MISMATCH: 1 table(s) differ", "match"]
    data = json.loads(write_reports(report, tmp_path / "r")[0].read_text())
    assert data["ok"] is False
    assert [(sync["ok"], sync["verdict"]) for sync in data["syncs"]] == [
        (False, "MISMATCH: 1 table(s) differ"),
        (True, "match"),
    ]
    assert data["syncs"][0]["tables"][0]["diffs"][0]["cells"][0]["cratedb"] == "tampered"
    text = markdown(report)
    assert "## Tables after sync 1: MISMATCH" in text and "### sync 1: tester.items" in text
    assert "| 1 | succeeded | 3 | 3 |" in text and "| MISMATCH: 1 table(s) differ |" in text
    console = Console(record=True, width=120)
    print_summary(report, console)
    output = console.export_text()
    assert "after sync 1" in output and "per sync: sync 1: MISMATCH" in output and "sync 2: match" in output
    assert "MISMATCH" in output.splitlines()[-1] and "tampered" not in output


def test_configuration_values_are_redacted_from_log_tails(tmp_path: Path) -> None:
    from fivetran_e2e.run import log_tail, redact

    configuration = {"password": 'pa"ss/word', "port": "5", "empty": "", "user": "bob"}
    text = 'login bob:pa"ss/word failed; json {"password": "pa\\"ss/word"} port 5 at 15:05 bobby 2.5'
    assert redact(text, configuration) == (
        'login [redacted]:[redacted] failed; json {"password": "[redacted]"} '
        "port [redacted] at 15:05 bobby 2.5"
    )
    log = tmp_path / "sync-1.log"
    log.write_text("\n".join(f'line {i} pa"ss/word' for i in range(100)) + "\n")
    tail = log_tail(log, configuration)
    assert tail.splitlines()[-1] == "line 99 [redacted]" and len(tail.splitlines()) == 40
    assert "ss/word" not in tail


def test_a_failed_run_says_which_part_failed_where_and_why(tmp_path: Path) -> None:
    from fivetran_e2e.report import RunFailure

    report = RunReport("abc", "connector", "emulator", "in-process", "t0")
    report.failure = RunFailure("fivetran debug", 1, "exit code 1: boom", "Error: boom\nmore ``` text")
    assert not report.ok and report.verdict == "FAILED"
    text = markdown(report)
    assert text.startswith("# fivetran-e2e run abc: FAILED")
    assert "**fivetran debug failed in sync 1: exit code 1: boom**" in text and "````text" in text
    console = Console(record=True, width=120)
    print_summary(report, console)
    output = console.export_text()
    assert "Error: boom" in output and "FAILED: fivetran debug failed in sync 1: exit code 1: boom" in output
    data = json.loads(write_reports(report, tmp_path / "r")[0].read_text())
    assert data["failure"]["by"] == "fivetran debug" and data["verdict"] == "FAILED"


def test_a_value_cut_in_half_by_the_tail_window_does_not_escape(tmp_path: Path) -> None:
    from fivetran_e2e.run import LOG_TAIL_CHARS, log_tail

    secret = "x-very-secret-value"
    log = tmp_path / "sync-1.log"
    # One long line whose secret straddles the point where the tail's reading starts (byte 15).
    head = "a" * 5 + secret
    log.write_text(head + "b" * (4 * LOG_TAIL_CHARS + 15 - len(head) - 11) + "\nlast line\n")
    assert log.stat().st_size - 4 * LOG_TAIL_CHARS == 15
    tail = log_tail(log, {"key": secret})
    assert tail == "last line" and "secret" not in tail
