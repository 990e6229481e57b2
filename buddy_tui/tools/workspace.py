"""The tools Claude uses to look through and change the project: Read, Grep, Glob, Edit and Write.

Every path goes through :meth:`ProjectTools.resolve`, so no tool reaches outside the project
root. Reading tools return bounded, line-numbered text; Edit and Write only *propose* a change
(with a diff for the user), which :meth:`ProjectTools.apply` writes atomically and
:meth:`ProjectTools.undo` takes back. Whether a tool may run, and whether a sensitive file may be
read, is the caller's policy, not this module's.
"""

from __future__ import annotations

import re
import stat
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from buddy_tui.context import attachments as context
from buddy_tui.context.attachments import human_size, is_binary
from buddy_tui.context.folder import IgnoreRules
from buddy_tui.context.index import walk_project
from buddy_tui.tools.confined_write import delete_confined, write_confined
from buddy_tui.tools.matching import Pattern, compile_pattern, fullmatch, name_filter, search
from buddy_tui.tools.paths import (
    MAX_EDIT_BYTES,
    READ_LINE_CHARS,
    ToolError,
    check_relative,
    confine,
    crlf,
    diff_counts,
    diff_text,
    encode,
    glob_regex,
    in_git_folder,
    line_count,
    read_lines,
    read_text_exact,
    relative,
    show,
    text_file_size,
)
from buddy_tui.tools.redacting import WholeText, whole_text

__all__ = ["READ_ONLY", "TOOL_NAMES", "ProjectTools", "ProposedChange", "ToolError", "ToolResult",
           "propose_change", "run_read_only", "tool_definitions"]

from buddy_tui.tools.specs import (
    GLOB_MAX_PATHS,
    GLOB_SECONDS,
    GREP_LINE_CHARS,
    GREP_MAX_FILE_BYTES,
    GREP_MAX_FILES,
    GREP_MAX_LINES,
    GREP_SECONDS,
    READ_DEFAULT_LINES,
    READ_MAX_LINES,
    READ_ONLY,
    TOOL_NAMES,
    ToolResult,
    tool_definitions,
)


@dataclass(frozen=True)
class ProposedChange:
    """A file change Edit or Write would make, not yet written."""

    path: str  # project-relative
    old_text: str | None  # None when the file does not exist yet
    new_text: str
    diff: str  # unified diff with a/ and b/ prefixes, control characters made visible, for showing to the user
    mode: int | None  # the existing file's permission bits, kept on write


