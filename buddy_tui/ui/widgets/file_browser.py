"""The project side of the screen: a lazily loaded file tree and a syntax-highlighted preview."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text, TextType
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DirectoryTree, Static

from buddy_tui.core.context import Preview, load_preview, printable
from buddy_tui.core.files import IgnoreRules, display_path, is_within
from buddy_tui.core.highlight import lexer_for


class ProjectTree(DirectoryTree):
    """A directory tree that hides what git ignores, never leaves the root, and shows names literally."""

    def __init__(self, root: Path, rules: IgnoreRules, *, id: str | None = None) -> None:
        self.rules = rules
        super().__init__(root, id=id)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Drop ignored paths and symlinks that lead outside the project (or nowhere)."""
        root = self.rules.root
        return [p for p in paths if not self.rules.is_ignored(p) and is_within(p, root)]

    def process_label(self, label: TextType) -> Text:
        """Show file names as plain text, with control characters made visible."""
        if isinstance(label, str):
            label = printable(label)
        return super().process_label(label)


class FilePreview(VerticalScroll):
    """Shows the head of one file with line numbers and highlighting; reads happen off the UI thread."""

    @dataclass
    class Loaded(Message):
        """A file has been read (or refused) and can be shown."""

        preview: Preview
        lexer: str

    def __init__(self, root: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = root
        self.path: Path | None = None
        self.can_focus = True

    def compose(self) -> ComposeResult:
        yield Static("Select a file to preview it.", id="preview-body", markup=False)

    def show(self, path: Path) -> None:
        """Preview ``path`` (reading it in a thread, so a slow or huge file never blocks)."""
        if path == self.path:
            return
        self.path = path
        self.border_title = printable(display_path(path, self.root))
        self._load(path)

    @work(thread=True, exclusive=True, group="preview")
    def _load(self, path: Path) -> None:
        preview = load_preview(path)
        lexer = lexer_for(path) if preview.kind == "text" else ""
        self.post_message(self.Loaded(preview, lexer))

    @on(Loaded)
    def _show_loaded(self, event: Loaded) -> None:
        preview = event.preview
        if preview.path != self.path:
            return  # the user has moved on; a newer read is on its way
        body = self.query_one("#preview-body", Static)
        self.border_subtitle = printable(preview.message)
        if preview.kind != "text":
            body.update(Text(printable(preview.message), style="italic"))
        else:
            body.update(Syntax(preview.text, event.lexer, line_numbers=True, word_wrap=False,
                               theme="ansi_dark", indent_guides=False))
        self.scroll_home(animate=False)


class FileBrowser(Vertical):
    """Tree above, preview below."""

    def __init__(self, root: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = root
        self.rules = IgnoreRules(root)

    def compose(self) -> ComposeResult:
        tree = ProjectTree(self.root, self.rules, id="tree")
        tree.border_title = printable(self.root.name or str(self.root))
        yield tree
        preview = FilePreview(self.root, id="preview")
        preview.border_title = "Preview"
        yield preview
