"""The reference connector under the real CLI: two `fivetran debug` runs and `fivetran package`.

Runs in a temporary copy of connector/ at a small scale, offline, and checks files/warehouse.db with DuckDB
against the operations the in-process capture records for the same configuration and state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fivetran_e2e.capture import CaptureResult, capture_sync
from fivetran_e2e.operations import OpKind

pytestmark = pytest.mark.e2e

CONNECTOR_DIR = Path(__file__).resolve().parents[2] / "connector"
VENV_BIN = Path(sys.executable).parent
FIVETRAN = VENV_BIN / "fivetran"
CONFIG = {
    "seed": "7",
    "start_date": "2024-01-01",
    "device_count": "4",
    "sensors_per_device": "2",
    "readings_per_sync": "60",
    "sync_window_minutes": "30",
    "checkpoint_interval": "100",
    "truncate_every_n_syncs": "3",
    "fail_after_operations": "0",
}
EXPECTED_TABLES = {
    ("tester", "audit_log"),
    ("tester", "devices"),
    ("tester", "firmware_releases"),
    ("tester", "firmware_rollouts"),
    ("tester", "maintenance_events"),
    ("tester", "readings"),
    ("tester", "sensors"),
    ("tester", "type_edge_cases"),
    ("tester_fleet_ops", "sites"),
}
EXPECTED_TYPES = {
    ("readings", "reading_id"): "BIGINT",
    ("readings", "sensor_id"): "SMALLINT",
    ("readings", "measured_at"): "TIMESTAMP WITH TIME ZONE",
    ("readings", "raw_payload"): "BLOB",
    ("readings", "ingest_lag_ms"): "BIGINT",  # undeclared, inferred
    ("sensors", "calibration_offset"): "DECIMAL(9,4)",
    ("sensors", "sample_rate_hz"): "FLOAT",
    ("sensors", "installed_at"): "TIMESTAMP",
    ("devices", "commissioned_on"): "DATE",
    ("devices", "tags"): "JSON",
    ("devices", "owner_team"): "VARCHAR",  # emitted as ownerTeam: Fivetran naming
    ("devices", "battery_health_pct"): "BIGINT",  # appears in sync 2
    ("type_edge_cases", "c_decimal"): "DECIMAL(38,10)",
    ("type_edge_cases", "c_long"): "BIGINT",
    ("type_edge_cases", "c_xml"): "VARCHAR",
    ("sites", "floor_area_m_2"): "DECIMAL(10,2)",
}


def cli_environment() -> dict[str, str]:
    """`fivetran debug` runs `pipreqs`, so the venv's bin must come first on PATH; telemetry off."""
    return {**os.environ, "DO_NOT_TRACK": "1", "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def fivetran(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(FIVETRAN), *args],
        cwd=project,
        env=cli_environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, (
        f"fivetran {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"
    )
    return completed


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not FIVETRAN.exists():
        pytest.skip("the fivetran CLI is not installed in this environment")
    target = tmp_path_factory.mktemp("debug") / "iot_fleet_connector"
    shutil.copytree(
        CONNECTOR_DIR,
        target,
        ignore=shutil.ignore_patterns("files", "crash-reports", "__pycache__", ".*cache"),
    )
    (target / "configuration.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def two_syncs(project: Path) -> list[dict[str, Any]]:
    """Run `fivetran debug` twice; return the state after each run."""
    states = []
    for _ in range(2):
        output = fivetran(project, "debug").stdout
        assert "SYNC SUCCEEDED" in output
        states.append(json.loads((project / "files" / "state.json").read_text(encoding="utf-8")))
    return states


@pytest.fixture(scope="module")
def captured() -> list[CaptureResult]:
    first = capture_sync(CONNECTOR_DIR, CONFIG, {})
    return [first, capture_sync(CONNECTOR_DIR, CONFIG, first.final_state)]


def query(project: Path, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    with duckdb.connect(str(project / "files" / "warehouse.db"), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_second_run_continues_from_state_json(two_syncs: list[dict[str, Any]]) -> None:
    assert two_syncs == [
        {"syncs_completed": 1, "cursor": "2024-01-01T00:30:00Z"},
        {"syncs_completed": 2, "cursor": "2024-01-01T01:00:00Z"},
    ]


def test_tables_and_types(project: Path, two_syncs: list[dict[str, Any]]) -> None:
    tables = set(
        query(
            project,
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema LIKE 'tester%'",
        )
    )
    assert tables == EXPECTED_TABLES
    types = {
        (table, column): data_type
        for table, column, data_type in query(
            project,
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema LIKE 'tester%'",
        )
    }
    assert {key: types.get(key) for key in EXPECTED_TYPES} == EXPECTED_TYPES


def test_rows_match_the_captured_operations(
    project: Path, two_syncs: list[dict[str, Any]], captured: list[CaptureResult]
) -> None:
    def reading_ids(result: CaptureResult, kind: OpKind) -> set[int]:
        return {
            int(op.data["reading_id"].text or "")
            for op in result.operations
            if op.table == "readings" and op.kind is kind
        }

    inserted = reading_ids(captured[0], OpKind.UPSERT) | reading_ids(captured[1], OpKind.UPSERT)
    corrected, deleted = reading_ids(captured[1], OpKind.UPDATE), reading_ids(captured[1], OpKind.DELETE)
    assert len(inserted) == 2 * int(CONFIG["readings_per_sync"]) and corrected and deleted

    rows = {
        row[0]: row[1:]
        for row in query(project, "SELECT reading_id, quality, _fivetran_deleted FROM tester.readings")
    }
    reinserted = deleted & reading_ids(captured[1], OpKind.UPSERT)  # deleted, then back in the same sync
    assert reinserted  # with 60 readings per sync the one deleted reading comes back
    assert set(rows) == inserted
    assert {reading for reading, (_, gone) in rows.items() if gone} == deleted - reinserted
    quality_corrected = {
        int(op.data["reading_id"].text or "")
        for op in captured[1].operations
        if op.table == "readings" and op.kind is OpKind.UPDATE and "quality" in op.data
    }
    assert quality_corrected and quality_corrected < corrected  # corrections modify different columns
    assert {
        reading for reading, (quality, _) in rows.items() if quality == 3
    } == quality_corrected  # changed in sync 2

    edited = query(project, "SELECT c_string, c_xml FROM tester.type_edge_cases WHERE case_id = 6")
    assert edited == [("updated in sync 2 🛰️", None)]
    keyless = query(project, "SELECT count(*) FROM tester.audit_log")[0][0]
    assert keyless == sum(op.table == "audit_log" for result in captured for op in result.operations)
    assert query(project, "SELECT count(*) FROM tester_fleet_ops.sites") == [(8,)]


def test_package_builds_the_deployable_zip(project: Path, two_syncs: list[dict[str, Any]]) -> None:
    fivetran(project, "package", "--yes")
    archive = project / "files" / f"{project.name}.zip"
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"connector.py", "iot_fleet/fleet.py", "iot_fleet/settings.py"} <= names
    assert "configuration.json" not in names and not any(name.startswith("files/") for name in names)
