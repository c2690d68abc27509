"""The recording wrapper: scratch copy, forwarding sink, recording format."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fivetran_connector_sdk_cli import runtime, schema_processing
from fivetran_connector_sdk_cli.records import (
    Checkpoint,
    RecordType,
    Task,
    Warning,
    make_record,
    make_truncate,
)
from fivetran_e2e import recorder
from fivetran_e2e.operations import Cell, CellKind, OpKind


class InnerSink:
    """Stands in for the sink the CLI installs; remembers exactly what it was handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def record(self, value: Any) -> None:
        self.calls.append(("record", value))

    def truncate(self, value: Any) -> None:
        self.calls.append(("truncate", value))

    def file_chunk(self, value: Any) -> None:
        self.calls.append(("file_chunk", value))

    def checkpoint(self, value: Any) -> None:
        self.calls.append(("checkpoint", value))

    def warning(self, value: Any) -> None:
        self.calls.append(("warning", value))

    def task(self, value: Any) -> None:
        self.calls.append(("task", value))


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "files").mkdir(parents=True)
    (project / "files" / "state.json").write_text('{"cursor": 5}')
    (project / "helpers").mkdir()
    (project / "helpers" / "__init__.py").write_text("VALUE = 1\n")
    (project / "connector.py").write_text("connector = None\n")
    (project / "configuration.json").write_text("{}")
    return project


def test_scratch_copy_leaves_files_behind_and_the_code_unchanged(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    recorder.prepare_scratch_project(_project(tmp_path), scratch)
    assert not (scratch / "files").exists()
    assert (scratch / "helpers" / "__init__.py").exists()
    assert (scratch / "connector.py").read_text() == "connector = None\n"
    assert sorted(path.name for path in scratch.iterdir()) == [
        "configuration.json",
        "connector.py",
        "helpers",
    ]


def test_the_hook_imports_only_the_standard_library() -> None:
    """It runs at the start of every Python process of the fivetran debug run, pipreqs included."""
    imported = set()
    for node in ast.walk(ast.parse(recorder.SITECUSTOMIZE_SOURCE)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported == {"importlib.abc", "importlib.machinery", "importlib.util", "os", "sys"}


def _python(hook: Path, code: str, record: Path, extra_path: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env[recorder.RECORD_ENV] = str(record)
    env.pop(recorder.WAREHOUSE_ENV, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), extra_path]))
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_hook_records_only_in_the_process_that_installs_a_sink(tmp_path: Path) -> None:
    hook = recorder.write_hook(tmp_path / "hook")
    record = tmp_path / "rec.jsonl"
    record.write_text("kept\n")
    # A process that never imports the runtime (pipreqs, say), and one that imports it without installing
    # a sink: neither truncates the recording.
    assert _python(hook, "import json", record).returncode == 0
    done = _python(
        hook, "import fivetran_connector_sdk_cli.runtime as r; print(r.install._fivetran_e2e)", record
    )
    assert done.stdout.strip() == "True", done.stderr
    assert record.read_text() == "kept\n"
    code = (
        "from fivetran_connector_sdk_cli import runtime\n"
        "from fivetran_connector_sdk_cli.records import Checkpoint\n"
        "class Inner:\n"
        "    def checkpoint(self, value): pass\n"
        "runtime.install(Inner())\n"
        "runtime.current().checkpoint(Checkpoint(state_json='{\"n\": 1}'))\n"
        "runtime.install(None)\n"
    )
    done = _python(hook, code, record)
    assert done.returncode == 0, done.stderr
    recording = recorder.read_recording(record)
    assert recording.wrapped and recording.operation_count == recording.committed_count == 1


def test_the_hook_runs_the_sitecustomize_it_shadows(tmp_path: Path) -> None:
    hook = recorder.write_hook(tmp_path / "hook")
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import builtins\nbuiltins.SHADOWED_RAN = True\n")
    done = _python(
        hook, "import builtins; print(getattr(builtins, 'SHADOWED_RAN', False))", tmp_path / "r", str(other)
    )
    assert done.stdout.strip() == "True", done.stderr


def test_missing_connector_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"connector\.py"):
        recorder.prepare_scratch_project(tmp_path, tmp_path / "scratch")


def test_recording_sink_forwards_unchanged_and_records(tmp_path: Path) -> None:
    inner = InnerSink()
    path = tmp_path / "rec.jsonl"
    with path.open("w") as out:
        out.write(json.dumps({"declared": []}) + "\n")
        sink = recorder.RecordingSink(inner, out)
        upsert = make_record(
            "Orders", RecordType.UPSERT, {"id": b"\x011", "v": b"\x04NaN", "b": b"\x03\x00\xff"}
        )
        update = make_record("Orders", RecordType.UPDATE, {"id": b"\x011", "n": b"\x00"}, "src")
        delete = make_record("Orders", RecordType.DELETE, {"id": b"\x012", "j": b'\x02{"a": 1}'})
        truncate = make_truncate("Orders", "src")
        checkpoint = Checkpoint(state_json='{"cursor": 7}')
        warning = Warning(message=json.dumps({"message": "careful"}))
        task = Task(message=json.dumps({"message": "broken", "trace": "tb"}))
        for name, value in [
            ("record", upsert),
            ("record", update),
            ("record", delete),
            ("truncate", truncate),
            ("checkpoint", checkpoint),
            ("warning", warning),
            ("task", task),
        ]:
            getattr(sink, name)(value)
    assert [value for _, value in inner.calls] == [
        upsert,
        update,
        delete,
        truncate,
        checkpoint,
        warning,
        task,
    ]

    recording = recorder.read_recording(path)
    assert recording.wrapped
    assert (recording.operation_count, recording.committed_count) == (7, 5)
    ops = list(recording.operations())
    assert [op.kind for op in ops] == [
        OpKind.UPSERT,
        OpKind.UPDATE,
        OpKind.DELETE,
        OpKind.TRUNCATE,
        OpKind.CHECKPOINT,
        OpKind.WARNING,
        OpKind.TASK,
    ]
    assert ops[0].table == "Orders" and ops[0].schema is None
    assert ops[0].data["id"].text == "1"
    assert ops[0].data["v"].kind is CellKind.FLOAT and ops[0].data["v"].text == "NaN"
    assert ops[0].data["b"].data == b"\x00\xff"
    assert ops[1].schema == "src" and ops[1].data["n"].kind is CellKind.NULL
    assert ops[2].data["j"].kind is CellKind.JSON
    assert (ops[3].table, ops[3].schema) == ("Orders", "src")
    assert ops[4].state == {"cursor": 7}
    assert (ops[5].message, ops[6].message) == ("careful", "broken")
    assert len(list(recording.operations(limit=recording.committed_count))) == 5


