"""`python -m cratedb_emulator`: run the emulator until interrupted."""

from .cli import main

raise SystemExit(main())
