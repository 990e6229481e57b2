"""A long conversation: open a 300-turn conversation (about 1 MB of text) with ``--continue``,
jump to its top, and see how much memory it holds, against a 3-turn one in the same run.

The conversations are written straight into a history database in a temporary data folder
(through the same Store the app uses); buddy-tui runs in a pseudo-terminal.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, buddy_argv, buddy_env, compile_sources, make_project, median
from benchmarks.terminal import Terminal
from buddy_tui.store.history import Store
from buddy_tui.store.records import TurnRecord, Usage

CTRL_HOME = "\x1b[1;5H"
ANSWER = """Here is the plan for step {n}.

- Put a **timeout** on every call to `payments-api`; {n} retries at most, with jitter.
- Make the write idempotent: key it on `Idempotency-Key` and store the result for 24 h.

```python
async def step_{n}(client, payload):
    async with asyncio.timeout(2):
        return await client.post("/v1/payments", json=payload, headers={{"Idempotency-Key": payload["id"]}})
```

| metric | before | after |
|---|---|---|
| p95 | {p95} ms | {after} ms |
| errors | 0.{n}% | 0.1% |

Measure it under the same load before you merge. {filler}
"""


def question(n: int) -> str:
    return f"TURN-{n:03d}-Q: what should change in step {n} of the payment flow?"


def write_conversation(data: Path, project: Path, turns: int) -> int:
    """A conversation of ``turns`` turns, ~3.4 KB of text each, in ``data``'s history database;
    returns how many characters of text it holds."""
    store = Store(data / "history.sqlite3")
    conversation = store.create_conversation(str(project), "Payment flow review", "backend", "claude-test")
    filler = "Keep the change small and observable. " * 72
    size = 0
    for n in range(1, turns + 1):
        reply = ANSWER.format(n=n, p95=300 + n, after=120 + n % 50, filler=filler)
        if n == turns:
            reply += f"\nTURN-{n:03d}-END\n"
        record = TurnRecord(question(n), "backend", "Backend", "claude-test",
                            user=[{"type": "text", "text": question(n)}])
        size += len(reply) + len(record.typed)
        store.begin_turn(conversation, record)
        record.reply, record.state, record.usage = reply, "complete", Usage(1200, 400)
        record.recorded = [{"role": "user", "content": record.user},
                           {"role": "assistant", "content": [{"type": "text", "text": reply}]}]
        store.save_turn(record)
    store.close()
    return size


def open_once(project: Path, env: dict[str, str], turns: int) -> tuple[float, float, int]:
    """Seconds to the newest turn on screen, seconds from Ctrl+Home to the first turn's reply on
    screen, and the resident memory after that."""
    with Terminal(buddy_argv("--continue", str(project)), env, project) as term:
        shown = term.seen(f"TURN-{turns:03d}-END", "Ask the persona", timeout=60)
        time.sleep(0.3)
        after = term.position
        pressed = term.send(CTRL_HOME)
        top = term.seen("plan for step 1.", after=after, timeout=60)  # the first reply, built (not its stub)
        time.sleep(1.0)
        return shown - term.started, top - pressed, term.rss()


def measure(runs: int = 3) -> list[Figure]:
    """Open, jump to the top, and memory: 300 turns against 3."""
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        project = make_project(base / "orders")
        results: dict[int, list[tuple[float, float, int]]] = {3: [], 300: []}
        envs, sizes = {}, {}
        for turns in results:
            env = buddy_env(base / f"t{turns}")
            sizes[turns] = write_conversation(Path(env["BUDDY_TUI_DATA_DIR"]), project, turns)
            envs[turns] = env
        size = sizes[300]
        for _ in range(runs):
            for turns in results:
                results[turns].append(open_once(project, envs[turns], turns))
    big, small = results[300], results[3]
    return [
        Figure("300-turn conversation (~1 MB): open with --continue", median([r[0] for r in big], "open"), "s",
               "value<=", 1.0, median([r[0] for r in small], "open 3"), f"3-turn as baseline; ~{size // 1024} KB"),
        Figure("300-turn conversation: Ctrl+Home to its first turn on screen", median([r[1] for r in big], "top"), "s",
               "value<=", 1.0, median([r[1] for r in small], "top 3"), "3-turn as baseline"),
        Figure("300-turn conversation: memory after reaching the top (RSS)", median([r[2] / 2**20 for r in big], "rss"),
               "MB", "ratio<=", 2.0, median([r[2] / 2**20 for r in small], "rss 3"), "vs a 3-turn conversation"),
    ]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
