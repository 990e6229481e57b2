"""The prompt: attachment chips, the slash-command menu, and the question being written.

Typing ``/`` opens the menu of commands with a one-line description each; up and down move
through it, Tab (or Enter on a partial name) completes, Esc closes it. The question may span
lines (Ctrl+J or Shift+Enter); up and down on its first and last line walk earlier questions.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, cast

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.events import Click, Key
from textual.message import Message
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.widgets.text_area import Document, Location

from buddy_tui.context.attachments import Attachment, ContextError, is_sensitive, load_attachment, printable
from buddy_tui.context.folder import describe_path
from buddy_tui.conversation.session import Session
from buddy_tui.personas.commands import Command, CommandRegistry
from buddy_tui.store.recall import QuestionHistory, earlier_questions
from buddy_tui.ui.safe import literal

_MENTION_PREFIX = re.compile(r"(?:^|(?<=\s))@([^\s\"]*)\Z")
_SPACE = re.compile(r"\s")
PLACEHOLDER = "Ask the persona…  (/ for commands, @path to attach a file)"


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


@functools.lru_cache(maxsize=16)
def _keys(spec: str) -> frozenset[str]:
    """``"ctrl+s, ?"`` -> ``{"ctrl+s", "question_mark"}``: the names Key events carry, read as
    Textual reads a binding's keys (Binding.make_bindings names a lone character)."""
    keys = [Binding(key.strip(), "") for key in spec.split(",") if key.strip()]
    return frozenset(binding.key for binding in Binding.make_bindings(keys))


