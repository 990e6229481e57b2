"""``buddy-tui ask``: one question answered on standard output, for scripts and pipes.

Only the reply goes to stdout (as plain text, rendered Markdown or JSON lines: see
:mod:`buddy_tui.headless.output`), flushed as it streams, so ``buddy-tui ask ... > answer.md``
captures exactly the answer; everything else goes to stderr. The turn runs through the app's core
(Session, stream_turn, TurnLog, the history), so the app can resume it later. Nobody can be asked
anything here, so every question the app would ask gets its safe answer (secrets files stay out,
secret values are redacted, files are changed only with --allow-edits). Nothing on this path
imports Textual, and Rich, Pygments and markdown-it only for ``--format markdown``; the SDK loads
only when the client is built, so the command starts about as fast as ``import anthropic`` itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from buddy_tui.context.attachments import Attachment, human_size
from buddy_tui.conversation.chat import Retrying, TurnFailed, TurnFinished, unrun_summary
from buddy_tui.headless.asker import FlagAsker, offered_tools
from buddy_tui.headless.inputs import UsageError, gather
from buddy_tui.headless.narrate import Narrator
from buddy_tui.headless.output import FORMATS, Output, Reporter, default_format, make_output
from buddy_tui.personas.frontmatter import DefinitionError
from buddy_tui.settings.crash_reports import one_line, write_report

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from buddy_tui.conversation.engine import TurnStarted
    from buddy_tui.conversation.session import Session, TurnPlan

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CREDENTIALS, EXIT_REFUSED, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 3, 4, 130, 141
#: No credentials and an unusable endpoint (ANTHROPIC_BASE_URL empty, or not an http(s) address)
#: share one status: the connection is not configured, and no request was made.
EXIT_CONFIGURATION = EXIT_CREDENTIALS
#: What someone running ``ask`` can do when the model declines (the app's hint names /model and /retry).
DECLINED_HINT = "Rephrase the question, give more context (what it is for, the files it concerns), or try another " \
                "model with --model."

EPILOG = """\
standard input:
  When it is not a terminal it is read (unless --no-stdin): attached as a document named
  "stdin" when the question is given as words, or taken as the question itself when not.
  Either way its secret-looking values are redacted unless --allow-secrets.

files:
  -f PATH and @path in the question attach files of the project (a file over 200 KB is sent
  as its head, and stderr says so). Binary files, files outside the project and files that
  look like secrets (.env, keys, credentials...) are refused; --allow-secrets sends the
  latter. Secret-looking values inside attached files are redacted unless --allow-secrets.

tools:
  The persona may read the project (Read, Grep, Glob) to answer; tools never read secrets
  files. Files are not changed (Edit and Write need your approval in the app) unless
  --allow-edits is given: then Edit and Write change files inside the project at once, and
  stderr names each one ("edited app/models.py"), even with -q. Secrets files are changed
  only with --allow-secrets as well.

