"""Agents through the engine: the Task tool runs an agent as its own conversation, with the real
SDK talking to the fake Anthropic server. Requests are told apart by their system prompt (each
agent's body carries a marker), since agents that run at the same time reach the server in any
order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.conversation.chat import TextDelta, ToolFinished, ToolStarted, TurnFinished
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.engine import Engine, EngineEvent, Question, TurnStarted
from buddy_tui.conversation.events import AgentEnded, AgentStarted, AgentStatus, AgentUpdate
from buddy_tui.conversation.session import Session, TurnPlan, open_session
from buddy_tui.personas.commands import load_command
from buddy_tui.settings.config_file import UserConfig
from buddy_tui.settings.model_settings import Settings, resolve_model
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import open_store
from buddy_tui.tools.asking import Approval
from tests.fake_api import FakeAnthropic, HttpError, RecordedRequest, Reply, ToolUse
from tests.helpers import ScriptedAsker, wait_until

SPEC_WRITER = """---
name: spec-writer
description: Use this agent when a feature needs a written specification.\\n\\n<example>\\nuser: "spec it"\\n</example>
model: haiku
color: blue
tools: Read, Grep
---

SPEC-WRITER-MARKER You write feature specifications from a short description.
"""
REVIEWER = """---
name: reviewer
description: Reviews a change
color: green
---

REVIEWER-MARKER You review changes.
"""
SPEC_COMMAND = """---
description: Write a specification
---

Use the Task tool to launch the spec-writer agent with the following prompt: write a spec for $ARGUMENTS.

**IMPORTANT**: Use the Task tool with subagent_type "spec-writer" to launch this work.
"""


def agents_project(root: Path) -> Path:
    """A project with two agents (one with its own tools and model, one without) and a command
    that, like Claude Buddy's, tells the model to launch one."""
    from tests.helpers import make_project

    make_project(root)
    (root / ".claude" / "agents").mkdir(parents=True)
    (root / ".claude" / "agents" / "spec-writer.md").write_text(SPEC_WRITER)
    (root / ".claude" / "agents" / "reviewer.md").write_text(REVIEWER)
    (root / ".claude" / "commands" / "buddy").mkdir(parents=True)
    (root / ".claude" / "commands" / "buddy" / "spec.md").write_text(SPEC_COMMAND)
    return root


def engine_for(root: Path, asker: ScriptedAsker | None = None, *, parallel: int = 4, **settings: Any) -> Engine:
    store, problem = open_store(history_path())
    session = open_session(root, None, Settings(**{"max_retries": 0, **settings}), store, problem,
                           config=UserConfig(max_parallel_agents=parallel))
    client, connection = connect(session.settings)
    assert client is not None, connection.message
    return Engine(session, asker or ScriptedAsker(), client)


def system_has(marker: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: marker in json.dumps(body.get("system"))


def lead(body: dict[str, Any]) -> bool:
    return "MARKER" not in json.dumps(body.get("system"))


def task(call_id: str, agent: str, prompt: str = "look at app/models.py", about: str = "check it") -> ToolUse:
    return ToolUse(call_id, "Task", {"description": about, "prompt": prompt, "subagent_type": agent})


def requests_to(fake: FakeAnthropic, marker: str) -> list[RecordedRequest]:
    return [r for r in fake.message_requests() if marker in r.system_text]


async def run(engine: Engine, typed: str, plan: TurnPlan | None = None) -> list[EngineEvent]:
    plan = plan or engine.interpret(typed, [])  # type: ignore[assignment]
    assert isinstance(plan, TurnPlan), plan
    events = [event async for event in engine.run(Question(plan))]
    await engine.close()
    return events


def tool_results(request: RecordedRequest) -> list[dict[str, Any]]:
    last = (request.body or {})["messages"][-1]
    return [b for b in last["content"] if b.get("type") == "tool_result"]


# ------------------------------------------------------------------ a command launches an agent
async def test_a_project_command_launches_its_agent_with_its_own_prompt_tools_and_model(
        online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("SPEC-WRITER-MARKER"), Reply.of("## Spec\nOrders get paged.", size=5))
    online.route(lead, Reply([], tools=[task("toolu_1", "spec-writer", "write a spec for paging")]),
                 Reply.of("The spec is ready."))
    engine = engine_for(root, model="claude-lead-test")
    plan = engine.interpret("/buddy:spec paging", [])
    assert isinstance(plan, TurnPlan) and "Task" in plan.tools  # the command's text asks for the Task tool
    events = await run(engine, "", plan)

    first = online.message_requests()[0].body or {}
    offered = {t["name"]: t for t in first["tools"]}
    assert "- spec-writer: Use this agent when a feature needs a written specification." in \
        offered["Task"]["description"]
    assert offered["Task"]["input_schema"]["required"] == ["description", "prompt", "subagent_type"]

    [agent_request] = requests_to(online, "SPEC-WRITER-MARKER")
    body = agent_request.body or {}
    assert body["system"][0]["text"].startswith("SPEC-WRITER-MARKER")
    assert [t["name"] for t in body["tools"]] == ["Read", "Grep"]  # its own tools: no Task, no Edit
    assert body["model"] == resolve_model("haiku", "claude-lead-test") != "claude-lead-test"
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "write a spec for paging", "cache_control": {"type": "ephemeral"}}]}]

    kinds = [type(e).__name__ for e in events if not isinstance(e, TextDelta | AgentUpdate)]
    assert kinds[kinds.index("ToolStarted"):kinds.index("ToolStarted") + 3] == ["ToolStarted", "AgentStarted",
                                                                                  "AgentEnded"]
    assert kinds[kinds.index("AgentEnded") + 1] == "ToolFinished"
    texts = "".join(e.event.text for e in events if isinstance(e, AgentUpdate) and isinstance(e.event, TextDelta))
    assert texts == "## Spec\nOrders get paged."
    [result] = tool_results(online.message_requests()[-1])
    assert result["content"] == "## Spec\nOrders get paged." and result["is_error"] is False

    record = engine.session.turns[-1]
    assert record.state == "complete" and record.reply == "The spec is ready."
    [agent] = record.agents
    assert (agent.id, agent.name, agent.color, agent.state, agent.reply) == (
        "toolu_1", "spec-writer", "blue", "done", "## Spec\nOrders get paged.")
    assert agent.usage.input_tokens == 25 and record.usage.input_tokens == 3 * 25  # the lead's two rounds + the agent


