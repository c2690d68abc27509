"""The destination process: command line, JSON logging, gRPC serving, health, limits and graceful shutdown.

Servers bind port 0. Subprocess tests run the installed console script and learn the port from its log.
One client talks raw bytes with hand-decoded responses, so a mistake shared by our .proto and our
generated code cannot hide behind itself.
"""

from __future__ import annotations

import io
import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from cratedb_destination.handlers import DestinationServicer
from cratedb_destination.log import configure_logging
from cratedb_destination.server import SERVICE_NAME, build_parser, start_server
from cratedb_destination.settings import DEFAULT_MAX_WORKERS, MAX_MESSAGE_BYTES, ServerSettings
from fivetran_proto import destination_sdk_pb2, destination_sdk_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

CONSOLE_SCRIPT = Path(sys.executable).with_name("cratedb-fivetran-destination")
CAPABILITIES_PATH = "/fivetran_sdk.v2.DestinationConnector/Capabilities"
HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check"
ALL_FLAGS = ("--port", "--host", "--max-workers", "--batch-file-format", "--log-level", "--shutdown-grace")
PORT_LINE = re.compile(r"port (\d+)")


# ---- hand-rolled protobuf wire decoding (independent of the generated code) -------------------


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def decode_fields(data: bytes) -> dict[int, list[int | bytes]]:
    """Field number -> values, for varint (wire type 0) and length-delimited (wire type 2) fields."""
    fields: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        value: int | bytes
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
        elif wire_type == 2:
            length, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        else:
            raise AssertionError(f"unexpected wire type {wire_type} for field {number}")
        fields.setdefault(number, []).append(value)
    return fields


def raw_call(channel: grpc.Channel, path: str, request: bytes, timeout: float = 10) -> bytes:
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    response: bytes = call(request, timeout=timeout)
    return response


def raw_health_status(channel: grpc.Channel, service: str) -> int:
    encoded = service.encode()
    request = b"\x0a" + _encode_varint(len(encoded)) + encoded  # field 1 (service), length-delimited
    fields = decode_fields(raw_call(channel, HEALTH_CHECK_PATH, request))
    status = fields.get(1, [0])[0]  # proto3 omits a zero enum
    assert isinstance(status, int)
    return status


SERVING = 1  # grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING, by the health protocol's numbering
PARQUET = 1  # fivetran_sdk.v2.BatchFileFormat.PARQUET


# ---- a destination process run through the console script -------------------------------------


class ServerProcess:
    """A child process whose stdout lines are parsed as JSON log records as they arrive."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.records: list[dict[str, str]] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """Read log records until one's message matches `pattern`; every line must be a JSON record."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no log message matching {pattern!r}; got {self.records}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            record = json.loads(line)
            self.records.append(record)
            if match := re.search(pattern, record["message"]):
                return match

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture()
def spawn() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def run_console_script(spawn: list[ServerProcess], *args: str) -> tuple[ServerProcess, int]:
    assert CONSOLE_SCRIPT.exists(), f"{CONSOLE_SCRIPT} is missing; install the project (pip install -e .)"
    server = ServerProcess([str(CONSOLE_SCRIPT), *args])
    spawn.append(server)
    port = int(server.wait_for(r"serving .* on port (\d+)").group(1))
    return server, port


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):
        return False


def assert_fivetran_record(record: dict[str, str]) -> None:
    assert set(record) == {"level", "message", "message-origin"}, record
    assert record["level"] in {"INFO", "WARNING", "SEVERE"}
    assert record["message-origin"] == "sdk_destination"


# ---- command line ------------------------------------------------------------------------------


