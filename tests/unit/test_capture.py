"""The in-process capture (fivetran_e2e.capture) against small throwaway Connector SDK projects."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fivetran_e2e.capture import (
    CaptureResult,
    SyncFailed,
    capture_sync,
    declared_tables_from_schema,
    load_connector_module,
)
from fivetran_e2e.operations import Cell, CellKind, DeclaredColumn, DeclaredTable, Operation, OpKind

HEADER = """
from fivetran_connector_sdk import Connector, Operations as op, FileUpload
import io
"""

SCHEMA = [
    {
        "table": "orders",
        "primary_key": ["region", "id"],
        "columns": {
            "id": "INT",
            "amount": {"type": "DECIMAL", "precision": 12, "scale": 2},
            "ratio": "DOUBLE",
            "at": "UTC_DATETIME",
        },
    },
    {"table": "log", "columns": {"msg": "STRING"}},
    {"table": "sites", "schema": "ops", "primary_key": ["site"], "columns": {"site": "SHORT"}},
]


def make_project(root: Path, body: str, *, schema: bool = True, helper: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    schema_code = f"def schema(configuration):\n    return {SCHEMA!r}\n" if schema else ""
    connector_args = "update=update, schema=schema" if schema else "update=update"
    source = HEADER + schema_code + textwrap.dedent(body) + f"\nconnector = Connector({connector_args})\n"
    (root / "connector.py").write_text(source, encoding="utf-8")
    if helper is not None:
        (root / "helper.py").write_text(helper, encoding="utf-8")
    return root


ALL_OPERATIONS = """
def update(configuration, state):
    op.upsert("orders", {"region": "eu", "id": 1, "amount": "12.50", "ratio": 0.25,
                         "at": "2024-05-06T07:08:09+02:00", "note": None, "raw": b"\\x00\\xff",
                         "doc": {"a": [1]}})
    op.update("orders", {"region": "eu", "id": 1, "amount": "13.00"})
    op.delete("orders", {"region": "eu", "id": 1})
    op.truncate("sites", schema="ops")
    op.upsert("sites", {"site": 7}, schema="ops")
    op.upsert("log", {"msg": "héllo 🚀", "n": 2**70})
    op.warning("careful")
    op.checkpoint({"cursor": configuration["start"], "n": [1, 2]})
