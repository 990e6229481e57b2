"""The footer: the keys that work right now, in one line.

Textual's Footer builds a widget per key and rebuilds them whenever the bindings change (a reply
starts or ends, focus moves); at start that alone cost ~25 ms of the first paint. This is one
Static that re-renders a line of text instead. Clicking a key presses it.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

KEY_STYLE = "bold $footer-key-foreground"
DESCRIPTION_STYLE = "$footer-description-foreground"


class KeyHints(Static):
    """``^q Quit  esc Stop  f1 Help …`` for the focused screen's shown bindings."""

    def __init__(self) -> None:
        super().__init__("", id="key-hints", markup=False)
        self._spans: list[tuple[int, int, str]] = []  # (first column, past last, key) for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)
        self.call_after_refresh(self._changed, self.screen)  # once every widget it asks about is there

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        parts: list[tuple[str, str] | str] = []
        spans: list[tuple[int, int, str]] = []
        column, seen = 1, set()
        palette = self.app.COMMAND_PALETTE_BINDING
        for key, (_node, binding, enabled, _tip) in screen.active_bindings.items():
            if not binding.show or not enabled or binding.action in seen or key == palette:
                continue
            seen.add(binding.action)
            label, description = self.app.get_key_display(binding), binding.description
            spans.append((column, column + len(label) + len(description) + 1, binding.key))
            parts += [(f"{label}", KEY_STYLE), f" {description}  "]
            column += len(label) + len(description) + 3
        if palette in screen.active_bindings and self.app.ENABLE_COMMAND_PALETTE:
            binding = screen.active_bindings[palette].binding
            label = self.app.get_key_display(binding)
            spans.append((column, column + len(label) + 8, binding.key))
            parts += [(label, KEY_STYLE), " palette"]
        self._spans = spans
        self.update(Content.assemble(" ", *parts))

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
