"""Long conversations open at once: only the newest turns are built; older ones stand in as
:class:`TurnStub` lines of about their height until the view comes near them.

Building a turn means a question, a reply of Markdown widgets and a status line; a 300-turn
conversation built in full took seconds to open and held thousands of widgets. A stub is one
widget showing the question's first line; scrolling up (or Ctrl+Home) expands the stubs near the
view into real turns, keeping what is on screen in place.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Static

from buddy_tui.store.records import TurnRecord
from buddy_tui.ui.safe import shown
from buddy_tui.ui.widgets.folding import estimate_height, near
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
