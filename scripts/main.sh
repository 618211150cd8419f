#!/usr/bin/env bash
# Main job on the shipped defaults: BERT-Large (seq 128, batch 1) on the seed architecture
# (large-small), then the architecture comparison with the seed paper's ratios beside ours.
# Writes out/bert-large_large-small_s128_b1.{json,csv,md,png} and out/compare_bert-large_s128_b1.{json,csv,md,png}.
# Extra arguments go to `cosim run` (e.g. --set compute.rows_per_conversion=15).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
COSIM="${COSIM_VENV:-$ROOT/.venv}/bin/cosim"
"$COSIM" run --model bert-large --arch large-small --seq-len 128 --batch 1 --out-dir "$ROOT/out" "$@"
echo
"$COSIM" compare --model bert-large --seq-len 128 --batch 1 --out-dir "$ROOT/out"
