#!/usr/bin/env bash
# Main job on the embedded local model, no API key: install what is needed, simulate one shipped
# scenario with Qwen2.5-Coder-1.5B (agent and environment), print the labelled run and the store.
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv "parquet"
ensure_llama
ensure_weights "qwen2.5-coder-1.5b"
SCENARIO="${1:-healthcare-loyalty-dosage-audit}"
log "simulating $SCENARIO on local/qwen2.5-coder-1.5b (a run takes a few minutes on 2 cores)"
exec "$VENV/bin/toxpro" run -s "$SCENARIO" -a local/qwen2.5-coder-1.5b -e local/qwen2.5-coder-1.5b \
  -n 1 --max-turns 10 -o experiments/quickstart
