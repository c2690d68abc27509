"""`fivetran-e2e run` end to end: fivetran debug + recording + our destination + CrateDB + comparison.

Runs against the embedded emulator, or against the real CrateDB named by CRATEDB_URL (the harness then
writes schemas prefixed with the run id and removes them afterwards).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fivetran_e2e.cli import main
from fivetran_e2e.cratedb_reader import CrateReader

pytestmark = [pytest.mark.e2e, pytest.mark.cratedb]

REPO = Path(__file__).resolve().parents[2]

# Not deterministic on purpose: uuid4 keys, wall-clock timestamps and random values, so a second run of the
# connector would emit different data; only recording the very run `fivetran debug` makes can match.
NONDETERMINISTIC_CONNECTOR = textwrap.dedent(
    '''
    """A test connector that is different on every run."""
    import datetime
    import random
    import uuid

    from fivetran_connector_sdk import Connector
    from fivetran_connector_sdk import Operations as op


    def schema(configuration):
        return [
            {
                "table": "Orders",
                "primary_key": ["orderId"],
                "columns": {
                    "orderId": "STRING",
                    "amount": {"type": "DECIMAL", "precision": 12, "scale": 2},
                    "placedAt": "UTC_DATETIME",
                    "localTime": "NAIVE_DATETIME",
                    "day": "NAIVE_DATE",
                    "ratio": "DOUBLE",
                    "f32": "FLOAT",
                    "small": "SHORT",
                    "flag": "BOOLEAN",
                    "payload": "JSON",
                    "blob": "BINARY",
                    "note": "XML",
                },
            },
            {"table": "audit", "schema": "Side-Schema"},
        ]


    def update(configuration, state):
        sync = state.get("sync", 0) + 1
        previous = state.get("ids", [])
        rows = int(configuration["rows"])
        ids = []
        for i in range(rows):
            order_id = str(uuid.uuid4())
            ids.append(order_id)
            op.upsert(
                "Orders",
                {
                    "orderId": order_id,
                    "amount": f"{random.uniform(-1000, 1000):.3f}",
                    "placedAt": datetime.datetime.now(datetime.timezone.utc),
                    "localTime": datetime.datetime.now(),
                    "day": datetime.date.today(),
                    "ratio": random.random(),
                    "f32": random.random() * 1000,
                    "small": random.randint(-32768, 32767),
                    "flag": random.random() < 0.5,
                    "payload": {"n": i, "tags": ["a", "é"], "nested": {"x": random.random()}},
                    "blob": uuid.uuid4().bytes,
                    "note": f"<n>{random.random()}</n>",
                    "Extra Count": random.randint(0, 10**12),
                    "wallClock": datetime.datetime.now().isoformat(),
                    "maybe": random.choice(["x", None, ""]),
                    # Short at first; from sync 2 on above CrateDB's 32,766-byte limit for indexed text,
                    # so the column's capacity must be widened by AlterTable.
                    "bigText": ("é" * 20_000 if sync > 1 else "short") if i == 0 else None,
                },
            )
            if i % 7 == 6:
                op.checkpoint({"sync": sync - 1, "ids": previous})
        for order_id in previous[:4]:
            op.update("Orders", {"orderId": order_id, "note": f"<changed>{sync}</changed>", "maybe": ""})
        for order_id in previous[4:7]:
            op.delete("Orders", {"orderId": order_id})
        op.update("Orders", {"orderId": str(uuid.uuid4()), "note": "<ghost/>"})  # missing row: ignored
        op.upsert("audit", {"event": "sync", "at": datetime.datetime.now(datetime.timezone.utc).isoformat()},
                  schema="Side-Schema")
        if sync == 2:
            op.truncate("audit", schema="Side-Schema")
            op.upsert("audit", {"event": "after truncate", "number": sync}, schema="Side-Schema")
        op.warning(f"sync {sync} done")
        op.checkpoint({"sync": sync, "ids": ids[:10]})


    connector = Connector(update=update, schema=schema)
    '''
)


def _project(tmp_path: Path, source: str, configuration: dict[str, str]) -> Path:
    project = tmp_path / "connector_project"
    project.mkdir()
    (project / "connector.py").write_text(source, encoding="utf-8")
    (project / "configuration.json").write_text(json.dumps(configuration), encoding="utf-8")
    return project


def _report(path: Path) -> dict[str, Any]:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def test_reference_connector_matches_over_three_syncs(tmp_path: Path) -> None:
    """The console script on connector/ with small settings: exit 0 and a full-match report."""
    configuration = json.loads((REPO / "connector" / "configuration.json").read_text(encoding="utf-8"))
    small = {
        "device_count": "3",
        "sensors_per_device": "2",
        "readings_per_sync": "40",
        "checkpoint_interval": "25",
    }
    configuration.update({key: value for key, value in small.items() if key in configuration})
    config_path = tmp_path / "configuration.json"
    config_path.write_text(json.dumps(configuration), encoding="utf-8")
    report = tmp_path / "report"
    files_before = (REPO / "connector" / "files").exists()
    command = [
        str(Path(sys.executable).parent / "fivetran-e2e"),
        "run",
        "--connector",
        str(REPO / "connector"),
        "--configuration",
        str(config_path),
        "--syncs",
        "3",
        "--report",
        str(report),
        "--no-progress",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    data = _report(report)
    assert data["ok"] is True
    assert [sync["succeeded"] for sync in data["syncs"]] == [True, True, True]
    assert all(sync["capture"] == "recorded in the fivetran debug run" for sync in data["syncs"])
    assert len(data["tables"]) >= 3 and all(table["ok"] for table in data["tables"])
    assert sum(table["warehouse_rows"] for table in data["tables"]) > 0
    assert (REPO / "connector" / "files").exists() == files_before  # it ran on a scratch copy
    assert report.with_suffix(".md").read_text(encoding="utf-8").startswith("# fivetran-e2e run")


def test_nondeterministic_connector_matches(tmp_path: Path) -> None:
    project = _project(tmp_path, NONDETERMINISTIC_CONNECTOR, {"rows": "20"})
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "2", "--report", str(report), "--no-progress"]
    )
    data = _report(report)
    assert code == 0, json.dumps(data, indent=1)[-6000:]
    tables = {table["table"]: table for table in data["tables"]}
    assert set(tables) == {"tester.orders", "tester_side_schema.audit"}
    assert tables["tester.orders"]["warehouse_rows"] == 40
    assert tables["tester.orders"]["keyed"] and not tables["tester_side_schema.audit"]["keyed"]
    assert data["replay"]["truncate_calls"] == 1
    assert data["replay"]["rpc_calls"]["AlterTable"] >= 1
    assert not (project / "files").exists()  # the user's project is untouched


FAILING_CONNECTOR = textwrap.dedent(
    """
    from fivetran_connector_sdk import Connector
    from fivetran_connector_sdk import Operations as op


    def update(configuration, state):
        sync = state.get("sync", 0) + 1
        for i in range(5):
            op.upsert("items", {"id": sync * 100 + i, "sync": sync})
        op.checkpoint({"sync": sync})
        if sync == 2:
            op.upsert("items", {"id": 999, "sync": sync})  # after the last checkpoint: dropped
            raise RuntimeError("the source went away")


    connector = Connector(update=update)
    """
)


def test_a_failed_sync_is_replayed_up_to_its_last_checkpoint(tmp_path: Path) -> None:
    project = _project(tmp_path, FAILING_CONNECTOR, {})
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "3", "--report", str(report), "--no-progress"]
    )
    data = _report(report)
    # fivetran debug failed in sync 2: exit code 2, but every sync is still replayed and compared.
    assert code == 2, json.dumps(data, indent=1)[-4000:]
    assert (data["failure"]["by"], data["failure"]["sync"]) == ("fivetran debug", 2)
    assert "the source went away" in data["failure"]["reason"]
    assert "the source went away" in data["syncs"][1]["failure"]
    # Sync 2 fails after its checkpoint; sync 3 resumes from that checkpoint's state and succeeds.
    assert [sync["succeeded"] for sync in data["syncs"]] == [True, False, True]
    assert [sync["verdict"] for sync in data["syncs"]] == ["match"] * 3
    assert [(s["operations"], s["committed_operations"]) for s in data["syncs"]][1] == (7, 6)
    (table,) = data["tables"]
    assert table["warehouse_rows"] == 15 and table["ok"]


def test_an_explicit_cratedb_gets_prefixed_schemas_that_are_removed(tmp_path: Path, cratedb_url: str) -> None:
    """--cratedb-url (a real CrateDB, here whatever the test session uses) writes e2e_<run id>_ schemas."""
    project = _project(tmp_path, FAILING_CONNECTOR, {})
    report = tmp_path / "report"
    argv = ["run", "--connector", str(project), "--syncs", "1", "--report", str(report), "--no-progress"]
    assert main([*argv, "--cratedb-url", cratedb_url]) == 0
    data = _report(report)
    prefix = f"e2e_{data['run_id']}_"
    assert data["tables"][0]["cratedb_table"] == f"{prefix}tester.items"
    assert "@" not in data["cratedb"]  # never credentials
    with CrateReader(cratedb_url) as reader:
        assert reader.tables(f"{prefix}tester") == []


def test_when_the_recorder_does_not_run_the_capture_falls_back_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E.g. a `fivetran` whose Python cannot import fivetran_e2e: the hook is there but records nothing."""
    from fivetran_e2e import recorder

    monkeypatch.setattr(recorder, "SITECUSTOMIZE_SOURCE", "# records nothing\n")
    project = _project(tmp_path, FAILING_CONNECTOR, {})
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "1", "--report", str(report), "--no-progress"]
    )
    data = _report(report)
    assert code == 0, json.dumps(data, indent=1)[-4000:]
    assert data["syncs"][0]["capture"].startswith("FALLBACK")
    assert any("FALLBACK" in note for note in data["notes"])


