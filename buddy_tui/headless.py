"""``buddy-tui ask``: one question answered on standard output, for scripts and pipes.

Only the reply goes to stdout, flushed fragment by fragment as it streams, so ``buddy-tui ask ...
> answer.md`` captures exactly the answer; everything else goes to stderr. The turn runs through
the app's core (Session, stream_turn, TurnLog, the history), so the app can resume it later.
Nobody can be asked anything here, so every question the app would ask gets its safe answer
(secrets files stay out, secret values are redacted, files are not changed). Nothing on this path
imports Textual, rich, pygments or markdown-it, and the SDK only when the client is built, so the
command starts about as fast as ``import anthropic`` itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from buddy_tui.core import budget, chat, context
from buddy_tui.core.chat import Executor, RoundDone, TextDelta, ToolCall, ToolFinished, ToolResult, TurnFailed
from buddy_tui.core.context import Attachment, ContextError, human_size, printable
from buddy_tui.core.crash import one_line, scrub, write_report
from buddy_tui.core.files import display_path, is_within
from buddy_tui.core.frontmatter import DefinitionError
from buddy_tui.core.tools import READ_ONLY, ProjectTools, ToolError, run_read_only
from buddy_tui.core.turnlog import CHECKPOINT_SECONDS

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from buddy_tui.core.session import Session, TurnPlan
    from buddy_tui.core.turnlog import TurnLog

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CREDENTIALS, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 3, 130, 141
STDIN_NAME = "stdin"
#: Standard input past the attached head is read and dropped only this far (to report its size).
DRAIN_BYTES = 64 * 1024 * 1024
#: If standard input has sent nothing by then, say that buddy-tui is waiting for it.
STDIN_HINT_SECONDS = 2.0
HEADLESS_NOTE = ("This question comes from `buddy-tui ask`, a non-interactive run whose reply goes to a script "
                 "or a file. You may read the project (Read, Grep, Glob) but not change it: show any change "
                 "as a unified diff in your answer instead.")

EPILOG = """\
standard input:
  When it is not a terminal it is read (unless --no-stdin): attached as a document named
  "stdin" when the question is given as words, or taken as the question itself when not.

files:
  -f PATH and @path in the question attach files of the project (a file over 200 KB is sent
  as its head, and stderr says so). Binary files, files outside the project and files that
  look like secrets (.env, keys, credentials...) are refused; --allow-secrets sends the
  latter. Secret-looking values inside attached files are redacted unless --allow-secrets.

tools:
  The persona may read the project (Read, Grep, Glob) to answer. Files are never changed
  here (Edit and Write need your approval in the app), and tools never read secrets files.

exit status:
  0 answered, 1 the model call failed, 2 usage error (bad arguments, unknown persona or
  command, no question, a file that cannot be attached), 3 no credentials, 130 interrupted.

environment:
  ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL as the SDK reads them;
  BUDDY_TUI_MODEL, BUDDY_TUI_MAX_TOKENS, BUDDY_TUI_DATA_DIR as in the app.

examples:
  buddy-tui ask "why is load_orders slow?" -f app/models.py > answer.md
  git diff | buddy-tui ask "review this change"
  buddy-tui ask -C ~/src/orders /buddy:review app/models.py
