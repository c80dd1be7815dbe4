"""A gateway that lacks an endpoint gets `not_supported` for it, not a wall of failures."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.suite.harness import run_suite
from tests.suite.proxy import proxy


def test_a_base_url_that_serves_nothing_is_not_judged(gateway, tmp_path: Path, capfd) -> None:
    # Under an unknown prefix the reference gateway answers every route with a 404 envelope.
    run = run_suite(gateway.root_url + "/nowhere/v1", tmp_path)
    outcomes = set(run.outcomes().values())
    assert outcomes <= {"not_supported", "skipped"}, run.document["results"]
    assert "not_supported" in outcomes
    # Nothing judged is never conformant: a distinct exit code and a one-line cause.
    assert run.exit_code == 4
    assert run.document["summary"]["verdict"] == "not-judged"
    assert set(run.document["summary"]["scope"].values()) == {"not served"}
    assert "Is the base URL right?" in capfd.readouterr().out


async def _openai_only(request: Request, body: bytes) -> Response | None:
    """A gateway without the Messages API: /v1/messages answers 404 in the OpenAI envelope,
    and the model list has no Anthropic shape (it ignores the anthropic-version header)."""
    if request.url.path.startswith("/v1/messages"):
        return JSONResponse({"error": {"message": f"Invalid URL (POST {request.url.path})",
                                       "type": "invalid_request_error", "param": None,
                                       "code": "unknown_url"}}, status_code=404)
    return None


def test_a_gateway_serving_only_openai_gets_messages_not_served(gateway, tmp_path: Path) -> None:
    with proxy(gateway.root_url, _openai_only) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "messages.*")
    outcomes = set(run.outcomes().values())
    assert outcomes == {"not_supported"}, run.document["results"]
    assert set(run.document["summary"]["scope"].values()) == {"not served"}
    assert run.exit_code == 4  # nothing in scope was judged


def test_a_claimed_messages_api_that_is_missing_fails(gateway, tmp_path: Path) -> None:
    with proxy(gateway.root_url, _openai_only) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "messages.*",
                        "--endpoints", "messages")
    # Each MUST check fails, each SHOULD check warns: the claim was wrong.
    assert set(run.outcomes().values()) == {"fail", "warn"}
    assert run.exit_code == 1


async def _no_gemini(request: Request, body: bytes) -> Response | None:
    """A gateway without the Gemini API: its paths answer 404 in the OpenAI envelope, whose
    message names the path (and so `models/…`: not a model refusal)."""
    path = request.url.path
    if path.startswith("/v1beta/") or ":" in path.rsplit("/", 1)[-1]:
        return JSONResponse({"error": {"message": f"Invalid URL (POST {path})",
                                       "type": "invalid_request_error", "param": None,
                                       "code": "unknown_url"}}, status_code=404)
    return None


def test_a_gateway_without_gemini_routes_gets_gemini_not_served(gateway, tmp_path: Path) -> None:
    with proxy(gateway.root_url, _no_gemini) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "gemini.*")
    assert set(run.outcomes().values()) == {"not_supported"}, run.document["results"]
    assert set(run.document["summary"]["scope"].values()) == {"not served"}
    assert run.exit_code == 4


def test_a_claimed_gemini_api_that_is_missing_fails(gateway, tmp_path: Path) -> None:
    with proxy(gateway.root_url, _no_gemini) as root:
        run = run_suite(root + "/v1", tmp_path, "--select", "gemini.*", "--endpoints", "gemini")
    assert set(run.outcomes().values()) == {"fail", "warn"}
    assert run.exit_code == 1
