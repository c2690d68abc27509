"""Command line: run the emulator in the foreground (wired as `fivetran-e2e emulator` by the harness)."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from types import FrameType

from .cost import CostModel
from .server import Emulator
from .versions import DEFAULT_VERSION, Version


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cratedb-emulator",
        description="A CrateDB HTTP endpoint backed by DuckDB, for tests. Not a database for real data.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=4200, help="port to bind, 0 for any free port (default 4200)"
    )
    parser.add_argument(
        "--version", default=DEFAULT_VERSION, help=f"CrateDB version to emulate ({DEFAULT_VERSION})"
    )
    parser.add_argument("--data", default=None, help="DuckDB file to keep data in (default: in memory)")
    parser.add_argument(
        "--lenient", action="store_true", help="model the periodic refresh instead of failing stale reads"
    )
    parser.add_argument("--user", default=None, help="require this user (Basic auth)")
    parser.add_argument("--password", default=None, help="password of --user")
    parser.add_argument(
        "--cost",
        default="off",
        metavar="SPEC",
        help="sleep before each answer for its modelled server time: request_ms=2,row_us=20,"
        "pk_lookup_us=30,query_job_ms=5 (missing ones 0), 'benchmark' (that set) or 'off' (default)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        Version.parse(options.version)
    except ValueError as exc:
        _parser().error(str(exc))
    if options.password is not None and options.user is None:
        _parser().error("--password needs --user")
    try:
        cost = CostModel.parse(options.cost)
    except ValueError as exc:
        _parser().error(f"--cost: {exc}")
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    emulator = Emulator(
        host=options.host,
        port=options.port,
        version=options.version,
        strict=not options.lenient,
        data=options.data,
        user=options.user,
        password=options.password,
        cost=cost,
    )
    with emulator:
        mode = "lenient" if options.lenient else "strict"
        if cost.enabled:
            mode += f", cost model {cost.spec()}"
        print(f"CrateDB emulator {options.version} ({mode}) listening on {emulator.url}", flush=True)
        stop.wait()
    return 0
