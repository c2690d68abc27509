"""Pure planning pieces of the destination: AlterTable plans, metadata records, retry policy, chunking."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from crate.client import exceptions as crate_errors
from cratedb_destination import type_mapping as tm
from cratedb_destination.batch import FileFormat, open_batch
from cratedb_destination.client import RetryPolicy, RowFailure, _is_transient_error, _is_transient_row
from cratedb_destination.domain import TableSchema
from cratedb_destination.metadata import decode, encode
from cratedb_destination.services.schema import plan_alter, scratch_table
from cratedb_destination.services.writes import WriteOptions, sized_chunks
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import ColumnSpec, FivetranType
from fivetran_e2e.batch_writer import write_batch_file

REF = TableRef("s", "t")


def spec(name: str, data_type: int, key: bool = False, **params: int) -> ColumnSpec:
    return ColumnSpec(name, FivetranType(data_type, **params), key)


ID = spec("id", tm.INT, True)
NAME = spec("name", tm.STRING)
SYNCED = spec("_fivetran_synced", tm.UTC_DATETIME)
FID = spec("_fivetran_id", tm.STRING, True)


def schema(*columns: ColumnSpec) -> TableSchema:
    return TableSchema(REF, tuple(columns))


def test_adding_columns_needs_no_rebuild() -> None:
    plan = plan_alter(schema(ID, NAME), schema(ID, NAME, spec("n", tm.LONG)), drop_columns=False)
    assert not plan.rebuild and [c.name for c in plan.added] == ["n"] and plan.dropped == ()
    assert [c.name for c in plan.final] == ["id", "name", "n"]


def test_type_change_rebuilds() -> None:
    plan = plan_alter(schema(ID, NAME), schema(ID, spec("name", tm.INT)), drop_columns=False)
    assert plan.rebuild and "name" in plan.reasons[0]


def test_params_change_with_same_storage_needs_no_rebuild() -> None:
    before = schema(ID, spec("name", tm.STRING, string_byte_length=128))
    after = schema(ID, spec("name", tm.STRING, string_byte_length=256))
    plan = plan_alter(before, after, drop_columns=False)
    assert not plan.rebuild and plan.final == after.columns


def test_crossing_the_indexed_text_limit_rebuilds() -> None:
    before = schema(ID, spec("name", tm.STRING, string_byte_length=128))
    after = schema(ID, spec("name", tm.STRING, string_byte_length=65536))
    assert plan_alter(before, after, drop_columns=False).rebuild


def test_key_change_rebuilds_and_former_key_column_stays_nullable() -> None:
    before = schema(spec("old_pk", tm.INT, True), spec("new_pk", tm.STRING), SYNCED)
    after = schema(spec("new_pk", tm.STRING, True), SYNCED)
    plan = plan_alter(before, after, drop_columns=False)
    assert plan.rebuild
    assert [(c.name, c.primary_key) for c in plan.final] == [
        ("old_pk", False),
        ("new_pk", True),
        ("_fivetran_synced", False),
    ]


def test_drop_columns_keeps_fivetran_synced_and_fivetran_id_of_keyless_tables() -> None:
    before = schema(NAME, FID, SYNCED)
    plan = plan_alter(before, schema(spec("other", tm.STRING)), drop_columns=True)
    assert plan.dropped == ("name",)
    assert "_fivetran_synced" in [c.name for c in plan.final]
    assert "_fivetran_id" in [c.name for c in plan.final]


def test_fivetran_id_goes_when_the_table_gets_a_real_key() -> None:
    plan = plan_alter(
        schema(NAME, FID, SYNCED), schema(spec("name", tm.STRING, True), SYNCED), drop_columns=True
    )
    assert plan.dropped == ("_fivetran_id",) and plan.rebuild


def test_without_drop_columns_nothing_is_dropped() -> None:
    plan = plan_alter(schema(ID, NAME, SYNCED), schema(ID), drop_columns=False)
    assert plan.dropped == () and not plan.rebuild
    assert [c.name for c in plan.final] == ["id", "name", "_fivetran_synced"]


def test_scratch_table_name_stays_within_limits() -> None:
    assert scratch_table(REF) == TableRef("s", "t__fivetran_rebuild")
    long = TableRef("s", "x" * 250)
    assert len(str(scratch_table(long)).encode()) <= 255


def test_metadata_record_round_trips_every_type() -> None:
    columns = [spec(f"c{i}", data_type) for i, data_type in enumerate(tm.ALL_TYPES)]
    columns += [spec("d", tm.DECIMAL, precision=6, scale=3), spec("s", tm.STRING, string_byte_length=256)]
    assert decode(encode(columns)) == {c.name: c.type for c in columns}


def test_retry_delays_grow_exponentially_with_full_jitter() -> None:
    policy = RetryPolicy(max_retries=6, base_delay=0.5, max_delay=4.0)
    assert list(policy.delays(rng=lambda: 1.0)) == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert list(policy.delays(rng=lambda: 0.0)) == [0.0] * 6
    assert list(RetryPolicy(max_retries=0).delays()) == []


@pytest.mark.parametrize(
    ("error", "idempotent", "transient"),
    [
        (crate_errors.ConnectionError("No more Servers available"), False, True),
        (
            crate_errors.ProgrammingError("EsRejectedExecutionException[rejected execution of ...]"),
            True,
            True,
        ),
        (crate_errors.ProgrammingError("CircuitBreakingException[[query] Data too large]"), True, True),
        (crate_errors.ProgrammingError("VersionConflictEngineException[...]"), True, True),
        (crate_errors.ProgrammingError("VersionConflictEngineException[...]"), False, False),
        (crate_errors.ProgrammingError("RelationUnknown[Relation 's.t' unknown]"), True, False),
        (crate_errors.ProgrammingError("SQLParseException[line 1:1: mismatched input]"), True, False),
        (
            crate_errors.IntegrityError("DuplicateKeyException[A document with the same primary key]"),
            True,
            False,
        ),
    ],
)
def test_error_classification(error: Exception, idempotent: bool, transient: bool) -> None:
    assert _is_transient_error(error, idempotent) is transient


@pytest.mark.parametrize(
    ("code", "message", "transient"),
    [
        (4092, "VersionConflictEngineException", True),
        (5000, "EsRejectedExecutionException[rejected execution]", True),
        (5000, "NullPointerException", False),
        (5031, "shard not available", True),
        (4091, "DuplicateKeyException", False),
        (4000, "Cannot cast value", False),
        # Five-digit codes carry their HTTP status in the first three digits (crate/crate HttpErrorStatus).
        (40411, "DocumentMissingException[[1]: document missing]", False),
        (40010, "DocumentSourceMissingException", False),
        (40910, "DuplicateObject", False),
        (4290, "TooManyRequests", True),
    ],
)
def test_row_failure_classification(code: int, message: str, transient: bool) -> None:
    assert _is_transient_row(RowFailure(0, code, message), idempotent=True) is transient


def test_sized_chunks_respect_rows_and_bytes(tmp_path: Path) -> None:
    fmt = FileFormat("off", "none", "NULL-token", "UNMOD-token")
    path = tmp_path / "f.csv"
    rows = [[str(i), "x" * (10 if i % 7 else 500)] for i in range(100)]
    write_batch_file(str(path), ["id", "v"], rows, fmt=fmt, key=None)
    with open_batch(str(path), None, fmt) as batch:
        chunks = list(sized_chunks(batch, WriteOptions(batch_rows=30, max_request_bytes=1000)))
    numbers = list(itertools.chain.from_iterable(range(first, first + len(chunk)) for first, chunk in chunks))
    assert numbers == list(range(1, 101))
    assert [row[0] for _, chunk in chunks for row in chunk] == [str(i) for i in range(100)]
    for _, chunk in chunks:
        assert len(chunk) <= 30
        size = sum(len(cell) + 4 for row in chunk for cell in row if isinstance(cell, str))
        assert size <= 1000 or len(chunk) == 1
