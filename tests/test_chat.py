"""The chat path without a UI: request building, and the real SDK streaming from the fake server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import anthropic
import pytest

from buddy_tui.context.attachments import Attachment
from buddy_tui.conversation.chat import (
    Conversation,
    Counted,
    RoundDone,
    TextDelta,
    TurnFailed,
    TurnFinished,
    build_request,
    stream_turn,
)
from buddy_tui.conversation.client import LOCAL_PLACEHOLDER_KEY, connect
from buddy_tui.conversation.documents import render_documents, user_content
from buddy_tui.conversation.errors import Failure
from buddy_tui.personas.persona import Persona
from buddy_tui.settings.config_file import DEFAULT_MODEL
from buddy_tui.settings.model_settings import Settings
from buddy_tui.store.records import Usage
from tests.fake_api import Cut, FakeAnthropic, Hang, HttpError, Reply, Script, StreamError
from tests.helpers import wait_until

PERSONA = Persona(name="backend", description="d", allowed_tools=(), prompt="You are the backend persona.")
MODELS = Attachment(path="app/models.py", text="class Order: ...", size=16, truncated=False)


def test_request_carries_persona_history_and_delimited_files() -> None:
    conversation = Conversation()
    conversation.record(user_content("first?", []), "first answer", Usage(10, 5))
    request = build_request(persona=PERSONA, conversation=conversation,
                            user=user_content("why slow?", [MODELS]), model="m", max_tokens=100)
    assert request["system"] == [{"type": "text", "text": PERSONA.prompt, "cache_control": {"type": "ephemeral"}}]
    assert [m["role"] for m in request["messages"]] == ["user", "assistant", "user"]
    last = request["messages"][-1]["content"]
    assert last[0]["text"].startswith("<documents>\n<document index=\"1\">\n<source>app/models.py</source>")
    assert "<document_content>\nclass Order: ...\n</document_content>" in last[0]["text"]
    assert last[1] == {"type": "text", "text": "why slow?", "cache_control": {"type": "ephemeral"}}
    # Building a request never mutates what the conversation will keep.
    assert "cache_control" not in request["messages"][0]["content"][-1]
    assert conversation.usage == Usage(10, 5)


def test_truncated_attachment_says_so() -> None:
    big = Attachment(path="big.sql", text="x" * 10, size=5_000, truncated=True)
    assert "Only the first 10 of 5,000 bytes" in render_documents([big])


def test_default_model_is_one_the_sdk_knows() -> None:
    from typing import get_args

    from anthropic.types import Model

    known = {value for arg in get_args(Model) for value in get_args(arg)}
    assert DEFAULT_MODEL in known


def test_connect_without_credentials_explains_what_to_set() -> None:
    client, connection = connect(Settings())
    assert client is None and not connection.ready
    assert "ANTHROPIC_API_KEY" in connection.message and "ANTHROPIC_BASE_URL" in connection.message


def test_connect_honours_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "tok")
    client, connection = connect(Settings())
    assert client is not None and connection.auth == "auth token" and not connection.local
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:11434")
    client, connection = connect(Settings())
    assert client is not None and connection.local and connection.auth == "none (local server)"
    assert client.api_key == LOCAL_PLACEHOLDER_KEY


def test_settings_from_env() -> None:
    assert Settings.from_env({}).model == DEFAULT_MODEL
    assert Settings.from_env({"BUDDY_TUI_MODEL": "m1", "BUDDY_TUI_MAX_TOKENS": "512"}) == Settings("m1", 512)
    assert Settings.from_env({"BUDDY_TUI_MODEL": "m1"}, model="m2").model == "m2"
    assert Settings.from_env({"BUDDY_TUI_MAX_TOKENS": "lots"}).max_tokens == Settings().max_tokens


def client_for(fake: FakeAnthropic, *, max_retries: int = 0,
               timeout: float | anthropic.NotGiven = anthropic.NOT_GIVEN) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="sk-test-key", base_url=fake.base_url, max_retries=max_retries,
                                    timeout=timeout)


def request_for(question: str = "What could go wrong?") -> dict[str, object]:
    return build_request(persona=PERSONA, conversation=Conversation(), user=user_content(question, [MODELS]),
                         model="claude-test", max_tokens=256)


async def collect(client: anthropic.AsyncAnthropic, request: dict[str, object]) -> list[object]:
    """The turn's events, without the running token counts (tested on their own)."""
    return [event async for event in stream_turn(client, request) if not isinstance(event, Counted)]


