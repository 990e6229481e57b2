"""Coalesce a reply's text deltas into a few updates a second.

The API can send a thousand small deltas a second; rendering each one means a Markdown update and
a layout pass, and a long answer full of tables then saturates the UI (keys stop echoing, the
screen falls seconds behind). :func:`batched` passes every event through in order, but joins the
text deltas that arrive within ``interval`` of each other into one, and never holds text back
longer than ``interval``, even when the stream goes quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from buddy_tui.core.chat import ChatEvent, TextDelta

#: Seconds text may wait to be joined with more: ten updates a second still reads as streaming.
INTERVAL = 0.1
_DONE = object()


async def batched(source: AsyncIterator[ChatEvent], interval: float = INTERVAL) -> AsyncIterator[ChatEvent]:
    """``source``'s events with neighbouring text deltas joined (see the module docstring)."""
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in source:
                await queue.put(event)
        finally:
            await queue.put(_DONE)

    task = asyncio.create_task(pump())
    loop = asyncio.get_running_loop()
    pending: list[str] = []
    deadline = 0.0
    try:
        while True:
            try:
                if pending:
                    item = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
                else:
                    item = await queue.get()
            except TimeoutError:
                yield TextDelta("".join(pending))
                pending.clear()
                continue
            if isinstance(item, TextDelta):
                if not pending:
                    deadline = loop.time() + interval
                pending.append(item.text)
                if loop.time() >= deadline:
                    yield TextDelta("".join(pending))
                    pending.clear()
                continue
            if pending:
                yield TextDelta("".join(pending))
                pending.clear()
            if item is _DONE:
                break
            yield item  # type: ignore[misc]
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
