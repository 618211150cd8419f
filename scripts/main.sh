#!/usr/bin/env bash
# Main job on the shipped defaults: BERT-Large (seq 128, batch 1) on the seed architecture
# (large-small) with the accuracy of each rows-per-conversion choice, the architecture comparison
# with the seed paper's ratios beside ours, and the accuracy budget of MiniLM on large-small.
# Writes out/bert-large_large-small_s128_b1.{json,csv,md,png}, out/compare_bert-large_s128_b1.{…}
# and out/accuracy_minilm_large-small_fast.{…}.  About 4 minutes on 2 cores.
# Extra arguments go to `cosim run` (e.g. --set compute.rows_per_conversion=15).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
COSIM="${COSIM_VENV:-$ROOT/.venv}/bin/cosim"
"$COSIM" run --model bert-large --arch large-small --seq-len 128 --batch 1 --accuracy --out-dir "$ROOT/out" "$@"
echo
"$COSIM" compare --model bert-large --seq-len 128 --batch 1 --out-dir "$ROOT/out"
echo
"$COSIM" accuracy --model minilm --arch large-small --jobs 2 --validate 0 --out-dir "$ROOT/out"
