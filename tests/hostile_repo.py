"""A repository built to hurt: every hazard of issue 16 in one folder, for the end-to-end tests.

It holds YAML alias bombs wherever front matter is read, oversized and deeply nested manifests, a
CLAUDE.md of 50 MB, a ``.gitignore`` of a million lines, memory files symlinked out of the project,
file names with line breaks and escape sequences, and credentials of every family the scanner
knows (from :mod:`tests.secret_corpus`) in the places a project keeps them.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import make_project

#: Nine levels of nine aliases each: 9**9 (387 million) strings once expanded.
_LEVELS = "abcdefghi"


def alias_bomb(name: str) -> str:
    """A front matter whose aliases expand to hundreds of millions of nodes ("billion laughs")."""
    lines = ["---", f"name: {name}", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, level in itertools.pairwise(_LEVELS):
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    lines += ["description: *i", "---", "You are a bomb.", ""]
    return "\n".join(lines)


#: An ignore pattern that makes a backtracking matcher run for ever on a long name.
WILD_PATTERN = "*a" * 25 + "b"

#: The escape sequences a hostile reply or file may hold: set the clipboard, set the window title,
#: colours, and a bare carriage return that would overwrite a line.
ESCAPES = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x07\x1b[31mred\x1b[0m\rover"


@dataclass
class HostileRepo:
    """Where the hazards are, so tests can check each is named or withheld."""

    root: Path
    bad_files: list[str] = field(default_factory=list)  # relative paths /problems must name
    secrets: list[str] = field(default_factory=list)  # values that must never reach the API
    secret_files: list[str] = field(default_factory=list)  # relative paths holding them


def _write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def make_hostile_repo(root: Path, *, big: bool = True) -> HostileRepo:
    """The sample project of :func:`tests.helpers.make_project` with every hazard added.

    ``big=False`` leaves out the 50 MB CLAUDE.md and the million-line ``.gitignore`` for tests that
    do not measure size.
    """
    from tests.secret_corpus import samples

    make_project(root)
    repo = HostileRepo(root)
    for relative in (".claude/agents/bomb.md", ".claude/commands/bomb.md", ".claude/skills/bomb/SKILL.md",
                     ".buddy/personas/bomb.md"):
        _write(root, relative, alias_bomb("bomb"))
        repo.bad_files.append(relative)
    _write(root, "package.json", "[" * 200_000 + "]" * 200_000)
    _write(root, "pyproject.toml", '[project]\nname = "orders"\ndependencies = 5\n')
    _write(root, "composer.json", '{"require": 7}')
    if big:
        line = "Keep handlers small. " * 4 + "\n"
        _write(root, "CLAUDE.md", line * (50 * 1024 * 1024 // len(line)))
        _write(root, ".gitignore", WILD_PATTERN + "\n" + "".join(f"generated/file{i}.tmp\n" for i in range(1_000_000)))
    else:
        _write(root, "CLAUDE.md", "# Orders\nKeep handlers small.\n")
        _write(root, ".gitignore", WILD_PATTERN + "\n*.log\n")
    _write(root, "a" * 120, "a long name a backtracking ignore pattern chokes on\n")
    os.symlink("/proc/self/environ", root / "CLAUDE.local.md")
    os.symlink("/proc/self/environ", root / ".claude" / "agents" / "backend.md")
    repo.bad_files += ["CLAUDE.local.md", ".claude/agents/backend.md"]
    _write(root, "notes/evil\nbuddy-tui: all files sent\x1b]0;pwned\x07.md", ESCAPES + "\n")
    _write(root, "notes/escapes.md", "# Terminal\n" + ESCAPES + "\n")
    lines: list[str] = []
    for sample in samples():
        lines.append(sample.text)
        repo.secrets.append(sample.secret)
    _write(root, "deploy/services.yml", "\n\n".join(lines) + "\n")
    repo.secret_files.append("deploy/services.yml")
    _write(root, "app/auth.py", 'def login(request):\n    password = request.form["password"]\n    return password\n')
    return repo
