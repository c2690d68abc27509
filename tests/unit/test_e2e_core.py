"""The e2e core: merging operations per key, batch files, schema evolution, truncates (no gRPC server).

`FakeDestination` records the calls the core makes and reads every batch file back with the destination's
own streaming reader while the call is in progress (the core deletes the files afterwards).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cratedb_destination.batch import UNMODIFIED, FileFormat, key_for, open_batch
from fivetran_e2e import core as core_module
from fivetran_e2e.core import Core, OpClock, format_micros
from fivetran_e2e.data_types import FivetranType
from fivetran_e2e.dest_tables import DestColumn, DestTable, byte_capacity, target_table
from fivetran_e2e.operations import Cell, CellKind, DeclaredColumn, DeclaredTable, Operation, OpKind
from fivetran_e2e.recorder import Recording, write_recording
from fivetran_e2e.warehouse import WarehouseColumn, WarehouseTable
from fivetran_proto.common_pb2 import DECIMAL, JSON, LONG, STRING, XML


class FakeDestination:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.tables: dict[tuple[str, str], DestTable] = {}
        self.workdirs: set[Path] = set()

    def describe(self, schema: str, table: str) -> DestTable | None:
        self.calls.append(("describe", f"{schema}.{table}"))
        return self.tables.get((schema, table))

    def create(self, table: DestTable) -> None:
        self.calls.append(("create", table))
        self.tables[(table.schema, table.name)] = table

    def alter(self, table: DestTable) -> None:
        self.calls.append(("alter", table))
        self.tables[(table.schema, table.name)] = table

    def truncate(self, schema: str, table: str, before: int) -> None:
        self.calls.append(("truncate", (f"{schema}.{table}", before)))

    def write_batch(
        self, table: DestTable, keys: Any, replace: list[str], update: list[str], params: Any
    ) -> None:
        fmt = FileFormat.from_proto(params)
        assert (fmt.compression, fmt.encryption) == ("zstd", "aes")
        assert fmt.null_string != fmt.unmodified_string
        batch: dict[str, list[dict[str, Any]]] = {"replace": [], "update": []}
        for kind, paths in (("replace", replace), ("update", update)):
            for path in paths:
                self.workdirs.add(Path(path).parent)
                assert (Path(path).parent.stat().st_mode & 0o777) == 0o700
                with open_batch(path, key_for(keys, path), fmt) as reader:
                    assert list(reader.columns) == [c.name for c in table.columns]
                    for rows in reader.chunks(1000):
                        batch[kind] += [dict(zip(reader.columns, row, strict=True)) for row in rows]
        self.calls.append(("write", (str(table), batch)))

    def writes(self) -> list[dict[str, list[dict[str, Any]]]]:
        return [batch for name, (_, batch) in ((n, v) for n, v in self.calls if n == "write")]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def text(value: str) -> Cell:
    return Cell(CellKind.TEXT, text=value)


def op(kind: OpKind, table: str = "Orders", schema: str | None = None, **data: Any) -> Operation:
    cells = {name: value if isinstance(value, Cell) else text(str(value)) for name, value in data.items()}
    return Operation(kind=kind, table=table, schema=schema, data=cells)


def checkpoint(state: Any = None) -> Operation:
    return Operation(kind=OpKind.CHECKPOINT, state=state or {})


ORDERS = WarehouseTable(
    "tester",
    "orders",
    (
        WarehouseColumn("id", "INTEGER", True),
        WarehouseColumn("status", "VARCHAR", False),
        WarehouseColumn("amount", "DECIMAL(10,2)", False),
        WarehouseColumn("created_at", "TIMESTAMP WITH TIME ZONE", False),
        WarehouseColumn("_fivetran_deleted", "BOOLEAN", False),
        WarehouseColumn("_fivetran_synced", "TIMESTAMP WITH TIME ZONE", False),
    ),
)
EVENTS = WarehouseTable(
    "tester",
    "events",
    (
        WarehouseColumn("_fivetran_id", "VARCHAR", True),
        WarehouseColumn("name", "VARCHAR", False),
        WarehouseColumn("n", "BIGINT", False),
        WarehouseColumn("_fivetran_deleted", "BOOLEAN", False),
        WarehouseColumn("_fivetran_synced", "TIMESTAMP WITH TIME ZONE", False),
    ),
)


def replay(
    tmp_path: Path,
    operations: list[Operation],
    tables: list[WarehouseTable],
    *,
    fake: FakeDestination | None = None,
    core: Core | None = None,
    succeeded: bool = True,
    declared: list[DeclaredTable] | None = None,
) -> tuple[FakeDestination, Core]:
    fake = fake or FakeDestination()
    core = core or Core(fake, schema_prefix="")  # type: ignore[arg-type]
    recording = write_recording(tmp_path / f"rec{len(fake.calls)}.jsonl", declared or [], operations)
    core.replay_sync(recording, tables, succeeded)
    return fake, core


def test_upsert_then_update_is_one_upsert_of_the_merged_row(tmp_path: Path) -> None:
    fake, core = replay(
        tmp_path,
        [
            op(OpKind.UPSERT, id=1, status="new", amount="10.555", createdAt="2024-05-06T07:08:09+02:00"),
            op(OpKind.UPDATE, id=1, status="shipped"),
            checkpoint(),
        ],
        [ORDERS],
    )
    assert fake.names() == ["describe", "create", "write"]
    (batch,) = fake.writes()
    assert batch["update"] == []
    (row,) = batch["replace"]
    assert row["id"] == "1" and row["status"] == "shipped" and row["amount"] == "10.56"
    assert row["created_at"] == "2024-05-06T05:08:09Z"
    assert row["_fivetran_deleted"] == "false"
    assert row["_fivetran_synced"].endswith("Z")
    core.close()
    assert not any(path.exists() for path in fake.workdirs)


def test_update_and_delete_of_keys_not_in_the_batch_stay_updates(tmp_path: Path) -> None:
    fake, _ = replay(
        tmp_path,
        [op(OpKind.UPDATE, id=7, status=""), op(OpKind.DELETE, id=8), checkpoint()],
        [ORDERS],
    )
    (batch,) = fake.writes()
    assert batch["replace"] == []
    update, delete = batch["update"]
    assert update["id"] == "7" and update["status"] is None  # "" becomes NULL in an update, as observed
    assert update["amount"] is UNMODIFIED and update["_fivetran_deleted"] == "false"
    assert delete["id"] == "8" and delete["_fivetran_deleted"] == "true"
    assert delete["status"] is UNMODIFIED and delete["_fivetran_synced"] is not UNMODIFIED


def test_upsert_then_delete_then_update_revives(tmp_path: Path) -> None:
    fake, _ = replay(
        tmp_path,
        [
            op(OpKind.UPSERT, id=1, status=""),
            op(OpKind.DELETE, id=1),
            op(OpKind.UPSERT, id=2, status="x"),
            op(OpKind.DELETE, id=2),
            op(OpKind.UPDATE, id=2, amount="3"),
            checkpoint(),
        ],
        [ORDERS],
    )
    (batch,) = fake.writes()
    rows = {row["id"]: row for row in batch["replace"]}
    assert rows["1"]["_fivetran_deleted"] == "true" and rows["1"]["status"] == ""  # "" kept in an upsert
    assert rows["2"]["_fivetran_deleted"] == "false" and rows["2"]["amount"] == "3"


def test_each_checkpoint_is_one_write_and_each_key_appears_once(tmp_path: Path) -> None:
    fake, core = replay(
        tmp_path,
        [
            op(OpKind.UPSERT, id=1, status="a"),
            op(OpKind.UPSERT, id=1, status="b"),
            checkpoint(),
            op(OpKind.UPSERT, id=1, status="c"),
            op(OpKind.UPDATE, id=2, status="d"),
            checkpoint(),
        ],
        [ORDERS],
    )
    first, second = fake.writes()
    assert [r["status"] for r in first["replace"]] == ["b"]
    assert [r["status"] for r in second["replace"]] == ["c"] and [r["id"] for r in second["update"]] == ["2"]
    assert core.stats.write_batches == 2 and core.stats.rows_written == 3


def test_truncate_splits_the_interval_and_gets_its_own_millisecond(tmp_path: Path) -> None:
    fake, _ = replay(
        tmp_path,
        [
            op(OpKind.UPSERT, id=1, status="before"),
            Operation(kind=OpKind.TRUNCATE, table="Orders"),
            op(OpKind.UPSERT, id=2, status="after"),
            checkpoint(),
        ],
        [ORDERS],
    )
    assert fake.names() == ["describe", "create", "write", "truncate", "write"]
    before_write, after_write = fake.writes()
    (_, (table, before)) = next(call for call in fake.calls if call[0] == "truncate")
    assert table == "tester.orders"
    synced_before = before_write["replace"][0]["_fivetran_synced"]
    synced_after = after_write["replace"][0]["_fivetran_synced"]
    assert synced_before < format_micros(before) <= synced_after
    assert format_micros(before - 1000)[:23] >= synced_before[:23]  # whole milliseconds apart
    assert synced_after[:23] > format_micros(before)[:23]


def test_truncate_of_a_table_the_warehouse_lacks_is_still_sent(tmp_path: Path) -> None:
    fake, _ = replay(tmp_path, [Operation(kind=OpKind.TRUNCATE, table="Ghost", schema="Src")], [])
    assert fake.calls[0][0] == "truncate" and fake.calls[0][1][0] == "tester_src.ghost"


def test_keyless_rows_get_a_deterministic_id_and_identical_rows_collapse(tmp_path: Path) -> None:
    fake, _ = replay(
        tmp_path,
        [
            op(OpKind.UPSERT, table="events", name="a", n=1),
            op(OpKind.UPSERT, table="events", name="a", n="1"),
            op(OpKind.UPSERT, table="events", name="b", n=2),
            checkpoint(),
            op(OpKind.DELETE, table="events", name="b", n=2),
            op(OpKind.DELETE, table="events", name="b"),  # only some values: matches nothing
            checkpoint(),
        ],
        [EVENTS],
    )
    first, second = fake.writes()
    ids = {row["name"]: row["_fivetran_id"] for row in first["replace"]}
    assert len(first["replace"]) == 2
    deleted = [row for row in second["update"] if row["_fivetran_deleted"] == "true"]
    assert deleted[0]["_fivetran_id"] == ids["b"]
    assert deleted[1]["_fivetran_id"] not in ids.values()


def test_a_failed_sync_keeps_only_what_its_last_checkpoint_committed(tmp_path: Path) -> None:
    fake, _ = replay(
        tmp_path,
        [op(OpKind.UPSERT, id=1, status="kept"), checkpoint(), op(OpKind.UPSERT, id=2, status="lost")],
        [ORDERS],
        succeeded=False,
    )
    (batch,) = fake.writes()
    assert [row["id"] for row in batch["replace"]] == ["1"]


def test_values_of_columns_the_warehouse_lacks_are_counted(tmp_path: Path) -> None:
    _, core = replay(
        tmp_path,
        [op(OpKind.UPSERT, id=1, extra="x", empty="", gone=Cell(CellKind.NULL)), checkpoint()],
        [ORDERS],
    )
    assert core.stats.dropped_columns == {"tester.orders.extra": 1}


def test_operations_on_tables_missing_from_the_warehouse_are_skipped(tmp_path: Path) -> None:
    fake, core = replay(tmp_path, [op(OpKind.UPDATE, table="nowhere", id=1), checkpoint()], [ORDERS])
    assert core.stats.skipped and "write" not in fake.names()


def test_tables_without_data_are_still_created(tmp_path: Path) -> None:
    fake, _ = replay(tmp_path, [checkpoint()], [ORDERS])
    assert fake.names() == ["describe", "create"]


def test_large_intervals_are_written_in_several_batches(tmp_path: Path) -> None:
    fake = FakeDestination()
    core = Core(fake, max_pending_keys=3, rows_per_file=2)  # type: ignore[arg-type]
    replay(
        tmp_path,
        [op(OpKind.UPSERT, id=i, status="s") for i in range(7)] + [checkpoint()],
        [ORDERS],
        fake=fake,
        core=core,
    )
    sizes = [len(batch["replace"]) for batch in fake.writes()]
    assert sizes == [3, 3, 1] and core.stats.files_written == 5


def test_schema_evolves_with_alter_table(tmp_path: Path) -> None:
    fake, core = replay(tmp_path, [op(OpKind.UPSERT, id=1, status="x" * 100), checkpoint()], [ORDERS])
    created = fake.tables[("tester", "orders")]
    assert created.column("status").string_byte_length == 128  # type: ignore[union-attr]
    assert created.column("amount").type == FivetranType(DECIMAL, 10, 2)  # type: ignore[union-attr]
    wider = WarehouseTable(
        "tester",
        "orders",
        (
            WarehouseColumn("id", "BIGINT", True),
            *ORDERS.columns[1:],
            WarehouseColumn("note", "VARCHAR", False),
        ),
    )
    replay(
        tmp_path,
        [op(OpKind.UPSERT, id=2, status="é" * 100, note="n"), checkpoint()],
        [wider],
        fake=fake,
        core=core,
    )
    alter = [value for name, value in fake.calls if name == "alter"]
    assert len(alter) == 1
    altered = alter[0]
    assert altered.column("id").type == FivetranType(LONG)
    assert altered.column("status").string_byte_length == 256  # 200 bytes of UTF-8
    assert altered.column("note") is not None
    replay(tmp_path, [op(OpKind.UPSERT, id=3, status="s"), checkpoint()], [wider], fake=fake, core=core)
    assert len([name for name, _ in fake.calls if name == "alter"]) == 1  # nothing to widen


def test_target_types_come_from_duckdb_refined_by_declarations() -> None:
    table = WarehouseTable(
        "tester_src",
        "docs",
        (WarehouseColumn("id", "VARCHAR", True), WarehouseColumn("body", "VARCHAR", False)),
    )
    declared = DeclaredTable(
        "Docs", "Src", (DeclaredColumn("id", 0, True), DeclaredColumn("Body", 12, False))
    )
    target = target_table("e2e_x_tester_src", table, declared)
    assert target.schema == "e2e_x_tester_src"
    assert [(c.name, c.type.type, c.primary_key) for c in target.columns] == [
        ("id", STRING, True),
        ("body", XML, False),
    ]


def test_dest_column_round_trips_through_protobuf() -> None:
    for column in (
        DestColumn("d", FivetranType(DECIMAL, 12, 3), True),
        DestColumn("s", FivetranType(STRING), False, 64),
        DestColumn("j", FivetranType(JSON)),
    ):
        assert DestColumn.from_proto(column.to_proto()) == column


def test_byte_capacity_rounds_up_to_powers_of_two() -> None:
    assert [byte_capacity(n) for n in (1, 2, 3, 100, 128, 129, 40000)] == [1, 2, 4, 128, 128, 256, 65536]


def test_clock_only_increases_and_isolates_truncates() -> None:
    clock = OpClock()
    ticks = [clock.tick() for _ in range(1000)]
    assert ticks == sorted(set(ticks))
    cut = clock.truncate_tick()
    assert cut % 1000 == 0 and ticks[-1] // 1000 < cut // 1000
    assert clock.tick() // 1000 > cut // 1000


@pytest.mark.parametrize("micros", [0, 1_715_000_000_123_456])
def test_format_micros(micros: int) -> None:
    assert format_micros(micros).endswith("Z") and len(format_micros(micros)) == 27


def test_recording_helper_roundtrip(tmp_path: Path) -> None:
    recording: Recording = write_recording(tmp_path / "r.jsonl", [], [checkpoint({"a": 1})])
    assert recording.committed_count == 1 and next(recording.operations()).state == {"a": 1}
    assert core_module.SYNCED == "_fivetran_synced"
