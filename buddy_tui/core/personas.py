"""Personas: a Markdown file whose front matter names the expert and whose body is the system prompt.

The format is the one Claude Code uses for skills and agents, so a file written for Claude Code (or
the original Claude Buddy persona) loads here unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from buddy_tui.core import frontmatter
from buddy_tui.core.frontmatter import DefinitionError
from buddy_tui.core.resources import personas_dir

#: The tools buddy-tui knows how to run; others named in a file are kept but not offered.
KNOWN_TOOLS = ("Read", "Grep", "Glob", "Edit", "Write")
DEFAULT_PERSONA = "backend"


@dataclass(frozen=True)
class Persona:
    """One expert: its name, a one-line description, the tools it may use, and its system prompt."""

    name: str
    description: str
    allowed_tools: tuple[str, ...]
    prompt: str
    path: Path | None = None
    model: str | None = None

    @property
    def title(self) -> str:
        """A display name: 'persona-backend' and 'backend' both show as 'Backend'."""
        bare = self.name.removeprefix("persona-")
        return bare.replace("-", " ").replace("_", " ").title()


def load_persona(path: Path) -> Persona:
    """Load one persona file, raising :class:`DefinitionError` naming the file and the problem."""
    doc = frontmatter.load(path)
    name = frontmatter.string_field(doc, "name", path) or path.stem
    description = frontmatter.string_field(doc, "description", path) or ""
    tools = frontmatter.list_field(doc, "allowed-tools", path)
    if tools is None:  # Claude Code agents call the same list 'tools'
        tools = frontmatter.list_field(doc, "tools", path) or ()
    if not doc.body:
        raise DefinitionError(path, "has no body; the body is the persona's system prompt", doc.body_line)
    return Persona(
        name=name,
        description=" ".join(description.split()),
        allowed_tools=tools,
        prompt=doc.body,
        path=path,
        model=frontmatter.string_field(doc, "model", path),
    )


def bundled_personas() -> dict[str, Persona]:
    """Every persona that ships with buddy-tui, by name. A broken bundled file is a bug: it raises."""
    found: dict[str, Persona] = {}
    for path in sorted(personas_dir().glob("*.md")):
        persona = load_persona(path)
        found[persona.name] = persona
    return found


def resolve_persona(spec: str | None) -> Persona:
    """Turn ``--persona NAME|FILE`` into a persona: a path that exists is loaded, else a bundled name."""
    if spec is None:
        spec = DEFAULT_PERSONA
    candidate = Path(spec).expanduser()
    if candidate.suffix == ".md" or candidate.exists() or "/" in spec:
        return load_persona(candidate)
    personas = bundled_personas()
    try:
        return personas[spec]
    except KeyError:
        names = ", ".join(sorted(personas)) or "none"
        raise DefinitionError(spec, f"no persona of that name (bundled: {names})") from None
