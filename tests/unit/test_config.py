"""The setup form and parsing its values: every field name unique, every bad value named."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cratedb_destination import type_mapping as tm
from cratedb_destination.config import (
    DEFAULT_BATCH_BYTES,
    DEFAULT_BATCH_ROWS,
    MAX_BATCH_BYTES,
    MIN_BATCH_BYTES,
    ConfigurationError,
    configuration_form,
    parse_configuration,
)
from cratedb_destination.domain import TableSchema
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.services.writes import DEFAULT_MAX_REQUEST_BYTES
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.table_settings import (
    TableSettings,
    TableSettingsConfig,
    check_kept_partitioning,
    check_partitioning,
)
from cratedb_destination.type_mapping import ColumnSpec, FivetranType
from sqlalchemy.dialects import registry
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.util import compat
from sqlalchemy_cratedb.dialect import CrateDialect


def _field_names(fields: object) -> list[str]:
    names = []
    for field in fields:  # type: ignore[attr-defined]
        names.append(field.name)
        if field.WhichOneof("type") == "conditional_fields":
            names += _field_names(field.conditional_fields.fields)
    return names


def test_form_fields_are_unique_and_tests_declared() -> None:
    form = configuration_form()
    names = _field_names(form.fields)
    assert len(names) == len(set(names))
    assert {
        "url",
        "host",
        "port",
        "username",
        "password",
        "tls",
        "verify_certificates",
        "ca_certificate",
    } <= set(names)
    assert [test.name for test in form.tests] == ["connect", "permissions"]
    password = next(field for field in form.fields if field.name == "password")
    assert password.WhichOneof("type") == "text_field" and password.text_field == 1  # Password
    ca = next(
        field
        for field in form.fields
        if field.WhichOneof("type") == "conditional_fields"
        for field in field.conditional_fields.fields
        if field.name == "ca_certificate"
    )
    assert all(kind.startswith(".") for kind in ca.upload_field.allowed_file_type)


def test_host_and_port() -> None:
    settings = parse_configuration({"host": "db.example.com", "username": "crate"})
    assert settings.url == "http://db.example.com:4200"
    assert settings.username == "crate" and settings.password is None
    assert settings.batch_rows == DEFAULT_BATCH_ROWS
    assert settings.batch_bytes == DEFAULT_BATCH_BYTES
    assert parse_configuration({"host": "::1", "port": "4201", "tls": "true"}).url == "https://[::1]:4201"


def test_request_byte_budget() -> None:
    """`batch_size_bytes` sets `WriteOptions.max_request_bytes`; its default is the writer's own."""
    assert DEFAULT_BATCH_BYTES == DEFAULT_MAX_REQUEST_BYTES
    assert parse_configuration({"host": "h", "batch_size_bytes": f" {MIN_BATCH_BYTES} "}).batch_bytes == 1024
    assert parse_configuration({"host": "h", "batch_size_bytes": ""}).batch_bytes == DEFAULT_BATCH_BYTES
    field = next(f for f in configuration_form().fields if f.name == "batch_size_bytes")
    assert field.default_value == str(DEFAULT_BATCH_BYTES) and not field.required
    assert parse_configuration({"host": "h", "batch_size_bytes": str(MAX_BATCH_BYTES)}).batch_bytes == 8 << 20
    with pytest.raises(ConfigurationError, match="Bytes per bulk request"):
        parse_configuration({"host": "h", "batch_size_bytes": str(MAX_BATCH_BYTES + 1)})


def test_url_wins_and_carries_credentials() -> None:
    settings = parse_configuration(
        {"url": "https://admin:s%40cret@cluster.cratedb.net:4200", "host": "ignored"}
    )
    assert settings.url == "https://cluster.cratedb.net:4200"
    assert settings.username == "admin" and settings.password == "s@cret"
    assert settings.uses_tls
    explicit = parse_configuration({"url": "http://u:p@h", "username": "other", "password": "pw"})
    assert (explicit.url, explicit.username, explicit.password) == ("http://h:4200", "other", "pw")
    assert parse_configuration({"url": "h:4300", "tls": "true"}).url == "https://h:4300"


