"""The prompt: attachment chips, the slash-command menu, and the input line.

Typing ``/`` opens the menu of commands with a one-line description each; up and down move
through it, Tab (or Enter on a partial name) completes, Esc closes it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Click, Key
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from buddy_tui.core.commands import Command, CommandRegistry
from buddy_tui.core.context import Attachment, printable
from buddy_tui.ui.safe import literal

_MENTION_PREFIX = re.compile(r"(?:^|(?<=\s))@([^\s\"]*)$")


class Chip(Static):
    """One attached file: name and size; clicking it removes it."""

    def __init__(self, attachment: Attachment) -> None:
        super().__init__(f"📎 {printable(attachment.label)} ✕", markup=False, classes="chip")
        self.attachment = attachment
        self.tooltip = literal(f"{attachment.path} — click, or Backspace in an empty prompt, to remove")


class CommandMenu(OptionList):
    """Completion for slash commands, and for ``@path`` mentions (``mode`` says which)."""

    mode: str = "command"

    def show_paths(self, paths: list[str]) -> None:
        """Fill the menu with project files for an ``@`` mention."""
        self.mode = "mention"
        self.clear_options()
        for path in paths:
            self.add_option(Option(Content.assemble(("@", "dim"), (printable(path), "bold")), id=path))
        self.display = bool(paths)
        if paths:
            self.highlighted = 0

    def show_for(self, commands: list[Command]) -> None:
        """Fill the menu and make it visible (or hide it when nothing matches)."""
        self.mode = "command"
        self.clear_options()
        width = max((len(c.name) for c in commands), default=0) + 2
        for command in commands:
            source = "" if command.source in ("app", "bundled") else f"  ({command.source})"
            prompt = Content.assemble(
                (f"/{command.name}".ljust(width + 1), "bold"),
                (command.description, ""),
                (f"  {command.argument_hint}" if command.argument_hint else "", "dim"),
                (source, "italic"),
            )
            self.add_option(Option(prompt, id=command.name))
        self.display = bool(commands)
        if commands:
            self.highlighted = 0

    @property
    def selected_name(self) -> str | None:
        """The highlighted command's name, if the menu is open."""
        if not self.display or self.highlighted is None:
            return None
        return self.get_option_at_index(self.highlighted).id


