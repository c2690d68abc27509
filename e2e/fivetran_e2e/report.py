"""The run's verdict: a per-table summary on the console, and JSON plus Markdown report files.

The files hold the first differences of each table as cell-level diffs; the console shows counts only, so
no row data ends up in logs.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .compare import TableResult


@dataclass
class RunFailure:
    """Why the run could not be carried out to its comparison (exit code 2)."""

    by: str  # "fivetran debug" or "harness"
    sync: int | None  # None: before the first sync or after the last
    reason: str
    log_tail: str = ""  # the end of fivetran debug's output, the configuration's values redacted

    def headline(self) -> str:
        where = f"in sync {self.sync}" if self.sync is not None else "outside the syncs"
        return f"{self.by} failed {where}: {self.reason}"


@dataclass
class SyncSummary:
    number: int
    succeeded: bool
    capture: str  # "recorded in the fivetran debug run" or the fallback explanation
    operations: int
    committed_operations: int
    seconds: float
    debug_seconds: float = 0.0  # fivetran debug, including the recording
    replay_seconds: float = 0.0  # replay after fivetran debug ended (the rest streams alongside it)
    replayed_during_debug: int = 0  # operations replayed while fivetran debug was still running
    # The comparison of warehouse.db as `fivetran debug` left it after this sync with CrateDB after the replay
    # of this sync (every sync is compared, so a difference a later sync overwrites is still seen).
    compared: bool = False
    compare_seconds: float = 0.0
    tables: list[TableResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # sync-level comparison findings that fail the run
    # When fivetran debug failed: its exit code, and the end of its output (configuration values redacted).
    failure: str = ""
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and all(table.ok for table in self.tables)

    @property
    def verdict(self) -> str:
        if not self.compared:
            return "not compared"
        if self.ok:
            return "match"
        failing = sum(1 for table in self.tables if not table.ok)
        parts = [f"{failing} table(s) differ"] if failing else []
        parts += [f"{len(self.problems)} problem(s)"] if self.problems else []
        return "MISMATCH: " + ", ".join(parts)


@dataclass
class RunReport:
    run_id: str
    connector: str
    cratedb: str  # a description, never credentials
    destination: str
    started: str
    finished: str = ""
    seconds: float = 0.0
    compare_seconds: float = 0.0
    syncs: list[SyncSummary] = field(default_factory=list)
    tables: list[TableResult] = field(default_factory=list)  # after the last sync (the same as its `tables`)
    problems: list[str] = field(default_factory=list)  # run-level findings that fail the run
    notes: list[str] = field(default_factory=list)  # informational (fallback capture, skipped operations...)
    replay: dict[str, Any] = field(default_factory=dict)
    failure: RunFailure | None = None  # the run itself failed (exit code 2)

    @property
    def ok(self) -> bool:
        return (
            self.failure is None
            and not self.problems
            and bool(self.tables)
            and all(table.ok for table in self.tables)
            and all(sync.ok for sync in self.syncs)
        )

    @property
    def verdict(self) -> str:
        if self.failure is not None:
            return "FAILED"
        return "FULL MATCH" if self.ok else "MISMATCH"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        data["verdict"] = self.verdict
        for table, result in zip(data["tables"], self.tables, strict=True):
            table["ok"] = result.ok
        for sync, summary in zip(data["syncs"], self.syncs, strict=True):
            sync["ok"] = summary.ok
            sync["verdict"] = summary.verdict
            for table, result in zip(sync["tables"], summary.tables, strict=True):
                table["ok"] = result.ok
        return data


def summary_table(report: RunReport, sync: SyncSummary | None = None) -> Table:
    """The per-table counts after `sync` (default: after the last sync, `report.tables`)."""
    results = report.tables if sync is None else sync.tables
    title = "warehouse.db (fivetran debug) vs CrateDB"
    if sync is not None:
        title += f" after sync {sync.number}"
    elif report.syncs:
        title += f" after the last sync ({report.syncs[-1].number})"
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("table", "left"),
        ("rows", "right"),
        ("matched", "right"),
        ("different", "right"),
        ("missing", "right"),
        ("extra", "right"),
        ("verdict", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for result in results:
        verdict = "[green]match[/]" if result.ok else "[red]DIFFERENT[/]"
        if result.problems and not (result.different or result.missing or result.extra):
            verdict = f"[red]{len(result.problems)} problem(s)[/]"
        table.add_row(
            result.table,
            str(result.warehouse_rows),
            str(result.matched),
            str(result.different),
            str(result.missing),
            str(result.extra),
            verdict,
        )
    return table


def print_summary(report: RunReport, console: Console) -> None:
    for sync in report.syncs:
        if sync.failure and (report.failure is None or report.failure.sync != sync.number):
            console.print(
                f"[red]sync {sync.number}:[/] {sync.failure}; the end of its output:", highlight=False
            )
            console.print(_indented(sync.log_tail, 12), highlight=False, markup=False)
    if report.failure is not None:
        _print_failure(report, console)
        return
    last = report.syncs[-1] if report.syncs else None
    for sync in report.syncs:  # an earlier sync that differed: its own table (the last one follows below)
        if sync is not last and sync.compared and not sync.ok:
            console.print(summary_table(report, sync))
            _print_problems(console, f"sync {sync.number}: ", sync.problems, sync.tables)
    console.print(summary_table(report))
    if last is not None and last.problems:
        _print_problems(console, f"sync {last.number}: ", last.problems, [])
    _print_problems(console, "", report.problems, report.tables)
    if report.syncs:
        verdicts = ", ".join(f"sync {sync.number}: {sync.verdict}" for sync in report.syncs)
        console.print(f"per sync: {verdicts}", highlight=False)
    total = sum(result.warehouse_rows for result in report.tables)
    if report.ok:
        console.print(
            f"[bold green]FULL MATCH[/]: {len(report.tables)} tables, {total} rows, {report.seconds:.1f} s"
        )
    else:
        console.print(f"[bold red]MISMATCH[/]: see the report for the differences ({report.seconds:.1f} s)")


def _indented(text: str, lines: int | None = None) -> str:
    kept = text.rstrip("\n").splitlines()
    if lines is not None:
        kept = kept[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    (no output)"


def _print_failure(report: RunReport, console: Console) -> None:
    failure = report.failure
    assert failure is not None
    if failure.log_tail:
        console.print("the end of fivetran debug's output (configuration values redacted):", highlight=False)
        console.print(_indented(failure.log_tail, 25), highlight=False, markup=False)
    for sync in report.syncs:
        if sync.compared:
            console.print(f"sync {sync.number}: {sync.verdict}", highlight=False)
    console.print(f"[bold red]FAILED[/]: {failure.headline()} ({report.seconds:.1f} s)", highlight=False)


def _fenced(text: str) -> list[str]:
    """`text` as a Markdown code block whose fence no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text.rstrip("\n"), fence]