"""


def test_records_every_operation_with_encoded_cells(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", ALL_OPERATIONS)
    result = capture_sync(project, {"start": "s0"}, {})

    kinds = [operation.kind for operation in result.operations]
    assert kinds == [
        OpKind.UPSERT,
        OpKind.UPDATE,
        OpKind.DELETE,
        OpKind.TRUNCATE,
        OpKind.UPSERT,
        OpKind.UPSERT,
        OpKind.WARNING,
        OpKind.CHECKPOINT,
    ]
    upsert = result.operations[0]
    assert upsert.table == "orders" and upsert.schema is None
    assert upsert.data["region"] == Cell(CellKind.TEXT, text="eu")
    assert upsert.data["amount"] == Cell(CellKind.TEXT, text="12.50")
    assert upsert.data["ratio"] == Cell(CellKind.DOUBLE, text="0.25")  # declared DOUBLE
    assert upsert.data["at"] == Cell(CellKind.TEXT, text="2024-05-06T05:08:09Z")  # normalised to UTC
    assert upsert.data["note"] == Cell(CellKind.NULL)
    assert upsert.data["raw"] == Cell(CellKind.BINARY, data=b"\x00\xff")
    assert upsert.data["doc"] == Cell(CellKind.JSON, text='{"a": [1]}')
    assert result.operations[1].data == {
        "region": Cell(CellKind.TEXT, text="eu"),
        "id": Cell(CellKind.TEXT, text="1"),
        "amount": Cell(CellKind.TEXT, text="13.00"),
    }
    assert result.operations[3] == Operation(OpKind.TRUNCATE, table="sites", schema="ops")
    assert result.operations[4].schema == "ops"
    log_row = result.operations[5].data
    assert log_row["msg"].text == "héllo 🚀" and log_row["n"].kind is CellKind.FLOAT  # beyond int64
    assert result.operations[6].message == "careful"
    assert result.operations[7].state == {"cursor": "s0", "n": [1, 2]}
    assert result.final_state == {"cursor": "s0", "n": [1, 2]}
    assert result.committed_operations() == result.operations


def test_operations_round_trip_through_json_lines(tmp_path: Path) -> None:
    result = capture_sync(make_project(tmp_path / "p", ALL_OPERATIONS), {"start": "x"})
    import json

    restored = [Operation.from_json(json.loads(operation.to_line())) for operation in result.operations]
    assert restored == result.operations


def test_declared_tables_from_sdk_and_from_raw_schema_agree(tmp_path: Path) -> None:
    result = capture_sync(make_project(tmp_path / "p", ALL_OPERATIONS), {"start": "x"})
    orders = DeclaredTable(
        name="orders",
        schema=None,
        columns=(
            DeclaredColumn("region", 0, True),  # untyped key column
            DeclaredColumn("id", 3, True),
            DeclaredColumn("amount", 5, False, 12, 2),
            DeclaredColumn("ratio", 7, False),
            DeclaredColumn("at", 10, False),
        ),
    )
    assert result.declared[0] == orders
    assert result.declared[1] == DeclaredTable("log", None, (DeclaredColumn("msg", 13, False),))
    assert result.declared[2] == DeclaredTable("sites", "ops", (DeclaredColumn("site", 2, True),))
    assert declared_tables_from_schema(SCHEMA) == result.declared


def test_raw_schema_with_a_bad_type_names_table_and_column() -> None:
    with pytest.raises(ValueError, match=r"'t'.*'c'.*NAIVE_TIME"):
        declared_tables_from_schema([{"table": "t", "columns": {"c": "NAIVE_TIME"}}])


def test_connector_without_schema_declares_nothing(tmp_path: Path) -> None:
    body = "def update(configuration, state):\n    op.upsert('t', {'a': 1})\n"
    result = capture_sync(make_project(tmp_path / "p", body, schema=False), {})
    assert result.declared == []
    assert [operation.kind for operation in result.operations] == [OpKind.UPSERT]
    assert result.final_state == {}  # no checkpoint: the starting state stays


def test_op_error_stops_the_sync_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    body = """
    def update(configuration, state):
        op.upsert("log", {"msg": "a"})
        op.checkpoint({"step": 1})
        op.upsert("log", {"msg": "b"})
        try:
            op.error("source unreachable", "trace text")
        except Exception:
            pass  # a connector cannot swallow the stop
        op.upsert("log", {"msg": "never"})
    """
    with pytest.raises(SyncFailed, match="source unreachable") as failure:
        capture_sync(make_project(tmp_path / "p", body), {}, {"step": 0})
    result = failure.value.result
    assert [operation.kind for operation in result.operations] == [
        OpKind.UPSERT,
        OpKind.CHECKPOINT,
        OpKind.UPSERT,
        OpKind.TASK,
    ]
    assert result.operations[-1].message == "source unreachable"
    assert result.final_state == {"step": 1}
    assert [operation.kind for operation in result.committed_operations()] == [
        OpKind.UPSERT,
        OpKind.CHECKPOINT,
    ]


def test_null_primary_key_fails_even_when_the_connector_catches_it(tmp_path: Path) -> None:
    body = """
    def update(configuration, state):
        try:
            op.upsert("orders", {"region": None, "id": 1})
        except BaseException:
            pass  # even this does not help: the failure is raised again below
        op.upsert("orders", {"region": "eu", "id": 2})
    """
    with pytest.raises(
        SyncFailed, match=r"orders: primary key column 'region' is missing or NULL"
    ) as failure:
        capture_sync(make_project(tmp_path / "p", body), {})
    assert failure.value.result.operations == []


def test_missing_key_column_in_a_delete_fails(tmp_path: Path) -> None:
    body = "def update(configuration, state):\n    op.delete('sites', {'other': 1}, schema='ops')\n"
    with pytest.raises(SyncFailed, match=r"ops\.sites: primary key column 'site'"):
        capture_sync(make_project(tmp_path / "p", body), {})


def test_connector_exception_becomes_sync_failed(tmp_path: Path) -> None:
    body = """
    def update(configuration, state):
        op.checkpoint({"ok": True})
        raise ValueError("configuration key 'x' is wrong")
    """
    with pytest.raises(SyncFailed, match="configuration key 'x' is wrong") as failure:
        capture_sync(make_project(tmp_path / "p", body), {})
    assert failure.value.result.final_state == {"ok": True}


def test_schema_failure_becomes_sync_failed(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "connector.py").write_text(
        HEADER
        + "def schema(configuration):\n    raise ValueError('bad seed')\n"
        + "def update(configuration, state):\n    pass\n"
        + "connector = Connector(update=update, schema=schema)\n"
    )
    with pytest.raises(SyncFailed, match=r"schema\(\) failed.*bad seed"):
        capture_sync(project, {})


def test_generator_update_and_sink_is_uninstalled_afterwards(tmp_path: Path) -> None:
    body = """
    def update(configuration, state):
        yield op.upsert("log", {"msg": "yielded"})
        yield op.checkpoint({"done": True})
    """
    result = capture_sync(make_project(tmp_path / "p", body), {})
    assert [operation.kind for operation in result.operations] == [OpKind.UPSERT, OpKind.CHECKPOINT]
    from fivetran_connector_sdk_cli import runtime

    with pytest.raises(RuntimeError, match="no runner is installed"):
        runtime.current()


def test_streaming_without_keeping_operations(tmp_path: Path) -> None:
    body = """
    def update(configuration, state):
        for number in range(50):
            op.upsert("log", {"msg": str(number)})
        op.checkpoint({"n": 50})
    """
    seen: list[Operation] = []
    result = capture_sync(
        make_project(tmp_path / "p", body), {}, on_operation=seen.append, keep_operations=False
    )
    assert result.operations == [] and len(seen) == 51 and result.final_state == {"n": 50}


def test_file_upload_chunks_are_recorded_by_size(tmp_path: Path) -> None:
    body = """
    def update(configuration, state):
        op.upsert("log", {"msg": "doc"}, file=FileUpload("reports/a.txt", io.BytesIO(b"0123456789")))
    """
    result = capture_sync(make_project(tmp_path / "p", body), {})
    assert [(chunk.path, chunk.size, chunk.is_last) for chunk in result.file_chunks] == [
        ("reports/a.txt", 10, False),
        ("reports/a.txt", 0, True),
    ]
    assert result.operations[0].data["_fivetran_file_path"].text == "reports/a.txt"


def test_each_capture_imports_its_own_project_modules(tmp_path: Path) -> None:
    body = """
    import helper
    def update(configuration, state):
        op.upsert("log", {"msg": helper.WORD})
    """
    first = make_project(tmp_path / "one", body, helper="WORD = 'one'\n")
    second = make_project(tmp_path / "two", body, helper="WORD = 'two'\n")
    words = [capture_sync(project, {}).operations[0].data["msg"].text for project in (first, second, first)]
    assert words == ["one", "two", "one"]
    import sys

    assert "helper" not in sys.modules


def test_configuration_must_hold_plain_strings(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", ALL_OPERATIONS)
    with pytest.raises(ValueError, match=r"configuration key 'start'.*string"):
        capture_sync(project, {"start": 5})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"configuration key 'start'.*encrypted"):
        capture_sync(project, {"start": "fivetran_encrypted:abc"})


def test_missing_connector_file_and_missing_connector_object(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"connector\.py"):
        load_connector_module(tmp_path)
    (tmp_path / "connector.py").write_text("value = 1\n")
    with pytest.raises(ValueError, match="module-level `connector"):
        load_connector_module(tmp_path)


def test_committed_operations_without_checkpoint_is_empty() -> None:
    result = CaptureResult(declared=[], operations=[Operation(OpKind.UPSERT, table="t")], final_state={})
    assert result.committed_operations() == []


def test_memory_watchdog_threads_end_after_the_capture(tmp_path: Path) -> None:
    import threading
    import time

    project = make_project(tmp_path / "p", "def update(configuration, state):\n    pass\n")
    for _ in range(3):
        capture_sync(project, {})
    deadline = time.monotonic() + 5
    while (
        any("_monitor_loop" in thread.name for thread in threading.enumerate())
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert not [thread.name for thread in threading.enumerate() if "_monitor_loop" in thread.name]