def test_help_documents_every_flag() -> None:
    result = subprocess.run([str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for flag in ALL_FLAGS:
        assert flag in result.stdout, f"--help does not mention {flag}"
    assert str(DEFAULT_MAX_WORKERS) in result.stdout


@pytest.mark.parametrize("argv", [["--port", "50099"], ["--port=50099"]])
def test_port_flag_forms(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).port == 50099


def test_the_handbook_command_line_parses() -> None:
    """CrateDB's handbook: `cratedb-fivetran-destination --port=50052 --max-workers=1`."""
    args = build_parser().parse_args(["--port=50052", "--max-workers=1"])
    assert (args.port, args.max_workers) == (50052, 1)


def test_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.port, args.host, args.batch_file_format, args.log_level) == (50052, "", "csv", "INFO")
    assert args.max_workers >= 8


@pytest.mark.parametrize(
    "argv",
    [["--port", "70000"], ["--max-workers", "0"], ["--batch-file-format", "avro"], ["--log-level", "DEBUG"]],
)
def test_bad_flags_are_rejected(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert argv[0] in capsys.readouterr().err


# ---- JSON logging --------------------------------------------------------------------------------


@pytest.fixture()
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
def test_log_levels_map_to_fivetran_levels() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    log = logging.getLogger("cratedb_destination.test")
    log.debug("hidden below the threshold")
    log.info('info "quoted" ü')
    log.warning("warning")
    log.error("error")
    log.critical("critical")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    for record in records:
        assert_fivetran_record(record)
    assert [(r["level"], r["message"].splitlines()[0]) for r in records] == [
        ("INFO", 'info "quoted" ü'),
        ("WARNING", "warning"),
        ("SEVERE", "error"),
        ("SEVERE", "critical"),
        ("SEVERE", "failed"),
    ]
    assert "ValueError: boom" in records[-1]["message"]


@pytest.mark.usefixtures("restore_root_logger")
def test_log_level_threshold() -> None:
    stream = io.StringIO()
    configure_logging("severe", stream)
    logging.getLogger("x").warning("dropped")
    logging.getLogger("x").error("kept")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["kept"]


# ---- the real process ------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_console_script_serves_and_stops_on_sigterm(spawn: list[ServerProcess]) -> None:
    server, port = run_console_script(spawn, "--port=0", "--batch-file-format", "parquet", "--max-workers=4")
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        # Independent client: raw bytes in, hand-decoded bytes out.
        assert decode_fields(raw_call(channel, CAPABILITIES_PATH, b"")) == {1: [PARQUET]}
        assert raw_health_status(channel, "") == SERVING
        assert raw_health_status(channel, "fivetran_sdk.v2.DestinationConnector") == SERVING
        # Our generated client agrees.
        stub = destination_sdk_pb2_grpc.DestinationConnectorStub(channel)
        response = stub.Capabilities(destination_sdk_pb2.CapabilitiesRequest(), timeout=10)
        assert response.batch_file_format == destination_sdk_pb2.PARQUET

    server.process.send_signal(signal.SIGTERM)
    server.wait_for("received SIGTERM")
    server.wait_for("stopped")
    assert server.process.wait(timeout=30) == 0
    for line in server.lines.queue:  # anything logged after "stopped"
        server.records.append(json.loads(line))
    for record in server.records:
        assert_fivetran_record(record)
    assert any("max workers 4" in record["message"] for record in server.records)
    if _glibc():  # the console script (not embedding code) sets the allocators up, before serving
        settings = [record["message"] for record in server.records if "memory settings" in record["message"]]
        assert settings and "malloc mmap threshold" in settings[0], server.records


def test_console_script_reports_port_in_use(spawn: list[ServerProcess]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = subprocess.run(
            [str(CONSOLE_SCRIPT), "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["level"] == "SEVERE"
    assert f"127.0.0.1:{port}" in records[-1]["message"]


SLOW_SERVER = textwrap.dedent(
    """
    import logging, sys, time
    from cratedb_destination.handlers import DestinationServicer
    from cratedb_destination.log import configure_logging
    from cratedb_destination.server import serve
    from cratedb_destination.settings import ServerSettings

    class SlowCapabilities(DestinationServicer):
        def Capabilities(self, request, context):
            logging.getLogger("slow").info("capabilities started")
            time.sleep(float(sys.argv[1]))
            return super().Capabilities(request, context)

    configure_logging("INFO")
    settings = ServerSettings(batch_file_format="parquet")
    serve("127.0.0.1", 0, settings, shutdown_grace=20, servicer=SlowCapabilities(settings))
    """
)


@pytest.mark.timeout(90)
def test_sigterm_lets_inflight_rpc_finish_and_refuses_new_ones(spawn: list[ServerProcess]) -> None:
    """serve() is the loop main() runs; the only test double is a Capabilities that takes 5 s."""
    server = ServerProcess([sys.executable, "-c", SLOW_SERVER, "5"])
    spawn.append(server)
    port = int(server.wait_for(r"serving .* on port (\d+)").group(1))
    target = f"127.0.0.1:{port}"
    with grpc.insecure_channel(target) as channel, futures.ThreadPoolExecutor(1) as pool:
        stub = destination_sdk_pb2_grpc.DestinationConnectorStub(channel)
        inflight = pool.submit(stub.Capabilities, destination_sdk_pb2.CapabilitiesRequest(), timeout=30)
        server.wait_for("capabilities started")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.wait_for("received SIGTERM")

        refused = None
        with grpc.insecure_channel(target) as fresh:
            while refused is None and time.monotonic() - started < 4:
                try:
                    raw_health_status(fresh, "")
                except grpc.RpcError as error:
                    refused = error.code()
                time.sleep(0.05)
        # Depending on timing gRPC refuses the call outright or cancels it as it arrives.
        assert refused in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}, (
            "new RPCs were still accepted during shutdown"
        )
        assert not inflight.done(), "the in-flight RPC ended before the refusal was observed"

        assert inflight.result(timeout=30).batch_file_format == destination_sdk_pb2.PARQUET
    assert server.process.wait(timeout=30) == 0
    server.wait_for("stopped")


# ---- in-process server ----------------------------------------------------------------------------


@pytest.fixture()
def in_process() -> Iterator[tuple[grpc.Server, int]]:
    server, port = start_server("127.0.0.1", 0, ServerSettings())
    yield server, port
    server.stop(None)


def test_in_process_capabilities_and_health(in_process: tuple[grpc.Server, int]) -> None:
    _, port = in_process
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = destination_sdk_pb2_grpc.DestinationConnectorStub(channel)
        assert stub.Capabilities(destination_sdk_pb2.CapabilitiesRequest(), timeout=10).batch_file_format == (
            destination_sdk_pb2.CSV
        )
        assert raw_call(channel, CAPABILITIES_PATH, b"") == b""  # CSV is 0, which proto3 leaves out
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE_NAME):
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
            assert status == health_pb2.HealthCheckResponse.SERVING


def test_accepts_requests_far_above_grpc_default_limit(in_process: tuple[grpc.Server, int]) -> None:
    """gRPC's default receive limit is 4 MiB; Fivetran may send up to 128 MiB."""
    _, port = in_process
    payload = b"x" * (24 * 1024 * 1024)
    # An unknown length-delimited field 15 in CapabilitiesRequest: parsed and ignored by the server.
    request = b"\x7a" + _encode_varint(len(payload)) + payload
    options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        assert raw_call(channel, CAPABILITIES_PATH, request, timeout=30) == b""


@pytest.mark.slow  # ~0.7 GB peak memory for about a second
def test_rejects_requests_above_fivetran_limit(in_process: tuple[grpc.Server, int]) -> None:
    _, port = in_process
    size = MAX_MESSAGE_BYTES + 1 - 5  # 1 tag byte + 4 length bytes: one byte over the limit in total
    request = b"\x7a" + _encode_varint(size) + bytes(size)
    assert len(request) == MAX_MESSAGE_BYTES + 1
    options = [("grpc.max_send_message_length", -1)]
    with (
        grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel,
        pytest.raises(grpc.RpcError) as error,
    ):
        raw_call(channel, CAPABILITIES_PATH, request, timeout=60)
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


class RendezvousServicer(DestinationServicer):
    """Capabilities returns only once `parties` calls are inside it at the same time."""

    def __init__(self, parties: int) -> None:
        super().__init__(ServerSettings())
        self.barrier = threading.Barrier(parties, timeout=10)

    def Capabilities(
        self, request: destination_sdk_pb2.CapabilitiesRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.CapabilitiesResponse:
        self.barrier.wait()
        return super().Capabilities(request, context)


def test_default_workers_serve_eight_rpcs_at_once() -> None:
    parties = 8
    server, port = start_server("127.0.0.1", 0, ServerSettings(), servicer=RendezvousServicer(parties))
    try:
        with (
            grpc.insecure_channel(f"127.0.0.1:{port}") as channel,
            futures.ThreadPoolExecutor(parties) as pool,
        ):
            stub = destination_sdk_pb2_grpc.DestinationConnectorStub(channel)
            calls = [
                pool.submit(stub.Capabilities, destination_sdk_pb2.CapabilitiesRequest(), timeout=20)
                for _ in range(parties)
            ]
            assert all(call.result().batch_file_format == destination_sdk_pb2.CSV for call in calls)
    finally:
        server.stop(None)


def _ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_default_host_serves_ipv4_and_ipv6() -> None:
    server, port = start_server("", 0, ServerSettings())
    try:
        targets = [f"127.0.0.1:{port}"]
        if _ipv6_loopback_available():
            targets.append(f"[::1]:{port}")
        for target in targets:
            with grpc.insecure_channel(target) as channel:
                assert raw_health_status(channel, SERVICE_NAME) == SERVING, target
    finally:
        server.stop(None)
