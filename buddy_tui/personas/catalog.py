"""Find every persona and command a user has, from every place, in a fixed order.

Later sources override earlier ones with the same name, and each override is reported, naming
the file that won and the one that lost, so the UI can say so. A file that cannot be read becomes
a :class:`Problem` (which file, which line, why); the rest still load. A file that loaded only
because its front matter was read leniently is listed too (:attr:`Catalog.lenient`), so /problems
can say where it is not what Claude Code's strict reading would take. Nothing here raises for a bad file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import TypeVar

from platformdirs import user_config_path

from buddy_tui.context.confined import outside
from buddy_tui.context.project import check_files
from buddy_tui.personas import frontmatter_cache as metacache
from buddy_tui.personas.agent_models import unknown_model
from buddy_tui.personas.commands import APP_COMMANDS, Command, CommandRegistry, load_command
from buddy_tui.personas.frontmatter import DefinitionError, field_line
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
    kind: str  # 'persona', 'command', 'memory' (CLAUDE.md...) or 'manifest' (package.json...)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.why}"


@dataclass(frozen=True)
class Override:
    """A persona or command file that replaced another of the same name."""

    kind: str  # 'persona' or 'command'
    name: str
    source: str  # where the winner came from: user, user-agent, project, skill, agent
    path: Path  # the file that won
    where: str  # ...as short as it can be said
    lost_source: str
    lost_path: Path  # the file that lost
    lost_where: str
    declared_name: str = ""  # the winner's own name for itself, when that differs (persona-backend)

    def __str__(self) -> str:
        named = f", named {self.declared_name}" if self.declared_name else ""
        winner, loser = self.source.replace("-", " "), self.lost_source.replace("-", " ")
        return (f"{winner.capitalize()} {self.kind} '{self.name}' ({self.where}{named}) overrides the "
                f"{loser} one ({self.lost_where}).")


@dataclass
class Catalog:
    """Everything discovered for one project."""

    personas: dict[str, Persona] = field(default_factory=dict)
    commands: CommandRegistry = field(default_factory=lambda: CommandRegistry([]))
    problems: list[Problem] = field(default_factory=list)
    #: Files that loaded, but only by reading their front matter leniently: where, and how.
    lenient: list[Problem] = field(default_factory=list)
    #: Every override, in the order found (a name overridden twice has two).
    replaced: list[Override] = field(default_factory=list)
    #: Project memory files sent only after secrets in them were redacted: which, and what kinds.
    redacted: list[Problem] = field(default_factory=list)

    @property
    def overrides(self) -> list[str]:
        """The overrides as the chat says them."""
        return [str(override) for override in self.replaced]

    def override_of(self, kind: str, name: str) -> Override | None:
        """The override that put the ``kind`` called ``name`` in place, if one did."""
        return next((o for o in reversed(self.replaced) if o.kind == kind and o.name == name), None)


def claude_config_dir() -> Path:
    """Claude Code's per-user folder: ``$CLAUDE_CONFIG_DIR`` when set (Claude Code honours it in
    place of ``~/.claude``), else ``~/.claude``."""
    configured = os.environ.get("CLAUDE_CONFIG_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".claude"


def user_dir() -> Path:
    """buddy-tui's own config folder: ``$BUDDY_TUI_CONFIG_DIR``, else the platform's."""
    configured = os.environ.get("BUDDY_TUI_CONFIG_DIR")
    return Path(configured).expanduser() if configured else user_config_path("buddy-tui")


#: Project sources: their files must lie inside the project (a symlink out of it is refused).
CONFINED_SOURCES = frozenset({"project", "skill", "agent"})
#: Folders and files looked at in one place before giving up, and how deep a ``**`` pattern goes.
MAX_ENTRIES_PER_SOURCE = 20_000
MAX_DEPTH = 8


def _files(folder: Path, pattern: str, root: Path | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files under ``folder`` whose name matches ``pattern`` (``*.md``; ``**/`` first: in every
    sub-folder too), in a stable order, and the folders passed over with why.

    Bounded whatever the folder holds: each real folder is walked once (symlink loops end), at
    most :data:`MAX_DEPTH` deep and :data:`MAX_ENTRIES_PER_SOURCE` entries. With ``root`` (a
    project source), a symlinked folder leading out of the project is not walked but reported.
    Anything that is not a folder is returned for the loader to judge (it refuses pipes and
    symlinks out of the project, naming the file)."""
    recursive = pattern.startswith("**/")
    wanted = pattern.rsplit("/", 1)[-1]
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    try:
        start = os.path.realpath(folder, strict=True)
        if not os.path.isdir(start):
            return found, skipped
    except OSError:
        return found, skipped
    seen = {start}
    budget = MAX_ENTRIES_PER_SOURCE
    stack: list[tuple[Path, int]] = [(folder, 0)]
    while stack and budget > 0 and len(found) < MAX_FILES_PER_SOURCE:
        current, depth = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = sorted(listing, key=lambda e: e.name)[:budget]
        except OSError:
            continue
        budget -= len(entries)
        below: list[tuple[Path, int]] = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()  # follows a symlink
            except OSError:
                is_dir = False
            if is_dir:
                if recursive and depth < MAX_DEPTH and _enter(path, root, seen, skipped):
                    below.append((path, depth + 1))
            elif fnmatch(entry.name, wanted):
                found.append(path)
        stack.extend(reversed(below))
    return sorted(found)[:MAX_FILES_PER_SOURCE], skipped


