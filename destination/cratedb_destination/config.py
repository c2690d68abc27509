"""The setup form Fivetran shows for a CrateDB destination, and parsing its values into settings.

Every request except ConfigurationForm/Capabilities carries the form values as `configuration`, a map from
field name to string (toggles as "true"/"false", uploaded files base64-encoded). `parse_configuration`
turns that map into `ConnectionSettings`; a bad value raises `ConfigurationError` naming the field.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from fivetran_proto import common_pb2

from cratedb_destination import table_settings
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.sql.identifiers import validate_schema_name
from cratedb_destination.table_settings import NO_SETTINGS, TableSettingsConfig
from cratedb_destination.type_mapping import JSON_STORAGES, JSON_TEXT

TEST_CONNECT = "connect"
TEST_PERMISSIONS = "permissions"

DEFAULT_PORT = 4200
DEFAULT_BATCH_ROWS = 10000
# Text of the values one bulk request carries, at most (a single larger row still goes alone). The default
# is `services.writes.DEFAULT_MAX_REQUEST_BYTES` (see its comment; not imported, as writes imports this
# module through client.py; tests/unit/test_config.py keeps the two equal). The lower bound rules out
# budgets so small that nearly every row would travel alone; the upper one keeps a request's body far below
# CrateDB's 100 MB `http.max_content_length`.
DEFAULT_BATCH_BYTES = 1024 * 1024
MIN_BATCH_BYTES = 1024
MAX_BATCH_BYTES = 8 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_SECONDS = 120.0
# Our own schema: `fivetran_metadata` is where Fivetran's Platform Connector writes in every destination,
# so records kept there could be dropped or re-synced with it. Records found under that old default are
# moved on first use (`metadata.MetadataStore`).
DEFAULT_METADATA_SCHEMA = "fivetran_cratedb_destination"
LEGACY_METADATA_SCHEMA = "fivetran_metadata"
DEFAULT_POOL_SIZE = 8
# How new JSON columns are stored (`type_mapping.JSON_STORAGES`); existing columns keep theirs.
DEFAULT_JSON_STORAGE = JSON_TEXT
MAX_CA_CERTIFICATE_BYTES = 1_048_576


class ConfigurationError(UserActionRequired):
    """A setup-form value is missing or invalid; the message names the field and what to enter."""


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to talk to one CrateDB cluster. Hashable, so clients can be cached per settings.

    Secrets (password, CA certificate) are excluded from repr so they never end up in logs.
    """

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_certificates: bool = True
    ca_certificate: bytes | None = field(default=None, repr=False)
    request_timeout: float = DEFAULT_TIMEOUT_SECONDS
    batch_rows: int = DEFAULT_BATCH_ROWS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    metadata_schema: str = DEFAULT_METADATA_SCHEMA
    pool_size: int = DEFAULT_POOL_SIZE
    # Shards, replicas and partitioning of the tables the destination creates (`table_settings`).
    table_settings: TableSettingsConfig = NO_SETTINGS
    json_storage: str = DEFAULT_JSON_STORAGE

    @property
    def uses_tls(self) -> bool:
        return self.url.startswith("https://")


def _text(
    name: str,
    label: str,
    description: str,
    *,
    required: bool = False,
    password: bool = False,
    default: str | None = None,
    placeholder: str | None = None,
) -> Any:
    form_field = common_pb2.FormField(
        name=name,
        label=label,
        required=required,
        description=description,
        text_field=common_pb2.Password if password else common_pb2.PlainText,
    )
    if default is not None:
        form_field.default_value = default
    if placeholder is not None:
        form_field.placeholder = placeholder
    return form_field


def _toggle(name: str, label: str, description: str, default: bool) -> Any:
    return common_pb2.FormField(
        name=name,
        label=label,
        description=description,
        required=False,
        toggle_field=common_pb2.ToggleField(),
        default_value="true" if default else "false",
    )


