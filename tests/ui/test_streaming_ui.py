"""A long answer through the app: it is cut into pieces, pieces far from the view are folded to
blank space of their height and come back when scrolled to, and no text is ever lost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from benchmarks.reply import chunks, long_reply
from buddy_tui.ui.widgets.folding import estimate_height
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.transcript import AssistantMessage
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import connected, make_app, settled, submit, wait_for


async def test_a_long_answer_is_folded_away_from_the_view_and_unfolds_when_scrolled_to(
        project: Path, online: FakeAnthropic) -> None:
    answer = long_reply(8_000)
    online.queue(Reply(chunks(answer, 64), pace=0.001))
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "review every hot path")
        await wait_for(pilot, lambda: online.completed_streams and settled(app), timeout=30, what="the answer")
        reply = app.query_one(AssistantMessage)
        views = list(reply.query(ReplyView))
        await wait_for(pilot, lambda: any(view.folded for view in views), what="pieces folded away")
        assert reply.text == answer  # folding never loses text
        assert "".join(view.source for view in views) == answer
        drawn = sum(len(view.shown_lines) for view in views)
        whole = sum(estimate_height(view.source, 136) for view in views)
        # Rendered lines are bounded by the view (the pieces within a screen of it), not by the answer.
        assert drawn < whole / 2, (drawn, whole)
        transcript = app.chat.transcript
        transcript.scroll_home(animate=False)
        await wait_for(pilot, lambda: "Reliability review" in first_markdown(reply), what="the top unfolded")
        await submit(pilot, app, "/copy")
        await wait_for(pilot, lambda: app.clipboard == answer, what="the whole answer copied")


def first_markdown(reply: AssistantMessage) -> str:
    """The text drawn by the first piece of the reply ("" while it is folded)."""
    found = reply.query(ReplyView)
    return "\n".join(found.first().shown_lines) if found else ""


async def test_esc_while_a_finished_reply_is_still_being_drawn_records_it_once(
        project: Path, online: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    original = AssistantMessage.append
    app = make_app(project)
    pressed: list[bool] = []

    async def slow_append(self: AssistantMessage, fragment: str) -> None:
        await asyncio.sleep(0.3)  # drawing lags behind the stream, which has ended meanwhile
        if online.completed_streams and not pressed:
            pressed.append(True)
            asyncio.get_running_loop().create_task(app.action_stop())  # Esc, while the end waits for this
            await asyncio.sleep(0.3)
        await original(self, fragment)

    monkeypatch.setattr(AssistantMessage, "append", slow_append)
    online.queue(Reply(["A short answer."]))
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "quick one")
        await wait_for(pilot, lambda: pressed and settled(app) and not app.chat.busy, what="the stop")
        await pilot.pause(0.5)
        messages = app.chat.session.conversation.messages
        assert [m["role"] for m in messages] == ["user", "assistant"]  # recorded once, not twice
        assert len(app.chat.session.turns) == 1


async def test_typing_holds_a_streaming_reply_back_briefly_and_never_for_long(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys typed while a reply streams are drawn first: the reply's next update waits until the
    typing pauses for TYPING_HOLD, but never more than TYPING_MAX_HOLD in a row."""
    from buddy_tui.ui.widgets import transcript
    from buddy_tui.ui.widgets.prompt import PromptInput

    monkeypatch.setattr(transcript, "TYPING_HOLD", 0.2)
    monkeypatch.setattr(transcript, "TYPING_MAX_HOLD", 0.5)
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(PromptInput, "typed_at", 0.0)
    started = loop.time()
    await AssistantMessage._let_typing_through()
    assert loop.time() - started < 0.15  # nobody typing: no wait

    monkeypatch.setattr(PromptInput, "typed_at", time.monotonic())
    started = loop.time()
    await AssistantMessage._let_typing_through()
    assert 0.19 <= loop.time() - started < 0.45  # one key: wait until it has been quiet for the hold

    async def typing() -> None:
        while True:
            PromptInput.typed_at = time.monotonic()
            await asyncio.sleep(0.05)

    typist = asyncio.create_task(typing())
    await asyncio.sleep(0)  # the first key
    try:
        started = loop.time()
        await AssistantMessage._let_typing_through()
        assert 0.49 <= loop.time() - started < 1.5  # endless typing: held for the longest hold, then drawn
    finally:
        typist.cancel()
