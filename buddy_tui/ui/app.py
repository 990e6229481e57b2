"""The Textual application: lays out the file browser beside the chat and routes between them.

Kept thin on purpose: the file browser and chat pane own their behaviour; the app only wires
selection in the tree to the preview and the prompt, and holds the global key bindings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType, Keymap
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import DirectoryTree, Tree
from textual.worker import get_current_worker

from buddy_tui import __version__
from buddy_tui.context.attachments import printable
from buddy_tui.context.index import FileFinder, IndexStats, walk_project
from buddy_tui.conversation.session import Session
from buddy_tui.settings import crash_reports as crash
from buddy_tui.ui import chat_commands, undoing
from buddy_tui.ui.help import help_markdown
from buddy_tui.ui.model_choice import ModelChooser
from buddy_tui.ui.palette import PaletteHost, PersonaCommands
from buddy_tui.ui.safe import markdown_literal
from buddy_tui.ui.widgets.chat_pane import ChatPane
from buddy_tui.ui.widgets.file_browser import FileBrowser, FilePreview, ProjectTree
from buddy_tui.ui.widgets.key_hints import KeyHints
from buddy_tui.ui.widgets.prompt import PromptBar
from buddy_tui.ui.widgets.tool_line import ToolLine
from buddy_tui.ui.widgets.transcript import ReferenceLink


class BuddyApp(App[None]):
    """buddy-tui: a project on the left, the persona on the right."""

    CSS_PATH = "app.tcss"
    TITLE = "buddy-tui"
    COMMANDS = App.COMMANDS | {PersonaCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("escape", "stop", "Stop", id="app.stop", priority=True),
        Binding("ctrl+l", "focus_prompt", "Prompt", id="app.focus_prompt", show=False),
        Binding("ctrl+t", "focus_tree", "Files", id="app.focus_tree", show=False),
        Binding("ctrl+b", "toggle_files", "Hide files", id="app.toggle_files", show=False),
        Binding("ctrl+o", "drop_files", "Drop files", id="app.drop_files", show=False),
        Binding("ctrl+r", "retry", "Retry", id="app.retry"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("f2", "switch_persona", "Other expert", id="app.switch_persona"),
        Binding("f3", "pin_persona", "Pin expert", id="app.pin_persona"),
        Binding("ctrl+f", "find_file", "Find file", id="app.find_file"),
        Binding("ctrl+g", "chat_items", "Chat items (copy, undo, open, expand)", id="app.chat_items", show=False),
        Binding("f4", "toggle_ignored", "Show ignored", id="app.toggle_ignored", show=False),
        Binding("pageup", "scroll_chat(-1)", "Scroll chat up", id="app.chat_up", show=False),
        Binding("pagedown", "scroll_chat(1)", "Scroll chat down", id="app.chat_down", show=False),
        Binding("ctrl+home", "chat_end(0)", "Top of the chat", id="app.chat_top", show=False),
        Binding("ctrl+end", "chat_end(1)", "End of the chat", id="app.chat_bottom", show=False),
    ]

    def __init__(self, session: Session, *, resume_latest: bool = False, check_model: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.resume_latest = resume_latest
        self.models = ModelChooser(self)
        self._check_model = check_model  # --model: checked against the endpoint's list at start
        self.root = session.root
        self.finder: FileFinder | None = None
        self.index_stats: IndexStats | None = None
        #: The keymap applied with set_keymap / update_keymap (binding id -> keys, as written in
        #: the config). Textual keeps its copy in a private attribute with no public getter; the
        #: help page, the palette and the prompt show and match the keys from this one.
        self.keymap: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield FileBrowser(self.root, self.session.rules, id="files")
            yield ChatPane(self.session, resume_latest=self.resume_latest, id="chat")
        yield KeyHints()

    def _handle_exception(self, error: Exception) -> None:
        """A bug must not dump a traceback (with local variables) on the user: write a scrubbed
        report to the log folder and leave one plain line. BUDDY_TUI_DEBUG=1 keeps Textual's view.

        Private on purpose: Textual (8.2) has no public hook for an unhandled exception. The
        message pumps, timers, workers, widgets and screens all call ``App._handle_exception``
        directly, and its default prints a Rich traceback with local variables; overriding it is
        the only place to intercept them all."""
        if os.environ.get("BUDDY_TUI_DEBUG"):
            super()._handle_exception(error)
            return
        # Record the error as Textual's own handler does: App.run_test re-raises App._exception
        # when the test ends, and Pilot waits on App._exception_event. Textual has no public way to
        # record it, and without it a crash inside a UI test would pass unnoticed.
        if self._exception is None:
            self._exception = error
            self._exception_event.set()
        self.exit(return_code=1, message=Text(crash.one_line(error, crash.write_report(error))))

    def set_keymap(self, keymap: Keymap) -> None:
        """Textual's set_keymap, remembering the keymap in :attr:`keymap`."""
        super().set_keymap(keymap)
        self.keymap = dict(keymap)

    def update_keymap(self, keymap: Keymap) -> None:
        """Textual's update_keymap, remembering the merged keymap in :attr:`keymap`."""
        super().update_keymap(keymap)
        self.keymap = {**self.keymap, **keymap}

    def on_mount(self) -> None:
        self.title = f"buddy-tui {__version__}"
        self._apply_settings()
        # A closed terminal (SIGHUP) or a polite kill (SIGTERM) quits properly: the reply that is
        # streaming is saved as stopped, not left for the next start to find as a crash.
        loop = asyncio.get_running_loop()
        for name in ("SIGTERM", "SIGHUP"):  # SIGHUP does not exist on Windows
            number = getattr(signal, name, None)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                if number is not None:
                    loop.add_signal_handler(number, self.exit)
        self.action_focus_prompt()
        if self._check_model:
            self.call_after_refresh(self.models.check_at_start, self._check_model)
        # Index after the first paint: walking 100,000 files must not compete with drawing the screen.
        self.set_timer(0.5, self._build_index)

    def _apply_settings(self) -> None:
        """Keys from the config's keymap; the theme from $BUDDY_TUI_THEME, else the one last picked,
        else the config's. A theme picked later (palette) is remembered."""
        config = self.session.config
        if config.keymap:
            self.set_keymap(config.keymap)
        from buddy_tui.settings.ui_state import UiState

        remembered = UiState.load().theme
        if remembered not in self.available_themes:
            remembered = ""  # a theme since gone (another Textual version): the config's applies
        explicit = config.source_of("theme").startswith("$")
        wanted = config.theme if explicit or not remembered else remembered
        if wanted and wanted != self.theme:
            if wanted in self.available_themes:
                self.theme = wanted
            else:
                names = ", ".join(sorted(self.available_themes))
                self.session.problems.append(f"theme '{wanted}' is not one of the themes ({names}); "
                                             "using the default")
                self.call_after_refresh(self.chat.show_problems)
        self.watch(self, "theme", self._theme_picked, init=False)

    def _theme_picked(self, name: str) -> None:
        from buddy_tui.settings.ui_state import UiState

        if (problem := UiState.load().remember_theme(name)) is not None:
            self.notify(printable(problem), severity="warning", markup=False)

    @work(thread=True, exclusive=True, group="index")
    def _build_index(self) -> None:
        """Index every non-ignored path for the finder and @ completion, off the UI thread."""
        worker = get_current_worker()
        paths, stats = walk_project(self.root, self.session.rules, cancelled=lambda: worker.is_cancelled)
        self.post_message(self.Indexed(FileFinder(paths), stats))

    @dataclass
    class Indexed(Message):
        """The project's file index is ready."""

        finder: FileFinder
        stats: IndexStats

    @on(Indexed)
    def _indexed(self, event: Indexed) -> None:
        self.finder, self.index_stats = event.finder, event.stats
        for prompt in self.query(PromptBar):  # none when the index lands while the app is closing
            prompt.find_paths = event.finder.search
        if event.stats.truncated:
            self.notify(f"Indexed the first {event.stats.files:,} files only; the finder covers those.",
                        severity="warning")

    def action_find_file(self) -> None:
        """Open the fuzzy file finder."""

        def chosen(path: str | None) -> None:
            if path:
                preview = self.query_one(FilePreview)
                self.query_one(FileBrowser).display = True
                preview.show(self.root / path)
                preview.focus()

        from buddy_tui.ui.screens.finder import FinderScreen  # screens load when first opened

        self.push_screen(FinderScreen(self.finder, self.index_stats), chosen)

    @property
    def chat(self) -> ChatPane:
        """The chat pane."""
        return self.query_one(ChatPane)

    def _main_screen_active(self) -> bool:
        """The main screen is showing, with its chat and prompt (not while starting or closing).
        Asked for every binding each time the key hints are drawn: children looked up by id, not
        a query walking the whole DOM (that was 50 ms of start-up)."""
        if len(self.screen_stack) != 1:
            return False
        try:
            chat = self.screen.get_child_by_id("main").get_child_by_id("chat")
            return isinstance(chat, ChatPane) and isinstance(chat.get_child_by_id("prompt"), PromptBar)
        except NoMatches:
            return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc belongs to dialogs when one is open; Stop shows only while a reply streams."""
        if action == "stop":
            if not self._main_screen_active():
                return False
            chat = self.chat
            return chat.busy or chat.prompt.menu_open
        if action in ("chat_end", "scroll_chat", "chat_items"):  # the chat is on the main screen only
            return self._main_screen_active()
        if action == "retry":  # only when there is a question to send again
            return self._main_screen_active() and self.chat.unsent is not None and not self.chat.busy
        return True

    async def action_retry(self) -> None:
        """Ctrl+R: send the last question that got no full answer again."""
        await self.chat.retry()

    def action_resume(self) -> None:
        """Open the history screen; the conversation chosen there replaces this one."""
        store = self.session.store
        if store is None:
            self.notify("History is off for this window, so there is nothing to resume.", severity="warning")
            return
        from buddy_tui.ui.screens.history import HistoryScreen

        screen = HistoryScreen(store, self.session.project_key, self.session.conversation_id)

        def chosen(conversation_id: int | None) -> None:
            current = self.session.conversation_id
            if current is not None and current in screen.renamed:
                self.session.title = screen.renamed[current]
            if conversation_id is not None:
                self.call_later(self.chat.open_conversation, conversation_id)
            elif current is not None and current in screen.deleted:
                self.call_later(self.chat.clear, True)

        self.push_screen(screen, chosen)

    async def action_stop(self) -> None:
        """Esc: close the command menu, else stop the streaming reply."""
        if self.chat.prompt.close_menu():
            return
        await self.chat.stop()

    def action_scroll_chat(self, pages: int) -> None:
        """Page through the chat from the prompt (the tree and preview page themselves)."""
        transcript = self.chat.transcript
        if pages < 0:
            transcript.scroll_page_up()
        else:
            transcript.scroll_page_down()

    def action_chat_end(self, bottom: int) -> None:
        """Jump to the start (0) or the end (1) of the conversation."""
        transcript = self.chat.transcript
        if bottom:
            transcript.scroll_end(animate=False)
        else:
            transcript.scroll_home(animate=False)

    def action_chat_items(self) -> None:
        """Ctrl+G: onto the newest item of the chat in view (then up and down, Enter, Esc); pressed
        there, back to the prompt."""
        transcript = self.chat.transcript
        focused = self.focused
        if focused is not None and focused is not transcript and transcript in focused.ancestors:
            self.action_focus_prompt()
        elif not transcript.enter_items():
            self.notify("Nothing in the chat to move to yet: copy links, tool lines, code blocks and file "
                        "links appear with the answers.")

    def action_focus_prompt(self) -> None:
        """Put the cursor in the prompt."""
        self.chat.prompt.input.focus()

    def action_focus_tree(self) -> None:
        """Move focus to the file tree (showing it if hidden)."""
        files = self.query_one(FileBrowser)
        files.display = True
        self.query_one(DirectoryTree).focus()

    def action_toggle_files(self) -> None:
        """Hide or show the file browser to give the chat the whole width."""
        files = self.query_one(FileBrowser)
        files.display = not files.display

    async def action_toggle_ignored(self) -> None:
        """Show or hide what .gitignore hides (and .git/) in the tree."""
        tree = self.query_one(ProjectTree)
        tree.show_ignored = not tree.show_ignored
        await tree.reload()
        self.notify("Showing ignored files and .git/." if tree.show_ignored else "Ignored files hidden again.")

    def action_drop_files(self) -> None:
        """Remove every attached file from the next question."""
        self.chat.prompt.take_attachments()

    async def action_help(self) -> None:
        """F1 and /help: every key, command and persona on a help screen."""
        from buddy_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            await self.push_screen(HelpScreen(help_markdown(self.session, self.BINDINGS, self.keymap)))

    def action_switch_persona(self) -> None:
        """F2: let another expert answer, from the next question on (the pick is pinned once sent)."""
        self.chat.cycle_persona()

    def action_pin_persona(self) -> None:
        """F3: pin the expert for this conversation, or unpin."""
        self.chat.toggle_pin()

    def action_problems(self) -> None:
        """Show the persona and command files that could not be read."""
        from buddy_tui.ui.screens.problems import ProblemsScreen

        self.push_screen(ProblemsScreen(self.session.catalog, self.root, list(self.session.rules.capped.items())))

    @on(ChatPane.AppCommand)
    async def _app_command(self, event: ChatPane.AppCommand) -> None:
        name, arguments = event.name, event.arguments.strip()
        if name == "help":
            await self.action_help()
        elif name == "clear":
            await self.chat.clear()
        elif name == "quit":
            self.exit()
        elif name == "problems":
            self.action_problems()
        elif name == "pin":
            self.chat.toggle_pin()
        elif name == "retry":
            await self.chat.retry()
        elif name == "continue":
            await self.continue_reply()
        elif name == "resume":
            self.action_resume()
        elif name == "export":
            await chat_commands.export(self.chat, arguments)
        elif name == "copy":
            await chat_commands.copy(self.chat, arguments)
        elif name == "cost":
            await chat_commands.cost(self.chat)
        elif name == "consult":
            await chat_commands.consult(self.chat, arguments)
        elif name in ("add", "drop", "files"):
            await chat_commands.manage_files(self.chat, name, arguments)
        elif name == "persona":
            await self._persona_command(arguments)
        elif name == "model":
            self.action_choose_model(arguments)
        elif name == "undo":
            await undoing.undo_command(self.chat, arguments)

    @on(ToolLine.UndoRequested)
    async def _undo(self, event: ToolLine.UndoRequested) -> None:
        """The Undo control of a tool line (clicked, or Enter on it)."""
        await undoing.undo_change(self.chat, event.line.call)

    @on(PromptBar.Blank)
    async def continue_reply(self, event: PromptBar.Blank | None = None) -> None:
        """``/continue``, or Enter on an empty prompt right after a reply cut at the token limit:
        the engine asks for the rest, which joins that reply."""
        chat = self.chat
        if event is not None and chat.engine.continuable is None:
            return  # Enter on an empty prompt, with nothing to continue: nothing to do
        question = chat.engine.continuation()
        if chat.busy:
            self.notify("A reply is still streaming: press Esc to stop it first.", severity="warning")
        elif isinstance(question, str):
            await chat.note(question)
        elif not await chat.when_connected(self.continue_reply):
            chat._run(question)

    def action_choose_model(self, name: str = "") -> None:
        """/model NAME switches once the endpoint's list has the name; /model alone opens the picker."""
        if name:
            self.models.choose(name)
            return
        from buddy_tui.ui.screens.models import ModelScreen

        self.push_screen(ModelScreen(self.session.settings.model, self.chat.client),
                         lambda chosen: self.models.choose(chosen) if chosen else None)

    @on(ChatPane.Connected)
    def _connected(self) -> None:
        """After the chat has taken the client: a model name waiting to be checked goes now."""
        self.models.connected()

    def run_persona_command(self, name: str) -> None:
        """Switch persona from the command palette."""
        self.call_later(self._persona_command, name)

    async def _persona_command(self, name: str) -> None:
        if not name:
            listing = "\n".join(f"- **{markdown_literal(p.name)}** ({p.source}): {markdown_literal(p.summary)}"
                                 for p in self.session.personas)
            from buddy_tui.ui.widgets.markdown_note import MarkdownNote

            await self.chat.add(MarkdownNote(f"Personas (`/persona NAME` to switch):\n\n{listing}"))
            return
        persona = self.session.switch(name)
        if persona is None:
            await self.chat.note(f"No persona called '{name}'. Type /persona to list them.", "warning")
            return
        self.chat.refresh_header()
        self.chat.update_activation()
        if self.session.pinned:
            await self.chat.note(f"{persona.title} answers from now on, pinned for this conversation (F3 or /pin "
                                 f"unpins it, and the best expert is chosen for each question again): "
                                 f"{persona.summary}")
        else:
            await self.chat.note(f"{persona.title} answers from now on: {persona.summary}")

    @on(Tree.NodeHighlighted, "#tree")
    def _highlighted(self, event: Tree.NodeHighlighted[object]) -> None:
        path = getattr(event.node.data, "path", None)
        if isinstance(path, Path) and not event.node.allow_expand:
            self.query_one(FilePreview).show(path)

    @on(Tree.NodeExpanded, "#tree")
    def _expanded(self, event: Tree.NodeExpanded[object]) -> None:
        path = getattr(event.node.data, "path", None)
        if isinstance(path, Path) and not os.access(path, os.R_OK | os.X_OK):
            self.notify(printable(f"Cannot open {path.name}: permission denied."), severity="warning",
                        markup=False)

    @on(DirectoryTree.FileSelected, "#tree")
    def _selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one(FilePreview).show(event.path)
        self.chat.attach(event.path)
        self.action_focus_prompt()

    @on(ReferenceLink.Opened)
    def _open_reference(self, event: ReferenceLink.Opened) -> None:
        path = (self.root / event.path).resolve()
        self.query_one(FileBrowser).display = True
        preview = self.query_one(FilePreview)
        preview.show(path, event.line)
        preview.focus()

    @on(FilePreview.AttachLines)
    def _attach_lines(self, event: FilePreview.AttachLines) -> None:
        self.chat.attach(event.path, event.lines)
        self.action_focus_prompt()

    @on(PromptBar.Submitted)
    def _keep_focus(self) -> None:
        self.chat.prompt.input.focus()


if TYPE_CHECKING:

    def _serves_the_palette(app: BuddyApp) -> PaletteHost:
        """Never called: mypy checks here that the app offers all the palette uses of it."""
        return app
