"""Times the stream engines against a json.loads floor, to show their cost is linear.

Usage:
    python benchmarks/stream_engines.py [--sizes 10000,100000,1000000] [--repeat N]
                                        [--chunk BYTES] [--cases NAME,...]

For each size N it builds, in memory, a valid Chat Completions chunk stream and a valid Responses
event stream of N JSON events each, and times every case below (best of --repeat runs, seconds):

    chat.json        json.loads of every chat payload alone: the floor for the chat cases
    chat.sse         SSEParser fed the chat stream in --chunk byte pieces
    chat.decode      decode_chat_stream over the parsed events, plus the client text
    resp.json        json.loads of every Responses payload alone: the floor for resp cases
    resp.sse         SSEParser fed the Responses stream in --chunk byte pieces
    resp.sse-drip    SSEParser fed the Responses stream one byte per feed (smallest N only)
    resp.decode      decode_responses_stream plus validate_event_order over the parsed events
    long.sse         SSEParser fed one data line as long as the chat stream, in --chunk pieces
                     (its floor: json.loads of that one line)

The ratio column is seconds over the floor of the same stream; for a linear engine it stays
roughly constant as N grows. The floors keep the parsed payloads, as the decoders do: holding
millions of objects costs more per object (garbage collector passes, cache misses) than parsing
and dropping them, and that cost is the interpreter's, not the engines'.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from conformance.event_order import validate_event_order
from conformance.http import Exchange
from conformance.sse import SSEParser
from conformance.streams import decode_chat_stream, decode_responses_stream

CASES = ("chat.json", "chat.sse", "chat.decode", "resp.json", "resp.sse", "resp.sse-drip",
         "resp.decode", "long.sse")
MODEL = "bench-model"
CREATED = 1_700_000_000


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _word(number: int) -> str:
    """A token-sized delta (3 to 6 characters) that varies along the stream."""
    return f" w{number % 997}"


# --- synthetic streams ---------------------------------------------------------------------


def chat_stream(n: int) -> tuple[bytes, list[str]]:
    """N chunk payloads (role, N-2 content deltas, finish) then `[DONE]`: (raw bytes, payloads)."""
    deltas = [{"role": "assistant", "content": ""}]
    deltas += [{"content": _word(i)} for i in range(n - 2)]
    payloads = [_chat_chunk(delta, None) for delta in deltas] + [_chat_chunk({}, "stop")]
    frames = [f"data: {p}\n\n" for p in [*payloads, "[DONE]"]]
    return "".join(frames).encode(), payloads


def _chat_chunk(delta: dict[str, Any], finish: str | None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return _compact({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                     "created": CREATED, "model": MODEL, "system_fingerprint": None,
                     "choices": [choice]})


def responses_stream(n: int) -> tuple[bytes, list[str]]:
    """N events (4 opening, N-8 text deltas, 4 closing) with `event:` names: (raw, payloads)."""
    deltas = [_word(i) for i in range(n - 8)]
    events = _opening() + [_text_ref("response.output_text.delta", delta=d, logprobs=[])
                           for d in deltas] + _closing("".join(deltas))
    types = [event["type"] for event in events]
    payloads = [_compact({"type": event.pop("type"), "sequence_number": number, **event})
                for number, event in enumerate(events)]
    frames = [f"event: {name}\ndata: {p}\n\n" for name, p in zip(types, payloads, strict=True)]
    return "".join(frames).encode(), payloads


def _response(status: str, **extra: Any) -> dict[str, Any]:
    return {"id": "resp_bench", "object": "response", "created_at": CREATED, "status": status,
            "model": MODEL, "output": [], "usage": None, "error": None,
            "incomplete_details": None} | extra


def _message(status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "msg_bench", "type": "message", "role": "assistant", "status": status,
            "content": content}


def _text_ref(event_type: str, **extra: Any) -> dict[str, Any]:
    return {"type": event_type, "item_id": "msg_bench", "output_index": 0, "content_index": 0,
            **extra}


def _opening() -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.in_progress", "response": _response("in_progress")},
        {"type": "response.output_item.added", "output_index": 0,
         "item": _message("in_progress", [])},
        _text_ref("response.content_part.added",
                  part={"type": "output_text", "text": "", "annotations": []}),
    ]


def _closing(text: str) -> list[dict[str, Any]]:
    part = {"type": "output_text", "text": text, "annotations": []}
    item = _message("completed", [part])
    usage = {"input_tokens": 5, "output_tokens": 5, "total_tokens": 10}
    return [
        _text_ref("response.output_text.done", text=text, logprobs=[]),
        _text_ref("response.content_part.done", part=part),
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed",
         "response": _response("completed", output=[item], usage=usage)},
    ]


def long_line(size: int) -> tuple[bytes, list[str]]:
    """One event whose data line is a JSON string of about `size` bytes: (raw, [payload])."""
    payload = _compact("x" * max(0, size - 2))
    return f"data: {payload}\n\n".encode(), [payload]


# --- the engines under test ----------------------------------------------------------------


def loads_all(payloads: list[str]) -> list[Any]:
    return [json.loads(payload) for payload in payloads]


def parse_in_pieces(raw: bytes, size: int) -> SSEParser:
    parser = SSEParser()
    for start in range(0, len(raw), size):
        parser.feed(raw[start:start + size])
    parser.close()
    return parser


def exchange_of(parser: SSEParser) -> Exchange:
    """A recorded 200 SSE exchange holding the parsed events, as conformance.http makes one."""
    return Exchange(id="bench", method="POST", url="http://bench/v1", request_headers=[],
                    request_body=None, status=200,
                    response_headers=[("content-type", "text/event-stream")],
                    events=parser.events, deviations=parser.deviations)


def chat_decode(exchange: Exchange) -> str:
    return decode_chat_stream(exchange).text()


def responses_judge(exchange: Exchange) -> list[Any]:
    stream = decode_responses_stream(exchange)
    violations, _ = validate_event_order(stream.payloads, stream.sse_names)
    return violations


# --- timing and report ---------------------------------------------------------------------


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """Fewest seconds over `repeat` runs, and the last run's result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        result = None  # let the previous result go before the next run allocates its own
        gc.collect()
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


