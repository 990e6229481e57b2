"""Split a Markdown file into its YAML front matter and body.

Personas and slash commands share this format (the one Claude Code uses for skills, agents and
commands), so both loaders go through here and report problems the same way: which file, which
line, and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from buddy_tui.context.confined import Refused, read_bounded
from buddy_tui.personas import frontmatter_cache as metacache

#: Files bigger than this are not personas or commands; refuse them rather than parse megabytes.
MAX_DEFINITION_BYTES = 512 * 1024
#: Front matter longer than this is refused unparsed. The longest real agent descriptions, with
#: their <example> blocks, are a few KB; this bounds what YAML (and the lenient reading) ever sees.
MAX_FRONT_MATTER_CHARS = 64 * 1024


class _AliasRefused(Exception):
    """Front matter that uses YAML aliases (``*name``), which buddy-tui never expands."""


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_load(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's loader when PyYAML has it (several times faster); PyYAML
    is imported here, on first use, since a start with cached front matter never needs it.

    Bounded in time and memory: an alias (``*name``) anywhere raises :class:`_AliasRefused` before
    anything is built. Aliases are how a few lines ("billion laughs") expand into billions of
    nodes; without them every node comes from text of its own, so the result is no bigger than the
    (capped) text. Claude Code's files never use them, so refusing all of them costs nothing real
    and needs no expansion budget to tune. A value YAML reads but Python refuses (an integer of
    5,000 digits) or nesting past Python's stack is reported as a YAML error."""
    import yaml

    if "*" in text and _has_alias(text):
        raise _AliasRefused
    try:
        return yaml.load(text, Loader=_loader())
    except (ValueError, RecursionError, OverflowError) as exc:
        raise yaml.YAMLError(f"a value YAML reads but cannot be used ({_clip(exc, 80)})") from None


def _has_alias(text: str) -> bool:
    """Whether YAML's own scanner finds an alias token in ``text`` (a '*' inside a quoted or plain
    value is no alias). Scanning is linear; a scan error is left for the load to report."""
    import yaml

    try:
        return any(isinstance(token, yaml.AliasToken) for token in yaml.scan(text, Loader=_loader()))
    except yaml.YAMLError:
        return False


def _yaml_error() -> type[Exception]:
    import yaml

    return yaml.YAMLError


class ReadNote(NamedTuple):
    """Where a file had to be read leniently, and how (shown by /problems): the file's line, 1-based."""

    line: int
    why: str


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
    #: Where the front matter was not strict YAML and was read leniently (empty when it was).
    notes: tuple[ReadNote, ...] = ()
    #: The front matter as written, so a field's line can be found when one needs reporting.
    front: str = ""

    @property
    def has_front_matter(self) -> bool:
        """True when the file opens with a ``---`` block (however it was read)."""
        return self.body_line > 1

    def line_of(self, key: str) -> int:
        """The file's line (1-based) where front-matter field ``key`` starts; the front matter's
        first line when no unindented ``key:`` line is found."""
        return key_line(self.front, key)


def key_line(front: str, key: str) -> int:
    """The file's line (1-based) of the unindented ``key:`` line in front matter ``front`` (the
    text between the ``---`` lines); 2, the front matter's first line, when there is none."""
    for number, line in enumerate(front.split("\n"), start=2):
        match = _KEY_LINE.match(line)
        if match is not None and match.group(1) == key:
            return number
    return 2


