"""Entry point of the partner binary that Fivetran builds with PyInstaller (`dist/main --port <n>`).

`build.sh` installs the project into the build environment so PyInstaller finds every package; when
run straight from a checkout without installing, the source folders are appended to the import path.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
for _folder in ("destination", "proto"):
    if str(_ROOT / _folder) not in sys.path:
        sys.path.append(str(_ROOT / _folder))

from cratedb_destination.launch import main  # noqa: E402  (import path set up above)

if __name__ == "__main__":
    sys.exit(main())