def test_password_never_in_repr() -> None:
    settings = parse_configuration({"host": "h", "username": "u", "password": "very-secret"})
    assert "very-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("configuration", "names"),
    [
        ({}, "Host"),
        ({"url": "ftp://h"}, "CrateDB URL"),
        ({"url": "http://h:4200/path"}, "CrateDB URL"),
        ({"url": "https://h:4200/?sslmode=require"}, "crate://"),
        ({"url": "crate://u:p@h:4200/doc"}, "must not contain a path"),
        ({"url": "crate:///?schema=doc"}, "no host name"),
        ({"url": "crate://h:abc/"}, "invalid port"),
        ({"url": "crate://h:70000/"}, "invalid port"),
        ({"url": "crate://h/?sslmode=verify"}, "sslmode' must be one of disable, allow"),
        ({"url": "crate://h/?sslmode=require&sslmode=disable"}, "more than once"),
        ({"url": "crate://h/?ssl=maybe"}, "'ssl' must be true or false"),
        ({"url": "crate://h/?timeout=5&pool_size=2"}, "unsupported options 'pool_size', 'timeout'"),
        ({"url": "crate+psycopg://h/"}, "http://, https:// or crate://"),
        ({"host": "h", "port": "http"}, "HTTP port"),
        ({"host": "h", "port": "70000"}, "HTTP port"),
        ({"host": "h", "tls": "maybe"}, "Use TLS"),
        ({"host": "h", "batch_size_rows": "0"}, "Rows per bulk request"),
        ({"host": "h", "batch_size_bytes": "1023"}, "Bytes per bulk request"),
        (
            {"host": "h", "batch_size_bytes": "8388609"},
            "Bytes per bulk request' must be between 1024 and 8388608",
        ),
        ({"host": "h", "batch_size_bytes": "1k"}, "Bytes per bulk request"),
        ({"host": "h", "request_timeout_seconds": "x"}, "Request timeout"),
        ({"host": "h", "max_retries": "-1"}, "Retries"),
        ({"host": "h", "metadata_schema": "bad.schema"}, "Metadata schema"),
        ({"host": "h", "ca_certificate": base64.b64encode(b"not a certificate").decode()}, "CA certificate"),
    ],
)
def test_bad_values_name_the_field(configuration: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigurationError, match=names):
        parse_configuration(configuration)


def test_bad_values_never_echo_the_password() -> None:
    for bad in (
        {"port": "x"},
        {"tls": "x"},
        {"url": "ftp://u:hunter2@h"},
        {"ca_certificate": "eA=="},
        {"url": "crate://u:hunter2@h/db"},
        {"url": "crate://u:hunter2@h:x/"},
        {"url": "crate://u:hunter2@h/?sslmode=hunter2"},
        {"url": "crate://u:hunter2@h/?hunter=2&sslmode=no"},
    ):
        with pytest.raises(ConfigurationError) as raised:
            parse_configuration({"host": "h", "password": "hunter2", **bad})
        assert "hunter2" not in str(raised.value)


def _self_signed_pem(tmp_path: Path) -> bytes:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_ca_certificate_upload_is_base64_decoded(tmp_path: Path) -> None:
    pem = _self_signed_pem(tmp_path)
    settings = parse_configuration(
        {
            "host": "h",
            "tls": "true",
            "ca_certificate": base64.b64encode(pem).decode(),
            "verify_certificates": "false",
        }
    )
    assert settings.ca_certificate == pem
    assert settings.verify_certificates is False
    assert "BEGIN CERTIFICATE" not in repr(settings)
    # A pasted PEM (not base64) is accepted too.
    pasted = parse_configuration({"host": "h", "ca_certificate": pem.decode()}).ca_certificate
    assert pasted is not None and pasted.strip() == pem.strip()


