"""What a project says about itself: its dependencies (from the usual manifests), the notable
files at its root, and its memory files (CLAUDE.md, .buddy/memory.md).

These are files of a repository the user may not have written, read without being asked for:
every read is bounded and confined to the project (context/confined.py), every parser takes
whatever types a file holds, and memory files are secret-scanned before they reach the system
prompt. A manifest that cannot be used is skipped, because these are clues, not requirements;
:func:`check_files` says, for /problems, which files were refused or redacted, and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from buddy_tui.context.confined import Refused, read_bounded

#: Manifest files are read up to this size; anything larger is not a manifest worth parsing.
MANIFEST_BYTES = 512 * 1024
MEMORY_BYTES = 64 * 1024
MEMORY_FILES = ("CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md", ".buddy/memory.md")
#: Entries of the root (and of .github/ and the like) looked at, at most.
MAX_ROOT_ENTRIES = 5_000

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_GO_REQUIRE = re.compile(r"^\s*(?:require\s+)?([\w.\-~]+(?:/[\w.\-~]+)+)\s+v", re.MULTILINE)
_ARTIFACT = re.compile(r"<artifactId>\s*([^<\s]+)\s*</artifactId>")
_GRADLE = re.compile(r"""(?:implementation|api|compile|runtimeOnly)\s*\(?\s*['"]([\w.\-]+):([\w.\-]+)""")
_GEM = re.compile(r"""^\s*gem\s+['"]([\w.\-]+)['"]""", re.MULTILINE)


@dataclass(frozen=True)
class MemoryFile:
    """A project memory file that goes into the system prompt after the persona."""

    path: str
    text: str
    truncated: bool
    #: What was redacted before sending, such as "GitHub token (line 3)": kinds, never values.
    redacted: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileNote:
    """A project file read on its own that was not used as it is: which, why, and what was done."""

    path: Path
    why: str
    outcome: str  # "not read", "not used", "sent redacted"
    kind: str  # "memory" or "manifest"

    def __str__(self) -> str:
        return f"{self.path}: {self.why}"


@dataclass(frozen=True)
class ProjectFacts:
    """Dependencies by name (with the manifest that lists them) and the entries at the root."""

    dependencies: dict[str, str] = field(default_factory=dict)
    root_entries: frozenset[str] = frozenset()

    def has_dependency(self, wanted: str) -> str | None:
        """The manifest listing a dependency called ``wanted`` (or a package of that family,
        e.g. ``spring`` for ``spring-boot-starter-web``); None when there is none."""
        wanted = wanted.lower()
        for name, manifest in self.dependencies.items():
            base = name.rsplit("/", 1)[-1]  # @nestjs/core -> core, github.com/gin-gonic/gin -> gin
            if wanted in (name, base) or base.startswith(wanted + "-") or wanted in re.split(r"[-_./@:]", name):
                return manifest
        return None

    def has_entry(self, entry: str) -> bool:
        """Whether ``entry`` (a file, or a folder written with a trailing '/') exists at the root
        (nested entries such as ``.github/workflows/`` are checked against the folder list)."""
        return entry.strip("/").lower() in self.root_entries or entry.lower() in self.root_entries


class _Reader:
    """Reads one project's manifests, bounded and confined, noting each that cannot be used."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notes: list[FileNote] = []

    def text(self, name: str) -> str | None:
        """The text of the manifest at ``name`` (relative to the root); None when there is none
        or it cannot be used (then a note says why)."""
        path = self.root / name
        try:
            data, more = read_bounded(path, MANIFEST_BYTES, self.root)
        except FileNotFoundError:
            return None
        except Refused as exc:
            self.note(path, exc.why, "not read")
            return None
        if more:
            self.note(path, f"is over {MANIFEST_BYTES // 1024} KB, too big for a manifest; not read", "not read")
            return None
        return data.decode("utf-8", errors="replace")

    def note(self, path: Path, why: str, outcome: str = "not used") -> None:
        self.notes.append(FileNote(path, why, outcome, "manifest"))

    def toml(self, name: str) -> dict[str, Any]:
        """A TOML manifest's table; empty (with a note) when it is not valid TOML."""
        text = self.text(name)
        if text is None:
            return {}
        import tomllib  # only for a project that has such a file: not on most start paths

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.note(self.root / name, f"not valid TOML ({exc}); its dependencies are not used")
        except RecursionError:
            self.note(self.root / name, "nested deeper than can be read; its dependencies are not used")
        return {}

    def json(self, name: str) -> Any:
        """A JSON manifest's value; None (with a note) when it is not valid JSON."""
        text = self.text(name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            self.note(self.root / name, f"not valid JSON ({exc}); its dependencies are not used")
        except RecursionError:
            self.note(self.root / name, "nested deeper than can be read (JSON arrays or objects inside each other "
                                        "about a thousand levels deep); its dependencies are not used")
        return None


def _table(value: object) -> dict[str, Any]:
    """``value`` when it is a table (a dict), else an empty one: manifests may hold any type."""
    return value if isinstance(value, dict) else {}


def _texts(value: object) -> Iterator[str]:
    """The strings of a list (other items skipped); nothing for anything that is not a list."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))


def _pep508_name(spec: str) -> str | None:
    match = _REQUIREMENT.match(spec)
    return match.group(1).lower() if match else None


def _python(read: _Reader, found: dict[str, str]) -> None:
    data = read.toml("pyproject.toml")
    project = _table(data.get("project"))
    specs = list(_texts(project.get("dependencies")))
    for extra in _table(project.get("optional-dependencies")).values():
        specs += _texts(extra)
    poetry = _table(_table(data.get("tool")).get("poetry"))
    specs += [str(name) for name in _table(poetry.get("dependencies"))]
    for spec in specs:
        if name := _pep508_name(spec):
            found.setdefault(name, "pyproject.toml")
    root = read.root
    try:
        requirements = sorted([*islice(root.glob("requirements*.txt"), 100),
                               *islice(root.glob("requirements/*.txt"), 100)])
    except OSError:
        requirements = []
    for req in requirements:
        for line in (read.text(req.relative_to(root).as_posix()) or "").splitlines():
            if line.strip().startswith(("#", "-")):
                continue
            if name := _pep508_name(line):
                found.setdefault(name, req.relative_to(root).as_posix())


def _javascript(read: _Reader, found: dict[str, str]) -> None:
    data = _table(read.json("package.json"))
    for key in ("dependencies", "devDependencies", "peerDependencies"):
        for name in _table(data.get(key)):
            found.setdefault(str(name).lower(), "package.json")


def _others(read: _Reader, found: dict[str, str]) -> None:
    for module in _GO_REQUIRE.findall(read.text("go.mod") or ""):
        found.setdefault(module.lower(), "go.mod")
    for artifact in _ARTIFACT.findall(read.text("pom.xml") or ""):
        found.setdefault(artifact.lower(), "pom.xml")
    for gradle in ("build.gradle", "build.gradle.kts"):
        for group, artifact in _GRADLE.findall(read.text(gradle) or ""):
            found.setdefault(artifact.lower(), gradle)
            found.setdefault(group.lower(), gradle)
    for gem in _GEM.findall(read.text("Gemfile") or ""):
        found.setdefault(gem.lower(), "Gemfile")
    for name in _table(read.toml("Cargo.toml").get("dependencies")):
        found.setdefault(str(name).lower(), "Cargo.toml")


def _manifests(root: Path) -> tuple[dict[str, str], list[FileNote]]:
    read = _Reader(root)
    found: dict[str, str] = {}
    _python(read, found)
    _javascript(read, found)
    _others(read, found)
    return found, read.notes


def scan_project(root: Path) -> ProjectFacts:
    """Read the project's manifests and list its root; cheap enough to run at start-up."""
    found, _ = _manifests(root)
    entries: set[str] = set()
    try:
        for child in islice(root.iterdir(), MAX_ROOT_ENTRIES):
            entries.add(child.name.lower())
            if child.name in (".github", ".gitlab", "deploy", "infra", "ops") and child.is_dir() \
                    and not child.is_symlink():
                entries.update(f"{child.name.lower()}/{sub.name.lower()}"
                               for sub in islice(child.iterdir(), MAX_ROOT_ENTRIES))
    except OSError:
        pass
    return ProjectFacts(dependencies=found, root_entries=frozenset(entries))


def _memory(root: Path) -> tuple[list[MemoryFile], list[FileNote]]:
    """The memory files that can be sent, redacted, and a note for each refused or redacted one."""
    from buddy_tui.context.secrets import find_secrets, redact

    memory: list[MemoryFile] = []
    notes: list[FileNote] = []
    for name in MEMORY_FILES:
        path = root / name
        try:
            data, more = read_bounded(path, MEMORY_BYTES, root)
        except FileNotFoundError:
            continue
        except Refused as exc:
            notes.append(FileNote(path, f"{exc.why} (project memory goes to the model: only files of the project "
                                        "are sent)", "not read", "memory"))
            continue
        if b"\x00" in data[:8192]:
            notes.append(FileNote(path, "looks like a binary file, not Markdown; not sent", "not read", "memory"))
            continue
        text = data.decode("utf-8", errors="replace")
        if not text.strip():
            continue
        findings = find_secrets(text)  # before stripping, so the lines are the file's
        redacted: tuple[str, ...] = ()
        if findings:
            text = redact(text, findings)
            redacted = tuple(f"{finding.kind} (line {finding.line})" for finding in findings)
            more_note = f" and {len(redacted) - 5} more" if len(redacted) > 5 else ""
            notes.append(FileNote(path, "redacted before it goes to the model: " + ", ".join(redacted[:5]) + more_note,
                                  "sent redacted", "memory"))
        memory.append(MemoryFile(name, text.strip(), truncated=more, redacted=redacted))
    return memory, notes


def load_memory(root: Path) -> list[MemoryFile]:
    """The project's memory files, in order, each read up to a limit, with secrets redacted.
    A file that is not a regular file inside the project is not read (:func:`check_files` says why)."""
    return _memory(root)[0]


def check_files(root: Path) -> list[FileNote]:
    """Every memory file and manifest of ``root`` that was refused, could not be used or was sent
    redacted, and why: what /problems lists besides the persona and command files."""
    return _memory(root)[1] + _manifests(root)[1]
