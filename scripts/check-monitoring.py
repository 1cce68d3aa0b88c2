#!/usr/bin/env python3
"""Checks deploy/monitoring: Prometheus rules and config, Grafana dashboards, metric names, YAML style.

    python3 scripts/check-monitoring.py [--meridian PATH] [--skip-server]

1. promtool: `check rules`, `test rules` (the unit tests beside the rules) and `check config`. promtool
   comes from Debian's `prometheus` package; when it is missing it is installed with apt-get (as root),
   otherwise the check stops and says how to install it.
2. Alerts: every alert has a `severity` label, `summary`, `description` and `runbook_url` annotations, and
   each runbook_url names a heading of docs/operations.md that exists (`docs/operations.md#anchor`).
3. Dashboards: every deploy/monitoring/grafana/dashboards/*.json is JSON with panels, and every target of
   every panel has an `expr`.
4. Metric names: starts `meridian serve` (the binary from --meridian, else $MERIDIAN_TEST_BINARY, else
   .build/debug/meridian) on a free port with a temporary data dir, sends a little traffic (valid events,
   a duplicate, an invalid event, GET /api/products, a 404), scrapes /metrics, and requires every metric
   name used by a rule expression or a Prometheus dashboard query to be exported.

   What counts as exported: a name that appears in the /metrics output (sample, `# HELP` or `# TYPE`
   line). This is the stronger of the two possible rules (the other being "declared in MetricsHelp.swift"):
   a description alone does not prove the code registers the metric under that name. Meridian registers
   its counters at start-up (they show as 0), so the traffic is not strictly needed, but it also makes the
   per-route HTTP series appear. Histogram names are checked without their `_bucket`/`_sum`/`_count`
   suffix. Not checked: PromQL functions and keywords, label names and values, Grafana variables,
   recording-rule names defined in the rules, and `kube_*` names (kube-state-metrics).

   One exception, printed in the summary: the Kafka client metrics (KAFKA_ONLY below) exist only when the
   event log is Kafka, and the consumer lag only when librdkafka's statistics report a lag, which its mock
   cluster (the only broker on these machines) never does. Such a name is accepted when it is described in
   Sources/MeridianApp/MetricsHelp.swift AND registered in Sources/ as `label: "<name>"`.

   The server is stopped by its pid (SIGTERM, then SIGKILL after 30 s) and the temporary directory removed
   in every case, Ctrl-C and SIGTERM of this script included.
5. yamllint on deploy/monitoring (line length up to 140).

Exits 0 with a one-line summary when everything passes; otherwise 1, listing what failed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "deploy" / "monitoring"
RULES = MONITORING / "prometheus" / "rules" / "meridian.rules.yml"
RULES_TEST = MONITORING / "prometheus" / "rules" / "meridian.rules.test.yml"
PROMETHEUS_CONFIG = MONITORING / "prometheus" / "prometheus.yml"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
OPERATIONS = ROOT / "docs" / "operations.md"
METRICS_HELP = ROOT / "Sources" / "MeridianApp" / "MetricsHelp.swift"

KAFKA_ONLY = {
    "meridian_eventlog_consumer_lag",
    "meridian_kafka_producer_queue_messages",
    "meridian_kafka_produce_latency_p99_seconds",
}

YAMLLINT_CONFIG = """
extends: default
rules:
  line-length: {max: 140}
  document-start: disable
  truthy: {check-keys: false}
  comments: {min-spaces-from-content: 1}
"""

PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "inf", "nan", "atan2", "start", "end",
}


class CheckFailed(Exception):
    pass


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


# --- 1. promtool ------------------------------------------------------------------------------------------

def ensure_promtool() -> str:
    path = shutil.which("promtool")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("promtool missing: installing Debian's prometheus package", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"], env=env)
        result = run(["apt-get", "install", "-y", "-qq", "prometheus"], env=env)
        path = shutil.which("promtool")
        if path:
            return path
        raise CheckFailed(f"promtool: `apt-get install prometheus` failed:\n{result.stderr.strip()}")
    raise CheckFailed("promtool not found: install it with `sudo apt-get install -y prometheus` (Debian/Ubuntu)")


def check_promtool() -> None:
    promtool = ensure_promtool()
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULES_TEST)],
                 ["check", "config", str(PROMETHEUS_CONFIG)]):
        result = run([promtool, *args])
        if result.returncode != 0:
            raise CheckFailed(f"promtool {' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}")


# --- 2. alerts ----------------------------------------------------------------------------------------------

def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file (outside code blocks)."""
    anchors, in_code = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{1,6} ", line):
            text = line.lstrip("#").strip().lower()
            text = re.sub(r"[^\w\- ]", "", text)
            anchors.add(text.replace(" ", "-"))
    return anchors