def _enter(path: Path, root: Path | None, seen: set[str], skipped: list[tuple[Path, str]]) -> bool:
    """Whether to walk the folder at ``path``: not when its real place was walked already (a
    symlink loop), nor, for a project source, when it lies outside the project (reported)."""
    try:
        real = os.path.realpath(path, strict=True)
    except OSError:
        return False
    if real in seen:
        return False
    if root is not None and (why := outside(path, root)) is not None:
        skipped.append((path, why.replace("; not read", "; not searched")))
        return False
    seen.add(real)
    return True


def persona_sources(root: Path) -> list[tuple[str, Path, str]]:
    """(source label, folder, glob) in override order: bundled, user, the user's Claude Code agents,
    project, skills, agents. The project's files come last so they win, as project agents take
    precedence over user agents in Claude Code."""
    return [
        ("bundled", personas_dir(), "*.md"),
        ("user", user_dir() / "personas", "*.md"),
        ("user-agent", claude_config_dir() / "agents", "*.md"),
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


def short_path(path: Path, root: Path, label: str = "") -> str:
    """A path as short as it can be said: a bundled file by its place in buddy-tui, others
    relative to the project, else to the home folder."""
    # Commands first: in a source checkout the personas' base (the checkout) holds the commands too.
    bundled = [(commands_dir().parent, "buddy-tui's "), (personas_dir().parent, "buddy-tui's ")]
    for base, prefix in ([*bundled] if label == "bundled" else []) + [(root, ""), (Path.home(), "~/")]:
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def _collect(
    root: Path,
    sources: list[tuple[str, Path, str]],
    load: Callable[[Path, Path, str, Path | None], T],
    kind: str,
    catalog: Catalog,
) -> dict[str, T]:
    found: dict[str, T] = {}
    for label, folder, pattern in sources:
        confine = root if label in CONFINED_SOURCES else None
        paths, skipped = _files(folder, pattern, confine)
        catalog.problems += [Problem(path, None, why, kind) for path, why in skipped]
        for path in paths:
            try:
                item = load(path, folder, label, confine)
            except DefinitionError as exc:
                catalog.problems.append(Problem(exc.path, exc.line, exc.problem, kind))
                continue
            catalog.lenient += [Problem(path, note.line, note.why, kind) for note in item.notes]
            earlier = found.get(item.name)
            if earlier is not None:
                lost = earlier.path or Path(earlier.name)
                catalog.replaced.append(Override(
                    kind, item.name, label, path, short_path(path, root, label), earlier.source, lost,
                    short_path(lost, root, earlier.source), getattr(item, "declared_name", "")))
            elif kind == "command" and item.name in APP_COMMANDS:
                catalog.problems.append(Problem(path, None, f"/{item.name} is a built-in command", kind))
                continue
            found[item.name] = item
    return found


def _model_problems(personas: Iterable[Persona]) -> list[Problem]:
    """A Problem for each persona whose ``model:`` names no model buddy-tui knows (run as an
    agent, it gets the lead's model instead), at the line of its ``model:``."""
    found = []
    for persona in personas:
        if persona.model is not None and (why := unknown_model(persona.model)) and persona.path is not None:
            found.append(Problem(persona.path, field_line(persona.path, "model"), why, "persona"))
    return found


def load_catalog(root: Path) -> Catalog:
    """Discover personas and commands for the project at ``root``."""
    catalog = Catalog()
    catalog.personas = _collect(root, persona_sources(root),
                                lambda p, _f, label, confine: load_persona(p, label, confine), "persona", catalog)
    catalog.problems += _model_problems(catalog.personas.values())
    commands = _collect(root, command_sources(root), load_command, "command", catalog)
    catalog.commands = CommandRegistry.with_app_commands(list(commands.values()))
    for note in check_files(root):  # memory files and manifests, read on their own too
        found = Problem(note.path, None, note.why, note.kind)
        (catalog.redacted if note.outcome == "sent redacted" else catalog.problems).append(found)
    metacache.save()  # the next start reads these definitions without loading YAML
    return catalog
