"""What schema() declares: table names, primary keys and the column types that matter.

Between them the tables declare every type the Connector SDK knows. Some columns are deliberately left out of
the declarations so that their types are inferred from the data, and one table (`firmware_rollouts`) is not
declared at all.
"""

from __future__ import annotations

from typing import Any

OPS_SCHEMA = "fleet_ops"  # a second source schema: tables emitted with schema=OPS_SCHEMA

DEVICES = "devices"
SENSORS = "sensors"
READINGS = "readings"
MAINTENANCE_EVENTS = "maintenance_events"
FIRMWARE_RELEASES = "firmware_releases"
FIRMWARE_ROLLOUTS = "firmware_rollouts"  # undeclared: every column type is inferred
AUDIT_LOG = "audit_log"  # declared without a primary key
TYPE_EDGE_CASES = "type_edge_cases"
SITES = "sites"  # lives in OPS_SCHEMA

EDGE_DECIMAL_PRECISION = 38
EDGE_DECIMAL_SCALE = 10


def _decimal(precision: int, scale: int) -> dict[str, Any]:
    return {"type": "DECIMAL", "precision": precision, "scale": scale}


def declared_tables() -> list[dict[str, Any]]:
    """The list schema() returns."""
    return [
        {
            "table": SITES,
            "schema": OPS_SCHEMA,
            "primary_key": ["site_id"],
            "columns": {
                "site_id": "INT",
                "name": "STRING",
                "country_code": "STRING",
                "opened_on": "NAIVE_DATE",
                "floor_area_m2": _decimal(10, 2),
                "coordinates": "JSON",
            },
        },
        {
            "table": DEVICES,
            "primary_key": ["device_id"],
            "columns": {
                "device_id": "STRING",
                "serial_number": "STRING",
                "model": "STRING",
                "site_id": "INT",
                "commissioned_on": "NAIVE_DATE",
                "is_active": "BOOLEAN",
                "latitude": "DOUBLE",
                "longitude": "DOUBLE",
                "tags": "JSON",
                "last_seen_at": "UTC_DATETIME",
                "firmware_version": "STRING",
            },
        },
        {
            "table": SENSORS,
            "primary_key": ["device_id", "sensor_id"],
            "columns": {
                "device_id": "STRING",
                "sensor_id": "SHORT",
                "kind": "STRING",
                "unit": "STRING",
                "calibration_offset": _decimal(9, 4),
                "sample_rate_hz": "FLOAT",
                "installed_at": "NAIVE_DATETIME",
                "min_value": "DOUBLE",
                "max_value": "DOUBLE",
            },
        },
        {
            "table": READINGS,
            "primary_key": ["reading_id"],
            "columns": {
                "reading_id": "LONG",
                "device_id": "STRING",
                "sensor_id": "SHORT",
                "measured_at": "UTC_DATETIME",
                "value": "DOUBLE",
                "quality": "SHORT",
                "is_anomaly": "BOOLEAN",
                "raw_payload": "BINARY",
            },
        },
        {
            "table": MAINTENANCE_EVENTS,
            "primary_key": ["event_id"],
            "columns": {
                "event_id": "INT",
                "device_id": "STRING",
                "event_type": "STRING",
                "status": "STRING",
                "scheduled_for": "NAIVE_DATETIME",
                "completed_at": "UTC_DATETIME",
                "cost": _decimal(12, 2),
                "work_order": "XML",
                "parts": "JSON",
            },
        },
        {
            "table": FIRMWARE_RELEASES,
            "primary_key": ["version"],
            "columns": {
                "version": "STRING",
                "released_on": "NAIVE_DATE",
                "size_bytes": "LONG",
                "checksum": "BINARY",
                "is_stable": "BOOLEAN",
                "release_notes": "STRING",
                "changelog": "JSON",
            },
        },
        {
            "table": AUDIT_LOG,
            "columns": {
                "event_time": "UTC_DATETIME",
                "actor": "STRING",
                "action": "STRING",
                "target": "STRING",
                "details": "JSON",
            },
        },
        {
            "table": TYPE_EDGE_CASES,
            "primary_key": ["case_id"],
            "columns": {
                "case_id": "INT",
                "c_boolean": "BOOLEAN",
                "c_short": "SHORT",
                "c_int": "INT",
                "c_long": "LONG",
                "c_decimal": _decimal(EDGE_DECIMAL_PRECISION, EDGE_DECIMAL_SCALE),
                "c_decimal_integral": _decimal(EDGE_DECIMAL_PRECISION, 0),
                "c_float": "FLOAT",
                "c_double": "DOUBLE",
                "c_naive_date": "NAIVE_DATE",
                "c_naive_datetime": "NAIVE_DATETIME",
                "c_utc_datetime": "UTC_DATETIME",
                "c_binary": "BINARY",
                "c_xml": "XML",
                "c_string": "STRING",
                "c_json": "JSON",
            },
        },
    ]
