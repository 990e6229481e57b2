"""The messages in the chat: the user's questions, the persona's streamed replies, and notes.

Everything from a file, a file name, the user or the model is shown literally: plain text goes
through ``markup=False`` widgets, and replies through the Markdown widget (which does not read
Textual markup), after control characters have been made visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from buddy_tui.core.chat import Usage
from buddy_tui.core.context import Attachment, printable
from buddy_tui.core.errors import Failure

NoteKind = Literal["info", "warning", "error"]


class UserMessage(Vertical):
    """A question as the user typed it, with the files that went with it."""

    def __init__(self, text: str, attachments: Sequence[Attachment] = ()) -> None:
        super().__init__(classes="message user")
        self.text = text
        self.attachments = tuple(attachments)

    def compose(self) -> ComposeResult:
        yield Static("You", classes="author", markup=False)
        yield Static(printable(self.text), classes="body", markup=False)
        if self.attachments:
            names = "  ".join(f"📎 {printable(a.key)} ({a.label.partition(' ')[2]})" for a in self.attachments)
            yield Static(names, classes="files", markup=False)


class AssistantMessage(Vertical):
    """A reply: Markdown that grows as deltas arrive, and a status line under it."""

    def __init__(self, author: str, why: str = "") -> None:
        super().__init__(classes="message assistant")
        self.author = author
        self.why = why  # why this persona was chosen, when it took over automatically
        self.text = ""
        self._stream: MarkdownStream | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(classes="author-line"):
            yield Static(printable(self.author), classes="author", markup=False)
            if self.why:
                yield Static(printable(f"  auto: {self.why}"), classes="why", markup=False)
        yield Markdown("", open_links=False)
        yield Static("thinking…", classes="status", markup=False)

    @property
    def markdown(self) -> Markdown:
        """The widget the reply renders into."""
        return self.query_one(Markdown)

    def _status(self, text: str, kind: str = "") -> None:
        status = self.query_one(".status", Static)
        status.update(text)
        status.set_classes(f"status {kind}".strip())

    async def append(self, fragment: str) -> None:
        """Add a delta; the stream coalesces fragments while the widget is busy rendering."""
        if self._stream is None:
            self._stream = Markdown.get_stream(self.markdown)
            self._status("streaming…  (Esc to stop)")
        self.text += fragment
        await self._stream.write(printable(fragment))

    async def _close_stream(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    async def finish(self, text: str, usage: Usage, stop_reason: str | None) -> None:
        """The reply is complete: render it once more whole (fences streamed in pieces can lag)."""
        await self._close_stream()
        self.text = text
        await self.markdown.update(printable(text))
        note = " · cut off at the max-tokens limit" if stop_reason == "max_tokens" else ""
        self._status(f"{usage.summary()}{note}", "done")

    async def show_references(self, references: Sequence[tuple[str, int]]) -> None:
        """A row of clickable file references found in the reply."""
        if references:
            row = Horizontal(Static("Files:", classes="reference-label", markup=False),
                             *(ReferenceLink(path, line) for path, line in references), classes="references")
            await self.mount(row)

    async def interrupt(self) -> None:
        """Esc: keep what arrived and say the answer was stopped."""
        await self._close_stream()
        if self.text:
            await self.markdown.update(printable(self.text))
        self._status("⏹ interrupted — the partial answer is kept" if self.text
                     else "⏹ interrupted before any answer arrived", "interrupted")

    async def fail(self, failure: Failure) -> None:
        """The call failed: keep any partial text and show what went wrong and what to do."""
        await self._close_stream()
        if self.text:
            await self.markdown.update(printable(self.text))
        prefix = "⚠ partial answer. " if self.text else "⚠ "
        self._status(printable(prefix + failure.text()), "error")


class ReferenceLink(Static):
    """``app/models.py:12`` under a reply; clicking it opens the preview at that line."""

    @dataclass
    class Opened(Message):
        """Open ``path`` (project-relative) at ``line``."""

        path: str
        line: int

    def __init__(self, path: str, line: int) -> None:
        super().__init__(printable(f"{path}:{line}"), markup=False, classes="reference")
        self.path = path
        self.line = line
        self.tooltip = "Open in the preview"

    def on_click(self) -> None:
        self.post_message(self.Opened(self.path, self.line))


class Note(Static):
    """A message from buddy-tui itself (not from the model): help, warnings, errors."""

    def __init__(self, text: str, kind: NoteKind = "info") -> None:
        super().__init__(printable(text), markup=False, classes=f"note {kind}")


class MarkdownNote(Markdown):
    """Help and other text that buddy-tui writes itself, in Markdown."""

    def __init__(self, markdown: str) -> None:
        super().__init__(markdown, classes="note info", open_links=False)