# Several of Fivetran's public examples split a connector into modules that `import connector` back.
CIRCULAR_CONNECTOR = textwrap.dedent(
    """
    from fivetran_connector_sdk import Connector

    import helpers

    TABLE = "items"


    def schema(configuration):
        return [{"table": TABLE, "primary_key": ["id"], "columns": {"id": "INT"}}]


    def update(configuration, state):
        helpers.sync(state)


    connector = Connector(update=update, schema=schema)
    """
)
CIRCULAR_HELPERS = textwrap.dedent(
    """
    import connector
    from fivetran_connector_sdk import Operations as op


    def sync(state):
        number = state.get("sync", 0) + 1
        for i in range(4):
            op.upsert(connector.TABLE, {"id": number * 10 + i, "sync": number})
        op.checkpoint({"sync": number})
    """
)


def test_a_helper_module_that_imports_connector_runs_as_under_plain_fivetran_debug(tmp_path: Path) -> None:
    project = _project(tmp_path, CIRCULAR_CONNECTOR, {})
    (project / "helpers.py").write_text(CIRCULAR_HELPERS, encoding="utf-8")
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "2", "--report", str(report), "--no-progress"]
    )
    data = _report(report)
    assert code == 0, json.dumps(data, indent=1)[-4000:]
    assert [sync["capture"] for sync in data["syncs"]] == ["recorded in the fivetran debug run"] * 2
    assert [sync["verdict"] for sync in data["syncs"]] == ["match", "match"]
    (table,) = data["tables"]
    assert table["warehouse_rows"] == 8 and table["ok"]
    assert sorted(path.name for path in project.iterdir()) == [
        "configuration.json",
        "connector.py",
        "helpers.py",
    ]


