"""The ground rules under the model's tools: which paths it may touch, what a glob means, and how
a file is read for editing (written back by :func:`buddy_tui.settings.files.write_atomic`).

Every path the model gives is relative to the project root. :func:`confine` refuses anything that
could lead elsewhere (absolute paths, ``..``, ``~``, symlinks pointing out of the project, symlink
loops) and returns the real, symlink-free location inside the root.
"""

from __future__ import annotations

import difflib
import errno
import re
import stat
from pathlib import Path
from typing import BinaryIO

import regex

from buddy_tui.context.attachments import ContextError, human_size, is_binary, printable, read_head
from buddy_tui.context.folder import is_within

MAX_PATH_CHARS = 4096
MAX_NAME_CHARS = 255
#: The largest file Edit and Write will hold in memory as text.
MAX_EDIT_BYTES = 10 * 1024 * 1024
#: What one Read call returns at most, and where a very long line is cut.
READ_MAX_BYTES = 256 * 1024
READ_LINE_CHARS = 2_000
_LINE_BYTES = 64 * 1024  # of one line, at most this much is ever held in memory by Read

_SEPARATORS = re.compile(r"[\\/]")


class ToolError(Exception):
    """A tool call that cannot be carried out; the message is written for the model and the user."""


def relative(path: Path, root: Path) -> str:
    """``path`` (already resolved and inside ``root``) as a project-relative POSIX path; "." for the root."""
    return path.relative_to(root).as_posix() if path != root else "."


def show(text: str, limit: int = 120) -> str:
    """Text safe to put in a message or a summary line: control characters, line breaks and tabs
    included, made visible (a file name cannot forge a line), kept short."""
    text = printable(text).replace("\n", "\u240a").replace("\t", "\u2409")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_relative(raw: object, what: str = "path") -> str:
    """The checks that need no file system: a non-empty relative string of sane length."""
    if not isinstance(raw, str):
        raise ToolError(f"The {what} must be a string, not {type(raw).__name__}.")
    if not raw.strip():
        raise ToolError(f"The {what} is empty; give it relative to the project root, e.g. app/models.py.")
    if "\x00" in raw:
        raise ToolError(f"The {what} contains a NUL character.")
    if len(raw) > MAX_PATH_CHARS:
        raise ToolError(f"The {what} is too long ({len(raw):,} characters; at most {MAX_PATH_CHARS:,}).")
    parts = _SEPARATORS.split(raw)
    if any(len(part) > MAX_NAME_CHARS or len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_CHARS
           for part in parts):  # file systems count bytes, not characters
        raise ToolError(f"The {what} has a name longer than {MAX_NAME_CHARS} characters.")
    if Path(raw).anchor or raw.startswith(("/", "\\")):
        raise ToolError(f"The {what} {show(raw)!r} is absolute; give it relative to the project root.")
    if ".." in parts:
        raise ToolError(f"The {what} {show(raw)!r} contains '..'; only paths inside the project root are allowed.")
    if raw.startswith("~"):
        raise ToolError(f"The {what} {show(raw)!r} starts with '~'; home folders are not expanded. "
                        "Give the path relative to the project root.")
    return raw


def confine(root: Path, raw: object) -> Path:
    """The absolute, symlink-resolved location of ``raw`` inside ``root`` (itself resolved);
    raises :class:`ToolError` for anything that is not plainly a path inside the project."""
    text = check_relative(raw)
    current = root
    for part in Path(text).parts:
        current = current / part
        if current.is_symlink():  # each symlink on the way must stay inside the project
            target = _follow(current, text)
            if not is_within(target, root):
                raise ToolError(f"The path {show(text)!r} leads outside the project through the symlink "
                                f"{show(relative(current, root))}.")
    target = _follow(root / text, text)
    if not is_within(target, root):
        raise ToolError(f"The path {show(text)!r} leads outside the project.")
    return target


def _follow(path: Path, raw: str) -> Path:
    """Where ``path`` really is; a dangling symlink gives where it would lead."""
    loop = ToolError(f"The path {show(raw)!r} goes through a symlink loop.")
    try:
        return path.resolve(strict=True)
    except RuntimeError:  # a loop, before Python 3.13
        raise loop from None
    except OSError as exc:  # a loop (3.13+), or a part that does not exist (yet), or cannot be listed
        if exc.errno == errno.ELOOP:
            raise loop from None
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError):
        raise loop from None


def in_git_folder(target: Path, root: Path, raw: str) -> bool:
    """Whether the path, as given or as resolved, lies in a ``.git`` folder (git's own data)."""
    names = [*_SEPARATORS.split(raw), *Path(relative(target, root)).parts]
    return any(name.lower() == ".git" for name in names)


# -- globs ------------------------------------------------------------------------------------------


def glob_regex(pattern: str) -> regex.Pattern[str]:
    """Compile a glob for matching project-relative POSIX paths (use ``fullmatch``).

    ``*`` and ``?`` stay within one name, ``**`` as a whole segment spans any number of folders
    (none included), ``[abc]``/``[!abc]`` are classes, ``{a,b}`` alternatives and ``\\`` escapes
    the next character. A trailing ``/`` means everything below that folder.
    """
    if pattern.endswith("/"):
        pattern += "**"
    out: list[str] = []
    depth = 0
    i, size = 0, len(pattern)
    while i < size:
        char = pattern[i]
        if pattern.startswith("**", i):
            end = i + 2
            whole_segment = (i == 0 or pattern[i - 1] == "/") and (end == size or pattern[end] == "/")
            if whole_segment and end == size:
                out.append(".*")
            elif whole_segment:
                out.append("(?:[^/]*/)*")
                end += 1
            else:
                out.append("[^/]*")
            i = end
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            closing = _class_end(pattern, i)
            if closing < 0:
                out.append(re.escape(char))
            else:
                out.append(_char_class(pattern[i + 1:closing]))
                i = closing
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "," and depth:
            out.append("|")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "\\" and i + 1 < size:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    if depth:
        raise ToolError(f"The glob {show(pattern)!r} has a '{{' without its '}}'.")
    try:  # the regex module, so that matching can be bounded (tools/matching.py)
        return regex.compile("".join(out), regex.DOTALL | regex.VERSION0)
    except regex.error as exc:  # a class such as [z-a]
        raise ToolError(f"Invalid glob {show(pattern)!r}: {exc}.") from None


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start``; a ``]`` first in the class is literal."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    return pattern.find("]", i)


