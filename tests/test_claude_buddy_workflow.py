"""Claude Buddy's own workflow runs as is: each of its eight commands tells the model to launch an
agent with the Task tool, and a scripted model does exactly that; every agent then runs with its
own file's body as the system prompt, on the model its file names (the real SDK, the fake server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.conversation.client import connect
from buddy_tui.conversation.engine import Engine, Question
from buddy_tui.conversation.events import AgentEnded, AgentStarted
from buddy_tui.conversation.session import TurnPlan, open_session
from buddy_tui.personas.persona import persona_key
from buddy_tui.settings.model_settings import Settings, resolve_model
from tests.claude_buddy_layout import EXPECTED, make_claude_buddy_layout
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.helpers import ScriptedAsker


@pytest.fixture
def buddy_project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "buddy"
    return root, make_claude_buddy_layout(root)


async def test_every_claude_buddy_command_launches_its_agent(online: FakeAnthropic,
                                                             buddy_project: tuple[Path, dict[str, str]]) -> None:
    root, commands = buddy_project
    session = open_session(root, None, Settings(max_retries=0, model="claude-lead-test"))
    assert len(commands) == 8 and all(session.catalog.commands.get(f"buddy:{c}") for c in commands)
    client, connection = connect(session.settings)
    assert client is not None, connection.message
    engine = Engine(session, ScriptedAsker(), client)
    for number, (command, agent) in enumerate(sorted(commands.items())):
        persona = session.find_persona(persona_key(agent))
        assert persona is not None, agent
        marker = persona.prompt[:40]
        online.route(_system_has(marker), Reply.of(f"{agent} finished."))
        online.route(_system_lacks(marker),
                     Reply([], tools=[ToolUse(f"toolu_{number}", "Task", {
                         "description": f"run {command}", "prompt": f"Do the {command} step for invoices.",
                         "subagent_type": agent})]), Reply.of(f"The {command} step is done."))
        plan = engine.interpret(f"/buddy:{command} invoices export", [])
        assert isinstance(plan, TurnPlan) and "Task" in plan.tools, command
        events = [e async for e in engine.run(Question(plan))]
        started = next(e for e in events if isinstance(e, AgentStarted))
        ended = next(e for e in events if isinstance(e, AgentEnded))
        assert (started.name, ended.outcome, ended.text) == (persona.name, "done", f"{agent} finished."), command
        agent_request = [r for r in online.message_requests() if marker in r.system_text][-1]
        body: dict[str, Any] = agent_request.body or {}
        assert body["system"][0]["text"] == persona.prompt
        model = EXPECTED[agent][1]
        assert body["model"] == (resolve_model(model, "claude-lead-test") if model in ("opus", "sonnet", "haiku")
                                 else "claude-lead-test"), agent
        assert "Task" not in [t["name"] for t in body.get("tools", [])]  # agents do not launch agents
        assert session.turns[-1].reply == f"The {command} step is done."
    await engine.close()


def _system_has(marker: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: marker in _system(body)


def _system(body: dict[str, Any]) -> str:
    return "".join(block.get("text", "") for block in body.get("system") or [])


def _system_lacks(marker: str) -> Callable[[dict[str, Any]], bool]:
    return lambda body: marker not in _system(body)
