"""The session: what typed text means, who answers, which model, and what is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui.conversation.session import AppAction, Refusal, TurnPlan, open_session
from buddy_tui.personas.frontmatter import DefinitionError
from buddy_tui.settings.model_settings import Settings


def test_open_session_reads_catalog_project_and_memory(claude_project: Path) -> None:
    session = open_session(claude_project, None, Settings())
    assert session.current.name == "backend" and session.current.source == "project"
    assert session.facts.has_dependency("fastapi") == "pyproject.toml"
    assert [m.path for m in session.memory] == ["CLAUDE.md"]
    with pytest.raises(DefinitionError, match="no persona of that name"):
        open_session(claude_project, "astrologer", Settings())
    assert open_session(claude_project, "db-tuner", Settings()).current.source == "agent"


def test_interpretations(claude_project: Path) -> None:
    session = open_session(claude_project, "security", Settings(model="claude-base"))
    assert session.interpret("/help", []) == AppAction("help", "")
    assert session.interpret("/persona devops", []) == AppAction("persona", "devops")
    refusal = session.interpret("/deplyo prod", [])
    assert isinstance(refusal, Refusal) and "/deploy" in refusal.message
    plan = session.interpret("the p99 latency of /orders doubled", ["app/routes.py"])
    assert isinstance(plan, TurnPlan) and session.pinned  # --persona is the person's choice: it stays
    assert plan.persona.name == "security" and plan.choice is not None and not plan.choice.switched
    session.toggle_pin()
    plan = session.interpret("the p99 latency of /orders doubled", ["app/routes.py"])
    assert isinstance(plan, TurnPlan)
    assert plan.persona.name == "performance" and plan.choice is not None and plan.choice.switched
    assert plan.model == "claude-base"


def test_command_persona_model_and_file_references(claude_project: Path) -> None:
    session = open_session(claude_project, None, Settings())
    plan = session.interpret("/deploy staging 2.0", [])
    assert isinstance(plan, TurnPlan)
    assert plan.persona.name == "devops" and plan.choice is None  # the command names its persona
    assert plan.prompt.startswith("Plan the deployment of version 2.0 to staging.")
    assert plan.mentions == [claude_project / "docs" / "runbook.md"]  # @docs/runbook.md in the template
    tuner = session.interpret("/persona db-tuner", [])
    assert tuner == AppAction("persona", "db-tuner")
    assert session.switch("db-tuner") is not None
    plan = session.interpret("hello", [])
    assert isinstance(plan, TurnPlan) and plan.persona.name == "db-tuner"
    assert plan.model.startswith("claude-sonnet-")  # the agent says 'model: sonnet'


def test_pinning_and_switching(claude_project: Path) -> None:
    session = open_session(claude_project, None, Settings())
    assert session.toggle_pin() is True
    plan = session.interpret("is this vulnerable to XSS?", [])
    assert isinstance(plan, TurnPlan) and plan.persona.name == "backend"
    assert plan.choice is not None and plan.choice.reason == "pinned"
    assert session.toggle_pin() is False
    plan = session.interpret("is this vulnerable to XSS?", [])
    assert isinstance(plan, TurnPlan) and plan.persona.name == "security"
    user, request = session.request(plan, [])
    assert session.current.name == "backend"  # building a request changes nothing
    session.commit(plan)
    assert session.current.name == "security"  # whoever answered stays current
    assert request["system"][0]["text"] == plan.persona.prompt
    assert "<project_memory source=\"CLAUDE.md\">" in request["system"][1]["text"]
    assert user[-1]["text"] == "is this vulnerable to XSS?"
    assert session.switch("nobody-by-that-name") is None
    assert (found := session.find_persona("perf")) is not None and found.name == "performance"


def test_a_missing_command_persona_is_refused(claude_project: Path) -> None:
    (claude_project / ".claude" / "commands" / "odd.md").write_text("---\npersona: astrologer\n---\nRead the stars.\n")
    session = open_session(claude_project, None, Settings())
    refusal = session.interpret("/odd", [])
    assert isinstance(refusal, Refusal) and "astrologer" in refusal.message