def read_text(path: Path, root: Path | None = None) -> str:
    """Read a definition file as UTF-8, with errors that say what is wrong in plain words.

    With ``root`` (a file of the project) the file must really lie inside it: a symlink out of the
    project is refused, as the tools refuse one. Either way only a regular file is read, and
    never more than :data:`MAX_DEFINITION_BYTES`."""
    try:
        raw, more = read_bounded(path, MAX_DEFINITION_BYTES, root)
    except FileNotFoundError:
        raise DefinitionError(path, "file not found") from None
    except Refused as exc:
        raise DefinitionError(path, exc.why) from None
    if more:
        raise DefinitionError(path, f"file is over {MAX_DEFINITION_BYTES:,} bytes, the limit for a definition")
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
    if len(raw_meta) > MAX_FRONT_MATTER_CHARS:
        raise DefinitionError(path, f"front matter is {len(raw_meta):,} characters; at most "
                                    f"{MAX_FRONT_MATTER_CHARS:,} are read", 2)
    cached = metacache.get(raw_meta)
    if cached is None:
        meta, found = _read_meta(raw_meta, path)
        metacache.put(raw_meta, meta, found)
    else:
        meta, found = cached
    body = "\n".join(lines[end + 1 :]).strip()
    # Lines in the notes count from the front matter's first line; the file's line is 1 further on.
    notes = tuple(ReadNote(line + 1, why) for line, why in found)
    return Document(meta=meta, body=body, body_line=end + 2, notes=notes, front=raw_meta)


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


def _strict(text: str) -> tuple[dict[str, Any] | None, tuple[int, str]]:
    """Strict YAML, as a mapping; None when it does not parse, with the line (1-based, within
    ``text``) and the reason. Raises TypeError for valid YAML that is not a mapping."""
    try:
        value = _yaml_load(text) if text.strip() else {}
    except _yaml_error() as exc:
        return None, _yaml_problem(exc)
    if value is None:
        return {}, (0, "")
    if not isinstance(value, dict):
        raise TypeError("not a mapping")
    return {str(k): v for k, v in value.items()}, (0, "")


def _yaml_problem(exc: Exception) -> tuple[int, str]:
    """Where PyYAML stopped and why, in its own words (line 1-based; 1 when it does not say)."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    line = (mark.line + 1) if mark is not None else 1
    problem = " ".join(str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part)
    return line, problem or str(exc).splitlines()[0]


def _special(value: str) -> str:
    """What in an unquoted value YAML reads as its own syntax."""
    if ": " in value:
        return "': ' in an unquoted value"
    found = _NEEDS_QUOTES.search(value)
    return f"'{found.group(0) if found else value[:1]}' in an unquoted value"


def _quote_plain_lines(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Claude Code's own retry: quote unindented one-line values that YAML would misread. Returns
    the text and, for every value it quoted, its line and what needed the quotes."""
    out = []
    quoted: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        match = _KEY_LINE.match(line)
        value = match.group(2) if match else None
        if value and _NEEDS_QUOTES.search(value) and not value.startswith(("'", '"', "[", "{", "|", ">")):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            line = f'{match.group(1)}: "{escaped}"'  # type: ignore[union-attr]
            quoted.append((number, f"'{match.group(1)}': {_special(value)}"))  # type: ignore[union-attr]
        out.append(line)
    return "\n".join(out), quoted


def _lenient(text: str) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """Read 'key: value' fields by hand: a field runs until the next line that starts a known key,
    so multi-line descriptions with colons, blank lines and <example> blocks survive whole. Returns
    the fields and, for each one that is not valid YAML on its own, its line and what was done."""
    fields: dict[str, list[str]] = {}
    starts: dict[str, int] = {}
    notes: list[tuple[int, str]] = []
    current: str | None = None
    in_example = False
    for number, line in enumerate(text.split("\n"), start=1):
        match = _KEY_LINE.match(line)
        opens_field = (match is not None and not in_example and not line[:1].isspace()
                       and match.group(1).lower() in KNOWN_KEYS)
        if opens_field and match is not None:
            current = match.group(1)
            fields[current] = [match.group(2) or ""]
            starts[current] = number
        elif current is not None:
            fields[current].append(line)
        elif line.strip():
            notes.append((number, f"'{_clip(line.strip())}' is not a 'key: value' line buddy-tui knows; ignored"))
        lowered = line.lower()
        if "<example>" in lowered:
            in_example = True
        if "</example>" in lowered:
            in_example = False
    meta: dict[str, Any] = {}
    for key, parts in fields.items():
        meta[key], problem = _field_value(key, parts)
        if problem:
            shown = f"the text '{_clip(meta[key])}'" if "\n" not in str(meta[key]).strip() else "plain text"
            notes.append((starts[key], f"'{key}': {problem}; read as {shown}"))
    return meta, sorted(notes)


