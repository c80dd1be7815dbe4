"""Measures how a run's wall time follows the gateway's latency, by concurrency.

Usage:
    python benchmarks/latency.py [--delay 1.0] [--concurrency 1,16] [-- `conformance run` flags]

It starts the embedded reference gateway in this process, puts in front of it a proxy that waits
exactly --delay seconds before forwarding each request (answers, streams included, are relayed as
they arrive), and runs `conformance run` through the proxy once per concurrency value. With a
fixed latency per request, no run can beat its longest chain of dependent requests times that
latency (the floor); wall / floor shows how close the engine gets. The proxy counts the requests
it forwarded: an independent check of the run's own count (each exchange sent once).

`--concurrency 0` runs without the flag, for an engine that does not have it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from conformance.gateway.server import EmbeddedGateway, serving

HOST = "127.0.0.1"
KEY = "sk-latency-" + secrets.token_hex(8)
# Per-connection headers: the proxy's own connections decide them.
_HOP_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}


class DelayProxy:
    """A reverse proxy that holds every request `delay` seconds, then relays it unchanged."""

    def __init__(self, upstream: str, delay: float) -> None:
        self.upstream = upstream
        self.delay = delay
        self.forwarded = 0  # one event loop: no lock needed

    def app(self) -> Starlette:
        client = httpx.AsyncClient(base_url=self.upstream, timeout=None,
                                   limits=httpx.Limits(max_connections=None))

        async def relay(request: Request) -> Response:
            body = await request.body()
            await asyncio.sleep(self.delay)
            self.forwarded += 1
            headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS]
            sent = client.build_request(request.method, request.url.path,
                                        params=request.query_params, headers=headers, content=body)
            reply = await client.send(sent, stream=True)
            # Raw bytes, so Content-Length and Content-Encoding stay true and framing as sent.
            kept = {k: v for k, v in reply.headers.items()
                    if k.lower() not in _HOP_HEADERS or k.lower() == "content-length"}
            return StreamingResponse(_raw(reply), status_code=reply.status_code, headers=kept)

        methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
        return Starlette(routes=[Route("/{path:path}", relay, methods=methods)])


async def _raw(reply: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in reply.aiter_raw():
            yield chunk
    finally:
        await reply.aclose()


def one_run(base_url: str, concurrency: int, extra: list[str]) -> dict[str, Any]:
    """One `conformance run` through the proxy: wall time and what its results.json says."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "conformance", "run", "--base-url", base_url,
                   "--api-key", KEY, "--output", out, *extra]
        if concurrency:
            command += ["--concurrency", str(concurrency)]
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        results = Path(out) / "results.json"
        document = json.loads(results.read_text()) if results.exists() else {}
    if not document:
        print(proc.stdout[-2000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
    return {"exit_code": proc.returncode, "wall": wall, "document": document}


def row(concurrency: int, delay: float, run: dict[str, Any], forwarded: int) -> list[str]:
    document = run["document"]
    stats = document.get("stats", {})
    plan = document.get("run", {}).get("plan") or {}
    chain = plan.get("longest_chain")
    floor = chain * delay if chain else None
    ratio = run["wall"] / floor if floor else None
    return [
        str(concurrency or "-"), f"{run['wall']:.1f}", str(stats.get("requests", "-")),
        str(forwarded), str(stats.get("input_tokens", "-")), str(stats.get("output_tokens", "-")),
        str(plan.get("exchanges", "-")), str(plan.get("sent", "-")), str(chain or "-"),
        "-" if floor is None else f"{floor:.1f}", "-" if ratio is None else f"{ratio:.2f}",
        str(run["exit_code"]), str(document.get("summary", {}).get("verdict", "-")),
    ]


HEADER = ["concurrency", "wall_s", "requests", "forwarded", "in_tok", "out_tok", "exchanges",
          "sent", "longest_chain", "floor_s", "wall/floor", "exit", "verdict"]


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    for line in [HEADER, *rows]:
        print("  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0, help="seconds added to each request")
    parser.add_argument("--concurrency", default="1,16",
                        help="comma-separated values; 0 runs without the flag")
    parser.add_argument("extra", nargs="*", help="flags passed to `conformance run` (after --)")
    args = parser.parse_args()
    levels = [int(n) for n in args.concurrency.split(",")]
    rows = []
    with EmbeddedGateway(api_key=KEY) as gateway:
        proxy = DelayProxy(gateway.root_url, args.delay)
        with serving(proxy.app(), "delay-proxy") as root:
            for concurrency in levels:
                proxy.forwarded = 0
                run = one_run(root + "/v1", concurrency, args.extra)
                rows.append(row(concurrency, args.delay, run, proxy.forwarded))
                print(f"concurrency {concurrency or '-'}: {run['wall']:.1f}s", file=sys.stderr)
    print(f"delay {args.delay:g}s per request")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
