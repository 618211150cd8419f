#!/usr/bin/env bash
# Main job on the shipped defaults: validate the behavioral crossbar model against ngspice and the
# exact solver with the shipped calibration table (held-out cases, sizes 8-32, three array kinds).
# Writes out/crossbar_parity.png and out/crossbar_checks.json; extra arguments go to
# `cosim validate crossbar` (e.g. --sizes 64 --jobs 2).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
"${COSIM_VENV:-$ROOT/.venv}/bin/cosim" doctor
exec "${COSIM_VENV:-$ROOT/.venv}/bin/cosim" validate crossbar --jobs 2 \
  --plot "$ROOT/out/crossbar_parity.png" --json "$ROOT/out/crossbar_checks.json" \
  --report "$ROOT/out/crossbar_validation.md" "$@"
