"""The console script `cratedb-fivetran-destination`: process settings that must come before pyarrow is
imported, then the server.

pyarrow's jemalloc reads its configuration from the environment once, when pyarrow is imported
(`memory.prepare_environment`), and `server` imports pyarrow with the handlers. So this module imports
neither until the environment is set.
"""

from __future__ import annotations

from collections.abc import Sequence

from cratedb_destination import memory


def main(argv: Sequence[str] | None = None) -> int:
    memory.prepare_environment()
    from cratedb_destination import server

    return server.main(argv)
