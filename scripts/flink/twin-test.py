#!/usr/bin/env python3
"""The Flink twin test: Meridian's analytics engine and the Flink SQL jobs of deploy/flink give the same results.

    python twin-test.py --meridian .build/debug/meridian --job all|image-bytes|orders|user-spend [--keep DIR]

Writes a deterministic input (fixed seed): a few thousand structured CloudEvents over about 20 minutes of event time,
order.confirmed and product-images.processed mixed, several customers and size labels, events out of order by up to
4 s (within the 5 s out-of-orderness, so that neither engine has a late event: Flink SQL would drop one where
Meridian revises its window), events of other types, and events each engine must skip or read alike (a missing or
non-string user_id, amounts that are not whole numbers, times with an offset or microseconds, a line that is no
JSON). Then, for each job, runs `meridian analytics replay` and scripts/flink/run-job.py on that file and compares the
final result of every window (Meridian's highest revision per window start and key, Flink's row): window end and
every metric, exactly, value and JSON type. Prints the differences and exits 1 when there are any, else prints one
summary line per job and exits 0.

Run it with the python of scripts/flink/venv.sh (else that script is run to find it; --python to name another).
The temporary files go to a directory that is removed at the end, unless --keep names one to keep them in.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
JOBS = ("image-bytes", "orders", "user-spend")
SEED = 20261130
START = datetime.datetime(2026, 11, 30, 10, 0, 0, tzinfo=datetime.timezone.utc)
SPAN_SECONDS = 20 * 60
WINDOW_MS = 60_000
OUT_OF_ORDERNESS_MS = 5_000
MAX_DISORDER_SECONDS = 4.0
LABELS = ("thumbnail", "medium", "large", "xl")
LABEL_WEIGHTS = (10, 8, 6, 1)
# Customers of very different spend: some cross the Premium (500,000) and VIP (1,000,000) thresholds, at different
# windows; some order in only a few windows (the lifetime spend then carries over windows without orders).
USERS = {f"user-{number:02d}": weight for number, weight in enumerate((12, 9, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1), 1)}
USERS["ütf-8 ✓ user"] = 1


def rfc3339(moment, digits=3):
    """`moment` as RFC 3339 in UTC with `digits` (0 to 6) fractional digits, truncated."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + "Z"


def event_time(line):
    """The time of an event line as both engines read it (to the millisecond), or None when it has none."""
    try:
        moment = datetime.datetime.fromisoformat(json.loads(line)["time"])
    except (ValueError, KeyError, TypeError):
        return None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def envelope(number, event_type, time_text, data_json):
    return (
        '{"specversion":"1.0","id":"twin-%d","source":"/meridian/twin-test","type":"%s","time":"%s",'
        '"datacontenttype":"application/json","data":%s}' % (number, event_type, time_text, data_json)
    )


def order_data(number, user, total):
    data = {"order_id": f"order-{number}", "user_id": user, "total_cents": total, "currency": "EUR"}
    data.update(payment_id=f"pay-{number}", confirmed_at="2026-11-30T10:00:00.000Z")
    return json.dumps(data, ensure_ascii=False)


def image_data(rng, number, label, size):
    width = {"thumbnail": 150, "medium": 400, "large": 800}.get(label, 1600)
    return json.dumps(
        {
            "product_id": f"product-{rng.randrange(40)}",
            "original_key": f"uploads/products/p/{number}.png",
            "processed_key": f"processed/{label}/p/{number}_{width}x{width}.jpg",
            "size_label": label,
            "width": width,
            "height": width,
            "size_bytes": size,
            "content_type": "image/jpeg",
            "processed_at": "2026-11-30T10:00:00.000Z",
        }
    )


