"""`fivetran-e2e mutants`: plant one bug at a time in a copy of the destination and check that we notice.

Each mutant is one exact text substitution in one file of `cratedb_destination`, verified to occur exactly
once. Per mutant the package is copied to a temporary folder (the repository is never modified), the
substitution is applied there, and a destination server is started in a subprocess with that copy first on
`PYTHONPATH`. The server process itself reports `cratedb_destination.__file__` and the file of the mutated
module, and that the mutated text is in it, before anything runs; a mutant whose server does not prove it
runs the copy is an error, never "caught".

The checks run unchanged, in their own processes, with the repository's package, against that server
(`--destination`) and a fresh embedded CrateDB emulator (`--cratedb-url`):

1. the main job, as `python3 dev.py run` runs it: `fivetran-e2e run --connector connector --syncs 3
   --destination-setting batch_size_rows=3 --destination-setting batch_size_bytes=1024`;
2. only if the main job did not notice: the scenario corpus, `fivetran-e2e scenarios e2e/scenarios`.

The harness never imports the mutated copy, so a bug in a module both share (`sql/identifiers.py`) cannot
be masked by the harness making the same mistake. A mutant whose bug no path can reach (the main job never
sends hard deletes, no path compares row numbers, ...) says so in its definition, with the reason; a path
that cannot reach a mutant (history mode and Migrate for the main job) is skipped for it, with the reason.
Before the mutants, the unmutated copy goes through the same paths (the baseline) and must pass.

Exit code: 0 when every runnable mutant was caught, 1 when one was missed, 2 on an error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "destination" / "cratedb_destination"
# As `python3 dev.py run` (dev.py MAIN_JOB; tests/e2e/test_mutants.py keeps the two equal).
MAIN_JOB = [
    *("--connector", "connector", "--syncs", "3"),
    *("--destination-setting", "batch_size_rows=3", "--destination-setting", "batch_size_bytes=1024"),
]
SCENARIOS = "e2e/scenarios"
PHASE_TIMEOUT = 900.0

NO_HISTORY = "the main job has no history mode (the Connector SDK tester has none)"
NO_MIGRATE = "the main job never sends Migrate"
NO_HARD_DELETE = "the main job deletes softly only (update files with _fivetran_deleted)"
NO_HARD_TRUNCATE = "the main job truncates softly only"


@dataclass(frozen=True)
class Mutant:
    name: str
    family: str
    file: str  # relative to cratedb_destination/
    old: str
    new: str
    what: str
    unreachable_because: str | None = None  # no path can show it: listed, never run
    skip_run_because: str | None = None  # the main job cannot reach it: straight to the scenarios


# The whole-column path of the XML row (the STRING row follows it).
_XML_COLUMN = (
    "        array_match=True,\n        column=_same(fast_columns.identity),\n"
    "    ),\n    TypeRow(\n        STRING"
)

# fmt: off
MUTANTS: tuple[Mutant, ...] = (
    # -- value conversion ----------------------------------------------------------------------------
    Mutant("bool_true_as_false", "conversion: BOOLEAN", "type_mapping.py",
           'if lowered == "true":\n        return True', 'if lowered == "true":\n        return False',
           "'true' is stored as false"),
    Mutant("short_max_refused", "conversion: integer range", "type_mapping.py",
           "SHORT: (-(2**15), 2**15 - 1)", "SHORT: (-(2**15), 2**15 - 2)",
           "SHORT range off by one at the top: 32767 is refused"),
    Mutant("long_min_refused", "conversion: integer range", "type_mapping.py",
           "LONG: (-(2**63), 2**63 - 1)", "LONG: (-(2**63) + 1, 2**63 - 1)",
           "LONG range off by one at the bottom: -2^63 is refused"),
    Mutant("decimal_half_even", "conversion: DECIMAL rounding", "type_mapping.py",
           "rounding=decimal.ROUND_HALF_UP", "rounding=decimal.ROUND_HALF_EVEN",
           "decimals rounded half-even instead of half away from zero"),
    Mutant("decimal_truncated", "conversion: DECIMAL rounding", "type_mapping.py",
           "rounding=decimal.ROUND_HALF_UP", "rounding=decimal.ROUND_DOWN",
           "decimals truncated to the scale instead of rounded"),
    Mutant("float_six_digits", "conversion: FLOAT/DOUBLE", "type_mapping.py",
           '        raise ConversionError("not a floating-point number")\n    return stripped',
           '        raise ConversionError("not a floating-point number")\n'
           '    return f"{float(stripped):.6g}"',
           "floating-point values cut to 6 significant digits"),
    Mutant("naive_date_day_month", "conversion: NAIVE_DATE", "type_mapping.py",
           "return f\"{match['year']}-{match['month']}-{match['day']}T00:00:00.000\"",
           "return f\"{match['year']}-{match['day']}-{match['month']}T00:00:00.000\"",
           "NAIVE_DATE with day and month swapped"),
    Mutant("naive_datetime_no_ms", "conversion: NAIVE_DATETIME", "type_mapping.py",
           "TIMESTAMP WITHOUT TIME ZONE.\n    return _local_datetime_text(match)",
           "TIMESTAMP WITHOUT TIME ZONE.\n    return _local_datetime_text(match)[:-4] + \".000\"",
           "NAIVE_DATETIME loses its milliseconds"),
    Mutant("fraction_two_digits", "conversion: NAIVE_DATETIME/UTC_DATETIME", "type_mapping.py",
           'return ((fraction or "") + "000")[:3]', 'return ((fraction or "") + "000")[:2] + "0"',
           "timestamps keep only hundredths of a second"),
    Mutant("utc_offset_sign", "conversion: UTC_DATETIME", "type_mapping.py",
           'suffix = f"{offset[0]}{hours}:{minutes}"', 'suffix = f"+{hours}:{minutes}"',
           "negative UTC offsets read as positive"),
    Mutant("naive_time_no_fraction", "conversion: NAIVE_TIME", "type_mapping.py",
           """fraction = f".{match['fraction']}" if match["fraction"] else \"\"""", 'fraction = ""',
           "NAIVE_TIME loses its fraction of a second"),
    Mutant("binary_last_byte", "conversion: BINARY", "type_mapping.py",
           '.decode("ascii")\n        return text\n',
           '.decode("ascii")\n        return base64.b64encode(base64.b64decode(text)[:-1]).decode("ascii")\n',
           "BINARY values lose their last byte"),
    Mutant("json_ints_as_floats", "conversion: JSON", "type_mapping.py",
           'raise ConversionError("not valid JSON") from None\n    return text',
           'raise ConversionError("not valid JSON") from None\n'
           "    return json.dumps(json.loads(text, parse_int=float))",
           "JSON integers stored as floats (1 -> 1.0)"),
    # The STRING and XML rows: converter and whole-column path planted alike, as one bug in the row would.
    Mutant("string_stripped", "conversion: STRING", "type_mapping.py",
           'STRING, "TEXT", "text", _fixed(_identity), str, array_match=True, '
           "column=_same(fast_columns.identity)",
           'STRING, "TEXT", "text", _fixed(str.strip), str, array_match=True, '
           "column=_same(lambda a: [v if v is None else v.strip() for v in a.to_pylist()])",
           "STRING values stripped of surrounding whitespace"),
    Mutant("xml_stripped", "conversion: XML", "type_mapping.py",
           "        XML,\n        \"TEXT\",\n        \"text\",\n        _fixed(_identity),",
           "        XML,\n        \"TEXT\",\n        \"text\",\n        _fixed(str.strip),",
           "XML values stripped of surrounding whitespace by the per-cell converter"),
    Mutant("xml_stripped_columns", "conversion: XML", "type_mapping.py",
           _XML_COLUMN,
           _XML_COLUMN.replace("fast_columns.identity", "lambda a: [v if v is None else v.strip() for v in "
                               "a.to_pylist()]"),
           "XML values stripped of surrounding whitespace"),
    Mutant("xml_line_ends_normalised", "conversion: XML", "type_mapping.py",
           _XML_COLUMN, _XML_COLUMN.replace(
               "fast_columns.identity",
               "lambda a: fast_columns.Direct(__import__('pyarrow.compute').compute"
               ".replace_substring(a, '\\r\\n', '\\n'))"),
           "XML line ends normalised as an XML parser would (CRLF -> LF) instead of kept as sent"),
    # -- whole-column fast paths (fast_columns.py) ------------------------------------------------------
    Mutant("fast_bool_inverted", "conversion: BOOLEAN (whole column)", "fast_columns.py",
           'return Direct(pc.equal(array, "true"))', 'return Direct(pc.equal(array, "false"))',
           "the whole-column path stores 'true' as false"),
    Mutant("fast_fraction_two_digits", "conversion: timestamps (whole column)", "fast_columns.py",
           "digits = pc.utf8_slice_codeunits(array, 20, 23)",
           "digits = pc.utf8_slice_codeunits(array, 20, 22)",
           "the whole-column path keeps only hundredths of a second of fractions not already 3 digits"),
    # -- JSON stored as OBJECT (json_storage = object) ------------------------------------------------------
    Mutant("json_object_setting_ignored", "storage: JSON as OBJECT", "type_mapping.py",
           "wanted = JSON_OBJECT if json_storage == JSON_OBJECT and not spec.primary_key else None",
           "wanted = None",
           "json_storage = object is ignored: new JSON columns are TEXT",
           skip_run_because="the main job runs with the default json_storage (text)"),
    Mutant("json_object_envelope_key_kept", "storage: JSON as OBJECT", "type_mapping.py",
           "if isinstance(parsed, dict) and JSON_ENVELOPE not in parsed:",
           "if isinstance(parsed, dict):",
           "an object holding the envelope's own key is stored as is, so it reads back as the envelope",
           skip_run_because="the main job runs with the default json_storage (text)"),
    # -- chunking --------------------------------------------------------------------------------------
    Mutant("chunk_drops_last_row", "chunking: sized_column_chunks", "services/writes.py",
           "        yield first, chunk\n",
           "        yield first, chunk.slice(0, chunk.num_rows - 1)\n",
           "off by one: the last row of every chunk is dropped"),
    Mutant("chunk_byte_split_skips_row", "chunking: ChunkAssembler", "batch/columnar.py",
           "            yield self._cut(count)\n",
           "            yield self._cut(count)\n            if count < max_rows and self._rows:\n"
           "                self._cut(1)\n",
           "off by one after a chunk ended at the byte budget while reading: the next row is dropped"),
    Mutant("chunk_row_numbers", "chunking: sized_column_chunks", "services/writes.py",
           "        first += rows\n", "        first += rows + 1\n",
           "off by one in row numbering across chunks",
           unreachable_because="row numbers only appear in error messages; no path compares them "
           "(equivalent for the data)"),
    # -- file kinds --------------------------------------------------------------------------------------
    Mutant("replace_do_nothing", "file: replace", "sql/dml.py",
           "DO UPDATE SET {', '.join(assignments)}", "DO NOTHING",
           "an upsert of an existing key keeps the old row"),
    Mutant("replace_absent_columns_kept", "file: replace", "sql/dml.py",
           'assignments += [f"{column(name)} = NULL" for name in null_columns if name not in keys]',
           "assignments += []",
           "a replace file without some table columns keeps their old values instead of NULL",
           unreachable_because="the harness and the scenario runner write every table column into replace "
           "files, as Fivetran does; the defensive NULL path is covered by tests/integration/"
           "test_destination_writes.py::test_replace_without_some_columns_sets_them_null"),
    Mutant("update_selective_unmodified_null", "file: update", "services/writes.py",
           "flags = [True] * chunk.num_rows if mark is None else pc.invert(mark).to_pylist()",
           "flags = [True] * chunk.num_rows",
           "the CASE statement (more than two column sets in a chunk) writes unmodified cells as NULL"),
    Mutant("update_single_column_skipped", "file: update", "services/writes.py",
           "        if signature:\n", "        if signature.bit_count() > 1:\n",
           "an update row that modifies one column only is skipped",
           skip_run_because="every update row of the main job modifies _fivetran_synced and "
           "_fivetran_deleted (fivetran debug gives every table _fivetran_deleted), even one that names "
           "the key alone"),
    Mutant("update_group_threshold", "file: update", "services/writes.py",
           "groups <= MAX_UPDATE_STATEMENTS_PER_CHUNK and not _repeats_a_key(keys())",
           "groups < MAX_UPDATE_STATEMENTS_PER_CHUNK and not _repeats_a_key(keys())",
           "one column set fewer before the CASE statement is used",
           unreachable_because="equivalent: both the grouped and the CASE path write the same values (a "
           "chunk that repeats a key always takes the CASE path, in file order)"),
    Mutant("settle_inverted", "file: update/delete (missing-key settle)", "services/writes.py",
           "if existing is None or self._key_of(args[index]) in existing]",
           "if existing is not None and self._key_of(args[index]) not in existing]",
           "the settle path retries the missing keys and drops the existing ones",
           unreachable_because="equivalent unless a row whose key exists fails without details (over 10 "
           "other failures on one shard), which neither path can produce; tests/unit/test_write_pipeline.py"
           "::test_rows_failed_without_details_are_settled_by_a_lookup catches it"),
    Mutant("delete_ignored", "file: delete", "services/writes.py",
           "    def delete(self, options: WriteOptions) -> None:\n        self._apply(",
           "    def delete(self, options: WriteOptions) -> None:\n        return\n        self._apply(",
           "delete files are ignored", skip_run_because=NO_HARD_DELETE),
    # -- truncate ----------------------------------------------------------------------------------------
    Mutant("truncate_hard_noop", "truncate: hard", "services/truncate.py",
           "count = session.execute(dml.delete_synced_before(table, synced_column), [cutoff])",
           "count = 0",
           "a hard Truncate deletes nothing", skip_run_because=NO_HARD_TRUNCATE),
    Mutant("truncate_hard_inclusive", "truncate: hard", "sql/dml.py",
           "DELETE FROM {table.sql} WHERE {column(synced_column)} < ",
           "DELETE FROM {table.sql} WHERE {column(synced_column)} <= ",
           "a hard Truncate also deletes rows synced exactly at the cutoff",
           skip_run_because=NO_HARD_TRUNCATE),
    Mutant("truncate_soft_noop", "truncate: soft", "services/truncate.py",
           "count = session.execute(\n            dml.mark_deleted_synced_before",
           "count = 0 and session.execute(\n            dml.mark_deleted_synced_before",
           "a soft Truncate flags nothing"),
    # -- history mode --------------------------------------------------------------------------------------
    Mutant("history_earliest_close_at_start", "history: earliest_start", "services/history.py",
           "closes.append([iso_ms(instant - 1), *values, iso_ms(version_start)])",
           "closes.append([iso_ms(instant), *values, iso_ms(version_start)])",
           "earliest_start closes the active version at the new start instead of 1 ms before",
           skip_run_because=NO_HISTORY),
    Mutant("history_update_previous_null", "history: update", "services/history.py",
           "values.append(previous[index])", "values.append(None)",
           "an update's unmodified columns become NULL instead of the previous version's values",
           skip_run_because=NO_HISTORY),
    Mutant("history_delete_no_close", "history: delete", "services/history.py",
           "            if closes:\n                full_key = [*keys, START]",
           "            if False:\n                full_key = [*keys, START]",
           "a history delete file does not close the active version", skip_run_because=NO_HISTORY),
    # -- migrate -----------------------------------------------------------------------------------------
    Mutant("migrate_add_default_null", "migrate: add column with default", "services/migrate.py",
           "[value])\n    log.info(\"migrate %s: column %r set to its default",
           "[None])\n    log.info(\"migrate %s: column %r set to its default",
           "add_column_with_default leaves existing rows NULL", skip_run_because=NO_MIGRATE),
    Mutant("migrate_update_value_null", "migrate: update column value", "services/migrate.py",
           "[value])\n    log.info(\"migrate %s: column %r updated on",
           "[None])\n    log.info(\"migrate %s: column %r updated on",
           "update_column_value sets NULL", skip_run_because=NO_MIGRATE),
    Mutant("migrate_rename_column_swapped", "migrate: rename", "services/migrate.py",
           "sql.rename_column(ref, old.name, op.to_column)", "sql.rename_column(ref, op.to_column, old.name)",
           "rename_column with its names swapped", skip_run_because=NO_MIGRATE),
    Mutant("migrate_copy_column_reversed", "migrate: copy", "services/migrate.py",
           "sql.copy_column_values(ref, source.name, target.name)",
           "sql.copy_column_values(ref, target.name, source.name)",
           "copy_column copies the new (empty) column onto the source", skip_run_because=NO_MIGRATE),
    Mutant("migrate_drop_table_kept", "migrate: drop", "services/migrate.py",
           "    session.execute(ddl.drop_table(ref))\n    metadata.forget(session, ref)",
           "    metadata.forget(session, ref)",
           "drop_table keeps the table", skip_run_because=NO_MIGRATE),
    Mutant("migrate_soft_delete_to_history_active_flipped", "migrate: sync mode", "sql/migrate.py",
           'history = f"{pick}, {pick}, NOT {flagged}"', 'history = f"{pick}, {pick}, {flagged}"',
           "soft_delete_to_history makes deleted rows active and live rows closed",
           skip_run_because=NO_MIGRATE),
    Mutant("migrate_history_to_soft_delete_keep_inverted", "migrate: sync mode", "sql/migrate.py",
           '("" if keep_deleted else', '("" if not keep_deleted else',
           "history_to_soft_delete inverts keep_deleted_rows", skip_run_because=NO_MIGRATE),
    # -- identifiers -------------------------------------------------------------------------------------
    Mutant("quote_no_escape", "identifiers: quote", "sql/identifiers.py",
           """return '"' + name.replace('"', '""') + '"'""", """return '"' + name + '"'""",
           "identifiers quoted without doubling embedded double quotes"),
    Mutant("quote_lowercase", "identifiers: quote", "sql/identifiers.py",
           """return '"' + name.replace('"', '""') + '"'""",
           """return '"' + name.replace('"', '""').lower() + '"'""",
           "quoted identifiers lower-cased"),
    Mutant("system_column_not_renamed", "identifiers: system column stored name", "sql/identifiers.py",
           'return "_" + name if name in CRATEDB_SYSTEM_COLUMNS else name', "return name",
           "columns named like CrateDB system columns (_id) are not stored as __id"),
)
# fmt: on

