"""The scrolling transcript, and long conversations opened at once: only the newest turns are
built; older ones stand in as :class:`TurnStub` lines of about their height until the view comes
near them.

Building a turn means a question, a reply of Markdown widgets and a status line; a 300-turn
conversation built in full took seconds to open and held thousands of widgets. A stub is one
widget showing the question's first line; scrolling up (or Ctrl+Home) expands the stubs near the
view into real turns, keeping what is on screen in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.timer import Timer
from textual.widgets import Static

from buddy_tui.store.records import StoredConversation, TurnRecord
from buddy_tui.ui.safe import shown
from buddy_tui.ui.widgets import chat_items
from buddy_tui.ui.widgets.folding import estimate_height, near, refold
from buddy_tui.ui.widgets.prompt import PromptInput
from buddy_tui.ui.widgets.transcript import AssistantMessage, UserMessage

#: How many of the newest turns are built when a conversation opens.
BUILT_TURNS = 8
#: Older turns stand in by the group: one widget for this many turns.
GROUP = 10


class TurnStub(Static):
    """Turns not built yet: the first question's first line, in a block about as tall as they are."""

    def __init__(self, records: Sequence[TurnRecord], width: int) -> None:
        first = next((line for line in records[0].typed.splitlines() if line.strip()), "")
        more = f"  (+{len(records) - 1} more turns)" if len(records) > 1 else ""
        super().__init__(shown(f"You: {first[:120]}{more}"), classes="turn-stub", markup=False)
        self.records = list(records)
        self.styles.height = sum(4 + estimate_height(r.typed, width) + estimate_height(r.reply, width)
                                 for r in records)


async def build(transcript: VerticalScroll, record: TurnRecord, before: Static | None = None) -> None:
    """Mount a whole turn (question and reply as it ended), before ``before`` or at the end."""
    widgets = [UserMessage(record.typed, record.files), AssistantMessage(record.persona_title, record=record)]
    if before is None:
        await transcript.mount_all(widgets)
    else:
        await transcript.mount_all(widgets, before=before)


async def show_turns(transcript: VerticalScroll, turns: Sequence[TurnRecord]) -> None:
    """Stubs for the older turns, built widgets for the newest :data:`BUILT_TURNS`."""
    width = transcript.size.width or 80
    older, newest = turns[: -BUILT_TURNS or None], turns[-BUILT_TURNS:]
    if len(turns) <= BUILT_TURNS:
        older, newest = [], list(turns)
    if older:
        await transcript.mount_all([TurnStub(older[i: i + GROUP], width) for i in range(0, len(older), GROUP)])
    for record in newest:
        await build(transcript, record)


async def expand_near(transcript: VerticalScroll) -> int:
    """Build the stubbed turns within a screen of the view; returns how many. Turns built above
    the view move the scroll position by the difference, so what is on screen stays put."""
    # Positions within the transcript and its scroll offset (both known as soon as they change),
    # not screen regions, which lag a jump such as Ctrl+Home until the next frame.
    view = Region(0, round(transcript.scroll_y), transcript.size.width, transcript.size.height)
    stubs = [child for child in transcript.children
             if isinstance(child, TurnStub) and near(child.virtual_region, view)]
    if not stubs:
        return 0
    above = [stub for stub in stubs if stub.virtual_region.bottom <= view.y]
    stub_height = sum(stub.outer_size.height for stub in above)
    before_height = transcript.virtual_size.height
    for stub in stubs:
        for record in stub.records:
            await build(transcript, record, before=stub)
        await stub.remove()
    if above:
        def keep_in_place() -> None:
            grown = transcript.virtual_size.height - before_height
            built_above = stub_height + grown * len(above) // len(stubs)
            transcript.scroll_to(y=transcript.scroll_y + built_above - stub_height, animate=False)

        transcript.call_after_refresh(keep_in_place)
    return len(stubs)


async def refold_near(transcript: VerticalScroll) -> int:
    """Build stubbed turns near the view, then fold and unfold reply pieces by distance; returns
    how many turns were built (they move everything below them: call again to see where things are)."""
    built = await expand_near(transcript)
    messages = [child.folder for child in transcript.children if isinstance(child, AssistantMessage)]
    await refold(messages, transcript.region)
    return built