def generate(path):
    """Writes the input; returns how many lines it has."""
    rng = random.Random(SEED)
    events = []  # lines
    users, user_weights = list(USERS), list(USERS.values())

    def at(seconds):
        return START + datetime.timedelta(milliseconds=round(seconds * 1000))

    for number in range(3200):
        moment = at(rng.uniform(0, SPAN_SECONDS))
        digits = rng.choice((3, 3, 3, 2, 1, 0))
        roll = rng.random()
        if roll < 0.55:
            user = rng.choices(users, user_weights)[0]
            data = order_data(number, user, rng.randrange(100, 60_000))
            events.append(envelope(number, "order.confirmed", rfc3339(moment, digits), data))
        elif roll < 0.93:
            label = rng.choices(LABELS, LABEL_WEIGHTS)[0]
            data = image_data(rng, number, label, rng.randrange(2_000, 900_000))
            events.append(envelope(number, "product-images.processed", rfc3339(moment, digits), data))
        else:
            # Other types on the same topics, with data a job would count if it read them.
            event_type = rng.choice(("order.created", "order.failed", "order.cancelled", "product-images.uploaded"))
            data = order_data(number, rng.choice(users), 5_000)
            events.append(envelope(number, event_type, rfc3339(moment, digits), data))

    # Events that each engine must read alike: a window of their own (minute 21) keeps any mistake visible.
    special = at(21 * 60 + 1)
    cases = [
        ("order.confirmed", rfc3339(special), '{"order_id":"o-a","total_cents":700,"currency":"EUR"}'),  # no user_id
        ("order.confirmed", rfc3339(special), '{"user_id":42,"total_cents":800}'),  # user_id not a string
        ("order.confirmed", rfc3339(special), '{"user_id":"","total_cents":900}'),  # empty user_id
        ("order.confirmed", rfc3339(special), '{"user_id":"%s","total_cents":1}' % ("é" * 129)),  # 258 bytes
        ("order.confirmed", rfc3339(special), '{"user_id":"%s","total_cents":2}' % ("é" * 128)),  # 256 bytes
        ("order.confirmed", rfc3339(special), '{"user_id":"user-01","total_cents":"77"}'),  # a string: 0
        ("order.confirmed", rfc3339(special), '{"user_id":"user-01","total_cents":12.5}'),  # not whole: 0
        ("order.confirmed", rfc3339(special), '{"user_id":"user-02","total_cents":1234.0}'),  # whole: 1234
        ("order.confirmed", rfc3339(special), '{"user_id":"user-02","total_cents":2e3}'),  # whole: 2000
        ("order.confirmed", rfc3339(special), '{"user_id":"user-03","total_cents":99999999999999999999}'),  # 0
        ("order.confirmed", rfc3339(special), '{"user_id":"user-03"}'),  # no total: 0
        ("order.confirmed", rfc3339(special), '"not an object"'),  # skipped
        ("order.confirmed", "2026-11-30T11:21:02.250+01:00", '{"user_id":"user-04","total_cents":300}'),  # offset
        ("order.confirmed", "2026-11-30T10:21:03.123456Z", '{"user_id":"user-04","total_cents":400}'),  # microseconds
        ("order.confirmed", "2026-11-30T10:22:00Z", '{"user_id":"user-05","total_cents":500}'),  # window boundary
        ("order.confirmed", "not a time", '{"user_id":"user-05","total_cents":600}'),  # skipped
        ("product-images.processed", rfc3339(special), '{"size_label":"medium","size_bytes":"10"}'),  # 0 bytes
        ("product-images.processed", rfc3339(special), '{"size_label":7,"size_bytes":10}'),  # skipped
        ("product-images.processed", rfc3339(special), '{"size_bytes":10}'),  # skipped
        ("product-images.processed", rfc3339(special), '{"size_label":"medium","size_bytes":-5}'),  # negative
    ]
    for index, (event_type, time_text, data) in enumerate(cases):
        events.append(envelope(90_000 + index, event_type, time_text, data))
    events.append("this line is not JSON")
    events.append('{"specversion":"0.3","id":"x","source":"/x","type":"order.confirmed",'
                  '"time":"2026-11-30T10:21:01Z","data":{"user_id":"user-06","total_cents":1}}')

    # Arrival order: each event is delayed by up to MAX_DISORDER_SECONDS, so an event arrives after events at most
    # that much later than it.
    # Lines without a time go with the special cases.
    timed = [(event_time(line) or special, line) for line in events]
    delays = [datetime.timedelta(seconds=rng.uniform(0, MAX_DISORDER_SECONDS)) for _ in timed]
    arrivals = [event for _, event in sorted(zip(delays, timed), key=lambda pair: pair[1][0] + pair[0])]
    # No event may be late for either engine: its window must end after the watermark (the largest event time so
    # far minus the out-of-orderness; Flink closes a window 1 ms earlier, when the watermark reaches its last
    # millisecond).
    largest = None
    for moment, line in arrivals:
        millis = round(moment.timestamp() * 1000)
        if largest is not None:
            window_end = millis - millis % WINDOW_MS + WINDOW_MS
            if window_end - 1 <= largest - OUT_OF_ORDERNESS_MS:
                raise SystemExit(f"twin-test: generated a late event ({line}); the input must have none")
        largest = millis if largest is None else max(largest, millis)
    with open(path, "w", encoding="utf-8") as file:
        for _, line in arrivals:
            file.write(line + "\n")
    return len(arrivals)


def run(command, what):
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(f"twin-test: {what} failed (exit {completed.returncode}): {' '.join(command)}")
    return completed.stdout


