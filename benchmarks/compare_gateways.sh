#!/usr/bin/env bash
# zonegate beside LiteLLM and TensorZero in one run of the shared gateway-overhead harness
# (../shared/bench/gateway_overhead, or $GWBENCH): the harness starts its nginx upstream on
# 127.0.0.1:18080 and the other gateways; this script starts zonegate pinned to CPU 0, forwarding
# to that upstream with policy, detection and audit on, and adds it with --add.
#   benchmarks/compare_gateways.sh [harness options, e.g. --rounds 1]
set -euo pipefail
cd "$(dirname "$0")/.."
HARNESS=${GWBENCH:-../shared/bench/gateway_overhead}
ZONEGATE=${ZONEGATE:-.venv/bin/zonegate}
PORT=${ZONEGATE_BENCH_PORT:-18090}
work=$(mktemp -d /tmp/zonegate-compare.XXXXXX)
trap 'kill "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/zonegate.yaml" <<YAML
zones:
  bench: {operator: bench, ceiling: restricted}
models:
  bench-model:
    zone: bench
    provider: {type: openai_compat, base_url: "http://127.0.0.1:18080/v1", model: gpt-4o-mini, api_key: env:BENCH_UPSTREAM_KEY}
routes:
  bench: {candidates: [bench-model]}
teams:
  default: {routes: ["*"], models: ["*"]}
YAML
export BENCH_UPSTREAM_KEY=unused
common=(--config "$work/zonegate.yaml" --data-dir "$work/data")
key=$("$ZONEGATE" keys create --principal bench "${common[@]}")
taskset -c 0 "$ZONEGATE" serve "${common[@]}" --port "$PORT" --log-level warning \
  > "$work/zonegate.log" 2>&1 &
gw=$!
"$HARNESS/run.sh" --add "name=zonegate,url=http://127.0.0.1:$PORT/v1,model=bench,key=$key,pid=$gw,ready_timeout_s=60" "$@"
