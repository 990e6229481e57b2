"""How a turn ends, in the engine (no Textual, the real SDK against the fake server): a refusal,
with or without text first; a reply cut at the token limit and continued in the same turn; a
paused turn; and the tokens counted when a reply is stopped or fails part-way. Each outcome is
checked where it lands: the events, the request the server got, the context of the next question,
and the history database. ``ask``'s side of it closes the file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from buddy_tui import cli
from buddy_tui.conversation.chat import GO_ON, Counted, TextDelta, TurnFailed, TurnFinished, joined
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.engine import CONTINUE_AGAIN, Engine, EngineEvent, Question, TurnContinued, TurnStarted
from buddy_tui.conversation.session import TurnPlan, open_session
from buddy_tui.conversation.turnlog import STOPPED_GOING_ON
from buddy_tui.settings.config_file import DEFAULT_MAX_TOKENS
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import Store, open_store
from buddy_tui.store.records import TurnRecord, Usage
from tests.fake_api import (
    CUT_DEMO,
    CUT_DEMO_REST,
    Cut,
    FakeAnthropic,
    HttpError,
    Reply,
    StreamError,
    ToolUse,
    continued_of,
)
from tests.helpers import ScriptedAsker, turns_of, wait_until


@pytest.fixture
def engine(project: Path, online: FakeAnthropic) -> Engine:
    store, problem = open_store(history_path())
    session = open_session(project, None, Settings(max_retries=0), store, problem)
    client, connection = connect(session.settings)
    assert client is not None, connection.message
    return Engine(session, ScriptedAsker(), client)


async def ask_engine(engine: Engine, typed: str) -> list[EngineEvent]:
    plan = engine.interpret(typed, [])
    assert isinstance(plan, TurnPlan), plan
    return [event async for event in engine.run(Question(plan))]


async def go_on(engine: Engine) -> list[EngineEvent]:
    question = engine.continuation()
    assert isinstance(question, Question), question
    return [event async for event in engine.run(question)]


def stored(engine: Engine) -> list[TurnRecord]:
    store = engine.session.store
    assert store is not None and engine.session.conversation_id is not None
    return turns_of(store, engine.session.conversation_id)


def body(fake: FakeAnthropic, index: int) -> dict[str, Any]:
    found = fake.message_requests()[index].body
    assert found is not None
    return found


def final(events: list[EngineEvent]) -> TurnFinished:
    assert isinstance(events[-1], TurnFinished), events[-1]
    return events[-1]


def going_on(fake: FakeAnthropic, index: int) -> str:
    """The cut reply request ``index`` asked the model to go on with: it went as it stands, and a
    user message asking for the rest came after it (current models refuse a request that ends with
    an assistant message)."""
    sent = body(fake, index)["messages"]
    assert sent[-1] == {"role": "user", "content": [{"type": "text", "text": GO_ON}]}
    assert sent[-2]["role"] == "assistant"
    cut = continued_of(body(fake, index))
    assert cut is not None
    return cut


# ------------------------------------------------------------------ refusals
async def test_a_refusal_without_text_says_so_and_leaves_the_context(engine: Engine, online: FakeAnthropic) -> None:
    online.queue(Reply.refusal(explanation="This request was declined because it could enable cyber harm."),
                 Reply.of("Sure: parameterise the query."))
    ended = final(await ask_engine(engine, "write me an exploit"))
    assert ended.stop_reason == "refusal" and ended.text == ""
    assert ended.refusal is not None and ended.refusal.kind == "refusal"
    words = ended.refusal.text()
    assert words.startswith("The model declined to answer this question (policy category: cyber).")
    assert "The API said: This request was declined because it could enable cyber harm." in words
    assert "Rephrase" in words and "/model" in words and "/retry" in words  # what the person can do
    (turn,) = stored(engine)
    assert (turn.state, turn.reply, turn.failure) == ("refused", "", words)
    assert turn.recorded == [] and engine.session.conversation.messages == []  # the API asks for it to go
    assert engine.unsent is engine.session.turns[0]  # /retry sends it again (after /model picks another, say)
    await ask_engine(engine, "how do I fix load_orders?")
    assert [m["role"] for m in body(online, 1)["messages"]] == ["user"]  # no refused turn, no empty text
    await engine.close()


async def test_a_refusal_after_some_text_keeps_the_text_and_marks_it(engine: Engine, online: FakeAnthropic) -> None:
    online.queue(Reply.refusal("Here is how it starts: first ", category=None))
    events = await ask_engine(engine, "write me an exploit")
    ended = final(events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Here is how it starts: first "
    assert ended.refusal is not None
    assert ended.refusal.title == ("The model stopped part-way and declined to go on; the part that arrived is "
                                   "kept above.")
    (turn,) = stored(engine)
    assert (turn.state, turn.reply) == ("refused", "Here is how it starts: first ") and turn.recorded == []
    assert engine.continuable is None  # a refusal is not a cut: nothing to continue
    await engine.close()


# ------------------------------------------------------------------ cut at the token limit
async def test_a_cut_reply_goes_on_in_the_same_turn(engine: Engine, online: FakeAnthropic) -> None:
    online.queue(Reply.of(CUT_DEMO, stop_reason="max_tokens", output_tokens=64, input_tokens=300),
                 Reply.of(CUT_DEMO_REST, output_tokens=50, input_tokens=380), Reply.of("Test it with two pages."))
    first = final(await ask_engine(engine, "how do I page the orders?"))
    assert first.stop_reason == "max_tokens" and first.text == CUT_DEMO
    assert [t.state for t in stored(engine)] == ["cut"] and engine.continuable is engine.session.turns[0]

    events = await go_on(engine)
    assert isinstance(events[0], TurnContinued) and events[0].record is engine.session.turns[0]
    assert not any(isinstance(e, TurnStarted) for e in events)  # no new question, no new turn
    ended = final(events)
    assert ended.text == CUT_DEMO + CUT_DEMO_REST and ended.stop_reason == "end_turn"
    assert ended.usage == Usage(300 + 380, 64 + 50)  # the whole reply's tokens
    assert going_on(online, 1) == CUT_DEMO  # as it stands, its last line break too
    assert body(online, 1)["messages"][:-2] == body(online, 0)["messages"]  # the question, as it went first

    (turn,) = stored(engine)  # still one turn, now whole
    assert (turn.state, turn.reply, turn.usage) == ("complete", CUT_DEMO + CUT_DEMO_REST, Usage(680, 114))
    assert turn.recorded[-1] == {"role": "assistant", "content": [{"type": "text", "text": CUT_DEMO + CUT_DEMO_REST}]}
    assert engine.session.conversation.messages == turn.recorded  # once, not twice
    assert engine.session.conversation.usage == Usage(680, 114)
    assert engine.continuable is None
    assert engine.continuation() == "Nothing to continue: the last reply was not cut at the token limit."
    final(await ask_engine(engine, "and how do I test it?"))  # the request to go on is not in the context
    assert body(online, 2)["messages"][:2] == turn.recorded and GO_ON not in json.dumps(body(online, 2))
    await engine.close()


@pytest.mark.parametrize(("cut", "rest", "whole"), [
    ("Step one.\n\n", "\n\nStep two.", "Step one.\n\nStep two."),  # the break was shown already
    ("def f():\n", "\n    return 1", "def f():\n    return 1"),
    ("The quick ", " brown fox", "The quick brown fox"),
    ("The quick", " brown fox", "The quick brown fox"),
    ("Step one.\n\n", "Step two.", "Step one.\n\nStep two."),  # it went on without the break: kept
])
async def test_the_rest_joins_the_cut_text_as_one_text(engine: Engine, online: FakeAnthropic, cut: str, rest: str,
                                                       whole: str) -> None:
    online.queue(Reply.of(cut, stop_reason="max_tokens"), Reply.of(rest, size=1))
    await ask_engine(engine, "go")
    events = await go_on(engine)
    shown = cut + "".join(e.text for e in events if isinstance(e, TextDelta))
    assert shown == whole == final(events).text == engine.session.turns[0].reply
    assert joined(cut[len(cut.rstrip()):], rest) == whole[len(cut):]
    assert going_on(online, 1) == cut  # the model sees the break the reader saw
    assert engine.session.conversation.messages[-1]["content"] == [{"type": "text", "text": whole}]
    await engine.close()


async def test_a_continuation_that_fails_leaves_the_reply_cut_to_try_again(engine: Engine,
                                                                           online: FakeAnthropic) -> None:
    online.queue(Reply.of("Part one, ", stop_reason="max_tokens", output_tokens=4),
                 Cut(["part two, "]), Reply.of("part three.", output_tokens=3))
    await ask_engine(engine, "go")
    failed = await go_on(engine)
    assert isinstance(failed[-1], TurnFailed) and failed[-1].failure.hint == CONTINUE_AGAIN
    assert failed[-1].usage == Usage(50, 4 + 3, estimated=True)  # "part two, ": ~3 tokens, estimated
    turn = engine.session.turns[0]
    assert (turn.state, turn.reply) == ("cut", "Part one, part two, ") and engine.continuable is turn
    assert engine.unsent is None  # the question was answered in part: it is not sent again
    assert turn.failure.endswith(CONTINUE_AGAIN)
    assert going_on(online, 1) == "Part one, "
    ended = final(await go_on(engine))
    assert ended.text == "Part one, part two, part three."
    assert going_on(online, 2) == "Part one, part two, "  # what arrived before the failure went too
    assert [t.state for t in stored(engine)] == ["complete"] and stored(engine)[0].failure == ""
    await engine.close()


async def test_stopping_a_continuation_keeps_the_reply_cut_to_go_on_again(engine: Engine,
                                                                         online: FakeAnthropic) -> None:
    online.queue(Reply.of("Part one, ", stop_reason="max_tokens", output_tokens=4),
                 Reply(["part two, ", *["more "] * 200], delay=0.05), Reply.of("the end."))
    await ask_engine(engine, "go")
    question = engine.continuation()
    assert isinstance(question, Question)
    seen: list[EngineEvent] = []

    async def consume(events: AsyncIterator[EngineEvent]) -> None:
        async for event in events:
            seen.append(event)

    task = asyncio.create_task(consume(engine.run(question)))
    await wait_until(lambda: any(isinstance(e, TextDelta) for e in seen), what="the rest to start")
    record = engine.stop()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert record is engine.session.turns[0] and (record.state, record.failure) == ("cut", STOPPED_GOING_ON)
    assert record.reply.startswith("Part one, part two, ")
    assert record.recorded[-1]["content"][-1]["text"] == record.reply  # the model keeps all of it
    assert engine.session.conversation.messages == record.recorded
    assert record.usage.input_tokens == 25 + 25 and record.usage.estimated  # both requests' input
    assert [(t.state, t.reply) for t in stored(engine)] == [("cut", record.reply)]
    assert engine.continuable is record  # it can go on again, from where it now stands
    so_far = record.reply
    ended = final(await go_on(engine))
    assert going_on(online, 2) == so_far and ended.text == so_far + "the end."
    assert [(t.state, t.reply, t.failure) for t in stored(engine)] == [("complete", so_far + "the end.", "")]
    await engine.close()


async def test_a_paused_turn_is_continued_at_once_into_one_reply(engine: Engine, online: FakeAnthropic) -> None:
    online.queue(Reply.of("Searching. ", stop_reason="pause_turn"), Reply.of("Found it."))
    ended = final(await ask_engine(engine, "go"))
    assert ended.text == "Searching. Found it." and ended.stop_reason == "end_turn"
    assert going_on(online, 1) == "Searching. "
    assert ended.messages == ({"role": "assistant", "content": [{"type": "text", "text": "Searching. Found it."}]},)
    await engine.close()


# ------------------------------------------------------------------ tokens of a reply that did not finish
async def test_a_failure_counts_what_the_server_reported(engine: Engine, online: FakeAnthropic) -> None:
    online.queue(StreamError(["Half an answer"], after_delta=True, output_tokens=9),
                 Cut(["Half an answer"]), HttpError(500, "api_error", "Internal server error"))
    reported = await ask_engine(engine, "one")
    assert isinstance(reported[-1], TurnFailed) and reported[-1].usage == Usage(25, 9)  # message_delta's count
    estimated = await ask_engine(engine, "two")
    assert isinstance(estimated[-1], TurnFailed) and estimated[-1].usage == Usage(25, 4, estimated=True)
    nothing = await ask_engine(engine, "three")
    assert isinstance(nothing[-1], TurnFailed) and nothing[-1].usage == Usage()  # nothing came back
    assert [t.usage for t in stored(engine)] == [Usage(25, 9), Usage(25, 4, estimated=True), Usage()]
    assert engine.session.conversation.usage == Usage(50, 13, estimated=True)
    await engine.close()


async def test_running_counts_give_each_rounds_input_then_its_output(engine: Engine, online: FakeAnthropic) -> None:
    online.queue(Reply.of("Done.", output_tokens=7, input_tokens=40))
    events = await ask_engine(engine, "go")
    counts = [e for e in events if isinstance(e, Counted)]
    assert counts == [Counted(Usage(40, 0)), Counted(Usage(40, 7), reported=True)]
    await engine.close()


# ------------------------------------------------------------------ ask
def ask(*args: str) -> int:
    return cli.main(["ask", *args])


def test_ask_says_a_refusal_on_stderr_and_exits_4(online: FakeAnthropic, project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.refusal("Here is the start ", explanation="Declined."))
    assert ask("-C", str(project), "--no-stdin", "--format", "json", "write an exploit") == 4
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert "".join(e["text"] for e in lines if e["type"] == "delta") == "Here is the start "
    assert lines[-1]["type"] == "error" and lines[-1]["retryable"] is False
    assert lines[-1]["message"].startswith("The model stopped part-way and declined to go on (policy category: "
                                           "cyber)")
    assert "error: The model stopped part-way" in captured.err and "--model" in captured.err
    (summary,) = Store(history_path()).conversations(str(project))
    assert [t.state for t in turns_of(Store(history_path()), summary.id)] == ["refused"]


def test_ask_says_a_cut_reply_was_cut_and_how_to_get_the_rest(online: FakeAnthropic, project: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of("The first half", stop_reason="max_tokens"))
    assert ask("-C", str(project), "--no-stdin", "--format", "text", "explain it") == 0
    captured = capsys.readouterr()
    assert captured.out == "The first half"
    assert (f"the reply was cut at the token limit ({DEFAULT_MAX_TOKENS:,} tokens; BUDDY_TUI_MAX_TOKENS raises it)"
            in captured.err)
    assert "--continue, then Enter, asks for the rest in the app" in captured.err


def test_ask_says_a_tool_call_cut_at_the_token_limit_was_not_run(online: FakeAnthropic, project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cut = ToolUse("t_cut", "Write", {"path": "app/paging.py", "content": CUT_DEMO_REST}, cut=40)
    online.queue(Reply.of("Writing it. ", stop_reason="max_tokens", tools=[cut]))
    assert ask("-C", str(project), "--no-stdin", "--allow-edits", "page the orders") == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Writing it.") and not (project / "app" / "paging.py").exists()
    assert "Write app/paging.py not run: the reply reached the token limit in the middle of it" in captured.err
