#!/usr/bin/env bash
# Makes (once) the Python virtual environment with PyFlink that scripts/flink/run-job.py and twin-test.py run in,
# and prints the path of its python. Quick when the environment is complete already.
#
#   MERIDIAN_FLINK_VENV  where the environment lives (default ${XDG_CACHE_HOME:-$HOME/.cache}/meridian/flink-venv)
#
# The first run downloads apache-flink from PyPI (about 50 s and 850 MB). A marker file is written only after a
# complete install, so an install that was cut short is done again from scratch. Flink itself needs a Java 17
# runtime (apt-get install openjdk-17-jre-headless), which this script does not install.
set -euo pipefail

FLINK_VERSION=2.3.0
VENV=${MERIDIAN_FLINK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/meridian/flink-venv}
MARKER="$VENV/.meridian-flink-$FLINK_VERSION"

if [ -f "$MARKER" ] && [ -x "$VENV/bin/python" ]; then
    echo "$VENV/bin/python"
    exit 0
fi

# Several callers at once (parallel tests) wait for one install instead of racing.
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9
if [ -f "$MARKER" ] && [ -x "$VENV/bin/python" ]; then
    echo "$VENV/bin/python"
    exit 0
fi

PYTHON=${PYTHON:-python3}
echo "venv.sh: installing apache-flink==$FLINK_VERSION into $VENV (about a minute, 850 MB)" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "apache-flink==$FLINK_VERSION" >&2
"$VENV/bin/python" -c 'import pyflink' >&2
touch "$MARKER"
echo "$VENV/bin/python"
