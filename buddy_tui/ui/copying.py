"""Copying text out of the app: through the terminal and the system clipboard, never lost."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App

from buddy_tui.settings.crash_reports import scrub


async def copy_text(app: App[Any], text: str, what: str) -> None:
    """Copy through the terminal (OSC 52) and the system clipboard; where neither can be confirmed,
    also save the text to a file, so the copy is never lost. The API key is copied by name only,
    as the chat shows it."""
    from buddy_tui.display.clipboard import save_fallback, system_copy

    text = scrub(text)
    app.copy_to_clipboard(text)
    tool = await asyncio.to_thread(system_copy, text)
    if tool is not None:
        app.notify(f"Copied {what} ({len(text):,} characters) to the clipboard ({tool}).", markup=False)
        return
    try:
        saved = await asyncio.to_thread(save_fallback, text)
    except OSError as exc:
        app.notify(f"Copied {what} through the terminal; could not save a copy ({exc}).", severity="warning",
                   markup=False)
        return
    app.notify(f"Copied {what} through the terminal (OSC 52). If your terminal ignores that, it is also "
               f"in {saved}.", timeout=8, markup=False)
