"""Help, listings and other text that buddy-tui writes itself, in Markdown.

Its own module so that Textual's Markdown widget (with markdown-it and Pygments) loads the first
time such a note is shown, not at start: the greeting is a plain :class:`Greeting`.
"""

from __future__ import annotations

from textual.widgets import Markdown


class MarkdownNote(Markdown):
    """A note from buddy-tui in Markdown (any text from elsewhere in it is escaped by the caller)."""

    def __init__(self, markdown: str) -> None:
        super().__init__(markdown, classes="note info", open_links=False)
