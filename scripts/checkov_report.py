"""checkov run offline and its JSON report read, for check-k8s.py and check-terraform.py."""
import json
import subprocess


def failed_checks(framework, targets):
    """Runs checkov (no download) on `targets` (["-f", FILE] or ["-d", DIR]) and returns (failed checks, None), or
    ([], why) when it did not run. checkov prints one JSON document, or a list of them for several reports."""
    run = subprocess.run(["checkov", "--skip-download", "--quiet", "--compact", "-o", "json", "--framework", framework,
                          *targets], capture_output=True, text=True)
    try:
        reports = json.loads(run.stdout)
    except json.JSONDecodeError:
        return [], f"checkov did not run: {run.stdout[-2000:]}{run.stderr[-2000:]}"
    failed = []
    for report in reports if isinstance(reports, list) else [reports]:
        if isinstance(report, dict):
            failed += report.get("results", {}).get("failed_checks", [])
    return failed, None
