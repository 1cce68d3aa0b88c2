#!/usr/bin/env bash
# Runs every test as `make test` does (with a throw-away PostgreSQL), then checks that the tests cleaned up
# after themselves: no process they started is still alive, and no file they made is left.
#
# Every process of the run inherits MERIDIAN_TEST_RUN=<mark>, so a survivor is found by its environment,
# whoever started it; every temporary file goes under a TMPDIR of its own, which must end empty.
set -euo pipefail
cd "$(dirname "$0")/.."

MARK="run-$$-$RANDOM"
export MERIDIAN_TEST_RUN=$MARK
ROOT=$(mktemp -d)
chmod 755 "$ROOT"  # PostgreSQL (as user postgres) keeps its throw-away cluster under it
export TMPDIR=$ROOT

status=0
scripts/with-postgres.sh swift test --skip-build --parallel --num-workers 2 "$@" || status=$?

survivors=$(python3 - "$MARK" <<'PY'
import os, sys
mark = ("MERIDIAN_TEST_RUN=" + sys.argv[1]).encode()
mine = {os.getpid(), os.getppid()}
found = []
for name in os.listdir("/proc"):
    if not name.isdigit() or int(name) in mine:
        continue
    try:
        environment = open(f"/proc/{name}/environ", "rb").read().split(b"\0")
        command = open(f"/proc/{name}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        continue
    if mark in environment:
        found.append(f"{name} {command[:200]}")
print("\n".join(found))
PY
)
if [ -n "$survivors" ]; then
    echo "run-tests: processes the tests started are still alive:" >&2
    echo "$survivors" >&2
    echo "$survivors" | cut -d' ' -f1 | xargs -r kill -KILL 2>/dev/null || true
    status=1
fi
# SwiftPM itself keeps its locks and TemporaryDirectory.* folders there too; those are not the tests'.
leftovers=$(find "$ROOT" -mindepth 1 -maxdepth 1 ! -name 'TemporaryDirectory.*' ! -name '*.lock' | head -20)
if [ -n "$leftovers" ]; then
    echo "run-tests: files the tests made are left in \$TMPDIR:" >&2
    echo "$leftovers" >&2
    status=1
fi
rm -rf "$ROOT"
if [ "$status" = 0 ]; then echo "run-tests: every test passed; nothing the tests started or made is left"; fi
exit $status