class PromptInput(TextArea):
    """The question being written, over as many lines as it needs (the box grows to eight, then
    scrolls). Enter sends; Ctrl+J, or Shift+Enter where the terminal reports it, starts a new line.
    Up and down move the command menu while it is open; otherwise, on the first and last line,
    they walk back through earlier questions (:class:`QuestionHistory`) and forward to the draft."""

    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        max-height: 10;
        padding: 0 2;
        scrollbar-size-vertical: 1;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        # Not priority bindings: those run as the key arrives, ahead of the keys typed before it
        # that still wait in the prompt's queue (the end of a fast-typed question would be lost).
        Binding("enter", "submit", "Send", id="prompt.send", show=False),
        Binding("ctrl+j,shift+enter", "newline", "New line", id="prompt.newline", show=False),
        Binding("tab", "complete", "Complete", id="prompt.complete", show=False),
    ]
    #: When a key last reached the prompt (time.monotonic): a streaming reply holds its screen
    #: updates for a moment after it, so what the user types is drawn first (see transcript.py).
    typed_at: ClassVar[float] = 0.0

    class Edited(Input.Changed):
        """The text changed. It is an :class:`Input.Changed` (``input`` is this prompt) so the
        handlers written for the one-line prompt, ``@on(Input.Changed, "#prompt-input")``, still
        run. (Not named ``Changed``: TextArea posts ``self.Changed`` with other arguments.)"""

    @dataclass
    class Submitted(Message):
        """Enter was pressed; ``value`` is the whole text."""

        prompt: PromptInput
        value: str

        @property
        def control(self) -> PromptInput:
            return self.prompt

    def __init__(self, history: QuestionHistory, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, soft_wrap=True, tab_behavior="focus",
                         highlight_cursor_line=False)
        self.questions = history  # not ``history``: TextArea keeps its undo steps under that name

    @property
    def value(self) -> str:
        """The whole text; setting it replaces the text and puts the cursor at the end."""
        return self.text

    @value.setter
    def value(self, value: str) -> None:
        if value != self.text:
            self.load_text(value)
        self.move_cursor(self.document.end)

    def _location(self, offset: int) -> Location:
        document = self.document
        assert isinstance(document, Document)  # no language is set, so never a bare DocumentBase
        return document.get_location_from_index(max(0, min(offset, len(self.text))))

    @property
    def cursor_position(self) -> int:
        """The cursor as an offset into :attr:`value` (as the one-line prompt had it)."""
        document = self.document
        assert isinstance(document, Document)
        return document.get_index_from_location(self.cursor_location)

    @cursor_position.setter
    def cursor_position(self, offset: int) -> None:
        self.move_cursor(self._location(offset))

    def replace_span(self, start: int, end: int, text: str) -> None:
        """Replace ``value[start:end]`` with ``text`` (one undo step) and put the cursor after it."""
        self.replace(text, self._location(start), self._location(end), maintain_selection_offset=False)

    def on_key(self, event: Key) -> None:
        PromptInput.typed_at = time.monotonic()

    @on(Key)
    def _send_or_break_the_line(self, event: Key) -> None:
        """Enter sends and Ctrl+J / Shift+Enter break the line (or the keys the keymap gives
        prompt.send and prompt.newline), handled here as the key arrives: run as bindings, they
        waited while the keys typed after them went in first, so a fast "abc Ctrl+J def" came
        out "abcdef" and a newline."""
        # BuddyApp.keymap; a plain App (the prompt on its own in tests) has none.
        keymap: dict[str, str] = getattr(self.app, "keymap", None) or {}
        if event.key in _keys(keymap.get("prompt.send", "enter")):
            event.prevent_default()
            event.stop()
            self.action_submit()
        elif event.key in _keys(keymap.get("prompt.newline", "ctrl+j,shift+enter")):
            event.prevent_default()
            event.stop()
            self.action_newline()

    @on(TextArea.Changed)
    def _changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.questions.edited(self.text)
        self.post_message(self.Edited(cast(Input, self), self.text))

    def action_submit(self) -> None:
        """Enter: hand the text to the prompt bar (which may complete a menu entry instead)."""
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        """Ctrl+J / Shift+Enter: a line break where the cursor is (replacing any selection)."""
        self.replace("\n", *self.selection, maintain_selection_offset=False)

    def _move_menu(self, step: int) -> bool:
        """Move the menu highlight; False when the menu is not open."""
        bar = self.screen.query_one(PromptBar)
        menu = bar.menu if bar.menu_open else None
        if menu is None or not menu.option_count:
            return False
        menu.highlighted = ((menu.highlighted or 0) + step) % menu.option_count
        return True

    def action_cursor_up(self, select: bool = False) -> None:
        """Up: the menu, else an earlier question from the first line, else the line above."""
        if not select and (self._move_menu(-1) or self._recall(older=True)):
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        """Down: the menu, else a later question (or the draft) from the last line, else the line below."""
        if not select and (self._move_menu(1) or self._recall(older=False)):
            return
        super().action_cursor_down(select)

    def _recall(self, *, older: bool) -> bool:
        """Show the previous (or next) question when the cursor is on the edge line; False when
        the key is an ordinary cursor move."""
        where = self.cursor_location
        if not self.selection.is_empty:
            return False
        if older and self.navigator.is_first_wrapped_line(where):
            text = self.questions.older(self.text)
        elif not older and self.questions.browsing and self.navigator.is_last_wrapped_line(where):
            text = self.questions.newer()
        else:
            return False
        if text is None:
            return False
        self.value = text
        return True

    def action_cursor_page_up(self, select: bool = False) -> None:
        """Page Up belongs to the app, which pages the chat from the prompt."""
        raise SkipAction()

    def action_cursor_page_down(self, select: bool = False) -> None:
        """Page Down belongs to the app, which pages the chat from the prompt."""
        raise SkipAction()

    def action_delete_left(self) -> None:
        """Backspace in an empty prompt removes the last attached file."""
        bar = self.screen.query_one(PromptBar)
        if not self.value and bar.attachments:
            bar.remove_attachment(bar.attachments[-1].key)
            return
        super().action_delete_left()

    def action_complete(self) -> None:
        """Complete the highlighted command or @file; with nothing to complete, do nothing: the
        next keys must still land here. (Shift+Tab leaves the prompt.)"""
        self.screen.query_one(PromptBar).complete()


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

    class Blank(Message):
        """Enter on an empty prompt, with no files attached (after a cut reply: ask for the rest)."""

    def __init__(self, registry: CommandRegistry, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.registry = registry
        self.attachments: list[Attachment] = []
        #: Finds project paths for ``@`` completion; set once the file index is built.
        self.find_paths: Callable[[str], list[str]] | None = None
        self._menu: CommandMenu | None = None
        self._opened = time.time()
        #: Questions to walk with up and down: this window's, after the project's earlier ones.
        self.history = QuestionHistory(self._earlier_questions)

    def compose(self) -> ComposeResult:
        activation = Static("", id="activation", markup=False)
        activation.display = False
        yield activation
        chips = Horizontal(id="chips")
        chips.display = False
        yield chips
        yield PromptInput(self.history, placeholder=PLACEHOLDER, id="prompt-input")

    @property
    def input(self) -> PromptInput:
        """The text area the question is written in."""
        return self.query_one(PromptInput)

    def _earlier_questions(self) -> list[str]:
        """The project's questions from before this window opened (read when first wanted)."""
        for node in self.ancestors:
            session = getattr(node, "session", None)
            if isinstance(session, Session):
                if session.store is None:
                    return []
                return earlier_questions(session.store, session.project_key, self._opened)
        return []

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

    @on(PromptInput.Edited, "#prompt-input")
    def _update_menu(self, event: PromptInput.Edited) -> None:
        text = event.value
        mention = self._mention_at_cursor()
        if text.startswith("/") and not _SPACE.search(text):
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
            after = len(value[cursor:]) - len(value[cursor:].lstrip(" "))  # spaces, not line breaks
            self.input.replace_span(mention.start(), cursor + after, token)
        else:
            self.input.replace_span(0, len(self.input.value), f"/{name} ")
        self._hide_menu()
        return True

    def close_menu(self) -> bool:
        """Hide the menu; True when it was open."""
        was_open = self.menu_open
        self._hide_menu()
        return was_open

    @on(PromptInput.Submitted, "#prompt-input")
    def _submit(self, event: PromptInput.Submitted) -> None:
        event.stop()
        typed = event.value.strip()
        selected = self._menu.selected_name if self._menu is not None else None
        mentioning = self._menu is not None and self._menu.mode == "mention"
        mention = self._mention_at_cursor()
        if selected is not None and mentioning and (mention is None or mention.group(1) != selected):
            self.complete()  # Enter on a partial @mention picks the highlighted file
            return
        if selected is not None and typed != f"/{selected}" and not _SPACE.search(typed):
            self.complete()  # Enter on a partial name completes it first
            return
        self._hide_menu()
        if typed:
            self.history.add(typed)
            self.post_message(self.Submitted(self, typed))
        elif not self.attachments:
            self.post_message(self.Blank())

    @on(OptionList.OptionSelected, "#command-menu")
    def _menu_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.complete()
        self.input.focus()

    @dataclass
    class Attached(Message):
        """A file was attached: who answers may change."""

    @dataclass
    class _Loaded(Message):
        """A file was read for attaching (or could not be)."""

        attachment: Attachment | None
        error: str

    def attach(self, path: Path, root: Path, lines: tuple[int, int] | None = None) -> None:
        """Attach a project file (or some of its lines) to the next question, asking first if it
        may hold secrets."""
        if not is_sensitive(path):
            self._load(path, root, lines)
            return
        from buddy_tui.ui.screens.confirm import confirm

        def decided(answer: str | None) -> None:
            if answer == "yes":
                self._load(path, root, lines)

        rel = describe_path(path, root)
        self.app.push_screen(
            confirm(f"Attach {rel}?", f"{rel} looks like a file that holds secrets (keys, passwords, tokens). "
                    "Its contents would be sent to the model.", yes="Attach it", no="Don't"), decided)

    @work(thread=True, group="attach")
    def _load(self, path: Path, root: Path, lines: tuple[int, int] | None) -> None:
        try:
            self.post_message(self._Loaded(load_attachment(path, root, lines), ""))
        except ContextError as exc:
            self.post_message(self._Loaded(None, str(exc)))

    @on(_Loaded)
    def _loaded(self, event: _Loaded) -> None:
        """Show the file's chip, or say why it could not be read."""
        if event.attachment is None:
            self.app.notify(printable(event.error), title="Not attached", severity="warning", markup=False)
            return
        self.add_attachment(event.attachment)
        self.post_message(self.Attached())

    def add_attachment(self, attachment: Attachment) -> None:
        """Show a chip for a file or line range (replacing an older chip for the same one)."""
        self.remove_attachment(attachment.key)
        self.attachments.append(attachment)
        chips = self.query_one("#chips")
        chips.display = True
        chips.mount(Chip(attachment))

    def remove_attachment(self, key: str) -> None:
        """Drop the chip whose attachment key (path, or path:first-last) is ``key``, if any."""
        self.attachments = [a for a in self.attachments if a.key != key]
        for chip in self.query(Chip):
            if chip.attachment.key == key:
                chip.remove()
        self._show_chips()

    def take_attachments(self) -> list[Attachment]:
        """Hand the attachments to the turn being sent and clear the chips."""
        taken, self.attachments = self.attachments, []
        self.query(Chip).remove()
        self._show_chips()
        return taken

    def _show_chips(self) -> None:
        """The chips row takes a line only while there are chips: hidden at once, not when the
        removed chips are finally pruned (the screen would keep an empty line until then)."""
        self.query_one("#chips").display = bool(self.attachments)

    @on(Click, ".chip")
    def _chip_clicked(self, event: Click) -> None:
        if isinstance(event.widget, Chip):
            self.remove_attachment(event.widget.attachment.key)