def configuration_form() -> Any:
    """The `ConfigurationFormResponse`: connection fields, TLS options, tuning knobs and the two tests."""
    tls_options = common_pb2.ConditionalFields(
        condition=common_pb2.VisibilityCondition(condition_field="tls", bool_value=True),
        fields=[
            _toggle(
                "verify_certificates",
                "Verify server certificate",
                "Check the server certificate and host name. Turn off only for tests.",
                True,
            ),
            common_pb2.FormField(
                name="ca_certificate",
                label="CA certificate (PEM)",
                required=False,
                description="Upload the CA certificate if the cluster's certificate is not signed by a "
                "publicly trusted CA (e.g. a self-signed certificate).",
                upload_field=common_pb2.UploadField(
                    allowed_file_type=[".pem", ".crt"], max_file_size_bytes=MAX_CA_CERTIFICATE_BYTES
                ),
            ),
        ],
    )
    fields = [
        _text(
            "url",
            "CrateDB URL",
            "Full HTTP endpoint, e.g. https://my-cluster.aks1.westeurope.azure.cratedb.net:4200, or a "
            "SQLAlchemy URL such as crate://user:password@host:4200/?sslmode=verify-full. "
            "Leave empty to use Host and Port instead. An https URL, or an sslmode other than disable, "
            "always uses TLS.",
            placeholder="https://my-cluster.cratedb.net:4200",
        ),
        _text(
            "host",
            "Host",
            "Host name or IP address of a CrateDB node (used when URL is empty).",
            placeholder="localhost",
        ),
        _text(
            "port", "HTTP port", "CrateDB's HTTP port (used when URL is empty).", default=str(DEFAULT_PORT)
        ),
        _text("username", "User", "CrateDB user the destination connects as.", placeholder="crate"),
        _text(
            "password",
            "Password",
            "Password of that user (leave empty for trust authentication).",
            password=True,
        ),
        common_pb2.FormField(
            name="tls",
            label="Use TLS (HTTPS)",
            description="Encrypt the connection. Required by CrateDB Cloud.",
            required=False,
            toggle_field=common_pb2.ToggleField(),
            default_value="false",
        ),
        common_pb2.FormField(
            name="tls_options", label="TLS options", conditional_fields=tls_options, required=False
        ),
        _text(
            "batch_size_rows",
            "Rows per bulk request",
            "How many rows one bulk request carries (requests are also capped by size).",
            default=str(DEFAULT_BATCH_ROWS),
        ),
        _text(
            "batch_size_bytes",
            "Bytes per bulk request",
            f"How much value text one bulk request carries at most, {MIN_BATCH_BYTES} to "
            f"{MAX_BATCH_BYTES} bytes (8 MiB); {DEFAULT_BATCH_BYTES} (1 MiB) by default. A single larger "
            "row is sent alone. Higher: fewer, larger requests and more memory; lower: smaller requests.",
            default=str(DEFAULT_BATCH_BYTES),
        ),
        _text(
            "request_timeout_seconds",
            "Request timeout (seconds)",
            "How long to wait for one CrateDB response.",
            default=f"{DEFAULT_TIMEOUT_SECONDS:g}",
        ),
        _text(
            "max_retries",
            "Retries for transient errors",
            "How often a request is retried when CrateDB is unreachable or overloaded.",
            default=str(DEFAULT_MAX_RETRIES),
        ),
        _text(
            "retry_budget_seconds",
            "Retry time budget (seconds)",
            "Upper bound on the time spent retrying one request.",
            default=f"{DEFAULT_RETRY_SECONDS:g}",
        ),
        _text(
            "metadata_schema",
            "Metadata schema",
            "Schema of the table that records each column's Fivetran type.",
            default=DEFAULT_METADATA_SCHEMA,
        ),
        common_pb2.FormField(
            name="json_storage",
            label="JSON storage",
            description="How new JSON columns are stored: 'text' keeps the JSON text (lossless, not "
            "queryable by key); 'object' stores OBJECT(IGNORED) columns queryable as column['key'], with "
            "arrays and other non-object values kept as text under the key '_fivetran_json'. Existing "
            "columns keep the storage they were created with.",
            required=False,
            dropdown_field=common_pb2.DropdownField(dropdown_field=list(JSON_STORAGES)),
            default_value=DEFAULT_JSON_STORAGE,
        ),
    ]
    fields.extend(table_settings_fields())
    tests = [
        common_pb2.ConfigurationTest(name=TEST_CONNECT, label="Connect to CrateDB and check its version"),
        common_pb2.ConfigurationTest(
            name=TEST_PERMISSIONS, label="Create, write, read and drop a probe table"
        ),
    ]
    return common_pb2.ConfigurationFormResponse(
        schema_selection_supported=True, table_selection_supported=True, fields=fields, tests=tests
    )


