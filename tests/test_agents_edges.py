"""Agents at the edges: Esc after some agents finished, tokens of an agent stopped mid-stream, two
agents editing one file at once, an agent whose last message is empty, a /consult that fails or
whose agent names no tools, and /continue keeping the agent list (the real SDK, the fake server)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.conversation.chat import TextDelta
from buddy_tui.conversation.engine import Engine, EngineEvent, Question
from buddy_tui.conversation.events import AgentEnded, AgentUpdate
from buddy_tui.conversation.session import TurnPlan, open_session
from buddy_tui.conversation.turnlog import STOPPED_CALL
from buddy_tui.settings.model_settings import Settings
from buddy_tui.store.records import TurnRecord
from buddy_tui.tools import workspace
from buddy_tui.tools.asking import Approval
from buddy_tui.tools.runner import ToolRunner
from buddy_tui.tools.specs import ToolCall
from tests.fake_api import FakeAnthropic, HttpError, Reply, ToolUse
from tests.helpers import ScriptedAsker, make_project, wait_until
from tests.test_agents_engine import _task_plan, agents_project, engine_for, lead, run, system_has, task, tool_results


class Approving(ScriptedAsker):
    async def approve_change(self, change: Any) -> Any:
        return Approval("once")


async def stop_when(engine: Engine, plan: TurnPlan, ready: Any) -> tuple[TurnRecord, list[EngineEvent]]:
    """Run ``plan`` until ``ready(events)`` holds, then press Esc."""
    seen: list[EngineEvent] = []

    async def consume() -> None:
        async for event in engine.run(Question(plan)):
            seen.append(event)

    runner = asyncio.create_task(consume())
    await wait_until(lambda: ready(seen), what="the moment to stop")
    record = engine.stop()
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await engine.close()
    assert record is not None
    return record, seen


async def test_esc_after_one_agent_finished_keeps_its_result_and_does_not_offer_the_question_again(
        online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    write = ToolUse("toolu_w", "Write", {"path": "notes.md", "content": "reviewed\n"})
    online.route(system_has("REVIEWER-MARKER"), Reply([], tools=[write]), Reply.of("Wrote the review notes."))
    online.route(system_has("SPEC-WRITER-MARKER"), Reply(["slow "] * 400, delay=0.05))
    online.route(lead, Reply([], tools=[task("toolu_a", "reviewer"), task("toolu_b", "spec-writer")]))
    engine = engine_for(root, Approving())
    backend = engine.session.find_persona("backend")
    assert backend is not None
    plan = TurnPlan("x", "x", backend, engine.session.settings.model, None, None, tools=("Write", "Task"))
    record, _ = await stop_when(engine, plan, lambda seen: any(isinstance(e, AgentEnded) for e in seen))
    assert [a.state for a in record.agents] == ["done", "interrupted"]
    results = record.recorded[2]["content"]
    assert [(r["tool_use_id"], r["is_error"]) for r in results] == [("toolu_a", False), ("toolu_b", True)]
    assert results[0]["content"].startswith("Wrote the review notes.") and "notes.md" in results[0]["content"]
    assert results[1]["content"] == STOPPED_CALL
    assert engine.unsent is None  # the finished agent's work is kept: nothing to send again
    assert engine.session.conversation.messages == record.recorded


async def test_an_agent_stopped_mid_stream_counts_the_text_it_wrote(online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("REVIEWER-MARKER"), Reply(["x" * 400] * 20 + ["."] * 400, delay=0.05))
    online.route(lead, Reply([], tools=[task("toolu_1", "reviewer")]))
    engine = engine_for(root)
    record, _ = await stop_when(engine, _task_plan(engine), lambda seen: sum(
        len(e.event.text) for e in seen if isinstance(e, AgentUpdate) and isinstance(e.event, TextDelta)) >= 4000)
    [agent] = record.agents
    assert agent.usage.output_tokens >= 1000 and agent.usage.estimated
    assert record.usage.output_tokens >= agent.usage.output_tokens  # the turn counts it too


async def test_two_agents_editing_one_file_at_once_never_lose_an_edit(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p")
    (root / "a.txt").write_text("one\ntwo\n")
    write = workspace.ProjectTools._write

    def slow_write(self: workspace.ProjectTools, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)  # a slow disk widens the gap between the check and the write
        return write(self, *args, **kwargs)

    monkeypatch.setattr(workspace.ProjectTools, "_write", slow_write)
    runner = ToolRunner(root, IgnoreRules(root), ScriptedAsker())
    runner.always_allowed.add("Edit")
    first = ToolCall("c_a", "Edit", {"path": "a.txt", "old_string": "one", "new_string": "ONE"})
    second = ToolCall("c_b", "Edit", {"path": "a.txt", "old_string": "two", "new_string": "TWO"})
    results = await asyncio.gather(runner.execute(first, ["Edit"], "x", agent="Security"),
                                   runner.execute(second, ["Edit"], "x", agent="Performance"))
    text = (root / "a.txt").read_text()
    assert [r.is_error for r in results].count(True) == 1 and text in ("ONE\ntwo\n", "one\nTWO\n")
    assert "changed on disk" in next(r.content for r in results if r.is_error)


async def test_an_agent_whose_last_message_is_empty_hands_back_what_it_said_before(
        online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    read = ToolUse("toolu_r", "Read", {"path": "app/models.py"})
    online.route(system_has("SPEC-WRITER-MARKER"), Reply.of("Findings: the orders table lacks an index.",
                                                            tools=[read]), Reply([]))
    online.route(lead, Reply([], tools=[task("toolu_1", "spec-writer")]), Reply.of("Done."))
    engine = engine_for(root)
    await run(engine, "", _task_plan(engine))
    [result] = tool_results(online.message_requests()[-1])
    assert result["content"] == "Findings: the orders table lacks an index."


async def test_a_failed_consultation_fails_the_turn_so_it_can_be_retried(online: FakeAnthropic,
                                                                         tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("REVIEWER-MARKER"), HttpError(500, "api_error", "Internal server error"))
    engine = engine_for(root)
    question = engine.consultation("reviewer", "is it safe?")
    assert isinstance(question, Question)
    [e async for e in engine.run(question)]
    await engine.close()
    record = engine.session.turns[-1]
    assert record.state == "failed" and record.failure and engine.unsent is record
    assert engine.session.conversation.messages == []  # no error text posing as an answer
    assert record.agents[0].state == "failed"


async def test_a_consulted_agent_without_tools_gets_the_current_personas(online: FakeAnthropic,
                                                                         tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("REVIEWER-MARKER"), Reply.of("ok"))
    engine = engine_for(root)
    question = engine.consultation("reviewer", "is it safe?")
    assert isinstance(question, Question)
    [e async for e in engine.run(question)]
    await engine.close()
    tools = [t["name"] for t in (online.message_requests()[-1].body or {}).get("tools", [])]
    expected = [t for t in engine.session.current.allowed_tools if t != "Task"]
    assert tools and tools == [t for t in ("Read", "Grep", "Glob", "Edit", "Write") if t in expected]


def test_going_on_with_a_cut_reply_offers_the_same_task_tool(tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    session = open_session(root, None, Settings())
    backend = session.find_persona("backend")
    assert backend is not None
    plan = TurnPlan("x", "x", backend, "m", None, None, tools=("Read", "Task"))
    _, first = session.request(plan, [])
    user = [{"type": "text", "text": "x"}]
    record = TurnRecord(typed="x", persona="backend", persona_title="Backend", model="m", user=user)
    record.recorded = [{"role": "user", "content": user},
                       {"role": "assistant", "content": [{"type": "text", "text": "cut here"}]}]
    again = session.continuation(plan, record)
    assert [t for t in again["tools"] if t["name"] == "Task"] == [t for t in first["tools"] if t["name"] == "Task"]
