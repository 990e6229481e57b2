"""Personas: a Markdown file whose front matter names the expert and whose body is the system prompt.

The format is the one Claude Code uses for skills and agents, so a file written for Claude Code (or
the original Claude Buddy persona) loads here unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from buddy_tui.personas import frontmatter
from buddy_tui.personas.frontmatter import DefinitionError, ReadNote
from buddy_tui.personas.triggers import Triggers, from_front_matter, from_prose
from buddy_tui.settings.config_file import DEFAULT_PERSONA
from buddy_tui.settings.resources import personas_dir

_ACRONYMS = {"api": "API", "devops": "DevOps", "k8s": "K8s", "db": "DB", "sql": "SQL", "ci": "CI", "ui": "UI",
             "pr": "PR", "qa": "QA", "sre": "SRE", "ml": "ML"}

#: The tools buddy-tui knows how to run; others named in a file are kept but not offered.
KNOWN_TOOLS = ("Read", "Grep", "Glob", "Edit", "Write", "Task")

#: Claude Buddy names its persona files and agents ``persona-backend`` and so on.
CLAUDE_BUDDY_PREFIX = "persona-"


def persona_key(name: str) -> str:
    """The name a persona is known by: Claude Buddy's ``persona-backend`` is ``backend``, so a
    project's Claude Buddy agent replaces the bundled expert of the same field instead of sitting
    beside it as a second one (the chat says which file won)."""
    bare = name.strip()
    short = bare.removeprefix(CLAUDE_BUDDY_PREFIX)
    return short if short and short != bare else bare


@dataclass(frozen=True)
class Persona:
    """One expert: its name, a one-line description, the tools it may use, and its system prompt."""

    name: str
    description: str
    allowed_tools: tuple[str, ...]
    prompt: str
    path: Path | None = None
    model: str | None = None
    triggers: Triggers = field(default_factory=Triggers)
    source: str = "bundled"  # bundled, user, user-agent, project, skill, agent, file
    #: The name as the file gives it, when that differs from :attr:`name` (``persona-backend``).
    declared_name: str = ""
    #: Where the file had to be read leniently (not strict YAML, no front matter), for /problems.
    notes: tuple[ReadNote, ...] = field(default=(), compare=False)
    #: The front matter's ``color`` (an agent's panel is headed in it), "" when none.
    color: str = ""
    #: False when the file names no tools at all: run as an agent, it gets the lead's tools.
    tools_declared: bool = True

    @property
    def title(self) -> str:
        """A display name: 'persona-backend' and 'backend' both show as 'Backend'."""
        bare = self.name.removeprefix("persona-")
        words = bare.replace("-", " ").replace("_", " ").split()
        return " ".join(_ACRONYMS.get(w.lower(), w.capitalize()) for w in words)

    @property
    def summary(self) -> str:
        """The description without its examples, on one line, short enough for a list."""
        text = re.split(r"<example>|\bExamples?:", self.description, maxsplit=1)[0]
        text = " ".join(text.split())
        return text if len(text) <= 200 else text[:199].rsplit(" ", 1)[0] + "…"


def load_persona(path: Path, source: str = "file", confine: Path | None = None) -> Persona:
    """Load one persona file, raising :class:`DefinitionError` naming the file and the problem.

    A skill's ``SKILL.md`` without a name is named after its folder, as Claude Code does. With
    ``confine`` (the project root, for a project's file) a symlink out of the project is refused.
    """
    doc = frontmatter.load(path, confine)
    default_name = path.parent.name if path.name == "SKILL.md" else path.stem
    declared = frontmatter.string_field(doc, "name", path) or default_name
    name = persona_key(declared)
    # Agent files often write newlines as literal '\n' inside a one-line description.
    description = (frontmatter.string_field(doc, "description", path) or "").replace("\\n", "\n")
    tools = frontmatter.list_field(doc, "allowed-tools", path)
    if tools is None:  # Claude Code agents call the same list 'tools'
        tools = frontmatter.list_field(doc, "tools", path) or ()
    if not doc.body:
        raise DefinitionError(path, "has no body; the body is the persona's system prompt", doc.body_line)
    triggers = from_front_matter(doc.meta.get("triggers")) or from_prose(description, doc.body)
    notes = doc.notes
    color = doc.meta.get("color")
    if color is not None and not isinstance(color, str):
        notes += (ReadNote(doc.line_of("color"), f"'color' must be text, not {type(color).__name__}; ignored"),)
    if not doc.has_front_matter:
        notes += (ReadNote(1, f"no front matter: named '{name}' after the file, with no description"),)
    return Persona(
        name=name,
        description=" ".join(description.split()),
        allowed_tools=tools,
        prompt=doc.body,
        path=path,
        model=frontmatter.string_field(doc, "model", path),
        triggers=triggers,
        source=source,
        declared_name=declared if declared != name else "",
        notes=notes,
        color=color.strip() if isinstance(color, str) else "",
        # Claude Code: an agent without 'tools' inherits the main thread's tools.
        tools_declared=any(doc.meta.get(key) is not None for key in ("allowed-tools", "tools")),
    )


def bundled_personas() -> dict[str, Persona]:
    """Every persona that ships with buddy-tui, by name. A broken bundled file is a bug: it raises."""
    found: dict[str, Persona] = {}
    for path in sorted(personas_dir().glob("*.md")):
        persona = load_persona(path, "bundled")
        found[persona.name] = persona
    return found


def resolve_persona(spec: str | None, available: Mapping[str, Persona]) -> Persona:
    """Turn ``--persona NAME|FILE`` into a persona: a path is loaded as it is, a name is looked up
    in ``available``; raises :class:`DefinitionError` saying what exists instead."""
    spec = spec or DEFAULT_PERSONA
    candidate = Path(spec).expanduser()
    try:
        is_file = candidate.suffix == ".md" or "/" in spec or candidate.exists()
    except OSError:
        is_file = True  # let the loader say what is wrong with it
    if is_file:
        return load_persona(candidate, "file")
    try:
        return available[persona_key(spec)]
    except KeyError:
        names = ", ".join(sorted(available)) or "none"
        raise DefinitionError(spec, f"no persona of that name (available: {names})") from None