class PromptInput(Input):
    """The input line; up and down drive the command menu while it is open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "menu(-1)", "Previous", show=False),
        Binding("down", "menu(1)", "Next", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]
    #: When a key last reached the prompt (time.monotonic): a streaming reply holds its screen
    #: updates for a moment after it, so what the user types is drawn first (see transcript.py).
    typed_at: ClassVar[float] = 0.0

    def on_key(self, event: Key) -> None:
        PromptInput.typed_at = time.monotonic()

    def action_menu(self, step: int) -> None:
        """Move the menu highlight."""
        found = self.screen.query(CommandMenu)
        menu = found.first() if found else None
        if menu is not None and menu.display and menu.option_count:
            menu.highlighted = ((menu.highlighted or 0) + step) % menu.option_count

    def action_delete_left(self) -> None:
        """Backspace in an empty prompt removes the last attached file."""
        bar = self.screen.query_one(PromptBar)
        if not self.value and bar.attachments:
            bar.remove_attachment(bar.attachments[-1].key)
            return
        super().action_delete_left()

    def action_complete(self) -> None:
        """Complete the highlighted command, or move focus as Tab normally does."""
        bar = self.screen.query_one(PromptBar)
        if not bar.complete():
            self.screen.focus_next()


class PromptBar(Vertical):
    """Chips, menu and input together; posts :class:`PromptBar.Submitted` with the final text."""

    @dataclass
    class Submitted(Message):
        """The user pressed Enter on non-empty text."""

        bar: PromptBar
        text: str

        @property
        def control(self) -> PromptBar:
            return self.bar

    def __init__(self, registry: CommandRegistry, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.registry = registry
        self.attachments: list[Attachment] = []
        #: Finds project paths for ``@`` completion; set once the file index is built.
        self.find_paths: Callable[[str], list[str]] | None = None
        self._menu: CommandMenu | None = None

    def compose(self) -> ComposeResult:
        activation = Static("", id="activation", markup=False)
        activation.display = False
        yield activation
        yield Horizontal(id="chips")
        yield PromptInput(placeholder="Ask the persona…  (/ for commands, @path to attach a file)",
                          id="prompt-input")

    @property
    def input(self) -> PromptInput:
        """The input line."""
        return self.query_one(PromptInput)

    @property
    def menu(self) -> CommandMenu:
        """The command menu, made the first time it is needed (it costs the first paint ~20 ms)."""
        if self._menu is None:
            self._menu = CommandMenu(id="command-menu")
            self._menu.display = False
            self._menu.can_focus = False
            self.mount(self._menu, before=0)
        return self._menu

    @property
    def menu_open(self) -> bool:
        """True while the menu shows (without making it)."""
        return self._menu is not None and bool(self._menu.display)

    def _hide_menu(self) -> None:
        if self._menu is not None:
            self._menu.display = False

    def _mention_at_cursor(self) -> re.Match[str] | None:
        before = self.input.value[: self.input.cursor_position]
        return _MENTION_PREFIX.search(before)

    @on(Input.Changed, "#prompt-input")
    def _update_menu(self, event: Input.Changed) -> None:
        text = event.value
        mention = self._mention_at_cursor()
        if text.startswith("/") and " " not in text:
            self.menu.show_for(self.registry.complete(text[1:]))
        elif mention is not None and self.find_paths is not None:
            self.menu.show_paths(self.find_paths(mention.group(1))[:8])
        else:
            self._hide_menu()

    def show_activation(self, text: str) -> None:
        """Say who will answer the question being typed (empty text hides the line)."""
        line = self.query_one("#activation", Static)
        line.update(printable(text))
        line.display = bool(text)

    def complete(self) -> bool:
        """Replace the typed command or ``@`` mention with the highlighted one; False when there
        was nothing to do."""
        if self._menu is None or (name := self._menu.selected_name) is None:
            return False
        if self._menu.mode == "mention":
            mention = self._mention_at_cursor()
            if mention is None:
                return False
            value, cursor = self.input.value, self.input.cursor_position
            token = f'@"{name}" ' if " " in name else f"@{name} "
            self.input.value = value[: mention.start()] + token + value[cursor:].lstrip()
            self.input.cursor_position = mention.start() + len(token)
        else:
            self.input.value = f"/{name} "
            self.input.cursor_position = len(self.input.value)
        self._hide_menu()
        return True

    def close_menu(self) -> bool:
        """Hide the menu; True when it was open."""
        was_open = self.menu_open
        self._hide_menu()
        return was_open

    @on(Input.Submitted, "#prompt-input")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        selected = self._menu.selected_name if self._menu is not None else None
        mentioning = self._menu is not None and self._menu.mode == "mention"
        mention = self._mention_at_cursor()
        if selected is not None and mentioning and (mention is None or mention.group(1) != selected):
            self.complete()  # Enter on a partial @mention picks the highlighted file
            return
        if selected is not None and typed != f"/{selected}" and " " not in typed:
            self.complete()  # Enter on a partial name completes it first
            return
        self._hide_menu()
        if typed:
            self.post_message(self.Submitted(self, typed))

    @on(OptionList.OptionSelected, "#command-menu")
    def _menu_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.complete()
        self.input.focus()

    def add_attachment(self, attachment: Attachment) -> None:
        """Show a chip for a file or line range (replacing an older chip for the same one)."""
        self.remove_attachment(attachment.key)
        self.attachments.append(attachment)
        self.query_one("#chips").mount(Chip(attachment))

    def remove_attachment(self, key: str) -> None:
        """Drop the chip whose attachment key (path, or path:first-last) is ``key``, if any."""
        self.attachments = [a for a in self.attachments if a.key != key]
        for chip in self.query(Chip):
            if chip.attachment.key == key:
                chip.remove()

    def take_attachments(self) -> list[Attachment]:
        """Hand the attachments to the turn being sent and clear the chips."""
        taken, self.attachments = self.attachments, []
        self.query(Chip).remove()
        return taken

    @on(Click, ".chip")
    def _chip_clicked(self, event: Click) -> None:
        if isinstance(event.widget, Chip):
            self.remove_attachment(event.widget.attachment.key)
