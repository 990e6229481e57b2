"""The baseline for start-up and memory: a minimal Textual app with the same widgets as buddy-tui
(a directory tree, a preview, a Markdown chat, a prompt, a footer) and the same texts, so the
benchmark waits for the same things on screen. ``python benchmarks/apps/minimal.py PATH``."""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DirectoryTree, Footer, Input, Markdown, Static


class Minimal(App[None]):
    """File tree and preview on the left, chat and prompt on the right."""

    CSS = """
    #left { width: 2fr; }
    #chat { width: 3fr; }
    DirectoryTree, #preview, Markdown { height: 1fr; }
    """

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="left"):
                yield DirectoryTree(self.root)
                yield Static("Select a file to preview it.", id="preview")
            with Vertical(id="chat"):
                yield Markdown("**Backend** is ready. Ask about the project.")
                yield Input(placeholder="Ask the persona…")
        yield Footer()


if __name__ == "__main__":
    Minimal(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()).run()
