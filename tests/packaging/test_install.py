"""The distribution as users get it: built into a wheel, installed into a fresh environment with pip and with
`uv tool install` (CrateDB's handbook), and started as the handbook says:

    uv tool install --upgrade cratedb-fivetran-destination
    cratedb-fivetran-destination --port=50052 --max-workers=1

Each install must answer gRPC health and Capabilities, and its `fivetran-e2e` (installed without the `e2e`
extra) must name the extra instead of failing with a ModuleNotFoundError traceback. Slow: fresh
environments; dependencies come from the configured index, and pip's and uv's caches make repeats quick.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fivetran_e2e.cli import DISTRIBUTION, INSTALL_E2E
from fivetran_e2e.destination_client import connect
from fivetran_proto import destination_sdk_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT = 600

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install .` would build from this checkout, built once."""
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)])
    (built,) = out.glob("*.whl")
    assert built.name.startswith(DISTRIBUTION.replace("-", "_") + "-")
    return built


def test_pip_install_into_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
    _check_installed(bin_dir)


def test_uv_tool_install(wheel: Path, tmp_path: Path) -> None:
    uv = pytest.importorskip("uv").find_uv_bin()
    bin_dir = tmp_path / "bin"
    env = {**os.environ, "UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(bin_dir)}
    _run([uv, "tool", "install", "--upgrade", "--python", sys.executable, str(wheel)], env=env)
    _check_installed(bin_dir)


def test_without_a_c_compiler_the_wheel_serves_on_the_python_path(tmp_path: Path) -> None:
    """The native extension is optional (`pyproject.toml`): where compiling fails, the build goes on
    without it and the destination takes its Python path. Built from a copy, so no earlier build's
    object files are reused."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("destination", "e2e", "proto"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    out = tmp_path / "wheel"
    no_compiler = {**os.environ, "CC": "false"}
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
         env=no_compiler)  # fmt: skip
    (built,) = out.glob("*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    _run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(built)])
    _check_installed(env_dir / "bin", native="off")


def _check_installed(bin_dir: Path, native: str | None = None) -> None:
    """Health, Capabilities and the e2e extra's message; with `native`, the startup log's "native hot
    loops on|off" (where no C compiler is found, a normal install has them off too: not checked then)."""
    if native is None and (shutil.which("cc") or shutil.which("gcc")):
        native = "on"
    port = _free_port()
    with _started([str(bin_dir / DISTRIBUTION), f"--port={port}", "--max-workers=1"], native):
        channel, stub = connect(f"127.0.0.1:{port}")
        with channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            capabilities = stub.Capabilities(destination_sdk_pb2.CapabilitiesRequest(), timeout=30)
            assert capabilities.batch_file_format == destination_sdk_pb2.CSV

    harness = subprocess.run(
        [str(bin_dir / "fivetran-e2e"), "run"], capture_output=True, text=True, timeout=120
    )
    assert harness.returncode != 0
    assert INSTALL_E2E in harness.stderr and "Traceback" not in harness.stderr, harness.stderr


@contextlib.contextmanager
def _started(argv: list[str], native: str | None = None) -> Iterator[subprocess.Popen[str]]:
    """The console script as a child process; SIGTERM afterwards must end it cleanly. With `native`, its
    startup line must say "native hot loops <native>"."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    if native is not None:
        assert f"native hot loops {native}" in output, output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, env=env)
    assert result.returncode == 0, f"{' '.join(argv)}\n{result.stdout}\n{result.stderr}"
