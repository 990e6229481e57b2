"""A stored conversation as a Markdown document the user can keep, share or paste into a ticket.

What goes out: the questions as typed, the labels of attached files (never their contents), the
replies with their tool calls where they happened, how each turn ended and its tokens. An agent a
Task call ran is quoted under that call's line: who it was, what it was asked, how it ended, its
reply and its own tool calls, so a reader tells it apart from the lead's reply at a glance. What
never goes out: the documents sent to the model and the values of the credential variables.
"""

from __future__ import annotations

import errno
import functools
import os
import re
import time
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from buddy_tui.settings.crash_reports import scrub
from buddy_tui.settings.files import write_atomic
from buddy_tui.store.records import AgentRecord, ConversationSummary, StoredConversation, ToolNote, TurnRecord, Usage
from buddy_tui.store.wording import agent_outcome

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: The longest slug :func:`default_export_name` puts in a file name.
SLUG_CHARS = 40
#: The longest path or pattern a tool line shows when the tool's summary does not name the call.
TARGET_CHARS = 80
#: Characters that could start Markdown formatting inside a line of plain text.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>#~&|])")
_BACKTICK_RUN = re.compile(r"`+")


@functools.cache
def _parser() -> MarkdownIt:
    """A CommonMark parser, built on first use (markdown-it is not needed to start the app)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def export_markdown(conversation: StoredConversation, *, project: str | None = None,
                    now: float | None = None) -> str:
    """The whole conversation as Markdown, oldest turn first, with credentials scrubbed out.

    ``project`` replaces the stored project path in the header (e.g. shortened with ``~``);
    ``now`` is the export time shown in the header (the current time when None).
    """
    blocks = [f"# {_inline(conversation.summary.title) or 'Conversation'}",
              _header(conversation, project, time.time() if now is None else now)]
    for turn in conversation.turns:
        blocks.append("---")
        blocks.extend(_turn_blocks(turn))
    return scrub("\n\n".join(blocks) + "\n")


def default_export_name(summary: ConversationSummary) -> str:
    """``buddy-20240501-0930-how-do-i-add-an-index.md``: the start time (local) and the title."""
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(summary.created))
    return f"buddy-{stamp}-{slug(summary.title)}.md"


def slug(title: str) -> str:
    """Lowercase ASCII letters, digits and single dashes, at most :data:`SLUG_CHARS` long and never
    empty: accents are dropped (``Café`` → ``cafe``); a title with no ASCII left gives ``conversation``."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) > SLUG_CHARS:
        cut = words[: SLUG_CHARS + 1]
        head = cut.rsplit("-", 1)[0] if "-" in cut else ""  # end at a whole word when one is near
        words = head if len(head) >= SLUG_CHARS // 2 else words[:SLUG_CHARS]
    return words.strip("-") or "conversation"


