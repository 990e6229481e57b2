"""Command palette entries (Ctrl+P): a persona picker, and every action of the app: each key
binding (with its key as the keymap has it) and each app command that needs no argument. Themes
come from Textual's own palette entries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, ClassVar, Protocol, cast

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher
from textual.markup import escape

from buddy_tui.context.attachments import printable

if TYPE_CHECKING:
    from buddy_tui.conversation.session import Session
    from buddy_tui.ui.widgets.chat_pane import ChatPane


class PaletteHost(Protocol):
    """What the palette uses of the app (BuddyApp), named here so this module need not import the
    app that imports it."""

    BINDINGS: ClassVar[list[BindingType]]
    session: Session

    @property
    def keymap(self) -> Mapping[str, str]: ...
    @property
    def chat(self) -> ChatPane: ...
    def run_action(self, action: str) -> Awaitable[bool]: ...
    def run_persona_command(self, name: str) -> None: ...
    def action_pin_persona(self) -> None: ...
    def action_problems(self) -> None: ...
    def action_find_file(self) -> None: ...
    def action_choose_model(self, name: str = "") -> None: ...
    def action_toggle_ignored(self) -> Awaitable[None]: ...


def _actions(app: PaletteHost) -> list[tuple[str, str, Callable[[], object]]]:
    """Every key binding of the app and every app command that needs no argument."""
    from buddy_tui.personas.commands import APP_COMMANDS
    from buddy_tui.ui.help import shown_key
    from buddy_tui.ui.widgets.chat_pane import ChatPane

    entries: list[tuple[str, str, Callable[[], object]]] = []
    for binding in app.BINDINGS:
        if isinstance(binding, Binding) and binding.description:
            entries.append((binding.description, shown_key(binding, app.keymap),
                            partial(app.run_action, binding.action)))
    for name, (description, hint) in APP_COMMANDS.items():
        if hint.startswith("[") or not hint:  # runs without an argument
            if name == "model":
                entries.append(("Choose the model", f"/{name}: {description}", app.action_choose_model))
                continue
            entries.append((f"/{name}", description,
                            partial(app.chat.post_message, ChatPane.AppCommand(name, ""))))
    entries.append(("/undo list", "Choose a file change Claude made to undo",
                    partial(app.chat.post_message, ChatPane.AppCommand("undo", "list"))))
    return entries


class PersonaCommands(Provider):
    """'Persona: NAME' for every persona (with its description), plus problems and pinning."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast(PaletteHost, self.app)
        entries: list[tuple[str, str, Callable[[], object]]] = []
        for persona in app.session.personas:
            current = " (current)" if persona.name == app.session.current.name else ""
            entries.append((f"Persona: {persona.name}{current}",
                            f"{persona.source}: {persona.summary}",
                            partial(app.run_persona_command, persona.name)))
        entries.append(("Pin or unpin the current persona", "Keep this expert for the whole conversation",
                        app.action_pin_persona))
        entries.append(("Show problems", "Project files that could not be used, were read leniently or sent redacted",
                        app.action_problems))
        entries.append(("Find file", "Fuzzy-find any file of the project (Ctrl+F)", app.action_find_file))
        entries.append(("Show or hide ignored files", "What .gitignore hides, and .git/ (F4)",
                        app.action_toggle_ignored))
        return entries + _actions(app)

    async def discover(self) -> Hits:
        for text, help_text, command in self._entries():
            shown = printable(text)
            yield DiscoveryHit(Content(shown), command, text=shown, help=_help(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._entries():
            shown = printable(text)
            score = matcher.match(shown)
            if score > 0:
                yield Hit(score, _highlight(matcher, shown), command, text=shown, help=_help(help_text))


def _help(text: str) -> str:
    """A hit's help line, which the palette reads as Textual markup: escaped, so a persona's
    description such as "[/]boom" shows as written instead of stopping the app."""
    return escape(printable(text))


def _highlight(matcher: Matcher, text: str) -> Content:
    """``text`` as plain content with the matched letters styled. ``Matcher.highlight`` reads
    its candidate as markup, which a name from a file must never be."""
    content = Content(text)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
