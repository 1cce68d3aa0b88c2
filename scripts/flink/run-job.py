#!/usr/bin/env python3
"""Runs one of Meridian's analytics jobs in Flink (PyFlink, local mode) over a file of CloudEvents.

    python run-job.py --job orders --input events.jsonl --output results.jsonl [--window-seconds 60]
                      [--out-of-orderness-seconds 5]

Run it with the python of scripts/flink/venv.sh. The job's query is deploy/flink/jobs/<job>.sql as it is, over the
tables of deploy/flink/filesystem-tables.sql: the input is streamed by Flink's filesystem source (never loaded into
Python), in streaming mode with parallelism 1; its end (a bounded source emits the final watermark) closes every
window. The output has one JSON object per window and key, ordered by window start and key:
    {"job", "window_start", "window_end", "key", "metrics": {...}}
times as Meridian writes them (2026-11-30T10:00:00.000Z). A one-line JSON summary goes to standard output:
    {"job", "events" (input lines), "results", "wall_seconds", "job_cpu_seconds", "total_cpu_seconds"}
job_cpu_seconds is the CPU time (user + system) of this process and of the JVM it starts, from just before the job is
submitted until it finished; total_cpu_seconds also counts the start-up (the JVM, the table definitions).
"""

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flinksql  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def process_tree_cpu():
    """CPU seconds (user + system) of this process and of its descendants still alive (the JVM gateway)."""
    own = os.times()
    total = own.user + own.system
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            continue
        # The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
        fields = stat[stat.rindex(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append((int(name), int(fields[11]) + int(fields[12])))
    pending = [os.getpid()]
    while pending:
        for pid, ticks in children.get(pending.pop(), []):
            total += ticks / TICKS
            pending.append(pid)
    return total


def count_lines(path):
    count, last = 0, b"\n"
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def read_results(directory):
    """The rows the filesystem sink wrote (committed part files, and in-progress ones a finished job left)."""
    rows = []
    for path in sorted(glob.glob(os.path.join(directory, "**", "*"), recursive=True)):
        if os.path.isfile(path) and not os.path.basename(path).startswith("_"):
            with open(path, encoding="utf-8") as file:
                rows.extend(json.loads(line) for line in file if line.strip())
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job", required=True, choices=flinksql.JOBS)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--window-seconds", type=int, default=60)
    parser.add_argument("--out-of-orderness-seconds", type=int, default=5)
    arguments = parser.parse_args()
    if arguments.window_seconds < 1 or arguments.out_of_orderness_seconds < 0:
        parser.error("the window must be at least 1 s and the out-of-orderness at least 0 s")

    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="meridian-flink-")
    try:
        values = {
            "INPUT_PATH": os.path.abspath(arguments.input),
            "OUTPUT_PATH": os.path.join(work, "results"),
            "WINDOW_SECONDS": arguments.window_seconds,
            "OUT_OF_ORDERNESS_SECONDS": arguments.out_of_orderness_seconds,
        }
        tables = flinksql.statements(flinksql.render(flinksql.read("filesystem-tables.sql"), values))
        (query,) = flinksql.statements(flinksql.render(flinksql.read(f"jobs/{arguments.job}.sql"), values))

        # The JVM's own temporary files (the planner jar it unpacks, the mini cluster's blobs) go to the work
        # directory, which goes at the end: Java does not follow TMPDIR.
        temporary = os.path.join(work, "tmp")
        os.mkdir(temporary)
        # -XX:-UsePerfData: no /tmp/hsperfdata_<user> either.
        jvm_arguments = f" -Djava.io.tmpdir={temporary} -XX:-UsePerfData"
        os.environ["JVM_ARGS"] = (os.environ.get("JVM_ARGS", "") + jvm_arguments).strip()

        from pyflink.table import EnvironmentSettings, TableEnvironment

        environment = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        environment.get_config().set("parallelism.default", "1")
        environment.get_config().set("io.tmp.dirs", temporary)
        for statement in tables:
            option = flinksql.set_option(statement)
            if option:
                environment.get_config().set(*option)
            else:
                environment.execute_sql(statement)

        cpu_before = process_tree_cpu()
        environment.execute_sql(query).wait()
        job_cpu = process_tree_cpu() - cpu_before
        total_cpu = process_tree_cpu()

        rows = read_results(values["OUTPUT_PATH"])
        results = []
        for row in rows:
            expected_key = f"{row['job']}/{row['window_start']}/{row['key']}"
            if row.get("record_key") != expected_key or row.get("revision") != 1:
                raise SystemExit(f"run-job: unexpected record key or revision in {row}")
            results.append({name: row[name] for name in ("job", "window_start", "window_end", "key", "metrics")})
        results.sort(key=lambda result: (result["window_start"], result["key"]))
        with open(arguments.output, "w", encoding="utf-8") as file:
            for result in results:
                file.write(json.dumps(result, sort_keys=True, ensure_ascii=False) + "\n")
        summary = {
            "job": arguments.job,
            "events": count_lines(arguments.input),
            "results": len(results),
            "wall_seconds": round(time.monotonic() - started, 3),
            "job_cpu_seconds": round(job_cpu, 3),
            "total_cpu_seconds": round(total_cpu, 3),
        }
        print(json.dumps(summary), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
