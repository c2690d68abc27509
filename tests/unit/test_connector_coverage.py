"""The reference connector covers every declarable type, every operation and the awkward values."""

from __future__ import annotations

import json
import re
import struct
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fivetran_e2e.capture import CaptureResult, capture_sync
from fivetran_e2e.operations import Cell, CellKind, DeclaredTable, Operation, OpKind

CONNECTOR_DIR = Path(__file__).resolve().parents[2] / "connector"
DEFAULTS: dict[str, str] = json.loads((CONNECTOR_DIR / "configuration.json").read_text(encoding="utf-8"))
ALL_DECLARABLE_TYPES = set(range(1, 15))  # BOOLEAN (1) ... JSON (14); NAIVE_TIME cannot be declared
DECIMAL, FLOAT, UTC_DATETIME, SHORT = 5, 6, 10, 2
SYNCS = 4


@pytest.fixture(scope="module")
def syncs() -> list[CaptureResult]:
    """Four syncs of the default configuration (truncate every 3rd sync)."""
    results: list[CaptureResult] = []
    state: Any = {}
    for _ in range(SYNCS):
        result = capture_sync(CONNECTOR_DIR, DEFAULTS, state)
        results.append(result)
        state = result.final_state
    return results


def data_operations(result: CaptureResult) -> list[Operation]:
    return [operation for operation in result.operations if operation.kind is not OpKind.CHECKPOINT]


def tables_by_name(result: CaptureResult) -> dict[str, DeclaredTable]:
    return {table.name: table for table in result.declared}


def test_every_declarable_type_is_declared(syncs: list[CaptureResult]) -> None:
    declared = {column.type for table in syncs[0].declared for column in table.columns}
    assert declared == ALL_DECLARABLE_TYPES


def test_every_operation_kind_is_emitted(syncs: list[CaptureResult]) -> None:
    kinds = {operation.kind for result in syncs for operation in result.operations}
    assert {OpKind.UPSERT, OpKind.UPDATE, OpKind.DELETE, OpKind.TRUNCATE, OpKind.CHECKPOINT} <= kinds
    first_sync_kinds = {operation.kind for operation in syncs[0].operations}
    assert first_sync_kinds == {OpKind.UPSERT, OpKind.CHECKPOINT}  # the initial load only inserts


def test_table_shapes(syncs: list[CaptureResult]) -> None:
    tables = tables_by_name(syncs[0])
    assert not any(column.primary_key for column in tables["audit_log"].columns)  # keyless
    assert [column.name for column in tables["sensors"].columns if column.primary_key] == [
        "device_id",
        "sensor_id",
    ]
    assert tables["sites"].schema == "fleet_ops"
    site_operations = [op for result in syncs for op in result.operations if op.table == "sites"]
    assert site_operations and all(operation.schema == "fleet_ops" for operation in site_operations)
    assert "firmware_rollouts" not in tables  # undeclared: every column inferred
    assert any(operation.table == "firmware_rollouts" for operation in syncs[0].operations)


def test_composite_key_delete_and_keyless_inserts(syncs: list[CaptureResult]) -> None:
    deletes = [op for op in syncs[1].operations if op.kind is OpKind.DELETE and op.table == "sensors"]
    assert deletes and set(deletes[0].data) == {"device_id", "sensor_id"}
    audit = [op for result in syncs for op in result.operations if op.table == "audit_log"]
    assert audit and all(op.kind is OpKind.UPSERT for op in audit)
    rows = [tuple(sorted((name, cell.text) for name, cell in op.data.items())) for op in audit]
    assert len(rows) == len(set(rows))  # distinct rows, so a keyless destination cannot merge them


def test_undeclared_columns_and_a_late_column(syncs: list[CaptureResult]) -> None:
    declared = {column.name for column in tables_by_name(syncs[0])["devices"].columns}
    first_upsert = next(op for op in syncs[0].operations if op.table == "devices")
    assert {"ownerTeam", "rack_units", "remote_access", "extra"} <= set(first_upsert.data) - declared
    assert first_upsert.data["extra"].kind is CellKind.JSON
    late = "battery_health_pct"
    assert not any(late in op.data for op in syncs[0].operations)
    assert any(late in op.data and op.kind is OpKind.UPDATE for op in syncs[1].operations)
    assert any(late in op.data and op.kind is OpKind.UPSERT for op in syncs[1].operations)


def test_updates_deletes_and_revivals_touch_existing_rows(syncs: list[CaptureResult]) -> None:
    inserted = {op.data["reading_id"].text for op in syncs[0].operations if op.table == "readings"}
    changed = [op for op in syncs[1].operations if op.table == "readings" and op.kind is not OpKind.UPSERT]
    assert {op.kind for op in changed} == {OpKind.UPDATE, OpKind.DELETE}
    assert {op.data["reading_id"].text for op in changed} <= inserted
    updated = [op.data["reading_id"].text for op in changed if op.kind is OpKind.UPDATE]
    deleted = [op.data["reading_id"].text for op in changed if op.kind is OpKind.DELETE]
    assert not set(updated) & set(deleted)
    # the device deleted in sync 2 comes back with a full upsert in sync 3
    deleted_device = next(
        op for op in syncs[1].operations if op.table == "devices" and op.kind is OpKind.DELETE
    )
    revived = next(op for op in syncs[2].operations if op.table == "devices" and op.kind is OpKind.UPSERT)
    assert revived.data["device_id"] == deleted_device.data["device_id"]