def _print_problems(console: Console, prefix: str, problems: list[str], tables: list[TableResult]) -> None:
    for problem in problems:
        console.print(f"[red]{prefix}problem:[/] {problem}", highlight=False)
    for result in tables:
        for problem in result.problems:
            console.print(f"[red]{prefix}{result.table}:[/] {problem}", highlight=False)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "\\n")


def markdown(report: RunReport) -> str:
    lines = [
        f"# fivetran-e2e run {report.run_id}: {report.verdict}",
        "",
        f"- Connector: `{report.connector}`",
        f"- CrateDB: {report.cratedb}",
        f"- Destination: {report.destination}",
        f"- Started {report.started}, finished {report.finished} ({report.seconds:.1f} s)",
        "",
    ]
    if report.failure is not None:
        lines += ["## Failure", "", f"**{_cell(report.failure.headline())}**", ""]
        if report.failure.log_tail:
            lines += ["The end of fivetran debug's output (configuration values redacted):", ""]
            lines += [*_fenced(report.failure.log_tail), ""]
    lines += [
        "## Syncs",
        "",
        "| sync | result | operations | committed | capture | fivetran debug s | replay s | compare s "
        "| comparison after the sync |",
        "|---:|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for sync in report.syncs:
        lines.append(
            f"| {sync.number} | {'succeeded' if sync.succeeded else 'FAILED'} | {sync.operations} | "
            f"{sync.committed_operations} | {_cell(sync.capture)} | {sync.debug_seconds:.1f} | "
            f"{sync.replay_seconds:.1f} | {sync.compare_seconds:.1f} | {_cell(sync.verdict)} |"
        )
    for sync in report.syncs:
        if sync.failure and (report.failure is None or report.failure.sync != sync.number):
            lines += ["", f"Sync {sync.number}: {_cell(sync.failure)}; the end of its output:", ""]
            lines += _fenced(sync.log_tail)
    lines += ["", f"Comparison: {report.compare_seconds:.1f} s in all."]
    last = report.syncs[-1] if report.syncs else None
    for sync in report.syncs:
        if sync is not last and sync.compared and not sync.ok:
            lines += ["", f"## Tables after sync {sync.number}: {sync.verdict}", ""]
            lines += _table_lines(sync.tables)
            lines += [f"- problem: {_cell(p)}" for p in sync.problems]
            lines += _detail_lines(sync.tables, f"sync {sync.number}: ", "###")
    heading = "## Tables" + (f" after the last sync ({last.number})" if last is not None else "")
    lines += ["", heading, "", *_table_lines(report.tables)]
    problems = (last.problems if last is not None else []) + report.problems
    if problems:
        lines += ["", "## Problems", ""] + [f"- {_cell(p)}" for p in problems]
    lines += _detail_lines(report.tables, "", "##")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {_cell(n)}" for n in report.notes]
    if report.replay:
        lines += ["", "## Replay", "", "```json", json.dumps(report.replay, indent=2, sort_keys=True), "```"]
    return "\n".join(lines) + "\n"


def _table_lines(tables: list[TableResult]) -> list[str]:
    lines = [
        "| table | CrateDB table | rows | matched | different | missing | extra | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in tables:
        lines.append(
            f"| {t.table} | {t.cratedb_table} | {t.warehouse_rows} | {t.matched} | {t.different} | "
            f"{t.missing} | {t.extra} | {'match' if t.ok else 'DIFFERENT'} |"
        )
    return lines


def _detail_lines(tables: list[TableResult], prefix: str, level: str) -> list[str]:
    lines: list[str] = []
    for t in tables:
        if t.ok and not t.notes:
            continue
        lines += ["", f"{level} {prefix}{t.table}", ""]
        lines += [f"- problem: {_cell(p)}" for p in t.problems]
        lines += [f"- note: {_cell(n)}" for n in t.notes]
        for diff in t.diffs:
            key = ", ".join(f"{k}={v}" for k, v in diff.key.items())
            lines.append(f"- **{diff.kind}** {_cell(key)}")
            if diff.cells:
                lines += ["", "  | column | warehouse.db | CrateDB |", "  |---|---|---|"]
                lines += [
                    f"  | {_cell(c.column)} | {_cell(c.warehouse)} | {_cell(c.cratedb)} |" for c in diff.cells
                ]
                lines.append("")
    return lines


def write_reports(report: RunReport, path: Path) -> tuple[Path, Path]:
    """Write `<path>.json` and `<path>.md` (an extension on `path` is replaced)."""
    base = path.with_suffix("") if path.suffix in (".json", ".md") else path
    base.parent.mkdir(parents=True, exist_ok=True)
    json_path = base.with_name(base.name + ".json")
    md_path = base.with_name(base.name + ".md")
    json_path.write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return json_path, md_path
