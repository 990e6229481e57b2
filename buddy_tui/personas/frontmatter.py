"""Split a Markdown file into its YAML front matter and body.

Personas and slash commands share this format (the one Claude Code uses for skills, agents and
commands), so both loaders go through here and report problems the same way: which file, which
line, and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buddy_tui.personas import frontmatter_cache as metacache

#: Files bigger than this are not personas or commands; refuse them rather than parse megabytes.
MAX_DEFINITION_BYTES = 512 * 1024



def _yaml_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's loader when PyYAML has it (several times faster); PyYAML
    is imported here, on first use, since a start with cached front matter never needs it."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _yaml_error() -> type[Exception]:
    import yaml

    return yaml.YAMLError


class DefinitionError(Exception):
    """A persona or command file that cannot be read; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str, line: int | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Document:
    """The parsed parts of a front-matter file."""

    meta: dict[str, Any]
    body: str
    body_line: int  # 1-based line where the body starts, for error messages


def read_text(path: Path) -> str:
    """Read a definition file as UTF-8, with errors that say what is wrong in plain words."""
    try:
        size = path.stat().st_size
        if size > MAX_DEFINITION_BYTES:
            raise DefinitionError(path, f"file is {size:,} bytes; definitions are limited to "
                                        f"{MAX_DEFINITION_BYTES:,}")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DefinitionError(path, "file not found") from None
    except IsADirectoryError:
        raise DefinitionError(path, "is a directory, not a file") from None
    except PermissionError:
        raise DefinitionError(path, "permission denied") from None
    except OSError as exc:
        raise DefinitionError(path, f"cannot be read ({exc.strerror or exc})") from None
    if b"\x00" in raw:
        raise DefinitionError(path, "looks like a binary file, not Markdown")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DefinitionError(path, "is not valid UTF-8 text", line) from None


def parse(text: str, path: Path | str = "<text>") -> Document:
    """Split ``text`` into front matter (a mapping) and body.

    A file without a leading ``---`` line has no front matter: all of it is body. A file that opens
    front matter but never closes it, or whose front matter is not a YAML mapping, is an error.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return Document(meta={}, body=text.strip(), body_line=1)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise DefinitionError(path, "front matter opened with '---' is never closed", 1) from None
    raw_meta = "\n".join(lines[1:end])
    meta = metacache.get(raw_meta)
    if meta is None:
        meta = _read_meta(raw_meta, path)
        metacache.put(raw_meta, meta)
    body = "\n".join(lines[end + 1 :]).strip()
    return Document(meta=meta, body=body, body_line=end + 2)


#: Keys that open a new field when a file is read leniently; any other 'word:' line (such as
#: 'Context:' or 'user:' inside an <example> block) continues the value before it.
KNOWN_KEYS = frozenset({
    "name", "description", "allowed-tools", "tools", "disallowedtools", "model", "color", "argument-hint",
    "persona", "triggers", "disable-model-invocation", "when_to_use", "when-to-use", "user-invocable",
    "permissionmode", "maxturns", "skills", "mcpservers", "hooks", "memory", "background", "effort",
    "isolation", "initialprompt", "arguments", "context", "agent", "paths", "shell", "version", "license",
})
_KEY_LINE = re.compile(r"^([A-Za-z][\w-]*)\s*:(?:\s+(.*)|\s*)$")
_NEEDS_QUOTES = re.compile(r"[{}\[\]*&#!|>%@`]|: ")


def _yaml_mapping(text: str) -> dict[str, Any] | None:
    """Strict YAML, as a mapping; None when it does not parse."""
    try:
        value = _yaml_load(text) if text.strip() else {}
    except _yaml_error():
        return None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError("not a mapping")
    return {str(k): v for k, v in value.items()}


def _quote_plain_lines(text: str) -> str:
    """Claude Code's own retry: quote unindented one-line values that YAML would misread."""
    out = []
    for line in text.split("\n"):
        match = _KEY_LINE.match(line)
        value = match.group(2) if match else None
        if value and _NEEDS_QUOTES.search(value) and not value.startswith(("'", '"', "[", "{", "|", ">")):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            line = f'{match.group(1)}: "{escaped}"'  # type: ignore[union-attr]
        out.append(line)
    return "\n".join(out)


def _lenient(text: str) -> dict[str, Any]:
    """Read 'key: value' fields by hand: a field runs until the next line that starts a known key,
    so multi-line descriptions with colons, blank lines and <example> blocks survive whole."""
    fields: dict[str, list[str]] = {}
    current: str | None = None
    in_example = False
    for line in text.split("\n"):
        match = _KEY_LINE.match(line)
        opens_field = (match is not None and not in_example and not line[:1].isspace()
                       and match.group(1).lower() in KNOWN_KEYS)
        if opens_field and match is not None:
            current = match.group(1)
            fields[current] = [match.group(2) or ""]
        elif current is not None:
            fields[current].append(line)
        lowered = line.lower()
        if "<example>" in lowered:
            in_example = True
        if "</example>" in lowered:
            in_example = False
    meta: dict[str, Any] = {}
    for key, parts in fields.items():
        meta[key] = _field_value(key, parts)
    return meta


def _field_value(key: str, parts: list[str]) -> Any:
    """One field read leniently: as YAML when the field alone is valid YAML (a list, a quoted or
    block string), else as the plain text it is."""
    text = "\n".join(parts).strip()
    try:
        parsed = _yaml_load(f"{key}: {parts[0]}\n" + "\n".join(parts[1:]))
    except _yaml_error():
        return text
    if isinstance(parsed, dict) and list(parsed) == [key] and not isinstance(parsed[key], dict):
        value = parsed[key]
        return text if value is None and text else value
    return text


def _read_meta(raw: str, path: Path | str) -> dict[str, Any]:
    """Front matter as Claude Code reads it, and then some: strict YAML; else YAML after quoting
    plain values (Claude Code's retry); else a line-based reading that keeps multi-line values."""
    try:
        for attempt in (raw, _quote_plain_lines(raw)):
            meta = _yaml_mapping(attempt)
            if meta is not None:
                return meta
    except TypeError:
        raise DefinitionError(path, "front matter must be 'key: value' lines", 2) from None
    meta = _lenient(raw)
    if not meta and raw.strip():
        first = next(i for i, line in enumerate(raw.split("\n")) if line.strip())
        raise DefinitionError(path, "front matter has no 'key: value' lines that can be read", first + 2)
    return meta


def load(path: Path) -> Document:
    """Read and parse one definition file."""
    return parse(read_text(path), path)


def string_field(doc: Document, key: str, path: Path | str) -> str | None:
    """A front-matter value that must be text when present (numbers are accepted and converted)."""
    value = doc.meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DefinitionError(path, f"'{key}' must be text, not {type(value).__name__}")
    return str(value).strip()


def list_field(doc: Document, key: str, path: Path | str) -> tuple[str, ...] | None:
    """A value given either as a comma-separated string or as a YAML list, like ``allowed-tools``."""
    value = doc.meta.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise DefinitionError(path, f"'{key}' must be a comma-separated string or a list of names")
    return tuple(item for item in items if item)
