"""The project side of the screen: a lazily loaded file tree and a syntax-highlighted preview."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text, TextType
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DirectoryTree

from buddy_tui.context.attachments import Preview, load_preview, printable
from buddy_tui.context.folder import IgnoreRules, display_path, is_within, leads_in_circles
from buddy_tui.context.highlight import lexer_for
from buddy_tui.ui.safe import literal
from buddy_tui.ui.widgets.code_view import CodeView, highlight_lines, message_lines


class ProjectTree(DirectoryTree):
    """A directory tree that hides what git ignores, never leaves the root, and shows names literally."""

    def __init__(self, root: Path, rules: IgnoreRules, *, id: str | None = None) -> None:
        self.rules = rules
        self.show_ignored = False  # F4: also show what .gitignore hides, and .git/
        super().__init__(root, id=id)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Drop ignored paths (unless asked to show them) and symlinks that lead outside the
        project or nowhere (loops)."""
        root = self.rules.root
        return [p for p in paths if is_within(p, root) and not leads_in_circles(p)
                and (self.show_ignored or not self.rules.is_ignored(p))]

    def process_label(self, label: TextType) -> Text:
        """Show file names as plain text, with control characters made visible."""
        if isinstance(label, str):
            label = printable(label)
        return super().process_label(label)


class FilePreview(CodeView):
    """Shows the head of one file with line numbers and highlighting.

    Reading and highlighting both happen in a worker thread, so a slow disk or a huge file never
    blocks the app; a newer selection simply supersedes an older one.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a,enter", "attach", "Attach lines", id="preview.attach"),
    ]

    @dataclass
    class AttachLines(Message):
        """The user wants these lines (1-based, inclusive; None for the whole file) attached."""

        path: Path
        lines: tuple[int, int] | None

    @dataclass
    class Loaded(Message):
        """A file has been read (or refused) and rendered, ready to show."""

        preview: Preview
        lines: list[Strip]

    def __init__(self, root: Path, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = root
        self.path: Path | None = None
        self.preview: Preview | None = None
        self.pending_line: int | None = None  # where to put the cursor once the file is shown
        self.can_focus = True

    def on_mount(self) -> None:
        self.set_lines(message_lines("Select a file to preview it."))

    def show(self, path: Path, line: int | None = None) -> None:
        """Preview ``path``, with the cursor on ``line`` (1-based) when given."""
        if path == self.path:
            if line is not None:
                self.go_to_line(line)
            return
        self.path = path
        self.pending_line = line
        self.border_title = literal(display_path(path, self.root))
        self._load(path)

    @work(thread=True, exclusive=True, group="preview")
    def _load(self, path: Path) -> None:
        preview = load_preview(path)
        if preview.kind == "text":
            lines = highlight_lines(preview.text, lexer_for(path))
        else:
            lines = message_lines(printable(preview.message))
        self.post_message(self.Loaded(preview, lines))

    @on(Loaded)
    def _show_loaded(self, event: Loaded) -> None:
        if event.preview.path != self.path:
            return  # the user has moved on; a newer read is on its way
        self.preview = event.preview
        self.border_subtitle = literal(event.preview.message)
        self.set_lines(event.lines)
        if self.pending_line is not None:
            self.go_to_line(self.pending_line)
            self.pending_line = None

    def action_attach(self) -> None:
        """Attach the selected lines (or the cursor's line, or the whole file)."""
        if self.path is None or self.preview is None or self.preview.kind != "text":
            return
        chosen = self.selection or ((self.cursor, self.cursor) if self.cursor is not None else None)
        lines = (chosen[0] + 1, chosen[1] + 1) if chosen else None
        self.post_message(self.AttachLines(self.path, lines))


class FileBrowser(Vertical):
    """Tree above, preview below."""

    def __init__(self, root: Path, rules: IgnoreRules, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = root
        self.rules = rules

    def compose(self) -> ComposeResult:
        tree = ProjectTree(self.root, self.rules, id="tree")
        tree.border_title = literal(self.root.name or str(self.root))
        yield tree
        preview = FilePreview(self.root, id="preview")
        preview.border_title = "Preview"
        yield preview
