"""What ``buddy-tui ask`` sends besides the question: standard input, ``-f`` files and ``@path``
mentions, each checked as the app checks an attached file (inside the project, not binary, not a
secrets file unless ``--allow-secrets``, secret-looking values redacted, a long file cut to its head).

Standard input taken as the question is scanned here too (``cat .env | buddy-tui ask``): the
engine scans attached files, not what was typed, and piped text was not typed by the user.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from buddy_tui.context import attachments as context
from buddy_tui.context.attachments import Attachment, ContextError, human_size
from buddy_tui.context.folder import display_path, is_within
from buddy_tui.headless.asker import redaction_notice
from buddy_tui.headless.output import Reporter
from buddy_tui.headless.streams import is_tty

if TYPE_CHECKING:
    pass

STDIN_NAME = "stdin"
#: Standard input past the attached head is read and dropped only this far (to report its size).
DRAIN_BYTES = 64 * 1024 * 1024
#: If standard input has sent nothing by then, say that buddy-tui is waiting for it.
STDIN_HINT_SECONDS = 2.0


class UsageError(Exception):
    """The command line (or what it names) cannot be used; exit status 2."""


def read_stdin(stream: TextIO | None, reporter: Reporter) -> Attachment | None:
    """Standard input as an attachment named ``stdin``: its first 200 KB, like any attached file;
    None for a terminal, a closed or an empty input. Raises :class:`UsageError` for binary data."""
    if stream is None or is_tty(stream):
        return None
    hint = threading.Timer(STDIN_HINT_SECONDS, reporter.progress,
                           ("waiting for standard input (end it with Ctrl+D, or pass --no-stdin)",))
    hint.daemon = True
    hint.start()
    try:
        source = getattr(stream, "buffer", None)
        if source is None:  # a text-only stream
            data = stream.read().encode("utf-8", "surrogateescape")
            size = len(data)
        else:
            data = source.read(context.ATTACH_BYTES + 1)
            size = len(data)
            while size <= DRAIN_BYTES and (chunk := source.read(1 << 20)):
                size += len(chunk)
    except OSError as exc:
        raise UsageError(f"cannot read standard input ({exc.strerror or exc})") from None
    finally:
        hint.cancel()
    if not data.strip():
        return None
    if context.is_binary(data):
        raise UsageError(f"standard input is binary data ({human_size(size)}); pipe text, or attach files with -f")
    text = data[:context.ATTACH_BYTES].decode("utf-8", "replace")
    truncated = size > context.ATTACH_BYTES
    if truncated and text.endswith("\ufffd"):  # a character cut at the limit
        text = text[:-1]
    return Attachment(path=STDIN_NAME, text=text, size=size, truncated=truncated)


def attach(path: Path, root: Path, allow_secrets: bool) -> Attachment:
    """Load one project file to send; raises :class:`ContextError` saying why it cannot be."""
    try:
        exists = path.exists()
    except OSError as exc:
        raise ContextError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not exists:
        raise ContextError("no such file")
    if not is_within(path, root):
        raise ContextError(f"outside the project folder {root}")
    if not allow_secrets and context.looks_secret(path, root):
        raise ContextError(f"{display_path(path, root)} looks like it holds secrets (keys, passwords, tokens); "
                           "it is sent only with --allow-secrets")
    return context.load_attachment(path, root)


def file_argument(raw: str, root: Path) -> Path:
    """A ``-f`` path: relative to the current folder as shells mean it, else to the project."""
    given = Path(raw).expanduser().absolute()
    in_project = root / raw
    if not (given.exists() and is_within(given, root)) and in_project.exists():
        return in_project
    return given


def piped_question(text: str, allow_secrets: bool, reporter: Reporter) -> str:
    """Standard input taken as the question, its secret-looking values redacted (and said so on
    stderr) unless ``--allow-secrets``, as in an attached file."""
    if allow_secrets:
        return text
    from buddy_tui.context.secrets import find_secrets, redact  # loaded only when needed

    findings = find_secrets(text)
    if not findings:
        return text
    reporter.problem(redaction_notice(len(findings), [STDIN_NAME]))
    return redact(text, findings)


def gather(args: argparse.Namespace, root: Path, stdin: TextIO | None,
           reporter: Reporter) -> tuple[str, list[Attachment]]:
    """What was typed (the question words, else standard input) and the files named with -f (and
    standard input, when the question came as words); raises :class:`UsageError`."""
    words = " ".join(args.question).strip()
    piped = None if args.no_stdin else read_stdin(stdin, reporter)
    documents: list[Attachment] = []
    if words:
        typed = words
        documents += [piped] if piped is not None else []
    elif piped is not None:
        if piped.truncated:
            raise UsageError(f"standard input is {human_size(piped.size)}, too long for a question; give the "
                             "question as words and standard input is attached as a document")
        typed = piped_question(piped.text.strip(), args.allow_secrets, reporter)
    else:
        raise UsageError("no question: give it as words (buddy-tui ask \"why is this slow?\") or on standard input")
    for raw in args.files:
        try:
            attachment = attach(file_argument(raw, root), root, args.allow_secrets)
        except ContextError as exc:
            raise UsageError(f"-f {raw}: {exc}") from None
        if all(a.key != attachment.key for a in documents):
            documents.append(attachment)
    return typed, documents
