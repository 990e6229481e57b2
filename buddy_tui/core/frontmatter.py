"""Split a Markdown file into its YAML front matter and body.

Personas and slash commands share this format (the one Claude Code uses for skills, agents and
commands), so both loaders go through here and report problems the same way: which file, which
line, and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Files bigger than this are not personas or commands; refuse them rather than parse megabytes.
MAX_DEFINITION_BYTES = 512 * 1024


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
    try:
        meta = yaml.safe_load(raw_meta) if raw_meta.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for 1-based, +1 for the opening '---'
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DefinitionError(path, f"front matter is not valid YAML: {problem}", line) from None
    if not isinstance(meta, dict):
        raise DefinitionError(path, "front matter must be 'key: value' lines", 2)
    body = "\n".join(lines[end + 1 :]).strip()
    return Document(meta={str(k): v for k, v in meta.items()}, body=body, body_line=end + 2)


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
