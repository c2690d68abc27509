"""The emulator's HTTP layer: CrateDB's protocol details, authentication, faults and statistics."""

from __future__ import annotations

import base64
import gzip
import http.client
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from cratedb_emulator import Emulator


@pytest.fixture()
def emulator() -> Iterator[Emulator]:
    with Emulator(port=0) as instance:
        yield instance


def connect(emulator: Emulator) -> http.client.HTTPConnection:
    parts = urlsplit(emulator.url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def post(
    connection: http.client.HTTPConnection,
    body: dict[str, Any] | bytes,
    path: str = "/_sql",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    connection.request(
        "POST", path, body=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    response = connection.getresponse()
    raw = response.read()
    try:
        return response.status, orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return response.status, raw.decode()


def test_root_reports_the_configured_version() -> None:
    with Emulator(port=0, version="6.2.1") as emulator:
        connection = connect(emulator)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200
        assert orjson.loads(response.read())["version"]["number"] == "6.2.1"


def test_select_with_types_and_duration(emulator: Emulator) -> None:
    status, body = post(connect(emulator), {"stmt": "SELECT 1 AS one, 'x' AS s"}, path="/_sql?types")
    assert status == 200
    assert body["cols"] == ["one", "s"] and body["rows"] == [[1, "x"]] and body["rowcount"] == 1
    assert body["col_types"] == [9, 4] and isinstance(body["duration"], float)


def test_errors_are_cratedb_shaped(emulator: Emulator) -> None:
    connection = connect(emulator)
    status, body = post(connection, {"stmt": "SELECT * FROM missing"})
    assert status == 404 and body["error"]["code"] == 4041
    assert body["error"]["message"] == "RelationUnknown[Relation 'missing' unknown]"
    status, body = post(connection, {"stmt": "SELEC 1"})
    assert status == 400 and body["error"]["code"] == 4000
    status, body = post(connection, {"stmt": "SELECT 1", "args": [1], "bulk_args": [[1]]})
    assert status == 400 and "forbidden to provide both" in body["error"]["message"]
    status, body = post(connection, b"{not json")
    assert status == 400 and body["error"]["code"] == 4000
    status, body = post(connection, {"stmt": "SELECT 1"}, path="/_sql?error_trace=true")
    assert status == 200


def test_gzip_bodies_and_keep_alive(emulator: Emulator) -> None:
    connection = connect(emulator)
    post(connection, {"stmt": "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"})
    rows = [[i, "x" * 50] for i in range(500)]
    body = gzip.compress(orjson.dumps({"stmt": "INSERT INTO t (id, v) VALUES (?, ?)", "bulk_args": rows}))
    status, result = post(connection, body, headers={"Content-Encoding": "gzip"})
    assert status == 200 and [r["rowcount"] for r in result["results"]] == [1] * 500
    stats = emulator.stats()
    assert stats["bulk_rows"] == 500 and stats["bytes_decompressed"] > stats["bytes_received"]


def test_oversized_bodies_get_413_without_json() -> None:
    with Emulator(port=0, max_content_length=100) as emulator:
        status, body = post(connect(emulator), {"stmt": "SELECT '" + "x" * 200 + "'"})
        assert status == 413 and not body


def test_default_schema_is_bound_to_the_connection(emulator: Emulator) -> None:
    first = connect(emulator)
    post(first, {"stmt": "SELECT 1"}, headers={"Default-Schema": "alpha"})
    _, body = post(first, {"stmt": "SELECT CURRENT_SCHEMA"}, headers={"Default-Schema": "beta"})
    assert body["rows"] == [["alpha"]]
    _, body = post(connect(emulator), {"stmt": "SELECT CURRENT_SCHEMA"}, headers={"Default-Schema": "beta"})
    assert body["rows"] == [["beta"]]


def test_basic_auth() -> None:
    with Emulator(port=0, user="crate", password="secret") as emulator:
        good = base64.b64encode(b"crate:secret").decode()
        bad = base64.b64encode(b"crate:wrong").decode()
        status, body = post(
            connect(emulator), {"stmt": "SELECT 1"}, headers={"Authorization": f"Basic {good}"}
        )
        assert status == 200
        status, body = post(
            connect(emulator), {"stmt": "SELECT 1"}, headers={"Authorization": f"Basic {bad}"}
        )
        assert status == 401 and 'password authentication failed for user "crate"' in body
        status, body = post(connect(emulator), {"stmt": "SELECT 1"})
        assert status == 401


def test_fault_rules_over_http(emulator: Emulator) -> None:
    connection = connect(emulator)
    post(connection, {"stmt": "CREATE TABLE t (id INTEGER PRIMARY KEY)"})
    rules = {"seed": 3, "rules": [{"kind": "http_503", "nth": 2, "statements": ["INSERT"]}]}
    status, described = post(connection, rules, path="/_emulator/faults")
    assert status == 200 and described["rules"][0]["kind"] == "http_503"
    assert post(connection, {"stmt": "INSERT INTO t (id) VALUES (1)"})[0] == 200
    status, body = post(connection, {"stmt": "INSERT INTO t (id) VALUES (2)"})
    assert status == 503 and 5030 <= body["error"]["code"] <= 5035
    assert post(connection, {"stmt": "INSERT INTO t (id) VALUES (3)"})[0] == 200
    connection.request("DELETE", "/_emulator/faults")
    assert orjson.loads(connection.getresponse().read())["rules"] == []
    assert emulator.stats()["faults_injected"] == 1


def test_reset_and_delay_faults(emulator: Emulator) -> None:
    emulator.faults.reset(nth=1)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        post(connect(emulator), {"stmt": "SELECT 1"})
    emulator.faults.clear()
    emulator.faults.delay(150, nth=1)
    started = time.perf_counter()
    assert post(connect(emulator), {"stmt": "SELECT 1"})[0] == 200
    assert time.perf_counter() - started >= 0.15


def test_bulk_row_failures_are_seeded_and_not_written(emulator: Emulator) -> None:
    connection = connect(emulator)
    post(connection, {"stmt": "CREATE TABLE t (id INTEGER PRIMARY KEY)"})
    emulator.faults.seed(11)
    emulator.faults.bulk_row_failure(row_share=0.3, times=1)
    _, body = post(
        connection, {"stmt": "INSERT INTO t (id) VALUES (?)", "bulk_args": [[i] for i in range(50)]}
    )
    failed = [i for i, r in enumerate(body["results"]) if r["rowcount"] == -2]
    assert failed and all("error" in body["results"][i] for i in failed)
    post(connection, {"stmt": "REFRESH TABLE t"})
    _, stored = post(connection, {"stmt": "SELECT count(*) FROM t"})
    assert stored["rows"] == [[50 - len(failed)]]


def test_stats_endpoint_and_reset(emulator: Emulator) -> None:
    connection = connect(emulator)
    post(connection, {"stmt": "SELECT 1"})
    connection.request("GET", "/_emulator/stats")
    stats = orjson.loads(connection.getresponse().read())
    assert stats["statements"] == {"SELECT": 1} and stats["sql_requests"] == 1
    post(connection, {}, path="/_emulator/stats/reset")
    assert emulator.stats()["sql_requests"] == 0


def test_module_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cratedb_emulator", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "--lenient" in result.stdout
