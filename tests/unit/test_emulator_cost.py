"""The emulator's optional cost model: each answer sleeps for the modelled server time of its own work."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from cratedb_emulator import CostModel, Emulator
from cratedb_emulator.cli import main as cli_main
from cratedb_emulator.cost import BENCHMARK, OFF


class FakeSleep:
    """Records the requested delays instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    def take(self) -> list[float]:
        calls, self.calls = self.calls, []
        return calls


def connect(emulator: Emulator) -> http.client.HTTPConnection:
    parts = urlsplit(emulator.url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)


def request(
    connection: http.client.HTTPConnection, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    data = None if body is None else orjson.dumps(body)
    connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    raw = response.read()
    return response.status, orjson.loads(raw) if raw else None


def sql(connection: http.client.HTTPConnection, stmt: str, **fields: Any) -> Any:
    status, body = request(connection, "POST", "/_sql", {"stmt": stmt, **fields})
    assert status == 200, body
    return body


WORK = ("http_requests", "rows_received", "pk_lookups", "query_jobs")


# ---- the model ----------------------------------------------------------------------------------------
def test_seconds_apply_the_parameters_to_the_work() -> None:
    sleep = FakeSleep()
    model = CostModel(request_ms=2, row_us=20, pk_lookup_us=30, query_job_ms=5, sleep=sleep)
    work = {"http_requests": 1, "rows_received": 1000, "pk_lookups": 10, "query_jobs": 3, "other": 99}
    expected = 0.002 + 1000 * 20e-6 + 10 * 30e-6 + 3 * 0.005
    assert model.seconds(work) == pytest.approx(expected)
    assert model.apply(work) == pytest.approx(expected)
    assert sleep.take() == [pytest.approx(expected)]
    assert model.apply({}) == 0 and sleep.take() == []  # no work, no sleep call


def test_off_by_default_and_parsing() -> None:
    assert not CostModel().enabled and CostModel() == OFF
    assert CostModel.parse("off") == OFF
    assert CostModel.parse("benchmark") == BENCHMARK
    assert CostModel.parse("request_ms=2, row_us=20,pk_lookup_us=30,query_job_ms=5") == BENCHMARK
    assert CostModel.parse("row_us=1.5") == CostModel(row_us=1.5)
    assert BENCHMARK.spec() == "request_ms=2,row_us=20,pk_lookup_us=30,query_job_ms=5"
    assert CostModel.parse(BENCHMARK.spec()) == BENCHMARK and OFF.spec() == "off"
    for bad in ("row_us", "rows_us=1", "row_us=x", "row_us=-1"):
        with pytest.raises(ValueError):
            CostModel.parse(bad)
    with pytest.raises(ValueError):
        CostModel.from_dict({"request_ms": True})


def test_the_emulator_has_no_cost_by_default() -> None:
    with Emulator(port=0) as emulator:
        assert not emulator.cost.enabled
        connection = connect(emulator)
        sql(connection, "CREATE TABLE t (id INT PRIMARY KEY)")
        sql(connection, "INSERT INTO t (id) VALUES (?)", bulk_args=[[1], [2]])
        stats = emulator.stats()
        assert stats["rows_received"] == 2 and stats["cost_seconds"] == 0


# ---- the server -----------------------------------------------------------------------------------------
def test_each_request_sleeps_for_the_model_applied_to_its_own_work() -> None:
    sleep = FakeSleep()
    model = CostModel(request_ms=2, row_us=20, pk_lookup_us=30, query_job_ms=5, sleep=sleep)
    with Emulator(port=0, cost=model) as emulator:
        connection = connect(emulator)
        charged: list[float] = []

        def run(stmt: str, expected: float, **fields: Any) -> None:
            before = emulator.stats()
            sql(connection, stmt, **fields)
            after = emulator.stats()
            delta = {name: after[name] - before[name] for name in WORK}
            assert sleep.take() == [pytest.approx(model.seconds(delta))]
            assert model.seconds(delta) == pytest.approx(expected), (stmt, delta)
            charged.append(expected)

        run("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", 0.002)
        run("INSERT INTO t (id, v) VALUES (?, ?)", 0.002 + 4 * 20e-6, bulk_args=[[i, "a"] for i in range(4)])
        run("REFRESH TABLE t", 0.002)
        run("SELECT v FROM t WHERE id = 1", 0.002 + 30e-6)  # a Get
        run("SELECT count(*) FROM t", 0.002 + 0.005)  # a query job
        # bulk UPDATE by key: each bulk row is a received row and a lookup by id
        run(
            "UPDATE t SET v = ? WHERE id = ?",
            0.002 + 3 * (20e-6 + 30e-6),
            bulk_args=[["b", i] for i in range(3)],
        )
        run("REFRESH TABLE t", 0.002)
        # bulk DELETE by query: one query job per bulk row
        run("DELETE FROM t WHERE v = ?", 0.002 + 2 * (20e-6 + 0.005), bulk_args=[["a"], ["b"]])
        # an error answer still pays for the request
        status, _ = request(connection, "POST", "/_sql", {"stmt": "SELECT * FROM missing"})
        assert status == 404 and sleep.take() == [pytest.approx(0.002)]
        assert emulator.stats()["cost_seconds"] == pytest.approx(sum(charged) + 0.002)


def test_admin_endpoint_configures_the_model_and_is_not_charged() -> None:
    with Emulator(port=0) as emulator:
        connection = connect(emulator)
        status, body = request(connection, "POST", "/_emulator/cost", {"request_ms": 2, "query_job_ms": 5})
        assert status == 200 and body == {"request_ms": 2, "row_us": 0, "pk_lookup_us": 0, "query_job_ms": 5}
        assert emulator.cost == CostModel(request_ms=2, query_job_ms=5)
        sleep = FakeSleep()
        emulator.cost = emulator.cost.with_sleep(sleep)
        assert request(connection, "GET", "/_emulator/cost")[1]["request_ms"] == 2
        request(connection, "GET", "/_emulator/stats")
        assert sleep.take() == []  # admin routes are not cluster work
        request(connection, "GET", "/")
        assert sleep.take() == [pytest.approx(0.002)]
        status, body = request(connection, "POST", "/_emulator/cost", {"row_ms": 1})
        assert status == 400 and "row_ms" in body["error"]["message"]
        status, body = request(connection, "DELETE", "/_emulator/cost")
        assert status == 200 and not emulator.cost.enabled


def test_a_sleeping_request_does_not_block_other_connections() -> None:
    sleeping = threading.Event()

    def sleep(seconds: float) -> None:
        sleeping.set()
        time.sleep(seconds)

    # Only written rows cost: the bulk INSERT sleeps 1 s, the other connection's statements cost nothing.
    with Emulator(port=0, cost=CostModel(row_us=250_000, sleep=sleep)) as emulator:
        first, second = connect(emulator), connect(emulator)
        sql(first, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        done: list[float] = []

        def slow_insert() -> None:
            started = time.perf_counter()
            sql(first, "INSERT INTO t (id) VALUES (?)", bulk_args=[[i] for i in range(4)])
            done.append(time.perf_counter() - started)

        writer = threading.Thread(target=slow_insert, daemon=True)
        writer.start()
        assert sleeping.wait(10)
        started = time.perf_counter()
        sql(second, "CREATE TABLE u (id INT PRIMARY KEY)")  # takes the engine's write lock
        sql(second, "UPDATE t SET v = 1 WHERE id = 99")  # a write to the same table
        sql(second, "SELECT 1")
        elapsed = time.perf_counter() - started
        assert not done, "the slow request should still be sleeping"
        writer.join(10)
        assert elapsed < 0.5 and done and done[0] >= 1.0


def test_cli_rejects_a_bad_cost_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["--port", "0", "--cost", "row_us=x"])
    assert "--cost" in capsys.readouterr().err
