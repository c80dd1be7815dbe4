"""A kept-alive connection the server dropped is not the next request's fault."""

from __future__ import annotations

from pathlib import Path

from tests.suite.harness import run_suite
from tests.suite.hostile_gateway import HostileServer


def test_a_request_on_a_dropped_connection_is_sent_again_on_a_fresh_one(tmp_path: Path) -> None:
    with HostileServer("lost-keepalive") as server:
        run = run_suite(server.base_url, tmp_path, "--select", "chat.errors.*")
        received = server.requests
    exchanges = run.document["exchanges"].values()
    assert all(e["transport_error"] is None for e in exchanges)  # each got its 400 in the end
    lost = [r for e in exchanges for r in e["retries"] if r.get("transport_error")]
    assert lost  # and the dropped attempts are in the evidence
    assert "transport" not in {r["cause"] for r in run.document["results"]}
    assert run.document["stats"]["requests"] == received  # every attempt counted
