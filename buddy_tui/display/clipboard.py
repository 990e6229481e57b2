"""Copying text out of buddy-tui: the code blocks of a reply, and the ways to reach a clipboard.

Three routes, because no single one works everywhere: the terminal's OSC 52 sequence (the app
sends it with Textual's ``App.copy_to_clipboard``; it works over SSH but many terminals ignore
it), the platform's clipboard command (:func:`system_copy`), and a file in buddy-tui's data
folder (:func:`save_fallback`) that works with no clipboard at all.
"""

from __future__ import annotations

import base64
import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from buddy_tui.settings.paths import data_dir
from buddy_tui.store.export import write_export

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: How long a clipboard command may take before we give up on it.
COPY_SECONDS = 3.0
#: The fallback file's name inside the data folder.
FALLBACK_NAME = "clipboard.txt"

#: ``which(name)``: the command's full path, or None when it is not installed.
Which = Callable[[str], str | None]
#: ``run(argv, data, env)``: run a command with ``data`` on stdin; True when it succeeded.
Run = Callable[[list[str], bytes, Mapping[str, str] | None], bool]

@functools.cache
def _parser() -> MarkdownIt:
    """A CommonMark parser, built on first use (markdown-it is not needed to start the app)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


@dataclass(frozen=True)
class CodeBlock:
    """A code block of a Markdown text: its language (first word of the info string, or "") and
    its code without the trailing newlines."""

    language: str
    code: str


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every fenced (``` or ~~~, any length) and indented code block, in order, including those
    inside lists and quotes; an unclosed fence runs to the end of the text, as renderers show it."""
    blocks: list[CodeBlock] = []
    for token in _parser().parse(markdown):
        if token.type == "fence":
            words = token.info.split()
            blocks.append(CodeBlock(words[0] if words else "", token.content.rstrip("\n")))
        elif token.type == "code_block":
            blocks.append(CodeBlock("", token.content.rstrip("\n")))
    return blocks


def osc52(text: str) -> str:
    """The OSC 52 escape sequence that asks the terminal to put ``text`` on the system clipboard."""
    encoded = base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")
    return f"\x1b]52;c;{encoded}\a"


def clipboard_commands(platform: str | None = None, environ: Mapping[str, str] | None = None) -> list[list[str]]:
    """The clipboard commands worth trying on this system, best first (each may not be installed)."""
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    if platform == "darwin":
        return [["pbcopy"]]
    if platform in ("win32", "cygwin", "msys"):
        return [["clip.exe"]]
    commands: list[list[str]] = []
    if environ.get("WAYLAND_DISPLAY"):
        commands.append(["wl-copy"])
    if environ.get("DISPLAY"):
        commands += [["xclip", "-selection", "clipboard"], ["xsel", "--clipboard", "--input"]]
    if environ.get("WSL_DISTRO_NAME") or environ.get("WSL_INTEROP"):  # Windows Subsystem for Linux
        commands.append(["clip.exe"])
    return commands


def run_command(argv: list[str], data: bytes, env: Mapping[str, str] | None) -> bool:
    """Run ``argv`` (no shell) with ``data`` on stdin; False on a failure or after COPY_SECONDS.

    The output goes to /dev/null rather than a pipe: wl-copy, xclip and xsel leave a background
    process serving the clipboard, and a pipe it inherited would keep us waiting for it.
    """
    try:
        done = subprocess.run(argv, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=None if env is None else dict(env), timeout=COPY_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def system_copy(text: str, *, which: Which = shutil.which, run: Run = run_command, platform: str | None = None,
                environ: Mapping[str, str] | None = None) -> str | None:
    """Put ``text`` on the clipboard with the first platform command that is installed and works;
    the command's name (``pbcopy``, ``wl-copy``...), or None when there is none or every one failed.

    ``which``, ``run``, ``platform`` and ``environ`` are there for tests: the defaults are the real system.
    """
    environ = os.environ if environ is None else environ
    for name, *arguments in clipboard_commands(platform, environ):
        found = which(name)
        if not found:
            continue
        env: Mapping[str, str] | None = None
        if name == "clip.exe":
            # clip.exe reads stdin in the console's code page unless it starts with a UTF-16 byte order mark.
            data = ("\ufeff" + text).encode("utf-16-le", "replace")
        else:
            data = text.encode("utf-8", "replace")
            if name == "pbcopy":
                env = {**environ, "LC_CTYPE": "UTF-8"}  # pbcopy decodes its input by the locale
        if run([found, *arguments], data, env):
            return name
    return None


def save_fallback(text: str, folder: Path | None = None) -> Path:
    """Write ``text`` to ``clipboard.txt`` in buddy-tui's data folder (or ``folder``), private to the
    user (0o600) and atomically, and return its path so the UI can say where it went."""
    folder = data_dir() if folder is None else folder
    with suppress(OSError):  # a new data folder is private too; write_export explains any failure
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return write_export(text, folder / FALLBACK_NAME, overwrite=True)
