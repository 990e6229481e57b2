"""Showing outside text literally: one way to turn a file name, file text or model output into
something Textual will display exactly as it is (never as markup, never as escape sequences)."""

from __future__ import annotations

from textual.content import Content

from buddy_tui.context.attachments import printable
from buddy_tui.settings.crash_reports import scrub

_MARKDOWN_SPECIALS = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#~"})


def markdown_literal(text: str) -> str:
    """``text`` for inclusion in Markdown that buddy-tui writes itself (help, lists): one line,
    with every character Markdown would act on escaped, so it shows exactly as written."""
    return printable(" ".join(text.split())).translate(_MARKDOWN_SPECIALS)


def literal(text: str) -> Content:
    """``text`` as plain content: control characters made visible, square brackets left alone.

    Use it wherever Textual would otherwise parse a string as markup: border titles and subtitles,
    tooltips, labels built from file names.
    """
    return Content(printable(text))


def shown(text: str) -> str:
    """Text from the user, a file or the model as the chat shows it: literal, and with the API
    key (should it turn up, pasted or echoed) replaced by its variable's name, so it never lands
    on the screen or in a screenshot."""
    return printable(scrub(text))
