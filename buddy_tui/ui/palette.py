"""Command palette entries (Ctrl+P): a persona picker, and the actions that have no key."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from buddy_tui.core.context import printable

if TYPE_CHECKING:
    from buddy_tui.ui.app import BuddyApp


class PersonaCommands(Provider):
    """'Persona: NAME' for every persona (with its description), plus problems and pinning."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = cast("BuddyApp", self.app)
        entries: list[tuple[str, str, Callable[[], object]]] = []
        for persona in app.session.personas:
            current = " (current)" if persona.name == app.session.current.name else ""
            entries.append((f"Persona: {persona.name}{current}",
                            f"{persona.source}: {persona.summary}",
                            partial(app.run_persona_command, persona.name)))
        entries.append(("Pin or unpin the current persona", "Keep this expert for the whole conversation",
                        app.action_pin_persona))
        entries.append(("Show problems", "Persona and command files that could not be read", app.action_problems))
        entries.append(("Find file", "Fuzzy-find any file of the project (Ctrl+F)", app.action_find_file))
        entries.append(("Show or hide ignored files", "What .gitignore hides, and .git/ (F4)",
                        app.action_toggle_ignored))
        return entries

    async def discover(self) -> Hits:
        for text, help_text, command in self._entries():
            yield DiscoveryHit(Text(printable(text)), command, help=printable(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._entries():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(printable(text)), command, help=printable(help_text))
