"""Slash commands: persona specialities loaded from Markdown files, plus the app's own commands.

A command file uses Claude Code's custom-command format: ``buddy/api.md`` is ``/buddy:api``, its
front matter gives ``description`` and ``argument-hint``, and its body is the prompt, in which
``$ARGUMENTS`` (everything typed after the command) and ``$1``, ``$2``... are replaced.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from buddy_tui.context.fuzzy import fuzzy_filter
from buddy_tui.personas import frontmatter
from buddy_tui.settings.resources import commands_dir

CommandKind = Literal["prompt", "app"]

#: Commands the app handles itself; they never reach the model.
APP_COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("Show commands, personas and key bindings", ""),
    "persona": ("Switch persona (no name: list them)", "[name]"),
    "pin": ("Pin the current persona for this conversation, or unpin", ""),
    "consult": ("Ask one expert agent directly, with the attached files", "NAME QUESTION"),
    "problems": ("Project files that could not be used, were read leniently or sent redacted", ""),
    "add": ("Attach files (paths or globs) to the next question", "PATH..."),
    "drop": ("Remove attached files (no path: all of them)", "[PATH...]"),
    "files": ("List the attached files and their token estimates", ""),
    "retry": ("Send the last question that got no full answer again (Ctrl+R)", ""),
    "continue": ("Ask for the rest of a reply cut at the token limit (or Enter on an empty prompt)", ""),
    "resume": ("Open an earlier conversation from the history", ""),
    "export": ("Save this conversation as Markdown", "[PATH]"),
    "copy": ("Copy the last reply, or its Nth code block", "[N|last]"),
    "cost": ("Tokens used by the last turn and this conversation", ""),
    "undo": ("Undo the last file change Claude made (list: choose one)", "[list]"),
    "model": ("Choose the model (no name: pick from the endpoint's list)", "[name]"),
    "clear": ("Start a new conversation (the last one stays in /resume)", ""),
    "quit": ("Leave buddy-tui", ""),
}


@dataclass(frozen=True)
class Command:
    """A slash command: what the completion menu shows, and for prompt commands, the template."""

    name: str
    description: str
    kind: CommandKind
    argument_hint: str = ""
    template: str = ""
    source: str = "app"
    path: Path | None = None
    allowed_tools: tuple[str, ...] | None = None  # narrows the persona's tools when given
    model: str | None = None
    persona: str | None = None  # run with this persona, whatever would be chosen otherwise
    #: Where the file's front matter had to be read leniently, for /problems.
    notes: tuple[frontmatter.ReadNote, ...] = field(default=(), compare=False)

    @property
    def launches_agents(self) -> bool:
        """Whether this command hands work to agents: its ``allowed-tools`` lists Task, or its
        prompt asks for the Task tool ("Use the Task tool to launch the X agent", "with
        subagent_type \"x\""), as every Claude Buddy workflow command does."""
        if self.allowed_tools is not None and any(_names_task(tool) for tool in self.allowed_tools):
            return True
        return _MENTIONS_TASK_TOOL.search(self.template) is not None

    def expand(self, arguments: str) -> str:
        """The prompt for this invocation, with ``$ARGUMENTS`` and ``$1``.. filled in."""
        return expand_template(self.template, arguments)


@dataclass(frozen=True)
class Invocation:
    """What the user typed: ``/name arguments``."""

    name: str
    arguments: str


_POSITIONAL = re.compile(r"\$(\d+)")
#: A prompt asking for the Task tool: "the Task tool", "Task tool invocation", "subagent_type".
#: Not "task list", "Task: $ARGUMENTS" or "tasks tool".
_MENTIONS_TASK_TOOL = re.compile(r"\btask[\s`*_\"']*tool\b|\bsubagent[_ ]type\b", re.IGNORECASE)


def _names_task(tool: str) -> bool:
    """``Task`` or Claude Code's ``Task(agent-name)`` restriction in an ``allowed-tools`` list."""
    return tool.strip() == "Task" or tool.strip().startswith("Task(")


def split_arguments(arguments: str) -> list[str]:
    """Words as a shell would split them (quotes group), falling back to whitespace."""
    try:
        return shlex.split(arguments)
    except ValueError:  # an unbalanced quote
        return arguments.split()