async def test_an_agent_without_tools_gets_the_leads_tools_but_never_task(online: FakeAnthropic,
                                                                          tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("REVIEWER-MARKER"), Reply.of("Looks fine."))
    online.route(lead, Reply([], tools=[task("toolu_1", "reviewer")]), Reply.of("Reviewed."))
    engine = engine_for(root)
    plan = engine.interpret("review app/models.py", [])
    assert isinstance(plan, TurnPlan)
    plan = TurnPlan(plan.typed, plan.prompt, engine.session.find_persona("backend") or plan.persona, plan.model,
                    None, None, tools=("Read", "Grep", "Glob", "Edit", "Write", "Task"))
    await run(engine, "", plan)
    [agent_request] = requests_to(online, "REVIEWER-MARKER")
    assert [t["name"] for t in (agent_request.body or {})["tools"]] == ["Read", "Grep", "Glob", "Edit", "Write"]
    assert (agent_request.body or {})["model"] == engine.session.settings.model  # no model: the lead's


# ------------------------------------------------------------------ several at once
async def test_two_tasks_in_one_message_run_at_the_same_time_and_answer_in_call_order(
        online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("SPEC-WRITER-MARKER"), Reply.of("spec findings here", 2, delay=0.05))
    online.route(system_has("REVIEWER-MARKER"), Reply.of("review findings", 2, delay=0.05))
    online.route(lead, Reply([], tools=[task("toolu_a", "reviewer"), task("toolu_b", "spec-writer")]),
                 Reply.of("Merged."))
    events = await run(engine_for(root), "", _task_plan(engine_for(root)))
    spec, review = requests_to(online, "SPEC-WRITER-MARKER")[0], requests_to(online, "REVIEWER-MARKER")[0]
    assert spec.answered is not None and review.answered is not None
    assert spec.received < review.answered and review.received < spec.answered  # their streams overlapped
    results = tool_results(online.message_requests()[-1])
    assert [(r["tool_use_id"], r["content"]) for r in results] == [("toolu_a", "review findings"),
                                                                    ("toolu_b", "spec findings here")]
    started = [e.agent_id for e in events if isinstance(e, AgentStarted)]
    assert started == ["toolu_a", "toolu_b"]
    assert [e.call.id for e in events if isinstance(e, ToolStarted)] == ["toolu_a", "toolu_b"]


def _task_plan(engine: Engine) -> TurnPlan:
    backend = engine.session.find_persona("backend")
    assert backend is not None
    return TurnPlan("check the change", "check the change", backend, engine.session.settings.model, None, None,
                    tools=("Read", "Grep", "Glob", "Task"))