def _clip(value: object, limit: int = 60) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field_value(key: str, parts: list[str]) -> tuple[Any, str]:
    """One field read leniently: as YAML when the field alone is valid YAML (a list, a quoted or
    block string), else as the plain text it is, with the reason YAML could not read it."""
    text = "\n".join(parts).strip()
    try:
        parsed = _yaml_load(f"{key}: {parts[0]}\n" + "\n".join(parts[1:]))
    except _yaml_error() as exc:
        return text, _plain_reason(text, exc)
    if isinstance(parsed, dict) and list(parsed) == [key] and not isinstance(parsed[key], dict):
        value = parsed[key]
        return (text, "") if value is None and text else (value, "")
    extra = [str(k) for k in parsed if k != key] if isinstance(parsed, dict) else []
    return text, (f"'{_clip(extra[0], 30)}:' on a later line reads as a key of its own" if extra
                  else "reads as more than one value")


def _plain_reason(text: str, exc: Exception) -> str:
    """Why YAML rejected a value, said plainly for the usual cases."""
    first = text.split("\n", 1)[0].strip()
    for opener, closer, what in (("[", "]", "a list"), ("{", "}", "a mapping"), ('"', '"', "a quoted text"),
                                 ("'", "'", "a quoted text")):
        if first.startswith(opener):
            if closer not in text[1:]:
                return f"'{opener}' opens {what} that is never closed"
            return f"'{opener}' opens {what}, and the value goes on after its '{closer}'"
    if ": " in text:
        return "': ' in an unquoted value"
    return _yaml_problem(exc)[1]


def _read_meta(raw: str, path: Path | str) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    """Front matter as Claude Code reads it, and then some: strict YAML; else YAML after quoting
    plain values (Claude Code's retry); else a line-based reading that keeps multi-line values.
    Returns the fields and where (line within ``raw``, 1-based) a lenient reading was needed, and why.
    Aliases are refused in every reading (see :func:`_yaml_load`)."""
    try:
        return _read_meta_unchecked(raw, path)
    except _AliasRefused:
        raise DefinitionError(path, "front matter uses YAML aliases (*name), which buddy-tui does not expand "
                                    "(a few lines of them can expand to billions of values)", 2) from None


def _read_meta_unchecked(raw: str, path: Path | str) -> tuple[dict[str, Any], list[tuple[int, str]]]:
    try:
        meta, (line, problem) = _strict(raw)
        if meta is not None:
            return meta, []
        quoted_text, quoted = _quote_plain_lines(raw)
        retried, _ = _strict(quoted_text)
        if retried is not None:
            return retried, [(number, f"{what}; read as quoted text, as Claude Code does")
                             for number, what in quoted]
    except TypeError:
        raise DefinitionError(path, "front matter must be 'key: value' lines", 2) from None
    meta, notes = _lenient(raw)
    if not meta and raw.strip():
        first = next(i for i, line in enumerate(raw.split("\n")) if line.strip())
        raise DefinitionError(path, "front matter has no 'key: value' lines that can be read", first + 2)
    return meta, notes or [(line, f"not valid YAML ({problem}); read line by line instead")]


def load(path: Path, root: Path | None = None) -> Document:
    """Read and parse one definition file (a file of the project at ``root`` only from inside it)."""
    return parse(read_text(path, root), path)


def field_line(path: Path, key: str) -> int | None:
    """The line of front-matter field ``key`` in the file at ``path`` (read again, bounded), for a
    problem found after loading; None when the file no longer reads or has no front matter."""
    try:
        lines = read_text(path).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    except DefinitionError:
        return None
    if not lines or lines[0].strip() != "---":
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), len(lines))
    return key_line("\n".join(lines[1:end]), key)


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