async def test_the_input_is_counted_as_each_round_starts(fake_api: FakeAnthropic) -> None:
    fake_api.queue(Reply(["a", "b"], input_tokens=40, cache_read_input_tokens=30))
    events = [event async for event in stream_turn(client_for(fake_api), request_for())]
    assert events[0] == Counted(Usage(40, 0, 30, 0))  # before any text: a stop now still shows the cost
    assert events[3] == Counted(Usage(40, 2, 30, 0), reported=True)  # the output, as message_delta counts it
    assert isinstance(events[-1], TurnFinished) and events[-1].usage == Usage(40, 2, 30, 0)


async def test_stream_yields_deltas_then_finished(fake_api: FakeAnthropic) -> None:
    fake_api.queue(Reply(["## Risks\n", "- N+1 ", "queries"], input_tokens=40, cache_read_input_tokens=30))
    events = await collect(client_for(fake_api), request_for())
    assert events[:3] == [TextDelta("## Risks\n"), TextDelta("- N+1 "), TextDelta("queries")]
    assert events[3] == TurnFinished("## Risks\n- N+1 queries", "end_turn", Usage(40, 3, 30, 0), (
        {"role": "assistant", "content": [{"type": "text", "text": "## Risks\n- N+1 queries"}]},))
    sent = fake_api.message_requests()[0]
    assert sent.body is not None and sent.body["stream"] is True
    assert sent.body["system"][0]["text"] == PERSONA.prompt
    assert sent.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "<source>app/models.py</source>" in json.dumps(sent.body["messages"])


@pytest.mark.parametrize(
    ("script", "kind", "words", "retryable"),
    [
        (HttpError(401, "authentication_error", "invalid x-api-key"), "auth", "ANTHROPIC_API_KEY", False),
        (HttpError(429, "rate_limit_error", "slow down", retry_after=7), "rate_limit", "Try again in 7 s", True),
        (HttpError(529, "overloaded_error", "Overloaded"), "overloaded", "(529)", True),
        (HttpError(500, "api_error", "boom"), "server", "(500)", True),
        (HttpError(413, "request_too_large", "Request exceeds the maximum size"), "bad_request",
         "Request exceeds the maximum size", False),
        (HttpError(404, "not_found_error", "model: nope"), "not_found", "model: nope", False),
        (StreamError(["partial "], "overloaded_error", "Overloaded"), "overloaded", "during the reply", True),
        (Cut(["partial "]), "connection", "Lost the connection", True),
    ],
)
async def test_failures_become_clear_messages(
    fake_api: FakeAnthropic, script: Script, kind: str, words: str, retryable: bool
) -> None:
    fake_api.queue(script)
    events = await collect(client_for(fake_api), request_for())
    final = events[-1]
    assert isinstance(final, TurnFailed)
    assert isinstance(final.failure, Failure)
    assert final.failure.kind == kind
    assert words in final.failure.text()
    assert final.failure.retryable is retryable
    if isinstance(script, StreamError | Cut):
        assert final.partial == "partial "
        assert events[0] == TextDelta("partial ")


async def test_timeout_before_first_byte(fake_api: FakeAnthropic) -> None:
    fake_api.queue(Hang(3.0))
    events = await collect(client_for(fake_api, timeout=0.5), request_for())
    assert isinstance(events[-1], TurnFailed) and events[-1].failure.kind == "timeout"


async def test_connection_refused() -> None:
    client = anthropic.AsyncAnthropic(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    events = await collect(client, request_for())
    assert isinstance(events[-1], TurnFailed) and events[-1].failure.kind == "connection"


async def test_sdk_retries_stay_on(fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after=0), Reply(["fine"]))
    events = await collect(client_for(fake_api, max_retries=1), request_for())
    assert events[-1] == TurnFinished("fine", "end_turn", Usage(25, 1),
                                      ({"role": "assistant", "content": [{"type": "text", "text": "fine"}]},))
    assert len(fake_api.message_requests()) == 2


async def test_cancelling_the_consumer_closes_the_http_stream(fake_api: FakeAnthropic) -> None:
    fake_api.queue(Reply(["tick "] * 200, delay=0.02))
    seen: list[object] = []

    async def consume() -> None:
        async for event in stream_turn(client_for(fake_api), request_for()):
            seen.append(event)

    task = asyncio.create_task(consume())
    await wait_until(lambda: len(seen) >= 3, what="the stream to be under way")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(fake_api.client_gone.wait, 5.0)
    assert fake_api.completed_streams == 0
    assert not any(isinstance(e, TurnFinished | TurnFailed) for e in seen)


