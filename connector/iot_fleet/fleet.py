"""A deterministic IoT fleet: what each sync emits, as a lazy sequence of actions in fixed stages.

Every value comes from `random.Random` instances seeded with text built from the configured seed, the sync
number and the row's position, and every timestamp from the sync's time window; nothing reads the clock. So
the same configuration and state always give the same operations, and a stage can be restarted at any
offset (which is how an interrupted sync resumes without emitting anything twice).

Per sync: new readings (the table that scales with `readings_per_sync`), corrections and deletions of the
previous sync's readings (partial updates that modify different sets of columns), re-inserts of some of the
readings just deleted, device and sensor changes (partial updates, full upserts, deletes and revivals),
new and completed maintenance events, firmware releases (truncated and reloaded without the withdrawn
releases every `truncate_every_n_syncs` syncs), a rollout per channel in an undeclared table, audit-log
rows without a key, and an update that carries a site's key alone. Some UTC timestamps are emitted with
non-UTC offsets (as aware datetimes or as ISO text).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple

from iot_fleet import edge_cases, tables
from iot_fleet.settings import FleetSettings

UPSERT, UPDATE, DELETE, TRUNCATE = "upsert", "update", "delete", "truncate"
READING_ID_STRIDE = 1_000_000_000  # reading_id = sync_number * stride + position in the sync
READINGS_BLOCK = 1024  # rows generated from one RNG; a resume regenerates at most one block
CORRECTION_STEP = 20  # every 20th reading of the previous sync gets a partial update ...
DELETION_STEP = 60  # ... and every 60th, at a different residue, is deleted
REINSERT_STEP = 2  # every 2nd of those deletions is re-inserted, with new values, later in the same sync
# The columns a correction modifies cycle through these sets, so one batch of updates mixes more than two
# sets of modified columns (a destination may write such a batch differently from a uniform one).
CORRECTION_COLUMNS = (
    ("value", "quality", "is_anomaly"),
    ("value",),
    ("quality", "is_anomaly"),
    ("raw_payload", "ingest_lag_ms"),
)
# Offsets that source timestamps are emitted with: the SDK converts them to UTC.
SOURCE_OFFSETS = tuple(
    timezone(timedelta(minutes=minutes))
    for minutes in (-12 * 60, -8 * 60, -3 * 60 - 30, 5 * 60 + 45, 14 * 60)
)
SITES = (
    # name, country, latitude, longitude
    ("Zürich Nord", "CH", 47.4108, 8.5446),
    ("東京 大田区", "JP", 35.5613, 139.7160),
    ("São Paulo – Lapa", "BR", -23.5275, -46.7043),
    ("Kraków Płaszów", "PL", 50.0370, 19.9930),
    ("Reykjavík Höfði", "IS", 64.1466, -21.9426),
    ("Αθήνα Πειραιάς", "GR", 37.9420, 23.6465),
    ("Lagos 🌍 Apapa", "NG", 6.4474, 3.3641),
    ("Dornbirn", "AT", 47.4125, 9.7417),
)
MODELS = ("EdgeBox-100", "EdgeBox-200", "SensaHub S", "SensaHub XL")
TEAMS = ("team-north", "team-south", "plant-ops", "field-services")
SENSOR_KINDS = (
    # kind, unit, typical value, spread, min, max
    ("temperature", "°C", 21.0, 4.0, -40.0, 125.0),
    ("humidity", "%", 45.0, 12.0, 0.0, 100.0),
    ("vibration", "mm/s", 2.5, 1.5, 0.0, 50.0),
    ("pressure", "hPa", 1013.0, 8.0, 300.0, 1100.0),
    ("voltage", "V", 230.0, 3.0, 0.0, 400.0),
    ("co2", "ppm", 600.0, 150.0, 0.0, 5000.0),
)
SAMPLE_RATES_HZ = (0.5, 1.0, 2.0, 10.0, 12.5, 100.0)  # exact in a 32-bit float
EVENT_TYPES = ("inspection", "battery_swap", "calibration", "firmware_update", "repair")
# Every sync rolls a release out to each channel: the newest to the first three, the stable one to the last.
ROLLOUT_CHANNELS = ("canary", "beta", "early-access", "stable")
FIRST_RELEASES = 3
REINSERTED_READINGS = "readings_reinserted"  # a stage name (of table readings), recorded in resume states


class Action(NamedTuple):
    """One operation to emit; `data` is None only for a truncate."""

    kind: str
    table: str
    data: dict[str, Any] | None = None
    schema: str | None = None


@dataclass(frozen=True)
class Stage:
    """A named part of a sync whose actions can be produced from any offset."""

    name: str
    actions: Callable[[int], Iterator[Action]]


def decimal_text(units: int, scale: int) -> str:
    """`units` / 10**scale as exact decimal text (no float rounding)."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**scale)
    return f"{sign}{whole}.{fraction:0{scale}d}" if scale else f"{sign}{whole}"