async def test_more_agents_than_allowed_at_once_wait_in_a_queue(online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("SPEC-WRITER-MARKER"), Reply.of("spec findings", 2, delay=0.03))
    online.route(system_has("REVIEWER-MARKER"), Reply.of("review findings", 2, delay=0.03))
    online.route(lead, Reply([], tools=[task("toolu_a", "reviewer"), task("toolu_b", "spec-writer")]),
                 Reply.of("Merged."))
    engine = engine_for(root, parallel=1)
    events = await run(engine, "", _task_plan(engine))
    queued = [e.agent_id for e in events if isinstance(e, AgentStarted) and e.queued]
    assert queued == ["toolu_b"]
    first, second = requests_to(online, "REVIEWER-MARKER")[0], requests_to(online, "SPEC-WRITER-MARKER")[0]
    assert first.answered is not None and second.received >= first.answered  # one after the other
    assert [a.state for a in engine.session.turns[-1].agents] == ["done", "done"]


# ------------------------------------------------------------------ bad input, failures, Esc
@pytest.mark.parametrize(("call_input", "expected"), [
    ({"description": "x", "prompt": "go", "subagent_type": "astrologer"}, "no agent called 'astrologer'"),
    ({"description": "x", "prompt": "  ", "subagent_type": "reviewer"}, "Task needs a prompt"),
    ({"description": "x", "prompt": "go"}, "Task needs a subagent_type"),
])
async def test_a_bad_task_call_gets_an_error_result_naming_the_agents(
        online: FakeAnthropic, tmp_path: Path, call_input: dict[str, Any], expected: str) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(lead, Reply([], tools=[ToolUse("toolu_x", "Task", call_input)]), Reply.of("Sorry."))
    engine = engine_for(root)
    events = await run(engine, "", _task_plan(engine))
    [result] = tool_results(online.message_requests()[-1])
    assert result["is_error"] is True and expected in result["content"]
    if "prompt" not in expected:  # a wrong or missing name: the right ones are listed
        assert all(name in result["content"] for name in ("reviewer", "spec-writer", "security", "backend"))
    assert not any(isinstance(e, AgentStarted) for e in events) and len(online.message_requests()) == 2
    assert isinstance(events[-1], TurnFinished)


async def test_a_failing_agent_returns_an_error_with_what_it_wrote_and_the_lead_goes_on(
        online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("REVIEWER-MARKER"), HttpError(500, "api_error", "Internal server error"))
    online.route(lead, Reply([], tools=[task("toolu_1", "reviewer")]), Reply.of("The reviewer failed."))
    engine = engine_for(root)
    events = await run(engine, "", _task_plan(engine))
    ended = next(e for e in events if isinstance(e, AgentEnded))
    assert ended.outcome == "failed" and ended.why
    [result] = tool_results(online.message_requests()[-1])
    assert result["is_error"] is True and result["content"].startswith("The reviewer agent failed:")
    finished = next(e for e in events if isinstance(e, ToolFinished))
    assert finished.outcome.is_error and "failed" in finished.outcome.summary
    assert isinstance(events[-1], TurnFinished) and engine.session.turns[-1].agents[0].state == "failed"


async def test_esc_during_an_agent_stops_it_and_marks_it_interrupted(online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("REVIEWER-MARKER"), Reply(["partial ", "review"] + ["."] * 400, delay=0.05))
    online.route(lead, Reply([], tools=[task("toolu_1", "reviewer")]))
    engine = engine_for(root)
    seen: list[EngineEvent] = []

    async def consume() -> None:
        async for event in engine.run(Question(_task_plan(engine))):
            seen.append(event)

    runner = asyncio.create_task(consume())
    await wait_until(lambda: any(isinstance(e, AgentUpdate) and isinstance(e.event, TextDelta) for e in seen),
                     what="the agent's first text")
    record = engine.stop()
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    assert record is not None and record.state == "stopped"
    [agent] = record.agents
    assert agent.state == "interrupted" and agent.reply.startswith("partial")
    await wait_until(online.client_gone.is_set, what="the agent's stream to close")
    assert engine.session.store is not None and engine.session.conversation_id is not None
    stored = engine.session.store.load(engine.session.conversation_id)
    assert stored is not None and stored.turns[-1].state == "stopped"
    await engine.close()