def _char_class(body: str) -> str:
    negate = body[:1] in ("!", "^")
    if negate:
        body = body[1:]
    escaped = "".join("\\" + char if char in "\\[]^&~|" else char for char in body)
    return f"[^/{escaped}]" if negate else f"[{escaped}]"


# -- reading, writing and comparing text files -------------------------------------------------------------------


def read_text_exact(path: Path, shown: str) -> str | None:
    """The whole text of a file that Edit or Write may change, byte for byte (line endings kept);
    None when it does not exist. Refuses folders, special files, binary and non-UTF-8 files."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # absent, or below something that is not a folder
        return None
    except OSError as exc:
        raise ToolError(f"Cannot read {shown}: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{shown} is a folder, not a file.")
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(f"{shown} is not a regular file (a pipe, socket or device).")
    if info.st_size > MAX_EDIT_BYTES:
        raise ToolError(f"{shown} is too large to change with these tools ({human_size(info.st_size)}; "
                        f"at most {human_size(MAX_EDIT_BYTES)}).")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ToolError(f"Cannot read {shown}: {exc.strerror or exc}.") from None
    if is_binary(data):
        raise ToolError(f"{shown} is a binary file; only text files can be changed.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{shown} is not valid UTF-8 text; changing it could damage it.") from None


def encode(text: str, what: str) -> bytes:
    """UTF-8 bytes of text coming from the model (which may hold lone surrogates from JSON escapes)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ToolError(f"The {what} contains characters that are not valid Unicode (lone surrogates).") from None


def text_file_size(path: Path, shown: str, limit: int | None = None) -> int:
    """The size of a readable text file; :class:`ToolError` for missing, folders, special and binary files."""
    if not path.exists():
        raise ToolError(f"{shown} does not exist. Use Glob to find the file's path.")
    try:
        head = read_head(path, 8 * 1024)
    except ContextError as exc:
        reason = str(exc).removeprefix(path.name)  # " is a folder", " is a binary file (2.0 KB)", ": cannot read (…)"
        hint = "; use Glob to list its files." if reason == " is a folder" else "."
        raise ToolError(f"{shown}{reason}{hint}") from None
    if limit is not None and head.size > limit:
        raise ToolError(f"{shown} is over {human_size(limit)} ({human_size(head.size)}); use Read in parts.")
    return head.size


def read_lines(handle: BinaryIO, first: int, count: int) -> tuple[list[str], int, bool, bool]:
    """Lines ``first`` to ``first + count - 1`` (fewer past the byte cap), how many lines were
    passed over or taken, whether more follow, and whether any line was cut. Never holds more
    than one bounded line at a time."""
    lines: list[str] = []
    number = used = 0
    cut = False
    while True:
        raw = handle.readline(_LINE_BYTES)
        if not raw:
            return lines, number, False, cut
        if not raw.endswith(b"\n"):  # part of a very long line: skip the rest of it
            rest = raw
            while rest and not rest.endswith(b"\n"):
                rest = handle.readline(_LINE_BYTES)
        number += 1
        if number < first:
            continue
        text = raw.decode("utf-8", errors="replace").rstrip("\n").removesuffix("\r")
        shown = text if len(text) <= READ_LINE_CHARS else text[:READ_LINE_CHARS] + " …"
        size = len(shown.encode()) + 7  # with its number and tab
        if len(lines) == count or (lines and used + size > READ_MAX_BYTES):
            return lines, number, True, cut
        cut = cut or shown is not text  # 64 KB of any line is always more than READ_LINE_CHARS characters
        text = shown
        lines.append(text)
        used += size


def _lines_of(text: str) -> list[str]:
    """Lines ending in ``\n`` (kept), as git sees them; not str.splitlines, which also splits at form feeds."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def crlf(text: str) -> str:
    """Text with every line ending made a Windows one."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def diff_text(rel: str, old_text: str | None, new_text: str) -> str:
    """A unified diff for the user's eyes: a/ and b/ prefixes, control characters made visible."""
    old_lines, new_lines = _lines_of(old_text or ""), _lines_of(new_text)
    name = show(rel, 1000)
    out: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, fromfile=f"a/{name}", tofile=f"b/{name}", n=3):
        body = line.rstrip("\r\n") if line.endswith("\n") else line
        out.append(printable(body))
        if not line.endswith("\n"):
            out.append("\\ No newline at end of file")
    return "\n".join(out) + "\n" if out else ""


def diff_counts(diff: str) -> tuple[int, int]:
    """Lines added and removed according to a diff made by :func:`diff_text`."""
    body = diff.split("\n")[2:]
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    return added, removed


def line_count(text: str) -> str:
    """"1 line", "12 lines"."""
    count = len(_lines_of(text))
    return f"{count} line{'s' if count != 1 else ''}"
