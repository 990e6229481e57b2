"""One round's tool calls: which run together, the order results come back in, side events, and
what leaving early does to calls still running."""

from __future__ import annotations

import asyncio
import contextlib

from buddy_tui.conversation.chat import TextDelta, ToolFinished, ToolStarted
from buddy_tui.conversation.events import AgentUpdate, ChatEvent
from buddy_tui.conversation.rounds import SideEvents, groups, run_calls
from buddy_tui.tools.specs import READ_ONLY, ToolCall, ToolResult


def calls(*names: str) -> list[ToolCall]:
    return [ToolCall(f"c{i}", name, {}) for i, name in enumerate(names)]


def parallel(call: ToolCall) -> bool:
    return call.name in READ_ONLY or call.name == "Task"


def test_neighbours_that_may_run_together_share_a_group_and_changes_run_alone() -> None:
    assert groups(calls("Read", "Grep", "Edit", "Task", "Task", "Write", "Glob"), parallel) == [
        [0, 1], [2], [3, 4], [5], [6]]
    assert groups(calls("Read", "Grep"), None) == [[0], [1]]  # without a rule, one at a time


async def test_read_only_calls_run_at_the_same_time_and_results_keep_the_call_order() -> None:
    both_running = asyncio.Event()
    running: set[str] = set()

    async def execute(call: ToolCall) -> ToolResult:
        running.add(call.id)
        if len(running) == 2:
            both_running.set()
        await asyncio.wait_for(both_running.wait(), 5)  # never set if the calls ran one after the other
        await asyncio.sleep(0.05 if call.id == "c0" else 0)  # the first finishes last
        return ToolResult(f"result of {call.id}")

    outcomes: list[ToolResult] = []
    events = [e async for e in run_calls(calls("Read", "Grep"), execute, outcomes, round_number=1, max_rounds=3,
                                         parallel=parallel)]
    assert [o.content for o in outcomes] == ["result of c0", "result of c1"]
    assert [(type(e).__name__, e.call.id) for e in events if isinstance(e, ToolStarted | ToolFinished)] == [
        ("ToolStarted", "c0"), ("ToolStarted", "c1"), ("ToolFinished", "c1"), ("ToolFinished", "c0")]


async def test_a_change_waits_for_the_calls_before_it() -> None:
    order: list[str] = []

    async def execute(call: ToolCall) -> ToolResult:
        order.append(f"start {call.id}")
        await asyncio.sleep(0.02)
        order.append(f"end {call.id}")
        return ToolResult("ok")

    outcomes: list[ToolResult] = []
    async for _ in run_calls(calls("Read", "Edit", "Read"), execute, outcomes, round_number=1, max_rounds=3,
                             parallel=parallel):
        pass
    assert order == ["start c0", "end c0", "start c1", "end c1", "start c2", "end c2"]


async def test_side_events_come_before_the_finish_of_the_call_that_emitted_them() -> None:
    side = SideEvents()

    async def execute(call: ToolCall) -> ToolResult:
        for piece in ("a", "b"):
            side.emit(AgentUpdate(call.id, TextDelta(piece)))
            await asyncio.sleep(0)
        return ToolResult("done")

    outcomes: list[ToolResult] = []
    events: list[ChatEvent] = [e async for e in run_calls(calls("Task"), execute, outcomes, round_number=1,
                                                          max_rounds=1, parallel=parallel, side=side)]
    assert [type(e).__name__ for e in events] == ["ToolStarted", "AgentUpdate", "AgentUpdate", "ToolFinished"]


async def test_a_call_that_raises_fails_alone() -> None:
    async def execute(call: ToolCall) -> ToolResult:
        if call.id == "c0":
            raise RuntimeError("boom")
        return ToolResult("fine")

    outcomes: list[ToolResult] = []
    async for _ in run_calls(calls("Read", "Read"), execute, outcomes, round_number=1, max_rounds=1,
                             parallel=parallel):
        pass
    assert (outcomes[0].is_error, "boom" in outcomes[0].content, outcomes[1].content) == (True, True, "fine")


async def test_leaving_the_round_cancels_the_calls_still_running() -> None:
    cancelled: list[str] = []
    started = asyncio.Event()

    async def execute(call: ToolCall) -> ToolResult:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(call.id)
            raise
        return ToolResult("never")

    async def consume() -> None:
        async for _ in run_calls(calls("Task", "Task"), execute, [], round_number=1, max_rounds=1,
                                 parallel=parallel, side=SideEvents()):
            pass

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert sorted(cancelled) == ["c0", "c1"]
