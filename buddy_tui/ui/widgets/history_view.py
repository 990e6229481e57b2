"""The chat's side of the history: bring a stored conversation back (on /resume, --continue, or
after a crash), retry a question, export, copy, and count tokens. Methods of :class:`ChatPane`
(bound in its class body), kept apart so each module stays readable in one sitting.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual.widgets import Static

from buddy_tui.conversation.session import TurnPlan
from buddy_tui.personas.commands import split_arguments
from buddy_tui.settings.crash_reports import scrub
from buddy_tui.store.history import HistoryError
from buddy_tui.store.records import ConversationSummary, StoredConversation, Usage
from buddy_tui.ui.safe import markdown_literal
from buddy_tui.ui.widgets import turn_stubs
from buddy_tui.ui.widgets.transcript import AssistantMessage

if TYPE_CHECKING:
    from buddy_tui.ui.widgets.chat_pane import ChatPane


def _count(n: int) -> str:
    return f"{n:,}" if n < 1000 else f"{n / 1000:.1f}k" if n < 1_000_000 else f"{n / 1_000_000:.1f}M"


def compact(usage: Usage) -> str:
    """``in 1.2k out 380 cache 1.1k/50``: a token count that fits the header (cache read/written)."""
    text = f"in {_count(usage.input_tokens)} out {_count(usage.output_tokens)}"
    if usage.cache_read_tokens or usage.cache_write_tokens:
        text += f" cache {_count(usage.cache_read_tokens)}/{_count(usage.cache_write_tokens)}"
    return text


def show_usage(pane: ChatPane) -> None:
    """The token line under the header: the last turn's and the conversation's."""
    turns = pane.session.turns
    last = turns[-1].usage if turns else None
    total = pane.session.conversation.usage
    text = "" if last is None else f"tokens: last {compact(last)} · total {compact(total)} · /cost"
    line = pane.query_one("#usage", Static)
    line.update(text)
    line.display = bool(text)


async def show_problems(pane: ChatPane) -> None:
    """Tell the user, once, about anything that went wrong with the history."""
    while pane.session.problems:
        await pane.note(pane.session.problems.pop(0), "warning")


async def startup(pane: ChatPane, resume_latest: bool) -> None:
    """Bring back a conversation a crash interrupted; else, with ``--continue``, the latest one."""
    store = pane.session.store
    await show_problems(pane)
    if store is None:
        if resume_latest:
            await pane.note("--continue: history is off, so there is nothing to continue.", "warning")
        return
    try:
        crashed = await asyncio.to_thread(store.interrupted, pane.session.project_key)
        latest = store.latest(pane.session.project_key) if resume_latest and not crashed else None
    except (sqlite3.Error, HistoryError) as exc:  # a broken database must not stop the app
        await pane.note(f"Could not read the history ({exc}).", "warning")
        return
    if crashed:
        await open_conversation(pane, crashed[0].id)
        others = (f" {len(crashed) - 1} other conversation(s) were cut the same way; /resume lists them."
                  if len(crashed) > 1 else "")
        await pane.note("buddy-tui stopped while a reply was streaming; this conversation is back with the "
                        f"part that arrived. Ctrl+R or /retry sends the question again.{others}", "warning")
    elif resume_latest:
        if latest is None:
            await pane.note("--continue: there is no earlier conversation in this project yet.")
        else:
            await open_conversation(pane, latest.id)


async def open_conversation(pane: ChatPane, conversation_id: int) -> bool:
    """Replace the chat with a stored conversation, ready to go on."""
    await pane.stop(restore=False)  # first: a reply streaming into this very conversation is saved as stopped
    store = pane.session.store
    try:
        stored = store.load(conversation_id) if store is not None else None
    except (sqlite3.Error, HistoryError, ValueError) as exc:  # a locked database, a damaged row
        await pane.note(f"Could not open that conversation: {exc}", "error")
        return False
    if stored is None:
        await pane.note("That conversation is no longer in the history.", "warning")
        return False
    pane.runner.reset()
    pane._waiting = None
    pane.session.resume(stored)
    pane.unsent = None
    await pane.transcript.remove_children()
    await show_conversation(pane, stored)
    pane.refresh_header()
    show_usage(pane)
    pane.app.refresh_bindings()
    return True


async def show_conversation(pane: ChatPane, stored: StoredConversation) -> None:
    """Mount every stored turn as it ended, and note where the conversation comes from."""
    summary = stored.summary
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.updated))
    elsewhere = ""
    if summary.project != pane.session.project_key:
        elsewhere = (f" It was held in `{markdown_literal(summary.project)}`; files and tools now refer to this "
                     "project.")
    count = f"{len(stored.turns)} turn{'' if len(stored.turns) == 1 else 's'}"
    from buddy_tui.ui.widgets.markdown_note import MarkdownNote

    await pane.add(MarkdownNote(f"Resumed **{markdown_literal(summary.title)}** ({count}, last used {when})."
                                f"{elsewhere}"))
    await turn_stubs.show_turns(pane.transcript, stored.turns)  # older turns built when scrolled to
    last = stored.turns[-1] if stored.turns else None
    if (last is not None and last.state in ("failed", "interrupted")) or (
            last is not None and last.state == "stopped" and not last.reply):
        pane.unsent = last
        pane.app.refresh_bindings()
    pane.transcript.scroll_end(animate=False)
    pane.transcript.anchor()
    pane.fold_soon()


async def retry(pane: ChatPane) -> None:
    """``/retry`` or Ctrl+R: send the last question that got no full answer again, with the same
    files as then."""
    record = pane.unsent
    if record is None:
        await pane.note("Nothing to retry: every question so far got its answer.")
        return
    if pane.busy:
        pane.app.notify("A reply is still streaming: press Esc to stop it first.", severity="warning")
        return
    plan = await asyncio.to_thread(pane.session.interpret, record.typed, [], pane.override)
    if not isinstance(plan, TurnPlan):
        await pane.note("That question can no longer be sent as it was; edit it and send it again.", "warning")
        return
    if await pane.when_connected(pane.retry):
        return
    pane.unsent = None
    if pane.prompt.input.value == record.typed:  # it was put back in the prompt: it is being sent now
        pane.prompt.input.value = ""
        pane.prompt.take_attachments()
    await pane._send_within_budget(plan, [], [], resend=record)


def current(pane: ChatPane) -> StoredConversation:
    """This conversation as it stands, for exporting (from memory: works with history off too)."""
    session = pane.session
    now = time.time()
    first = session.turns[0].created if session.turns and session.turns[0].created else now
    summary = ConversationSummary(session.conversation_id or 0, session.project_key,
                                  session.title or "New conversation", session.current.name,
                                  session.settings.model, first, now, len(session.turns))
    return StoredConversation(summary, list(session.turns))


def export_target(arguments: str, summary: ConversationSummary, root: Path) -> Path:
    """Where ``/export [PATH]`` writes: PATH (relative to the project, ``~`` expanded), or a dated
    file named after the conversation in the project folder."""
    from buddy_tui.store.export import default_export_name

    typed = " ".join(split_arguments(arguments))  # "a b.md" in quotes is one name
    target = Path(typed).expanduser() if typed else Path(default_export_name(summary))
    return target if target.is_absolute() else root / target


async def export(pane: ChatPane, arguments: str) -> None:
    """``/export [PATH]``: the conversation as Markdown (default: a dated file in the project)."""
    conversation = current(pane)
    if not conversation.turns:
        await pane.note("Nothing to export yet: ask something first.")
        return
    from buddy_tui.store.export import export_markdown, write_export
    from buddy_tui.ui.screens.confirm import confirm

    path = export_target(arguments, conversation.summary, pane.session.root)
    text = export_markdown(conversation, project=pane.session.project_key)

    async def write(overwrite: bool) -> None:
        try:
            written = await asyncio.to_thread(write_export, text, path, overwrite=overwrite)
        except FileExistsError:
            def decided(answer: str | None) -> None:
                if answer == "yes":
                    pane.call_later(write, True)

            pane.app.push_screen(confirm(f"Replace {path.name}?", f"{path} already exists.", yes="Replace",
                                         no="Keep it"), decided)
            return
        except OSError as exc:
            await pane.note(f"Could not export to {path}: {exc.strerror or exc}", "error")
            return
        count = len(conversation.turns)
        await pane.note(f"Exported {count} turn{'' if count == 1 else 's'} to {written}.")

    await write(False)


async def copy(pane: ChatPane, arguments: str) -> None:
    """``/copy``: the last reply; ``/copy N``: its Nth code block; ``/copy last``: its last one."""
    replies = [m for m in pane.transcript.query(AssistantMessage) if m.text]
    if not replies:
        await pane.note("Nothing to copy yet: no reply has arrived.")
        return
    text = replies[-1].text
    word = arguments.strip().lower()
    if not word:
        await copy_text(pane, text, "the last reply")
        return
    from buddy_tui.display.clipboard import code_blocks

    blocks = code_blocks(text)
    if not blocks:
        await pane.note("The last reply has no code blocks; /copy copies the whole reply.", "warning")
        return
    index = len(blocks) if word == "last" else int(word) if word.isdigit() else 0
    if not 1 <= index <= len(blocks):
        await pane.note(f"The last reply has {len(blocks)} code block(s): /copy 1 to /copy {len(blocks)}.",
                        "warning")
        return
    await copy_text(pane, blocks[index - 1].code, f"code block {index} of {len(blocks)}")


async def copy_text(pane: ChatPane, text: str, what: str) -> None:
    """Copy through the terminal (OSC 52) and the system clipboard; where neither can be confirmed,
    also save the text to a file, so the copy is never lost. The API key is copied by name only,
    as the chat shows it."""
    from buddy_tui.display.clipboard import save_fallback, system_copy

    text = scrub(text)
    pane.app.copy_to_clipboard(text)
    tool = await asyncio.to_thread(system_copy, text)
    if tool is not None:
        pane.app.notify(f"Copied {what} ({len(text):,} characters) to the clipboard ({tool}).")
        return
    try:
        saved = await asyncio.to_thread(save_fallback, text)
    except OSError as exc:
        pane.app.notify(f"Copied {what} through the terminal; could not save a copy ({exc}).", severity="warning",
                        markup=False)
        return
    pane.app.notify(f"Copied {what} through the terminal (OSC 52). If your terminal ignores that, it is also "
                    f"in {saved}.", timeout=8, markup=False)


async def cost(pane: ChatPane) -> None:
    """``/cost``: tokens of the last turn and of the conversation, cache reads and writes included."""
    session = pane.session
    if not session.turns:
        await pane.note("No tokens used yet in this conversation.")
        return
    last = session.turns[-1]
    total = session.conversation.usage
    label = "Last turn" if last.state == "complete" else f"Last turn ({last.state}: counted as far as it got)"
    rows = [(label, last.usage), (f"Conversation ({len(session.turns)} turns)", total)]
    table = ["| | input | output | cache read | cache write |", "|---|---:|---:|---:|---:|"]
    table += [f"| {name} | {u.input_tokens:,} | {u.output_tokens:,} | {u.cache_read_tokens:,} | "
              f"{u.cache_write_tokens:,} |" for name, u in rows]
    from buddy_tui.ui.widgets.markdown_note import MarkdownNote

    await pane.add(MarkdownNote("**Tokens**\n\n" + "\n".join(table) + "\n\nCounted by the API for each reply "
                                "(a reply that failed part-way counts only its finished rounds)."))
