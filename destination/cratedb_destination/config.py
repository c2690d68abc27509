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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from fivetran_proto import common_pb2

from cratedb_destination.errors import UserActionRequired
from cratedb_destination.sql.identifiers import validate_schema_name

TEST_CONNECT = "connect"
TEST_PERMISSIONS = "permissions"

DEFAULT_PORT = 4200
DEFAULT_BATCH_ROWS = 10000
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_SECONDS = 120.0
DEFAULT_METADATA_SCHEMA = "fivetran_metadata"
DEFAULT_POOL_SIZE = 8
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
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_seconds: float = DEFAULT_RETRY_SECONDS
    metadata_schema: str = DEFAULT_METADATA_SCHEMA
    pool_size: int = DEFAULT_POOL_SIZE

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
            "Full HTTP endpoint, e.g. https://my-cluster.aks1.westeurope.azure.cratedb.net:4200. "
            "Leave empty to use Host and Port instead. An https URL always uses TLS.",
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
    ]
    tests = [
        common_pb2.ConfigurationTest(name=TEST_CONNECT, label="Connect to CrateDB and check its version"),
        common_pb2.ConfigurationTest(
            name=TEST_PERMISSIONS, label="Create, write, read and drop a probe table"
        ),
    ]
    return common_pb2.ConfigurationFormResponse(
        schema_selection_supported=True, table_selection_supported=True, fields=fields, tests=tests
    )


def _value(configuration: Mapping[str, str], name: str) -> str:
    return (configuration.get(name) or "").strip()


def _bool(configuration: Mapping[str, str], name: str, label: str, default: bool) -> bool:
    raw = _value(configuration, name).lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
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
        raise ConfigurationError(f"'{label}' must be between {minimum:g} and {maximum:g}, got {raw}")
    return number


def _server_url(configuration: Mapping[str, str], tls: bool) -> tuple[str, str | None, str | None]:
    """(scheme://host:port, user from the URL, password from the URL)."""
    raw_url = _value(configuration, "url")
    if raw_url:
        if "://" not in raw_url:
            raw_url = ("https://" if tls else "http://") + raw_url
        parts = urlsplit(raw_url)
        if parts.scheme not in ("http", "https"):
            raise ConfigurationError("'CrateDB URL' must start with http:// or https://")
        if not parts.hostname:
            raise ConfigurationError("'CrateDB URL' has no host name")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigurationError("'CrateDB URL' must be scheme://host[:port] without a path or query")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ConfigurationError("'CrateDB URL' has an invalid port") from None
        scheme = "https" if tls else parts.scheme
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return f"{scheme}://{host}:{port}", user, password
    host = _value(configuration, "host")
    if not host:
        raise ConfigurationError("enter either 'CrateDB URL' or 'Host'")
    if "/" in host or " " in host:
        raise ConfigurationError(
            "'Host' must be a host name or IP address only (put full URLs into 'CrateDB URL')"
        )
    port = _number(configuration, "port", "HTTP port", DEFAULT_PORT, integer=True, minimum=1, maximum=65535)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}", None, None


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
    tls = _bool(configuration, "tls", "Use TLS (HTTPS)", False)
    url, url_user, url_password = _server_url(configuration, tls)
    username = _value(configuration, "username") or url_user
    password = configuration.get("password") or url_password
    metadata_schema = _value(configuration, "metadata_schema") or DEFAULT_METADATA_SCHEMA
    try:
        validate_schema_name(metadata_schema)
    except UserActionRequired as exc:
        raise ConfigurationError(f"'Metadata schema': {exc}") from None
    return ConnectionSettings(
        url=url,
        username=username or None,
        password=password or None,
        verify_certificates=_bool(configuration, "verify_certificates", "Verify server certificate", True),
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
    )
