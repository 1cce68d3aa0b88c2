#!/usr/bin/env bash
# The order benchmark of docs/benchmarks.md (release build). Each round: embedded defaults (SQLite + embedded
# log) with 32 customers, then 128, then PostgreSQL + the Kafka mock cluster with 128 (after a 5 s warm-up, so
# the consumer groups have joined). Every run starts a fresh server and first measures the store's raw
# transaction rate on the same disk or database (the same-run denominator).
# `tracing` instead runs embedded with 32 customers twice per round, tracing off then on (every trace kept,
# exported over OTLP/HTTP to a sink that answers 200): the cost of tracing, measured in one run.
# Usage: scripts/bench-orders.sh [seconds] [rounds] [embedded|kafka|both|tracing] [prefer|poll]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
ROUNDS=${2:-3}
WHICH=${3:-both}
WAIT=${4:-prefer}
BIN=${BIN:-.build/release/meridian}
if [ "$WHICH" != embedded ] && [ "$WHICH" != tracing ] && [ -z "${MERIDIAN_TEST_POSTGRES_URL:-}" ]; then
    # Again, inside a throw-away PostgreSQL server.
    exec env BIN="$BIN" scripts/with-postgres.sh "$0" "$@"
fi
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
export MERIDIAN_LOG_LEVEL=warning MERIDIAN_GATEWAY_USER_RATE=0 MERIDIAN_GATEWAY_ADDRESS_RATE=0 MERIDIAN_USERS_BCRYPT_COST=4
export MERIDIAN_BENCH_ADMIN_PASSWORD="bench-admin-password"

run() { # name, customers, warm-up seconds, floor storage URL, environment...
    local name=$1 customers=$2 warmup=$3 floor=$4 data="$WORK/$1-$2-$RANDOM"
    shift 4
    env "$@" "$BIN" users create-admin --email admin@example.com --data-dir "$data" \
        <<<"$MERIDIAN_BENCH_ADMIN_PASSWORD" >/dev/null
    env "$@" "$BIN" serve --port 18081 --data-dir "$data" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do curl -sf localhost:18081/ready >/dev/null && break; sleep 0.1; done
    echo "== $name: $customers customers, $DURATION s (wait: $WAIT, warm-up: $warmup s)"
    "$BIN" bench orders --target http://127.0.0.1:18081 --customers "$customers" --duration "$DURATION" \
        --warmup "$warmup" --wait "$WAIT" --floor-storage-url "${floor/DATA/$data}" --json
    kill -TERM "$pid"
    wait "$pid" || true
    if [[ "$floor" == postgres* ]]; then  # the next PostgreSQL run starts from empty tables
        psql_reset "$floor"
    fi
}

psql_reset() {
    local psql
    psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
    PGOPTIONS="-c client_min_messages=warning" "$psql" "$1" -qc "DROP SCHEMA public CASCADE; CREATE SCHEMA public;" >/dev/null
}

if [ "$WHICH" = tracing ]; then
    # An OTLP/HTTP sink: reads each export and answers 200 with an empty JSON response.
    python3 - "$WORK/sink-port" >"$WORK/sink.log" 2>&1 <<'PY' &
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
open(sys.argv[1], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
    for _ in $(seq 100); do [ -s "$WORK/sink-port" ] && break; sleep 0.1; done
    SINK="http://127.0.0.1:$(cat "$WORK/sink-port")/v1/traces"
    for round in $(seq "$ROUNDS"); do
        echo "#### round $round"
        run embedded 32 0 "sqlite:DATA/bench-floor.sqlite"
        run embedded-traced 32 0 "sqlite:DATA/bench-floor.sqlite" MERIDIAN_TRACING_ENABLED=true MERIDIAN_TRACING_ENDPOINT="$SINK"
    done
    exit 0
fi
if [ "$WHICH" != embedded ]; then
    "$BIN" dev kafka --brokers 3 --bootstrap-file "$WORK/bootstrap" >"$WORK/kafka.log" 2>&1 &
    for _ in $(seq 100); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
    BROKERS=$(cat "$WORK/bootstrap")
fi
for round in $(seq "$ROUNDS"); do
    echo "#### round $round"
    if [ "$WHICH" != kafka ]; then
        run embedded 32 0 "sqlite:DATA/bench-floor.sqlite"
        run embedded 128 0 "sqlite:DATA/bench-floor.sqlite"
    fi
    if [ "$WHICH" != embedded ]; then
        # The mock cluster holds an empty fetch for fetch.wait.max.ms even when data arrives meanwhile.
        run kafka-postgres 128 5 "$MERIDIAN_TEST_POSTGRES_URL" MERIDIAN_EVENT_LOG=kafka MERIDIAN_KAFKA_BROKERS="$BROKERS" \
            MERIDIAN_KAFKA_FETCH_WAIT_MS=10 MERIDIAN_STORAGE_URL="$MERIDIAN_TEST_POSTGRES_URL"
    fi
done