def test_an_update_with_the_key_alone(syncs: list[CaptureResult]) -> None:
    """Fivetran then changes only `_fivetran_synced` (our observation: `fivetran debug` advances it)."""
    for result in syncs[1:]:
        assert any(
            op.kind is OpKind.UPDATE and op.table == "sites" and set(op.data) == {"site_id"}
            for op in result.operations
        )


@pytest.mark.parametrize("table", ["firmware_rollouts", "maintenance_events", "audit_log"])
def test_small_tables_span_several_three_row_chunks_in_some_sync(
    syncs: list[CaptureResult], table: str
) -> None:
    """The main job sends 3 rows per bulk request: more than 3 rows of one file kind in one sync (replace
    files: upserts; update files: updates and soft deletes) span at least two."""
    most = Counter[str]()
    for result in syncs:
        kinds = Counter(
            "replace" if op.kind is OpKind.UPSERT else "update"
            for op in result.operations
            if op.table == table and op.kind in (OpKind.UPSERT, OpKind.UPDATE, OpKind.DELETE)
        )
        most |= kinds
    assert most["replace"] > 3
    if table == "maintenance_events":
        assert most["update"] > 3


def test_truncate_then_reload_every_third_sync(syncs: list[CaptureResult]) -> None:
    for number, result in enumerate(syncs, start=1):
        releases = [op for op in result.operations if op.table == "firmware_releases"]
        truncates = [op for op in releases if op.kind is OpKind.TRUNCATE]
        if number == 3:
            assert releases[0].kind is OpKind.TRUNCATE and len(truncates) == 1
            assert (
                all(op.kind is OpKind.UPSERT for op in releases[1:]) and len(releases) - 1 == 2 + number - 1
            )
        else:
            assert not truncates


def test_the_reload_after_a_truncate_leaves_rows_out(syncs: list[CaptureResult]) -> None:
    """Rows that existed before the truncate and are not reloaded: a truncate that does nothing shows."""
    existing: set[str | None] = set()
    for result in syncs[:2]:
        existing |= {op.data["version"].text for op in result.operations if op.table == "firmware_releases"}
    reloaded = {
        op.data["version"].text for op in syncs[2].operations if op.table == "firmware_releases" and op.data
    }
    assert existing - reloaded == {"1.1.0"}
    later = {
        op.data["version"].text
        for result in syncs[3:]
        for op in result.operations
        if op.table == "firmware_releases"
    }
    assert "1.1.0" not in later  # it stays gone


def modified_column_sets(result: CaptureResult, table: str, key: set[str]) -> set[frozenset[str]]:
    return {
        frozenset(op.data) - key for op in result.operations if op.table == table and op.kind is OpKind.UPDATE
    }


@pytest.mark.parametrize(("table", "key"), [("readings", {"reading_id"}), ("type_edge_cases", {"case_id"})])
def test_updates_of_one_table_in_one_sync_mix_more_than_two_column_sets(
    syncs: list[CaptureResult], table: str, key: set[str]
) -> None:
    for result in syncs[1:]:
        assert len(modified_column_sets(result, table, key)) >= 4


def test_the_edge_case_updates_modify_every_column_between_them(syncs: list[CaptureResult]) -> None:
    columns = {column.name for column in tables_by_name(syncs[0])["type_edge_cases"].columns} - {"case_id"}
    assert set().union(*modified_column_sets(syncs[1], "type_edge_cases", {"case_id"})) == columns


def test_deleted_keys_are_reinserted_in_the_same_sync_after_a_checkpoint(syncs: list[CaptureResult]) -> None:
    for result in syncs[1:]:
        events = [
            (op.kind, op.data["reading_id"].text if op.data else None)
            for op in result.operations
            if op.table == "readings" or op.kind is OpKind.CHECKPOINT
        ]
        deleted = {key for kind, key in events if kind is OpKind.DELETE}
        reinserted = []
        for position, (kind, key) in enumerate(events):
            if kind is OpKind.UPSERT and key in deleted:
                deletion = events.index((OpKind.DELETE, key))
                assert any(kind is OpKind.CHECKPOINT for kind, _ in events[deletion:position])
                reinserted.append(key)
        assert reinserted and len(reinserted) < len(deleted)  # some come back, some stay deleted


def test_dates_reach_from_year_1_to_9999_to_the_millisecond(syncs: list[CaptureResult]) -> None:
    texts: dict[str, set[str | None]] = {}
    for table, name, cell in cells(syncs):
        if table == "type_edge_cases":
            texts.setdefault(name, set()).add(cell.text)
    assert {"0001-01-01", "9999-12-31"} <= texts["c_naive_date"]
    assert {"0001-01-01T00:00:00", "9999-12-31T23:59:59.999000"} <= texts["c_naive_datetime"]
    assert {"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z"} <= texts["c_utc_datetime"]
    assert "2024-03-01T04:30:00.500Z" in texts["c_utc_datetime"]  # "2024-02-29T23:30:00.500-05:00"


