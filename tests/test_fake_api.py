"""Tests of the fake Anthropic API server, driven through the real ``anthropic`` SDK."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx2
import pytest
from anthropic import _exceptions

from tests.fake_api import (
    CUT_DEMO,
    CUT_DEMO_REST,
    PREFILL_REFUSED,
    Cut,
    FakeAnthropic,
    Hang,
    HttpError,
    Reply,
    StreamError,
    ToolUse,
    _Handler,
    continued_of,
    demo_reply,
    split_text,
)
from tests.helpers import record_retry_waits, wait_until_blocking

MODEL = "claude-test-model"


def message_kwargs(text: str = "Hello there\nSecond line") -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 256, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
def client(fake_api: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake_api.base_url, api_key="test-key", max_retries=0) as c:
        yield c


@pytest.fixture
async def aclient(fake_api: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=fake_api.base_url, api_key="test-key", max_retries=0) as c:
        yield c


def post_json(fake: FakeAnthropic, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST raw JSON with the standard library, bypassing the SDK's own argument checks."""
    request = urllib.request.Request(
        fake.base_url + path,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


# -- successful streams ------------------------------------------------------------------------


def test_streamed_reply_arrives_as_text_with_final_message(
    fake_api: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_api.queue(
        Reply.of(
            "Hello from the fake API!",
            size=5,
            stop_reason="max_tokens",
            input_tokens=42,
            cache_creation_input_tokens=3,
            cache_read_input_tokens=7,
        )
    )
    with client.messages.stream(**message_kwargs()) as stream:
        pieces = list(stream.text_stream)
        message = stream.get_final_message()
        request_id = stream.request_id

    assert pieces == ["Hello", " from", " the ", "fake ", "API!"]
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from the fake API!"
    assert message.id == "msg_fake_1"
    assert request_id == "req_fake_1"
    assert message.model == MODEL
    assert message.role == "assistant"
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None
    assert message.usage.input_tokens == 42
    assert message.usage.output_tokens == 5  # one per chunk by default
    assert message.usage.cache_creation_input_tokens == 3
    assert message.usage.cache_read_input_tokens == 7
    # The server thread counts the stream after its last write, which can land just after the
    # client has read message_stop: wait for it rather than race it.
    wait_until_blocking(lambda: fake_api.completed_streams == 1, what="the server to count the stream")
    assert fake_api.pending == 0


async def test_async_stream_with_explicit_model_and_output_tokens(
    fake_api: FakeAnthropic, aclient: anthropic.AsyncAnthropic
) -> None:
    fake_api.queue(Reply(["one ", "two"], model="claude-other", output_tokens=99))
    async with aclient.messages.stream(**message_kwargs()) as stream:
        text = await stream.get_final_text()
        message = await stream.get_final_message()
    assert text == "one two"
    assert message.model == "claude-other"
    assert message.usage.output_tokens == 99
    assert message.stop_reason == "end_turn"


def test_raw_sdk_events_follow_the_real_order(fake_api: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_api.queue(Reply(["a", "b", "c"]))
    events = list(client.messages.create(**message_kwargs(), stream=True))
    # The SDK drops `ping` itself.
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0]
    assert start.type == "message_start"
    assert start.message.content == []
    assert start.message.stop_reason is None
    assert start.message.usage.output_tokens == 1
    deltas = [
        e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"
    ]
    assert deltas == ["a", "b", "c"]


def test_wire_format_is_chunked_server_sent_events(fake_api: FakeAnthropic) -> None:
    fake_api.queue(Reply(["Hi", " you"]))
    conn = http.client.HTTPConnection("127.0.0.1", fake_api.port, timeout=5)
    try:
        conn.request(
            "POST",
            "/v1/messages",
            body=json.dumps({**message_kwargs(), "stream": True}),
            headers={"content-type": "application/json"},
        )
        response = conn.getresponse()
        raw = response.read().decode()  # http.client undoes the chunked framing
        assert response.status == 200
        assert response.getheader("content-type", "").startswith("text/event-stream")
        assert response.getheader("transfer-encoding") == "chunked"
        assert response.getheader("request-id") == "req_fake_1"
        assert response.getheader("anthropic-organization-id")
    finally:
        conn.close()

    assert raw.endswith("\n\n")
    blocks = [b for b in raw.split("\n\n") if b]
    events: list[tuple[str, dict[str, Any]]] = []
    for block in blocks:
        event_line, data_line = block.split("\n")
        assert event_line.startswith("event: ")
        assert data_line.startswith("data: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == event_line.removeprefix("event: ")
        events.append((event_line.removeprefix("event: "), data))
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    message = events[0][1]["message"]
    assert message["id"] == "msg_fake_1"
    assert message["model"] == MODEL
    assert message["usage"]["input_tokens"] == 25
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert events[3][1] == {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hi"},
    }
    assert events[6][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 2},
    }


def test_plain_json_message(fake_api: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_api.queue(Reply(["Plain ", "answer"], input_tokens=9))
    message = client.messages.create(**message_kwargs())
    assert message.content[0].type == "text"
    assert message.content[0].text == "Plain answer"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 9
    assert message.usage.output_tokens == 2
    assert fake_api.message_requests()[0].body is not None
    assert "stream" not in (fake_api.message_requests()[0].body or {})


# -- recording ------------------------------------------------------------------------------


def test_requests_are_recorded_with_body_and_headers(
    fake_api: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_api.queue(Reply(["ok"]))
    with client.messages.stream(**message_kwargs("What is 2+2?"), system="Be brief.") as stream:
        stream.until_done()
    client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    client.models.list()

    assert [(r.method, r.path) for r in fake_api.requests] == [
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
        ("GET", "/v1/models"),
    ]
    [recorded] = fake_api.message_requests()
    assert recorded.body == {
        "model": MODEL,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "system": "Be brief.",
        "stream": True,
    }
    assert all(name == name.lower() for name in recorded.headers)
    # This SDK version sends the API key as a bearer token, not as x-api-key.
    assert recorded.headers["authorization"] == "Bearer test-key"
    assert "x-api-key" not in recorded.headers
    assert recorded.headers["anthropic-version"]
    assert recorded.headers["content-type"] == "application/json"
    assert fake_api.requests[2].body is None


class NotedCondition(threading.Condition):
    """The server's "a request arrived" condition, noting when someone starts waiting on it."""

    def __init__(self, lock: threading.Lock) -> None:
        super().__init__(lock)
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_wait_for_requests(fake_api: FakeAnthropic, client: anthropic.Anthropic,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api.queue(Reply(["late"]))
    arrived = NotedCondition(fake_api._lock)
    monkeypatch.setattr(fake_api, "_arrived", arrived)

    def send_later() -> None:
        if arrived.waiting.wait(30):  # only once the test is blocked waiting for it
            client.messages.create(**message_kwargs("delayed"))

    worker = threading.Thread(target=send_later)
    worker.start()
    try:
        found = fake_api.wait_for_requests(1, timeout=5)
    finally:
        worker.join()
    assert len(found) == 1
    assert found[0].body is not None
    assert found[0].body["messages"][0]["content"] == "delayed"
    with pytest.raises(TimeoutError):
        fake_api.wait_for_requests(2, timeout=0.1)


# -- HTTP errors --------------------------------------------------------------------------------


def test_overloaded_error_class_exists() -> None:
    assert anthropic.OverloadedError is _exceptions.OverloadedError
    assert issubclass(anthropic.OverloadedError, anthropic.InternalServerError)


@pytest.mark.parametrize(
    ("status", "error_type", "exc_class"),
    [
        (400, "invalid_request_error", anthropic.BadRequestError),
        (401, "authentication_error", anthropic.AuthenticationError),
        (413, "request_too_large", _exceptions.ContentTooLargeError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
        (529, "overloaded_error", anthropic.OverloadedError),
    ],
)
def test_http_error_maps_to_sdk_exception(
    fake_api: FakeAnthropic,
    client: anthropic.Anthropic,
    status: int,
    error_type: str,
    exc_class: type[anthropic.APIStatusError],
) -> None:
    fake_api.queue(HttpError(status, error_type, f"scripted {error_type}"))
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(**message_kwargs()) as stream,
    ):
        stream.until_done()
    exc = info.value
    assert type(exc) is exc_class
    assert exc.status_code == status
    assert exc.type == error_type
    assert exc.api_message == f"scripted {error_type}"
    assert exc.request_id == "req_fake_1"
    assert exc.body == {
        "type": "error",
        "error": {"type": error_type, "message": f"scripted {error_type}"},
        "request_id": "req_fake_1",
    }
    assert len(fake_api.message_requests()) == 1  # max_retries=0


def test_retry_after_zero_is_retried_after_backoff(fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api.queue(HttpError(429, "rate_limit_error", "Slow down", retry_after=0), Reply.of("recovered"))
    waits = record_retry_waits(monkeypatch)
    with (
        anthropic.Anthropic(base_url=fake_api.base_url, api_key="test-key", max_retries=1) as client,
        client.messages.stream(**message_kwargs()) as stream,
    ):
        text = stream.get_final_text()

    assert text == "recovered"
    first, second = fake_api.message_requests()
    assert first.body == second.body
    assert first.headers["x-stainless-retry-count"] == "0"
    assert second.headers["x-stainless-retry-count"] == "1"
    # `retry-after: 0` is not "retry now": the SDK only obeys values > 0 and otherwise falls back to
    # its exponential backoff (0.5 s with up to 25% jitter for the first retry).
    assert len(waits) == 1 and 0.5 * 0.75 <= waits[0] <= 0.5


def test_retry_after_ms_is_obeyed(fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    overloaded = HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=1)
    fake_api.queue(overloaded, overloaded, overloaded, Reply.of("finally"))
    waits = record_retry_waits(monkeypatch)
    with anthropic.Anthropic(base_url=fake_api.base_url, api_key="test-key", max_retries=3) as client:
        message = client.messages.create(**message_kwargs())
    assert message.content[0].type == "text"
    assert message.content[0].text == "finally"
    assert len(fake_api.message_requests()) == 4
    assert waits == [0.001] * 3  # what the server asked for, not the default backoff (0.5 s, 1 s, 2 s)


def test_x_should_retry_false_stops_retries(fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(500, "api_error", "Internal error", should_retry=False), Reply.of("unused"))
    with (
        anthropic.Anthropic(base_url=fake_api.base_url, api_key="test-key", max_retries=2) as client,
        pytest.raises(anthropic.InternalServerError),
    ):
        client.messages.create(**message_kwargs())
    assert len(fake_api.message_requests()) == 1
    assert fake_api.pending == 1


# -- broken streams -----------------------------------------------------------------------------


def test_stream_error_after_partial_text(fake_api: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_api.queue(StreamError(["Partial ", "answer"]))
    received: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(**message_kwargs()) as stream,
    ):
        for text in stream.text_stream:
            received.append(text)

    assert received == ["Partial ", "answer"]
    exc = info.value
    # The in-stream error arrives on an HTTP 200 response, so the SDK cannot map it by status:
    # it raises the base APIStatusError (not OverloadedError) with status_code 200.
    assert type(exc) is anthropic.APIStatusError
    assert exc.status_code == 200
    assert exc.type == "overloaded_error"
    assert exc.api_message == "Overloaded"
    assert exc.request_id == "req_fake_1"
    assert exc.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert fake_api.completed_streams == 0


async def test_cut_stream_raises_remote_protocol_error(fake_api: FakeAnthropic) -> None:
    fake_api.queue(Cut(["Half ", "way"]), Reply.of("never sent"))
    received: list[str] = []
    async with anthropic.AsyncAnthropic(
        base_url=fake_api.base_url, api_key="test-key", max_retries=2
    ) as client:
        with pytest.raises(Exception) as info:
            async with client.messages.stream(**message_kwargs()) as stream:
                async for text in stream.text_stream:
                    received.append(text)

    assert received == ["Half ", "way"]
    # Older 2.x SDKs let the transport's error out as it is; newer ones wrap it in
    # APIConnectionError. Either way the cut chunked body is somewhere in the chain, and a stream
    # that has started is never retried.
    chain: list[BaseException] = []
    current: BaseException | None = info.value
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    cut = [e for e in chain if isinstance(e, httpx2.RemoteProtocolError)]
    assert cut and "incomplete chunked read" in str(cut[0])
    assert isinstance(info.value, httpx2.RemoteProtocolError | anthropic.APIConnectionError)
    assert len(fake_api.message_requests()) == 1
    assert fake_api.pending == 1
    assert fake_api.completed_streams == 0


def record_hangs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """How each of the server's pauses ended: True when it ran its full time, False when it was
    cut short (the client left, or the server stopped)."""
    ended: list[bool] = []
    pause = _Handler._pause

    def recording(handler: _Handler, seconds: float) -> bool:
        ended.append(pause(handler, seconds))
        return ended[-1]

    monkeypatch.setattr(_Handler, "_pause", recording)
    return ended


def test_hang_times_out(fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api.queue(Hang(30))
    hangs = record_hangs(monkeypatch)
    with (
        anthropic.Anthropic(
        base_url=fake_api.base_url, api_key="test-key", max_retries=0, timeout=0.5
    ) as client, pytest.raises(anthropic.APITimeoutError) as info,
        client.messages.stream(**message_kwargs()) as s,
    ):
        s.until_done()
    assert isinstance(info.value.__cause__, httpx2.ReadTimeout)
    assert len(fake_api.message_requests()) == 1
    # The client gave up on its own timeout while the server still hung: it cut the hang short.
    wait_until_blocking(lambda: hangs, what="the server to notice the client leaving")
    assert hangs == [False]


async def test_closing_stream_early_sets_client_gone(
    fake_api: FakeAnthropic, aclient: anthropic.AsyncAnthropic
) -> None:
    fake_api.queue(Reply.of("x" * 400, size=4, delay=0.05))  # 100 chunks: ~5 s if read to the end
    first_text: str | None = None
    gone_while_reading = True
    async with aclient.messages.stream(**message_kwargs()) as stream:
        async for event in stream:
            if event.type == "text":
                first_text = event.text
                gone_while_reading = fake_api.client_gone.is_set()
                break
    assert first_text == "xxxx"
    assert gone_while_reading is False
    gone = await asyncio.to_thread(fake_api.client_gone.wait, 10.0)
    assert gone
    assert fake_api.completed_streams == 0


# -- other endpoints and validation -----------------------------------------------------------


def test_count_tokens_and_models(fake_api: FakeAnthropic, client: anthropic.Anthropic) -> None:
    count = client.messages.count_tokens(
        model=MODEL,
        system="abcd",
        messages=[
            {"role": "user", "content": "12345678"},
            {"role": "assistant", "content": [{"type": "text", "text": "1234"}]},
        ],
    )
    assert count.input_tokens == (4 + 8 + 4) // 4

    page = client.models.list()
    assert page.has_more is False
    ids = [m.id for m in page.data]
    assert ids
    assert page.first_id == ids[0]
    assert page.last_id == ids[-1]
    assert all(m.type == "model" and m.display_name for m in page.data)
    assert client.models.retrieve(ids[0]).id == ids[0]
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("no-such-model")


def test_unknown_path_is_404_with_real_error_body(fake_api: FakeAnthropic) -> None:
    status, body = post_json(fake_api, "/v1/nothing-here", {})
    assert status == 404
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert body["request_id"] == "req_fake_1"


@pytest.mark.parametrize("missing", ["model", "max_tokens", "messages"])
def test_missing_required_field_is_400(fake_api: FakeAnthropic, missing: str) -> None:
    fake_api.queue(Reply(["queued"]))
    body = message_kwargs()
    del body[missing]
    status, error = post_json(fake_api, "/v1/messages", body)
    assert status == 400
    assert error["error"]["type"] == "invalid_request_error"
    assert missing in error["error"]["message"]
    assert fake_api.pending == 1  # an invalid request does not use up a script

    status, ok = post_json(fake_api, "/v1/messages", message_kwargs())
    assert status == 200
    assert ok["content"] == [{"type": "text", "text": "queued"}]


async def test_sdk_surfaces_validation_error(
    fake_api: FakeAnthropic, aclient: anthropic.AsyncAnthropic
) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        await aclient.messages.create(model=MODEL, max_tokens=256, messages=[])
    assert info.value.api_message == "messages: at least one message is required"


# -- stop reasons, prefills and counts -----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "Here is how "])
def test_a_refusal_streams_its_stop_details_and_no_empty_block(fake_api: FakeAnthropic, client: anthropic.Anthropic,
                                                               text: str) -> None:
    fake_api.queue(Reply.refusal(text, explanation="Declined for safety."))
    events = list(client.messages.create(**message_kwargs(), stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert ("content_block_start" in kinds) is bool(text)  # no text: no content block at all
    delta = events[-2]
    assert delta.type == "message_delta" and delta.delta.stop_reason == "refusal"
    assert delta.delta.stop_details is not None and delta.delta.stop_details.category == "cyber"
    assert delta.delta.stop_details.explanation == "Declined for safety."
    fake_api.queue(Reply.refusal(text))
    plain = client.messages.create(**message_kwargs())
    assert plain.stop_reason == "refusal" and [b.type for b in plain.content] == (["text"] if text else [])


def test_a_request_ending_with_an_assistant_message_is_refused_as_current_models_do(
        fake_api: FakeAnthropic) -> None:
    """Claude 4.6 and later refuse an assistant prefill, whatever its text."""
    fake_api.queue(Reply(["queued"]))
    body = {**message_kwargs(), "messages": [{"role": "user", "content": "go"},
                                             {"role": "assistant", "content": [{"type": "text", "text": "Cut"}]}]}
    status, error = post_json(fake_api, "/v1/messages", body)
    assert (status, error["error"]["type"], error["error"]["message"]) == (400, "invalid_request_error",
                                                                           PREFILL_REFUSED)
    assert PREFILL_REFUSED == ("This model does not support assistant message prefill. The conversation must end "
                               "with a user message.")
    body["messages"][-1]["content"][0]["text"] = ""
    status, error = post_json(fake_api, "/v1/messages", body)
    assert (status, error["error"]["message"]) == (400, "messages.1: text content blocks must be non-empty")
    body["messages"][-1]["content"][0]["text"] = "Cut \n"  # not last: its whitespace is fine
    body["messages"].append({"role": "user", "content": "Please continue."})
    status, ok = post_json(fake_api, "/v1/messages", body)
    assert (status, ok["content"]) == (200, [{"type": "text", "text": "queued"}])
    assert continued_of(fake_api.message_requests()[-1].body) == "Cut \n"


USE = {"role": "assistant", "content": [{"type": "text", "text": "Looking."},
                                        {"type": "tool_use", "id": "t1", "name": "Read", "input": {"path": "a.py"}},
                                        {"type": "tool_use", "id": "t2", "name": "Read", "input": {"path": "b.py"}}]}


def result(tool_id: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": "text"}


@pytest.mark.parametrize(("after", "problem"), [
    ([{"role": "user", "content": "and then?"}],
     "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: t1, t2. Each `tool_use` "
     "block must have a corresponding `tool_result` block in the next message."),
    ([{"role": "user", "content": [result("t1"), {"type": "text", "text": "and?"}]}],
     "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: t2. Each `tool_use` "
     "block must have a corresponding `tool_result` block in the next message."),
    ([{"role": "user", "content": [result("t1"), result("t2"), result("t9")]}],
     "messages.2.content.2: unexpected `tool_use_id` found in `tool_result` blocks: t9. Each `tool_result` block "
     "must have a corresponding `tool_use` block in the previous message."),
    ([], "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: t1, t2. Each "
         "`tool_use` block must have a corresponding `tool_result` block in the next message."),
    ([{"role": "user", "content": [result("t2"), result("t1")]}], None),
])
def test_every_tool_use_must_be_answered_in_the_next_message(fake_api: FakeAnthropic, after: list[dict[str, Any]],
                                                            problem: str | None) -> None:
    fake_api.queue(Reply(["fine"]))
    body = {**message_kwargs(), "messages": [{"role": "user", "content": "go"}, USE, *after]}
    status, answer = post_json(fake_api, "/v1/messages", body)
    assert (status, answer["error"]["message"] if problem else answer["content"][0]["text"]) == \
        ((400, problem) if problem else (200, "fine"))


def test_a_tool_result_without_its_tool_use_before_is_refused(fake_api: FakeAnthropic) -> None:
    body = {**message_kwargs(), "messages": [{"role": "user", "content": [result("t1")]}]}
    status, error = post_json(fake_api, "/v1/messages", body)
    assert (status, error["error"]["message"]) == (400, "messages.0.content.0: unexpected `tool_use_id` found in "
                                                        "`tool_result` blocks: t1. Each `tool_result` block must have "
                                                        "a corresponding `tool_use` block in the previous message.")


async def test_a_reply_can_be_cut_in_the_middle_of_a_tool_call(fake_api: FakeAnthropic,
                                                              aclient: anthropic.AsyncAnthropic) -> None:
    write = ToolUse("t1", "Write", {"path": "app/paging.py", "content": "def load_page():\n    pass\n"}, cut=41)
    assert write.json == '{"path": "app/paging.py", "content": "def'
    fake_api.queue(Reply(["Writing it. "], stop_reason="max_tokens", tools=[write]))
    async with aclient.messages.stream(**message_kwargs()) as stream:
        final = await stream.get_final_message()
    assert final.stop_reason == "max_tokens" and [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == {"path": "app/paging.py"}  # type: ignore[union-attr]  # as far as it came


def test_the_demo_continues_a_cut_reply_with_its_rest() -> None:
    def going_on(cut: str) -> dict[str, Any]:
        return {"messages": [{"role": "user", "content": "page them"},
                             {"role": "assistant", "content": [{"type": "text", "text": cut}]},
                             {"role": "user", "content": [{"type": "text", "text": "Continue where it stopped."}]}]}

    assert CUT_DEMO + demo_reply(going_on(CUT_DEMO)).text == CUT_DEMO + CUT_DEMO_REST
    further = CUT_DEMO + CUT_DEMO_REST[:20]  # stopped while it went on, then on again
    assert further + demo_reply(going_on(further)).text == CUT_DEMO + CUT_DEMO_REST
    assert demo_reply(going_on("Some")).text == " …and that is the rest of the answer."
    question = going_on(CUT_DEMO)
    question["messages"][-1]["content"][0]["text"] = "and then?"  # a question after a reply: answered afresh
    assert continued_of(question) is None and demo_reply(question).text.startswith("## A backend take")
    assert continued_of(message_kwargs()) is None


@pytest.mark.parametrize("script", [Cut(["Half"], after_delta=True, output_tokens=9),
                                    StreamError(["Half"], after_delta=True, output_tokens=9)])
async def test_a_stream_can_break_after_its_message_delta(fake_api: FakeAnthropic, aclient: anthropic.AsyncAnthropic,
                                                          script: Cut | StreamError) -> None:
    fake_api.queue(script)
    kinds: list[str] = []
    with pytest.raises((anthropic.APIError, httpx2.HTTPError)):
        async with aclient.messages.stream(**message_kwargs()) as stream:
            async for event in stream:
                kinds.append(event.type)
    assert "message_delta" in kinds and "message_stop" not in kinds
    assert stream.current_message_snapshot.usage.output_tokens == 9


# -- demo reply ---------------------------------------------------------------------------------


def test_demo_reply_is_markdown_mentioning_question_and_files(
    fake_api: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    content = (
        "<documents>\n"
        "<document><source>src/app/models.py</source><document_content>class A: ...</document_content>"
        "</document>\n"
        "<document><source>README.md</source><document_content># hi</document_content></document>\n"
        "</documents>\n\n"
        "How should I cache these queries?\nThey are slow."
    )
    with client.messages.stream(**message_kwargs(content)) as stream:
        pieces = list(stream.text_stream)
    text = "".join(pieces)
    assert text.startswith("## ")
    assert "How should I cache these queries?" in text
    assert "src/app/models.py" in text
    assert "README.md" in text
    assert "\n- " in text
    assert "```python\n" in text
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert 8 <= len(code.splitlines()) <= 14
    assert all(len(p) <= 6 for p in pieces)
    assert len(pieces) > 50


def test_demo_reply_without_files_or_text() -> None:
    reply = demo_reply({"messages": [{"role": "user", "content": [{"type": "text", "text": "Just this"}]}]})
    assert "Just this" in reply.text
    assert "attached" not in reply.text
    empty = demo_reply({"messages": []}, delay=0.5)
    assert empty.delay == 0.5
    assert empty.text.startswith("## ")


def test_split_text() -> None:
    assert split_text("abcdefg", 3) == ["abc", "def", "g"]
    assert Reply.of("abcdefg", size=3, delay=0.1) == Reply(["abc", "def", "g"], delay=0.1)
    with pytest.raises(ValueError):
        split_text("abc", 0)


def test_stop_is_quick_with_a_hanging_request(fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api.queue(Hang(30))
    hangs = record_hangs(monkeypatch)
    outcome: list[BaseException] = []

    def send() -> None:
        try:
            post_json(fake_api, "/v1/messages", message_kwargs())
        except OSError as err:  # the server drops the connection without answering
            outcome.append(err)

    worker = threading.Thread(target=send, daemon=True)
    worker.start()
    fake_api.wait_for_requests(1)
    fake_api.stop()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(outcome) == 1
    # The stop cut the 30-second hang short rather than waiting it out.
    wait_until_blocking(lambda: hangs, what="the hanging handler to stop")
    assert hangs == [False]
