"""The setup form and parsing its values: every field name unique, every bad value named."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cratedb_destination.config import (
    DEFAULT_BATCH_ROWS,
    ConfigurationError,
    configuration_form,
    parse_configuration,
)


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
    assert parse_configuration({"host": "::1", "port": "4201", "tls": "true"}).url == "https://[::1]:4201"


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
        ({"host": "h", "port": "http"}, "HTTP port"),
        ({"host": "h", "port": "70000"}, "HTTP port"),
        ({"host": "h", "tls": "maybe"}, "Use TLS"),
        ({"host": "h", "batch_size_rows": "0"}, "Rows per bulk request"),
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
    for bad in ({"port": "x"}, {"tls": "x"}, {"url": "ftp://u:hunter2@h"}, {"ca_certificate": "eA=="}):
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