def canonical(metrics):
    """Metrics as text that tells 1 from 1.0 and "1" (Python's == would not)."""
    return json.dumps(metrics, sort_keys=True, ensure_ascii=False)


def compare(job, meridian_path, flink_path):
    """Prints the differences; returns (number of windows compared, number of differences)."""
    meridian = {}
    revised = []
    with open(meridian_path, encoding="utf-8") as file:
        for line in file:
            result = json.loads(line)
            window = (result["window_start"], result["key"])
            if result["revision"] > 1:
                revised.append(window)
            if window not in meridian or result["revision"] > meridian[window]["revision"]:
                meridian[window] = result
    flink = {}
    with open(flink_path, encoding="utf-8") as file:
        for line in file:
            result = json.loads(line)
            window = (result["window_start"], result["key"])
            if window in flink:
                print(f"  {job}: Flink gave window {window} twice")
                return len(flink), 1
            flink[window] = result

    problems = []
    if revised:
        problems.append(
            f"Meridian revised {len(revised)} windows (late events: the input is broken), e.g. {revised[0]}")
    if not meridian or not flink:
        problems.append(f"no windows to compare (Meridian {len(meridian)}, Flink {len(flink)})")
    for window in sorted(meridian.keys() - flink.keys()):
        problems.append(f"only Meridian has {window}: {canonical(meridian[window]['metrics'])}")
    for window in sorted(flink.keys() - meridian.keys()):
        problems.append(f"only Flink has {window}: {canonical(flink[window]['metrics'])}")
    for window in sorted(meridian.keys() & flink.keys()):
        ours, theirs = meridian[window], flink[window]
        if ours["window_end"] != theirs["window_end"]:
            problems.append(f"{window}: window_end Meridian {ours['window_end']} Flink {theirs['window_end']}")
        for name in sorted(ours["metrics"].keys() | theirs["metrics"].keys()):
            a, b = ours["metrics"].get(name), theirs["metrics"].get(name)
            if canonical(a) != canonical(b):
                problems.append(f"{window}: {name} Meridian {canonical(a)} Flink {canonical(b)}")
    for problem in problems[:40]:
        print(f"  {job}: {problem}")
    if len(problems) > 40:
        print(f"  {job}: ... and {len(problems) - 40} more differences")
    return len(meridian.keys() | flink.keys()), len(problems)


def flink_python(explicit):
    if explicit:
        return explicit
    try:
        import pyflink  # noqa: F401

        return sys.executable
    except ImportError:
        return run([os.path.join(HERE, "venv.sh")], "scripts/flink/venv.sh").strip().splitlines()[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meridian", required=True, help="the meridian binary")
    parser.add_argument("--job", default="all", choices=("all",) + JOBS)
    parser.add_argument("--keep", metavar="DIR", help="keep the input and both engines' results in DIR")
    parser.add_argument("--python", help="a python with pyflink (default: this one, or scripts/flink/venv.sh's)")
    arguments = parser.parse_args()
    jobs = JOBS if arguments.job == "all" else (arguments.job,)
    if not os.access(arguments.meridian, os.X_OK):
        raise SystemExit(f"twin-test: {arguments.meridian} is not an executable")
    python = flink_python(arguments.python)

    if arguments.keep:
        os.makedirs(arguments.keep, exist_ok=True)
        directory = arguments.keep
    else:
        directory = tempfile.mkdtemp(prefix="meridian-twin-")
    failed = False
    try:
        events = os.path.join(directory, "events.jsonl")
        lines = generate(events)
        print(f"twin-test: {lines} input lines (seed {SEED}) in {events if arguments.keep else 'a temporary file'}")
        for job in jobs:
            meridian_results = os.path.join(directory, f"meridian-{job}.jsonl")
            flink_results = os.path.join(directory, f"flink-{job}.jsonl")
            replay = [arguments.meridian, "analytics", "replay", "--job", job, "--input", events]
            run(replay + ["--output", meridian_results], f"meridian analytics replay --job {job}")
            flink = [python, os.path.join(HERE, "run-job.py"), "--job", job, "--input", events]
            output = run(flink + ["--output", flink_results], f"run-job.py --job {job}")
            summary = json.loads(output.strip().splitlines()[-1])
            compared, differences = compare(job, meridian_results, flink_results)
            if differences:
                failed = True
                print(f"twin-test: {job}: {differences} differences over {compared} windows")
            else:
                wall = summary["wall_seconds"]
                print(f"twin-test: {job}: {compared} windows compared, all equal (Flink run: {wall} s wall)")
    finally:
        if not arguments.keep:
            shutil.rmtree(directory, ignore_errors=True)
    print("twin-test: FAILED, Meridian and Flink disagree" if failed else "twin-test: Meridian and Flink agree")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
