#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the test dependencies, llama-cpp-python
# (compiled once and cached), the SmolLM2-135M weights for the local-model smoke tests and Debian's
# chromium for the browser test, then runs pytest. Extra arguments go to pytest.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv "test,ray"
ensure_llama
ensure_weights "smollm2-135m"
ensure_chromium
export TOXPRO_REQUIRE_LOCAL=1
exec "$VENV/bin/python" -m pytest "$@"
