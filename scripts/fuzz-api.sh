#!/usr/bin/env bash
# Property-based API testing: schemathesis against the /openapi.json a real `meridian serve` serves
# (all roles, embedded defaults), once with a customer's token and once with an admin's; then the /internal
# routes with a service token, against a second server in split mode (users, products and carts, whose
# ports other processes call: all-in-one mode mounts no /internal route).
# It fails on any 5xx, a crash, and any answer the document does not describe (status, content type,
# headers, body schema).
#
#   scripts/fuzz-api.sh                       # CI: fixed seed, about a minute per token
#   FUZZ_MAX_TIME=1800 FUZZ_SEED=7 scripts/fuzz-api.sh     # longer, another seed
#
# Settings: MERIDIAN_TEST_BINARY (default .build/debug/meridian), FUZZ_SEED (default 20261130),
# FUZZ_MAX_TIME seconds per token (default 60), FUZZ_MAX_EXAMPLES per operation (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${MERIDIAN_TEST_BINARY:-$PWD/.build/debug/meridian}
SEED=${FUZZ_SEED:-20261130}
MAX_TIME=${FUZZ_MAX_TIME:-60}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-60}

if ! command -v schemathesis >/dev/null 2>&1; then
    echo "fuzz-api: installing schemathesis (pip)"
    python3 -m pip install -q 'schemathesis>=4,<5' 2>/dev/null || python3 -m pip install -q --break-system-packages 'schemathesis>=4,<5'
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

export MERIDIAN_DATA_DIR=$WORK/data
# On PostgreSQL when the test script started one (scripts/with-postgres.sh): it refuses what SQLite
# stores quietly (NUL in text, numbers out of BIGINT), so hostile input shows there first.
if [ -n "${MERIDIAN_TEST_POSTGRES_URL:-}" ]; then
    DB=fuzz_$$_$RANDOM
    psql "$MERIDIAN_TEST_POSTGRES_URL" -qc "CREATE DATABASE $DB" >/dev/null
    psql "$MERIDIAN_TEST_POSTGRES_URL" -qc "CREATE DATABASE ${DB}_internal" >/dev/null
    export MERIDIAN_STORAGE_URL=${MERIDIAN_TEST_POSTGRES_URL%/*}/$DB
    INTERNAL_STORAGE_URL=${MERIDIAN_TEST_POSTGRES_URL%/*}/${DB}_internal
    echo "fuzz-api: storage on PostgreSQL ($DB, ${DB}_internal)"
else
    INTERNAL_STORAGE_URL=sqlite:$WORK/internal-data/meridian.sqlite
fi
export MERIDIAN_USERS_BCRYPT_COST=4
export MERIDIAN_GATEWAY_USER_RATE=0
export MERIDIAN_GATEWAY_ADDRESS_RATE=0
export MERIDIAN_LOG_FORMAT=json

printf '%s\n' "fuzzing admin password" | "$BIN" users create-admin --email admin@fuzz.example >/dev/null
# Starts `meridian serve` on a free port with the data dir and arguments given; sets PORT and SERVER_PID.
start_server() {
    local data=$1 log=$2
    shift 2
    MERIDIAN_DATA_DIR=$data "$BIN" serve --port 0 "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    PORT=""
    for _ in $(seq 1 300); do
        PORT=$(grep -o '"msg":"meridian is serving".*"port":[0-9]*' "$log" | grep -o '"port":[0-9]*' | cut -d: -f2 || true)
        [ -n "$PORT" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log"; echo "fuzz-api: the server exited" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$PORT" ] || { cat "$log"; echo "fuzz-api: the server did not start" >&2; exit 1; }
}
start_server "$WORK/data" "$WORK/server.log"
MAIN_PID=$SERVER_PID
BASE=http://127.0.0.1:$PORT

token() {
    curl -sf -X POST "$BASE/api/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$2\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
curl -sf -X POST "$BASE/api/users" -H 'Content-Type: application/json' \
    -d '{"email":"customer@fuzz.example","password":"fuzzing customer password","name":"Fuzz"}' >/dev/null
CUSTOMER=$(token customer@fuzz.example "fuzzing customer password")
ADMIN=$(token admin@fuzz.example "fuzzing admin password")
# Something for the catalog, the cart and the orders to work on.
PRODUCT=$(curl -sf -X POST "$BASE/api/products" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"name":"Fuzz lamp","category":"home","price_cents":1999,"currency":"EUR","stock":1000000}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -X POST "$BASE/api/cart/items" -H "Authorization: Bearer $CUSTOMER" -H 'Content-Type: application/json' \
    -d "{\"product_id\":\"$PRODUCT\",\"quantity\":1}" >/dev/null

# The second server: split mode, the roles whose ports other processes call, on a database of its own.
MERIDIAN_STORAGE_URL=$INTERNAL_STORAGE_URL start_server "$WORK/internal-data" "$WORK/internal.log" \
    --role users --role products --role carts
INTERNAL_BASE=http://127.0.0.1:$PORT
INTERNAL_PID=$SERVER_PID

# A service token (role "service", signed with that server's data-dir secret) for the /internal routes,
# which take no person's token: HS256 over the header and the claims, as the services sign theirs.
SERVICE=$(python3 - "$WORK/internal-data/jwt-secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
secret = open(sys.argv[1]).read().strip().encode()
def part(data):
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=")
now = int(time.time())
signing = part({"alg": "HS256", "typ": "JWT"}) + b"." + part({"sub": "service:fuzz", "role": "service", "iat": now, "exp": now + 3600})
signature = base64.urlsafe_b64encode(hmac.new(secret, signing, hashlib.sha256).digest()).rstrip(b"=")
print((signing + b"." + signature).decode())
PY
)

status=0
for who in customer admin service; do
    TARGET=$BASE
    PID=$MAIN_PID
    LOG=$WORK/server.log
    case $who in
        customer) TOKEN=$CUSTOMER ;;
        admin) TOKEN=$ADMIN ;;
        service) TOKEN=$SERVICE TARGET=$INTERNAL_BASE PID=$INTERNAL_PID LOG=$WORK/internal.log ;;
    esac
    echo "fuzz-api: schemathesis with the $who token (seed $SEED, at most ${MAX_TIME}s)"
    # The disable route would end the admin's own session midway; it is fuzzed with the customer token.
    # /internal is not mounted in all-in-one mode: it is fuzzed with the service token on the split server.
    exclude=(--exclude-path-regex '^/internal/')
    if [ "$who" = admin ]; then exclude=(--exclude-path-regex '^/internal/|/disable$'); fi
    if [ "$who" = service ]; then exclude=(--include-path-regex '^/internal/'); fi
    # One worker: with two threads, Python 3.11's AST constructor (hypothesis describes its filters by parsing
    # their source) races and fails the run with "AST constructor recursion depth mismatch" (CPython gh-106905).
    (cd "$WORK" && schemathesis run "$TARGET/openapi.json" \
        --header "Authorization: Bearer $TOKEN" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing \
        --seed "$SEED" --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" \
        --workers 1 --request-timeout 10 --suppress-health-check all --no-color \
        "${exclude[@]}") || status=1
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "fuzz-api: the server died" >&2
        tail -50 "$LOG" >&2
        exit 1
    fi
done
for log in "$WORK/server.log" "$WORK/internal.log"; do
    if grep -q '"level":"error"' "$log"; then
        echo "fuzz-api: the server logged errors ($(basename "$log")):" >&2
        grep '"level":"error"' "$log" | head -20 >&2
        status=1
    fi
done
exit $status
