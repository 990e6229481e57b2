"""Run one round's tool calls: in order, or several at once where that is safe.

Calls the caller marks as parallel (agents, and the read-only tools) run together when they come
one after another in the model's message; any other call (a change to a file) runs alone, after
the calls before it have finished and before those after it start, so changes happen in the
order the model asked for them. Results always go back in the order of the calls.

While calls run, events they emit on the :class:`SideEvents` (what an agent streams) are passed
on as they come, before the ToolFinished of the call that emitted them. Leaving the round early
(Esc, a closed pipe) cancels every call still running.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from buddy_tui.conversation.events import ChatEvent, ToolFinished, ToolStarted
from buddy_tui.tools.specs import ToolCall, ToolResult

Executor = Callable[[ToolCall], Awaitable[ToolResult]]
#: Seconds a cancelled round waits for its calls to wind down (closing their HTTP streams).
WIND_DOWN = 2.0


class SideEvents:
    """Events that calls emit while they run, for the round to pass on in order."""

    def __init__(self) -> None:
        self._items: deque[ChatEvent] = deque()
        self._wake = asyncio.Event()

    def emit(self, event: ChatEvent) -> None:
        """Queue ``event`` (never blocks: an agent's stream is not held up by the screen)."""
        self._items.append(event)
        self._wake.set()

    def drain(self) -> list[ChatEvent]:
        """Everything emitted since the last drain, oldest first."""
        items = list(self._items)
        self._items.clear()
        self._wake.clear()
        return items

    async def wait(self) -> None:
        """Return once something was emitted."""
        await self._wake.wait()


def groups(calls: Sequence[ToolCall], parallel: Callable[[ToolCall], bool] | None) -> list[list[int]]:
    """The calls' indexes in the groups they run in: neighbours that may run together share one."""
    found: list[list[int]] = []
    joins = False  # whether the call before may run together with others
    for index, call in enumerate(calls):
        together = parallel is not None and parallel(call)
        if together and joins:
            found[-1].append(index)
        else:
            found.append([index])
        joins = together
    return found


async def run_calls(calls: Sequence[ToolCall], execute: Executor, outcomes: list[ToolResult], *,
                    round_number: int, max_rounds: int, parallel: Callable[[ToolCall], bool] | None = None,
                    side: SideEvents | None = None) -> AsyncIterator[ChatEvent]:
    """Run ``calls`` (see the module docstring), yielding ToolStarted and ToolFinished for each and
    the side events between; ``outcomes`` gets the results in the order of the calls."""
    outcomes.extend([ToolResult("")] * len(calls))
    for group in groups(calls, parallel):
        for index in group:
            yield ToolStarted(calls[index], round_number, max_rounds)
        running = {asyncio.ensure_future(execute(calls[index])): index for index in group}
        try:
            while running:
                waker = asyncio.ensure_future(side.wait()) if side is not None else None
                waiting: set[asyncio.Future[Any]] = {*running, *([waker] if waker else [])}
                try:
                    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if waker is not None:
                        waker.cancel()
                for event in side.drain() if side is not None else []:
                    yield event
                for task in sorted((t for t in running if t in done), key=running.__getitem__):
                    index = running.pop(task)
                    outcomes[index] = _result(calls[index], task)
                    yield ToolFinished(calls[index], outcomes[index])
        finally:
            if running:  # left early: stop what still runs, and let it close its streams
                for task in running:
                    task.cancel()
                await asyncio.wait(running, timeout=WIND_DOWN)


def _result(call: ToolCall, task: asyncio.Future[ToolResult]) -> ToolResult:
    """The call's result; a call that raised (it should not) fails alone, not the whole turn."""
    error = task.exception()
    if error is None:
        return task.result()
    return ToolResult(f"{call.name} failed: {type(error).__name__}: {error}", True, f"{call.name} failed")