def test_settings_are_hashable_cache_keys() -> None:
    first = parse_configuration({"host": "h", "password": "a"})
    assert first == parse_configuration({"host": "h", "password": "a"})
    assert hash(first) == hash(parse_configuration({"host": "h", "password": "a"}))
    assert first != parse_configuration({"host": "h", "password": "b"})


# --------------------------------------------------------------------------------------------------
# crate:// URLs (the SQLAlchemy form CrateDB users know from sqlalchemy-cratedb)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "server", "verify"),
    [
        ("crate://h", "http://h:4200", True),
        ("crate://h:4300/", "http://h:4300", True),
        ("crate://h/?sslmode=disable", "http://h:4200", True),
        ("crate://h/?sslmode=allow", "https://h:4200", False),
        ("crate://h/?sslmode=prefer", "https://h:4200", False),
        ("crate://h/?sslmode=require", "https://h:4200", False),
        ("crate://h/?sslmode=verify-ca", "https://h:4200", True),
        ("crate://h/?sslmode=verify-full&schema=doc", "https://h:4200", True),
        ("crate://h/?ssl=true", "https://h:4200", True),  # legacy option: TLS with verification
        ("crate://h/?ssl=true&sslmode=disable", "http://h:4200", True),  # sslmode wins, as in the dialect
        ("crate://h/?ssl=false&sslmode=require", "https://h:4200", False),
        ("crate://[::1]:4201/?sslmode=verify-full", "https://[::1]:4201", True),
        ("CRATE://h", "http://h:4200", True),
    ],
)
def test_crate_url_servers_and_verification(url: str, server: str, verify: bool) -> None:
    settings = parse_configuration({"url": url})
    assert (settings.url, settings.verify_certificates) == (server, verify)
    assert settings.uses_tls == server.startswith("https://")


def test_crate_url_carries_credentials_and_form_fields_win() -> None:
    settings = parse_configuration(
        {"url": "crate://admin:s%40c%3Aret@cluster.cratedb.net:4200/?sslmode=require"}
    )
    assert (settings.username, settings.password) == ("admin", "s@c:ret")
    assert "s@c:ret" not in repr(settings) and "admin:" not in settings.url
    explicit = parse_configuration({"url": "crate://u:p@h/", "username": "other", "password": "pw"})
    assert (explicit.username, explicit.password) == ("other", "pw")
    anonymous = parse_configuration({"url": "crate://:@h/"})
    assert (anonymous.username, anonymous.password) == (None, None)


def test_tls_toggle_and_verify_toggle_combine_with_the_url() -> None:
    """TLS is on when the URL or the toggle asks for it; verification is on unless the toggle or the
    URL's sslmode (allow/prefer/require) turns it off."""
    upgraded = parse_configuration({"url": "crate://h/", "tls": "true"})
    assert (upgraded.url, upgraded.verify_certificates) == ("https://h:4200", True)
    assert parse_configuration({"url": "crate://h/?sslmode=disable", "tls": "true"}).url == "https://h:4200"
    # The form's default "true" does not bring back what the URL turned off ...
    unverified = parse_configuration({"url": "crate://h/?sslmode=require", "verify_certificates": "true"})
    assert unverified.verify_certificates is False
    # ... and the toggle can turn verification off for any URL.
    for url in ("crate://h/?sslmode=verify-full", "https://h:4200"):
        assert parse_configuration({"url": url, "verify_certificates": "false"}).verify_certificates is False
    assert parse_configuration({"url": "https://h:4200"}).verify_certificates is True