OVERWRITING_CONNECTOR = textwrap.dedent(
    """
    from fivetran_connector_sdk import Connector
    from fivetran_connector_sdk import Operations as op


    def schema(configuration):
        return [{"table": "items", "primary_key": ["id"], "columns": {"id": "INT", "value": "STRING"}}]


    def update(configuration, state):
        sync = state.get("sync", 0) + 1
        for i in range(3):
            op.upsert("items", {"id": i, "value": f"sync {sync}"})
        op.checkpoint({"sync": sync})


    connector = Connector(update=update, schema=schema)
    """
)


def test_every_sync_is_compared_so_a_difference_a_later_sync_overwrites_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in for a destination bug: after sync 1's replay one CrateDB row is changed behind the core's
    back; sync 2 upserts every row again, so only the comparison after sync 1 can see it."""
    from fivetran_e2e import run as run_module

    urls: list[str] = []
    start_cratedb = run_module.Runner._start_cratedb
    sync = run_module.Runner._sync

    def remember_url(self: Any, stack: Any) -> tuple[str, str]:
        url, prefix = start_cratedb(self, stack)
        urls.append(url)
        return url, prefix

    def tamper_after_sync_1(self: Any, number: int, *args: Any) -> Any:
        summary = sync(self, number, *args)
        if number == 1:
            with CrateReader(urls[0]) as reader:
                reader.execute('UPDATE "tester"."items" SET "value" = \'tampered\' WHERE "id" = 1')
        return summary

    monkeypatch.setattr(run_module.Runner, "_start_cratedb", remember_url)
    monkeypatch.setattr(run_module.Runner, "_sync", tamper_after_sync_1)
    project = _project(tmp_path, OVERWRITING_CONNECTOR, {})
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "2", "--report", str(report), "--no-progress"]
    )
    data = _report(report)
    assert code == 1, json.dumps(data, indent=1)[-4000:]
    assert data["ok"] is False and all(table["ok"] for table in data["tables"])  # the last sync matches
    assert [sync["verdict"] for sync in data["syncs"]] == ["MISMATCH: 1 table(s) differ", "match"]
    (table,) = data["syncs"][0]["tables"]
    assert table["different"] == 1 and table["diffs"][0]["cells"][0]["cratedb"] == "tampered"


SECRET = "s3cr3t-Token/value"
RAISING_CONNECTOR = textwrap.dedent(
    """
    from fivetran_connector_sdk import Connector


    def update(configuration, state):
        raise RuntimeError(f"cannot log in with {configuration['api_key']} to {configuration['host']}")


    connector = Connector(update=update)
    """
)


def test_a_connector_that_raises_fails_the_run_with_the_reason_and_no_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, RAISING_CONNECTOR, {"api_key": SECRET, "host": "db.example.com", "n": "7"})
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "3", "--report", str(report), "--no-progress"]
    )
    console = capsys.readouterr().out
    data = _report(report)
    markdown = report.with_suffix(".md").read_text(encoding="utf-8")
    assert code == 2, json.dumps(data, indent=1)[-4000:]
    failure = data["failure"]
    assert (failure["by"], failure["sync"], data["verdict"], data["ok"]) == (
        "fivetran debug",
        1,
        "FAILED",
        False,
    )
    assert (
        failure["reason"]
        == "exit code 1: failed while executing update() error: cannot log in with [redacted] to [redacted]"
    )
    assert "cannot log in with [redacted] to [redacted]" in failure["log_tail"]
    assert [sync["succeeded"] for sync in data["syncs"]] == [False] * 3  # an empty warehouse.db each time
    assert "# fivetran-e2e run" in markdown and "## Failure" in markdown
    assert "fivetran debug failed in sync 1" in markdown and "cannot log in with [redacted]" in markdown
    assert "FAILED" in console and "fivetran debug failed in sync 1" in console
    assert "cannot log in with [redacted]" in console
    for text in (json.dumps(data), markdown, console):
        assert SECRET not in text and "db.example.com" not in text
        assert "Traceback" not in text or "FileNotFoundError" not in text


def test_a_harness_failure_says_so_with_its_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fivetran_e2e import run as run_module
    from fivetran_e2e.core import Core, CoreError

    end_sync = Core.end_sync
    calls = [0]

    def failing_end_sync(self: Any) -> None:
        calls[0] += 1
        if calls[0] == 2:
            raise CoreError("the destination said no")
        end_sync(self)

    monkeypatch.setattr(run_module.Core, "end_sync", failing_end_sync)
    project = _project(tmp_path, OVERWRITING_CONNECTOR, {})
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "3", "--report", str(report), "--no-progress"]
    )
    data = _report(report)
    assert code == 2, json.dumps(data, indent=1)[-4000:]
    assert (data["failure"]["by"], data["failure"]["sync"]) == ("harness", 2)
    assert "the destination said no" in data["failure"]["reason"]
    assert [sync["verdict"] for sync in data["syncs"]] == ["match"]
    assert "harness failed in sync 2" in report.with_suffix(".md").read_text(encoding="utf-8")


def test_a_connector_that_cannot_be_loaded_stops_the_run_with_exit_code_2(tmp_path: Path) -> None:
    """No files/warehouse.db at all (it used to end in a FileNotFoundError traceback and no report)."""
    project = _project(tmp_path, 'raise RuntimeError("broken at import")\n', {})
    report = tmp_path / "report"
    code = main(
        ["run", "--connector", str(project), "--syncs", "2", "--report", str(report), "--no-progress"]
    )
    data = _report(report)
    assert code == 2, json.dumps(data, indent=1)[-4000:]
    assert (data["failure"]["by"], data["failure"]["sync"]) == ("fivetran debug", 1)
    assert "left no files/warehouse.db" in data["failure"]["reason"]
    assert "broken at import" in data["failure"]["log_tail"] and data["syncs"] == []
