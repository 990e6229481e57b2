"""Find every persona and command a user has, from every place, in a fixed order.

Later sources override earlier ones with the same name, and each override is reported so the UI
can say so. A file that cannot be read becomes a :class:`Problem` (which file, which line, why);
the rest still load. Nothing here raises for a bad file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from platformdirs import user_config_path

from buddy_tui.personas import frontmatter_cache as metacache
from buddy_tui.personas.commands import APP_COMMANDS, Command, CommandRegistry, load_command
from buddy_tui.personas.frontmatter import DefinitionError
from buddy_tui.personas.persona import Persona, load_persona
from buddy_tui.settings.resources import commands_dir, personas_dir

#: Cap on definition files read from one place, so a huge folder cannot stall start-up.
MAX_FILES_PER_SOURCE = 500

T = TypeVar("T", Persona, Command)


@dataclass(frozen=True)
class Problem:
    """A definition file that could not be used."""

    path: Path
    line: int | None
    why: str
    kind: str  # 'persona' or 'command'

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.why}"


@dataclass
class Catalog:
    """Everything discovered for one project."""

    personas: dict[str, Persona] = field(default_factory=dict)
    commands: CommandRegistry = field(default_factory=lambda: CommandRegistry([]))
    problems: list[Problem] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)


def user_dir() -> Path:
    """buddy-tui's own config folder: ``$BUDDY_TUI_CONFIG_DIR``, else the platform's."""
    configured = os.environ.get("BUDDY_TUI_CONFIG_DIR")
    return Path(configured).expanduser() if configured else user_config_path("buddy-tui")


def _files(folder: Path, pattern: str) -> Iterator[Path]:
    """Matching files under ``folder`` in a stable order, never following a symlinked folder out."""
    if not folder.is_dir():
        return
    try:
        found = sorted(p for p in folder.glob(pattern) if p.is_file())
    except OSError:
        return
    yield from found[:MAX_FILES_PER_SOURCE]


def persona_sources(root: Path) -> list[tuple[str, Path, str]]:
    """(source label, folder, glob) in override order: bundled, user, project, skills, agents."""
    return [
        ("bundled", personas_dir(), "*.md"),
        ("user", user_dir() / "personas", "*.md"),
        ("project", root / ".buddy" / "personas", "*.md"),
        ("skill", root / ".claude" / "skills", "**/SKILL.md"),
        ("agent", root / ".claude" / "agents", "*.md"),
    ]


def command_sources(root: Path) -> list[tuple[str, Path, str]]:
    """(source label, folder, glob) in override order: bundled, user, project."""
    return [
        ("bundled", commands_dir(), "**/*.md"),
        ("user", user_dir() / "commands", "**/*.md"),
        ("project", root / ".claude" / "commands", "**/*.md"),
    ]


def _where(path: Path, root: Path) -> str:
    """A path as short as it can be said: relative to the project, else to the home folder."""
    for base, prefix in ((root, ""), (Path.home(), "~/")):
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def _collect(
    root: Path,
    sources: list[tuple[str, Path, str]],
    load: Callable[[Path, Path, str], T],
    kind: str,
    catalog: Catalog,
) -> dict[str, T]:
    found: dict[str, T] = {}
    for label, folder, pattern in sources:
        for path in _files(folder, pattern):
            try:
                item = load(path, folder, label)
            except DefinitionError as exc:
                catalog.problems.append(Problem(exc.path, exc.line, exc.problem, kind))
                continue
            earlier = found.get(item.name)
            if earlier is not None:
                catalog.overrides.append(
                    f"{label} {kind} '{item.name}' ({_where(path, root)}) overrides the {earlier.source} one")
            elif kind == "command" and item.name in APP_COMMANDS:
                catalog.problems.append(Problem(path, None, f"/{item.name} is a built-in command", kind))
                continue
            found[item.name] = item
    return found


def load_catalog(root: Path) -> Catalog:
    """Discover personas and commands for the project at ``root``."""
    catalog = Catalog()
    catalog.personas = _collect(root, persona_sources(root), lambda p, _f, label: load_persona(p, label),
                                "persona", catalog)
    commands = _collect(root, command_sources(root), load_command, "command", catalog)
    catalog.commands = CommandRegistry.with_app_commands(list(commands.values()))
    metacache.save()  # the next start reads these definitions without loading YAML
    return catalog
