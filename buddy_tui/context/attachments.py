"""Files as context: read them safely for the preview and for the model, and find ``@mentions``.

Everything here is careful with what it is given: binary files are refused, undecodable bytes
become replacement characters, huge files are read only up to a limit (and say so), and text is
made safe to show in a terminal.
"""

from __future__ import annotations

import contextlib
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from buddy_tui.context.folder import display_path, is_within
from buddy_tui.settings.crash_reports import scrub

#: How much of a file the preview reads; the rest is summarised, never loaded.
PREVIEW_BYTES = 256 * 1024
PREVIEW_LINES = 3_000
#: Longer lines are cut in the preview so one enormous line cannot stall rendering.
PREVIEW_LINE_CHARS = 2_000
#: How much of one file is sent to the model as an attachment.
ATTACH_BYTES = 200 * 1024
_SNIFF_BYTES = 8 * 1024

#: Files that usually hold secrets: attaching one needs the user's explicit confirmation.
SENSITIVE_PATTERNS = (
    ".env", ".env.*", "*.env", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.keystore", "*.jks",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", ".netrc", ".pgpass", ".npmrc", ".pypirc",
    "credentials", "credentials.*", "*secret*", "*.tfstate", "*.tfvars", "kubeconfig",
    ".htpasswd", "service-account*.json",
    # Also blocked by Claude Buddy's file guard and its "Damage Control" successor:
    "*credential*", "known_hosts", "authorized_keys", "*.sqlite*", "*.db", "apikey.*", "apikeys.*",
    "api[-_]key.*", "api[-_]keys.*", "token.*", "tokens.*", "password.*", "passwords.*", "*serviceaccount*.json",
)

PreviewKind = Literal["text", "binary", "error", "empty"]


@dataclass(frozen=True)
class FileText:
    """Text read from a file: possibly only its head, never more than asked for."""

    text: str
    size: int
    truncated: bool
    lossy: bool  # bytes that were not valid UTF-8 were replaced


@dataclass(frozen=True)
class Preview:
    """What the preview pane shows for one file."""

    path: Path
    kind: PreviewKind
    text: str = ""
    size: int = 0
    message: str = ""
    truncated: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file's text as it goes to the model, with the facts the chip shows."""

    path: str  # relative to the project
    text: str
    size: int
    truncated: bool
    lines: tuple[int, int] | None = None  # only these lines (1-based, inclusive) are attached

    @property
    def key(self) -> str:
        """What makes two attachments the same: the path, and the line range if any."""
        return f"{self.path}:{self.lines[0]}-{self.lines[1]}" if self.lines else self.path

    @property
    def tokens(self) -> int:
        """Estimated tokens this attachment costs (see :func:`estimate_tokens`)."""
        return estimate_tokens(self.text)

    @property
    def label(self) -> str:
        """``models.py 2.1 KB ~540 tok`` (``models.py:10-20``, ``first 200 KB of 3.4 MB``)."""
        name = self.path.rsplit("/", 1)[-1]
        if self.lines:
            return f"{name}:{self.lines[0]}-{self.lines[1]} ~{self.tokens:,} tok"
        if self.truncated:
            return f"{name} first {human_size(len(self.text.encode()))} of {human_size(self.size)} ~{self.tokens:,} tok"
        return f"{name} {human_size(self.size)} ~{self.tokens:,} tok"