"""


class UsageError(Exception):
    """The command line (or what it names) cannot be used; exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The ``buddy-tui ask`` argument parser (``buddy-tui ask --help``)."""
    parser = argparse.ArgumentParser(
        prog="buddy-tui ask", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Ask one question without the app. The reply streams to standard output exactly as\n"
                    "the model writes it (Markdown); progress and problems go to standard error.")
    parser.add_argument("question", nargs="*", metavar="QUESTION",
                        help="the question, its words joined by spaces; '/buddy:review app' runs a persona "
                             "command, '@app/db.py' attaches that file")
    parser.add_argument("-C", "--project", metavar="PATH", default=".", help="the project folder (default: .)")
    parser.add_argument("--persona", metavar="NAME|FILE",
                        help="who answers: a persona's name or a persona file (default: chosen for the question)")
    parser.add_argument("--model", help="Claude model to use (default: $BUDDY_TUI_MODEL or a current Sonnet)")
    parser.add_argument("-f", "--file", dest="files", metavar="PATH", action="append", default=[],
                        help="attach a file of the project; repeat for more")
    parser.add_argument("--allow-secrets", action="store_true",
                        help="attach files that look like secrets, and send secret-looking values unredacted")
    parser.add_argument("--no-history", action="store_true", help="do not save this exchange in the history")
    parser.add_argument("--no-stdin", action="store_true", help="never read standard input")
    parser.add_argument("-q", "--quiet", action="store_true", help="only problems on standard error, no progress")
    return parser


@dataclass
class Reporter:
    """Lines for standard error, each prefixed ``buddy-tui:``; progress is left out when quiet."""

    stream: TextIO | None
    quiet: bool = False

    def progress(self, text: str) -> None:
        if not self.quiet:
            self.problem(text)

    def problem(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.stream is not None:
                print(f"buddy-tui: {printable(scrub(text))}", file=self.stream, flush=True)

    def error(self, text: str) -> None:
        self.problem(f"error: {text}")


def _is_tty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


class ReplyOutput:
    """The reply on stdout: exact text for a pipe or file; on a terminal, escape sequences are made
    visible (as the app does) and a last newline is added so the prompt starts on its own line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = _is_tty(stream)
        self.last = "\n"

    def write(self, text: str) -> None:
        """Write and flush one fragment; BrokenPipeError means the reader has gone."""
        if not text:
            return
        shown = printable(text) if self.tty else text
        try:
            self.stream.write(shown)
        except UnicodeEncodeError:
            encoding = getattr(self.stream, "encoding", None) or "ascii"
            self.stream.write(shown.encode(encoding, "replace").decode(encoding))
        self.stream.flush()
        self.last = text[-1]

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.write("\n" if self.tty and self.last != "\n" else "")


def read_stdin(stream: TextIO | None, reporter: Reporter) -> Attachment | None:
    """Standard input as an attachment named ``stdin``: its first 200 KB, like any attached file;
    None for a terminal, a closed or an empty input. Raises :class:`UsageError` for binary data."""
    if stream is None or _is_tty(stream):
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


def secrets_file(path: Path, root: Path) -> bool:
    """Whether a project file looks like it holds secrets, by its path in the project as given and
    as resolved (so ``config.txt -> .env`` counts; folders above the project do not)."""
    names = [display_path(path, root)]
    with contextlib.suppress(ValueError):
        names.append(path.absolute().relative_to(root).as_posix())
    return any(context.is_sensitive(Path(name)) for name in names)


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
    if not allow_secrets and secrets_file(path, root):
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


class HeadlessTools:
    """Runs the model's tool calls with nobody to ask: the reading tools run (secret-looking
    values in their results redacted), while changes and secrets files get the answer the app
    gives when the user says no."""

    def __init__(self, root: Path, session: Session, allowed: Sequence[str], persona: str) -> None:
        self.tools = ProjectTools(root, session.rules)
        self.allowed = tuple(allowed)
        self.persona = persona

    async def execute(self, call: ToolCall) -> ToolResult:
        """Run one call and describe the outcome for the model; never raises (but for cancelling)."""
        from buddy_tui.core.secrets import find_secrets, redact

        if call.name not in self.allowed:
            return ToolResult(f"The {call.name} tool is not allowed for the {self.persona} persona here (allowed: "
                              f"{', '.join(self.allowed) or 'none'}).", True, f"{call.name} refused: not allowed")
        if call.name not in READ_ONLY:
            return ToolResult(f"{call.name} is not available: this is a non-interactive run (buddy-tui ask) and "
                              "changing files needs the user's approval in the interactive app (buddy-tui). Nothing "
                              "was changed. Show the change in your answer instead, as a unified diff.",
                              True, f"{call.name} refused: changing files needs the app")
        path = call.input.get("path")
        try:
            if call.name == "Read" and isinstance(path, str) and await asyncio.to_thread(self.tools.is_sensitive, path):
                return ToolResult(f"{path} looks like it holds secrets; the user was not asked (this is a "
                                  "non-interactive run), so it was not read.", True, f"Read {path} refused: secrets")
            outcome = await asyncio.to_thread(run_read_only, self.tools, call.name, call.input, self._skip)
        except ToolError as exc:
            return ToolResult(str(exc), True, f"{call.name} failed: {exc}")
        except Exception as exc:  # an OS or library error ends this call, not the turn
            return ToolResult(f"{call.name} failed: {type(exc).__name__}: {exc}", True, f"{call.name} failed")
        findings = await asyncio.to_thread(find_secrets, outcome.content)
        if not findings:
            return outcome
        return ToolResult(redact(outcome.content, findings), outcome.is_error,
                          f"{outcome.summary} ({len(findings)} secret value(s) redacted)")

    def _skip(self, rel: str) -> bool:
        """Files Grep must not search: secrets files (and paths that cannot be checked)."""
        try:
            return self.tools.is_sensitive(rel)
        except ToolError:
            return True


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
        typed = piped.text.strip()
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


