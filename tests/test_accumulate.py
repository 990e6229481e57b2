"""A streamed reply's message is built from the raw events in linear time: a tool call's input is
parsed once per block, not once per ``input_json_delta`` as the SDK's ``messages.stream`` helper
does (a 1 MB Write cost seconds of CPU that grew faster than the input). Counted in work done
(calls of the JSON parser and characters handed to it), never in time. The blocks buddy-tui does
not use itself (thinking, server tools, kinds to come) come back as they were sent."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import anthropic
import jiter
import pytest

from buddy_tui.conversation.accumulate import Accumulator
from buddy_tui.conversation.chat import Conversation, Counted, ToolFinished, TurnFinished, build_request, stream_turn
from buddy_tui.personas.persona import Persona
from buddy_tui.tools.specs import ToolCall, ToolResult
from tests.fake_api import FakeAnthropic, Reply, ToolUse

BIG = {"path": "app/big.py", "content": "x = 1  # a line of a big file\n" * 35_000}  # about 1 MB of JSON
PIECE = 20


def counting_parser(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every call of jiter's parser (the SDK's and ours) by the bytes it is handed."""
    sizes: list[int] = []
    real: Callable[..., Any] = jiter.from_json

    def counted(data: bytes, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(jiter, "from_json", counted)
    return sizes


def client_for(fake: FakeAnthropic) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="sk-test-key", base_url=fake.base_url, max_retries=0)


def request_for() -> dict[str, Any]:
    persona = Persona(name="backend", description="d", allowed_tools=(), prompt="You are a backend engineer.")
    return build_request(persona=persona, conversation=Conversation(),
                         user=[{"type": "text", "text": "Write the big file."}], model="claude-test", max_tokens=256)


async def test_a_1_mb_tool_input_is_parsed_once_through_the_real_sdk(fake_api: FakeAnthropic,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    tool = ToolUse("toolu_big", "Write", BIG, piece=PIECE)
    assert len(tool.json) > 1_000_000 and len(tool.json) // PIECE > 50_000  # that many input_json_delta events
    fake_api.queue(Reply(["Writing it. "], tools=[tool]), Reply(["Done."]))
    sizes = counting_parser(monkeypatch)
    seen: list[ToolCall] = []

    async def execute(call: ToolCall) -> ToolResult:
        seen.append(call)
        return ToolResult("written", summary="Write")

    events = [e async for e in stream_turn(client_for(fake_api), request_for(), execute)
              if not isinstance(e, Counted)]
    assert [call.input for call in seen] == [BIG]  # the input arrived whole and exact
    assert sizes == [len(tool.json.encode())]  # one parse, of the whole input, once (the SDK: one per delta)
    assert isinstance(events[-1], TurnFinished) and events[-1].text == "Writing it. \n\nDone."
    assert any(isinstance(e, ToolFinished) for e in events)
    sent = fake_api.message_requests()[1].body
    assert sent is not None and sent["messages"][1]["content"][1]["input"] == BIG  # the next round has it back


async def test_the_sdk_helper_that_was_replaced_parses_once_per_delta(fake_api: FakeAnthropic,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """What the old path did, measured the same way: the work grows with the square of the input."""
    small = {"path": "app/small.py", "content": "y" * 20_000}
    tool = ToolUse("toolu_small", "Write", small, piece=PIECE)
    fake_api.queue(Reply([], tools=[tool]))
    sizes = counting_parser(monkeypatch)
    params = {**request_for(), "messages": request_for()["messages"]}
    async with client_for(fake_api).messages.stream(**params) as stream:
        final = await stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use" and block.input == small
    deltas = -(-len(tool.json) // PIECE)
    assert len(sizes) == deltas  # re-parsed on every piece
    assert sum(sizes) > deltas * len(tool.json) // 3  # the whole buffer each time: quadratic in characters


async def test_a_tool_call_cut_at_the_token_limit_gives_what_arrived(fake_api: FakeAnthropic,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cut = ToolUse("toolu_cut", "Write", BIG, piece=PIECE, cut=60_000)
    fake_api.queue(Reply(["Writing. "], tools=[cut], stop_reason="max_tokens"))
    sizes = counting_parser(monkeypatch)
    events = [e async for e in stream_turn(client_for(fake_api), request_for(), None)]
    finished = events[-1]
    assert isinstance(finished, TurnFinished) and finished.stop_reason == "max_tokens"
    assert [(c.name, c.input) for c in finished.unrun] == [("Write", {"path": "app/big.py"})]  # as the SDK gives it
    assert sizes == [60_000]


def ev(kind: str, **fields: Any) -> SimpleNamespace:
    return SimpleNamespace(type=kind, **fields)


def start(**usage: int) -> SimpleNamespace:
    counts = {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": None,
              "cache_creation_input_tokens": None, **usage}
    return ev("message_start", message=SimpleNamespace(id="msg_1", model="m", usage=SimpleNamespace(**counts)))


def delta(index: int, kind: str, **fields: Any) -> SimpleNamespace:
    return ev("content_block_delta", index=index, delta=SimpleNamespace(type=kind, **fields))


def test_thinking_server_tools_and_unknown_blocks_come_back_as_sent() -> None:
    acc = Accumulator()
    unknown = {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": [{"type": "web_search_result",
                                                                                        "url": "https://x.test"}]}
    for event in [
        start(cache_read_input_tokens=7),
        ev("ping"),
        ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}),
        delta(0, "thinking_delta", thinking="Let me "), delta(0, "thinking_delta", thinking="think."),
        delta(0, "signature_delta", signature="sig=="),
        ev("content_block_stop", index=0),
        ev("content_block_start", index=1, content_block={"type": "server_tool_use", "id": "srv_1",
                                                          "name": "web_search", "input": {}}),
        delta(1, "input_json_delta", partial_json='{"query": '), delta(1, "input_json_delta", partial_json='"x"}'),
        ev("content_block_stop", index=1),
        ev("content_block_start", index=2, content_block=unknown),
        ev("content_block_stop", index=2),
        ev("content_block_start", index=3, content_block={"type": "text", "text": ""}),
        delta(3, "text_delta", text="Hello"), delta(3, "text_delta", text=", world"),
        ev("content_block_stop", index=3),
        ev("message_delta", delta=SimpleNamespace(type="x", stop_reason="end_turn", stop_details=None),
           usage=SimpleNamespace(output_tokens=42, input_tokens=None)),
        ev("message_stop"),
    ]:
        acc.feed(event)
    message = acc.message()
    assert message.content == [
        {"type": "thinking", "thinking": "Let me think.", "signature": "sig=="},
        {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "x"}},
        unknown,
        {"type": "text", "text": "Hello, world"},
    ]
    assert message.stop_reason == "end_turn" and acc.stopped
    assert (message.usage.input_tokens, message.usage.output_tokens, message.usage.cache_read_tokens) == (10, 42, 7)


