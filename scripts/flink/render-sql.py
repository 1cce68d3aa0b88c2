#!/usr/bin/env python3
"""Prints the Flink SQL script of one of Meridian's analytics jobs for a Kafka deployment, placeholders filled in.

    KAFKA_BOOTSTRAP=... KAFKA_USERNAME=... KAFKA_PASSWORD=... python3 scripts/flink/render-sql.py orders > orders.sql
    POSTGRES_URL=... POSTGRES_USER=... POSTGRES_PASSWORD=... ... python3 scripts/flink/render-sql.py postgres-sink

A job's script is deploy/flink/kafka-tables.sql followed by deploy/flink/jobs/<job>.sql; `postgres-sink` is
deploy/flink/postgres-sink.sql. Every ${NAME} is taken from the environment, else from the defaults of
scripts/flink/flinksql.py (window 60 s, out-of-orderness 5 s, ...); one without a value is an error. JOB is the
argument. Needs only Python 3 (no PyFlink).
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flinksql  # noqa: E402


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in flinksql.JOBS + ("postgres-sink",):
        sys.exit(f"usage: render-sql.py {{{'|'.join(flinksql.JOBS + ('postgres-sink',))}}}")
    name = sys.argv[1]
    if name == "postgres-sink":
        text = flinksql.read("postgres-sink.sql")
    else:
        text = flinksql.read("kafka-tables.sql") + "\n" + flinksql.read(f"jobs/{name}.sql")
    values = dict(os.environ)
    values["JOB"] = name
    try:
        sys.stdout.write(flinksql.render(text, values))
    except KeyError as error:
        sys.exit(f"render-sql: {error.args[0]} (set them in the environment)")


if __name__ == "__main__":
    main()