def add_mentions(plan: TurnPlan, attachments: list[Attachment], root: Path, allow_secrets: bool,
                 reporter: Reporter) -> list[Attachment]:
    """The attachments plus the files the question (or the command) names as ``@path``; a file that
    cannot be attached is left out with a notice, as the app does."""
    found = list(attachments)
    for path in plan.mentions:
        try:
            attachment = attach(path, root, allow_secrets)
        except ContextError as exc:
            reporter.problem(f"not attached: {exc}")
            continue
        if all(a.key != attachment.key for a in found):
            found.append(attachment)
    if found and not allow_secrets:
        from buddy_tui.core.secrets import redact_attachments, scan_attachments  # only when there are files

        if findings := scan_attachments(found):
            names = ", ".join(sorted({a.path for a, _ in findings}))
            reporter.problem(f"redacted {len(findings)} secret-looking value(s) in {names} (--allow-secrets "
                             "sends them as they are)")
            found = redact_attachments(found, findings)
    for attachment in found:
        if attachment.truncated:
            reporter.problem(f"{attachment.path} is {human_size(attachment.size)}: only its first "
                             f"{human_size(len(attachment.text.encode()))} is sent")
    return found


def _flush_problems(session: Session, reporter: Reporter) -> None:
    for problem in session.problems:
        reporter.problem(problem)
    session.problems.clear()


async def _checkpoint_pauses(session: Session, log: TurnLog) -> None:
    """Save text that arrived before a pause in the stream (as the app's timer does)."""
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS)
        if log.pending():
            session.save(log)


async def converse(session: Session, plan: TurnPlan, attachments: list[Attachment], client: AsyncAnthropic,
                   out: ReplyOutput, reporter: Reporter) -> int:
    """Send the turn, stream the reply to ``out`` and record it; returns the exit status."""
    try:
        allowed = plan.tools
        offered = tuple(t for t in allowed if t in READ_ONLY)
        if offered != allowed:  # the model is told it cannot change files, and is not offered the tools
            session.notes.append(HEADLESS_NOTE)
        plan = replace(plan, tools=offered)
        user, request = session.request(plan, attachments)
        measured = await budget.measure(client, request, budget.context_window())
        if measured.over_by:
            reporter.error(f"the question and its files do not fit the model's context ({measured.describe()}); "
                           "attach fewer or smaller files")
            return EXIT_USAGE
        session.commit(plan)
        log = session.begin_turn(plan, user, attachments)
        _flush_problems(session, reporter)
        tools = HeadlessTools(session.root, session, allowed, plan.persona.name)
        return await _stream(session, log, request, tools.execute if offered else None, client, out, reporter)
    finally:
        await client.close()


async def _stream(session: Session, log: TurnLog, request: dict[str, Any], execute: Executor | None,
                  client: AsyncAnthropic, out: ReplyOutput, reporter: Reporter) -> int:
    saver = asyncio.create_task(_checkpoint_pauses(session, log))
    final: chat.TurnFinished | TurnFailed | None = None
    separate = wrote = False
    try:
        async for event in chat.stream_turn(client, request, execute,
                                       on_retry=lambda retry: reporter.progress(retry.notice.describe())):
            if log.feed(event) and not isinstance(event, chat.TurnFinished | TurnFailed):
                session.save(log)  # a checkpoint, as in the app
            if isinstance(event, TextDelta):
                out.write(("\n\n" if separate else "") + event.text)  # as TurnFinished.text has it
                separate, wrote = False, True
            elif isinstance(event, RoundDone):
                separate, wrote = separate or wrote, False
            elif isinstance(event, ToolFinished):
                reporter.progress(event.outcome.summary or event.call.name)
            elif isinstance(event, chat.TurnFinished | TurnFailed):
                final = event
    except BaseException:  # Ctrl+C (cancelled), a closed pipe: keep what arrived, as a stop
        saver.cancel()
        log.stop()
        session.end_turn(log)
        raise
    saver.cancel()
    session.end_turn(log)
    _flush_problems(session, reporter)
    out.finish()
    if isinstance(final, TurnFailed):
        reporter.error(final.failure.text())
        return EXIT_CREDENTIALS if final.failure.kind == "credentials" else EXIT_FAILED
    assert final is not None, "stream_turn always ends with TurnFinished or TurnFailed"
    if final.stop_reason == "max_tokens":
        reporter.problem(f"the reply reached the length limit ({session.settings.max_tokens:,} tokens) and was "
                         "cut; BUDDY_TUI_MAX_TOKENS raises it")
    reporter.progress(f"done ({final.usage.summary()}){_resume_hint(session)}")
    return EXIT_OK