def load_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def check_alerts(rules: list[dict]) -> int:
    anchors = heading_anchors(OPERATIONS.read_text())
    problems, alerts = [], 0
    for rule in rules:
        if "alert" not in rule:
            continue
        alerts += 1
        name, annotations = rule["alert"], rule.get("annotations", {})
        if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            problems.append(f"{name}: severity label missing or not critical/warning/info")
        for key in ("summary", "description", "runbook_url"):
            if not annotations.get(key):
                problems.append(f"{name}: annotation {key} missing")
        url = annotations.get("runbook_url", "")
        document, _, anchor = url.partition("#")
        if document != "docs/operations.md" or anchor not in anchors:
            problems.append(f"{name}: runbook_url {url!r} is not a heading of docs/operations.md")
    if problems:
        raise CheckFailed("alert rules:\n  " + "\n  ".join(problems))
    return alerts


# --- 3. dashboards --------------------------------------------------------------------------------------------

def all_panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def check_dashboards() -> tuple[int, list[tuple[str, str]]]:
    """Returns the number of dashboards and the (where, expr) of every Prometheus query."""
    files = sorted(glob.glob(str(DASHBOARDS / "*.json")))
    if not files:
        raise CheckFailed(f"no dashboards in {DASHBOARDS}")
    problems, queries = [], []
    for file in files:
        name = Path(file).name
        try:
            board = json.loads(Path(file).read_text())
        except json.JSONDecodeError as error:
            problems.append(f"{name}: not JSON: {error}")
            continue
        panels = [panel for panel in all_panels(board.get("panels", [])) if panel.get("type") != "row"]
        if not panels:
            problems.append(f"{name}: no panels")
        for panel in panels:
            targets = panel.get("targets") or []
            if not targets:
                problems.append(f"{name}: panel {panel.get('title')!r} has no targets")
            for target in targets:
                expr = target.get("expr")
                if not isinstance(expr, str) or not expr.strip():
                    problems.append(f"{name}: panel {panel.get('title')!r} target {target.get('refId')} has no expr")
                    continue
                datasource = target.get("datasource") or panel.get("datasource") or {}
                if datasource.get("type") != "loki":  # LogQL queries name no metric
                    queries.append((f"{name} / {panel.get('title')}", expr))
    if problems:
        raise CheckFailed("dashboards:\n  " + "\n  ".join(problems))
    return len(files), queries


# --- 4. metric names ----------------------------------------------------------------------------------------

