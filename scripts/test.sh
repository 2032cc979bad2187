#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the test dependencies, llama-cpp-python
# (compiled once and cached), the SmolLM2-135M weights for the local-model smoke tests and Debian's
# chromium for the browser test, then runs ruff, mypy and pytest. Extra arguments go to pytest (and skip
# ruff and mypy).
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv "test,ray"
ensure_llama
ensure_weights "smollm2-135m"
ensure_chromium
export TOXPRO_REQUIRE_LOCAL=1
if [ "$#" -eq 0 ]; then  # the whole suite also runs the static checks (pyproject: [tool.ruff], [tool.mypy])
  log "ruff (lint and format) and mypy (strict on core/)"
  "$VENV/bin/ruff" check src tests benchmarks scripts
  "$VENV/bin/ruff" format --check --quiet src tests benchmarks scripts
  "$VENV/bin/mypy"
fi
exec "$VENV/bin/python" -m pytest "$@"