SUBSETS: dict[str, tuple[str, ...]] = {
    # CI: three caught by the main job, one only the scenarios can reach (~2 minutes on 2 cores)
    "fast": ("truncate_soft_noop", "update_selective_unmodified_null", "utc_offset_sign", "delete_ignored"),
}

# Runs inside the destination subprocess, with the mutated copy first on PYTHONPATH: proves which package
# serves, then serves until stdin closes.
_SERVER = r"""
import json, sys, importlib, pathlib
info_path, module_name, needle = sys.argv[1], sys.argv[2], sys.argv[3]
import cratedb_destination
from cratedb_destination.server import start_server
module = importlib.import_module(module_name)
server, port = start_server(host="127.0.0.1", port=0)
source = pathlib.Path(module.__file__).read_text(encoding="utf-8")
info = {"port": port, "package_file": cratedb_destination.__file__, "module_file": module.__file__,
        "mutant_in_module": needle in source, "pid": __import__("os").getpid()}
pathlib.Path(info_path).write_text(json.dumps(info), encoding="utf-8")
sys.stdin.read()
server.stop(None)
"""


class MutantError(Exception):
    """A mutant that cannot be applied, or a server that does not prove it runs the copy."""


@dataclass
class PhaseResult:
    path: str  # "run" or "scenarios"
    exit_code: int
    seconds: float
    evidence: list[str] = field(default_factory=list)

    @property
    def noticed(self) -> bool:
        return self.exit_code != 0