class Transcript(VerticalScroll):
    """The scrolling list of messages.

    Textual lays a widget out a second time whenever its virtual size changes; while a reply
    streams that is every update, and the second pass cost as much as the first. Here (and in
    :class:`AssistantMessage` and :class:`ReplyView`) it is skipped: the first pass already
    placed everything, and a scroll bar that appears or goes asks for its own layout.
    """

    virtual_size = Reactive(Size(0, 0), layout=False)
    _fold_timer: Timer | None = None
    #: Keys while an item of the chat has focus (chat_items.py); on the transcript itself, up and
    #: down scroll as before.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "item(1)", "Next item", id="chat.next_item", show=False),
        Binding("up", "item(-1)", "Previous item", id="chat.previous_item", show=False),
        Binding("tab", "item(1, True)", "Next item, then the prompt", id="chat.tab", show=False),
        Binding("shift+tab", "item(-1, True)", "Previous item", id="chat.shift_tab", show=False),
        Binding("escape", "leave", "Back to the prompt", id="chat.leave"),
    ]

    def allow_focus_children(self) -> bool:
        """The items stay out of the screen's Tab order: Tab cycles the panes; Ctrl+G reaches them."""
        return False

    def _item_focused(self) -> bool:
        focused = self.screen.focused
        return focused is not None and focused is not self and self in focused.ancestors

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc goes back to the prompt only while no reply streams (then it stops the reply, as
        it does anywhere)."""
        if action == "leave":
            return (self.has_focus or self._item_focused()) and not getattr(self.parent, "busy", False)
        return True

    def enter_items(self) -> bool:
        """Ctrl+G: focus the newest item on screen; False when the chat has none."""
        item = chat_items.newest_in_view(self)
        if item is not None:
            chat_items.focus_item(self, item)
        return item is not None

    def action_item(self, by: int, leave: bool = False) -> None:
        """Move ``by`` items; on the transcript itself, up and down scroll and Tab moves on. Past the
        last item Tab goes to the prompt and Shift+Tab before the first to the transcript; up and
        down stop at the ends."""
        if not self._item_focused():
            if leave and by > 0:
                self.screen.focus_next()
            elif leave:
                self.screen.focus_previous()
            elif by > 0:
                self.scroll_down()
            else:
                self.scroll_up()
            return
        target = chat_items.step(chat_items.chat_items(self), chat_items.current_item(self.screen.focused), by)
        if target is not None:
            chat_items.focus_item(self, target)
        elif leave and by > 0:
            self.action_leave()
        elif leave:
            self.focus()

    def action_leave(self) -> None:
        """Esc: back to the prompt."""
        self.screen.query_one(PromptInput).focus()

    def on_key(self, event: events.Key) -> None:
        """A letter typed while the chat or one of its items has focus starts a question: it goes
        to the prompt, and focus with it, instead of being lost."""
        character = event.character
        if (character and character.isprintable() and not character.isspace()
                and (self.has_focus or self._item_focused())):
            event.stop()
            event.prevent_default()
            prompt = self.screen.query_one(PromptInput)
            prompt.focus()
            prompt.insert(character)

    @property
    def at_bottom(self) -> bool:
        """True while the view shows the end of the chat (and so follows a streaming reply)."""
        return self.scroll_y >= self.max_scroll_y

    def fold_soon(self) -> None:
        """Fold what has scrolled far away (and unfold what came near) in a moment."""
        if self._fold_timer is None:
            self._fold_timer = self.set_timer(0.2, self._fold_now)

    async def _fold_now(self) -> None:
        self._fold_timer = None
        if await refold_near(self):
            self.fold_soon()  # turns built moved everything below them: look again

    def offer_continue(self, continuable: bool) -> None:
        """Say how to get the rest under the last reply when it was cut at the token limit and
        can go on (``continuable``), and under no other."""
        replies = list(self.query_children(AssistantMessage))
        for reply in replies:
            reply.offer_continue(continuable and reply is replies[-1])

    async def show_conversation(self, stored: StoredConversation, project_key: str) -> None:
        """Mount every stored turn as it ended (older ones as stubs), and note where the
        conversation comes from."""
        import time

        from buddy_tui.ui.safe import markdown_literal
        from buddy_tui.ui.widgets.markdown_note import MarkdownNote

        summary = stored.summary
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.updated))
        elsewhere = ""
        if summary.project != project_key:
            elsewhere = (f" It was held in `{markdown_literal(summary.project)}`; files and tools now refer to "
                         "this project.")
        count = f"{len(stored.turns)} turn{'' if len(stored.turns) == 1 else 's'}"
        await self.mount(MarkdownNote(f"Resumed **{markdown_literal(summary.title)}** ({count}, last used "
                                      f"{when}).{elsewhere}"))
        await show_turns(self, stored.turns)
        self.scroll_end(animate=False)
        self.anchor()
        self.fold_soon()

