"""Measures what one conformance run costs: wall time, requests sent, tokens reported.

Usage:
    python benchmarks/run_cost.py [--runs N] [-- `conformance run` flags, e.g. --concurrency 1]

Without --base-url among the extra flags it measures runs against the embedded reference gateway,
which shows the suite's own overhead and its request/token budget; against a real gateway
(`-- --base-url URL --model M`) it shows what a nightly run will cost there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_run(extra: list[str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "--output", out, *extra],
            capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - start
        document = json.loads((Path(out) / "results.json").read_text())
    counts = document["summary"]["counts"]
    return {
        "exit_code": proc.returncode,
        "wall_seconds": round(wall, 3),
        "checks": len(document["results"]),
        "requests": document["stats"]["requests"],
        "input_tokens": document["stats"]["input_tokens"],
        "output_tokens": document["stats"]["output_tokens"],
        "fail": counts["fail"],
        "error": counts["error"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("extra", nargs="*", help="flags passed to `conformance run`")
    args = parser.parse_args()
    runs = [one_run(args.extra) for _ in range(args.runs)]
    walls = [r["wall_seconds"] for r in runs]
    summary = {
        "runs": runs,
        "wall_seconds_median": round(statistics.median(walls), 3),
        "wall_seconds_min": min(walls),
        "requests_per_run": runs[-1]["requests"],
        "tokens_per_run": runs[-1]["input_tokens"] + runs[-1]["output_tokens"],
    }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