def test_a_refusals_details_and_the_usage_a_delta_leaves_out() -> None:
    acc = Accumulator()
    acc.feed(start(cache_creation_input_tokens=5))
    assert (acc.usage.input_tokens, acc.usage.output_tokens, acc.usage.cache_write_tokens) == (10, 1, 5)
    details = SimpleNamespace(model_dump=lambda **_: {"type": "refusal", "category": "cyber"})
    acc.feed(ev("message_delta", delta=SimpleNamespace(stop_reason="refusal", stop_details=details),
                usage=SimpleNamespace(output_tokens=3, input_tokens=12, cache_creation_input_tokens=None)))
    message = acc.message()
    assert message.content == [] and message.stop_reason == "refusal"
    assert message.stop_details == {"type": "refusal", "category": "cyber"}
    assert (message.usage.input_tokens, message.usage.output_tokens, message.usage.cache_write_tokens) == (12, 3, 5)


def test_a_stream_that_does_not_begin_with_message_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="before"):
        Accumulator().feed(ev("content_block_start", index=0, content_block={"type": "text", "text": ""}))
    with pytest.raises(RuntimeError, match="ended before"):
        Accumulator().message()


def test_malformed_tool_input_is_an_error_as_it_was() -> None:
    acc = Accumulator()
    acc.feed(start())
    acc.feed(ev("content_block_start", index=0, content_block={"type": "tool_use", "id": "t", "name": "Read",
                                                              "input": {}}))
    acc.feed(delta(0, "input_json_delta", partial_json='{"path": ]'))
    with pytest.raises(ValueError, match="tool input"):
        acc.feed(ev("content_block_stop", index=0))


def test_events_as_the_sdk_builds_them_keep_a_block_kind_it_does_not_know() -> None:
    """The raw stream's events are SDK models built leniently (``construct_type``, as its stream
    does): a block kind newer than the installed SDK still comes back with every field it had."""
    from anthropic._models import construct_type
    from anthropic.types import RawMessageStreamEvent

    future = {"type": "future_block", "payload": {"a": [1, 2]}, "note": "keep"}
    raw = [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                                              "content": [], "stop_reason": None, "stop_sequence": None,
                                              "usage": {"input_tokens": 3, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": future},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": "",
                                                                      "signature": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "signature_delta", "signature": "s1"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    acc = Accumulator()
    for event in raw:
        acc.feed(construct_type(type_=RawMessageStreamEvent, value=event))
    message = acc.message()
    assert message.content == [future, {"type": "thinking", "thinking": "hm", "signature": "s1"}]
    assert (message.id, message.stop_reason, message.usage.output_tokens) == ("msg_1", "end_turn", 9)
