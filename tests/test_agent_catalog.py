"""Where agents come from and what their files say: colour, tools, model, the user's own
~/.claude/agents, commands that launch agents, and a project laid out like Claude Buddy v3."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui.personas.agent_models import agent_model
from buddy_tui.personas.catalog import claude_config_dir, load_catalog
from buddy_tui.personas.commands import Command, CommandRegistry, load_command
from buddy_tui.personas.persona import bundled_personas, load_persona
from buddy_tui.settings.model_settings import resolve_model
from tests.claude_buddy_layout import EXPECTED, UNKNOWN_MODEL_AGENT, make_claude_buddy_layout

LEAD = "claude-lead-model-1"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- persona files: color and tools_declared -------------------------------------------------


def test_color_is_read_and_an_agent_without_tools_inherits(tmp_path: Path) -> None:
    persona = load_persona(write(tmp_path / "a.md", "---\nname: a\ndescription: d\ncolor: orange\n---\nBody.\n"))
    assert persona.color == "orange" and persona.tools_declared is False and persona.allowed_tools == ()
    assert persona.notes == ()


@pytest.mark.parametrize("tools", ["tools: Bash, Read", "allowed-tools: Read", "tools: []", "allowed-tools: [Grep]"])
def test_a_tools_key_declares_tools_even_an_empty_list(tmp_path: Path, tools: str) -> None:
    persona = load_persona(write(tmp_path / "a.md", f"---\nname: a\n{tools}\n---\nBody.\n"))
    assert persona.tools_declared is True


@pytest.mark.parametrize("value", ["12", "[red, blue]", "{a: 1}", "true"])
def test_a_colour_that_is_not_text_is_ignored_with_a_note(tmp_path: Path, value: str) -> None:
    persona = load_persona(write(tmp_path / "a.md", f"---\nname: a\ndescription: d\ncolor: {value}\n---\nBody.\n"))
    assert persona.color == ""
    assert [(note.line, "'color' must be text" in note.why) for note in persona.notes] == [(4, True)]


def test_bundled_personas_declare_their_tools_and_only_backend_may_launch_agents() -> None:
    personas = bundled_personas()
    assert all(p.tools_declared for p in personas.values())
    assert "Task" in personas["backend"].allowed_tools
    assert [name for name, p in personas.items() if "Task" in p.allowed_tools] == ["backend"]


def test_the_bundled_backend_says_how_to_hand_work_to_the_experts() -> None:
    prompt = bundled_personas()["backend"].prompt
    section = " ".join(prompt.split("## Working with other personas", 1)[1].split("\n## ", 1)[0].split())
    for needed in ("Task tool", "subagent_type", "`security`", "`performance`", "`devops`", "threat model",
                   "latency", "deployment", "backward compatible", "schema changes", "scalability",
                   "one message", "parallel", "self-contained", "severity", "`path:line`"):
        assert needed.lower() in section.lower(), needed


# --- the user's agents: ~/.claude/agents, or $CLAUDE_CONFIG_DIR/agents --------------------------


def agent_file(name: str, description: str, body: str = "Do the work.") -> str:
    return f"---\nname: {name}\ndescription: {description}\ncolor: red\n---\n{body}\n"


def test_user_agents_load_and_the_projects_agent_of_the_same_name_wins(tmp_path: Path,
                                                                        isolated_claude_config: Path) -> None:
    assert claude_config_dir() == isolated_claude_config
    write(isolated_claude_config / "agents" / "reviewer.md", agent_file("reviewer", "mine"))
    write(isolated_claude_config / "agents" / "helper.md", agent_file("helper", "only mine"))
    root = tmp_path / "project"
    write(root / ".claude" / "agents" / "reviewer.md", agent_file("reviewer", "the team's"))
    catalog = load_catalog(root)
    assert catalog.personas["reviewer"].source == "agent" and catalog.personas["reviewer"].description == "the team's"
    helper = catalog.personas["helper"]
    assert (helper.source, helper.description, helper.color) == ("user-agent", "only mine", "red")
    assert (f"Agent persona 'reviewer' (.claude/agents/reviewer.md) overrides the user agent one "
            f"({isolated_claude_config}/agents/reviewer.md).") in catalog.overrides
    assert catalog.problems == []


def test_a_user_agent_overrides_the_bundled_expert_and_may_live_outside_the_project(
        tmp_path: Path, isolated_claude_config: Path) -> None:
    write(isolated_claude_config / "agents" / "persona-security.md", agent_file("persona-security", "my security"))
    catalog = load_catalog(tmp_path / "project")
    assert catalog.personas["security"].source == "user-agent"  # not refused as "outside the project"
    assert any(o.startswith("User agent persona 'security'") for o in catalog.overrides)


def test_without_claude_config_dir_the_home_folders_claude_agents_are_read(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    home = Path.home()  # a temporary home in tests
    assert claude_config_dir() == home / ".claude"
    write(home / ".claude" / "agents" / "helper.md", agent_file("helper", "from home"))
    catalog = load_catalog(tmp_path / "project")
    helper = catalog.personas["helper"]
    assert (helper.source, helper.path) == ("user-agent", home / ".claude" / "agents" / "helper.md")
    assert catalog.problems == [] and catalog.overrides == []


def test_a_broken_user_agent_is_a_problem_not_a_crash(tmp_path: Path, isolated_claude_config: Path) -> None:
    agents = isolated_claude_config / "agents"
    write(agents / "half.md", "---\nname: half\ndescription: never closed\n")
    (agents / "binary.md").write_bytes(b"\x00\x01")
    write(agents / "fine.md", agent_file("fine", "works"))
    catalog = load_catalog(tmp_path / "project")
    assert "fine" in catalog.personas
    problems = {p.path.name: p for p in catalog.problems}
    assert set(problems) == {"half.md", "binary.md"}
    assert problems["half.md"].kind == "persona" and "never closed" in problems["half.md"].why


# --- model values ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "inherit", " Inherit "])
def test_inherit_or_no_model_means_the_leads(value: str | None) -> None:
    assert agent_model(value, LEAD) == (LEAD, "")


@pytest.mark.parametrize("family", ["opus", "sonnet", "haiku", "Sonnet"])
def test_a_family_resolves_as_slash_model_resolves_it(family: str) -> None:
    model, problem = agent_model(family, LEAD)
    assert problem == "" and model == resolve_model(family, LEAD)
    assert model.startswith(f"claude-{family.lower()}-")  # the installed SDK knows every family


def test_a_full_model_id_is_used_as_it_is() -> None:
    assert agent_model("claude-opus-4-1-20250805", LEAD) == ("claude-opus-4-1-20250805", "")


@pytest.mark.parametrize("value", ["gpt-4-turbo", "fast", "opus-latest", "default"])
def test_an_unknown_model_means_the_leads_plus_a_problem_naming_it(value: str) -> None:
    model, problem = agent_model(value, LEAD)
    assert model == LEAD and f"'model: {value}'" in problem


def test_unknown_models_are_listed_as_problems_at_their_line(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(root / ".claude" / "agents" / "odd.md", "---\nname: odd\ndescription: d\ncolor: red\nmodel: turbo\n---\nB\n")
    write(root / ".claude" / "agents" / "ok.md", "---\nname: ok\nmodel: haiku\n---\nB\n")
    catalog = load_catalog(root)
    assert [(p.path.name, p.line, p.kind) for p in catalog.problems] == [("odd.md", 5, "persona")]
    assert "'model: turbo'" in catalog.problems[0].why
    assert catalog.personas["odd"].model == "turbo"  # still loads: it runs on the lead's model


# --- commands that launch agents --------------------------------------------------------------


def command(tmp_path: Path, body: str, front: str = "description: d") -> Command:
    folder = tmp_path / "commands"
    return load_command(write(folder / "c.md", f"---\n{front}\n---\n{body}\n"), folder, "project")


@pytest.mark.parametrize("body", [
    "Use the Task tool to launch the spec-writer agent with the following prompt:\n\n$ARGUMENTS",
    'Do it.\n\n**IMPORTANT**: Use the Task tool with subagent_type "git-workflow" to launch this work.',
    "**Invocation**: use the task tool to launch the persona-dispatcher agent with:\nprompt: ...",
    "Hand each part to an expert through the `Task` tool, in one message.",
    "Launch one agent per file (subagent_type: reviewer).",
    "Call Task with subagent_type set to the agent's name.",
])
def test_commands_that_ask_for_the_task_tool_launch_agents(tmp_path: Path, body: str) -> None:
    assert command(tmp_path, body).launches_agents


@pytest.mark.parametrize("body", [
    "Task: $ARGUMENTS\n\nDesign the API.",
    "Update the task list in tasks.md and mark finished tasks.",
    "Break the plan into tasks; a task tracker tool is not needed.",
    "Mark parallel tasks with [P]. Each task names its files.",
    "Use the multitask tooling of the build system.",
])
def test_commands_that_only_talk_about_tasks_do_not(tmp_path: Path, body: str) -> None:
    assert not command(tmp_path, body).launches_agents


@pytest.mark.parametrize("tools", ["allowed-tools: Read, Task", "allowed-tools: [Task(reviewer), Read]"])
def test_a_command_whose_allowed_tools_list_task_launches_agents(tmp_path: Path, tools: str) -> None:
    assert command(tmp_path, "Review $ARGUMENTS.", f"description: d\n{tools}").launches_agents


def test_bundled_validation_commands_launch_agents_and_still_read_well_without_arguments() -> None:
    registry = CommandRegistry.default()
    launching = {c.name for c in registry.all() if c.kind == "prompt" and c.launches_agents}
    assert launching == {"buddy:review", "buddy:secure", "buddy:improve"}
    experts = {"buddy:review": ("security", "performance"), "buddy:secure": ("security", "devops"),
               "buddy:improve": ("performance", "devops")}
    for name, needed in experts.items():
        found = registry.get(name)
        assert found is not None
        for arguments in ("", "app/routes.py"):
            text = found.expand(arguments)
            assert "$ARGUMENTS" not in text and "attached" in text and "path:line" in text
            assert "parallel" in text.lower() and "severity" in text.lower()
            assert all(f'subagent_type "{expert}"' in text for expert in needed), (name, needed)
        assert "app/routes.py" in found.expand("app/routes.py")


# --- a project laid out like Claude Buddy v3 ----------------------------------------------------


def test_claude_buddys_layout_loads_whole(tmp_path: Path) -> None:
    root = tmp_path / "buddy-project"
    launches = make_claude_buddy_layout(root)
    catalog = load_catalog(root)
    agents = {p.declared_name or p.name: p for p in catalog.personas.values() if p.source == "agent"}
    assert set(agents) == set(EXPECTED) and len(agents) == 8
    for name, (color, model, declared) in EXPECTED.items():
        agent = agents[name]
        assert (agent.color, agent.model, agent.tools_declared) == (color, model, declared), name
        assert agent.description and "\\n" not in agent.description and agent.prompt
    assert agents["git-workflow"].allowed_tools == ("Bash", "Read", "Grep", "Glob")
    assert "<example>" in agents["spec-writer"].description and 'user: "' in agents["spec-writer"].description
    assert "user: " in agents["docs-generator"].description  # a raw multi-line description stays whole
    assert catalog.personas["dispatcher"].declared_name == "persona-dispatcher"  # Claude Buddy's naming
    assert set(launches) == {"spec", "plan", "tasks", "implement", "commit", "docs", "foundation", "persona"}
    for name, subagent in launches.items():
        found = catalog.commands.get(f"buddy:{name}")
        assert found is not None and found.source == "project" and found.launches_agents, name
        assert f'subagent_type "{subagent}"' in found.expand("x") and "x" in found.expand("x")
        assert subagent in agents
    assert [(p.path.name, p.kind) for p in catalog.problems] == [(f"{UNKNOWN_MODEL_AGENT}.md", "persona")]
    assert agent_model(agents[UNKNOWN_MODEL_AGENT].model, LEAD)[0] == LEAD
