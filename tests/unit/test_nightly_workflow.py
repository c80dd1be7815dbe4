"""The example nightly workflow (examples/github/nightly.yml, issue 13) passes actionlint, and
actionlint does catch a broken one: the check is not vacuous."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conformance import targets

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github" / "nightly.yml"


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    # the test extras install it beside this interpreter; a missing one fails, never skips
    found = shutil.which("actionlint", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert found, "actionlint is missing: pip install -e '.[test]'"
    return subprocess.run([found, "-no-color", str(path)], capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_nightly_workflow_passes_actionlint() -> None:
    linted = actionlint(WORKFLOW)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "nightly.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs.targets.outputs.names",
                                                   "needs.target.outputs.names"))
    linted = actionlint(broken)
    assert linted.returncode == 1 and 'property "target" is not defined' in linted.stdout


def test_the_workflow_runs_one_job_per_target_of_its_targets_file() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    named = ROOT / workflow["env"]["TARGETS"]
    job = workflow["jobs"]["conformance"]
    assert "fromJSON(needs.targets.outputs.names)" in job["strategy"]["matrix"]["target"]
    # every key variable the targets file names comes from a secret of the same name
    variables = {var for t in targets.load(named).values() for _, var in t.key_env}
    variables |= {value for t in targets.load(named).values()
                  for _, value, from_env in t.headers if from_env}
    assert {v: job["env"].get(v) for v in variables} == {
        v: f"${{{{ secrets.{v} }}}}" for v in variables}
    steps = " ".join(str(s.get("run", "")) for j in workflow["jobs"].values() for s in j["steps"])
    assert "GITHUB_STEP_SUMMARY" in steps and "conformance matrix" in steps