class _RecordingDriver:
    """Takes the place of the `crate.client` module in a dialect instance, so the test sees the arguments
    the dialect would hand to `connect()` without opening a connection."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def connect(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def _dialect_connect_arguments(url: str) -> dict[str, Any]:
    dialect = CrateDialect()
    recorder = _RecordingDriver()
    dialect.dbapi = recorder
    args, kwargs = dialect.create_connect_args(make_url(url))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy ssl=true option
        dialect.connect(*args, **kwargs)
    return recorder.calls[-1]


@pytest.mark.parametrize(
    "url",
    [
        "crate://h",
        "crate://u:p%40w@h:4300/?schema=fivetran",
        "crate://u:pw@h/?sslmode=disable",
        "crate://u:pw@h/?sslmode=allow",
        "crate://u:pw@h/?sslmode=prefer",
        "crate://u:pw@h:4200/?sslmode=require&schema=doc",
        "crate://u:pw@h/?sslmode=verify-ca",
        "crate://u:pw@h/?sslmode=verify-full",
        "crate://u:pw@h/?ssl=true",
        "crate://u:pw@h/?ssl=true&sslmode=require",
    ],
)
def test_crate_url_is_read_like_the_dialect_reads_it(url: str) -> None:
    """Same server, scheme, certificate verification and credentials as sqlalchemy-cratedb's own connect()."""
    expected = _dialect_connect_arguments(url)
    settings = parse_configuration({"url": url})
    (server,) = expected["servers"]
    assert settings.url == (server if "://" in server else f"http://{server}")
    assert settings.verify_certificates is expected.get("verify_ssl_cert", True)  # the driver's default
    assert (settings.username, settings.password) == (expected.get("username"), expected.get("password"))


def test_a_path_fails_in_the_dialect_too() -> None:
    """What the error message claims: the dialect passes the path as `database`, which connect() refuses
    (before any network I/O)."""
    dialect = CrateDialect()
    dialect.dbapi = CrateDialect.import_dbapi()  # the real `crate.client`
    args, kwargs = dialect.create_connect_args(make_url("crate://127.0.0.1:9/dbname"))
    with pytest.raises(TypeError, match="database"):
        dialect.connect(*args, **kwargs)
    with pytest.raises(ConfigurationError, match="path"):
        parse_configuration({"url": "crate://127.0.0.1:9/dbname"})


@pytest.fixture()
def without_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQLAlchemy as in a PyInstaller binary: no package metadata, so no entry points, and the `crate`
    dialect not registered by anyone."""
    monkeypatch.setattr(compat, "importlib_metadata_get", lambda group: ())
    monkeypatch.delitem(registry.impls, "crate", raising=False)
    with pytest.raises(NoSuchModuleError):
        registry.load("crate")  # the block works: the dialect cannot be found by name
    yield


@pytest.mark.usefixtures("without_entry_points")
def test_crate_url_parses_without_entry_points() -> None:
    """Parsing a crate:// URL loads no dialect, so the frozen destination needs no entry-point metadata."""
    settings = parse_configuration({"url": "crate://u:pw@h:4200/?sslmode=verify-full"})
    assert (settings.url, settings.verify_certificates, settings.username) == ("https://h:4200", True, "u")


# ---------------------------------------------------------------------------------------------------------
# Table settings: default shards and replicas, the per-table overrides file (`table_settings`)


def _upload(document: object) -> str:
    """What Fivetran sends for an uploaded file: its bytes, base64-encoded."""
    return base64.b64encode(json.dumps(document).encode()).decode()


def _tables(**values: str) -> TableSettingsConfig:
    return parse_configuration({"host": "h", **values}).table_settings


def test_table_settings_fields_are_declared() -> None:
    fields = {field.name: field for field in configuration_form().fields}
    assert fields["default_shards"].WhichOneof("type") == "text_field"
    assert fields["default_replicas"].WhichOneof("type") == "text_field"
    upload = fields["table_settings_file"]
    assert upload.WhichOneof("type") == "upload_field" and not upload.required
    assert list(upload.upload_field.allowed_file_type) == [".json"]


def test_no_table_settings_means_cratedb_defaults() -> None:
    tables = _tables()
    assert tables.for_table(TableRef("s", "t")) == TableSettings()
    assert tables == _tables(default_shards=" ", default_replicas="", table_settings_file="")