def _resume_hint(session: Session) -> str:
    """How to go on with this conversation in the app, when the history has it."""
    if session.store is None or session.conversation_id is None:
        return ""
    try:
        here = session.root == Path.cwd().resolve()
    except OSError:  # the current folder was deleted
        here = False
    return f"; buddy-tui{'' if here else ' ' + shlex.quote(str(session.root))} --continue resumes it in the app"


def _project(raw: str) -> Path:
    root = Path(raw).expanduser()
    try:
        if not root.is_dir():
            raise UsageError(f"-C {raw}: {'not a folder' if root.exists() else 'no such folder'}")
        next(root.iterdir(), None)
    except OSError as exc:
        raise UsageError(f"-C {raw}: cannot open ({exc.strerror or exc})") from None
    return root.resolve()


def run(args: argparse.Namespace, stdin: TextIO | None, stdout: TextIO, reporter: Reporter) -> int:
    """Carry out one parsed ``buddy-tui ask``; returns the exit status."""
    from buddy_tui.core.config import Settings, connect
    from buddy_tui.core.session import AppAction, Refusal, open_session

    root = _project(args.project)
    typed, attachments = gather(args, root, stdin, reporter)
    try:
        session = open_session(root, args.persona, Settings.from_env(model=args.model))
    except DefinitionError as exc:
        raise UsageError(str(exc)) from None
    if session.catalog.problems:
        reporter.progress(f"{len(session.catalog.problems)} persona or command file(s) could not be read "
                          "(the app's /problems says why)")
    override = session.current if args.persona else None
    plan = session.interpret(typed, [a.path for a in attachments], override)
    if isinstance(plan, Refusal):
        raise UsageError(plan.message)
    if isinstance(plan, AppAction):
        raise UsageError(f"/{plan.name} is an app command: it needs the app (run buddy-tui); ask runs questions "
                         "and persona commands such as /buddy:review")
    attachments = add_mentions(plan, attachments, root, args.allow_secrets, reporter)
    client, connection = connect(session.settings)
    if client is None:
        reporter.error(connection.message)
        return EXIT_CREDENTIALS
    if not args.no_history:
        from buddy_tui.core.history import open_store
        from buddy_tui.core.paths import history_path

        session.store, problem = open_store(history_path())
        if problem:
            reporter.problem(problem)
    why = f" ({plan.choice.match.explain()})" if plan.choice and plan.choice.switched and plan.choice.match else ""
    files = f" about {', '.join(a.path for a in attachments)}" if attachments else ""
    reporter.progress(f"{plan.persona.title} answers{why} with {plan.model}{files}")
    try:
        return asyncio.run(converse(session, plan, attachments, client, ReplyOutput(stdout), reporter))
    finally:
        if session.store is not None:
            session.store.close()


def main(argv: Sequence[str], stdin: TextIO | None = None) -> int:
    """Entry point of ``buddy-tui ask`` (``argv`` without ``ask``); returns the exit status and
    never lets a traceback reach the terminal."""
    parser = build_parser()
    try:
        args = parser.parse_intermixed_args(list(argv))
    except SystemExit as exc:  # --help (0) or a bad argument (2), already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    reporter = Reporter(sys.stderr, args.quiet)
    try:
        return run(args, sys.stdin if stdin is None else stdin, sys.stdout, reporter)
    except UsageError as exc:
        reporter.error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        reporter.problem("stopped")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout has gone: keep the flush at exit quiet too
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except Exception as exc:  # a bug: one line and a crash report, never a traceback
        reporter.problem(one_line(exc, write_report(exc)))
        return EXIT_FAILED
