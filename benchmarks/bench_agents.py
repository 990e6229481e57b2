"""A review with three expert agents streaming at once: how soon each agent's end and the lead's
answer reach the screen, and what the app's CPU costs against the SDK alone reading the same
four streams.

The fake API (in this process) answers the lead with a Task call for each of security,
performance and devops; the three agents then stream Markdown at 250 deltas a second each, at
the same time, and the lead's answer follows at 250 deltas a second. The real buddy-tui runs in a
pseudo-terminal. The floor is the async SDK alone, in this process, iterating the same streams
the same way (the three agents concurrently), its CPU taken for its own thread (the fake server
runs in another).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import Figure, buddy_argv, buddy_env, compile_sources, make_project, median
from benchmarks.reply import MARKER, chunks, long_reply
from benchmarks.terminal import Terminal, TimedOut

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.fake_api import FakeAnthropic, RecordedRequest, Reply, ToolUse  # noqa: E402

PACE = 1 / 250  # seconds between deltas: 250 a second, per stream
AGENTS = ("security", "performance", "devops")
AGENT_TOKENS = 2_500  # about 10 s of streaming each at 250 deltas/s of 4 tokens
LEAD_TOKENS = 2_500
QUESTION = "/buddy:review the order service"


def _marker(agent: str) -> str:
    return f"ZQXJ-END-OF-{agent.upper()}"


def _agent_reply(agent: str) -> Reply:
    text = long_reply(AGENT_TOKENS).replace(MARKER, _marker(agent))
    return Reply(chunks(text), pace=PACE, output_tokens=AGENT_TOKENS)


def _prompt_start(name: str) -> str:
    """The first words of a bundled persona's prompt: how its requests are told apart."""
    from buddy_tui.personas.persona import bundled_personas

    return bundled_personas()[name].prompt[:60]


def script(fake: FakeAnthropic) -> None:
    """Queue one run: the lead's Task calls, three agents, the lead's answer."""
    starts = {agent: _prompt_start(agent) for agent in AGENTS}
    for agent, start in starts.items():
        fake.route(lambda body, s=start: s in _system(body), _agent_reply(agent))
    tasks = [ToolUse(f"toolu_{agent}", "Task", {"description": f"{agent} pass", "subagent_type": agent,
                                                 "prompt": f"Review the order service for {agent} issues."})
             for agent in AGENTS]
    lead = _prompt_start("backend")
    fake.route(lambda body: lead in _system(body), Reply(["Handing this to three experts."], tools=tasks),
               Reply(chunks(long_reply(LEAD_TOKENS)), pace=PACE, output_tokens=LEAD_TOKENS))


def _system(body: dict[str, Any]) -> str:
    system = body.get("system") or []
    return system if isinstance(system, str) else "".join(block.get("text", "") for block in system)


@dataclass
class Run:
    """One review as the app handled it."""

    lead_lag: float  # the lead's last delta to its last line on screen
    agent_lag: float  # the slowest agent: its last delta to its end on screen
    cpu: float  # the app's CPU from the lead's first request to its last line on screen


def _answered(fake: FakeAnthropic, start: str) -> RecordedRequest:
    found = [r for r in fake.message_requests() if start in r.system_text]
    if not found or found[-1].answered is None:
        raise TimedOut(f"the stream for {start[:30]!r} never completed")
    return found[-1]


def review_once(fake: FakeAnthropic, env: dict[str, str], project: Path) -> Run:
    """Start buddy-tui, run the review, measure."""
    script(fake)
    with Terminal(buddy_argv(str(project)), env, project) as term:
        term.seen("Ask the persona", timeout=60)
        time.sleep(0.5)
        after = term.position
        marks: list[float] = []
        fake.on_message = lambda _body: marks.append(term.cpu()) if not marks else None  # the SDK is loaded by then
        try:
            term.send(QUESTION)
            time.sleep(0.2)
            term.send("\r")
            ends = {agent: term.seen(_marker(agent), after=after, timeout=120) for agent in AGENTS}
            shown = term.seen(MARKER, after=after, timeout=120)
            cpu = term.cpu() - marks[0]
        finally:
            fake.on_message = None
    lags = [ends[a] - (_answered(fake, _prompt_start(a)).answered or 0) for a in AGENTS]
    lead = [r for r in fake.message_requests() if _prompt_start("backend") in r.system_text][-1]
    return Run(lead_lag=shown - (lead.answered or shown), agent_lag=max(lags), cpu=cpu)


async def _floor_once(base_url: str) -> None:
    import anthropic

    async def read(body: dict[str, Any]) -> None:
        stream = await client.messages.create(**body, stream=True)
        async with stream:
            async for _ in stream:
                pass

    def request(persona: str, text: str) -> dict[str, Any]:
        return {"model": "claude-bench", "max_tokens": 8192, "system": _prompt_start(persona),
                "messages": [{"role": "user", "content": text}]}

    async with anthropic.AsyncAnthropic(api_key="sk-bench", base_url=base_url, max_retries=0) as client:
        await read(request("backend", QUESTION))
        await asyncio.gather(*(read(request(agent, "review")) for agent in AGENTS))
        await read(request("backend", QUESTION))


def floor_once(fake: FakeAnthropic) -> float:
    """CPU of the SDK alone reading the same four streams, the agents' three at once."""
    import anthropic  # noqa: F401  (loaded before the clock starts, as the app has it loaded)

    script(fake)
    started = time.thread_time()
    asyncio.run(_floor_once(fake.base_url))
    return time.thread_time() - started


def measure(runs: int = 3) -> list[Figure]:
    """The agent figures."""
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        base = Path(tmp)
        project = make_project(base / "orders")
        env = buddy_env(base, fake.base_url)
        ours = [review_once(fake, env, project) for _ in range(runs)]
        floors = [floor_once(fake) for _ in range(runs)]
    floor = median(floors, "floor")
    return [
        Figure("review with 3 agents at 250 deltas/s each: an agent's last delta to its end on screen (worst)",
               median([r.agent_lag for r in ours], "agent lag"), "s", "value<=", 0.15),
        Figure("same: the lead's last delta to its answer's last line on screen",
               median([r.lead_lag for r in ours], "lead lag"), "s", "value<=", 0.15),
        Figure("same: app CPU vs the SDK alone reading the same four streams", median([r.cpu for r in ours], "cpu"),
               "s", "ratio<=", 1.6, floor, "SDK floor, same run; three agents at once"),
    ]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