class ProjectTools:
    """The five tools, confined to one project root."""

    def __init__(self, root: Path, rules: IgnoreRules) -> None:
        self.root = root.resolve()
        self.rules = rules
        self._writing = threading.Lock()  # agents at once: never two "unchanged" checks, then two writes

    def resolve(self, raw: str) -> Path:
        """The absolute, symlink-resolved path of ``raw`` inside the root; raises :class:`ToolError`
        for non-strings, empty, NUL, over-long, absolute, ``..`` and ``~`` paths, and paths that
        lead outside the project or through a symlink loop."""
        return confine(self.root, raw)

    def is_sensitive(self, path: str) -> bool:
        """Whether the file probably holds secrets, judged by its project-relative path as given
        and as resolved (folders above the project root do not count)."""
        target = self.resolve(path)
        given = Path(path).as_posix()
        return context.is_sensitive(Path(given)) or context.is_sensitive(Path(relative(target, self.root)))

    # -- reading --------------------------------------------------------------------------------------

    def read(self, path: str, offset: int | None = None, limit: int | None = None) -> ToolResult:
        """Numbered lines of a text file, from ``offset`` (1-based), at most ``limit`` of them."""
        target = self.resolve(path)
        shown = show(relative(target, self.root))
        first = 1 if offset is None else offset
        if first < 1:
            raise ToolError(f"offset must be 1 or more (the first line is 1), not {first}.")
        count = READ_DEFAULT_LINES if limit is None else limit
        if count < 1:
            raise ToolError(f"limit must be 1 or more, not {count}.")
        count = min(count, READ_MAX_LINES)
        size = text_file_size(target, shown)
        try:
            with target.open("rb") as handle:
                lines, seen, more, cut = read_lines(handle, first, count)
        except OSError as exc:
            raise ToolError(f"Cannot read {shown}: {exc.strerror or exc}.") from None
        if not lines:
            if seen == 0:
                return ToolResult(f"({shown} is empty.)", summary=f"Read {shown} (empty)")
            raise ToolError(f"{shown} has {seen:,} lines; offset {first:,} is past the end.")
        lines, redacted = _redacted_lines(target, first, lines)
        last = first + len(lines) - 1
        notes: list[str] = []
        if cut:
            notes.append(f"[Lines longer than {READ_LINE_CHARS:,} characters are cut and end with ' …'.]")
        if more:
            notes.append(f"[Showing lines {first:,}-{last:,}; {shown} continues ({human_size(size)} in all). "
                         f"Read on with offset={last + 1}.]")
        body = "\n".join(f"{number:>5}\t{line}" for number, line in enumerate(lines, first))
        content = body + "".join("\n\n" + note for note in notes)
        return ToolResult(content, summary=f"Read {shown} lines {first}-{last} ({human_size(size)})",
                          redacted=redacted)

    def grep(self, pattern: str, path: str | None = None, glob: str | None = None,
             ignore_case: bool = False, skip: Callable[[str], bool] | None = None) -> ToolResult:
        """Lines matching a regular expression, as ``path:line: text``, within the caps and time budget.

        ``skip`` names files that must not be searched at all (secrets files the user has not
        allowed); they are counted in a note, never read. Each matching line is redacted by the
        secrets of its whole file, and files or folders that could not be read are named."""
        if not pattern:
            raise ToolError("The pattern is empty; give a regular expression to search for.")
        regex = compile_pattern(pattern, ignore_case)
        # A quick whole-file test first; only safe when the pattern cannot depend on where a line ends.
        quick = None if re.search(r"\\[AZz]|\(\?<?[=!]", pattern) else compile_pattern(pattern, ignore_case, True)
        deadline = time.monotonic() + GREP_SECONDS
        wanted = name_filter(glob, deadline)
        where = self.root if path is None else self.resolve(path)
        shown_where = "" if path is None else show(relative(where, self.root))
        single = not where.is_dir()
        unreadable_folders = 0
        if single:
            text_file_size(where, shown_where, GREP_MAX_FILE_BYTES)
            files, walk_stopped = [relative(where, self.root)], False
        else:
            files, walk_stopped, unreadable_folders = self._walk(where, deadline)
        found: list[str] = []
        matched_files = searched = redacted = 0
        huge: list[str] = []
        unreadable: list[str] = []
        stop = ""
        skipped = 0
        for rel in files:
            if wanted is not None and not wanted(rel):
                continue
            if skip is not None and skip(rel):
                skipped += 1
                continue
            if time.monotonic() > deadline:
                stop = (f"[Stopped at the {GREP_SECONDS:g} s time budget after searching {searched:,} files; "
                        "results are incomplete. Narrow the path or glob.]")
                break
            text = self._grep_text(rel, huge, unreadable, single)
            searched += 1
            if text is None or (quick is not None and search(quick, text, deadline) is None):
                continue
            whole = WholeText(text)
            hits = [number for number, line in enumerate(text.split("\n"), 1) if search(regex, line, deadline)]
            if not hits:
                continue
            if matched_files == GREP_MAX_FILES:
                stop = f"[Stopped at {GREP_MAX_FILES} files with matches; more files match. Narrow the search.]"
                break
            matched_files += 1
            room = GREP_MAX_LINES - len(found)
            touched: set[tuple[int, int]] = set()
            for number in hits[:room]:
                line, _ = whole.line(number) or ("", 0)
                span = whole.line_span(number) or (0, 0)
                touched.update((f.start, f.end) for f in whole.findings if f.start < span[1] and span[0] < f.end)
                found.append(f"{show(rel, 1000)}:{number}: {_cut(line, regex, deadline)}")
            redacted += len(touched)
            if len(hits) > room:
                stop = f"[Stopped at {GREP_MAX_LINES} matching lines; there are more. Narrow the search.]"
                break
        if walk_stopped and not stop:
            stop = "[The file listing stopped at the time budget; results are incomplete. Narrow the path.]"
        notes = [stop] if stop else []
        if skipped:
            notes.append(f"[Left out {skipped} file(s) that look like they hold secrets; the user has not "
                         "allowed reading them.]")
        if huge:
            notes.append(f"[Skipped {len(huge)} file(s) over {human_size(GREP_MAX_FILE_BYTES)}: "
                         f"{', '.join(show(h) for h in huge[:5])}{' …' if len(huge) > 5 else ''}; use Read.]")
        if unreadable or unreadable_folders:
            notes.append(_unreadable_note(unreadable, unreadable_folders))
        incomplete = bool(stop or unreadable or unreadable_folders)
        scope = f" in {shown_where}" if shown_where else ""
        label = f"Grep {show(pattern, 60)!r}{scope}"
        if not found:
            among = " among the files that could be read" if unreadable or unreadable_folders else ""
            content = "\n\n".join([f"No matches for {show(pattern)!r}{scope or ' in the project'}{among}.", *notes])
            return ToolResult(content, summary=f"{label} → no matches" + (" (incomplete)" if incomplete else ""))
        plural = "es" if len(found) != 1 else ""
        summary = f"{label} → {len(found)} match{plural} in {matched_files} file{'s' if matched_files != 1 else ''}"
        return ToolResult("\n".join(found) + "".join("\n\n" + note for note in notes),
                          summary=summary + (" (incomplete)" if incomplete else ""), redacted=redacted)

    def glob(self, pattern: str) -> ToolResult:
        """Project files whose relative paths match ``pattern``, sorted, at most :data:`GLOB_MAX_PATHS`."""
        pattern = check_relative(pattern, "pattern")
        while pattern.startswith("./"):
            pattern = pattern[2:]
        matcher = glob_regex(pattern)
        deadline = time.monotonic() + GLOB_SECONDS
        files, stopped, unreadable_folders = self._walk(self.root, deadline)
        matches = [rel for rel in files if fullmatch(matcher, rel, deadline, pattern)]
        label = f"Glob {show(pattern, 60)!r}"
        notes: list[str] = []
        if len(matches) > GLOB_MAX_PATHS:
            notes.append(f"[Showing {GLOB_MAX_PATHS} of {len(matches):,} matching files; narrow the pattern.]")
        if stopped:
            notes.append("[The file listing stopped at the time budget; there may be more matches.]")
        if unreadable_folders:
            notes.append(_unreadable_note([], unreadable_folders))
        if not matches:
            content = "\n\n".join([f"No files match {show(pattern)!r}.", *notes])
            return ToolResult(content, summary=f"{label} → no files")
        shown = [show(rel, 1000) for rel in matches[:GLOB_MAX_PATHS]]
        content = "\n".join(shown) + "".join("\n\n" + note for note in notes)
        return ToolResult(content, summary=f"{label} → {len(matches)} file{'s' if len(matches) != 1 else ''}")

    def _walk(self, folder: Path, deadline: float) -> tuple[list[str], bool, int]:
        """:meth:`_files_under`, plus how many folders could not be listed."""
        files, stats = walk_project(folder, self.rules, cancelled=lambda: time.monotonic() > deadline)
        if folder == self.root:
            return files, stats.truncated, stats.skipped_unreadable
        prefix = relative(folder, self.root) + "/"
        paths = [prefix + rel for rel in files]
        if not self.rules.is_ignored(folder):  # rules from the .gitignore files above the folder
            paths = [rel for rel in paths if not self.rules.is_ignored(self.root / rel)]
        return paths, stats.truncated, stats.skipped_unreadable

    def _files_under(self, folder: Path, deadline: float) -> tuple[list[str], bool]:
        """Project-relative paths of the files below ``folder`` that git would not ignore (all of
        them when the folder itself is ignored and was asked for by name), and whether the walk
        stopped early."""
        files, stopped, _ = self._walk(folder, deadline)
        return files, stopped

    def _grep_text(self, rel: str, huge: list[str], unreadable: list[str], single: bool) -> str | None:
        """A file's text for Grep, lines ending in ``\\n`` only; None for binary, huge or unreadable files."""
        path = self.root / rel
        try:
            if path.stat().st_size > GREP_MAX_FILE_BYTES:
                huge.append(rel)
                return None
            with path.open("rb") as handle:
                data = handle.read(GREP_MAX_FILE_BYTES)
        except OSError:
            if single:
                raise ToolError(f"Cannot read {show(rel)}.") from None
            unreadable.append(rel)
            return None
        if is_binary(data):
            if single:
                raise ToolError(f"{show(rel)} is a binary file.")
            return None
        return data.decode("utf-8", errors="replace").replace("\r\n", "\n")

    # -- changing -------------------------------------------------------------------------------------

    def propose_edit(self, path: str, old_string: str, new_string: str, replace_all: bool = False) -> ProposedChange:
        """The change replacing ``old_string`` (exactly once, or everywhere with ``replace_all``)."""
        target, rel = self._writable(path)
        shown = show(rel)
        old_text = read_text_exact(target, shown)
        if old_text is None:
            raise ToolError(f"{shown} does not exist; use Write to create it.")
        if not old_string:
            raise ToolError("old_string is empty; give the exact text to replace (use Write to create a file).")
        if old_string == new_string:
            raise ToolError("old_string and new_string are the same; the edit would change nothing.")
        encode(new_string, "new_string")
        occurrences = old_text.count(old_string)
        if occurrences == 0 and "\r\n" in old_text and "\n" in old_string:
            # The file uses Windows line endings and the model wrote plain newlines: match those.
            old_string, new_string = (crlf(old_string), crlf(new_string))
            occurrences = old_text.count(old_string)
        if occurrences == 0:
            raise ToolError(f"old_string not found in {shown}; it must match exactly, whitespace and indentation "
                            "included. Read the file again to copy the current text.")
        if occurrences > 1 and not replace_all:
            raise ToolError(f"old_string occurs {occurrences} times in {shown}; add context or set replace_all.")
        new_text = old_text.replace(old_string, new_string, -1 if replace_all else 1)
        return self._change(target, rel, old_text, new_text)

    def propose_write(self, path: str, content: str) -> ProposedChange:
        """The change creating the file with ``content``, or replacing the whole of it."""
        target, rel = self._writable(path)
        shown = show(rel)
        if len(encode(content, "content")) > MAX_EDIT_BYTES:
            raise ToolError(f"The content is too large to write (at most {human_size(MAX_EDIT_BYTES)}).")
        old_text = read_text_exact(target, shown)
        if old_text == content:
            raise ToolError(f"{shown} already has exactly this content; nothing would change.")
        if old_text is None:
            for parent in target.parents:
                if parent == self.root:
                    break
                if parent.exists() and not parent.is_dir():
                    raise ToolError(f"Cannot create {shown}: {show(relative(parent, self.root))} is a file, "
                                    "not a folder.")
        return self._change(target, rel, old_text, content)

    def apply(self, change: ProposedChange) -> ToolResult:
        """Write a proposed change atomically, if the file still is as it was when proposed."""
        target, rel = self._writable(change.path)
        shown = show(rel)
        with self._writing:
            current = read_text_exact(target, shown)
            if current != change.old_text:
                raise ToolError(f"{shown} was created by someone else since this change was proposed; not "
                                "overwriting it. Read it and propose the change again." if change.old_text is None
                                else f"{shown} changed on disk since this change was proposed; not overwriting "
                                "it. Read it again and propose the change anew.")
            self._write(target, shown, change.new_text, change.mode)
        added, removed = diff_counts(change.diff)
        message = (f"Created {shown} ({line_count(change.new_text)})" if change.old_text is None
                   else f"Edited {shown} (+{added} \u2212{removed} lines)")
        return ToolResult(message, summary=message)

    def undo(self, change: ProposedChange) -> ToolResult:
        """Take back an applied change: restore the old text, or delete a file the change created."""
        target, rel = self._writable(change.path)
        shown = show(rel)
        if read_text_exact(target, shown) != change.new_text:
            raise ToolError(f"{shown} changed since the change was applied; not undoing it.")
        if change.old_text is None:
            try:
                delete_confined(self.root, target)
            except OSError as exc:
                raise ToolError(f"Could not delete {shown}: {exc.strerror or exc}.") from None
            message, summary = f"Deleted {shown}, which the change had created.", f"deleted {shown}"
        else:
            self._write(target, shown, change.old_text, change.mode)
            message, summary = f"{shown} is back as it was before the change.", f"restored {shown}"
        return ToolResult(message, summary=summary)

    def _writable(self, path: str) -> tuple[Path, str]:
        target = self.resolve(path)
        if target == self.root:
            raise ToolError("The project root is a folder, not a file.")
        if in_git_folder(target, self.root, path):
            raise ToolError(f"{show(path)} is inside .git/, which holds git's own data; the tools do not change it.")
        return target, relative(target, self.root)

    def _change(self, target: Path, rel: str, old_text: str | None, new_text: str) -> ProposedChange:
        mode = None
        if old_text is not None:
            try:
                mode = stat.S_IMODE(target.stat().st_mode)
            except OSError:
                mode = None
        return ProposedChange(path=rel, old_text=old_text, new_text=new_text, diff=diff_text(rel, old_text, new_text),
                              mode=mode)

    def _write(self, target: Path, shown: str, text: str, mode: int | None) -> None:
        with suppress(OSError):
            mode = stat.S_IMODE(target.stat().st_mode)  # the file's bits now, if it exists
        try:  # in the folder that was checked, even if a symlink is swapped in meanwhile
            write_confined(self.root, target, encode(text, "text"), mode)  # None: a new file's usual bits
        except OSError as exc:
            raise ToolError(f"Could not write {shown}: {exc.strerror or exc}.") from None


