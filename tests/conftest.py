"""Shared fixtures.

Tests marked `cratedb` get a CrateDB HTTP endpoint from `cratedb_url`: the embedded emulator by default,
or the real CrateDB named by the environment variable CRATEDB_URL (e.g. http://crate:crate@localhost:4200).
Every such test must work unchanged against both; tests that rely on emulator-only behaviour are marked
`emulator_only` and are skipped when CRATEDB_URL is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

REAL_CRATEDB_URL = os.environ.get("CRATEDB_URL", "").strip()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not REAL_CRATEDB_URL:
        return
    skip = pytest.mark.skip(reason="relies on emulator-only behaviour; CRATEDB_URL points at a real CrateDB")
    for item in items:
        if "emulator_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cratedb_url() -> Iterator[str]:
    """HTTP URL of CrateDB: a real one from CRATEDB_URL, else a session-wide strict emulator."""
    if REAL_CRATEDB_URL:
        yield REAL_CRATEDB_URL
        return
    from cratedb_emulator import Emulator

    with Emulator(host="127.0.0.1", port=0) as emulator:
        yield emulator.url


@pytest.fixture()
def emulator() -> Iterator[object]:
    """A private, strict emulator for tests that inspect statistics or inject faults (emulator_only)."""
    if REAL_CRATEDB_URL:
        pytest.skip("needs the emulator (statistics / fault injection)")
    from cratedb_emulator import Emulator

    with Emulator(host="127.0.0.1", port=0) as instance:
        yield instance


@pytest.fixture()
def unique_schema() -> str:
    """A schema name no other test uses, so tests can share one CrateDB (real or emulated)."""
    return f"t_{uuid.uuid4().hex[:12]}"