def table_settings_fields() -> list[Any]:
    """Shards and replicas of every table the destination creates, and the per-table overrides file
    (format and rules: `table_settings`, docs/destination.md "Table settings")."""
    return [
        _text(
            table_settings.SHARDS_FIELD,
            table_settings.SHARDS_LABEL,
            "Shards of every table the destination creates (CLUSTERED INTO n SHARDS), 1 to 1024. Leave "
            "empty for CrateDB's default (4, or 2 per data node). Fewer shards help small clusters with "
            "many tables stay under the shards-per-node limit.",
            placeholder="CrateDB's default",
        ),
        _text(
            table_settings.REPLICAS_FIELD,
            table_settings.REPLICAS_LABEL,
            "Replicas of every table the destination creates (number_of_replicas): a number such as 1, or "
            "a range such as 0-1 or 0-all. Leave empty for CrateDB's default (0-1).",
            placeholder="CrateDB's default",
        ),
        common_pb2.FormField(
            name=table_settings.FILE_FIELD,
            label=table_settings.FILE_LABEL,
            required=False,
            description="Optional JSON file with settings per table: keys '*', 'schema.*' or "
            "'schema.table', values objects with shards, replicas and partitioned_by (date/time "
            "primary-key columns). Applied when the destination creates a table; existing tables keep "
            "theirs.",
            upload_field=common_pb2.UploadField(
                allowed_file_type=[".json"], max_file_size_bytes=table_settings.MAX_FILE_BYTES
            ),
        ),
    ]


def _value(configuration: Mapping[str, str], name: str) -> str:
    return (configuration.get(name) or "").strip()


_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def _bool(configuration: Mapping[str, str], name: str, label: str, default: bool) -> bool:
    raw = _value(configuration, name).lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"'{label}' must be true or false")


def _number(
    configuration: Mapping[str, str],
    name: str,
    label: str,
    default: float,
    *,
    integer: bool,
    minimum: float,
    maximum: float,
) -> Any:
    raw = _value(configuration, name)
    if not raw:
        return default
    try:
        number = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigurationError(f"'{label}' must be {kind}, got {raw!r}") from None
    if not minimum <= number <= maximum:
        low, high = (f"{int(minimum)}", f"{int(maximum)}") if integer else (f"{minimum:g}", f"{maximum:g}")
        raise ConfigurationError(f"'{label}' must be between {low} and {high}, got {raw}")
    return number


