"""The committed generated modules must be exactly what proto/generate.py produces from the .proto files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from grpc_tools import grpc_version

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "proto" / "fivetran_proto"
EXPECTED_FILES = sorted(
    f"{stem}{suffix}"
    for stem in ("common", "destination_sdk", "connector_sdk")
    for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def test_generator_writes_every_module(regenerated: Path) -> None:
    assert sorted(path.name for path in regenerated.iterdir()) == EXPECTED_FILES


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_committed_module_is_fresh(regenerated: Path, name: str) -> None:
    committed = (PACKAGE_DIR / name).read_bytes()
    fresh = (regenerated / name).read_bytes()
    assert committed == fresh, (
        f"proto/fivetran_proto/{name} differs from what grpcio-tools "
        f"{grpc_version.VERSION} generates; "
        "run `python proto/generate.py` (with the grpcio-tools version pinned in pyproject.toml)"
    )


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_sibling_imports_are_package_relative(name: str) -> None:
    text = (PACKAGE_DIR / name).read_text(encoding="utf-8")
    for module in ("common_pb2", "destination_sdk_pb2", "connector_sdk_pb2"):
        assert f"\nimport {module}" not in text, f"{name} still imports {module} as a top-level module"
