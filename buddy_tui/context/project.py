"""What a project says about itself: its dependencies (from the usual manifests), the notable
files at its root, and its memory files (CLAUDE.md, .buddy/memory.md).

All reads are small and bounded; anything unreadable is skipped, because these are clues, not
requirements.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

#: Manifest files are read up to this size; anything larger is not a manifest worth parsing.
MANIFEST_BYTES = 512 * 1024
MEMORY_BYTES = 64 * 1024
MEMORY_FILES = ("CLAUDE.md", ".claude/CLAUDE.md", "CLAUDE.local.md", ".buddy/memory.md")

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


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MANIFEST_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _pep508_name(spec: str) -> str | None:
    match = _REQUIREMENT.match(spec)
    return match.group(1).lower() if match else None


def _python(root: Path, found: dict[str, str]) -> None:
    text = _read(root / "pyproject.toml")
    if text is not None:
        import tomllib  # only for a project that has a pyproject.toml: not on most start paths

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            data = {}
        project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
        specs = list(project.get("dependencies", []) or [])
        for extra in (project.get("optional-dependencies", {}) or {}).values():
            specs += list(extra or [])
        poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
        specs += list((poetry.get("dependencies", {}) or {}).keys())
        for spec in specs:
            if isinstance(spec, str) and (name := _pep508_name(spec)):
                found.setdefault(name, "pyproject.toml")
    for req in sorted([*root.glob("requirements*.txt"), *root.glob("requirements/*.txt")]):
        for line in (_read(req) or "").splitlines():
            if line.strip().startswith(("#", "-")):
                continue
            if name := _pep508_name(line):
                found.setdefault(name, req.relative_to(root).as_posix())


def _javascript(root: Path, found: dict[str, str]) -> None:
    text = _read(root / "package.json")
    if text is None:
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return
    if not isinstance(data, dict):
        return
    for key in ("dependencies", "devDependencies", "peerDependencies"):
        section = data.get(key)
        if isinstance(section, dict):
            for name in section:
                found.setdefault(str(name).lower(), "package.json")


def _others(root: Path, found: dict[str, str]) -> None:
    for module in _GO_REQUIRE.findall(_read(root / "go.mod") or ""):
        found.setdefault(module.lower(), "go.mod")
    for artifact in _ARTIFACT.findall(_read(root / "pom.xml") or ""):
        found.setdefault(artifact.lower(), "pom.xml")
    for gradle in ("build.gradle", "build.gradle.kts"):
        for group, artifact in _GRADLE.findall(_read(root / gradle) or ""):
            found.setdefault(artifact.lower(), gradle)
            found.setdefault(group.lower(), gradle)
    for gem in _GEM.findall(_read(root / "Gemfile") or ""):
        found.setdefault(gem.lower(), "Gemfile")
    cargo = _read(root / "Cargo.toml")
    if cargo is not None:
        import tomllib

        try:
            deps = tomllib.loads(cargo).get("dependencies", {})
        except tomllib.TOMLDecodeError:
            deps = {}
        for name in deps if isinstance(deps, dict) else ():
            found.setdefault(str(name).lower(), "Cargo.toml")


def scan_project(root: Path) -> ProjectFacts:
    """Read the project's manifests and list its root; cheap enough to run at start-up."""
    found: dict[str, str] = {}
    _python(root, found)
    _javascript(root, found)
    _others(root, found)
    entries: set[str] = set()
    try:
        for child in root.iterdir():
            entries.add(child.name.lower())
            if child.name in (".github", ".gitlab", "deploy", "infra", "ops") and child.is_dir():
                entries.update(f"{child.name.lower()}/{sub.name.lower()}" for sub in child.iterdir())
    except OSError:
        pass
    return ProjectFacts(dependencies=found, root_entries=frozenset(entries))


def load_memory(root: Path) -> list[MemoryFile]:
    """The project's memory files, in order, each read up to a limit."""
    memory: list[MemoryFile] = []
    for name in MEMORY_FILES:
        path = root / name
        try:
            if not path.is_file():
                continue
            with path.open("rb") as handle:
                data = handle.read(MEMORY_BYTES + 1)
        except OSError:
            continue
        text = data[:MEMORY_BYTES].decode("utf-8", errors="replace").strip()
        if text:
            memory.append(MemoryFile(name, text, truncated=len(data) > MEMORY_BYTES))
    return memory
