"""Discovery of personas and commands on a project full of third-party Claude Code files."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui.personas.catalog import load_catalog, user_dir


def test_every_source_loads_in_order_and_bad_files_become_problems(claude_project: Path) -> None:
    catalog = load_catalog(claude_project)
    personas = catalog.personas
    assert {"backend", "security", "performance", "devops"} <= set(personas)  # bundled
    assert personas["backend"].source == "project"  # .buddy/personas/backend.md overrides the bundled one
    assert personas["backend"].description.startswith("This team's backend reviewer")
    assert "Project persona 'backend' (.buddy/personas/backend.md) overrides the bundled one (buddy-tui's " \
           "personas/backend.md)." in catalog.overrides
    # Claude Code agents, including the messy ones.
    assert personas["api-reviewer"].source == "agent"
    assert personas["api-reviewer"].allowed_tools == ("Read", "Grep", "Glob")
    assert "\n<example>\nContext: a handler was added" in personas["api-reviewer"].description or \
        "<example> Context: a handler was added" in personas["api-reviewer"].description
    assert personas["k8s-expert"].description.endswith("It also reviews Dockerfiles.")
    assert personas["db-tuner"].allowed_tools == ("Read", "Grep")
    assert personas["db-tuner"].model == "sonnet"
    assert "What indexes does the invoices table need?" in personas["db-tuner"].description
    # Skills, nested too; a skill without a name is named after its folder.
    assert personas["migration-planner"].source == "skill"
    assert personas["migration-planner"].allowed_tools == ("Read", "Grep", "Glob")
    assert personas["incident-commander"].prompt.startswith("Take charge of the incident.")
    problems = {p.path.relative_to(claude_project).as_posix(): p for p in catalog.problems}
    assert set(problems) == {".claude/agents/half-written.md", ".claude/skills/empty/SKILL.md",
                             ".claude/commands/broken.md", ".claude/commands/help.md"}
    assert problems[".claude/agents/half-written.md"].line == 1
    assert "never closed" in problems[".claude/agents/half-written.md"].why
    assert "has no body" in problems[".claude/skills/empty/SKILL.md"].why
    assert "built-in command" in problems[".claude/commands/help.md"].why


def test_project_commands_come_for_free(claude_project: Path) -> None:
    registry = load_catalog(claude_project).commands
    deploy = registry.get("deploy")
    assert deploy is not None and deploy.source == "project"
    assert deploy.argument_hint == "[environment] [version]"
    assert deploy.persona == "devops" and deploy.allowed_tools == ("Read", "Grep")
    assert deploy.expand("staging 1.4.2").startswith("Plan the deployment of version 1.4.2 to staging.")
    component = registry.get("frontend:component")
    assert component is not None and component.expand("OrderTable") == (
        "Create a component called OrderTable with a test and a story.")
    changelog = registry.get("changelog")
    assert changelog is not None and changelog.description == "Summarise the changes since the last release"
    assert changelog.expand("since v1.2").endswith("\n\nARGUMENTS: since v1.2")
    help_command = registry.get("help")
    assert help_command is not None and help_command.kind == "app"  # the built-in still wins
    assert registry.get("buddy:api") is not None


def test_user_config_folder_sits_between_bundled_and_project(claude_project: Path, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(config))
    assert user_dir() == config
    (config / "personas").mkdir(parents=True)
    (config / "personas" / "security.md").write_text("---\nname: security\ndescription: mine\n---\nMy rules.\n")
    (config / "commands" / "buddy").mkdir(parents=True)
    (config / "commands" / "buddy" / "api.md").write_text("---\ndescription: my api\n---\nDo $ARGUMENTS\n")
    catalog = load_catalog(claude_project)
    assert catalog.personas["security"].source == "user" and catalog.personas["security"].prompt == "My rules."
    api = catalog.commands.get("buddy:api")
    assert api is not None and api.source == "user" and api.description == "my api"
    assert any(o.startswith("User command 'buddy:api'") for o in catalog.overrides)


def test_unreadable_and_binary_files_are_problems_not_crashes(claude_project: Path) -> None:
    agents = claude_project / ".claude" / "agents"
    (agents / "blob.md").write_bytes(b"\x00\x01\x02")
    (agents / "latin1.md").write_bytes(b"---\nname: caf\xe9\n---\nbody\n")
    catalog = load_catalog(claude_project)
    why = {p.path.name: p.why for p in catalog.problems}
    assert "binary" in why["blob.md"] and "UTF-8" in why["latin1.md"]
    assert "api-reviewer" in catalog.personas
