"""The context budget holds for every request of a turn, tool rounds included: a round runs a
bounded number of tool calls, their results are cut to a share of the window, and a follow-up
request that would not fit is never sent. Checked on what the fake API received and on what the
history keeps, with the real SDK and the engine."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.context.budget import MAX_TOOL_CALLS_PER_ROUND, RoundLimits, estimate_request, fit_results
from buddy_tui.conversation.chat import ToolFinished, TurnFinished
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.engine import Engine, EngineEvent, Question, TurnStarted
from buddy_tui.conversation.session import TurnPlan, open_session
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import open_store
from tests.fake_api import FakeAnthropic, Reply, many_tools, scripted_fault
from tests.helpers import ScriptedAsker

LINE = "x = '" + "abcdefghij" * 28 + "'  # a long line of code\n"  # ~310 characters


def big_file(root: Path) -> str:
    (root / "app" / "big.py").write_text(LINE * 400)  # what one Read returns by default: ~124 KB
    return "app/big.py"


async def run_turn(root: Path, typed: str, **settings: Any) -> tuple[Engine, list[EngineEvent]]:
    store, problem = open_store(history_path())
    session = open_session(root, None, Settings(**{"max_retries": 0, **settings}), store, problem)
    client, connection = connect(session.settings)
    assert client is not None, connection.message
    engine = Engine(session, ScriptedAsker([]), client)
    plan = engine.interpret(typed, [])
    assert isinstance(plan, TurnPlan)
    events = [event async for event in engine.run(Question(plan))]
    await engine.close()
    return engine, events


def stored_size() -> int:
    """Characters of every message the history database holds."""
    with sqlite3.connect(history_path()) as db:
        rows = db.execute("SELECT * FROM turns").fetchall()
    return sum(len(str(value)) for row in rows for value in row)


async def test_two_hundred_reads_in_one_round_stay_within_the_budget(online: FakeAnthropic, project: Path) -> None:
    path = big_file(project)
    online.queue(many_tools(200, path), Reply.of("Read enough."))
    engine, events = await run_turn(project, "read it all")
    assert isinstance(events[-1], TurnFinished) and events[-1].stop_reason == "end_turn"
    ran = [e for e in events if isinstance(e, ToolFinished)]
    assert len(ran) == MAX_TOOL_CALLS_PER_ROUND  # the others never ran
    first, follow_up = (r.body for r in online.message_requests())
    assert first is not None and follow_up is not None
    results = follow_up["messages"][-1]["content"]
    assert [r["tool_use_id"] for r in results] == [f"toolu_many_{i}" for i in range(200)]  # each call answered
    not_run = [r for r in results if r["content"].startswith("Not run:")]
    assert len(not_run) == 200 - MAX_TOOL_CALLS_PER_ROUND and all(r["is_error"] for r in not_run)
    assert all("buddy-tui cut this tool result" in r["content"] for r in results[:MAX_TOOL_CALLS_PER_ROUND])
    limits = RoundLimits.for_window(200_000)
    result_chars = sum(len(r["content"]) for r in results[:MAX_TOOL_CALLS_PER_ROUND])
    assert result_chars <= limits.max_result_chars
    assert len(json.dumps(follow_up)) < 1_000_000  # 23.7 MB before
    assert stored_size() < 1_000_000  # 23 MB of history for the turn before
    assert len(json.dumps(engine.session.conversation.messages)) < 1_000_000


async def test_a_follow_up_that_would_not_fit_is_not_sent(online: FakeAnthropic, project: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDDY_TUI_CONTEXT_BUDGET", "20000")
    path = big_file(project)
    online.queue(*[many_tools(MAX_TOOL_CALLS_PER_ROUND, path)] * 10, Reply.of("never asked for"))
    engine, events = await run_turn(project, "read it over and over", max_tokens=1000)
    final = events[-1]
    assert isinstance(final, TurnFinished) and final.stop_reason == "over_budget"
    assert "too big for the model's context" in final.text
    requests = [r.body for r in online.message_requests()]
    assert 1 < len(requests) < 10 and online.pending > 1  # it stopped well before the tool-round limit
    for body in requests:
        assert body is not None and estimate_request(body) + 1000 <= 20_000  # every request fitted
    kept = engine.session.conversation.messages
    assert estimate_request({"messages": kept}) + 1000 <= 20_000  # the history of the turn is bounded too
    assert kept[-1]["role"] == "assistant" and all(b["type"] == "text" for b in kept[-1]["content"])
    started = next(e for e in events if isinstance(e, TurnStarted))
    assert engine.session.turns[-1] is started.record and started.record.state == "complete"


def test_fit_results_keeps_small_results_and_shares_the_rest() -> None:
    small, large = "ok", "y" * 50_000
    fitted = fit_results([small, large, large, small], 20_000)
    assert fitted[0] == small and fitted[3] == small
    assert sum(map(len, fitted)) <= 20_000
    assert all("characters left out" in f for f in fitted[1:3]) and len(fitted[1]) == len(fitted[2])
    assert fit_results([small, large], 100_000) == [small, large]


def test_a_tool_calls_input_counts_in_the_estimate() -> None:
    write = {"type": "tool_use", "id": "t", "name": "Write", "input": {"path": "a", "content": "z" * 35_000}}
    assert estimate_request({"messages": [{"role": "assistant", "content": [write]}]}) >= 10_000


def test_the_fake_api_scripts_many_tools_and_a_long_retry_after() -> None:
    reply = scripted_fault("many-tools:3")
    assert isinstance(reply, Reply) and [t.id for t in reply.tools] == ["toolu_many_0", "toolu_many_1", "toolu_many_2"]
    assert scripted_fault("retry-after:600") is not None and scripted_fault("nonsense") is None
