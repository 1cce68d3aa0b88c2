#!/usr/bin/env python3
"""Checks the deployment files offline (nothing here can run a container or reach a cluster):

- compose files (compose.yaml, deploy/compose/*.yaml): valid YAML; images pinned (no `latest`, no bare name); every
  Meridian service runs a known subcommand with known `--role`s, and every `MERIDIAN_*` variable it sets is a setting
  docs/configuration.md documents;
- Kubernetes manifests given with --manifests FILE...: the same for every container running the Meridian image
  (its args, its env, and the ConfigMaps it takes its env from).

Usage: scripts/check-deploy.py [--manifests RENDERED.yaml ...]
"""
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
ROLES = {"gateway", "ingestor", "users", "products", "carts", "orders", "payments", "notifications", "images",
         "ingest-jobs", "analytics"}
SUBCOMMANDS = {"serve", "migrate", "users", "ingest", "function", "analytics", "dev", "log", "bench", "probe"}


def documented_variables():
    text = (ROOT / "docs" / "configuration.md").read_text()
    names = set(re.findall(r"`(MERIDIAN_[A-Z0-9_]+)`", text))
    patterns = [re.compile("^" + re.escape(p).replace("<NAME>", "[A-Z0-9_]+") + "$")
                for p in re.findall(r"`(MERIDIAN_[A-Z0-9_]+_<NAME>)`", text)]
    return names, patterns


NAMES, PATTERNS = documented_variables()


def check_variable(name, where, problems):
    if not name.startswith("MERIDIAN_"):
        return
    if name in NAMES or any(p.match(name) for p in PATTERNS):
        return
    problems.append(f"{where}: {name} is not a setting docs/configuration.md documents")


def check_arguments(arguments, where, problems):
    arguments = [str(a) for a in arguments or []]
    if arguments and arguments[0] == "/usr/local/bin/meridian":
        arguments = arguments[1:]
    if not arguments:
        return
    if arguments[0] not in SUBCOMMANDS:
        problems.append(f"{where}: '{arguments[0]}' is not a meridian subcommand")
    for index, argument in enumerate(arguments):
        if argument == "--role":
            role = arguments[index + 1] if index + 1 < len(arguments) else ""
            if role not in ROLES:
                problems.append(f"{where}: unknown role '{role}'")


def pinned(image):
    if image in ("meridian:local",):
        return True
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("latest", "")


def check_compose(path, problems):
    document = yaml.safe_load(path.read_text())
    services = document.get("services") or {}
    if not services:
        problems.append(f"{path.relative_to(ROOT)}: no services")
    for name, service in services.items():
        where = f"{path.relative_to(ROOT)}: service {name}"
        image = service.get("image")
        if image and not pinned(image):
            problems.append(f"{where}: image {image} is not pinned to a release tag or digest")
        if image != "meridian:local":
            continue
        check_arguments(service.get("command"), where, problems)
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for variable in environment:
            check_variable(variable, where, problems)
    return len(services)


def meridian_image(image):
    return bool(re.search(r"(^|/)meridian(:|@|$)", image or ""))


def check_manifests(path, problems):
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    config_maps = {d["metadata"]["name"]: d.get("data") or {} for d in documents if d.get("kind") == "ConfigMap"}
    containers = 0
    for document in documents:
        spec = document.get("spec") or {}
        template = (spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template") or {})
        pod = template.get("spec") or {}
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            if not meridian_image(container.get("image")):
                continue
            containers += 1
            where = f"{path.name}: {document['kind']}/{document['metadata']['name']}/{container['name']}"
            image = container["image"]
            if "@sha256:" not in image and (image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]):
                problems.append(f"{where}: image {image} is not pinned")
            check_arguments((container.get("command") or []) + (container.get("args") or []), where, problems)
            for variable in container.get("env") or []:
                check_variable(variable["name"], where, problems)
            for source in container.get("envFrom") or []:
                name = (source.get("configMapRef") or {}).get("name")
                for variable in config_maps.get(name, {}):
                    check_variable(variable, f"{where} (ConfigMap {name})", problems)
    return containers


def main():
    problems = []
    arguments = sys.argv[1:]
    manifests = []
    if arguments[:1] == ["--manifests"]:
        manifests = [pathlib.Path(a) for a in arguments[1:]]
    compose_files = [ROOT / "compose.yaml"] + sorted((ROOT / "deploy" / "compose").glob("*.yaml"))
    services = sum(check_compose(path, problems) for path in compose_files if path.exists())
    containers = sum(check_manifests(path, problems) for path in manifests)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-deploy: {len(problems)} problems", file=sys.stderr)
        return 1
    print(f"check-deploy: {len(compose_files)} compose files ({services} services) and {len(manifests)} rendered "
          f"manifests ({containers} Meridian containers) use known commands, roles and documented settings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
