"""A server that asks for a very long wait (retry-after: 600) gets at most a minute: the wait is
capped, the chat says how long it is, and Esc ends it at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from buddy_tui.conversation.chat import Retrying, stream_turn
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.retries import MAX_HEADER_WAIT
from buddy_tui.settings.model_settings import Settings
from buddy_tui.ui.widgets.transcript import AssistantMessage
from tests.fake_api import FakeAnthropic, Reply, scripted_fault
from tests.helpers import connected, make_app, settled, submit, text_of, wait_for

REQUEST = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


async def test_a_ten_minute_retry_after_waits_a_minute_at_most(online: FakeAnthropic) -> None:
    fault = scripted_fault("retry-after:600")
    assert fault is not None
    online.queue(fault, Reply(["too late"]))
    client, _ = connect(Settings(max_retries=2))
    assert client is not None
    heard: list[Retrying] = []
    told = asyncio.Event()

    def retrying(event: Retrying) -> None:
        heard.append(event)
        told.set()

    async def consume() -> None:
        async for _ in stream_turn(client, REQUEST, on_retry=retrying):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(told.wait(), 10)
    (notice,) = [r.notice for r in heard]
    assert notice.wait == MAX_HEADER_WAIT == 60 and notice.exact
    assert "retrying in 60 s" in notice.describe()
    task.cancel()  # what Esc does
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert len(online.message_requests()) == 1 and online.pending == 1


async def test_the_chat_says_how_long_it_waits_and_esc_ends_the_wait(online: FakeAnthropic, project: Path) -> None:
    fault = scripted_fault("retry-after:600")
    assert fault is not None
    online.queue(fault, Reply(["too late"]))
    app = make_app(project, max_retries=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "hello")

        def status() -> str:
            replies = list(app.query(AssistantMessage))
            return text_of(replies[-1].query_one(".status")) if replies else ""  # type: ignore[arg-type]

        await wait_for(pilot, lambda: "retrying in" in status(), timeout=15, what="the retry notice")
        said = status()
        assert "60 s" in said or "59 s" in said, said  # the cap, counting down; never 600
        await pilot.press("escape")
        await wait_for(pilot, lambda: settled(app), timeout=10, what="the wait to end")
        assert len(online.message_requests()) == 1 and online.pending == 1
