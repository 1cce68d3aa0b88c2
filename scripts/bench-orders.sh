#!/usr/bin/env bash
# The order benchmark of docs/benchmarks.md (release build): embedded defaults (SQLite + embedded log),
# then PostgreSQL + the Kafka mock cluster. Usage: scripts/bench-orders.sh [seconds] [customers] [embedded|kafka|both]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
CUSTOMERS=${2:-32}
WHICH=${3:-both}
BIN=${BIN:-.build/release/meridian}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
export MERIDIAN_LOG_LEVEL=warning MERIDIAN_GATEWAY_USER_RATE=0 MERIDIAN_GATEWAY_ADDRESS_RATE=0 MERIDIAN_USERS_BCRYPT_COST=4
export MERIDIAN_BENCH_ADMIN_PASSWORD="bench-admin-password"

run() { # name, port, data dir
    printf '%s\n' "$MERIDIAN_BENCH_ADMIN_PASSWORD" | "$BIN" users create-admin --email admin@example.com --data-dir "$3" >/dev/null
    "$BIN" serve --port "$2" --data-dir "$3" >"$WORK/$1.log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do curl -sf "localhost:$2/ready" >/dev/null && break; sleep 0.1; done
    echo "== $1: $CUSTOMERS customers, $DURATION s"
    "$BIN" bench orders --target "http://127.0.0.1:$2" --customers "$CUSTOMERS" --duration "$DURATION" --json
    kill -TERM "$pid"; wait "$pid" || true
}

if [ "$WHICH" = embedded ] || [ "$WHICH" = both ]; then
    run embedded 18081 "$WORK/embedded"
fi
if [ "$WHICH" = kafka ] || [ "$WHICH" = both ]; then
    # Again, inside a throw-away PostgreSQL server.
    BIN="$BIN" scripts/with-postgres.sh "$0" "$DURATION" "$CUSTOMERS" kafka-inside-postgres
fi
if [ "$WHICH" = kafka-inside-postgres ]; then
    "$BIN" dev kafka --brokers 3 --bootstrap-file "$WORK/bootstrap" >"$WORK/kafka.log" 2>&1 &
    for _ in $(seq 100); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
    # The mock cluster holds an empty fetch for fetch.wait.max.ms even when data arrives meanwhile.
    export MERIDIAN_EVENT_LOG=kafka MERIDIAN_KAFKA_BROKERS="$(cat "$WORK/bootstrap")" MERIDIAN_KAFKA_FETCH_WAIT_MS=10
    export MERIDIAN_STORAGE_URL="$MERIDIAN_TEST_POSTGRES_URL"
    run kafka-postgres 18082 "$WORK/kafka-data"
fi