@pytest.mark.parametrize(
    ("shards", "replicas", "expected"),
    [
        ("2", "1", TableSettings(2, "1")),
        ("1024", "0", TableSettings(1024, "0")),
        ("", "0-1", TableSettings(None, "0-1")),
        ("6", "00-2", TableSettings(6, "0-2")),  # normalised like CrateDB parses it
        ("1", "1-all", TableSettings(1, "1-all")),
        ("1", "3-3", TableSettings(1, "3-3")),
    ],
)
def test_default_shards_and_replicas(shards: str, replicas: str, expected: TableSettings) -> None:
    tables = _tables(default_shards=shards, default_replicas=replicas)
    assert tables.defaults == expected
    assert tables.for_table(TableRef("any", "table")) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"default_shards": "0"}, r"'Shards per table' must be between 1 and 1024, got 0"),
        ({"default_shards": "-2"}, r"'Shards per table' must be between 1 and 1024"),
        ({"default_shards": "1025"}, r"'Shards per table' must be between 1 and 1024"),
        ({"default_shards": "two"}, r"'Shards per table' must be a whole number"),
        ({"default_shards": "1.5"}, r"'Shards per table' must be a whole number"),
        ({"default_replicas": "-1"}, r"'Replicas per table' cannot be negative"),
        ({"default_replicas": "2-1"}, r"'Replicas per table': the range '2-1' has a minimum above"),
        ({"default_replicas": "all"}, r"'Replicas per table' must be a number of replicas"),
        ({"default_replicas": "0-"}, r"'Replicas per table' must be a number of replicas"),
        ({"default_replicas": "1-2-3"}, r"'Replicas per table' must be a number of replicas"),
        ({"default_replicas": "3000000000"}, r"'Replicas per table' is too large"),
    ],
)
def test_bad_defaults_name_the_field(values: dict[str, str], message: str) -> None:
    with pytest.raises(UserActionRequired, match=message):
        _tables(**values)


OVERRIDES = {
    "*": {"shards": 2, "replicas": "0-1"},
    "sales.*": {"replicas": 1},
    "sales.events": {"shards": 6, "partitioned_by": ["event_day"]},
    "other.logs": {"partitioned_by": "day"},
}


def test_overrides_resolve_table_over_schema_over_any_over_defaults() -> None:
    tables = _tables(default_shards="3", default_replicas="0", table_settings_file=_upload(OVERRIDES))
    events = tables.for_table(TableRef("sales", "events"))
    assert (events.shards, events.replicas, events.partitioned_by) == (6, "1", ("event_day",))
    assert "'sales.events'" in events.origin and "partitioned_by" in events.origin
    assert tables.for_table(TableRef("sales", "orders")) == TableSettings(2, "1")
    assert tables.for_table(TableRef("crm", "users")) == TableSettings(2, "0-1")
    assert tables.for_table(TableRef("other", "logs")).partitioned_by == ("day",)
    # Plain JSON text (not base64) is taken as it is, e.g. from a configuration.json.
    assert (
        _tables(table_settings_file=json.dumps(OVERRIDES)).entries
        == _tables(table_settings_file=_upload(OVERRIDES)).entries
    )
    hash(parse_configuration({"host": "h", "table_settings_file": _upload(OVERRIDES)}))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], r"must be a JSON object whose keys are"),
        ({"events": {}}, r"entry 'events' must be '\*', 'schema\.\*' or 'schema\.table'"),
        ({"s.t": []}, r"entry 's\.t' must be an object"),
        ({"s.t": {"shard": 2}}, r"entry 's\.t' has unknown key 'shard'"),
        ({"s.t": {"shards": 0}}, r"entry 's\.t', key 'shards', must be between 1 and 1024"),
        ({"s.t": {"shards": True}}, r"entry 's\.t', key 'shards', must be a whole number"),
        ({"s.t": {"shards": "4"}}, None),
        ({"s.t": {"replicas": "1-0"}}, r"entry 's\.t', key 'replicas',: the range '1-0'"),
        ({"s.t": {"replicas": 1.5}}, r"entry 's\.t', key 'replicas', must be a number of replicas"),
        ({"s.t": {"partitioned_by": []}}, r"key 'partitioned_by' must be a column name or a non-empty list"),
        ({"s.t": {"partitioned_by": [1]}}, r"key 'partitioned_by' must be a column name"),
        ({"s.t": {"partitioned_by": ["d", "d"]}}, r"key 'partitioned_by' names a column more than once"),
        ({"*": {"partitioned_by": "d"}}, r"entry '\*', key 'partitioned_by': partition columns depend"),
        ({"s.*": {"partitioned_by": "d"}}, r"entry 's\.\*', key 'partitioned_by': partition columns"),
        ({"s/x.t": {}}, r"entry 's/x\.t' is not a table name CrateDB can hold"),
    ],
)
def test_bad_override_files_name_file_entry_and_key(document: object, message: str | None) -> None:
    if message is None:
        _tables(table_settings_file=_upload(document))
        return
    with pytest.raises(UserActionRequired, match=r"'Table settings file \(JSON\)'.*" + message):
        _tables(table_settings_file=_upload(document))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (base64.b64encode(b'{"s.t": {"shards": 2,}}').decode(), r"is not valid JSON \(line 1\)"),
        (base64.b64encode(b'{"s.t": {}, "s.t": {}}').decode(), r"names 's\.t' twice"),
        ("%%% not base64 %%%", r"could not be decoded"),
        (base64.b64encode(b"\xff\xfe{}").decode(), r"is not UTF-8 text"),
    ],
)
def test_unreadable_override_files_are_refused(raw: str, message: str) -> None:
    with pytest.raises(UserActionRequired, match=r"'Table settings file \(JSON\)' " + message):
        _tables(table_settings_file=raw)


