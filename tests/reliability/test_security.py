"""Security: no secrets or row values in logs and messages, TLS verified by default, names and values
cannot inject SQL, and no decrypted batch data is ever written to disk."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from crate_http import drop_schema_contents
from cratedb_destination.batch import UNMODIFIED, Cell
from cratedb_destination.config import parse_configuration
from cratedb_destination.settings import ServerSettings
from cratedb_emulator import Emulator
from destination_testkit import names, new_format, proto_timestamp, table
from fivetran_e2e.batch_writer import new_key
from fivetran_e2e.destination_client import serve_in_process
from fivetran_proto import common_pb2, destination_sdk_pb2
from reliability_support import (
    ROW_SECRET,
    SYNCED,
    SYNCED_LATER,
    Dest,
    DestinationProcess,
    Outcome,
    TlsFront,
    aes_encrypt,
    call,
    make_certificates,
    ok,
    zstd_compress,
)

PASSWORD = "s3cr3t-PASSWORD-7731"
USER = "fivetran_writer"

COLUMNS = [
    ("id", "LONG", True),
    ("label", "STRING"),
    ("flag", "BOOLEAN"),
    ("amount", "DECIMAL", False, (6, 2)),
    ("_fivetran_synced", "UTC_DATETIME"),
    ("_fivetran_deleted", "BOOLEAN"),
]
HEADER = names(COLUMNS)


def secret_rows(
    count: int, flag: str = "true", amount: str = "1.50", label: str = ROW_SECRET
) -> list[list[Cell]]:
    return [[str(i), f"{label}-{i}", flag, amount, SYNCED, "false"] for i in range(1, count + 1)]


# ---------------------------------------------------------------------------------------------------------
# Credentials and row values never reach logs or messages
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.cratedb
@pytest.mark.emulator_only
def test_credentials_and_row_values_never_appear_in_logs_or_messages(tmp_path: Path) -> None:
    with (
        Emulator(host="127.0.0.1", port=0, user=USER, password=PASSWORD) as emulator,
        DestinationProcess(tmp_path, log_level="INFO") as server,
    ):
        messages, keys = exercise_failures(server, emulator, tmp_path)
        output = server.output()
    assert '"level": "INFO"' in output and '"level": "WARNING"' in output, "the scan needs real log lines"
    forbidden = {
        "password": PASSWORD,
        "basic auth header": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        "row value": ROW_SECRET,
    }
    for key in keys:
        forbidden[f"key {key.hex()[:6]}"] = key.hex()
        forbidden[f"key {key.hex()[:6]} (base64)"] = base64.b64encode(key).decode()
    for what, text in forbidden.items():
        assert text not in output, f"{what} found in the server's stdout/stderr"
        for message in messages:
            assert text not in message, f"{what} found in a response: {message}"
    assert len(messages) >= 10


def exercise_failures(
    server: DestinationProcess, emulator: Emulator, tmp_path: Path
) -> tuple[list[str], list[bytes]]:
    """Successes and every kind of failure, with a password and distinctive row values in play."""
    host = urlsplit(emulator.url).netloc
    configuration = {"url": emulator.url, "username": USER, "password": PASSWORD, "batch_size_rows": "50"}
    dest = Dest(server.stub, emulator.url, "secure", tmp_path, configuration=configuration)
    messages: list[str] = []

    def record(outcome: Outcome) -> Outcome:
        messages.append(outcome.message)
        messages.append(str(outcome.response))
        return outcome

    for config in (
        configuration,
        {**configuration, "password": "wrong-" + PASSWORD},
        {"url": f"http://{USER}:{PASSWORD}@{host}"},
        {"url": f"http://{USER}:wrong-{PASSWORD}@{host}"},
    ):
        for test in ("connect", "permissions"):
            record(call(server.stub.Test, common_pb2.TestRequest(name=test, configuration=config)))
    definition = table("secrets", COLUMNS)
    ok(record(dest.create(definition)))
    ok(record(dest.write(definition, replace=[dest.batch(HEADER, secret_rows(200))])))
    # Values the destination rejects, and values CrateDB rejects.
    assert record(
        dest.write(definition, replace=[dest.batch(HEADER, secret_rows(3, flag=ROW_SECRET))])
    ).failed
    assert record(
        dest.write(definition, replace=[dest.batch(HEADER, secret_rows(3, amount="98765.43"))])
    ).failed
    huge = ROW_SECRET * 3000
    ok(
        record(dest.write(definition, replace=[dest.batch(HEADER, secret_rows(3, label=huge))]))
    )  # column rebuilt
    # Broken files whose plaintext holds row values.
    plain = ("\n".join([",".join(HEADER), f'1,"{ROW_SECRET}'])).encode()
    key = new_key()
    broken = dest.raw_batch(aes_encrypt(zstd_compress(plain), key), key)
    assert record(dest.write(definition, replace=[broken])).failed
    # CrateDB failing: transient faults (retried, logged as warnings), then permanent row failures.
    emulator.faults.seed(11)
    emulator.faults.http_503(probability=0.2)
    emulator.faults.reset(probability=0.1)
    ok(record(dest.write(definition, replace=[dest.batch(HEADER, secret_rows(300))])))
    emulator.faults.clear()
    # CrateDB quotes a rejected row's own value in its message (e.g. "Value 98765.43 does not fit ...").
    emulator.faults.bulk_row_failure(
        row_share=1.0, error_code=4003, error_message=f"rejected {ROW_SECRET}-1 row"
    )
    assert record(dest.write(definition, update=[dest.batch(HEADER, secret_rows(20))])).failed
    emulator.faults.clear()
    emulator.faults.bulk_row_failure(row_share=1.0)
    failing = dest.configuration
    dest.configuration = {**failing, "max_retries": "1"}
    assert record(dest.write(definition, delete=[dest.batch(HEADER, secret_rows(20))])).failed
    dest.configuration = failing
    emulator.faults.clear()
    record(dest.describe("secrets"))
    return messages, [key]


# ---------------------------------------------------------------------------------------------------------
# TLS to CrateDB verifies certificates by default
# ---------------------------------------------------------------------------------------------------------


def test_tls_settings_verify_by_default() -> None:
    for configuration in (
        {"url": "https://cluster.example.com:4200"},
        {"host": "cluster.example.com", "tls": "true"},
        {"url": "cluster.example.com", "tls": "true", "verify_certificates": ""},
    ):
        settings = parse_configuration(configuration)
        assert settings.uses_tls and settings.url.startswith("https://"), settings
        assert settings.verify_certificates is True, configuration
    assert (
        parse_configuration({"url": "https://c:4200", "verify_certificates": "false"}).verify_certificates
        is False
    )


@pytest.fixture()
def tls_front(cratedb_url: str, tmp_path: Path) -> Iterator[tuple[TlsFront, Any, dict[str, str]]]:
    """CrateDB (emulator or real) behind a TLS endpoint whose certificate a private CA signed."""
    parts = urlsplit(cratedb_url)
    certificates = make_certificates()
    front = TlsFront(certificates, parts.port or 4200, tmp_path, backend_host=parts.hostname or "127.0.0.1")
    credentials = {}
    if parts.username:
        credentials["username"] = parts.username
    if parts.password:
        credentials["password"] = parts.password
    try:
        yield front, certificates, credentials
    finally:
        front.close()


def run_test_rpc(configuration: dict[str, str]) -> Outcome:
    with serve_in_process() as stub:
        return call(stub.Test, common_pb2.TestRequest(name="connect", configuration=configuration))


@pytest.mark.cratedb
def test_self_signed_certificate_is_rejected_unless_trusted(
    tls_front: tuple[TlsFront, Any, dict[str, str]],
) -> None:
    front, certificates, credentials = tls_front
    base = {"url": front.url, **credentials}
    rejected = run_test_rpc(base)
    assert rejected.kind == "failure", rejected
    assert "certificate" in rejected.message.lower(), rejected.message
    assert front.handshake_failures >= 1

    other_ca = make_certificates("Some Other CA").ca_pem
    wrong_ca = run_test_rpc({**base, "ca_certificate": base64.b64encode(other_ca).decode()})
    assert wrong_ca.kind == "failure" and "certificate" in wrong_ca.message.lower(), wrong_ca

    trusted = run_test_rpc({**base, "ca_certificate": base64.b64encode(certificates.ca_pem).decode()})
    assert trusted.kind == "success", trusted
    unverified = run_test_rpc({**base, "verify_certificates": "false"})
    assert unverified.kind == "success", unverified


# ---------------------------------------------------------------------------------------------------------
# Names and values cannot inject SQL
# ---------------------------------------------------------------------------------------------------------

HOSTILE_COLUMNS = ['x"; DROP TABLE victim; --', "o'neil", "semi;colon", 'a"b', "-- comment", "SELECT"]
HOSTILE_TABLES = ["o'neil", "semi;colon;DROP", "x');DROP"]


def hostile_workload(dest: Dest) -> None:
    victim = table("victim", [("id", "INT", True), ("_fivetran_synced", "UTC_DATETIME")])
    ok(dest.create(victim))
    ok(dest.write(victim, replace=[dest.batch(["id", "_fivetran_synced"], [["1", SYNCED]])]))
    columns = [
        ("id", "INT", True),
        *[(name, "STRING") for name in HOSTILE_COLUMNS],
        ("_fivetran_synced", "UTC_DATETIME"),
    ]
    header = names(columns)
    for name in HOSTILE_TABLES:
        definition = table(name, columns)
        ok(dest.create(definition))
        row: list[Cell] = [
            "1",
            *[f"'); DROP TABLE victim; -- {i}" for i in range(len(HOSTILE_COLUMNS))],
            SYNCED,
        ]
        ok(dest.write(definition, replace=[dest.batch(header, [row])]))
        update: list[Cell] = [
            "1",
            *[UNMODIFIED] * (len(HOSTILE_COLUMNS) - 1),
            '"; DROP TABLE victim',
            SYNCED_LATER,
        ]
        ok(dest.write(definition, update=[dest.batch(header, [update])]))
        described = dest.describe(name)
        assert described.kind == "table", described
        assert [c.name for c in described.response.table.columns] == header
        assert dest.reader.columns(dest.schema, name) == header
        stored = dest.rows(name, header)
        assert stored == [[1, *row[1:-2], '"; DROP TABLE victim', stored[0][-1]]]
    # Names in Truncate, AlterTable and Migrate requests.
    target = table(HOSTILE_TABLES[0], columns)
    truncated = call(
        dest.stub.Truncate,
        destination_sdk_pb2.TruncateRequest(
            configuration=dest.configuration,
            schema_name=dest.schema,
            table_name=HOSTILE_TABLES[0],
            synced_column='_fivetran_synced" < now(); DROP TABLE victim; --',
            utc_delete_before=proto_timestamp(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)),
        ),
    )
    assert truncated.kind not in ("success", "warning"), (
        "a truncate on a column that does not exist succeeded"
    )
    altered = table(HOSTILE_TABLES[0], [*columns, ("new'); DROP TABLE victim; --", "INT")])
    ok(
        call(
            dest.stub.AlterTable,
            destination_sdk_pb2.AlterTableRequest(
                configuration=dest.configuration, schema_name=dest.schema, table=altered
            ),
        )
    )
    assert "new'); DROP TABLE victim; --" in dest.reader.columns(dest.schema, HOSTILE_TABLES[0])
    migrations = [
        destination_sdk_pb2.MigrationDetails(
            schema=dest.schema,
            table=HOSTILE_TABLES[0],
            update_column_value=destination_sdk_pb2.UpdateColumnValueOperation(
                column="o'neil", value="'); DROP TABLE victim; --"
            ),
        ),
        destination_sdk_pb2.MigrationDetails(
            schema=dest.schema,
            table=HOSTILE_TABLES[0],
            add=destination_sdk_pb2.AddOperation(
                add_column_with_default_value=destination_sdk_pb2.AddColumnWithDefaultValue(
                    column='d"; DROP TABLE victim; --',
                    column_type=common_pb2.STRING,
                    default_value="x'); DROP TABLE victim; --",
                )
            ),
        ),
        destination_sdk_pb2.MigrationDetails(
            schema=dest.schema,
            table=HOSTILE_TABLES[0],
            rename=destination_sdk_pb2.RenameOperation(
                rename_column=destination_sdk_pb2.RenameColumn(
                    from_column="semi;colon", to_column='r"; DROP TABLE victim'
                )
            ),
        ),
    ]
    for details in migrations:
        outcome = call(
            dest.stub.Migrate,
            destination_sdk_pb2.MigrateRequest(configuration=dest.configuration, details=details),
        )
        assert outcome.kind in ("success", "unsupported"), outcome
    del target
    stored = dest.rows(HOSTILE_TABLES[0], ["id", "o'neil", 'd"; DROP TABLE victim; --'])
    assert stored == [[1, "'); DROP TABLE victim; --", "x'); DROP TABLE victim; --"]]
    assert 'r"; DROP TABLE victim' in dest.reader.columns(dest.schema, HOSTILE_TABLES[0])
    # Quotes are not allowed in CrateDB table names at all: a Task, nothing created.
    refused = dest.create(table('v"; DROP TABLE victim; --', columns))
    assert refused.kind == "task" and "table name" in refused.message, refused
    assert sorted(dest.reader.tables(dest.schema)) == sorted([*HOSTILE_TABLES, "victim"])
    assert dest.rows("victim", ["id"]) == [[1]]


@pytest.mark.cratedb
def test_hostile_names_and_values_are_quoted(dest: Dest) -> None:
    hostile_workload(dest)


@pytest.mark.cratedb
def test_hostile_schema_name(dest: Dest) -> None:
    schema = dest.schema + ";DROP"
    definition = table("t';--", [("id", "INT", True), ("_fivetran_synced", "UTC_DATETIME")])
    try:
        ok(dest.create(definition, schema=schema))
        assert dest.reader.tables(schema) == ["t';--"]
    finally:
        drop_schema_contents(dest.reader, schema)


@pytest.mark.cratedb
@pytest.mark.emulator_only
def test_hostile_names_run_no_extra_statements(
    destination_stub: Any, emulator: Emulator, unique_schema: str, tmp_path: Path
) -> None:
    dest = Dest(destination_stub, emulator.url, unique_schema, tmp_path)
    hostile_workload(dest)
    kinds = emulator.stats()["statements"]
    assert "DROP" not in kinds, kinds
    assert not {
        kind
        for kind in kinds
        if kind not in {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "REFRESH", "ALTER", "SET"}
    }, kinds


# ---------------------------------------------------------------------------------------------------------
# No decrypted batch data on disk
# ---------------------------------------------------------------------------------------------------------


class WriteAudit:
    """Records every file opened for writing (and every temp file or directory made) while active."""

    _installed = False
    _active: WriteAudit | None = None

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        if not WriteAudit._installed:
            sys.addaudithook(WriteAudit._hook)  # audit hooks cannot be removed; this one is inert when idle
            WriteAudit._installed = True

    @staticmethod
    def _hook(event: str, args: tuple[Any, ...]) -> None:
        audit = WriteAudit._active
        if audit is None:
            return
        if event == "open":
            path, mode, flags = [*args, None, None, 0][:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing:
                audit.events.append((threading.current_thread().name, event, path))
        elif event.startswith("tempfile.") or event in (
            "os.rename",
            "os.link",
            "os.symlink",
            "shutil.copyfile",
        ):
            audit.events.append((threading.current_thread().name, event, args))

    def __enter__(self) -> WriteAudit:
        WriteAudit._active = self
        return self

    def __exit__(self, *exc: object) -> None:
        WriteAudit._active = None


@contextlib.contextmanager
def private_tempdir(path: str) -> Iterator[None]:
    """Point `tempfile` at a directory of this test, so any temp file the destination makes is seen."""
    saved = tempfile.tempdir
    tempfile.tempdir = path
    try:
        yield
    finally:
        tempfile.tempdir = saved


def top_level(directory: str) -> set[str]:
    return {os.path.join(directory, name) for name in os.listdir(directory)}


def listing(*directories: str) -> set[str]:
    found: set[str] = set()
    for directory in directories:
        for root, _, files in os.walk(directory):
            found.update(os.path.join(root, name) for name in files)
    return found


@pytest.mark.cratedb
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_no_decrypted_data_is_written_to_disk(
    cratedb_url: str, unique_schema: str, tmp_path: Path, kind: str
) -> None:
    settings = ServerSettings(batch_file_format=kind)  # type: ignore[arg-type]
    with contextlib.ExitStack() as cleanup:
        stub = cleanup.enter_context(serve_in_process(settings))
        fmt = new_format("zstd", "aes", kind)
        dest = Dest(
            stub,
            cratedb_url,
            unique_schema,
            tmp_path,
            fmt=fmt,
            configuration={"url": cratedb_url, "batch_size_rows": "1000"},
        )
        cleanup.callback(dest.reader.close)
        cleanup.callback(drop_schema_contents, dest.reader, unique_schema)
        definition = table("private", COLUMNS)
        ok(dest.create(definition))
        files = {
            "replace": [dest.batch(HEADER, secret_rows(12_000))],
            "update": [
                dest.batch(
                    HEADER,
                    [
                        [str(i), UNMODIFIED, "false", UNMODIFIED, SYNCED_LATER, UNMODIFIED]
                        for i in range(1, 500)
                    ],
                )
            ],
            "delete": [
                dest.batch(HEADER, [[str(i), None, None, None, SYNCED_LATER, None] for i in range(1, 100)])
            ],
        }
        failing = dest.batch(HEADER, secret_rows(50, flag="perhaps"))
        private_tmp = tmp_path / "tmp"
        private_tmp.mkdir()
        before = listing(str(private_tmp)) | top_level(os.getcwd())
        with WriteAudit() as audit, private_tempdir(str(private_tmp)):
            outcome = dest.write(definition, **files)
            failed = dest.write(definition, replace=[failing])
        after = listing(str(private_tmp)) | top_level(os.getcwd())
        ok(outcome)
        assert failed.kind == "task"
        assert audit.events == [], f"files written while applying batches: {audit.events}"
        assert after - before == set(), f"new files appeared: {sorted(after - before)[:10]}"
        assert dest.reader.count(unique_schema, "private") == 12_000 - 99