class Table:
    """Rows of (case, events, MB, seconds, ratio to the case's floor), printed as they come."""

    def __init__(self, cases: set[str], repeat: int) -> None:
        self.cases, self.repeat = cases, repeat
        self.floor: dict[str, float] = {}
        print(f"{'case':<14} {'events':>9} {'MB':>8} {'seconds':>9} {'x floor':>8}", flush=True)

    def time(self, case: str, events: int, raw: bytes, run: Callable[[], Any]) -> Any:
        if case not in self.cases:
            return None
        seconds, result = best_of(self.repeat, run)
        family = case.split(".")[0]
        if case.endswith(".json"):
            self.floor[family] = seconds
        floor = self.floor.get(family)
        ratio = f"{seconds / floor:8.1f}" if floor else f"{'-':>8}"
        print(f"{case:<14} {events:>9} {len(raw) / 1e6:8.1f} {seconds:9.3f} {ratio}", flush=True)
        return result


def bench_chat(table: Table, n: int, chunk: int) -> int:
    """Times the chat cases; returns the stream's size in bytes."""
    raw, payloads = chat_stream(n)
    table.time("chat.json", n, raw, lambda: loads_all(payloads))
    parser = table.time("chat.sse", n, raw, lambda: parse_in_pieces(raw, chunk))
    parser = parser or parse_in_pieces(raw, chunk)
    assert len(parser.events) == n + 1 and not parser.deviations
    exchange = exchange_of(parser)
    text = table.time("chat.decode", n, raw, lambda: chat_decode(exchange))
    assert text is None or text == "".join(_word(i) for i in range(n - 2))
    return len(raw)


def bench_responses(table: Table, n: int, chunk: int, drip: bool) -> None:
    raw, payloads = responses_stream(n)
    table.time("resp.json", n, raw, lambda: loads_all(payloads))
    parser = table.time("resp.sse", n, raw, lambda: parse_in_pieces(raw, chunk))
    if drip:
        table.time("resp.sse-drip", n, raw, lambda: parse_in_pieces(raw, 1))
    parser = parser or parse_in_pieces(raw, chunk)
    assert len(parser.events) == n and not parser.deviations
    exchange = exchange_of(parser)
    violations = table.time("resp.decode", n, raw, lambda: responses_judge(exchange))
    assert not violations, violations[:3]


def bench_long_line(table: Table, size: int, chunk: int) -> None:
    raw, payloads = long_line(size)
    table.time("long.json", 1, raw, lambda: loads_all(payloads))
    parser = table.time("long.sse", 1, raw, lambda: parse_in_pieces(raw, chunk))
    assert parser is None or parser.events[0].data == payloads[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="comma-separated stream lengths, in events")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per feed for *.sse")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if sizes[0] < 8:
        parser.error("a Responses stream needs at least 8 events")
    cases = set(args.cases.split(","))
    cases |= {c.split(".")[0] + ".json" for c in cases}  # ratios need their floors
    table = Table(cases, args.repeat)
    for n in sizes:
        chat_size = bench_chat(table, n, args.chunk)
        bench_responses(table, n, args.chunk, drip=n == sizes[0])
        if "long.sse" in cases:
            bench_long_line(table, chat_size, args.chunk)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
