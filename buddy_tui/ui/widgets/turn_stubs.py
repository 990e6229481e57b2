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

from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.timer import Timer
from textual.widgets import Static

from buddy_tui.store.records import StoredConversation, TurnRecord
from buddy_tui.ui.safe import shown
from buddy_tui.ui.widgets.folding import estimate_height, near, refold
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

