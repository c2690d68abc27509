"""ConfigurationForm and the setup tests ("connect", "permissions") through a real gRPC client."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from destination_harness import Dest
from fivetran_proto import common_pb2

pytestmark = pytest.mark.cratedb


def run_test(dest: Dest, name: str, configuration: dict[str, str]) -> Any:
    return dest.stub.Test(common_pb2.TestRequest(name=name, configuration=configuration))


def test_form_declares_fields_and_tests(dest: Dest) -> None:
    form = dest.stub.ConfigurationForm(common_pb2.ConfigurationFormRequest())
    assert {field.name for field in form.fields} >= {"url", "host", "port", "username", "password", "tls"}
    assert [test.name for test in form.tests] == ["connect", "permissions"]


@pytest.mark.parametrize("name", ["connect", "permissions"])
def test_setup_tests_pass(dest: Dest, name: str) -> None:
    response = run_test(dest, name, dest.configuration)
    assert response.WhichOneof("response") == "success", response.failure


def test_permissions_probe_leaves_nothing_behind(dest: Dest) -> None:
    assert run_test(dest, "permissions", dest.configuration).success
    leftovers = dest.http.run(
        "SELECT table_schema FROM information_schema.tables WHERE table_schema LIKE 'fivetran_probe_%'"
    ).rows
    assert leftovers == []


def test_unreachable_server_fails_with_advice_and_no_password(dest: Dest) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    response = run_test(dest, "connect", {"host": "127.0.0.1", "port": str(port), "password": "s3cr3t-pw"})
    assert response.WhichOneof("response") == "failure"
    assert f"127.0.0.1:{port}" in response.failure and "s3cr3t-pw" not in response.failure


def test_invalid_configuration_fails_naming_the_field(dest: Dest) -> None:
    response = run_test(dest, "connect", {"host": "h", "port": "not-a-port"})
    assert response.WhichOneof("response") == "failure" and "HTTP port" in response.failure


def test_unknown_test_name(dest: Dest) -> None:
    response = run_test(dest, "mystery", dest.configuration)
    assert response.WhichOneof("response") == "failure" and "mystery" in response.failure


@pytest.mark.emulator_only
def test_old_server_versions_are_refused(dest: Dest) -> None:
    from cratedb_emulator import Emulator

    with Emulator(host="127.0.0.1", port=0, version="6.1.2") as old:
        response = run_test(dest, "connect", {"url": old.url})
    assert response.WhichOneof("response") == "failure"
    assert "6.1.2" in response.failure and "6.2.0" in response.failure


@pytest.mark.emulator_only
def test_wrong_password_fails_without_echoing_it(dest: Dest) -> None:
    from cratedb_emulator import Emulator

    with Emulator(host="127.0.0.1", port=0, user="fivetran", password="right-pw") as secured:
        good = run_test(
            dest, "permissions", {"url": secured.url, "username": "fivetran", "password": "right-pw"}
        )
        bad = run_test(dest, "connect", {"url": secured.url, "username": "fivetran", "password": "wrong-pw"})
    assert good.WhichOneof("response") == "success", good.failure
    assert bad.WhichOneof("response") == "failure"
    assert "wrong-pw" not in bad.failure and "right-pw" not in bad.failure


def _as_crate_url(http_url: str) -> str:
    """The same server as a SQLAlchemy `crate://` URL (https keeps certificate verification)."""
    from urllib.parse import urlsplit

    parts = urlsplit(http_url)
    query = "?sslmode=verify-full" if parts.scheme == "https" else ""
    return f"crate://{parts.netloc}/{query}"


def test_setup_tests_pass_with_a_crate_url(dest: Dest) -> None:
    configuration = {**dest.configuration, "url": _as_crate_url(dest.configuration["url"])}
    response = run_test(dest, "permissions", configuration)
    assert response.WhichOneof("response") == "success", response.failure


@pytest.mark.emulator_only
def test_crate_url_credentials_are_used_and_never_echoed(dest: Dest) -> None:
    from cratedb_emulator import Emulator

    with Emulator(host="127.0.0.1", port=0, user="fivetran", password="right-pw") as secured:
        address = secured.url.split("://", 1)[1]
        good = run_test(dest, "connect", {"url": f"crate://fivetran:right-pw@{address}/?schema=doc"})
        bad = run_test(dest, "connect", {"url": f"crate://fivetran:wrong-pw@{address}/"})
    assert good.WhichOneof("response") == "success", good.failure
    assert bad.WhichOneof("response") == "failure"
    assert "wrong-pw" not in bad.failure and "right-pw" not in bad.failure