def metric_names(expr: str) -> set[str]:
    """The metric names an expression (PromQL, possibly with Grafana variables) selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)                                        # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)                                        # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    text = re.sub(r"\$\{?\w+\}?", " ", text)                                       # Grafana variables
    text = re.sub(r"\boffset\s+\S+", " ", text)
    text = re.sub(r"(?<![\w:.])\d+(\.\d+)?([eE][+-]?\d+)?", " ", text)            # numbers
    names = set()
    for match in re.finditer(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, is_call = match.group(1), match.group(2)
        if not is_call and name.lower() not in PROMQL_WORDS:
            names.add(name)
    return names


def pick_binary(option: str | None) -> Path:
    binary = Path(option or os.environ.get("MERIDIAN_TEST_BINARY") or ROOT / ".build" / "debug" / "meridian")
    # The binary may be being rebuilt by someone else: wait for it a little.
    for _ in range(60):
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
        time.sleep(2)
    raise CheckFailed(f"no Meridian binary at {binary} (build it, or pass --meridian PATH / MERIDIAN_TEST_BINARY)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: bytes | None = None, content_type: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape_meridian(binary: Path) -> str:
    """Runs `meridian serve`, sends traffic, returns its /metrics; stops it and cleans up in every case."""
    data_dir = Path(tempfile.mkdtemp(prefix="meridian-monitoring-"))
    log_path = data_dir.parent / (data_dir.name + ".log")
    process = None
    try:
        port = free_port()
        env = dict(os.environ, MERIDIAN_DATA_DIR=str(data_dir / "data"), MERIDIAN_USERS_BCRYPT_COST="4",
                   MERIDIAN_LOG_FORMAT="json")
        with open(log_path, "wb") as log:
            process = subprocess.Popen([str(binary), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                       env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise CheckFailed(f"meridian serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                if http("GET", base + "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise CheckFailed(f"meridian serve did not answer /health within 90 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)

        expected = []
        for i in range(3):
            event = json.dumps({"id": f"monitoring-{i}", "type": "cart.viewed"}).encode()
            expected.append(("valid event", 202, http("POST", base + "/events", event, "application/json")[0]))
        duplicate = json.dumps({"id": "monitoring-0", "type": "cart.viewed"}).encode()
        http("POST", base + "/events", duplicate, "application/json")
        expected.append(("invalid event", 422, http("POST", base + "/events", b'{"id":"x"}', "application/json")[0]))
        expected.append(("GET /api/products", 200, http("GET", base + "/api/products")[0]))
        expected.append(("unknown route", 404, http("GET", base + "/no-such-route")[0]))
        wrong = [f"{what}: got {got}, expected {want}" for what, want, got in expected if got != want]
        if wrong:
            raise CheckFailed("traffic to meridian serve:\n  " + "\n  ".join(wrong))
        time.sleep(1)  # let the published events be counted
        status, metrics = http("GET", base + "/metrics")
        if status != 200:
            raise CheckFailed(f"GET /metrics answered {status}")
        return metrics
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)
        log_path.unlink(missing_ok=True)


def exported_names(metrics: str) -> tuple[set[str], set[str]]:
    """Every name in an exposition (samples, HELP and TYPE lines), and the histogram/summary names."""
    names, histograms = set(), set()
    for line in metrics.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split()
            names.add(parts[2])
            if parts[1] == "TYPE" and len(parts) > 3 and parts[3] in ("histogram", "summary"):
                histograms.add(parts[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return names, histograms


def check_metric_names(rules: list[dict], queries: list[tuple[str, str]], binary: Path) -> tuple[int, list[str]]:
    recorded = {rule["record"] for rule in rules if "record" in rule}
    uses: dict[str, list[str]] = {}
    for rule in rules:
        for name in metric_names(rule["expr"]):
            uses.setdefault(name, []).append(f"rule {rule.get('alert') or rule.get('record')}")
    for where, expr in queries:
        for name in metric_names(expr):
            uses.setdefault(name, []).append(where)

    exported, histograms = exported_names(scrape_meridian(binary))
    described = set(re.findall(r'"(meridian_\w+)":', METRICS_HELP.read_text()))
    registered = set()
    for source in (ROOT / "Sources").rglob("*.swift"):
        registered.update(re.findall(r'label:\s*"(meridian_\w+)"', source.read_text(errors="replace")))

    missing, kafka_only, checked = [], [], 0
    for name in sorted(uses):
        if name in recorded or name.startswith("kube_"):
            continue
        checked += 1
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name in exported or (base in histograms and base != name):
            continue
        if name in KAFKA_ONLY and name in described and name in registered:
            kafka_only.append(name)
            continue
        places = sorted(set(uses[name]))
        missing.append(f"{name} (used by {', '.join(places[:3])}{', …' if len(places) > 3 else ''})")
    if missing:
        raise CheckFailed("metric names that `meridian serve` does not export:\n  " + "\n  ".join(missing))
    return checked, kafka_only


# --- 5. yamllint ----------------------------------------------------------------------------------------

def check_yamllint() -> None:
    command = [shutil.which("yamllint")] if shutil.which("yamllint") else [sys.executable, "-m", "yamllint"]
    result = run([*command, "-f", "parsable", "-d", YAMLLINT_CONFIG, str(MONITORING)])
    if result.returncode != 0:
        raise CheckFailed(f"yamllint:\n{result.stdout}{result.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meridian", help="the meridian binary (default: $MERIDIAN_TEST_BINARY or .build/debug/meridian)")
    parser.add_argument("--skip-server", action="store_true", help="skip the metric-name test (no binary needed)")
    args = parser.parse_args()

    # SIGTERM ends the script through the same `finally` blocks as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        check_promtool()
        rules = load_rules()
        alerts = check_alerts(rules)
        dashboards, queries = check_dashboards()
        if args.skip_server:
            names, kafka_only = "not checked", []
        else:
            checked, kafka_only = check_metric_names(rules, queries, pick_binary(args.meridian))
            names = f"{checked} metric names exported"
        check_yamllint()
    except CheckFailed as error:
        print(f"check-monitoring: FAILED: {error}", file=sys.stderr)
        return 1
    records = sum(1 for rule in rules if "record" in rule)
    note = f" (Kafka-only, from source: {', '.join(kafka_only)})" if kafka_only else ""
    print(f"check-monitoring: OK: {alerts} alerts + {records} recording rules (promtool check/test), "
          f"prometheus.yml, {dashboards} dashboards ({len(queries)} queries), {names}{note}, yamllint clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