@dataclass(frozen=True)
class _Endpoint:
    """Where the `url`/`host` fields point: `scheme://host:port`, credentials, and what the URL says
    about TLS (`tls`: the URL asks for it; `verify`: False when it asks for TLS without verification)."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    verify: bool = True


# sslmode values the crate dialect knows, by strength (it treats them like libpq's names).
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_UNVERIFIED_SSL_MODES = frozenset({"allow", "prefer", "require"})
# `schema` is accepted for compatibility and ignored: Fivetran names the schema of every table.
_CRATE_URL_OPTIONS = ("sslmode", "ssl", "schema")


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _check_port(port: int | None) -> int:
    if port is None:
        return DEFAULT_PORT
    if not 1 <= port <= 65535:
        raise ConfigurationError("'CrateDB URL' has an invalid port")
    return port


def _http_endpoint(raw_url: str) -> _Endpoint:
    parts = urlsplit(raw_url)
    if not parts.hostname:
        raise ConfigurationError("'CrateDB URL' has no host name")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigurationError(
            "'CrateDB URL' must be http(s)://host[:port] without a path or query "
            "(connection options such as sslmode belong in a crate:// URL)"
        )
    try:
        port = _check_port(parts.port)
    except ValueError:
        raise ConfigurationError("'CrateDB URL' has an invalid port") from None
    return _Endpoint(
        url=f"{parts.scheme}://{_bracketed(parts.hostname)}:{port}",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "https",
    )


def _crate_option(options: Mapping[str, Any], name: str) -> str | None:
    value = options.get(name)
    if isinstance(value, tuple):
        raise ConfigurationError(f"'CrateDB URL' sets the option {name!r} more than once")
    return None if value is None else str(value).strip().lower()


def _crate_endpoint(raw_url: str) -> _Endpoint:
    """A SQLAlchemy URL as CrateDB users write it for sqlalchemy-cratedb, read the way its dialect reads it:
    `crate://[user[:password]@]host[:port][/][?sslmode=...&schema=...]`.

    TLS follows the dialect: `sslmode` disable means HTTP; allow, prefer and require mean HTTPS *without*
    certificate verification; verify-ca and verify-full mean HTTPS with verification; the legacy `ssl=true`
    means HTTPS with verification (`sslmode` wins when both are given). Messages never repeat the URL,
    which may hold a password.
    """
    # Imported here: SQLAlchemy takes ~150 ms to import, paid only by configurations with a crate:// URL.
    # make_url only parses; it loads no dialect, so no entry-point metadata is needed (PyInstaller).
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(raw_url)
    except ArgumentError:
        raise ConfigurationError("'CrateDB URL' is not a valid crate:// URL") from None
    except ValueError:  # a port that is not a number
        raise ConfigurationError("'CrateDB URL' has an invalid port") from None
    if url.drivername.lower() != "crate":
        raise ConfigurationError("'CrateDB URL' must start with http://, https:// or crate://")
    if url.database:
        # The dialect hands a path to the driver as `database`, and connect() rejects that argument.
        raise ConfigurationError(
            "'CrateDB URL' must not contain a path such as '/dbname': CrateDB has no databases, and the "
            "crate dialect fails on it too. Use crate://host:4200/ (the schema comes from Fivetran)."
        )
    if not url.host:
        # The dialect would fall back to 127.0.0.1:4200, which is never right for a Fivetran destination.
        raise ConfigurationError("'CrateDB URL' has no host name")
    unknown = sorted(set(url.query) - set(_CRATE_URL_OPTIONS))
    if unknown:
        raise ConfigurationError(
            f"'CrateDB URL' has unsupported options {', '.join(map(repr, unknown))}: only "
            f"{', '.join(_CRATE_URL_OPTIONS)} are read; timeouts and retries have their own fields"
        )
    tls, verify = False, True
    legacy_ssl = _crate_option(url.query, "ssl")
    if legacy_ssl is not None:
        if legacy_ssl not in _TRUE + _FALSE:
            raise ConfigurationError("'CrateDB URL' option 'ssl' must be true or false")
        tls = legacy_ssl in _TRUE
    sslmode = _crate_option(url.query, "sslmode")
    if sslmode is not None:
        if sslmode not in SSL_MODES:
            raise ConfigurationError(f"'CrateDB URL' option 'sslmode' must be one of {', '.join(SSL_MODES)}")
        tls = sslmode != "disable"
        verify = sslmode not in _UNVERIFIED_SSL_MODES
    return _Endpoint(
        url=f"{'https' if tls else 'http'}://{_bracketed(url.host)}:{_check_port(url.port)}",
        username=url.username or None,
        password=url.password or None,
        tls=tls,
        verify=verify,
    )


def _endpoint(configuration: Mapping[str, str], tls: bool) -> _Endpoint:
    """The server from `url` (http, https or crate scheme) or from `host`/`port`; the `tls` toggle
    upgrades it to HTTPS."""
    raw_url = _value(configuration, "url")
    if raw_url:
        if "://" not in raw_url:
            raw_url = ("https://" if tls else "http://") + raw_url
        scheme = raw_url.split("://", 1)[0].lower()
        if scheme in ("http", "https"):
            endpoint = _http_endpoint(raw_url)
        elif scheme == "crate":
            endpoint = _crate_endpoint(raw_url)
        else:
            raise ConfigurationError("'CrateDB URL' must start with http://, https:// or crate://")
    else:
        host = _value(configuration, "host")
        if not host:
            raise ConfigurationError("enter either 'CrateDB URL' or 'Host'")
        if "/" in host or " " in host:
            raise ConfigurationError(
                "'Host' must be a host name or IP address only (put full URLs into 'CrateDB URL')"
            )
        port = _number(
            configuration, "port", "HTTP port", DEFAULT_PORT, integer=True, minimum=1, maximum=65535
        )
        endpoint = _Endpoint(url=f"http://{_bracketed(host)}:{port}")
    if tls and not endpoint.tls:
        endpoint = replace(endpoint, url="https://" + endpoint.url.split("://", 1)[1], tls=True)
    return endpoint


def _ca_certificate(configuration: Mapping[str, str]) -> bytes | None:
    raw = _value(configuration, "ca_certificate")
    if not raw:
        return None
    if raw.startswith("-----BEGIN"):
        pem = raw.encode("ascii", "replace")
    else:
        try:
            pem = base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError):
            raise ConfigurationError("'CA certificate' could not be decoded; upload a PEM file") from None
    if len(pem) > MAX_CA_CERTIFICATE_BYTES:
        raise ConfigurationError("'CA certificate' is larger than 1 MiB; upload only the CA certificate")
    try:
        ssl.create_default_context(cadata=pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError):
        raise ConfigurationError(
            "'CA certificate' is not a PEM certificate; upload the CA's certificate in PEM format "
            "(text starting with -----BEGIN CERTIFICATE-----)"
        ) from None
    return pem


def parse_configuration(configuration: Mapping[str, str]) -> ConnectionSettings:
    """Settings from the form values; raises ConfigurationError naming the first bad field."""
    endpoint = _endpoint(configuration, _bool(configuration, "tls", "Use TLS (HTTPS)", False))
    # Explicit form fields win over credentials in the URL.
    username = _value(configuration, "username") or endpoint.username
    password = configuration.get("password") or endpoint.password
    # Verification is on unless the toggle turns it off or the URL's sslmode asks for TLS without it.
    verify = (
        _bool(configuration, "verify_certificates", "Verify server certificate", True) and endpoint.verify
    )
    metadata_schema = _value(configuration, "metadata_schema") or DEFAULT_METADATA_SCHEMA
    try:
        validate_schema_name(metadata_schema)
    except UserActionRequired as exc:
        raise ConfigurationError(f"'Metadata schema': {exc}") from None
    return ConnectionSettings(
        url=endpoint.url,
        username=username or None,
        password=password or None,
        verify_certificates=verify,
        ca_certificate=_ca_certificate(configuration),
        request_timeout=_number(
            configuration,
            "request_timeout_seconds",
            "Request timeout (seconds)",
            DEFAULT_TIMEOUT_SECONDS,
            integer=False,
            minimum=1,
            maximum=3600,
        ),
        batch_rows=_number(
            configuration,
            "batch_size_rows",
            "Rows per bulk request",
            DEFAULT_BATCH_ROWS,
            integer=True,
            minimum=1,
            maximum=1_000_000,
        ),
        batch_bytes=_number(
            configuration,
            "batch_size_bytes",
            "Bytes per bulk request",
            DEFAULT_BATCH_BYTES,
            integer=True,
            minimum=MIN_BATCH_BYTES,
            maximum=MAX_BATCH_BYTES,
        ),
        max_retries=_number(
            configuration,
            "max_retries",
            "Retries for transient errors",
            DEFAULT_MAX_RETRIES,
            integer=True,
            minimum=0,
            maximum=100,
        ),
        retry_seconds=_number(
            configuration,
            "retry_budget_seconds",
            "Retry time budget (seconds)",
            DEFAULT_RETRY_SECONDS,
            integer=False,
            minimum=0,
            maximum=86400,
        ),
        metadata_schema=metadata_schema,
        table_settings=table_settings.parse_configuration(configuration),
        json_storage=_json_storage(configuration),
    )


def _json_storage(configuration: Mapping[str, str]) -> str:
    raw = _value(configuration, "json_storage").lower()
    if not raw:
        return DEFAULT_JSON_STORAGE
    if raw not in JSON_STORAGES:
        raise ConfigurationError(f"'JSON storage' must be one of {', '.join(JSON_STORAGES)}")
    return raw
