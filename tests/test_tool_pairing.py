"""Every tool call the model's context keeps is answered, however its turn ended: the API refuses a
request in which an assistant ``tool_use`` is not followed by its ``tool_result`` in the next
message (and the fake server refuses it the same way), so one bad turn would make every later
question fail. Checked in the engine with the real SDK: a reply cut at the token limit in the
middle of a tool call, stopped (Esc) or failed in the middle of a tool round, declined after a
round that changed a file, and a cut reply that goes on after its tool call was cut."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.conversation.chat import GO_ON, TextDelta, ToolFinished, TurnFailed, TurnFinished, unrun_note
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.engine import Engine, EngineEvent, Question
from buddy_tui.conversation.session import TurnPlan, open_session
from buddy_tui.conversation.turnlog import DECLINED_NOTE, STOPPED_CALL
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import open_store
from buddy_tui.store.records import ToolNote, TurnRecord
from buddy_tui.tools.asking import Approval
from buddy_tui.tools.specs import ToolCall
from tests.fake_api import CUT_DEMO_REST, Cut, FakeAnthropic, Reply, ToolUse, continued_of
from tests.helpers import ScriptedAsker, turns_of, wait_until

PAGING = {"path": "app/paging.py", "content": CUT_DEMO_REST}
CUT_WRITE = ToolUse("t_cut", "Write", PAGING, cut=40)  # '{"path": "app/paging.py", "content": "   ' and no more
NOT_RUN = "Write app/paging.py not run: the reply reached the token limit in the middle of it"
EDIT = {"path": "app/models.py", "old_string": "def load_orders", "new_string": "def fetch_orders"}


def engine_for(project: Path, asker: ScriptedAsker) -> Engine:
    store, problem = open_store(history_path())
    session = open_session(project, None, Settings(max_retries=0), store, problem)
    client, connection = connect(session.settings)
    assert client is not None, connection.message
    return Engine(session, asker, client)


async def ask_engine(engine: Engine, typed: str) -> list[EngineEvent]:
    plan = engine.interpret(typed, [])
    assert isinstance(plan, TurnPlan), plan
    return [event async for event in engine.run(Question(plan))]


def final(events: list[EngineEvent]) -> TurnFinished:
    assert isinstance(events[-1], TurnFinished), events[-1]
    return events[-1]


def body(fake: FakeAnthropic, index: int) -> dict[str, Any]:
    found = fake.message_requests()[index].body
    assert found is not None
    return found


def question(turn: TurnRecord) -> dict[str, Any]:
    return {"role": "user", "content": turn.user}


def text(words: str, role: str = "assistant") -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": words}]}


def stored(engine: Engine) -> list[TurnRecord]:
    store = engine.session.store
    assert store is not None and engine.session.conversation_id is not None
    return turns_of(store, engine.session.conversation_id)


async def next_question_is_answered(engine: Engine, online: FakeAnthropic) -> dict[str, Any]:
    """Ask again: the server (which refuses an unanswered tool_use) accepts what the turn left."""
    online.queue(Reply.of("Fine."))
    final(await ask_engine(engine, "and now?"))
    return body(online, len(online.message_requests()) - 1)


# ------------------------------------------------------------------ cut at the token limit in a tool call
async def test_a_reply_cut_in_a_tool_call_leaves_the_call_out_says_so_and_tells_the_model(
        online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply(["I will put it in its own module. "], stop_reason="max_tokens", tools=[CUT_WRITE]))
    asker = ScriptedAsker([Approval("once")])
    engine = engine_for(project, asker)
    ended = final(await ask_engine(engine, "page the orders"))
    cut_call = ToolCall("t_cut", "Write", {"path": "app/paging.py"})  # its input as far as it came
    assert ended.stop_reason == "max_tokens" and ended.unrun == (cut_call,)
    assert asker.asked == [] and not (project / "app" / "paging.py").exists()  # never run, never asked
    (turn,) = engine.session.turns
    assert turn.recorded == [question(turn), text("I will put it in its own module. ")]  # no tool_use
    assert turn.tools == [ToolNote("t_cut", "Write", {"path": "app/paging.py"}, NOT_RUN, True, len(turn.reply))]
    assert [(t.state, t.tools) for t in stored(engine)] == [("cut", turn.tools)]  # shown again from the history
    assert engine.continuable is turn  # the text before the call can go on
    sent = await next_question_is_answered(engine, online)
    assert sent["messages"][:2] == turn.recorded
    note = unrun_note([cut_call])
    assert note == ("Your previous reply reached the output token limit while you were writing a Write call "
                    "(app/paging.py); that call was cut off and was not run, so nothing it would have done has "
                    "happened.")
    assert sent["messages"][2]["content"][0]["text"] == f"<note>{note}</note>"  # the model hears it once
    assert engine.session.notes == []
    await engine.close()


async def test_a_cut_tool_call_after_a_round_with_nothing_said_cannot_go_on(online: FakeAnthropic,
                                                                             project: Path) -> None:
    online.queue(Reply([], tools=[ToolUse("t_read", "Read", {"path": "app/models.py"})]),
                 Reply([], stop_reason="max_tokens", tools=[CUT_WRITE]))
    engine = engine_for(project, ScriptedAsker())
    ended = final(await ask_engine(engine, "page the orders"))
    assert [c.name for c in ended.unrun] == ["Write"]
    (turn,) = engine.session.turns
    use, results, closing = turn.recorded[1:]
    assert [b["type"] for b in use["content"]] == ["tool_use"] and use["content"][0]["id"] == "t_read"
    assert [b["tool_use_id"] for b in results["content"]] == ["t_read"]
    assert closing == text("(The reply reached the token limit while writing a Write call (app/paging.py), "
                           "which was not run.)")
    assert turn.state == "cut" and engine.continuable is None  # nothing of the model's own to go on from
    assert engine.continuation() == "Nothing to continue: the last reply was not cut at the token limit."
    await next_question_is_answered(engine, online)
    await engine.close()


async def test_going_on_after_a_cut_tool_call_makes_the_call_again(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply(["I will put it in its own module. "], stop_reason="max_tokens", tools=[CUT_WRITE]),
                 Reply([], tools=[ToolUse("t_write", "Write", PAGING)]), Reply.of("Done: app/paging.py."))
    engine = engine_for(project, ScriptedAsker([Approval("once")]))
    final(await ask_engine(engine, "page the orders"))
    assert engine.session.notes
    question_ = engine.continuation()
    assert isinstance(question_, Question)
    ended = final([event async for event in engine.run(question_)])
    assert (project / "app" / "paging.py").read_text() == CUT_DEMO_REST and ended.unrun == ()
    assert continued_of(body(online, 1)) == "I will put it in its own module. "
    assert body(online, 1)["messages"][-1] == text(GO_ON, "user")
    (turn,) = engine.session.turns
    use, results, answer = turn.recorded[1:]
    assert [b["type"] for b in use["content"]] == ["text", "tool_use"]  # the same message goes on, with its call
    assert use["content"][0]["text"] == "I will put it in its own module. "
    assert results["content"][0]["tool_use_id"] == "t_write" and answer == text("Done: app/paging.py.")
    assert GO_ON not in json.dumps(body(online, 2)) and GO_ON not in json.dumps(turn.recorded)
    sent = await next_question_is_answered(engine, online)
    assert "not run" not in json.dumps(sent)  # the note went with the cut reply: the call ran after all
    await engine.close()


# ------------------------------------------------------------------ stopped or failed in a tool round
class WaitingAsker(ScriptedAsker):
    """Asks about a change and never hears back (the person presses Esc instead)."""

    async def approve_change(self, change: Any) -> Any:
        self.asked.append(f"Approve {change.tool} of {change.path}")
        await asyncio.Event().wait()


async def test_stopped_while_a_tool_waits_leaves_every_tool_use_answered(online: FakeAnthropic,
                                                                         project: Path) -> None:
    online.queue(Reply(["Reading. "], tools=[ToolUse("t_read", "Read", {"path": "app/models.py"})]),
                 Reply(["Renaming. "], tools=[ToolUse("t_edit", "Edit", EDIT)]))
    asker = WaitingAsker()
    engine = engine_for(project, asker)
    plan = engine.interpret("rename load_orders", [])
    assert isinstance(plan, TurnPlan)
    seen: list[EngineEvent] = []

    async def consume(events: AsyncIterator[EngineEvent]) -> None:
        async for event in events:
            seen.append(event)

    task = asyncio.create_task(consume(engine.run(Question(plan))))
    await wait_until(lambda: asker.asked, what="the approval of the Edit")
    assert [e.call.name for e in seen if isinstance(e, ToolFinished)] == ["Read"]  # the Edit waits
    record = engine.stop()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert record is not None and record.state == "stopped"
    # The round that ran, and the call that waited answered as stopped (every tool_use is answered).
    results = [b for m in record.recorded if m["role"] == "user" for b in m["content"] if b["type"] == "tool_result"]
    assert [(r["tool_use_id"], r["is_error"]) for r in results] == [("t_read", False), ("t_edit", True)]
    assert results[1]["content"] == STOPPED_CALL
    sent = await next_question_is_answered(engine, online)
    assert sent["messages"][:len(record.recorded)] == record.recorded
    await engine.close()


async def test_a_failure_in_a_tool_round_leaves_every_tool_use_answered(online: FakeAnthropic,
                                                                         project: Path) -> None:
    online.queue(Reply(["Reading. "], tools=[ToolUse("t_read", "Read", {"path": "app/models.py"})]),
                 Cut(["Now the"]))
    engine = engine_for(project, ScriptedAsker())
    events = await ask_engine(engine, "review the models")
    assert isinstance(events[-1], TurnFailed)
    (turn,) = engine.session.turns
    assert turn.state == "failed" and [m["role"] for m in turn.recorded] == ["user", "assistant", "user",
                                                                              "assistant"]
    assert turn.recorded[-1]["content"][0]["text"].startswith("(This reply failed: ")
    sent = await next_question_is_answered(engine, online)
    assert sent["messages"][:4] == turn.recorded
    await engine.close()


# ------------------------------------------------------------------ declined after a round that ran
async def test_a_refusal_after_an_edit_keeps_the_round_that_ran(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply(["Renaming. "], tools=[ToolUse("t_edit", "Edit", EDIT)]),
                 Reply.refusal("And now the exploit: "))
    engine = engine_for(project, ScriptedAsker([Approval("once")]))
    ended = final(await ask_engine(engine, "rename load_orders, then something bad"))
    assert ended.refusal is not None and "def fetch_orders" in (project / "app" / "models.py").read_text()
    (turn,) = engine.session.turns
    assert turn.state == "refused" and engine.unsent is turn  # /retry is still offered
    use, results, closing = turn.recorded[1:]
    assert use["content"][-1]["name"] == "Edit" and results["content"][0]["tool_use_id"] == "t_edit"
    assert closing == text(DECLINED_NOTE)
    assert "exploit" not in json.dumps(turn.recorded)  # the refused message itself is left out
    sent = await next_question_is_answered(engine, online)
    assert sent["messages"][:4] == turn.recorded  # the model knows app/models.py changed
    assert stored(engine)[0].recorded == turn.recorded
    await engine.close()


async def test_a_refused_continuation_keeps_the_cut_reply_as_it_stood(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply.of("Part one, ", stop_reason="max_tokens"), Reply.refusal("and the bad part"))
    engine = engine_for(project, ScriptedAsker())
    final(await ask_engine(engine, "go"))
    going = engine.continuation()
    assert isinstance(going, Question)
    events = [event async for event in engine.run(going)]
    assert final(events).refusal is not None
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "and the bad part"
    (turn,) = engine.session.turns
    assert turn.recorded == [question(turn), text("Part one, ")] and turn.state == "refused"
    await next_question_is_answered(engine, online)
    await engine.close()