def test_source_timestamps_carry_non_utc_offsets() -> None:
    """The connector hands the SDK aware datetimes and ISO text with offsets other than UTC."""
    sys.path.insert(0, str(CONNECTOR_DIR))
    try:
        from iot_fleet.fleet import FleetSync
        from iot_fleet.settings import parse_settings

        settings = parse_settings(DEFAULTS)
        fleet = FleetSync(settings, 2, settings.start + timedelta(hours=1))
        values = [
            value
            for stage in fleet.stages()
            for action in stage.actions(0)
            for value in (action.data or {}).values()
        ]
    finally:
        sys.path.remove(str(CONNECTOR_DIR))
        for name in [name for name in sys.modules if name == "iot_fleet" or name.startswith("iot_fleet.")]:
            del sys.modules[name]
    offsets = {value.utcoffset() for value in values if isinstance(value, datetime) and value.tzinfo}
    assert len(offsets - {timedelta(0)}) >= 3
    texts = [
        value
        for value in values
        if isinstance(value, str) and re.search(r"T\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$", value)
    ]
    assert texts and not any(text.endswith("+00:00") for text in texts)


def test_checkpoints_advance_the_cursor(syncs: list[CaptureResult]) -> None:
    for number, result in enumerate(syncs, start=1):
        assert result.operations[-1].kind is OpKind.CHECKPOINT
        assert result.final_state == {"syncs_completed": number, "cursor": f"2024-01-01T{number:02d}:00:00Z"}


def cells(results: list[CaptureResult]) -> list[tuple[str, str, Any]]:
    return [
        (op.table or "", name, cell)
        for result in results
        for op in result.operations
        for name, cell in op.data.items()
    ]


def test_awkward_values_are_present(syncs: list[CaptureResult]) -> None:
    edge: dict[str, list[Cell]] = {
        name: [] for name in ("c_long", "c_decimal", "c_string", "c_json", "c_naive_date", "c_binary")
    }
    for table, name, cell in cells(syncs):
        if table == "type_edge_cases" and name in edge:
            edge[name].append(cell)
    texts = {name: {cell.text for cell in found if cell.text is not None} for name, found in edge.items()}
    assert {str(2**63 - 1), str(-(2**63))} <= texts["c_long"]
    assert "9" * 28 + "." + "9" * 10 in texts["c_decimal"]
    assert {"1900-01-01", "2299-12-31"} <= texts["c_naive_date"]
    assert "" in texts["c_string"]  # an empty string, distinct from NULL
    assert any(cell.kind is CellKind.NULL for table, _, cell in cells(syncs) if table == "type_edge_cases")
    assert any(op.data.keys() == {"case_id"} for op in syncs[0].operations if op.table == "type_edge_cases")
    assert any(any(ord(char) > 0xFFFF for char in text) for text in texts["c_string"])  # beyond the BMP
    assert any(len(text.encode("utf-8")) > 32_766 for text in texts["c_string"])
    assert any(len(cell.data or b"") > 24_576 for cell in edge["c_binary"])  # base64 of it exceeds 32 KB
    assert any(_json_depth(json.loads(text)) >= 4 for text in texts["c_json"])


def _json_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_json_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_json_depth(item) for item in value), default=0)
    return 0


def test_values_are_exact_for_their_declared_types(syncs: list[CaptureResult]) -> None:
    """No value the tester would round, overflow to NULL or truncate to milliseconds."""
    types = {(table.name, column.name): column for table in syncs[0].declared for column in table.columns}
    checked = Counter[int]()
    for table, name, cell in cells(syncs):
        column = types.get((table, name))
        if column is None or cell.kind is CellKind.NULL:
            continue
        text = cell.text or ""
        if column.type == DECIMAL:
            whole, _, fraction = text.lstrip("-").partition(".")
            assert column.precision is not None and column.scale is not None
            assert len(fraction) <= column.scale and len(whole.lstrip("0")) <= column.precision - column.scale
        elif column.type == FLOAT:
            value = float(text)
            assert struct.unpack("<f", struct.pack("<f", value))[0] == value, (table, name, text)
        elif column.type == UTC_DATETIME:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", text), (table, name, text)
        elif column.type == SHORT:
            assert -(2**15) <= int(text) < 2**15
        else:
            continue
        checked[column.type] += 1
    assert set(checked) == {DECIMAL, FLOAT, UTC_DATETIME, SHORT}


def test_data_operations_scale_with_readings_per_sync() -> None:
    small = capture_sync(CONNECTOR_DIR, {**DEFAULTS, "readings_per_sync": "10"})
    large = capture_sync(CONNECTOR_DIR, {**DEFAULTS, "readings_per_sync": "3000"})
    readings = [sum(op.table == "readings" for op in data_operations(r)) for r in (small, large)]
    assert readings == [10, 3000]