def estimate_tokens(text: str) -> int:
    """Tokens in ``text`` without asking the API: one per 3.5 characters, rounded up.

    Claude's tokenizer averages about 3.5-4 characters a token on English and code; erring on the
    high side keeps the context budget honest when the count_tokens endpoint cannot be reached.
    """
    return -(-len(text) * 2 // 7) if text else 0


class ContextError(Exception):
    """A file that cannot be used as context; the message is written for the user."""


def human_size(size: int) -> str:
    """1536 -> '1.5 KB'."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def is_binary(head: bytes) -> bool:
    """A NUL byte in the first few KB means binary, as git and grep decide it."""
    return b"\x00" in head[:_SNIFF_BYTES]


#: Folders whose contents are treated as secrets whatever the file is called.
SENSITIVE_DIRS = frozenset({".ssh", ".aws", ".gnupg", ".kube", ".docker", "secrets", ".secrets", "private",
                            ".azure", "gcloud", ".terraform", ".vercel", ".netlify", ".supabase"})


#: The user's own patterns (config.toml's ``sensitive_patterns``), checked besides the built-in ones.
_user_patterns: tuple[str, ...] = ()


def set_user_sensitive_patterns(patterns: Iterable[str]) -> None:
    """Make ``patterns`` count as sensitive too, everywhere, in addition to (never instead of) the
    built-in ones; a session sets them from the user's config when it opens."""
    global _user_patterns
    _user_patterns = tuple(p.strip().lower() for p in patterns if p.strip())


def _matches(path: Path, pattern: str) -> bool:
    """A pattern without ``/`` judges the file name; one with ``/`` the end of the path."""
    if "/" not in pattern:
        return fnmatch(path.name.lower(), pattern)
    posix = path.as_posix().lower()
    return fnmatch(posix, pattern) or fnmatch(posix, "*/" + pattern.lstrip("/"))


def _sensitive_name(path: Path, extra: tuple[str, ...]) -> bool:
    name = path.name.lower()
    return (any(fnmatch(name, pattern) for pattern in SENSITIVE_PATTERNS)
            or any(_matches(path, pattern) for pattern in extra)
            or any(part.lower() in SENSITIVE_DIRS for part in path.parts[:-1]))


def is_sensitive(path: Path | str, extra_patterns: Iterable[str] = ()) -> bool:
    """Whether a file probably holds secrets, judged by its name and folders and, for a symlink,
    by what it points to (``config.txt -> .env`` is as sensitive as ``.env``). The built-in
    patterns always count; so do the user's (:func:`set_user_sensitive_patterns`) and
    ``extra_patterns``."""
    path = Path(path)
    extra = _user_patterns + tuple(p.strip().lower() for p in extra_patterns if p.strip())
    if _sensitive_name(path, extra):
        return True
    try:
        return path.is_symlink() and _sensitive_name(path.resolve(), extra)
    except (OSError, RuntimeError):
        return True  # cannot tell where it leads: ask


def looks_secret(path: Path, root: Path) -> bool:
    """Whether a project file looks like it holds secrets, by its path in the project as given and
    as resolved (so ``config.txt -> .env`` counts; folders above the project do not)."""
    names = [display_path(path, root)]
    with contextlib.suppress(ValueError):
        names.append(path.absolute().relative_to(root).as_posix())
    return any(is_sensitive(Path(name)) for name in names)

def read_head(path: Path, limit: int) -> FileText:
    """Read at most ``limit`` bytes of a regular file as text; raises :class:`ContextError`."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ContextError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ContextError(f"{path.name} is a folder")
    if not stat.S_ISREG(info.st_mode):
        raise ContextError(f"{path.name} is not a regular file (a pipe, socket or device)")
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ContextError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    if is_binary(data):
        raise ContextError(f"{path.name} is a binary file ({human_size(info.st_size)})")
    truncated = len(data) > limit or info.st_size > limit
    data = data[:limit]
    text = data.decode("utf-8", errors="replace")
    lossy = "\ufffd" in text
    if truncated and text.endswith("\ufffd"):  # a multi-byte character cut at the limit
        text = text[:-1]
    return FileText(text=text, size=max(info.st_size, len(data)), truncated=truncated, lossy=lossy)


def load_preview(path: Path) -> Preview:
    """Read a file for the preview pane: the head of it, cut to a bounded number of lines."""
    try:
        content = read_head(path, PREVIEW_BYTES)
    except ContextError as exc:
        kind: PreviewKind = "binary" if "binary" in str(exc) else "error"
        return Preview(path=path, kind=kind, message=str(exc))
    if content.size == 0:
        return Preview(path=path, kind="empty", message=f"{path.name} is empty")
    lines = content.text.splitlines()
    truncated = content.truncated or len(lines) > PREVIEW_LINES
    lines = [line if len(line) <= PREVIEW_LINE_CHARS else line[:PREVIEW_LINE_CHARS] + " …"
             for line in lines[:PREVIEW_LINES]]
    message = ""
    if truncated:
        message = f"Showing the first {len(lines):,} lines of {human_size(content.size)}."
    return Preview(path=path, kind="text", text=printable(scrub("\n".join(lines))), size=content.size,
                   message=message, truncated=truncated)


def load_attachment(path: Path, root: Path, lines: tuple[int, int] | None = None) -> Attachment:
    """Read a project file (or just ``lines``, 1-based and inclusive) to send to the model;
    raises :class:`ContextError` when it cannot be."""
    root = root.resolve()
    if not is_within(path, root):
        raise ContextError(f"{path} is outside the project folder")
    if lines is None:
        content = read_head(path, ATTACH_BYTES)
        return Attachment(path=display_path(path, root), text=content.text, size=content.size,
                          truncated=content.truncated)
    first, last = sorted(lines)
    content = read_head(path, PREVIEW_BYTES)  # a selection is made in the preview, so within its head
    chosen = content.text.splitlines()[first - 1:last]
    if first < 1 or not chosen:
        raise ContextError(f"{path.name} has no lines {first}-{last}")
    last = first + len(chosen) - 1
    return Attachment(path=display_path(path, root), text="\n".join(chosen), size=content.size,
                      truncated=False, lines=(first, last))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """Make text safe to show literally: control characters (escape sequences included) become
    visible symbols, so a file or a reply can never drive the terminal."""

    def picture(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code < 0x20:
            return chr(0x2400 + code)
        return "\u2421" if code == 0x7F else "\ufffd"  # DEL; C1 controls and undecodable name bytes

    return _CONTROL.sub(picture, text)


_REFERENCE = re.compile(r"(?<![\w./@-])((?:[\w.-]+/)*[\w.-]+\.[A-Za-z0-9]+):(\d+)")


def find_references(text: str, root: Path, limit: int = 12) -> list[tuple[str, int]]:
    """``path/to/file.py:42`` references in a reply that name real files of the project, in order."""
    root = root.resolve()
    found: list[tuple[str, int]] = []
    for match in _REFERENCE.finditer(text):
        rel, line = match.group(1), int(match.group(2))
        candidate = root / rel
        try:
            usable = line > 0 and candidate.is_file() and is_within(candidate, root)
        except OSError:
            usable = False
        if usable and (rel, line) not in found:
            found.append((rel, line))
            if len(found) == limit:
                break
    return found


#: At most this many files from one /add glob, so '/add **/*' cannot flood the prompt.
MAX_GLOB_FILES = 50


def expand_paths(patterns: list[str], root: Path) -> tuple[list[Path], list[str]]:
    """Files named by ``/add`` arguments (paths or globs, relative to the project), and the
    arguments that named nothing. Never leaves the project."""
    root = root.resolve()
    found: list[Path] = []
    missing: list[str] = []
    for pattern in patterns:
        try:
            if any(c in pattern for c in "*?["):
                matches = [p for p in sorted(root.glob(pattern)) if p.is_file() and is_within(p, root)]
                matches = matches[:MAX_GLOB_FILES]
            else:
                candidate = root / pattern
                matches = [candidate] if candidate.is_file() and is_within(candidate, root) else []
        except (OSError, ValueError):  # unreadable folders, or a pattern the OS or glob rejects
            matches = []
        found += [m for m in matches if m not in found]
        if not matches:
            missing.append(pattern)
    return found, missing


_MENTION = re.compile(r"(?:(?<=\s)|^)@(\"[^\"]+\"|[^\s\"]+)")


def find_mentions(text: str, root: Path) -> list[Path]:
    """Files named as ``@path`` (or ``@"path with spaces"``) that exist inside the project."""
    root = root.resolve()
    found: list[Path] = []
    for match in _MENTION.finditer(text):
        raw = match.group(1).strip('"').rstrip(".,;:!?)]}'")
        if not raw:
            continue
        candidate = root / raw
        try:
            usable = candidate.is_file() and is_within(candidate, root)
        except OSError:  # inside a folder we may not read, or a name the OS rejects
            usable = False
        if usable and candidate not in found:
            found.append(candidate)
    return found
