"""A long answer through the app: it is cut into pieces, pieces far from the view are folded to
blank space of their height and come back when scrolled to, and no text is ever lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks.reply import chunks, long_reply
from buddy_tui.ui.widgets.folding import estimate_height
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.transcript import AssistantMessage
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import caught_up, connected, make_app, settled, submit, wait_for, wait_until


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
    stops: list[asyncio.Task[None]] = []

    async def slow_append(self: AssistantMessage, fragment: str) -> None:
        turn = app.chat.turn
        if turn is not None and not stops:
            # Drawing lags behind the stream: the end of the turn arrives and waits for this update.
            await wait_until(lambda: not app.chat.engine.busy, what="the engine to end and store the turn")
            stops.append(asyncio.create_task(app.action_stop()))  # Esc, while the end waits for this
            await wait_until(lambda: app.chat.turn is None, what="the stop to begin")
        await original(self, fragment)

    monkeypatch.setattr(AssistantMessage, "append", slow_append)
    online.queue(Reply(["A short answer."]))
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "quick one")
        await wait_for(pilot, lambda: stops and stops[0].done() and settled(app), what="the stop")
        stops[0].result()  # the stop itself went through
        await caught_up(pilot, app.chat)  # the end of the turn, which waited for the drawing, has run too
        messages = app.chat.session.conversation.messages
        assert [m["role"] for m in messages] == ["user", "assistant"]  # recorded once, not twice
        assert len(app.chat.session.turns) == 1


class Clock:
    """The clock of the transcript module in a test: ``sleep`` moves it on at once, and
    ``keys_while_asleep`` makes a key reach the prompt just as each sleep ends."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []
        self.keys_while_asleep = False

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        from buddy_tui.ui.widgets.prompt import PromptInput

        assert len(self.slept) < 100, f"still holding after {sum(self.slept)} s"
        self.slept.append(seconds)
        self.now += seconds
        if self.keys_while_asleep:
            PromptInput.typed_at = self.now


async def test_typing_holds_a_streaming_reply_back_briefly_and_never_for_long(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys typed while a reply streams are drawn first: the reply's next update waits until the
    typing pauses for TYPING_HOLD, but never more than TYPING_MAX_HOLD in a row. The hold is
    read off a clock the test controls, so it is exact whatever the machine's load."""
    from buddy_tui.ui.widgets import transcript
    from buddy_tui.ui.widgets.prompt import PromptInput

    clock = Clock()
    monkeypatch.setattr(transcript, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(transcript, "asyncio", SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(transcript, "TYPING_HOLD", 0.2)
    monkeypatch.setattr(transcript, "TYPING_MAX_HOLD", 0.5)

    monkeypatch.setattr(PromptInput, "typed_at", clock.now - 60)
    await AssistantMessage._let_typing_through()
    assert clock.slept == []  # nobody typing: no wait

    PromptInput.typed_at = clock.now - 0.05
    await AssistantMessage._let_typing_through()
    assert clock.slept == [pytest.approx(0.15)]  # one key: wait until it has been quiet for the hold

    clock.slept.clear()
    PromptInput.typed_at = clock.now
    clock.keys_while_asleep = True
    await AssistantMessage._let_typing_through()
    assert sum(clock.slept) == pytest.approx(0.5)  # endless typing: held for the longest hold, then drawn
