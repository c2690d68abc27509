#!/usr/bin/env bash
# Fivetran partner build step: runs after `pip install -r requirements.txt` and before PyInstaller
# builds main.py. The generated protocol modules are committed (proto/fivetran_proto), so nothing is
# downloaded; installing the project puts our packages where PyInstaller's import analysis looks.
#
#   PYTHON=python3.11 ./build.sh      (default: python, else python3)
#   ./build.sh --regenerate           also rebuild proto/fivetran_proto from proto/*.proto first
#                                     (needs grpcio-tools, pinned in pyproject.toml's test extra)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-$(command -v python || command -v python3)}"

if [[ "${1:-}" == "--regenerate" ]]; then
    "$PYTHON" proto/generate.py
fi

# --no-deps: the runtime dependencies come from requirements.txt, installed by Fivetran beforehand.
"$PYTHON" -m pip install --disable-pip-version-check --no-deps .

# Fail the build here, not at customer runtime, if the server cannot be imported.
"$PYTHON" -c "import cratedb_destination.server, fivetran_proto.destination_sdk_pb2_grpc"
# The native hot loops are optional (built where a C compiler is found); say which way the server runs.
"$PYTHON" -c "from cratedb_destination import native; print('native hot loops', 'on' if native.ENABLED else 'off (no C compiler; the Python path)')"
"$PYTHON" main.py --version
