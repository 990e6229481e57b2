"""Coalesce a reply's text deltas into a few updates a second.

The API can send a thousand small deltas a second; rendering each one means a Markdown update and
a layout pass, and a long answer then saturates the UI (keys stop echoing, the screen falls seconds
behind). :func:`batched` passes every event through in order, but joins the text deltas that
arrive within ``interval`` of each other into one, and never holds text back longer than that,
even when the stream goes quiet. When a batch carries more text than anyone reads in that time
(``flood_chars``, ten times a fast model), the next one waits ``flood_interval`` instead: the
screen still moves four times a second and the UI keeps most of its time for the user.

A text delta costs a list append here (no task, no timer); one timer per batch flushes it. Agents'
text deltas (:class:`AgentUpdate` around a TextDelta) are joined the same way, each agent's apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

from buddy_tui.conversation.chat import ChatEvent, TextDelta
from buddy_tui.conversation.events import AgentUpdate

#: Seconds text may wait to be joined with more: ten updates a second still reads as streaming.
INTERVAL = 0.1
#: Agents' text waits longer: their panels are side windows, and several stream at once; each update
#: costs the screen a layout pass, so all agents' text goes in one update, twice a second. An agent's
#: last text is never held back: its end (any other event) flushes what waits.
AGENT_INTERVAL = 0.5
#: A batch with more characters than this means the text outruns reading...
FLOOD_CHARS = 1_000
#: ...and the next batch may wait this long.
FLOOD_INTERVAL = 0.25
_DONE = object()


async def batched(source: AsyncIterator[ChatEvent], interval: float = INTERVAL,
                  flood_interval: float = FLOOD_INTERVAL, flood_chars: int = FLOOD_CHARS,
                  agent_interval: float = AGENT_INTERVAL) -> AsyncIterator[ChatEvent]:
    """``source``'s events with neighbouring text deltas joined (see the module docstring)."""
    loop = asyncio.get_running_loop()
    pending: dict[str | None, list[str]] = {}  # text waiting, by agent (None: the lead), in arrival order
    ready: deque[object] = deque()
    wake = asyncio.Event()
    timer: asyncio.TimerHandle | None = None
    wait = interval
    failure: list[BaseException] = []

    def flush() -> None:
        nonlocal timer, wait
        timer = None
        if pending:
            joined = {agent: "".join(pieces) for agent, pieces in pending.items()}
            pending.clear()
            wait = flood_interval if sum(map(len, joined.values())) > flood_chars else interval
            for agent, text in joined.items():
                ready.append(TextDelta(text) if agent is None else AgentUpdate(agent, TextDelta(text)))
        wake.set()

    async def pump() -> None:
        nonlocal timer
        try:
            async for event in source:
                text = event if isinstance(event, TextDelta) else \
                    event.event if isinstance(event, AgentUpdate) and isinstance(event.event, TextDelta) else None
                if text is not None:
                    agent = event.agent_id if isinstance(event, AgentUpdate) else None
                    due = wait if agent is None else max(wait, agent_interval)
                    if not pending:
                        timer = loop.call_later(due, flush)
                    elif timer is not None and timer.when() > loop.time() + due:  # the lead's text: sooner
                        timer.cancel()
                        timer = loop.call_later(due, flush)
                    pending.setdefault(agent, []).append(text.text)
                    continue
                if timer is not None:
                    timer.cancel()
                flush()
                ready.append(event)
        except Exception as exc:  # handed to the consumer, after the text that came before it
            failure.append(exc)
        finally:
            if timer is not None:
                timer.cancel()
            flush()
            ready.append(_DONE)
            wake.set()

    task = asyncio.create_task(pump())
    try:
        while True:
            await wake.wait()
            wake.clear()
            while ready:
                item = ready.popleft()
                if item is _DONE:
                    if failure:
                        raise failure[0]
                    return
                yield item  # type: ignore[misc]
    finally:
        if timer is not None:
            timer.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