def expand_template(template: str, arguments: str) -> str:
    """Replace ``$ARGUMENTS`` with the whole argument text and ``$N`` with the Nth word (1-based).

    Missing positional arguments become empty strings, as in Claude Code.
    """
    words = split_arguments(arguments)
    arguments = arguments.strip()
    if arguments and "$ARGUMENTS" not in template and not _POSITIONAL.search(template):
        return f"{template}\n\nARGUMENTS: {arguments}"  # as Claude Code does for such templates
    text = template.replace("$ARGUMENTS", arguments)

    def positional(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return words[index] if 0 <= index < len(words) else ""

    return _POSITIONAL.sub(positional, text)


def parse_invocation(text: str) -> Invocation | None:
    """``/buddy:api design x`` -> Invocation('buddy:api', 'design x'); anything else -> None."""
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    head, _, rest = stripped[1:].partition(" ")
    if not head or "/" in head:  # '/usr/bin/env' is a path, not a command
        return None
    return Invocation(head, rest.strip())


def command_name(path: Path, root: Path) -> str:
    """Claude Code's naming: sub-folders become namespaces joined by ':'."""
    parts = path.relative_to(root).with_suffix("").parts
    return ":".join(parts)


def load_command(path: Path, root: Path, source: str, confine: Path | None = None) -> Command:
    """Load one command file; raises :class:`frontmatter.DefinitionError` when it cannot be read.
    ``root`` is the commands folder (names are relative to it); with ``confine`` (the project
    root, for a project's file) a symlink out of the project is refused."""
    doc = frontmatter.load(path, confine)
    if not doc.body:
        raise frontmatter.DefinitionError(path, "has no body; the body is the command's prompt", doc.body_line)
    first_line = next(line for line in doc.body.splitlines() if line.strip()).strip("# ").strip()
    return Command(
        name=command_name(path, root),
        description=frontmatter.string_field(doc, "description", path) or first_line[:100],
        kind="prompt",
        argument_hint=_hint(doc.meta.get("argument-hint")),
        template=doc.body,
        source=source,
        path=path,
        allowed_tools=frontmatter.list_field(doc, "allowed-tools", path),
        model=frontmatter.string_field(doc, "model", path),
        persona=frontmatter.string_field(doc, "persona", path),
        notes=doc.notes,
    )


def _hint(value: object) -> str:
    """``argument-hint: [env]`` is written unquoted in Claude Code files, which YAML reads as a list."""
    if isinstance(value, list):
        return " ".join(f"[{item}]" for item in value)
    return "" if value is None else str(value)


class CommandRegistry:
    """All commands by name, with lookup and prefix completion."""

    def __init__(self, commands: list[Command]) -> None:
        self._commands = {command.name: command for command in commands}

    @classmethod
    def with_app_commands(cls, commands: list[Command]) -> CommandRegistry:
        """The app's own commands plus ``commands`` (which may not replace them)."""
        app = [Command(name, desc, "app", hint) for name, (desc, hint) in APP_COMMANDS.items()]
        return cls(app + [c for c in commands if c.name not in APP_COMMANDS])

    @classmethod
    def default(cls) -> CommandRegistry:
        """The app commands plus every bundled command file (no user or project commands)."""
        root = commands_dir()
        return cls.with_app_commands([load_command(p, root, "bundled") for p in sorted(root.rglob("*.md"))])

    def get(self, name: str) -> Command | None:
        """The command called ``name`` (without the slash), if any."""
        return self._commands.get(name)

    def all(self) -> list[Command]:
        """Every command, persona commands first, each group sorted by name."""
        return sorted(self._commands.values(), key=lambda c: (c.kind != "prompt", c.name))

    def complete(self, typed: str) -> list[Command]:
        """Commands matching what follows the slash, fuzzily (``bapi`` finds ``buddy:api``), best first."""
        return fuzzy_filter(typed.lstrip("/"), self.all(), lambda c: c.name)

    def unknown_message(self, name: str) -> str:
        """A helpful message for ``/name`` that is not a command."""
        close = difflib.get_close_matches(name, list(self._commands), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join('/' + c for c in close)}?" if close else ""
        return f"Unknown command /{name}.{hint} Type / to see every command, or /help."
