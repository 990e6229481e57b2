"""The chat's items, for moving through them from the keyboard.

An item is a control in the transcript: the ``copy`` link of a message, a tool line's expander, its
"Undo this change" control, a code block in a reply, a ``path:line`` link under an answer. Ctrl+G
(app.py) moves focus onto the newest item in view; up and down (and Tab, Shift+Tab) move from item
to item in reading order; Enter acts on the item (its own binding); Esc goes back to the prompt.

The items are left out of the screen's Tab order (:meth:`Transcript.allow_focus_children`), so Tab
still cycles the panes (tree, preview, chat, prompt) instead of stopping at every link of a long
conversation. A reply piece holds several code blocks in one widget, so an item is a widget and,
for a :class:`ReplyView`, the index of its block.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Button
from textual.widgets.collapsible import CollapsibleTitle

from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.transcript import CopyLink, ReferenceLink

#: An item: the widget, and for a reply piece the code block's index (-1 for other widgets).
Item = tuple[Widget, int]
#: The kinds of widget that are items (a ReplyView only while it holds a code block).
ITEM_TYPES = (CopyLink, ReferenceLink, CollapsibleTitle, Button, ReplyView)


def chat_items(transcript: Widget) -> list[Item]:
    """Every item shown in ``transcript``, in reading order (hidden ones left out)."""
    found: list[Item] = []
    stack = list(reversed(transcript.displayed_children))
    while stack:
        node = stack.pop()
        if isinstance(node, ReplyView):
            found += [(node, index) for index in node.code_blocks()]
        elif isinstance(node, ITEM_TYPES) and node.allow_focus() and not node.disabled:
            found.append((node, -1))
        stack.extend(reversed(node.displayed_children))
    return found


def current_item(widget: Widget | None) -> Item | None:
    """The item ``widget`` (the focused one) is, if it is one."""
    if isinstance(widget, ReplyView):
        return widget, widget.code_focus
    if isinstance(widget, ITEM_TYPES):
        return widget, -1
    return None


def focus_item(transcript: Widget, item: Item) -> None:
    """Put focus on ``item`` and scroll it into view (a code block: the block itself)."""
    widget, block = item
    if not isinstance(widget, ReplyView):
        widget.focus()
        return
    widget.focus_code(block)
    rows = widget.block_rows(block)
    if rows is None:  # folded far away, or not laid out yet: bring the piece itself near first
        widget.scroll_visible(animate=False)
        return
    first, height = rows
    top = offset_in(widget, transcript) + first
    transcript.scroll_to_region(Region(0, top, transcript.size.width, min(height, transcript.size.height)),
                                animate=False, immediate=True)


def offset_in(widget: Widget, container: Widget) -> int:
    """The row of ``widget``'s top in ``container``'s scrollable content."""
    top, node = 0, widget
    while node is not container and isinstance(node.parent, Widget):
        parent = node.parent
        top += node.virtual_region.y + (parent.styles.gutter.top if parent is not container else 0)
        node = parent
    return top


def in_view(transcript: Widget, item: Item) -> bool:
    """True when ``item`` is at least partly on screen in the transcript."""
    widget, block = item
    view = Region(0, round(transcript.scroll_y), transcript.size.width or 1, transcript.size.height or 1)
    top = offset_in(widget, transcript)
    height = widget.outer_size.height
    if isinstance(widget, ReplyView) and (rows := widget.block_rows(block)) is not None:
        top, height = top + rows[0], rows[1]
    return view.overlaps(Region(0, top, 1, max(1, height)))


def step(items: list[Item], current: Item | None, by: int) -> Item | None:
    """The item ``by`` places from ``current`` (None past either end)."""
    if not items:
        return None
    if current is None or current not in items:
        return items[0] if by > 0 else items[-1]
    index = items.index(current) + by
    return items[index] if 0 <= index < len(items) else None


def newest_in_view(transcript: Widget) -> Item | None:
    """Where Ctrl+G lands: the last item on screen, else the newest of all."""
    items = chat_items(transcript)
    shown = [item for item in items if in_view(transcript, item)] or items
    return shown[-1] if shown else None