def test_a_call_the_inner_sink_rejects_is_not_recorded(tmp_path: Path) -> None:
    class Rejecting(InnerSink):
        def record(self, value: Any) -> None:
            raise ValueError("rejected")

    path = tmp_path / "rec.jsonl"
    with path.open("w") as out:
        out.write(json.dumps({"declared": []}) + "\n")
        sink = recorder.RecordingSink(Rejecting(), out)
        with pytest.raises(ValueError, match="rejected"):
            sink.record(make_record("t", RecordType.UPSERT, {"id": b"\x011"}))
    assert recorder.read_recording(path).operation_count == 0


def test_install_wraps_the_runtime_sink_and_records_the_declared_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "install", runtime.install)  # restored after the test
    schema_processing.reset()
    schema_processing.process_tables(
        [
            {
                "table": "orders",
                "primary_key": ["id"],
                "columns": {"id": "INT", "amount": {"type": "DECIMAL", "precision": 10, "scale": 2}},
            },
            {"table": "notes", "schema": "Src"},
        ],
        {},
    )
    path = tmp_path / "rec.jsonl"
    recorder.install(str(path))
    inner = InnerSink()
    try:
        runtime.install(inner)
        sink = runtime.current()
        assert isinstance(sink, recorder.RecordingSink)
        sink.record(make_record("orders", RecordType.UPSERT, {"id": b"\x011"}))
        sink.checkpoint(Checkpoint(state_json="{}"))
    finally:
        runtime.install(None)
        schema_processing.reset()
    recording = recorder.read_recording(path)
    declared = {table.name: table for table in recording.declared}
    assert declared["notes"].schema == "Src"
    columns = {c.name: c for c in declared["orders"].columns}
    assert columns["id"].primary_key and columns["id"].type == 3
    assert (columns["amount"].precision, columns["amount"].scale) == (10, 2)
    assert recording.operation_count == 2 and len(inner.calls) == 2


def test_without_a_recording_file_nothing_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    original = runtime.install
    monkeypatch.setattr(runtime, "install", original)
    recorder.install(None)
    assert runtime.install is original


def test_an_empty_file_is_an_unwrapped_recording(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("")
    recording = recorder.read_recording(tmp_path / "empty.jsonl")
    assert not recording.wrapped and recording.operation_count == 0
    assert not recorder.read_recording(tmp_path / "absent.jsonl").wrapped


@pytest.mark.parametrize(
    "encoded",
    [
        b"\x00",
        b"\x01",
        b"\x01h\xc3\xa9llo",
        b'\x02{"a": [1]}',
        b"\x03\x00\x01\xff",
        b"\x04NaN",
        b"\x051e-300",
    ],
)
def test_fast_cell_encoding_agrees_with_cell_decode(encoded: bytes) -> None:
    assert Cell.from_json(json.loads(json.dumps(recorder.cell_json(encoded)))) == Cell.decode(encoded)


def test_unknown_cell_prefixes_are_rejected() -> None:
    with pytest.raises(ValueError, match="prefix"):
        recorder.cell_json(b"\x09x")


def test_follower_reads_complete_lines_only_and_tracks_commits(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    follower = recorder.RecordingFollower(path)
    assert not follower.poll()  # not there yet
    header = json.dumps({"declared": []}) + "\n"
    upsert = '{"kind":"upsert","table":"t","data":{"id":"1"}}\n'
    checkpoint = '{"kind":"checkpoint","state":{"n":1}}\n'
    snapshot = (
        '{"warehouse":[{"schema":"tester","name":"t","columns":[["id","BIGINT",true]]}],"final":false}\n'
    )
    path.write_text(header + upsert + checkpoint[:10])  # the checkpoint line is still being written
    assert follower.poll()
    assert follower.declared == [] and (follower.operations, follower.committed) == (1, 0)
    with path.open("a") as out:
        out.write(checkpoint[10:] + snapshot + upsert)
    assert follower.poll()
    assert (follower.operations, follower.committed) == (3, 2)
    (snap,) = follower.snapshots
    assert snap.committed_end == len((header + upsert + checkpoint).encode())
    committed = list(follower.segment(0, snap.committed_end))
    assert [op["kind"] for op in committed] == ["upsert", "checkpoint"]
    rest = list(follower.segment(snap.committed_end, follower.offset))
    assert [op["kind"] for op in rest] == ["upsert"]  # the snapshot line is skipped
    assert not follower.poll()
    recording = recorder.read_recording(path)
    assert (recording.operation_count, recording.committed_count) == (3, 2)