def _table(*columns: tuple[str, int, bool]) -> TableSchema:
    return TableSchema(
        TableRef("sales", "events"),
        tuple(ColumnSpec(name, FivetranType(data_type), key) for name, data_type, key in columns),
    )


EVENTS = _table(
    ("id", tm.LONG, True),
    ("event_day", tm.NAIVE_DATE, True),
    ("at", tm.UTC_DATETIME, True),
    ("seen", tm.NAIVE_DATETIME, True),
    ("label", tm.STRING, True),
    ("updated", tm.UTC_DATETIME, False),
)


@pytest.mark.parametrize("columns", [("event_day",), ("at",), ("seen",), ("event_day", "at")])
def test_partitioning_by_date_time_key_columns_is_accepted(columns: tuple[str, ...]) -> None:
    check_partitioning(TableSettings(partitioned_by=columns), EVENTS)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("missing", r"column 'missing' of table sales\.events does not exist"),
        ("updated", r"column 'updated' of table sales\.events is not part of the primary key"),
        ("label", r"column 'label' of table sales\.events is STRING; partition by a date or time column"),
        ("id", r"column 'id' of table sales\.events is LONG"),
    ],
)
def test_partitioning_that_cratedb_or_we_refuse_is_a_task(column: str, message: str) -> None:
    tables = _tables(table_settings_file=_upload({"sales.events": {"partitioned_by": column}}))
    settings = tables.for_table(EVENTS.ref)
    with pytest.raises(
        UserActionRequired, match=r"'Table settings file \(JSON\)', entry 'sales\.events'.*" + message
    ):
        check_partitioning(settings, EVENTS)


def test_kept_partitioning_needs_the_column_in_the_key() -> None:
    settings = TableSettings(partitioned_by=("event_day",))
    check_kept_partitioning(settings, EVENTS, "changing")
    unkeyed = _table(("id", tm.LONG, True), ("event_day", tm.NAIVE_DATE, False))
    with pytest.raises(
        UserActionRequired, match=r"partitioned by 'event_day', which would leave the primary"
    ):
        check_kept_partitioning(settings, unkeyed, "changing")
    with pytest.raises(UserActionRequired, match=r"which would no longer exist"):
        check_kept_partitioning(settings, _table(("id", tm.LONG, True)), "changing")
