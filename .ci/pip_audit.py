"""CI step: audit the installed (pinned) dependencies with pip-audit.

Fails on a known vulnerability. Does not fail CI for a network reason: when pip-audit cannot reach its
vulnerability service (PyPI's JSON API by default), or when the registry it reaches does not serve that API so
nothing could actually be audited, it says so loudly and exits 0. Usage: ``python .ci/pip_audit.py [pip-audit]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    tool = sys.argv[1] if len(sys.argv) > 1 else "pip-audit"
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "audit.json"
        done = subprocess.run(
            [tool, "--local", "--skip-editable", "--progress-spinner", "off", "--format", "json",
             "--output", str(report_path)],
            capture_output=True, text=True, timeout=600,
        )
        report = json.loads(report_path.read_text()) if report_path.exists() and report_path.stat().st_size else None
    if report is None:
        print(f"pip-audit: WARNING: no report (exit {done.returncode}); probably no network to the vulnerability "
              f"service. Dependencies NOT audited.\n{done.stderr.strip()[-1500:]}", file=sys.stderr)
        return 0
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(f"pip-audit: {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        print(f"pip-audit: FAILED: {len(vulnerable)} vulnerable dependencies", file=sys.stderr)
        return 1
    audited = [d for d in dependencies if not d.get("skip_reason")]
    skipped = len(dependencies) - len(audited)
    if not audited:
        print(f"pip-audit: WARNING: all {skipped} dependencies were skipped (the vulnerability service is not "
              "reachable from here, or the registry does not serve it). Dependencies NOT audited.", file=sys.stderr)
        return 0
    print(f"pip-audit: {len(audited)} dependencies audited, no known vulnerabilities ({skipped} skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
