"""The scenario corpus through the real destination (in-process) into CrateDB, checked against the model.

Runs against the embedded emulator, or a real CrateDB when CRATEDB_URL is set. A file whose operations
the destination answers with UNIMPLEMENTED (history mode and Migrate are built later) is an expected
failure for now, never a pass; any other outcome than a full match fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from cratedb_destination.server import start_server
from cratedb_destination.sql.identifiers import TableRef
from fivetran_e2e.cratedb_reader import CrateReader
from fivetran_e2e.data_types import SCENARIO_TYPES
from fivetran_e2e.model import (
    DDL_CHANGES,
    MIGRATIONS,
    SCENARIO_KEYS,
    TRUNCATE_CUTOFFS,
    TRUNCATE_KINDS,
    WRITE_KINDS,
    Column,
    Table,
    load_scenario,
    parse_scenario,
)
from fivetran_e2e.scenarios import (
    FileResult,
    ScenarioRunner,
    Status,
    compare_rows,
    from_cratedb,
    local_services,
    main,
)
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc

CORPUS = Path(__file__).resolve().parents[2] / "e2e" / "scenarios"
SMOKE = CORPUS / "000_smoke.json"
BUILT_LATER = {"WriteHistoryBatch", "Migrate"}


@pytest.fixture(scope="module")
def runner(cratedb_url: str) -> Iterator[ScenarioRunner]:
    with (
        local_services(cratedb_url, None) as (address, url),
        ScenarioRunner(address, url, schema_name="scn") as r,
    ):
        r.wait_ready()
        yield r


def explain(result: FileResult) -> str:
    return f"{result.file}: {result.status.value}\n" + "\n".join(result.problems)


@pytest.mark.cratedb
@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.json")), ids=lambda path: path.stem)
def test_corpus_file_matches_the_model(runner: ScenarioRunner, path: Path) -> None:
    result = runner.run_file(path)
    if result.status is Status.UNSUPPORTED and result.unsupported_rpc in BUILT_LATER:
        pytest.xfail(f"history/migrate not implemented yet: {result.problems[0]}")
    assert result.status is Status.PASS, explain(result)
    assert result.rpcs.get("DescribeTable", 0) >= 1


@pytest.mark.cratedb
def test_keys_merged_by_millisecond_precision_pass_with_notes(runner: ScenarioRunner) -> None:
    """Not refused: CrateDB merges keys that differ below the millisecond, the model does too, and the
    result says which source rows were merged and why."""
    result = runner.run_file(CORPUS / "044_sub_millisecond_keys.json")
    assert result.status is Status.PASS, explain(result)
    assert len(result.notes) >= 5 and all("below the millisecond" in note for note in result.notes)
    assert result.to_json()["notes"] == result.notes


@pytest.mark.cratedb
def test_differences_in_cratedb_are_reported(runner: ScenarioRunner, cratedb_url: str) -> None:
    """The check is not vacuous: tampering with what the destination wrote makes it fail."""
    runner.keep = True
    try:
        result = runner.run_file(SMOKE)
    finally:
        runner.keep = False
    assert result.status is Status.PASS, explain(result)
    assert result.model is not None
    users = TableRef(result.schema, "users")
    try:
        with CrateReader(cratedb_url) as reader:
            reader.execute(f'UPDATE {users.sql} SET "name" = ? WHERE "id" = ?', ["Mallory", 1])
            reader.execute(f'DELETE FROM {users.sql} WHERE "id" = ?', [2])
            reader.execute(f'CREATE TABLE {TableRef(result.schema, "stray").sql} ("x" INTEGER)')
        problems = runner.check_state(result.schema, result.model)
    finally:
        runner.drop_schema(result.schema)
    assert any("column 'name'" in p and "'Mallory'" in p for p in problems), problems
    assert any("row (2,) is missing" in p for p in problems), problems
    assert any("'stray' should not exist" in p for p in problems), problems


class _Unimplemented(destination_sdk_pb2_grpc.DestinationConnectorServicer):
    """Every RPC answers UNIMPLEMENTED (the generated base class)."""


class _TaskOnCreate(destination_sdk_pb2_grpc.DestinationConnectorServicer):
    def CreateTable(self, request: object, context: grpc.ServicerContext) -> object:
        return destination_sdk_pb2.CreateTableResponse(task=common_pb2.Task(message="no permission"))


@pytest.mark.cratedb
@pytest.mark.parametrize(
    ("servicer", "status", "text"),
    [(_Unimplemented(), Status.UNSUPPORTED, "CreateTable"), (_TaskOnCreate(), Status.ERROR, "no permission")],
)
def test_unimplemented_and_tasks_are_never_a_pass(
    cratedb_url: str, servicer: object, status: Status, text: str
) -> None:
    server, port = start_server(servicer=servicer)  # type: ignore[arg-type]
    try:
        with ScenarioRunner(f"127.0.0.1:{port}", cratedb_url) as scenario_runner:
            result = scenario_runner.run_file(SMOKE)
    finally:
        server.stop(None)
    assert result.status is status
    assert text in result.problems[0]


@pytest.mark.cratedb
def test_command_line_runs_files_and_writes_a_report(cratedb_url: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    assert main([str(SMOKE), "--cratedb-url", cratedb_url, "--report", str(report), "--plain-text"]) == 0
    (entry,) = json.loads(report.read_text())["results"]
    assert entry["status"] == "pass" and entry["file"] == SMOKE.name


def test_invalid_scenarios_are_reported_before_any_rpc(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"create_table": {"t": {"columns": {"id": "TEXT"}}}}')
    with ScenarioRunner("127.0.0.1:9", "http://127.0.0.1:9") as nowhere:  # nothing listens there
        result = nowhere.run_file(bad)
    assert result.status is Status.INVALID and result.rpcs == {}
    assert "table 't' column 'id': unknown data type 'TEXT'" in result.problems[0]


def test_rows_are_compared_by_key_and_typed_value() -> None:
    table = Table("t", {"id": Column("id", "INT", True), "v": Column("v", "DOUBLE")}, False)
    table.insert({"id": 1, "v": 1.0})
    assert compare_rows(table, [{"id": 1, "v": 1.0}]) == []
    assert compare_rows(table, [{"id": 1, "v": 1}]) != []  # an int is not the DOUBLE the model expects
    assert compare_rows(table, [{"id": 1, "v": 1.0}, {"id": 1, "v": 1.0}])[0].endswith(
        "appears twice in CrateDB"
    )


def test_values_read_from_cratedb_become_canonical() -> None:
    assert from_cratedb("1.50", Column("d", "DECIMAL")) == Decimal("1.5")
    assert from_cratedb(3.14, Column("f", "FLOAT")) == from_cratedb(3.140000104904175, Column("f", "FLOAT"))
    assert from_cratedb("AAEC/w==", Column("b", "BINARY")) == b"\x00\x01\x02\xff"
    assert from_cratedb({"a": 1}, Column("j", "JSON")) == '{"a": 1}'


def test_the_corpus_covers_every_operation_and_type() -> None:
    """Guards the corpus against shrinking: every scenario key, op, migration and DataType appears."""
    seen: set[str] = set()
    for path in CORPUS.glob("*.json"):
        doc = load_scenario(path.read_text(encoding="utf-8"))
        parse_scenario(doc)
        seen |= set(doc)
        for op in doc.get("ops", []):
            seen |= set(op)
        for migration in doc.get("schema_migration", []):
            seen |= set(migration)
        for spec in list(doc.get("create_table", {}).values()) + list(doc.get("alter_table", {}).values()):
            seen |= {t if isinstance(t, str) else t["type"] for t in spec["columns"].values()}
            if spec.get("history_mode"):
                seen.add("history_mode")
            if spec.get("fivetran_deleted") is False:
                seen.add("fivetran_deleted")
        seen.add(doc.get("truncate_cutoff", TRUNCATE_CUTOFFS[0]))
    required = set(SCENARIO_TYPES) | set(DDL_CHANGES) | set(MIGRATIONS) | set(SCENARIO_KEYS)
    required |= (
        set(TRUNCATE_KINDS) | set(WRITE_KINDS) | set(TRUNCATE_CUTOFFS) | {"history_mode", "fivetran_deleted"}
    )
    assert required - seen == set()
