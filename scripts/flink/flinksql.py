"""Reading Meridian's Flink SQL files (deploy/flink): placeholders and statements.

The files are plain Flink SQL with ${NAME} placeholders. Every placeholder stands inside a SQL string literal, so a
value is put in with its single quotes doubled. A placeholder without a value is an error (envsubst would put in an
empty string silently). Statements end with a line ending in ';' and '--' starts a comment: the rules of the Flink
Kubernetes operator's example SQL runner, so the same files run there, in `sql-client.sh -f` and in run-job.py.
"""

import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SQL_DIR = os.path.join(ROOT, "deploy", "flink")
JOBS = ("image-bytes", "orders", "user-spend")

# Values a placeholder takes when the environment gives none: Meridian's defaults.
DEFAULTS = {
    "WINDOW_SECONDS": "60",
    "OUT_OF_ORDERNESS_SECONDS": "5",
    "IDLE_TIMEOUT_SECONDS": "30",
    "TOPIC_PREFIX": "",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_LOGIN_MODULE": "org.apache.flink.kafka.shaded.org.apache.kafka.common.security.scram.ScramLoginModule",
    "CHECKPOINT_INTERVAL": "30s",
}

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
SET_STATEMENT = re.compile(r"SET\s+'(\S+)'\s+=\s+'(.*)';", re.IGNORECASE)


def read(name):
    with open(os.path.join(SQL_DIR, name), encoding="utf-8") as file:
        return file.read()


def render(text, values):
    """Fills in every ${NAME} of `text` from `values`, then DEFAULTS; raises KeyError naming the missing ones."""
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values and name not in DEFAULTS})
    if missing:
        raise KeyError("no value for " + ", ".join(missing))

    def value(match):
        name = match.group(1)
        return str(values[name] if name in values else DEFAULTS[name]).replace("'", "''")

    return PLACEHOLDER.sub(value, text)


def statements(text):
    """The statements of a script, without comments and without their closing ';'."""
    result, current = [], []
    for line in text.splitlines():
        line = re.sub(r"--.*", "", line).strip()
        if not line:
            continue
        current.append(line)
        if line.endswith(";"):
            result.append("\n".join(current)[:-1])
            current = []
    if current:
        result.append("\n".join(current))
    return result


def set_option(statement):
    """(key, value) for a `SET 'key' = 'value'` statement, else None."""
    match = SET_STATEMENT.fullmatch(statement.strip() + ";")
    return (match.group(1), match.group(2)) if match else None
