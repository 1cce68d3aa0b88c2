#!/usr/bin/env bash
# The ingest benchmark of docs/benchmarks.md: release build, Kafka mock cluster, durable acknowledgement.
# Usage: scripts/bench-ingest.sh [duration-seconds] [rounds]   (`make bench` builds the release binary first)
# Each round runs both modes; each run measures its own ratios. The machine is shared: compare medians.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
ROUNDS=${2:-3}
BIN=${BIN:-.build/release/meridian}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN" dev kafka --brokers 3 --bootstrap-file "$WORK/bootstrap" >"$WORK/kafka.log" 2>&1 &
for _ in $(seq 100); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
BROKERS=$(cat "$WORK/bootstrap")
export MERIDIAN_EVENT_LOG=kafka MERIDIAN_KAFKA_BROKERS="$BROKERS" MERIDIAN_LOG_LEVEL=warning

"$BIN" serve --port 18080 --data-dir "$WORK/data" >"$WORK/serve.log" 2>&1 &
for _ in $(seq 100); do curl -sf localhost:18080/ready >/dev/null && break; sleep 0.1; done

for round in $(seq "$ROUNDS"); do
    echo "== round $round: single, 256 connections"
    "$BIN" bench ingest --target http://127.0.0.1:18080 --mode single --connections 256 --duration "$DURATION" --json
    echo "== round $round: batch of 500, 16 connections"
    "$BIN" bench ingest --target http://127.0.0.1:18080 --mode batch --batch-size 500 --connections 16 \
        --duration "$DURATION" --json
done
