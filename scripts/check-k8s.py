#!/usr/bin/env python3
"""Checks deploy/k8s and deploy/argocd offline (no cluster here):

- deploy/k8s/generate.py --check: the roles' manifests and the PrometheusRule are what the generator writes;
- every overlay, the base alone, and the base with each component renders (`kubectl kustomize`);
- kubernetes-validate --strict on every rendered resource of a built-in kind; custom resources (Strimzi,
  CloudNativePG, the Prometheus and Flink operators, Argo CD) have no schema offline: they are listed as skipped, after a check
  that each has apiVersion, kind, metadata.name and spec;
- checkov (Kubernetes framework) on every overlay's rendering: no failed check (a skip is an annotation
  `checkov.io/skipN: CKV_K8S_NN=reason` on the resource);
- scripts/check-deploy.py --manifests on the overlays' renderings: the Meridian containers run known commands and roles with
  documented settings;
- every overlay pins the Meridian image by digest, except `local` (a build loaded into kind, no registry);
- deploy/argocd parses, and its ApplicationSet points at overlays that exist.
"""
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml
from checkov_report import failed_checks

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
CUSTOM_GROUPS = ("kafka.strimzi.io", "postgresql.cnpg.io", "monitoring.coreos.com", "argoproj.io", "flink.apache.org")


def run(command, **options):
    return subprocess.run(command, capture_output=True, text=True, **options)


def renderings(work):
    """(name, directory) of every combination to render: the overlays, the base, the base with each component."""
    combos = [(f"overlay {p.name}", p) for p in sorted((K8S / "overlays").iterdir()) if p.is_dir()]
    combos.append(("base", K8S / "base"))
    for component in sorted((K8S / "components").iterdir()):
        if not component.is_dir():
            continue
        directory = work / f"with-{component.name}"
        directory.mkdir()
        (directory / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": "meridian",
            "resources": [os.path.relpath(K8S / "base", directory)],
            "components": [os.path.relpath(component, directory)],
        }))
        combos.append((f"base + {component.name}", directory))
    return combos


def main():
    problems = []
    generated = run([sys.executable, str(K8S / "generate.py"), "--check"])
    if generated.returncode != 0:
        problems.append(generated.stderr.strip())
    skipped_kinds = set()
    validated = 0
    rendered_files = []
    overlay_files = []
    with tempfile.TemporaryDirectory() as temporary:
        work = pathlib.Path(temporary)
        for name, directory in renderings(work):
            rendered = run(["kubectl", "kustomize", str(directory)])
            if rendered.returncode != 0:
                problems.append(f"{name}: does not render: {rendered.stderr.strip()[-500:]}")
                continue
            documents = [d for d in yaml.safe_load_all(rendered.stdout) if d]
            builtin = []
            for document in documents:
                group = document.get("apiVersion", "").split("/")[0]
                if group in CUSTOM_GROUPS:
                    skipped_kinds.add(f"{document['apiVersion']} {document['kind']}")
                    missing = [k for k in ("apiVersion", "kind", "metadata", "spec") if not document.get(k)]
                    if missing or not document["metadata"].get("name"):
                        problems.append(f"{name}: {document.get('kind')} lacks {missing or ['metadata.name']}")
                else:
                    builtin.append(document)
            path = work / (name.replace(" ", "_").replace("+", "with") + ".yaml")
            path.write_text(yaml.safe_dump_all(builtin))
            rendered_files.append(path)
            validation = run(["kubernetes-validate", "--strict", "--quiet", str(path)])
            if validation.returncode != 0:
                problems.append(f"{name}: kubernetes-validate --strict:\n{validation.stdout[-3000:]}")
            validated += len(builtin)
            if name.startswith("overlay") and name != "overlay local":
                for document in builtin:
                    for container in document.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                        image = container.get("image", "")
                        if "/meridian" in image and "@sha256:" not in image:
                            problems.append(f"{name}: {document['metadata']['name']} runs {image}, not pinned by digest")
            if not name.startswith("overlay"):
                continue
            # What is deployed is an overlay: checkov and the settings check look at those (the base alone has no
            # image reference yet and no network policy).
            overlay_files.append(path)
            full = work / (path.stem + ".all.yaml")
            full.write_text(rendered.stdout)
            failures, error = failed_checks("kubernetes", ["-f", str(full)])
            if error:
                problems.append(f"{name}: {error}")
                continue
            for failed in failures:
                problems.append(f"{name}: checkov {failed['check_id']} ({failed['check_name']}): {failed['resource']}")
        deploy = run([sys.executable, str(ROOT / "scripts" / "check-deploy.py"), "--manifests",
                      *[str(p) for p in overlay_files]])
        if deploy.returncode != 0:
            problems.append(deploy.stderr.strip())
    overlays = {p.name for p in (K8S / "overlays").iterdir() if p.is_dir()}
    for path in sorted((ROOT / "deploy" / "argocd").rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "ApplicationSet":
                for generator in document["spec"]["generators"]:
                    for expression in generator.get("clusters", {}).get("selector", {}).get("matchExpressions", []):
                        for cloud in expression.get("values", []):
                            if cloud not in overlays:
                                problems.append(f"{path.relative_to(ROOT)}: no overlay for cloud={cloud}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-k8s: {len(problems)} problems", file=sys.stderr)
        return 1
    print(f"check-k8s: {len(rendered_files)} renderings, {validated} resources valid (--strict), checkov clean on "
          f"{len(overlay_files)} overlays; "
          f"custom resources not validated offline (no schema): {', '.join(sorted(skipped_kinds))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
