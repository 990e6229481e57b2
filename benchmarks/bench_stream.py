"""A long answer streaming in: how soon the whole of it is on screen, whether its cost grows with
its length, how it compares with re-rendering everything on each delta, and whether keys still
echo at once while it streams.

The fake API (in this process) streams a ~20,000-token Markdown answer (benchmarks/reply.py) at
1,000 deltas a second to the real buddy-tui in a pseudo-terminal. The server notes when it sends
each delta and reads the app's CPU time at the first, 10 %, 90 % and last delta; the terminal
notes when the answer's last line reaches the screen.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Figure, buddy_argv, buddy_env, compile_sources, make_project, median
from benchmarks.reply import MARKER, chunks, long_reply
from benchmarks.terminal import Terminal, TimedOut

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.fake_api import FakeAnthropic, Reply  # noqa: E402

PACE = 0.001  # seconds between deltas: 1,000 a second
QUESTION = "review every hot path of this service for reliability"
ECHO = "\u00a4"  # a character the answer never contains


@dataclass
class Streamed:
    """One streamed answer as the app handled it."""

    lag: float  # seconds from the server's last delta to the last line on screen
    cpu_first_tenth: float  # CPU seconds the app used while the first tenth of the deltas arrived
    cpu_last_tenth: float
    cpu_total: float  # from the first delta to the whole answer on screen (or to the cap)
    finished: bool
    echoes: list[float]  # key echo latencies measured while it streamed


class Progress:
    """Server-side marks: when the first, 10 %, 90 % and last deltas went out, and the app's CPU."""

    def __init__(self, term: Terminal) -> None:
        self.term = term
        self.marks: dict[str, tuple[float, float]] = {}

    def __call__(self, index: int, total: int) -> None:
        names = {0: "first", total // 10: "tenth", total - total // 10: "ninth", total - 1: "last"}
        if index in names:
            self.marks[names[index]] = (time.monotonic(), self.term.cpu())


def echo_once(term: Terminal) -> float:
    """Type a character into the prompt; seconds until it is drawn. Then delete it again."""
    after = term.position
    sent = term.send(ECHO)
    seen = term.seen(ECHO, after=after, timeout=10)
    term.send("\x7f")
    time.sleep(0.1)
    return seen - sent


def stream_once(fake: FakeAnthropic, argv: list[str], env: dict[str, str], cwd: Path, *, ask: bool,
                echo: bool = False, cap: float = 60.0) -> Streamed:
    """Start ``argv``, let it ask (typing the question when ``ask``), stream the answer, measure."""
    answer = chunks(long_reply())
    fake.queue(Reply(answer, pace=PACE, output_tokens=20_000))
    with Terminal(argv, env, cwd) as term:
        progress = Progress(term)
        fake.on_chunk = progress
        try:
            after = term.position
            if ask:
                term.seen("Ask the persona", timeout=60)
                time.sleep(0.3)
                after = term.position
                term.send(QUESTION)
                time.sleep(0.2)
                term.send("\r")
            echoes: list[float] = []
            deadline = time.monotonic() + cap
            while echo and "last" not in progress.marks and time.monotonic() < deadline:
                if "first" in progress.marks:
                    echoes.append(echo_once(term))
                time.sleep(0.15)
            try:
                shown = term.seen(MARKER, after=after, timeout=max(1.0, deadline - time.monotonic()))
                finished = True
            except TimedOut:
                shown, finished = time.monotonic(), False
            cpu_end = term.cpu()
            first, tenth = progress.marks["first"], progress.marks.get("tenth", progress.marks["first"])
            ninth, last = progress.marks.get("ninth", first), progress.marks.get("last", first)
            return Streamed(lag=shown - last[0], cpu_first_tenth=tenth[1] - first[1],
                            cpu_last_tenth=last[1] - ninth[1], cpu_total=cpu_end - first[1], finished=finished,
                            echoes=echoes)
        finally:
            fake.on_chunk = None


def idle_echoes(fake: FakeAnthropic, env: dict[str, str], project: Path, samples: int = 15) -> list[float]:
    """Key echo in the idle app (after one short answer, so the SDK is loaded, as it would be)."""
    fake.queue(Reply(["Ready."]))
    with Terminal(buddy_argv(str(project)), env, project) as term:
        term.seen("Ask the persona", timeout=60)
        term.send("warm up\r")
        term.seen("Ready.", timeout=30)
        time.sleep(0.5)
        return [echo_once(term) for _ in range(samples)]


def measure(runs: int = 3, naive_cap: float = 90.0) -> list[Figure]:
    """The four streaming figures."""
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        base = Path(tmp)
        project = make_project(base / "orders")
        env = buddy_env(base, fake.base_url)
        ours = [stream_once(fake, buddy_argv(str(project)), env, project, ask=True) for _ in range(runs)]
        typing = [stream_once(fake, buddy_argv(str(project)), env, project, ask=True, echo=True)
                  for _ in range(max(1, runs - 1))]
        idle = idle_echoes(fake, env, project)
        naive = stream_once(fake, [sys.executable, str(HERE / "apps" / "naive.py")], env, project, ask=False,
                            cap=naive_cap)
    if not all(run.finished for run in ours + typing):
        raise TimedOut("buddy-tui never showed the whole answer")
    return [*_figures(ours, typing, idle, naive, naive_cap), *long_block_work(), *big_tool_input_work()]


def _figures(ours: list[Streamed], typing: list[Streamed], idle: list[float], naive: Streamed,
             naive_cap: float) -> list[Figure]:
    streaming_echo = [e for run in typing for e in run.echoes]
    growth = [r.cpu_last_tenth / r.cpu_first_tenth for r in ours if r.cpu_first_tenth > 0]
    ours_cpu = median([r.cpu_total for r in ours], "cpu total")
    naive_note = "naive renderer, same run" + ("" if naive.finished else
                                               f"; it had not finished after {naive_cap:.0f} s, so this is a floor")
    return [
        Figure("20,000-token reply at 1,000 deltas/s: last delta to whole reply on screen",
               median([r.lag for r in ours], "lag"), "s", "value<=", 0.25),
        Figure("same reply: CPU per 1,000 tokens, last tenth vs first tenth", median(growth, "growth"), "x",
               "value<=", 1.5, note="cost must not grow with length"),
        Figure("same reply: CPU, buddy-tui vs re-rendering the whole Markdown on every delta", ours_cpu, "s",
               "speedup>=", 5.0, naive.cpu_total, naive_note),
        Figure("key echo in the prompt while that reply streams", median(streaming_echo, "echo"), "s", "ratio<=",
               2.0, median(idle, "idle echo"), f"vs the idle app; {len(streaming_echo)} keys, p95 "
               f"{statistics.quantiles(streaming_echo, n=20)[-1] * 1000:.0f} ms"),
    ]


CODE_LINE = "    total = compute(orders, customer)  # one line of the answer's code\n"


def _old_way(text: str, delta: int) -> None:
    """The baseline: what a delta cost before (every delta re-parsed the whole last block, inline
    rules included), kept here so that the same run measures both."""
    from buddy_tui.display.blocks import parser

    tail = ""
    for start in range(0, len(text), delta):
        tail += text[start:start + delta]
        parser().parse(tail)


def _ours(text: str, delta: int) -> None:
    from buddy_tui.display.blocks import MarkdownBlocks
    from buddy_tui.display.splitter import BlockSplitter

    splitter, blocks = BlockSplitter(), MarkdownBlocks()
    for start in range(0, len(text), delta):
        for index, part in enumerate(splitter.feed(text[start:start + delta])):
            if index:
                blocks = MarkdownBlocks()
            blocks.append(part)


def long_block_work(lines: int = 6_000, delta: int = 400) -> list[Figure]:
    """A reply that is one long code block (~430 KB), split and parsed as it streams: CPU of
    buddy-tui's blocks and splitter against re-parsing the growing block on every delta."""
    text = "Here is the module:\n\n```python\n" + CODE_LINE * lines + "```\n"
    costs = {}
    for name, run in (("ours", _ours), ("old", _old_way)):
        started = time.process_time()
        run(text, delta)
        costs[name] = time.process_time() - started
    return [Figure(f"one {len(text) // 1000} KB code block streamed in {delta}-character deltas: split and parse CPU, "
                   "buddy-tui vs re-parsing the growing block per delta", costs["ours"], "s", "speedup>=", 10.0,
                   costs["old"], "old way, same run")]


def big_tool_input_work(size: int = 1_000_000, piece: int = 20) -> list[Figure]:
    """A Write whose input is ~1 MB, streamed by the fake API (in this process) as ``piece``-character
    input_json_delta events: the CPU of the thread that reads the stream, buddy-tui's round
    (raw events, one parse per block) against the SDK's ``messages.stream`` helper it replaced (a
    snapshot per event, the whole partial JSON re-parsed per delta), in the same run; and how
    buddy-tui's cost grows when the input doubles."""
    import asyncio

    import anthropic

    from buddy_tui.conversation.chat import stream_turn
    from tests.fake_api import ToolUse

    request = {"model": "claude-test", "max_tokens": 256, "messages": [{"role": "user", "content": "Write it."}]}

    async def ours(client: anthropic.AsyncAnthropic) -> None:
        async for _ in stream_turn(client, request):
            pass

    async def old(client: anthropic.AsyncAnthropic) -> None:
        async with client.messages.stream(**request) as stream:  # type: ignore[arg-type]
            async for _ in stream:
                pass
            await stream.get_final_message()

    def tool(chars: int) -> ToolUse:
        return ToolUse("toolu_big", "Write", {"path": "app/big.py", "content": "x" * chars}, piece=piece)

    async def cpu(fake: FakeAnthropic, run: Callable[[anthropic.AsyncAnthropic], Awaitable[None]],
                  chars: int) -> float:
        fake.queue(Reply([], tools=[tool(chars)]))
        async with anthropic.AsyncAnthropic(api_key="sk-bench", base_url=fake.base_url, max_retries=0) as client:
            started = time.thread_time()  # this thread only: the fake server runs in its own
            await run(client)
            return time.thread_time() - started

    async def all_runs(fake: FakeAnthropic) -> tuple[float, float, float]:
        return await cpu(fake, ours, size), await cpu(fake, old, size), await cpu(fake, ours, 2 * size)

    with FakeAnthropic() as fake:
        mine, sdk, double = asyncio.run(all_runs(fake))
    kb = len(tool(size).json) // 1000
    return [
        Figure(f"a {kb} KB tool input in {piece}-character deltas: CPU reading the stream, buddy-tui vs the "
               "SDK's messages.stream", mine, "s", "speedup>=", 2.0, sdk,
               f"SDK {anthropic.__version__} helper, same run; the server's own CPU excluded"),
        Figure("same, the input doubled: CPU, twice the size vs once", double / mine, "x", "value<=", 2.5,
               note="linear: about 2"),
    ]

if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
