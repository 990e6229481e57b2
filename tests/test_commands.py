"""Slash commands: parsing what was typed, template expansion, the bundled six, completion."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui.personas.commands import CommandRegistry, expand_template, load_command, parse_invocation
from buddy_tui.personas.frontmatter import DefinitionError

PERSONA_COMMANDS = ["buddy:api", "buddy:brainstorm", "buddy:database", "buddy:improve", "buddy:review",
                    "buddy:secure"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("/buddy:api design a paginated /users endpoint", ("buddy:api", "design a paginated /users endpoint")),
        ("  /help  ", ("help", "")),
        ("/clear now", ("clear", "now")),
        ("what does /buddy:api do?", None),
        ("/usr/bin/env python", None),
        ("//comment", None),
        ("/", None),
        ("plain question", None),
    ],
)
def test_parse_invocation(typed: str, expected: tuple[str, str] | None) -> None:
    parsed = parse_invocation(typed)
    assert (None if parsed is None else (parsed.name, parsed.arguments)) == expected


def test_expand_template_fills_arguments_and_positionals() -> None:
    template = "Task: $ARGUMENTS\nFirst: $1; second: $2; missing: [$3]"
    assert expand_template(template, ' users "with spaces" ') == (
        'Task: users "with spaces"\nFirst: users; second: with spaces; missing: []'
    )
    assert expand_template(template, "") == "Task: \nFirst: ; second: ; missing: []"
    assert expand_template("$1", 'unbalanced "quote') == "unbalanced"


def test_the_six_persona_commands_are_bundled_as_files() -> None:
    registry = CommandRegistry.default()
    prompt_commands = sorted(c.name for c in registry.all() if c.kind == "prompt")
    assert prompt_commands == PERSONA_COMMANDS
    for name in PERSONA_COMMANDS:
        command = registry.get(name)
        assert command is not None and command.path is not None
        assert command.path.parent.name == "buddy"
        assert command.description and len(command.description) <= 60
        assert "$ARGUMENTS" in command.template
    api = registry.get("buddy:api")
    assert api is not None
    prompt = api.expand("design a paginated /users endpoint")
    assert "design a paginated /users endpoint" in prompt
    # The API response pattern, in order: contract, security, performance, reliability, scalability.
    positions = [prompt.lower().index(word) for word in
                 ("contract", "security", "performance", "reliability", "scalability")]
    assert positions == sorted(positions)


def test_app_commands_exist_and_complete() -> None:
    registry = CommandRegistry.default()
    for name in ("help", "clear", "quit"):
        command = registry.get(name)
        assert command is not None and command.kind == "app"
    assert [c.name for c in registry.complete("buddy:d")] == ["buddy:database"]
    assert [c.name for c in registry.complete("")][:6] == PERSONA_COMMANDS
    assert "buddy:review" in [c.name for c in registry.complete("view")]  # substring matches follow
    assert registry.complete("zzz") == []


def test_unknown_command_message_suggests_close_names() -> None:
    message = CommandRegistry.default().unknown_message("buddy:apy")
    assert message.startswith("Unknown command /buddy:apy.")
    assert "/buddy:api" in message


def test_command_file_naming_and_errors(tmp_path: Path) -> None:
    root = tmp_path / "commands"
    (root / "team" / "ops").mkdir(parents=True)
    good = root / "team" / "ops" / "deploy.md"
    good.write_text("---\ndescription: Ship it\nargument-hint: [env]\n---\nDeploy to $1\n")
    command = load_command(good, root, "project")
    assert (command.name, command.description, command.argument_hint) == ("team:ops:deploy", "Ship it", "[env]")
    assert command.expand("staging") == "Deploy to staging"
    empty = root / "empty.md"
    empty.write_text("---\ndescription: nothing\n---\n")
    with pytest.raises(DefinitionError, match="has no body"):
        load_command(empty, root, "project")


@pytest.mark.parametrize(("typed", "first"), [("rev", "buddy:review"), ("bdat", "buddy:database"),
                                              ("bapi", "buddy:api"), ("sec", "buddy:secure")])
def test_fuzzy_completion_as_the_readme_promises(typed: str, first: str) -> None:
    assert CommandRegistry.default().complete(typed)[0].name == first