def test_project_memory_follows_the_persona_in_the_system_prompt(tmp_path: Path) -> None:
    from buddy_tui.context.project import load_memory

    (tmp_path / "CLAUDE.md").write_text("# Notes\nUse Postgres 16.\n")
    (tmp_path / ".buddy").mkdir()
    (tmp_path / ".buddy" / "memory.md").write_text("x" * 70_000)
    memory = load_memory(tmp_path)
    assert [(m.path, m.truncated) for m in memory] == [("CLAUDE.md", False), (".buddy/memory.md", True)]
    request = build_request(persona=PERSONA, conversation=Conversation(), user=user_content("q", []),
                            model="m", max_tokens=10, memory=memory)
    system = request["system"]
    assert system[0] == {"type": "text", "text": PERSONA.prompt}
    assert system[1]["text"] == '<project_memory source="CLAUDE.md">\n# Notes\nUse Postgres 16.\n</project_memory>'
    assert system[2]["text"].startswith('<project_memory source=".buddy/memory.md" truncated="true">')
    assert "cache_control" not in system[1] and system[2]["cache_control"] == {"type": "ephemeral"}


async def test_tool_use_rounds_run_through_the_executor(fake_api: FakeAnthropic) -> None:
    from buddy_tui.conversation.chat import ToolFinished, ToolStarted
    from buddy_tui.tools.specs import ToolCall, ToolResult
    from tests.fake_api import ToolUse

    fake_api.queue(
        Reply(["Let me look. "], tools=[ToolUse("toolu_1", "Read", {"path": "app/models.py"}),
                                         ToolUse("toolu_2", "Grep", {"pattern": "SELECT \\\\*"})]),
        Reply(["Found it: N+1."], input_tokens=50),
    )
    seen: list[ToolCall] = []

    async def execute(call: ToolCall) -> ToolResult:
        seen.append(call)
        return ToolResult(f"result of {call.name}", is_error=call.name == "Grep", summary=call.name)

    events = [e async for e in stream_turn(client_for(fake_api), request_for(), execute)
              if not isinstance(e, Counted)]
    assert [c.input for c in seen] == [{"path": "app/models.py"}, {"pattern": "SELECT \\\\*"}]
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["TextDelta", "CallsAsked", "ToolStarted", "ToolFinished", "ToolStarted", "ToolFinished",
                     "RoundDone", "TextDelta", "TurnFinished"]
    round_done = events[6]
    assert isinstance(round_done, RoundDone)
    assert [m["role"] for m in round_done.messages] == ["assistant", "user"]
    started = [e for e in events if isinstance(e, ToolStarted)]
    assert (started[0].round, started[0].max_rounds) == (1, 12)
    assert isinstance(events[3], ToolFinished) and events[3].outcome.content == "result of Read"
    final = events[-1]
    assert isinstance(final, TurnFinished)
    assert final.text == "Let me look. \n\nFound it: N+1." and final.usage.input_tokens == 75
    assert [m["role"] for m in final.messages] == ["assistant", "user", "assistant"]
    second = fake_api.message_requests()[1].body
    assert second is not None
    results = second["messages"][-1]["content"]
    assert results == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "result of Read", "is_error": False},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "result of Grep", "is_error": True},
    ]
    assert second["messages"][-2]["content"][1] == {"type": "tool_use", "id": "toolu_1", "name": "Read",
                                                    "input": {"path": "app/models.py"}}


async def test_the_round_cap_ends_the_turn_validly(fake_api: FakeAnthropic) -> None:
    from buddy_tui.tools.specs import ToolCall, ToolResult
    from tests.fake_api import ToolUse

    fake_api.queue(*[Reply([f"round {i} "], tools=[ToolUse(f"t{i}", "Glob", {"pattern": "*"})]) for i in range(3)])

    async def execute(call: ToolCall) -> ToolResult:
        return ToolResult("a.py")

    events = [e async for e in stream_turn(client_for(fake_api), request_for(), execute, max_rounds=2)]
    final = events[-1]
    assert isinstance(final, TurnFinished) and final.stop_reason == "max_rounds"
    assert "Stopped: the model asked for more tools after 2 rounds" in final.text
    assert final.messages[-1]["role"] == "assistant"
    assert all(b["type"] == "text" for b in final.messages[-1]["content"])  # no dangling tool_use
    assert len(fake_api.message_requests()) == 2
