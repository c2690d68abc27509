"""The destination process: command line, gRPC server, health service, signals and logging.

Fivetran starts the binary with `--port <n>` and talks plaintext gRPC to it. The server listens on
every IPv6 and IPv4 address unless `--host` narrows it, allows 128 MiB messages both ways, reports
health through the standard `grpc.health.v1` service, and on SIGTERM/SIGINT stops accepting new RPCs
while in-flight ones get a grace period to finish.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from concurrent import futures
from types import FrameType

import grpc
from fivetran_proto import destination_sdk_pb2, destination_sdk_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from cratedb_destination import __version__, memory, native
from cratedb_destination.handlers import DestinationServicer
from cratedb_destination.log import LEVEL_THRESHOLDS, configure_logging
from cratedb_destination.settings import (
    BATCH_FILE_FORMATS,
    DEFAULT_HOST,
    DEFAULT_MAX_WORKERS,
    DEFAULT_PORT,
    MESSAGE_SIZE_OPTIONS,
    ServerSettings,
)

logger = logging.getLogger(__name__)

SERVICE_NAME: str = destination_sdk_pb2.DESCRIPTOR.services_by_name["DestinationConnector"].full_name
DEFAULT_SHUTDOWN_GRACE_SECONDS = 30.0

_SERVER_OPTIONS = [
    *MESSAGE_SIZE_OPTIONS,
    # Without this a second server could silently share the port and receive half the calls.
    ("grpc.so_reuseport", 0),
]


def create_server(
    settings: ServerSettings, servicer: destination_sdk_pb2_grpc.DestinationConnectorServicer | None = None
) -> tuple[grpc.Server, health.HealthServicer]:
    """Build an unbound server with the destination and health services registered and SERVING."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="rpc"),
        options=_SERVER_OPTIONS,
    )
    destination_sdk_pb2_grpc.add_DestinationConnectorServicer_to_server(
        servicer if servicer is not None else DestinationServicer(settings), server
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    return server, health_servicer


def _add_port(server: grpc.Server, address: str) -> int:
    """grpc either returns 0 or raises on a failed bind, depending on its version; unify to 0."""
    try:
        return server.add_insecure_port(address)
    except RuntimeError:
        return 0


def _wildcard_taken(family: socket.AddressFamily, port: int) -> bool:
    """True when the wildcard address of `family` is already bound on `port` (here: by our server)."""
    try:
        probe = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return False  # the family is not available on this machine
    with probe:
        if family == socket.AF_INET6:
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            probe.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
        except OSError as error:
            return error.errno == errno.EADDRINUSE
        return False


def bind(server: grpc.Server, host: str, port: int) -> int:
    """Listen on `host:port` and return the bound port (useful with port 0).

    With an empty host the server listens on IPv6 `[::]` and on IPv4 `0.0.0.0`. gRPC usually serves
    both from one dual-stack socket; IPv4 is bound separately only when that socket does not cover it,
    and if IPv6 cannot be bound at all the server falls back to IPv4 alone.
    """
    if host:
        literal = f"[{host}]" if ":" in host and not host.startswith("[") else host
        bound = _add_port(server, f"{literal}:{port}")
        if not bound:
            raise OSError(f"cannot listen on {literal}:{port}")
        logger.info("listening on %s port %d", literal, bound)
        return bound

    bound = _add_port(server, f"[::]:{port}")
    if not bound:
        logger.warning("cannot listen on IPv6 [::]:%d; falling back to IPv4 only", port)
        bound = _add_port(server, f"0.0.0.0:{port}")
        if not bound:
            raise OSError(f"cannot listen on [::]:{port} nor on 0.0.0.0:{port}")
        logger.info("listening on 0.0.0.0 (IPv4) port %d", bound)
        return bound
    if not _wildcard_taken(socket.AF_INET, bound) and not _add_port(server, f"0.0.0.0:{bound}"):
        logger.warning("listening on [::] port %d, but IPv4 0.0.0.0:%d could not be bound", bound, bound)
        return bound
    logger.info("listening on [::] (IPv6) and 0.0.0.0 (IPv4) port %d", bound)
    return bound


def start_server(
    host: str = "127.0.0.1",
    port: int = 0,
    settings: ServerSettings | None = None,
    servicer: destination_sdk_pb2_grpc.DestinationConnectorServicer | None = None,
) -> tuple[grpc.Server, int]:
    """Start the destination in this process and return it with its port; for tests and embedding.

    Call `server.stop(grace)` when done. `servicer` replaces the default `DestinationServicer`.
    """
    server, _ = create_server(settings or ServerSettings(), servicer)
    bound = bind(server, host, port)
    server.start()
    return server, bound


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    settings: ServerSettings | None = None,
    shutdown_grace: float = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    servicer: destination_sdk_pb2_grpc.DestinationConnectorServicer | None = None,
) -> None:
    """Run until SIGTERM or SIGINT, then drain: refuse new RPCs, give running ones `shutdown_grace`
    seconds, and return. A second signal during the drain cancels what is still running."""
    settings = settings or ServerSettings()
    server, health_servicer = create_server(settings, servicer)
    bound = bind(server, host, port)

    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop_requested.is_set():
            logger.warning("received %s again; cancelling RPCs still running", name)
            server.stop(0)
            return
        logger.info("received %s; finishing running RPCs (up to %.0f s) and stopping", name, shutdown_grace)
        stop_requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        logger.info(
            "CrateDB destination %s serving %s on port %d (max workers %d, batch file format %s, native "
            "hot loops %s%s)",
            __version__,
            SERVICE_NAME,
            bound,
            settings.max_workers,
            settings.batch_file_format,
            "on" if native.ENABLED else "off",
            _fivetran_context(),
        )
        while not stop_requested.wait(timeout=1.0):
            pass
        health_servicer.enter_graceful_shutdown()
        server.stop(shutdown_grace).wait()
        logger.info("CrateDB destination stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fivetran_context() -> str:
    """Account and group names Fivetran exposes; they identify the deployment, not secrets."""
    parts = [
        f"{label} {os.environ[var]}"
        for label, var in (("account", "FIVETRAN_ACCOUNT_NAME"), ("group", "FIVETRAN_GROUP_NAME"))
        if os.environ.get(var)
    ]
    return "".join(f", {part}" for part in parts)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cratedb-fivetran-destination",
        description="Fivetran partner destination for CrateDB: a gRPC server implementing "
        f"{SERVICE_NAME} (plaintext gRPC, as Fivetran expects). Logs one JSON object per line to stdout.",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help="TCP port to listen on; 0 picks a free port and logs it (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on, e.g. 127.0.0.1 or ::1 (default: every IPv6 and IPv4 address)",
    )
    parser.add_argument(
        "--max-workers",
        type=_positive_int,
        default=DEFAULT_MAX_WORKERS,
        help="threads serving RPCs; calls beyond this wait in a queue. The default of %(default)s lets "
        "Fivetran run at least 8 RPCs at once with room for health checks (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-file-format",
        choices=BATCH_FILE_FORMATS,
        default="csv",
        help="batch file format announced through the Capabilities RPC (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=tuple(LEVEL_THRESHOLDS),
        default="INFO",
        help="lowest level written to stdout: INFO, WARNING or SEVERE (default: %(default)s)",
    )
    parser.add_argument(
        "--shutdown-grace",
        type=_non_negative_float,
        default=DEFAULT_SHUTDOWN_GRACE_SECONDS,
        metavar="SECONDS",
        help="after SIGTERM/SIGINT, how long running RPCs may take to finish (default: %(default)s)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point `cratedb-fivetran-destination`."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    applied = memory.configure_process()
    if applied:
        logger.info("memory settings: %s", ", ".join(applied))
    settings = ServerSettings(batch_file_format=args.batch_file_format, max_workers=args.max_workers)
    try:
        serve(args.host, args.port, settings, shutdown_grace=args.shutdown_grace)
    except OSError as error:
        logger.error("cannot start the CrateDB destination: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
