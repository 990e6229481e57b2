"""App commands that act on the chat: ``/add``, ``/drop``, ``/files``, ``/export``, ``/copy``,
``/cost`` and ``/consult``. The app dispatches them here; each works through the chat pane's public surface (its
prompt, its notes, the session) and holds no state of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from buddy_tui.context.attachments import expand_paths
from buddy_tui.personas.commands import split_arguments
from buddy_tui.store.records import ConversationSummary, StoredConversation, TurnRecord, Usage
from buddy_tui.ui.copying import copy_text
from buddy_tui.ui.safe import markdown_literal

if TYPE_CHECKING:
    from buddy_tui.conversation.session import Session
    from buddy_tui.ui.widgets.chat_pane import ChatPane


async def manage_files(pane: ChatPane, name: str, arguments: str) -> None:
    """``/add PATH...``, ``/drop [PATH...]`` and ``/files``."""
    words = split_arguments(arguments)
    if name == "add":
        if not words:
            await pane.note("Usage: /add PATH... (paths or globs, relative to the project)", "warning")
            return
        paths, missing = expand_paths(words, pane.session.root)
        for path in paths:
            pane.attach(path)
        if missing:
            await pane.note(f"No such file in the project: {', '.join(missing)}", "warning")
    elif name == "drop":
        chosen = [a for a in pane.prompt.attachments
                  if not words or any(fnmatch(a.key, w) or fnmatch(a.path, w) for w in words)]
        for attachment in chosen:
            pane.prompt.remove_attachment(attachment.key)
        await pane.note(f"Dropped {len(chosen)} attached file(s)." if chosen else "Nothing matched to drop.")
    else:
        attached = pane.prompt.attachments
        if not attached:
            await pane.note("No files are attached. Select one in the tree, /add PATH, or write @path.")
            return
        lines = [f"{a.key}: {a.label.partition(' ')[2]}" for a in attached]
        total = sum(a.tokens for a in attached)
        await pane.note("Attached to the next question:\n" + "\n".join(lines) + f"\nTotal ~{total:,} tokens.")


def current(session: Session) -> StoredConversation:
    """This conversation as it stands, for exporting (from memory: works with history off too)."""
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
    conversation = current(pane.session)
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
    from buddy_tui.ui.widgets.transcript import AssistantMessage

    replies = [m for m in pane.transcript.query(AssistantMessage) if m.text]
    if not replies:
        await pane.note("Nothing to copy yet: no reply has arrived.")
        return
    text = replies[-1].text
    word = arguments.strip().lower()
    if not word:
        await copy_text(pane.app, text, "the last reply")
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
    await copy_text(pane.app, blocks[index - 1].code, f"code block {index} of {len(blocks)}")


def by_agent(turns: Sequence[TurnRecord]) -> list[tuple[str, Usage]]:
    """The tokens of ``turns`` split between the lead and each agent (by title, in the order they
    first ran); the lead's share is what is left of each turn's total once its agents' are taken out."""
    lead = Usage()
    agents: dict[str, Usage] = {}
    for turn in turns:
        spent = Usage()
        for agent in turn.agents:
            name = agent.title or agent.name
            agents[name] = agents.get(name, Usage()) + agent.usage
            spent = spent + agent.usage
        lead = lead + (turn.usage - spent)
    return [("lead", lead)] + [(f"{name} (agent)", usage) for name, usage in agents.items()]


async def cost(pane: ChatPane) -> None:
    """``/cost``: tokens of the last turn and of the conversation, cache reads and writes included,
    and, when agents ran, each one's share beside the lead's."""
    session = pane.session
    if not session.turns:
        await pane.note("No tokens used yet in this conversation.")
        return
    last = session.turns[-1]
    total = session.conversation.usage
    ended = {"complete": "", "cut": " (cut at the token limit)", "refused": " (declined)"}
    label = "Last turn" + ended.get(last.state, f" ({last.state}: counted as far as it got)")
    rows = [(label, last.usage)]
    if last.agents:
        rows += [(f"· {name}", usage) for name, usage in by_agent([last])]
    rows.append((f"Conversation ({len(session.turns)} turns)", total))
    if any(turn.agents for turn in session.turns):
        rows += [(f"· {name}", usage) for name, usage in by_agent(session.turns)]
    table = ["| | input | output | cache read | cache write |", "|---|---:|---:|---:|---:|"]
    table += [f"| {markdown_literal(name)} | {u.input_tokens:,} | {u.output} | {u.cache_read_tokens:,} | "
              f"{u.cache_write_tokens:,} |" for name, u in rows]
    from buddy_tui.ui.widgets.markdown_note import MarkdownNote

    estimate = (" ~ marks output estimated from the text that arrived: that reply was stopped or failed before "
                "the API counted it." if total.estimated else "")
    await pane.add(MarkdownNote("**Tokens**\n\n" + "\n".join(table) + "\n\nCounted by the API for each reply, "
                                "as far as it got when one was stopped or failed." + estimate))


async def consult(pane: ChatPane, arguments: str) -> None:
    """``/consult NAME QUESTION``: ask one expert directly, with the attached files; it answers as
    an agent panel that stays open. Without a name or a question: how to use it, and who there is."""
    name, _, text = arguments.strip().partition(" ")
    if not name or not text.strip():
        names = ", ".join(sorted(persona.name for persona in pane.session.personas))
        await pane.note("Usage: /consult NAME QUESTION asks one expert directly, with the attached files; "
                        f"its answer appears in its own panel.\nExperts: {names}")
        return
    if pane.busy:
        pane.app.notify("A reply is still streaming: press Esc to stop it, or wait.", severity="warning")
        return
    if await pane.when_connected(lambda: consult(pane, arguments)):
        return
    question = await asyncio.to_thread(pane.engine.consultation, name, text.strip())
    if isinstance(question, str):
        await pane.note(question, "warning")
        return
    pane._run(replace(question, chips=tuple(pane.prompt.take_attachments())), agents_open=True)
