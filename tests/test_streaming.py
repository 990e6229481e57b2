"""Streaming a long answer cheaply: deltas joined into a few updates a second, and the answer cut
into pieces only where the cut cannot change how it renders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from markdown_it import MarkdownIt

from benchmarks.reply import chunks, long_reply
from buddy_tui.conversation.batching import batched
from buddy_tui.conversation.chat import ChatEvent, TextDelta, ToolStarted, TurnFinished
from buddy_tui.display.splitter import BlockSplitter
from buddy_tui.store.records import Usage
from buddy_tui.tools.specs import ToolCall
from tests.helpers import wait_until

DONE = TurnFinished("", "end_turn", Usage())


def split(text: str, size: int, fragment: int = 7) -> list[str]:
    splitter, pieces = BlockSplitter(size), [""]
    for part in chunks(text, fragment):
        first, *rest = splitter.feed(part)
        pieces[-1] += first
        pieces += rest
    return pieces


def test_pieces_rejoin_exactly_and_each_renders_as_it_did_in_the_whole() -> None:
    text = long_reply(6_000)
    pieces = split(text, 800)
    assert "".join(pieces) == text and len(pieces) > 5
    assert all(len(p) >= 800 for p in pieces[:-1])
    parser = MarkdownIt("commonmark").enable("table")
    whole = parser.render(text)
    assert "".join(parser.render(p) for p in pieces) == whole  # cutting changed nothing


def test_never_cuts_inside_a_fence_or_before_an_indented_line() -> None:
    text = ("para one\n\n```python\nx = 1\n\ny = 2\n```\n\n~~~~\nraw\n\n~~~\nstill inside\n~~~~\n\n"
            "- item\n\n    continued\n\nlast\n")
    pieces = split(text * 20, 1, fragment=3)
    for piece in pieces[1:]:
        assert not piece[:1].isspace()
        assert piece.startswith(("para", "```", "~~~~", "- item", "last"))
    assert "".join(pieces) == text * 20


async def source(*items: ChatEvent | float) -> AsyncIterator[ChatEvent]:
    for item in items:
        if isinstance(item, float):
            await asyncio.sleep(item)
        else:
            yield item


async def collect(events: AsyncIterator[ChatEvent], interval: float = 0.1) -> list[ChatEvent]:
    return [event async for event in batched(events, interval)]


async def test_neighbouring_deltas_are_joined_and_order_is_kept() -> None:
    call = ToolStarted(ToolCall("t", "Read", {}), 1, 12)
    got = await collect(source(TextDelta("a"), TextDelta("b"), call, TextDelta("c"), 0.25, TextDelta("d"), DONE))
    assert got == [TextDelta("ab"), call, TextDelta("c"), TextDelta("d"), DONE]


async def test_text_is_not_held_back_when_the_stream_goes_quiet() -> None:
    seen: list[ChatEvent] = []

    async def quiet_until_seen() -> AsyncIterator[ChatEvent]:
        yield TextDelta("early")
        # The stream goes quiet and sends nothing more until the text has reached the consumer:
        # text held back for the next event would never arrive (and the wait would fail).
        await wait_until(lambda: seen, what="the text before the next event")
        yield DONE

    async for event in batched(quiet_until_seen(), 0.05):
        seen.append(event)
    assert seen == [TextDelta("early"), DONE]


async def test_a_failure_in_the_source_reaches_the_consumer() -> None:
    async def broken() -> AsyncIterator[ChatEvent]:
        yield TextDelta("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await collect(broken())


async def test_stopping_the_consumer_closes_the_source() -> None:
    closed = asyncio.Event()

    consumed: list[ChatEvent] = []

    async def endless() -> AsyncIterator[ChatEvent]:
        try:
            while True:
                yield TextDelta("x")
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    async def consume() -> None:
        async for event in batched(endless(), 0.02):
            consumed.append(event)

    task = asyncio.create_task(consume())
    await wait_until(lambda: len(consumed) >= 2, what="the consumer to be under way")
    assert not closed.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_until(closed.is_set, what="the source to be closed")


async def test_agents_text_is_joined_per_agent_and_never_held_past_its_end() -> None:
    from buddy_tui.conversation.events import AgentEnded, AgentUpdate

    ended = AgentEnded("a1", "done", "xyz", Usage(), 1.0)
    got = await collect(source(AgentUpdate("a1", TextDelta("x")), AgentUpdate("a2", TextDelta("1")),
                               AgentUpdate("a1", TextDelta("y")), AgentUpdate("a2", TextDelta("2")),
                               AgentUpdate("a1", TextDelta("z")), ended, DONE))
    # One update per agent, then the end at once: an agent's last text is not kept waiting.
    assert got == [AgentUpdate("a1", TextDelta("xyz")), AgentUpdate("a2", TextDelta("12")), ended, DONE]


async def test_the_leads_text_does_not_wait_as_long_as_an_agents() -> None:
    from buddy_tui.conversation.events import AgentUpdate

    seen: list[ChatEvent] = []

    async def agent_then_lead() -> AsyncIterator[ChatEvent]:
        yield AgentUpdate("a1", TextDelta("agent"))
        yield TextDelta("lead")
        # Nothing more until the lead's text is out: with the agents' long wait it would never come.
        await wait_until(lambda: TextDelta("lead") in seen, timeout=20, what="the lead's text")
        yield DONE

    async for event in batched(agent_then_lead(), 0.05, agent_interval=3600):
        seen.append(event)
    assert seen == [AgentUpdate("a1", TextDelta("agent")), TextDelta("lead"), DONE]
