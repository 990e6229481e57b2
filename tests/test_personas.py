"""The persona loader: the bundled persona, the seed persona as it is, and malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui.personas.frontmatter import DefinitionError
from buddy_tui.personas.persona import bundled_personas, load_persona, resolve_persona
from tests.helpers import seed_persona

# Each seed section, as words any one of which our heading for it must contain.
SEED_SECTIONS = [
    ("identity", "who you are"), ("principle",), ("budget",), ("trigger",), ("collaborat", "other personas"),
    ("response pattern",), ("quality",), ("command",), ("technolog",), ("monitoring",),
]


def write(tmp_path: Path, text: str, name: str = "p.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_backend_persona_covers_every_seed_section() -> None:
    backend = bundled_personas()["backend"]
    assert backend.allowed_tools == ("Read", "Grep", "Glob", "Edit", "Write", "Task")
    headings = [line.lower() for line in backend.prompt.splitlines() if line.startswith("## ")]
    for words in SEED_SECTIONS:
        assert any(any(w in h for w in words) for h in headings), f"no section about {words}: {headings}"
    assert "reliability" in backend.prompt.lower().split("security")[0]  # priority order: reliability first
    for command in ("/buddy:api", "/buddy:database", "/buddy:review", "/buddy:brainstorm",
                    "/buddy:secure", "/buddy:improve"):
        assert command in backend.prompt


def test_bundled_persona_is_our_own_words() -> None:
    seed = {line.strip() for line in seed_persona().read_text(encoding="utf-8").splitlines() if len(line.strip()) >= 40}
    ours = bundled_personas()["backend"].path
    assert ours is not None
    copied = [line for line in ours.read_text(encoding="utf-8").splitlines() if line.strip() in seed]
    assert copied == []


def test_seed_persona_loads_exactly_as_it_is() -> None:
    persona = resolve_persona(str(seed_persona()), {})
    assert persona.name == "backend" and persona.declared_name == "persona-backend"  # Claude Buddy's naming
    assert persona.notes == ()  # strict YAML: nothing for /problems
    assert persona.title == "Backend"
    assert persona.allowed_tools == ("Read", "Grep", "Glob", "Edit", "Write")
    assert persona.prompt.startswith("# Backend Persona")
    assert "Reliability" in persona.description


@pytest.mark.parametrize(
    ("tools_yaml", "expected"),
    [
        ("allowed-tools: Read, Grep", ("Read", "Grep")),
        ("allowed-tools: [Read, Edit]", ("Read", "Edit")),
        ("allowed-tools:\n  - Glob\n  - Write", ("Glob", "Write")),
        ("tools: Read", ("Read",)),
        ("", ()),
    ],
)
def test_allowed_tools_as_string_or_list(tmp_path: Path, tools_yaml: str, expected: tuple[str, ...]) -> None:
    path = write(tmp_path, f"---\nname: x\ndescription: d\n{tools_yaml}\n---\nBody\n")
    assert load_persona(path).allowed_tools == expected


def test_crlf_bom_and_missing_name(tmp_path: Path) -> None:
    path = tmp_path / "ops-expert.md"
    path.write_bytes("\ufeff---\r\ndescription: Ops\r\n---\r\nYou run things.\r\n".encode())
    persona = load_persona(path)
    assert (persona.name, persona.description, persona.prompt) == ("ops-expert", "Ops", "You run things.")


def test_file_without_front_matter_is_all_body(tmp_path: Path) -> None:
    persona = load_persona(write(tmp_path, "You are terse.\n", "terse.md"))
    assert persona.name == "terse"
    assert persona.prompt == "You are terse."


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("---\n!!! ???\n---\nbody", "no 'key: value' lines", 2),
        ("---\nname: x\nbody without end", "never closed", 1),
        ("---\n- a\n- b\n---\nbody", "key: value", 2),
        ("---\nname: x\n---\n", "has no body", 4),
        ("---\nname: [a, b]\n---\nbody", "'name' must be text", None),
        ("---\nallowed-tools: {a: 1}\n---\nbody", "'allowed-tools' must be", None),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(
    tmp_path: Path, text: str, problem: str, line: int | None
) -> None:
    path = write(tmp_path, text, "broken.md")
    with pytest.raises(DefinitionError) as caught:
        load_persona(path)
    message = str(caught.value)
    assert str(path) in message
    assert problem in message
    assert caught.value.line == line


def test_binary_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "b.md"
    binary.write_bytes(b"---\x00\x01")
    with pytest.raises(DefinitionError, match="binary"):
        load_persona(binary)
    latin = tmp_path / "l.md"
    latin.write_bytes(b"---\nname: caf\xe9\n---\nbody")
    with pytest.raises(DefinitionError, match="UTF-8") as caught:
        load_persona(latin)
    assert caught.value.line == 2


def test_missing_and_unknown_personas(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="file not found"):
        resolve_persona(str(tmp_path / "nope.md"), bundled_personas())
    with pytest.raises(DefinitionError, match="no persona of that name"):
        resolve_persona("astrologer", bundled_personas())
    assert resolve_persona(None, bundled_personas()).name == "backend"
    assert resolve_persona("backend", bundled_personas()).name == "backend"