# -- helpers ------------------------------------------------------------------------------------------


def _redacted_lines(target: Path, first: int, lines: list[str]) -> tuple[list[str], int]:
    """Read's lines redacted by the secrets of the whole file (a slice alone may not show that it
    is inside a private key), and how many secrets touched them."""
    whole = whole_text(target)
    if whole is None or not whole.findings:
        return lines, 0
    window = (whole.line_span(first), whole.line_span(first + len(lines) - 1))
    if window[0] is None or window[1] is None:
        return lines, 0
    start, end = window[0][0], window[1][1]
    touched = sum(1 for f in whole.findings if f.start < end and start < f.end)
    out: list[str] = []
    for number, old in enumerate(lines, first):
        got = whole.line(number)
        if got is None or not got[1]:
            out.append(old)
            continue
        text = got[0].removesuffix("\r")
        out.append(text if len(text) <= READ_LINE_CHARS else text[:READ_LINE_CHARS] + " …")
    return out, touched


def _unreadable_note(files: list[str], folders: int) -> str:
    """Names what Grep or Glob could not read, so that "no matches" is never claimed for it."""
    parts = []
    if folders:
        parts.append(f"{folders} folder(s) that could not be listed")
    if files:
        names = ", ".join(show(rel) for rel in files[:5]) + (" …" if len(files) > 5 else "")
        parts.append(f"{len(files)} file(s) that could not be read ({names})")
    return f"[Not searched: {' and '.join(parts)}; results may be incomplete.]"


