"""The conversation engine on its own: no Textual, a scripted asker, and the real SDK talking to
the fake Anthropic server over loopback. Every decision a person makes goes through the asker, and
each outcome is checked where it lands: the request the server got, the project's files, the
history database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.conversation.chat import TextDelta, ToolFinished, TurnFailed, TurnFinished
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.engine import Abandoned, Engine, EngineEvent, Notice, Question, TurnStarted
from buddy_tui.conversation.session import Session, TurnPlan, open_session
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import open_store
from buddy_tui.tools.asking import Approval
from tests.fake_api import Cut, FakeAnthropic, Reply, ToolUse
from tests.helpers import ScriptedAsker, dead_owner, wait_until


def engine_for(root: Path, asker: ScriptedAsker, *, history: bool = True, **settings: Any) -> Engine:
    store, problem = open_store(history_path()) if history else (None, "")
    session = open_session(root, None, Settings(**{"max_retries": 0, **settings}), store, problem)
    client, connection = connect(session.settings)
    assert client is not None, connection.message
    return Engine(session, asker, client)


def plan_of(engine: Engine, typed: str) -> TurnPlan:
    plan = engine.interpret(typed, [])
    assert isinstance(plan, TurnPlan), plan
    return plan


async def run(engine: Engine, typed: str) -> list[EngineEvent]:
    events = [event async for event in engine.run(Question(plan_of(engine, typed)))]
    await engine.close()
    return events


def sent(fake: FakeAnthropic) -> str:
    """Everything the model was sent in the first message request."""
    return json.dumps(fake.message_requests()[0].body)


# ------------------------------------------------------------------ secrets files named in the question
@pytest.mark.parametrize(("answer", "goes"), [("yes", True), ("no", False)])
async def test_a_mentioned_secrets_file_goes_only_with_consent(online: FakeAnthropic, project: Path,
                                                               answer: str, goes: bool) -> None:
    online.queue(Reply.of("Checked."))
    asker = ScriptedAsker([answer])
    events = await run(engine_for(project, asker), "is @.env right?")
    assert asker.asked == ["Send .env?"]
    assert isinstance(events[-1], TurnFinished)
    assert ("postgres://u:p@db/orders" in sent(online)) is goes
    started = next(e for e in events if isinstance(e, TurnStarted))
    assert [a.path for a in started.attachments] == ([".env"] if goes else [])


async def test_cancelling_the_secrets_question_sends_nothing(online: FakeAnthropic, project: Path) -> None:
    engine = engine_for(project, ScriptedAsker([None]))
    events = await run(engine, "is @.env right?")
    assert len(events) == 1 and isinstance(events[0], Abandoned) and events[0].reason == ""
    assert events[0].question.plan.typed == "is @.env right?"  # it goes back to the person as typed
    assert online.message_requests() == [] and engine.session.turns == []


# ------------------------------------------------------------------ secret values inside attached files
@pytest.mark.parametrize(("answer", "expect"), [("redact", "[REDACTED:"), ("send", "hunter2-prod-Secret9")])
async def test_secret_values_are_redacted_or_sent_as_the_asker_says(online: FakeAnthropic, project: Path,
                                                                    answer: str, expect: str) -> None:
    (project / "app" / "settings.py").write_text('DB_PASSWORD = "hunter2-prod-Secret9"\n')
    online.queue(Reply.of("Fine."))
    asker = ScriptedAsker([answer])
    await run(engine_for(project, asker), "look at @app/settings.py")
    assert asker.asked == ["1 secret-looking value(s) in the attached files"]
    assert expect in sent(online)
    if answer == "redact":
        assert "hunter2-prod-Secret9" not in sent(online)


# ------------------------------------------------------------------ the context budget
@pytest.mark.parametrize("answer", ["drop", "head", None])
async def test_over_budget_the_asker_chooses_what_gives(online: FakeAnthropic, project: Path,
                                                       monkeypatch: pytest.MonkeyPatch, answer: str | None) -> None:
    monkeypatch.setenv("BUDDY_TUI_CONTEXT_BUDGET", "20000")
    (project / "dump.sql").write_text("INSERT INTO t VALUES (1);\n" * 4000)  # ~30k tokens
    online.queue(Reply.of("fits now"))
    asker = ScriptedAsker([answer])
    engine = engine_for(project, asker, max_tokens=1000)
    events = await run(engine, "explain @dump.sql please")
    assert asker.asked and asker.asked[0].startswith("Too big for the model by ")
    if answer is None:
        assert isinstance(events[-1], Abandoned) and events[-1].budget is not None
        assert online.message_requests() == [] and engine.session.turns == []
        return
    assert isinstance(events[-1], TurnFinished) and events[-1].text == "fits now"
    body = sent(online)
    if answer == "drop":
        assert Notice("Sent without the attached files, which did not fit.", "warning") in events
        assert "<source>dump.sql</source>" not in body
    else:
        assert "<source>dump.sql</source>" in body and "Only the first" in body
        assert 0 < body.count("INSERT INTO t VALUES") < 4000


# ------------------------------------------------------------------ approving tool calls
@pytest.mark.parametrize(("approval", "changed"), [
    (Approval("once"), True), (Approval("deny", "keep the raw SQL"), False), (None, False)])
async def test_an_edit_runs_only_when_the_asker_approves(online: FakeAnthropic, project: Path,
                                                         approval: Approval | None, changed: bool) -> None:
    edit = {"path": "app/models.py", "old_string": "def load_orders", "new_string": "def fetch_orders"}
    online.queue(Reply(["Let me fix that."], tools=[ToolUse("t1", "Edit", edit)]), Reply.of("Done."))
    asker = ScriptedAsker([approval])
    events = await run(engine_for(project, asker), "rename load_orders")
    assert asker.asked == ["Approve Edit of app/models.py"]
    assert ("def fetch_orders" in (project / "app" / "models.py").read_text()) is changed
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.outcome.is_error is not changed
    results = online.message_requests()[1].body["messages"][-1]["content"]  # type: ignore[index]
    if approval is not None and approval.decision == "deny":
        assert "denied this change" in results[0]["content"] and "keep the raw SQL" in results[0]["content"]


async def test_allowed_for_the_conversation_is_not_asked_again(online: FakeAnthropic, project: Path) -> None:
    write = {"path": "notes.md", "content": "one\n"}
    again = {"path": "notes.md", "content": "two\n"}
    online.queue(Reply([""], tools=[ToolUse("t1", "Write", write)]), Reply([""], tools=[ToolUse("t2", "Write", again)]),
                 Reply.of("Written twice."))
    asker = ScriptedAsker([Approval("always")])
    events = await run(engine_for(project, asker), "write notes")
    assert asker.asked == ["Approve Write of notes.md"]  # the second Write went through without asking
    assert (project / "notes.md").read_text() == "two\n" and isinstance(events[-1], TurnFinished)


# ------------------------------------------------------------------ stopping, failing, recovering
async def test_stop_mid_stream_keeps_what_arrived_and_stores_it(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply(["First part. ", *["more "] * 200], delay=0.05))
    engine = engine_for(project, ScriptedAsker())
    seen: list[EngineEvent] = []

    async def consume(events: AsyncIterator[EngineEvent]) -> None:
        async for event in events:
            seen.append(event)

    task = asyncio.create_task(consume(engine.run(Question(plan_of(engine, "explain")))))
    await wait_until(lambda: any(isinstance(e, TextDelta) for e in seen), what="the first text")
    record = engine.stop()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert record is not None and record.state == "stopped" and record.reply.startswith("First part.")
    assert not engine.busy and engine.stop() is None  # stopping twice records nothing more
    assert engine.unsent is None  # an answer had started: it stays, and is not offered again
    stored = engine.session.store.load(engine.session.conversation_id)  # type: ignore[union-attr,arg-type]
    assert stored is not None and [t.state for t in stored.turns] == ["stopped"]
    assert stored.turns[0].reply.startswith("First part.")
    await engine.close()


async def test_a_failed_turn_is_offered_for_retry_with_the_same_content(online: FakeAnthropic,
                                                                        project: Path) -> None:
    online.queue(Cut(["Half"]), Reply.of("Whole answer."))
    engine = engine_for(project, ScriptedAsker())
    first = [e async for e in engine.run(Question(plan_of(engine, "review @app/models.py")))]
    assert isinstance(first[-1], TurnFailed) and engine.unsent is not None
    question = engine.retry()
    assert isinstance(question, Question) and engine.unsent is None
    second = [e async for e in engine.run(question)]
    await engine.close()
    assert isinstance(second[-1], TurnFinished) and second[-1].text == "Whole answer."
    bodies = [r.body for r in online.message_requests()]
    assert bodies[0]["messages"][-1] == bodies[1]["messages"][-1]
    assert engine.retry() == "Nothing to retry: every question so far got its answer."


async def test_a_crash_mid_reply_is_recovered_on_the_next_start(online: FakeAnthropic, project: Path) -> None:
    """A process that dies while the reply streams leaves the turn 'streaming' in the database;
    the next engine on the project finds it, brings it back marked interrupted, and offers it."""
    store, _ = open_store(history_path())
    assert store is not None
    crashed: Session = open_session(project, None, Settings(), store)
    plan = crashed.interpret("why is it slow?", [])
    assert isinstance(plan, TurnPlan)
    user, _request = crashed.request(plan, [])
    log = crashed.begin_turn(plan, user, [])
    log.feed(TextDelta("It is slow because"))
    crashed.save(log)  # a checkpoint; then the process is gone
    store.checkpoints.flush()
    store._db.execute("UPDATE turns SET owner = ? WHERE id = ?", (dead_owner(), log.record.id))

    engine = engine_for(project, ScriptedAsker())
    found = await asyncio.to_thread(engine.recovery, False)
    assert found.crashed == [crashed.conversation_id] and "Ctrl+R or /retry" in found.message
    stored = engine.open(found.crashed[0])
    assert stored is not None and stored.turns[-1].state == "interrupted"
    assert stored.turns[-1].reply.startswith("It is slow because")
    assert engine.unsent is not None and engine.unsent.typed == "why is it slow?"
    online.queue(Reply.of("Because of N+1 queries."))
    question = engine.retry()
    assert isinstance(question, Question)
    events = [e async for e in engine.run(question)]
    await engine.close()
    assert isinstance(events[-1], TurnFinished)
    assert [t.state for t in engine.session.turns] == ["interrupted", "complete"]


async def test_a_question_that_cannot_fit_goes_back_with_its_files(online: FakeAnthropic, project: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping the files was not enough (the persona alone is over this tiny window): nothing is
    sent, and the question goes back with the files it was asked with."""
    from buddy_tui.context.attachments import load_attachment

    monkeypatch.setenv("BUDDY_TUI_CONTEXT_BUDGET", "300")
    engine = engine_for(project, ScriptedAsker(["drop"]), max_tokens=50)
    chip = load_attachment(project / "app" / "models.py", project)
    events = [e async for e in engine.run(Question(plan_of(engine, "explain this"), (chip,)))]
    await engine.close()
    final = events[-1]
    assert isinstance(final, Abandoned) and "no longer fits" in final.reason
    assert final.question.chips == (chip,)
    assert online.message_requests() == [] and engine.session.turns == []
