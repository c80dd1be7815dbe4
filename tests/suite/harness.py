"""Runs the conformance suite through its CLI, as a user would, and reads its results.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import cli

API_KEY = "sk-suite-selftest-0123456789abcdef"


@dataclass
class SuiteRun:
    exit_code: int
    document: dict[str, Any]
    out_dir: Path

    def outcome(self, check_id: str) -> str | None:
        return next((r["outcome"] for r in self.document["results"] if r["id"] == check_id), None)

    def outcomes(self) -> dict[str, str]:
        return {r["id"]: r["outcome"] for r in self.document["results"]}


def run_suite(base_url: str, out_dir: Path, *args: str, api_key: str = API_KEY) -> SuiteRun:
    code = cli.main(["run", "--base-url", base_url, "--api-key", api_key, "--output",
                     str(out_dir), "--timeout", "30", *args])
    results = out_dir / "results.json"
    document = json.loads(results.read_text()) if results.exists() else {}
    return SuiteRun(code, document, out_dir)