def _cut(line: str, regex: Pattern, deadline: float) -> str:
    """A matching line shown in at most :data:`GREP_LINE_CHARS` characters, around the match."""
    line = line.rstrip("\r")
    if len(line) <= GREP_LINE_CHARS:
        return line
    match = search(regex, line, deadline)
    start = max(0, (match.start() if match else 0) - 100)
    start = min(start, len(line) - GREP_LINE_CHARS)
    piece = line[start:start + GREP_LINE_CHARS]
    return ("…" if start else "") + piece + ("…" if start + GREP_LINE_CHARS < len(line) else "")


# -- dispatching model calls ------------------------------------------------------------------------------

_ARGUMENTS: dict[str, tuple[tuple[str, type, bool], ...]] = {
    "Read": (("path", str, True), ("offset", int, False), ("limit", int, False)),
    "Grep": (("pattern", str, True), ("path", str, False), ("glob", str, False), ("ignore_case", bool, False)),
    "Glob": (("pattern", str, True),),
    "Edit": (("path", str, True), ("old_string", str, True), ("new_string", str, True),
             ("replace_all", bool, False)),
    "Write": (("path", str, True), ("content", str, True)),
}
_KINDS = {str: "a string", int: "an integer", bool: "true or false"}


def _arguments(name: str, arguments: object) -> dict[str, Any]:
    """The model's arguments checked against the tool's schema; unknown keys are dropped."""
    if not isinstance(arguments, dict):
        raise ToolError(f"{name} needs its arguments as a JSON object.")
    checked: dict[str, Any] = {}
    for key, kind, required in _ARGUMENTS[name]:
        value = arguments.get(key)
        if value is None:
            if required:
                raise ToolError(f"{name} needs the argument '{key}'.")
            continue
        if kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ToolError(f"{name}: '{key}' must be {_KINDS[kind]}, not {type(value).__name__}.")
        checked[key] = value
    return checked


