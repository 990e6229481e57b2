"""A very long reply in the app: CPU time (``time.process_time``) of a Pilot-driven app, in this
process, against the fake API, for replies of several shapes (ordinary Markdown, one huge
paragraph line, one long list, one big table, one long quote) in 64-character deltas.

The baseline, in the same run, is the floor: the SDK alone reading the same stream from the same
fake server (what any client pays before it draws anything). A second figure checks that cost
grows in proportion to length: the 5 MB reply against five times the 1 MB one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Figure, make_project
from benchmarks.reply import long_reply

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.fake_api import FakeAnthropic, Reply, split_text  # noqa: E402

DELTA = 64
MB = 1_000_000


def ordinary(size: int) -> str:
    """Paragraphs, headings, lists, tables and short code blocks."""
    piece = long_reply(20_000)
    return (piece * (size // len(piece) + 1))[:size]


def paragraph(size: int) -> str:
    """One paragraph on one line: no line break at all."""
    words = "the quick brown fox jumps over the lazy dog while orders stream in "
    return (words * (size // len(words) + 1))[:size]


def bullets(size: int) -> str:
    """One list with no blank line in it: a single block."""
    rows = []
    total, n = 0, 0
    while total < size:
        row = f"- item {n} with some **bold** words and `code` here\n"
        rows.append(row)
        total += len(row)
        n += 1
    return "".join(rows)[:size]


def table_text(size: int) -> str:
    """One table: a header, then rows."""
    rows = ["| id | name | status | latency |\n|---|---|---|---|\n"]
    total, n = len(rows[0]), 0
    while total < size:
        row = f"| {n} | order {n} | shipped | {n % 97} ms |\n"
        rows.append(row)
        total += len(row)
        n += 1
    return "".join(rows)[:size]


def quote(size: int) -> str:
    """One block quote, a line at a time."""
    rows = []
    total, n = 0, 0
    while total < size:
        row = f"> line {n} of the quoted log: request served in {n % 97} ms\n"
        rows.append(row)
        total += len(row)
        n += 1
    return "".join(rows)[:size]


SHAPES: dict[str, Callable[[int], str]] = {"ordinary": ordinary, "paragraph": paragraph, "list": bullets,
                                           "table": table_text, "quote": quote}


def _isolate(base: Path, url: str) -> None:
    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "BUDDY_TUI_")):
            del os.environ[name]
    os.environ.update({"BUDDY_TUI_DATA_DIR": str(base / "data"), "BUDDY_TUI_CONFIG_DIR": str(base / "config"),
                       "HOME": str(base / "home"), "ANTHROPIC_BASE_URL": url,
                       "ANTHROPIC_API_KEY": "sk-ant-benchmark"})


async def _in_app(fake: FakeAnthropic, project: Path, text: str, cap: float) -> float:
    """CPU seconds from the question to the whole reply on screen."""
    from tests.helpers import connected, make_app, settled, submit, wait_for

    fake.queue(Reply(split_text(text, DELTA)))
    app = make_app(project, history=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await connected(pilot, app)
        started = time.process_time()
        await submit(pilot, app, "the whole log please")
        await wait_for(pilot, lambda: fake.completed_streams and settled(app), timeout=cap, what="the reply")
        spent = time.process_time() - started
    return spent


def _floor(fake: FakeAnthropic, text: str) -> float:
    """CPU seconds for the SDK alone to read the same stream."""
    import anthropic

    fake.queue(Reply(split_text(text, DELTA)))
    client = anthropic.Anthropic(base_url=fake.base_url, api_key="sk-ant-benchmark")
    started = time.process_time()
    got = []
    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64_000,
                                messages=[{"role": "user", "content": "x"}]) as stream:
        for piece in stream.text_stream:
            got.append(piece)
    spent = time.process_time() - started
    assert "".join(got) == text
    return spent


def cpu_table(sizes: tuple[int, ...], shapes: tuple[str, ...], cap: float = 600.0) -> dict[tuple[str, int], float]:
    """CPU seconds in the app for each shape and size (and "floor" for the SDK alone)."""
    found: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-bigreply-") as tmp, FakeAnthropic() as fake:
        base = Path(tmp)
        _isolate(base, fake.base_url)
        project = make_project(base / "orders")
        for size in sizes:
            found[("floor", size)] = _floor(fake, ordinary(size))
            print(f"floor {size}: {found[('floor', size)]:.2f}", file=sys.stderr, flush=True)
            for shape in shapes:
                found[(shape, size)] = asyncio.run(_in_app(fake, project, SHAPES[shape](size), cap))
                print(f"{shape} {size}: {found[(shape, size)]:.2f}", file=sys.stderr, flush=True)
    return found


def measure() -> list[Figure]:
    """The 5 MB figures."""
    found = cpu_table((MB, 5 * MB), tuple(SHAPES))
    figures = []
    for shape in SHAPES:
        figures.append(Figure(f"5 MB reply ({shape}) in {DELTA}-character deltas: app CPU vs the SDK alone reading "
                              "it", found[(shape, 5 * MB)], "s", "ratio<=", 4.0, found[("floor", 5 * MB)],
                              "floor, same run"))
    return figures


if __name__ == "__main__":
    sizes = tuple(int(float(s) * MB) for s in (sys.argv[1] if len(sys.argv) > 1 else "1").split(","))
    shapes = tuple((sys.argv[2] if len(sys.argv) > 2 else ",".join(SHAPES)).split(","))
    for (shape, size), cpu in cpu_table(sizes, shapes).items():
        print(f"{shape}\t{size / MB:g} MB\t{cpu:.2f} s")