def write_export(text: str, path: Path, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` so that no reader ever sees half a file, readable by the
    owner only (:func:`~buddy_tui.settings.files.write_atomic`). Missing folders are created.

    Raises FileExistsError when ``path`` exists and ``overwrite`` is False (checked atomically where
    the file system has hard links), IsADirectoryError / NotADirectoryError for a folder in the
    way, and other OSErrors with the path in their message.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{path} is a folder; give a file name to write to")
    if not overwrite and os.path.lexists(path):
        raise _exists(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, f"Could not create the folder {folder}: a file is in the way") from None
    except OSError as error:
        raise _explained(error, f"Could not create the folder {folder}") from error
    data = text.encode("utf-8", "replace")  # "replace": a lone surrogate becomes "?"
    try:
        write_atomic(path, data, exclusive=not overwrite)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as error:
        raise _explained(error, f"Could not write {path}") from error
    return path


def _exists(path: Path) -> FileExistsError:
    return FileExistsError(errno.EEXIST, f"{path} already exists; choose another name or allow overwriting it")


def _explained(error: OSError, what: str) -> OSError:
    """The same kind of error, with a message that says what was being done."""
    message = f"{what}: {error.strerror or error}"
    try:
        return type(error)(error.errno, message) if error.errno is not None else type(error)(message)
    except TypeError:  # an OSError subclass with a constructor of its own
        return OSError(error.errno, message)


def _header(conversation: StoredConversation, project: str | None, now: float) -> str:
    summary = conversation.summary
    turns = conversation.turns
    lines: list[str] = []
    where = summary.project if project is None else project
    if where:
        lines.append(f"- Project: {_code(where)}")
    persona_title = next((t.persona_title for t in turns if t.persona == summary.persona and t.persona_title), "")
    persona = _code(summary.persona) if summary.persona else ""
    if persona_title:
        persona = f"{_inline(persona_title)} ({persona})" if persona else _inline(persona_title)
    if persona:
        lines.append(f"- Persona: {persona}")
    models = list(dict.fromkeys([summary.model, *(t.model for t in turns)]))
    if any(models):
        lines.append(f"- Model: {', '.join(_code(m) for m in models if m)}")
    lines += [f"- Created: {_when(summary.created)}",
              f"- Updated: {_when(summary.updated)}",
              f"- Turns: {len(turns)}",
              f"- Tokens: {conversation.usage.summary()}",
              f"- Exported: {_when(now)}"]
    return "\n".join(lines)


def _turn_blocks(turn: TurnRecord) -> list[str]:
    """The question, what was attached, the reply with its tool calls, how it ended, its tokens."""
    blocks = ["## You", _fenced(turn.typed)]
    if turn.files:
        blocks.append("Attached: " + ", ".join(_code(label) for label in turn.files))
    blocks.append(f"## {_inline(turn.persona_title) or _inline(turn.persona) or 'Reply'}")
    reply = _reply_blocks(turn.segments(), turn)
    shown = {note.id for note in turn.tools}  # an agent whose launching line is missing still goes out, last
    reply += [_agent_block(agent, turn) for agent in turn.agents if agent.id not in shown]
    if not reply and turn.state == "complete":
        reply.append("*(empty reply)*")
    blocks += reply
    if marker := _ending(turn):
        blocks.append(marker)
    if turn.usage != Usage():
        blocks.append(f"*Tokens: {turn.usage.summary()}*")
    return blocks


def _reply_blocks(segments: list[str | ToolNote], turn: TurnRecord | None) -> list[str]:
    """A reply's text and tool lines in order; under a lead's Task line (``turn`` given), the
    agent it ran."""
    blocks: list[str] = []
    for part in segments:
        if isinstance(part, ToolNote):
            blocks.append(_tool_line(part))
            if turn is not None and (agent := turn.agent(part.id)) is not None:
                blocks.append(_agent_block(agent, turn))
        elif text := _closed(part.strip("\n")):
            blocks.append(text)
    return blocks


def _agent_block(agent: AgentRecord, turn: TurnRecord) -> str:
    """An agent's run as one block quote: a line naming it and its task, a line saying how it went
    (state, time, tokens, model), the Task prompt it was given, then its reply with its own tool
    lines (quoted once more)."""
    who = f"**{_inline(agent.title or agent.name) or 'Agent'}**"
    if agent.name and agent.name != agent.title:
        who += f" ({_code(agent.name)})"
    head = " · ".join(filter(None, [f"🤖 Agent {who}", _inline(agent.description)]))
    facts = [_agent_state(agent, turn)]
    if agent.usage != Usage():
        facts.append(agent.usage.summary())
    if agent.model:
        facts.append(_code(agent.model))
    blocks = [f"{head}\\\n{' · '.join(facts)}"]  # a hard line break keeps the two lines apart
    if agent.prompt.strip():
        blocks += ["Asked:", _fenced(agent.prompt)]
    reply = _reply_blocks(agent.segments(), None)
    if not reply and agent.state == "done":
        reply.append("*(empty reply)*")
    blocks += reply
    return _quoted("\n\n".join(blocks))


def _agent_state(agent: AgentRecord, turn: TurnRecord) -> str:
    """``done in 12 s``, ``failed after 3.0 s: overloaded``, ``interrupted``..."""
    state = agent.state
    if state in ("queued", "running"):  # never heard to end: cut off, unless the turn goes on
        return f"still {state} when exported" if turn.state == "streaming" else "interrupted"
    return _inline(agent_outcome(state, agent.seconds, agent.why))


def _quoted(markdown: str) -> str:
    """Every line of ``markdown`` inside a block quote (no line left to lazy continuation)."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in markdown.split("\n"))


def _tool_line(note: ToolNote) -> str:
    """``> 🔧 Read app/models.py lines 1-40 (2 KB)``: the tools' own summaries name the call;
    otherwise the tool, its path or pattern, and the outcome."""
    summary = " ".join(note.summary.split())
    if not summary.startswith(f"{note.name} "):
        target = note.input.get("path") or note.input.get("pattern") or note.input.get("description") or ""
        target = target if isinstance(target, str) else ""
        if len(target) > TARGET_CHARS:
            target = target[: TARGET_CHARS - 1] + "…"
        call = f"{note.name} {target}".strip()
        summary = f"{call} — {summary}" if summary else call
    return f"> 🔧 {'⚠ error: ' if note.is_error else ''}{_inline(summary)}"


def _ending(turn: TurnRecord) -> str:
    """A line saying the reply did not finish normally, or "" when it did."""
    if turn.state == "stopped":
        return "**Stopped by the user.**"
    if turn.state == "cut":
        return "**Cut at the token limit.**"
    if turn.state == "refused":
        return f"**Declined:** {_inline(turn.failure)}" if turn.failure.strip() else "**Declined by the model.**"
    if turn.state == "failed":
        return f"**Failed:** {_inline(turn.failure)}" if turn.failure.strip() else "**Failed.**"
    if turn.state == "interrupted":
        return "**Interrupted:** buddy-tui stopped while this reply was streaming."
    if turn.state == "streaming":
        return "**Still streaming when exported.**"
    return ""


def _fenced(text: str) -> str:
    """Text shown exactly as typed, in a fence longer than any backtick run inside it, so no
    heading, fence or HTML in the question can change the document around it."""
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}text", *lines, fence])


def _closed(markdown: str) -> str:
    """Reply text with a code fence left open (a reply stopped mid-block) closed, so it cannot
    swallow the rest of the document; any other text is returned unchanged."""
    tokens = _parser().parse(markdown)
    last = tokens[-1] if tokens else None
    if last is None or last.type != "fence" or last.map is None:
        return markdown
    content_lines = last.content.count("\n") + (1 if last.content and not last.content.endswith("\n") else 0)
    if last.map[1] - last.map[0] >= content_lines + 2:  # the opening line, the content, a closing line
        return markdown
    return f"{markdown}\n{last.markup}"


def _inline(text: str) -> str:
    """One line of plain text made safe inside Markdown: whitespace collapsed, markup escaped."""
    return _INLINE_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _code(text: str) -> str:
    """One line of text as an inline code span, whatever backticks it holds."""
    text = " ".join(text.split())
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _when(timestamp: float) -> str:
    """Local date and time to the minute, or "unknown" for a missing (zero) time."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp > 0 else "unknown"
