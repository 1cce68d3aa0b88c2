#!/usr/bin/env python3
"""Checks the shape docs/architecture.md describes, from `swift package dump-package` and the sources:

- no role target depends on another role target (roles share only the contracts);
- the core and the contracts depend on no I/O package;
- the storage port links no database driver;
- every source target but the executable and the C module has a test target named after it;
- no commerce event type is spelled as a string literal outside its one definition;
- every module a target imports is one it declares (a module reached only through another target's
  dependencies builds in one order and fails in another, as a clean release build showed).
"""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ROLES = {
    "MeridianGateway", "MeridianIngest", "MeridianUsers", "MeridianProducts", "MeridianCarts", "MeridianOrders",
    "MeridianPayments", "MeridianNotifications", "MeridianImages", "MeridianIngestJobs", "MeridianAnalytics",
}
NO_IO = {"MeridianCore", "MeridianContracts"}
# swift-distributed-tracing: only its Instrumentation API (ServiceContext and the propagation protocols, no I/O),
# for the trace context in record headers (MeridianCore/EventLog/TraceContext.swift).
IO_ALLOWED_IN_CORE = {"swift-collections", "swift-distributed-tracing"}
DRIVERS = {"sqlite-nio", "sqlite-kit", "postgres-nio", "postgres-kit"}
# Modules of the toolchain, and the C module whose headers come from the system.
TOOLCHAIN = {
    "Foundation", "FoundationEssentials", "FoundationNetworking", "Dispatch", "Synchronization", "Glibc", "Musl",
    "Darwin", "_Concurrency", "Testing", "XCTest", "FoundationXML",
}
IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public |package |internal )?import\s+(?:(?:struct|class|enum|func|protocol|typealias) )?(\w+)", re.M)
EVENT_TYPES = [
    "order.created", "order.confirmed", "order.failed", "order.cancelled", "payment.requested", "payment.succeeded",
    "payment.failed", "payment.refunded", "product.deleted", "product-images.uploaded", "product-images.processed",
    "product-images.rejected", "analytics.window",
]


def dependencies(target):
    names, packages = set(), set()
    for dependency in target["dependencies"]:
        if "byName" in dependency:
            names.add(dependency["byName"][0])
        elif "target" in dependency:
            names.add(dependency["target"][0])
        elif "product" in dependency:
            packages.add(dependency["product"][1])
    return names, packages


def declared_modules(target):
    modules = {target["name"]}
    for dependency in target["dependencies"]:
        for kind in ("byName", "target", "product"):
            if kind in dependency:
                modules.add(dependency[kind][0])
    return modules


def undeclared_imports(target):
    folder = target.get("path") or ("Tests/" if target["type"] == "test" else "Sources/") + target["name"]
    imported = set()
    for path in (ROOT / folder).rglob("*.swift"):
        imported |= set(IMPORT.findall(path.read_text()))
    return sorted(imported - declared_modules(target) - TOOLCHAIN)


def main() -> None:
    dump = json.loads(subprocess.run(
        ["swift", "package", "dump-package"], cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    targets = {target["name"]: target for target in dump["targets"]}
    problems = []
    for name, target in targets.items():
        names, packages = dependencies(target)
        if name in ROLES and names & ROLES:
            problems.append(f"{name} depends on another role: {sorted(names & ROLES)}")
        if name in NO_IO and packages - IO_ALLOWED_IN_CORE:
            problems.append(f"{name} depends on packages: {sorted(packages - IO_ALLOWED_IN_CORE)}")
        if name == "MeridianStorage" and packages & DRIVERS:
            problems.append(f"MeridianStorage links database drivers: {sorted(packages & DRIVERS)}")
        if target["type"] == "regular" and name != "MeridianTestSupport" and f"{name}Tests" not in targets:
            problems.append(f"{name} has no test target {name}Tests")
        if target["type"] != "system-target" and (missing := undeclared_imports(target)):
            problems.append(f"{name} imports modules it does not declare: {missing}")
    pattern = re.compile(r'"(' + "|".join(re.escape(t) for t in EVENT_TYPES) + r')"')
    for path in sorted((ROOT / "Sources").rglob("*.swift")):
        relative = path.relative_to(ROOT)
        # The definitions: each event type in its event, and the topics (whose names some types share).
        if relative.parts[1] == "MeridianContracts" and relative.parts[2] == "Events":
            continue
        if relative.name == "Topics.swift":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                problems.append(f"{relative}:{number}: an event type spelled as a string: {line.strip()}")
    if problems:
        print("structure: " + "\nstructure: ".join(problems), file=sys.stderr)
        raise SystemExit(1)
    print(f"structure: {len(targets)} targets; roles independent, core and contracts free of I/O, storage without "
          "drivers, a test target per source target, event types defined once, every import declared")


if __name__ == "__main__":
    main()