@dataclass
class MutantResult:
    name: str
    family: str
    what: str
    status: str  # caught, missed, unreachable, error
    caught_by: str | None = None
    reason: str | None = None
    proof: dict[str, Any] | None = None
    phases: list[PhaseResult] = field(default_factory=list)
    seconds: float = 0.0


def apply(mutant: Mutant, package: Path) -> Path:
    """Apply `mutant` to the copy at `package` (exactly one occurrence, or MutantError); returns the file."""
    target = package / mutant.file
    text = target.read_text(encoding="utf-8")
    count = text.count(mutant.old)
    if count != 1:
        raise MutantError(
            f"{mutant.name}: the text to replace occurs {count} times in {mutant.file}, not once"
        )
    target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
    return target


def module_name(mutant: Mutant) -> str:
    return "cratedb_destination." + mutant.file.removesuffix(".py").replace("/", ".")


def copy_package(into: Path) -> Path:
    site = into / "site"
    shutil.copytree(PACKAGE, site / "cratedb_destination", ignore=shutil.ignore_patterns("__pycache__"))
    return site / "cratedb_destination"


def harness_environment() -> dict[str, str]:
    """`fivetran debug` needs the venv's bin first on PATH (it calls pipreqs) and telemetry off."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DO_NOT_TRACK"] = "1"
    env.pop("CRATEDB_URL", None)  # every phase gets its own fresh emulator
    return env


@contextlib.contextmanager
def mutated_server(site: Path, module: str, needle: str, work: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """A destination server in a subprocess with `site` first on PYTHONPATH, and its proof of origin."""
    info_path = work / f"server-{time.monotonic_ns()}.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    log = (work / "server.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(info_path), module, needle],
        env=env,
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
    )
    try:
        deadline = time.monotonic() + 60
        while not info_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (work / "server.log").read_text(encoding="utf-8", errors="replace")[-2000:]
                raise MutantError(f"the destination server did not start: {tail}")
            time.sleep(0.05)
        time.sleep(0.05)  # the file is written in one call; let it be closed
        info = json.loads(info_path.read_text(encoding="utf-8"))
        for key in ("package_file", "module_file"):
            if not Path(info[key]).resolve().is_relative_to(site.resolve()):
                raise MutantError(f"the server runs {info[key]}, not the copy in {site}")
        if not info["mutant_in_module"]:
            raise MutantError(f"the server's {info['module_file']} does not hold the planted bug")
        yield f"127.0.0.1:{info['port']}", info
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    from cratedb_emulator import Emulator

    instance = Emulator(host="127.0.0.1", port=0)
    instance.start()
    try:
        yield str(instance.url)
    finally:
        instance.stop()


def _run_evidence(report: Path) -> list[str]:
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["no report"]
    evidence = []
    if data.get("failure"):
        failure = data["failure"]
        evidence.append(
            f"FAILED by {failure.get('by')} in sync {failure.get('sync')}: {failure.get('reason')}"[:300]
        )
    for sync in data.get("syncs", []):
        for table in sync.get("tables", []):
            if not table.get("ok", True):
                counts = ", ".join(
                    f"{table.get(k)} {k}" for k in ("different", "missing", "extra") if table.get(k)
                )
                detail = counts or "; ".join(table.get("problems", []))[:200]
                evidence.append(f"sync {sync['number']}: {table['table']}: {detail}")
        evidence += [f"sync {sync['number']}: {p}"[:300] for p in sync.get("problems", [])]
    evidence += [str(p)[:300] for p in data.get("problems", [])]
    return evidence


def _scenario_evidence(report: Path) -> list[str]:
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["no report"]
    evidence = []
    for result in data.get("results", []):
        if result["status"] != "pass":
            first = (result.get("problems") or [""])[0]
            evidence.append(f"{result['file']}: {result['status'].upper()}: {first}"[:300])
    return evidence


def run_phase(path: str, address: str, work: Path, settings: Sequence[str] = ()) -> PhaseResult:
    """One check (the main job or the scenario corpus) against the server at `address`."""
    command = [str(Path(sys.executable).parent / "fivetran-e2e")]
    with emulator() as url:
        if path == "run":
            report = work / f"run-{time.monotonic_ns()}"
            command += ["run", *MAIN_JOB, "--no-progress", "--report", str(report)]
            report_file = report.with_suffix(".json")
        else:
            report_file = work / f"scenarios-{time.monotonic_ns()}.json"
            command += ["scenarios", SCENARIOS, "--report", str(report_file)]
        command += ["--destination", address, "--cratedb-url", url, *settings]
        started = time.monotonic()
        with (work / f"{path}.log").open("ab") as log:
            completed = subprocess.run(
                command,
                cwd=REPO,
                env=harness_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=PHASE_TIMEOUT,
                check=False,
            )
    seconds = time.monotonic() - started
    evidence = _run_evidence(report_file) if path == "run" else _scenario_evidence(report_file)
    return PhaseResult(path, completed.returncode, seconds, evidence if completed.returncode else [])


def check(mutant: Mutant | None, scratch: Path, paths: Sequence[str] = ("run", "scenarios")) -> MutantResult:
    """Plant `mutant` (None: the baseline) in a fresh copy and run the paths until one notices it."""
    name = mutant.name if mutant else "baseline"
    result = MutantResult(
        name, mutant.family if mutant else "-", mutant.what if mutant else "no bug planted", ""
    )
    if mutant is not None and mutant.unreachable_because:
        result.status, result.reason = "unreachable", mutant.unreachable_because
        return result
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f"mutant-{name}-", dir=scratch))
    try:
        package = copy_package(work)
        if mutant is not None:
            apply(mutant, package)
        module = module_name(mutant) if mutant else "cratedb_destination.server"
        needle = mutant.new if mutant else "def start_server"
        for path in paths:
            if path == "run" and mutant is not None and mutant.skip_run_because:
                result.reason = f"main job skipped: {mutant.skip_run_because}"
                continue
            with mutated_server(package.parent, module, needle, work) as (address, proof):
                result.proof = proof
                phase = run_phase(path, address, work)
            result.phases.append(phase)
            if phase.noticed:
                result.status, result.caught_by = "caught", path
                break
        else:
            result.status = "missed" if mutant is not None else "passed"
    except (MutantError, subprocess.TimeoutExpired) as error:
        result.status, result.reason = "error", str(error)[:500]
    finally:
        result.seconds = time.monotonic() - started
        shutil.rmtree(work, ignore_errors=True)
    return result


def select(names: Sequence[str], subset: str | None) -> list[Mutant]:
    by_name = {mutant.name: mutant for mutant in MUTANTS}
    wanted = list(names) or list(SUBSETS[subset] if subset else by_name)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise SystemExit(f"fivetran-e2e mutants: unknown mutants {unknown}")
    return [by_name[name] for name in wanted]


def summary(results: Sequence[MutantResult]) -> dict[str, Any]:
    counts = {
        status: sum(r.status == status for r in results)
        for status in ("caught", "missed", "unreachable", "error")
    }
    runnable = counts["caught"] + counts["missed"]
    return {
        **counts,
        "score": f"{counts['caught']}/{runnable}" if runnable else "-",
        "missed_mutants": [r.name for r in results if r.status == "missed"],
        "mutants": [asdict(r) for r in results],
    }


def _print_row(result: MutantResult) -> None:
    where = result.caught_by or ""
    detail = "; ".join(p for phase in result.phases for p in phase.evidence[:2]) or result.reason or ""
    print(
        f"{result.status.upper():<11} {result.name:<46} {where:<9} {result.seconds:5.0f}s  {detail[:160]}",
        flush=True,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fivetran-e2e mutants",
        description="Plant one bug at a time in a temporary copy of cratedb_destination and check that the "
        "main job (then the scenario corpus) notices it. Exit code 0 only if no runnable mutant is missed.",
    )
    parser.add_argument("names", nargs="*", help="mutants to run (default: all, or --subset)")
    parser.add_argument("--subset", choices=sorted(SUBSETS), help="a named subset (fast: for CI)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--json", type=Path, help="also write the JSON summary to this file")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated baseline run")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    mutants = select(args.names, args.subset)
    if args.list:
        for mutant in mutants:
            note = mutant.unreachable_because or (
                f"scenarios only: {mutant.skip_run_because}" if mutant.skip_run_because else ""
            )
            print(f"{mutant.name:<46} {mutant.family:<40} {mutant.file:<22} {note}")
        return 0
    # Every mutant's text must apply to the current source before anything runs.
    pristine = {mutant.file: (PACKAGE / mutant.file).read_text(encoding="utf-8") for mutant in mutants}
    stale = [m.name for m in mutants if pristine[m.file].count(m.old) != 1]
    if stale:
        print(
            f"fivetran-e2e mutants: these no longer apply exactly once to the source: {stale}",
            file=sys.stderr,
        )
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="fivetran-e2e-mutants-"))
    started = time.monotonic()
    results: list[MutantResult] = []
    try:
        if not args.no_baseline:
            baseline = check(None, scratch)
            _print_row(baseline)
            if baseline.status != "passed":  # the unmutated copy must pass every path
                print(
                    "fivetran-e2e mutants: the baseline (no bug planted) does not pass; nothing to judge",
                    file=sys.stderr,
                )
                return 2
        print(f"{'STATUS':<11} {'MUTANT':<46} {'BY':<9} {'TIME':>6}  EVIDENCE / REASON")
        for mutant in mutants:
            result = check(mutant, scratch)
            results.append(result)
            _print_row(result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    data = summary(results)
    data["seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(data, indent=2)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in data.items() if k != "mutants"}))
    if data["error"]:
        return 2
    return 1 if data["missed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