def device_id(index: int) -> str:
    return f"dev-{index:05d}"


def firmware_version(index: int) -> str:
    return f"{1 + index // 4}.{index % 4}.0"


class FleetSync:
    """Everything sync number `sync_number` emits for the window starting at `window_start`."""

    def __init__(self, settings: FleetSettings, sync_number: int, window_start: datetime) -> None:
        self.settings = settings
        self.sync = sync_number
        self.window_start = window_start
        self.window_end = window_start + timedelta(minutes=settings.sync_window_minutes)
        self.sensor_count = settings.device_count * settings.sensors_per_device

    # -- plan
    def stages(self) -> list[Stage]:
        """The stages in emission order."""
        return [
            Stage(tables.SITES, self._lazy(self._sites)),
            Stage(tables.FIRMWARE_RELEASES, self._lazy(self._firmware_releases)),
            Stage(tables.FIRMWARE_ROLLOUTS, self._lazy(self._firmware_rollouts)),
            Stage(tables.DEVICES, self._lazy(self._devices)),
            Stage(tables.SENSORS, self._lazy(self._sensors)),
            Stage(tables.MAINTENANCE_EVENTS, self._lazy(self._maintenance_events)),
            Stage(tables.READINGS, self._readings),
            # its own stage, so the checkpoint after `readings` separates the deletes from the re-inserts
            Stage(REINSERTED_READINGS, self._lazy(self._reinserted_readings)),
            Stage(tables.TYPE_EDGE_CASES, self._lazy(self._edge_cases)),
            Stage(tables.AUDIT_LOG, self._lazy(self._audit_log)),
        ]

    @property
    def truncates_firmware(self) -> bool:
        every = self.settings.truncate_every_n_syncs
        return every > 0 and self.sync > 1 and self.sync % every == 0

    @staticmethod
    def _lazy(produce: Callable[[], Iterator[Action]]) -> Callable[[int], Iterator[Action]]:
        """Restart a small stage by regenerating it and skipping what was already emitted."""
        return lambda start: itertools.islice(produce(), start, None)

    def _rng(self, *parts: object) -> random.Random:
        """A generator for one purpose; text seeds hash the same in every process."""
        return random.Random("/".join(str(part) for part in (self.settings.seed, *parts)))

    def _moment(self, fraction: float) -> datetime:
        """A millisecond-precise UTC moment inside this sync's window."""
        window_ms = self.settings.sync_window_minutes * 60_000
        return self.window_start + timedelta(milliseconds=int(window_ms * fraction))

    # -- the deleted-then-revived rows of each sync
    def _decommissioned_device(self, sync: int) -> int:
        return (sync * 5 + self.settings.seed) % self.settings.device_count

    def _removed_sensor(self, sync: int) -> int:
        return (sync * 3 + self.settings.seed) % self.sensor_count

    # -- sites (second source schema)
    def _sites(self) -> Iterator[Action]:
        if self.sync == 1:
            for index, (name, country, latitude, longitude) in enumerate(SITES):
                yield Action(
                    UPSERT,
                    tables.SITES,
                    {
                        "site_id": index + 1,
                        "name": name,
                        "country_code": country,
                        "opened_on": date(2015 + index, 1 + index, 10 + index),
                        "floor_area_m2": decimal_text(1_250_050 + index * 98_765, 2),
                        "coordinates": {"lat": latitude, "lon": longitude, "source": "survey"},
                        "device_count": self._devices_at_site(index),
                    },
                    tables.OPS_SCHEMA,
                )
            return
        index = (self.sync - 2) % len(SITES)
        yield Action(
            UPDATE,
            tables.SITES,
            {
                "site_id": index + 1,
                "device_count": self._devices_at_site(index) + self.sync,
            },
            tables.OPS_SCHEMA,
        )
        # a site whose source record changed only in columns this connector does not sync: an update with
        # the key alone, after which Fivetran has only `_fivetran_synced` to change
        touched = (index + len(SITES) // 2) % len(SITES)
        yield Action(UPDATE, tables.SITES, {"site_id": touched + 1}, tables.OPS_SCHEMA)

    def _devices_at_site(self, site_index: int) -> int:
        count = self.settings.device_count
        return count // len(SITES) + (1 if site_index < count % len(SITES) else 0)

    # -- firmware releases (truncated and reloaded periodically) and rollouts (undeclared table)
    def _release_count(self, sync: int) -> int:
        return FIRST_RELEASES + sync - 1

    def _release(self, index: int, newest: int) -> dict[str, Any]:
        version = firmware_version(index)
        notes = (
            edge_cases.large_text(f"release {version}")
            if index == 0
            else f"Release {version}.\nFixes: #{index}."
        )
        return {
            "version": version,
            "released_on": date(2023, 1, 1) + timedelta(days=30 * index),
            "size_bytes": 10_000_000_000 + index * 123_457,
            "checksum": hashlib.sha256(f"{self.settings.seed}/{version}".encode()).digest(),
            "is_stable": index < newest,
            "release_notes": notes,
            "changelog": {
                "version": version,
                "changes": [{"type": "fix", "id": index}],
                "breaking": index % 5 == 4,
            },
        }

    def withdrawn(self, index: int, count: int) -> bool:
        """Releases a reload leaves out, so the rows the truncate removed stay removed: every 4th from the
        second on, never one of the two newest (later syncs update those, and devices run the older)."""
        return index % 4 == 1 and index < count - 2

    def reloaded_releases(self) -> list[int]:
        count = self._release_count(self.sync)
        return [index for index in range(count) if not self.withdrawn(index, count)]

    def _firmware_releases(self) -> Iterator[Action]:
        count = self._release_count(self.sync)
        newest = count - 1
        if self.sync == 1:
            for index in range(count):
                yield Action(UPSERT, tables.FIRMWARE_RELEASES, self._release(index, newest))
            return
        if self.truncates_firmware:
            yield Action(TRUNCATE, tables.FIRMWARE_RELEASES)
            for index in self.reloaded_releases():
                yield Action(UPSERT, tables.FIRMWARE_RELEASES, self._release(index, newest))
            return
        yield Action(
            UPDATE, tables.FIRMWARE_RELEASES, {"version": firmware_version(newest - 1), "is_stable": True}
        )
        yield Action(UPSERT, tables.FIRMWARE_RELEASES, self._release(newest, newest))

    def _stable_firmware(self) -> str:
        return firmware_version(self._release_count(self.sync) - 2)

    def _firmware_rollouts(self) -> Iterator[Action]:
        newest = firmware_version(self._release_count(self.sync) - 1)
        for number, channel in enumerate(ROLLOUT_CHANNELS):
            yield Action(
                UPSERT,
                tables.FIRMWARE_ROLLOUTS,
                {
                    "rollout_id": (self.sync - 1) * len(ROLLOUT_CHANNELS) + number + 1,
                    "version": self._stable_firmware() if channel == "stable" else newest,
                    "channel": channel,
                    "target_share_pct": 5 * (1 + number) * (1 + self.sync % 4),
                    "paused": (self.sync + number) % 3 == 0,
                    "waves": [{"wave": n, "devices": n * 10} for n in range(1, 3 + number % 2)],
                },
            )

    # -- devices
    def _device(self, index: int) -> dict[str, Any]:
        """The full row of a device as of this sync."""
        rng = self._rng("device", index)
        site = index % len(SITES)
        _, _, latitude, longitude = SITES[site]
        row: dict[str, Any] = {
            "device_id": device_id(index),
            "serial_number": f"SN-{rng.randrange(16**10):010X}",
            "model": rng.choice(MODELS),
            "site_id": site + 1,
            "commissioned_on": self.settings.start.date() - timedelta(days=rng.randrange(30, 1500)),
            "is_active": True,
            "latitude": round(latitude + rng.uniform(-0.01, 0.01), 6),
            "longitude": round(longitude + rng.uniform(-0.01, 0.01), 6),
            "tags": None
            if index % 7 == 3
            else {
                "env": rng.choice(("prod", "staging")),
                "labels": [rng.choice(("roof", "basement", "line-1", "line-2")), f"rack-{index % 11}"],
                "limits": {"temperature": {"min": -20, "max": 85.5}},
            },
            "last_seen_at": self._moment(rng.random()),
            "firmware_version": self._stable_firmware(),
            "ownerTeam": rng.choice(TEAMS),  # undeclared, camelCase: renamed by Fivetran naming
            "rack_units": rng.randrange(1, 5),  # undeclared integer
            "remote_access": index % 2 == 0,  # undeclared boolean
            "extra": {"vendor": {"name": "Acme IoT", "contract": f"C-{index:04d}"}, "ports": [22, 443]},
        }
        if self.sync >= 2:
            row["battery_health_pct"] = self._battery(index)  # a column that first appears in sync 2
        return row

    def _battery(self, index: int) -> int:
        return max(1, 100 - self.sync - index % 10)

    def _devices(self) -> Iterator[Action]:
        count = self.settings.device_count
        if self.sync == 1:
            for index in range(count):
                yield Action(UPSERT, tables.DEVICES, self._device(index))
            return
        if self.sync >= 3:  # revive the device decommissioned in the previous sync with a full upsert
            yield Action(UPSERT, tables.DEVICES, self._device(self._decommissioned_device(self.sync - 1)))
        for index in range(self.sync % 3, count, 3):
            yield Action(
                UPDATE,
                tables.DEVICES,
                {
                    "device_id": device_id(index),
                    # the same instant, emitted with a non-UTC offset
                    "last_seen_at": self._moment((index + 1) / (count + 1)).astimezone(
                        SOURCE_OFFSETS[index % len(SOURCE_OFFSETS)]
                    ),
                    "firmware_version": self._stable_firmware(),
                    "battery_health_pct": self._battery(index),
                },
            )
        moved = (self.sync * 11 + 1) % count
        relocated = self._device(moved)
        site = (moved + self.sync) % len(SITES)
        relocated.update(site_id=site + 1, latitude=SITES[site][2], longitude=SITES[site][3], is_active=False)
        yield Action(UPSERT, tables.DEVICES, relocated)
        yield Action(DELETE, tables.DEVICES, {"device_id": device_id(self._decommissioned_device(self.sync))})

    # -- sensors (composite key)
    def _sensor_key(self, position: int) -> tuple[int, int]:
        """Device index and 1-based sensor number of sensor `position` in the fleet."""
        device, sensor = divmod(position, self.settings.sensors_per_device)
        return device, sensor + 1

    def _sensor(self, position: int) -> dict[str, Any]:
        device, sensor = self._sensor_key(position)
        rng = self._rng("sensor", position)
        kind, unit, _, _, low, high = SENSOR_KINDS[(sensor - 1) % len(SENSOR_KINDS)]
        installed = datetime(2022, 1, 1) + timedelta(minutes=rng.randrange(0, 500_000))
        return {
            "device_id": device_id(device),
            "sensor_id": sensor,
            "kind": kind,
            "unit": unit,
            "calibration_offset": decimal_text(rng.randint(-99_999, 99_999), 4),
            "sample_rate_hz": rng.choice(SAMPLE_RATES_HZ),
            "installed_at": installed,
            "min_value": low,
            "max_value": high,
        }

    def _sensors(self) -> Iterator[Action]:
        if self.sync == 1:
            for position in range(self.sensor_count):
                yield Action(UPSERT, tables.SENSORS, self._sensor(position))
            return
        if self.sync >= 3:
            yield Action(UPSERT, tables.SENSORS, self._sensor(self._removed_sensor(self.sync - 1)))
        for position in range(self.sync % 5, self.sensor_count, 5):
            device, sensor = self._sensor_key(position)
            drift = self._rng("drift", self.sync, position).randint(-99_999, 99_999)
            yield Action(
                UPDATE,
                tables.SENSORS,
                {
                    "device_id": device_id(device),
                    "sensor_id": sensor,
                    "calibration_offset": decimal_text(drift, 4),
                },
            )
        device, sensor = self._sensor_key(self._removed_sensor(self.sync))
        yield Action(DELETE, tables.SENSORS, {"device_id": device_id(device), "sensor_id": sensor})

    # -- maintenance events
    @property
    def events_per_sync(self) -> int:
        return max(2, self.settings.device_count // 3)

    def _event_id(self, sync: int, number: int) -> int:
        return (sync - 1) * self.events_per_sync + number + 1

    def _maintenance_events(self) -> Iterator[Action]:
        if self.sync >= 2:  # cancel the first event of the previous sync, complete the others
            previous = self.sync - 1
            yield Action(DELETE, tables.MAINTENANCE_EVENTS, {"event_id": self._event_id(previous, 0)})
            for number in range(1, self.events_per_sync):
                rng = self._rng("event-done", previous, number)
                yield Action(
                    UPDATE,
                    tables.MAINTENANCE_EVENTS,
                    {
                        "event_id": self._event_id(previous, number),
                        "status": "completed",
                        # ISO text with a non-UTC offset
                        "completed_at": self._moment(number / (self.events_per_sync + 1))
                        .astimezone(SOURCE_OFFSETS[(self.sync + number) % len(SOURCE_OFFSETS)])
                        .isoformat(timespec="milliseconds"),
                        "cost": decimal_text(rng.randrange(5_000, 250_000_00), 2),
                    },
                )
        for number in range(self.events_per_sync):
            yield Action(UPSERT, tables.MAINTENANCE_EVENTS, self._new_event(number))

    def _new_event(self, number: int) -> dict[str, Any]:
        rng = self._rng("event", self.sync, number)
        event_id = self._event_id(self.sync, number)
        device = device_id(rng.randrange(self.settings.device_count))
        event_type = rng.choice(EVENT_TYPES)
        parts = [{"sku": f"P-{rng.randrange(1000):03d}", "qty": rng.randint(1, 4)} for _ in range(number % 3)]
        work_order = (
            f'<workOrder id="{event_id}"><device>{device}</device>'
            f'<task priority="{rng.randint(1, 3)}">{event_type}</task>'
            "<note>Prüfung &amp; Wartung</note></workOrder>"
        )
        scheduled = self.window_start.replace(tzinfo=None) + timedelta(hours=24 + number)
        return {
            "event_id": event_id,
            "device_id": device,
            "event_type": event_type,
            "status": "scheduled",
            "scheduled_for": scheduled,
            "completed_at": None,
            "cost": None,
            "work_order": work_order,
            "parts": parts,
        }

    # -- readings (scales with readings_per_sync)
    def _readings(self, start: int) -> Iterator[Action]:
        """Corrections and deletions of the previous sync's readings, then this sync's new readings."""
        total = self.settings.readings_per_sync
        corrections = range(0)
        deletions = self._deletion_positions()
        if self.sync >= 2:
            first = (self.settings.seed + 7 * self.sync) % min(CORRECTION_STEP, total)
            corrections = range(first, total, CORRECTION_STEP)
        segments: list[tuple[int, Callable[[int], Iterator[Action]]]] = [
            (len(corrections), lambda offset: (self._correction(i) for i in corrections[offset:])),
            (len(deletions), lambda offset: (self._deletion(i) for i in deletions[offset:])),
            (total, self._new_readings),
        ]
        for length, produce in segments:
            if start >= length:
                start -= length
                continue
            yield from produce(start)
            start = 0

    def _previous_reading_id(self, position: int) -> int:
        return (self.sync - 1) * READING_ID_STRIDE + position

    def _deletion_positions(self) -> range:
        """Positions (in the previous sync) of the readings this sync deletes."""
        total = self.settings.readings_per_sync
        if self.sync < 2:
            return range(0)
        first = (self.settings.seed + 7 * self.sync) % min(CORRECTION_STEP, total)
        # residue differs from the corrections' (DELETION_STEP is a multiple of CORRECTION_STEP)
        return range(first + CORRECTION_STEP // 2, total, DELETION_STEP)

    def _correction(self, position: int) -> Action:
        """A partial update whose set of modified columns depends on the position (CORRECTION_COLUMNS)."""
        rng = self._rng("correction", self.sync, position)
        value = round(rng.uniform(0.0, 100.0), 4)
        changes: dict[str, Any] = {
            "value": value,
            "quality": 3,
            "is_anomaly": False,
            "raw_payload": struct.pack(">Id", position, value),
            "ingest_lag_ms": rng.randrange(5_000, 60_000),
        }
        columns = CORRECTION_COLUMNS[(position // CORRECTION_STEP) % len(CORRECTION_COLUMNS)]
        return Action(
            UPDATE,
            tables.READINGS,
            {"reading_id": self._previous_reading_id(position), **{name: changes[name] for name in columns}},
        )

    def _deletion(self, position: int) -> Action:
        return Action(DELETE, tables.READINGS, {"reading_id": self._previous_reading_id(position)})

    def _reinserted_readings(self) -> Iterator[Action]:
        """Every REINSERT_STEP-th reading deleted in this sync comes back, with new values (a full upsert)."""
        for position in self._deletion_positions()[::REINSERT_STEP]:
            rng = self._rng("reinsert", self.sync, position)
            row = self._reading(position, rng)
            row["reading_id"] = self._previous_reading_id(position)
            row["quality"] = 4  # re-measured
            yield Action(UPSERT, tables.READINGS, row)

    def _new_readings(self, start: int) -> Iterator[Action]:
        total = self.settings.readings_per_sync
        for block in range(start // READINGS_BLOCK, (total + READINGS_BLOCK - 1) // READINGS_BLOCK):
            rng = self._rng("readings", self.sync, block)
            for position in range(block * READINGS_BLOCK, min(total, (block + 1) * READINGS_BLOCK)):
                row = self._reading(position, rng)  # always drawn, so the block's sequence stays the same
                if position >= start:
                    yield Action(UPSERT, tables.READINGS, row)

    def _reading(self, position: int, rng: random.Random) -> dict[str, Any]:
        settings = self.settings
        sensor_position = position % self.sensor_count
        device, sensor = self._sensor_key(sensor_position)
        _, _, typical, spread, low, high = SENSOR_KINDS[(sensor - 1) % len(SENSOR_KINDS)]
        anomaly = rng.random() < 0.01
        value = typical + rng.gauss(0.0, spread) * (6 if anomaly else 1)
        value = round(min(high, max(low, value)), 4)
        return {
            "reading_id": self.sync * READING_ID_STRIDE + position,
            "device_id": device_id(device),
            "sensor_id": sensor,
            "measured_at": self._moment(position / settings.readings_per_sync),
            "value": value,
            "quality": rng.choice((0, 0, 0, 1, 2)),
            "is_anomaly": anomaly,
            "raw_payload": struct.pack(">IHd", device, sensor, value),
            "ingest_lag_ms": rng.randrange(5, 5000),  # undeclared integer
        }

    # -- edge cases and the keyless audit log
    def _edge_cases(self) -> Iterator[Action]:
        if self.sync == 1:
            for row in edge_cases.edge_case_rows(self.settings.seed):
                yield Action(UPSERT, tables.TYPE_EDGE_CASES, row)
            return
        for update in edge_cases.edge_case_updates(self.sync):
            yield Action(UPDATE, tables.TYPE_EDGE_CASES, update)

    def _audit_entries(self) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
        yield "sync.start", "fleet", {"sync": self.sync, "window_start": self.window_start.isoformat()}
        if self.sync >= 2:
            yield "device.decommission", device_id(self._decommissioned_device(self.sync)), None
        if self.sync >= 3:
            yield "device.recommission", device_id(self._decommissioned_device(self.sync - 1)), None
        if self.truncates_firmware:
            reloaded = self.reloaded_releases()
            withdrawn = self._release_count(self.sync) - len(reloaded)
            yield (
                "firmware.reload",
                tables.FIRMWARE_RELEASES,
                {"releases": len(reloaded), "withdrawn": withdrawn},
            )
        yield "sync.finish", "fleet", {"sync": self.sync, "readings": self.settings.readings_per_sync}

    def _audit_log(self) -> Iterator[Action]:
        entries = list(self._audit_entries())
        for number, (action, target, details) in enumerate(entries):
            yield Action(
                UPSERT,
                tables.AUDIT_LOG,
                {
                    "event_time": self._moment((number + 1) / (len(entries) + 1)),
                    "actor": "fleet-manager" if number % 2 else "scheduler",
                    "action": action,
                    "target": target,
                    "details": details,
                    "sequence": self.sync * 1000 + number,  # undeclared; keeps keyless rows distinct
                },
            )