agents:
  A persona offered the Task tool can hand work to agents (.claude/agents, the persona
  experts). Each gets a stderr line when it starts and one when it ends:
    buddy-tui: ▸ agent security (Check auth paths) started · claude-...
    buddy-tui: ▸ agent security done in 12 s · in 3.1k out 640
  (a failed, capped or stopped agent's line shows even with -q), and a line for each tool
  it calls ("agent security: Read app/auth.py ..."). Its text is not printed in the text
  and markdown formats: it goes back to the lead, whose answer is the reply. --allow-edits
  and --allow-secrets hold for agents' Edit and Write calls as for the lead's.

output formats (--format):
  markdown  the reply rendered for a terminal, block by block (default on a terminal)
  text      the reply exactly as the model writes it, Markdown source (default otherwise)
  On a terminal, control characters in the reply (escape sequences that could set the
  clipboard or the window title, colours, carriage returns; all but newline and tab) are
  shown as symbols such as ␛ and ␇, never obeyed; a pipe or a file gets the reply byte for
  byte. Standard error is always one line a message, control characters and newlines in
  file names shown the same way.
  json      one JSON object a line, flushed line by line; "type" says which:
    {"type": "delta", "text": "..."}                       a piece of the reply
    {"type": "tool_call", "id", "name", "input": {...}, "agent", "agent_id"}
                                                           the model asks for a tool
    {"type": "tool_result", "id", "name", "is_error", "summary", "agent", "agent_id"}
    {"type": "usage", "input_tokens", "output_tokens", "cache_read_tokens",
     "cache_write_tokens"}                                 tokens counted so far (the
                                                           lead's, and agents' once ended)
    {"type": "retry", "reason", "wait", "attempt", "attempts", "agent", "agent_id"}
                                                           the call is tried again
    {"type": "agent_start", "id", "name", "title", "description", "prompt", "model",
     "tools": [...]}                                       a Task call's agent starts
    {"type": "agent_delta", "text", "agent", "agent_id"}   a piece of an agent's text
    {"type": "agent_end", "id", "name", "outcome", "why", "seconds", "usage": {...},
     "text"}                                               outcome: done, failed, capped
                                                           or stopped; text: all it wrote
  "agent" (the agent's name) and "agent_id" (the id of the Task call that launched it,
  the "id" of its agent_start) are null on the lead's own events.
  and last, exactly one of:
    {"type": "final", "text", "stop_reason", "usage": {...}, "conversation_id"}
    {"type": "error", "message", "retryable"}               (exit status not 0)
  The deltas joined make the final text; conversation_id is null with --no-history.
  A reply cut at the token limit ends with "final" and stop_reason "max_tokens"; a refusal
  with "error" (the deltas hold any part that arrived).

exit status:
  0 answered (a reply cut at the token limit too: stderr says so), 1 the model call failed,
  2 usage error (bad arguments, unknown persona or command, no question, a file that cannot
  be attached, a --model the endpoint does not offer), 3 no credentials or an unusable
  endpoint (ANTHROPIC_BASE_URL set but empty, or not an http:// or https:// address; nothing
  is sent), 4 the model declined to answer, 130 interrupted.

environment:
  ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL as the SDK reads them;
  BUDDY_TUI_MODEL, BUDDY_TUI_MAX_TOKENS, BUDDY_TUI_DATA_DIR as in the app.

examples:
  buddy-tui ask "why is load_orders slow?" -f app/models.py > answer.md
  git diff | buddy-tui ask "review this change"
  buddy-tui ask -C ~/src/orders /buddy:review app/models.py
  buddy-tui ask --format json "list the endpoints" | jq -r 'select(.type == "final").text'
  buddy-tui ask --allow-edits "parameterise the query in app/models.py"
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``buddy-tui ask`` argument parser (``buddy-tui ask --help``)."""
    parser = argparse.ArgumentParser(
        prog="buddy-tui ask", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Ask one question without the app. The reply streams to standard output (see\n"
                    "--format); progress and problems go to standard error.")
    parser.add_argument("question", nargs="*", metavar="QUESTION",
                        help="the question, its words joined by spaces; '/buddy:review app' runs a persona "
                             "command, '@app/db.py' attaches that file")
    parser.add_argument("-C", "--project", metavar="PATH", default=".", help="the project folder (default: .)")
    parser.add_argument("--persona", metavar="NAME|FILE",
                        help="who answers: a persona's name or a persona file (default: chosen for the question)")
    parser.add_argument("--model", help="Claude model to use (default: $BUDDY_TUI_MODEL or a current Sonnet); "
                                         "checked first against the endpoint's model list")
    parser.add_argument("-f", "--file", dest="files", metavar="PATH", action="append", default=[],
                        help="attach a file of the project; repeat for more")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="how the reply is written: markdown (rendered), text (as written) or json (one "
                             "event a line); default: markdown on a terminal, text otherwise")
    parser.add_argument("--allow-edits", action="store_true",
                        help="let the persona change project files with Edit and Write, without asking")
    parser.add_argument("--allow-secrets", action="store_true",
                        help="attach files that look like secrets, and send secret-looking values unredacted")
    parser.add_argument("--no-history", action="store_true", help="do not save this exchange in the history")
    parser.add_argument("--no-stdin", action="store_true", help="never read standard input")
    parser.add_argument("-q", "--quiet", action="store_true", help="only problems on standard error, no progress")
    return parser


def _fail(reporter: Reporter, out: Output, message: str, retryable: bool = False) -> None:
    """A failure: one line on stderr, and the ``error`` object for --format json."""
    reporter.error(message)
    out.failed(message, retryable)


def _report_catalog(session: Session, reporter: Reporter) -> None:
    """Project files that could not be used, counted, and memory sent only after redaction, each named
    (never the value): the user should know the system prompt is not the file as written."""
    if session.catalog.problems:
        reporter.progress(f"{len(session.catalog.problems)} project file(s) (personas, commands, memory, manifests) "
                          "could not be used (the app's /problems says which and why)")
    for redacted in session.catalog.redacted:
        reporter.problem(f"{redacted} (--allow-secrets does not change this: memory files are always redacted)")


def _flush_problems(session: Session, reporter: Reporter) -> None:
    for problem in session.problems:
        reporter.problem(problem)
    session.problems.clear()


async def converse(session: Session, plan: TurnPlan, attachments: list[Attachment], client: AsyncAnthropic,
                   out: Output, reporter: Reporter, *, allow_edits: bool = False, allow_secrets: bool = False) -> int:
    """Run the turn through the engine, stream the reply to ``out``; returns the exit status."""
    from buddy_tui.conversation.engine import Abandoned, Engine, Notice, Question, TurnStarted

    offered, note = offered_tools(plan.tools, allow_edits)
    if note is not None:  # the model is told whether it may change files
        session.notes.append(note)
    engine = Engine(session, FlagAsker(reporter, allow_edits=allow_edits, allow_secrets=allow_secrets), client)
    question = Question(replace(plan, tools=offered), tuple(attachments))
    final: TurnFinished | TurnFailed | None = None
    narrator = Narrator(out, reporter, engine.runner.changes.get)

    def retrying(retry: Retrying) -> None:
        reporter.progress(retry.notice.describe())
        out.retry(retry.notice)

    try:
        async for event in engine.run(question, on_retry=retrying):
            if narrator.take(event):
                continue
            if isinstance(event, TurnFinished | TurnFailed):
                final = event
            elif isinstance(event, TurnStarted):
                _started(event, reporter)
                _flush_problems(session, reporter)
            elif isinstance(event, Notice):
                reporter.problem(event.text[:1].lower() + event.text[1:])
            elif isinstance(event, Abandoned):
                message = (f"the question and its files do not fit the model's context ({event.budget.describe()}); "
                           "attach fewer or smaller files") if event.budget is not None else event.reason
                _fail(reporter, out, message)
                return EXIT_USAGE
    finally:
        await engine.close()  # a stop (Ctrl+C, a closed pipe) keeps what arrived
    _flush_problems(session, reporter)
    out.finish()
    if isinstance(final, TurnFailed):
        _fail(reporter, out, final.failure.text(), final.failure.retryable)
        return EXIT_CREDENTIALS if final.failure.kind == "credentials" else EXIT_FAILED
    assert final is not None, "the engine ends a turn it started with TurnFinished or TurnFailed"
    if final.refusal is not None:
        _fail(reporter, out, f"{final.refusal.title} {DECLINED_HINT}")
        return EXIT_REFUSED
    if final.stop_reason == "max_tokens":
        rest = (f"; {_app_command(session)}, then Enter, asks for the rest in the app" if session.store is not None
                and session.conversation_id is not None else "")
        reporter.problem(f"the reply was cut at the token limit ({session.settings.max_tokens:,} tokens; "
                         f"BUDDY_TUI_MAX_TOKENS raises it){rest}")
        for call in final.unrun:
            reporter.problem(unrun_summary(call))
    out.final(final, session.conversation_id if session.store is not None else None)
    reporter.progress(f"done ({final.usage.summary()}){_resume_hint(session)}")
    return EXIT_OK


def _started(event: TurnStarted, reporter: Reporter) -> None:
    """Who answers, with which model, about which files (and which of them were cut short)."""
    for attachment in event.attachments:
        if attachment.truncated:
            reporter.problem(f"{attachment.path} is {human_size(attachment.size)}: only its first "
                             f"{human_size(len(attachment.text.encode()))} is sent")
    plan = event.question.plan
    why = f" ({event.why})" if event.why else ""
    files = f" about {', '.join(a.path for a in event.attachments)}" if event.attachments else ""
    reporter.progress(f"{plan.persona.title} answers{why} with {plan.model}{files}")


def _resume_hint(session: Session) -> str:
    """How to go on with this conversation in the app, when the history has it."""
    if session.store is None or session.conversation_id is None:
        return ""
    return f"; {_app_command(session)} resumes it in the app"


def _app_command(session: Session) -> str:
    """``buddy-tui --continue`` (with the project's folder unless it is the current one)."""
    try:
        here = session.root == Path.cwd().resolve()
    except OSError:  # the current folder was deleted
        here = False
    return f"buddy-tui{'' if here else ' ' + shlex.quote(str(session.root))} --continue"


def _project(raw: str) -> Path:
    root = Path(raw).expanduser()
    try:
        if not root.is_dir():
            raise UsageError(f"-C {raw}: {'not a folder' if root.exists() else 'no such folder'}")
        next(root.iterdir(), None)
    except OSError as exc:
        raise UsageError(f"-C {raw}: cannot open ({exc.strerror or exc})") from None
    return root.resolve()


def run(args: argparse.Namespace, stdin: TextIO | None, out: Output, reporter: Reporter) -> int:
    """Carry out one parsed ``buddy-tui ask``, writing the reply to ``out``; returns the exit status."""
    from buddy_tui.context.attachments import set_user_sensitive_patterns
    from buddy_tui.conversation.client import connect
    from buddy_tui.conversation.session import AppAction, Refusal, open_session
    from buddy_tui.settings.config_file import load_config
    from buddy_tui.settings.model_settings import Settings

    root = _project(args.project)
    config, config_problems = load_config()  # read once, for the -f files, the settings and the session
    for problem in config_problems:  # said first: a wrong setting may explain what follows
        reporter.problem(problem)
    # The user's sensitive_patterns must hold for -f files too, which are read before the session.
    set_user_sensitive_patterns(config.sensitive_patterns)
    typed, attachments = gather(args, root, stdin, reporter)
    try:
        session = open_session(root, args.persona, Settings.from_config(config, model=args.model), config=config)
    except DefinitionError as exc:
        raise UsageError(str(exc)) from None
    _report_catalog(session, reporter)
    override = session.current if args.persona else None
    plan = session.interpret(typed, [a.path for a in attachments], override)
    if isinstance(plan, Refusal):
        raise UsageError(plan.message)
    if isinstance(plan, AppAction):
        raise UsageError(f"/{plan.name} is an app command: it needs the app (run buddy-tui); ask runs questions "
                         "and persona commands such as /buddy:review")
    client, connection = connect(session.settings)
    if client is None:  # nothing was sent: no credentials, or an endpoint that is not an address
        _fail(reporter, out, connection.message)
        return EXIT_CONFIGURATION
    if not args.no_history:
        from buddy_tui.settings.paths import history_path
        from buddy_tui.store.history import open_store

        session.store, problem = open_store(history_path())
        if problem:
            reporter.problem(problem)

    async def checked_then_asked() -> int:  # one event loop for both: the client's connections belong to it
        if args.model and not await _model_offered(client, args.model, connection.base_url, reporter, out):
            return EXIT_USAGE
        return await converse(session, plan, attachments, client, out, reporter, allow_edits=args.allow_edits,
                              allow_secrets=args.allow_secrets)

    try:
        return asyncio.run(checked_then_asked())
    finally:
        if session.store is not None:
            session.store.close()


async def _model_offered(client: AsyncAnthropic, name: str, base_url: str, reporter: Reporter, out: Output) -> bool:
    """``--model``: False (said on stderr) when the endpoint's list lacks it; when the list cannot
    be read, say so and go ahead."""
    from buddy_tui.conversation.client import is_local
    from buddy_tui.conversation.models import check_model

    check = await check_model(client, name)
    where = f"the endpoint {base_url}" if is_local(base_url) else "Anthropic's API"
    if check.verdict == "unknown":
        _fail(reporter, out, f"--model: {check.describe(where)}")
        return False
    if check.verdict == "unverified":
        reporter.problem(f"--model: {check.describe(where)} Sending the question anyway.")
    return True


def main(argv: Sequence[str], stdin: TextIO | None = None) -> int:
    """Entry point of ``buddy-tui ask`` (``argv`` without ``ask``); returns the exit status and
    never lets a traceback reach the terminal."""
    parser = build_parser()
    try:
        args = parser.parse_intermixed_args(list(argv))
    except SystemExit as exc:  # --help (0) or a bad argument (2), already printed by argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    reporter = Reporter(sys.stderr, args.quiet)
    out = make_output(args.format or default_format(sys.stdout), sys.stdout)
    try:
        return run(args, sys.stdin if stdin is None else stdin, out, reporter)
    except UsageError as exc:
        _fail(reporter, out, str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        reporter.problem("stopped")
        with contextlib.suppress(Exception):  # what arrived stays on show (a held-back Markdown block)
            out.finish()
            out.failed("stopped", False)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of stdout has gone: keep the flush at exit quiet too
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
    except Exception as exc:  # a bug: one line and a crash report, never a traceback
        message = one_line(exc, write_report(exc))
        reporter.problem(message)
        with contextlib.suppress(Exception):
            out.failed(message, False)
        return EXIT_FAILED