async def test_an_agents_change_is_approved_through_the_same_asker_naming_the_agent(
        online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    edit = ToolUse("toolu_w", "Write", {"path": "notes.md", "content": "reviewed\n"})
    online.route(system_has("REVIEWER-MARKER"), Reply([], tools=[edit]), Reply.of("Wrote notes."))
    online.route(lead, Reply([], tools=[task("toolu_1", "reviewer")]), Reply.of("Done."))

    class Recording(ScriptedAsker):
        async def approve_change(self, change: Any) -> Any:
            self.asked.append(f"{change.agent}: {change.tool} {change.path}")
            return Approval("once")

    asker = Recording()
    engine = engine_for(root, asker)
    events = await run(engine, "", TurnPlan("x", "x", engine.session.find_persona("backend"),  # type: ignore[arg-type]
                                            engine.session.settings.model, None, None, tools=("Write", "Task")))
    assert asker.asked == ["Reviewer: Write notes.md"]
    assert (root / "notes.md").read_text() == "reviewed\n"
    statuses = [e.status for e in events if isinstance(e, AgentStatus)]
    assert statuses == ["waiting for approval", "running"]
    assert "toolu_w" in engine.runner.changes  # undoable like the lead's own changes


# ------------------------------------------------------------------ who is offered Task, pins, /consult
def test_commands_that_say_to_use_the_task_tool_launch_agents(tmp_path: Path) -> None:
    folder = tmp_path / "commands"
    folder.mkdir()
    cases = {"a": (SPEC_COMMAND, True),
             "b": ("---\nallowed-tools: Read, Task\n---\nDo it: $ARGUMENTS\n", True),
             "c": ("Make a task list for $ARGUMENTS, then review the tasks.\n", False),
             "d": ("Hand it over (subagent_type: git-workflow).\n", True)}
    for name, (text, _) in cases.items():
        (folder / f"{name}.md").write_text(text)
    assert {name: load_command(folder / f"{name}.md", folder, "project").launches_agents
            for name in cases} == {name: expected for name, (_, expected) in cases.items()}


def test_a_persona_the_person_chose_stays_for_the_conversation(tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    session: Session = open_session(root, None, Settings())
    assert not session.pinned
    assert session.switch("security") is not None and session.pinned
    plan = session.interpret("the p99 latency of /orders doubled and the query is slow", [])
    assert isinstance(plan, TurnPlan) and plan.persona.name == "security"
    session.toggle_pin()  # unpinned: the best expert answers again
    plan = session.interpret("the p99 latency of /orders doubled and the query is slow", [])
    assert isinstance(plan, TurnPlan) and plan.persona.name == "performance"
    picked = session.interpret("how should we deploy this?", [], session.find_persona("reviewer"))
    assert isinstance(picked, TurnPlan) and picked.picked
    session.commit(picked)  # an F2 pick, sent: it stays
    assert session.pinned and session.current.name == "reviewer"
    assert open_session(root, "devops", Settings()).pinned  # --persona too


async def test_consult_asks_one_agent_directly_with_the_attached_files(online: FakeAnthropic,
                                                                        tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    online.route(system_has("REVIEWER-MARKER"), Reply.of("Direct answer."))
    engine = engine_for(root)
    assert "Usage: /consult NAME QUESTION" in str(engine.consultation("", "hi"))
    assert "no agent called 'nobody'" in str(engine.consultation("nobody", "hi"))
    question = engine.consultation("reviewer", "is @app/models.py safe?")
    assert isinstance(question, Question)
    events = [e async for e in engine.run(question)]
    await engine.close()
    [request] = online.message_requests()
    assert "REVIEWER-MARKER" in request.system_text and "class Order" in json.dumps(request.body)  # the file too
    assert isinstance(next(e for e in events if isinstance(e, TurnStarted)), TurnStarted)
    assert [type(e).__name__ for e in events if isinstance(e, AgentStarted | AgentEnded)] == ["AgentStarted",
                                                                                            "AgentEnded"]
    record = engine.session.turns[-1]
    assert record.state == "complete" and record.agents[0].reply == "Direct answer."
    assert engine.session.conversation.messages[-1]["content"][0]["text"] == "Direct answer."
    assert engine.session.current.name != "reviewer"  # a consultation changes nobody's turn


async def test_the_task_result_is_the_agents_last_message_not_what_it_said_on_the_way(
        online: FakeAnthropic, tmp_path: Path) -> None:
    root = agents_project(tmp_path / "shop")
    read = ToolUse("toolu_r", "Read", {"path": "app/models.py"})
    online.route(system_has("SPEC-WRITER-MARKER"), Reply.of("Let me read the models first.", tools=[read]),
                 Reply.of("The spec: orders are paged."))
    online.route(lead, Reply([], tools=[task("toolu_1", "spec-writer")]), Reply.of("Done."))
    engine = engine_for(root)
    await run(engine, "", _task_plan(engine))
    [result] = tool_results(online.message_requests()[-1])
    assert result["content"] == "The spec: orders are paged."
    agent = engine.session.turns[-1].agents[0]
    assert agent.reply.startswith("Let me read the models first.") and agent.reply.endswith("orders are paged.")
    assert [n.name for n in agent.tools] == ["Read"] and agent.tools[0].summary.startswith("Read app/models.py")
