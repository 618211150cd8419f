#!/usr/bin/env bash
# The whole test suite, ngspice-dependent tests included; installs what is missing first.
# Extra arguments go to pytest (e.g. -m "not spice", -k store).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "${COSIM_VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
