#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server on 127.0.0.1 and MERIDIAN_TEST_POSTGRES_URL set.
# If MERIDIAN_TEST_POSTGRES_URL is already set, the command just runs against that server.
set -euo pipefail
if [ -n "${MERIDIAN_TEST_POSTGRES_URL:-}" ]; then exec "$@"; fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then
    echo "with-postgres: PostgreSQL is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
fi
DIR=$(mktemp -d)
RUN=()
if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$DIR"
    RUN=(runuser -u postgres --)
fi
stop() {
    "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap stop EXIT
"${RUN[@]}" "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
# A port the kernel just handed out is free at that moment, but anything (a test's client socket) may take it
# before PostgreSQL binds it: on "Address already in use" try another one.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    if "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
        -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c fsync=off -c max_connections=200" start >/dev/null; then
        break
    fi
    if [ "$attempt" = 5 ] || ! grep -q "Address already in use" "$DIR/server.log"; then
        cat "$DIR/server.log" >&2
        exit 1
    fi
    echo "with-postgres: port $PORT was taken before PostgreSQL bound it; trying another" >&2
    : >"$DIR/server.log"
done
export MERIDIAN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
# The same server through its Unix socket (libpq's host=<directory>).
export MERIDIAN_TEST_POSTGRES_SOCKET_DIR="$DIR"
echo "with-postgres: PostgreSQL on 127.0.0.1:$PORT"
"$@"