def _failed(name: str, message: str) -> ToolResult:
    return ToolResult(message, is_error=True, summary=show(f"{name} failed: {message}"))


def run_read_only(tools: ProjectTools, name: str, arguments: dict[str, Any],
                  skip: Callable[[str], bool] | None = None) -> ToolResult:
    """Run Read, Grep or Glob for the model; every failure becomes an error result, never an exception.
    ``skip`` is passed to Grep: files it must not search."""
    try:
        if name not in READ_ONLY:
            raise ToolError(f"{name} is not a read-only tool (those are {', '.join(sorted(READ_ONLY))}).")
        args = _arguments(name, arguments)
        if name == "Read":
            return tools.read(**args)
        if name == "Grep":
            return tools.grep(**args, skip=skip)
        return tools.glob(**args)
    except ToolError as exc:
        return _failed(name, str(exc))
    except OSError as exc:
        return _failed(name, f"{exc.strerror or exc}.")


def propose_change(tools: ProjectTools, name: str, arguments: dict[str, Any]) -> ProposedChange:
    """Check the model's Edit or Write arguments and make the proposal; raises :class:`ToolError`."""
    if name not in ("Edit", "Write"):
        raise ToolError(f"{name} does not change files.")
    args = _arguments(name, arguments)
    if name == "Edit":
        return tools.propose_edit(**args)
    return tools.propose_write(**args)
