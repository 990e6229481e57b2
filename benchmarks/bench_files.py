"""A 50 MB file in the preview: how soon its head is shown, and the longest the UI went without
running meanwhile. (The tree's first paint on 100,000 files is benchmarks/bench_tree.py.)

Runs the real app in this process with Textual's test driver (the real compositor, no terminal),
with its own data and config folders and no credentials, so nothing of the developer's is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.bench_tree import make_repo
from benchmarks.common import Figure, buddy_env, median

SIZE = 50 * 1024 * 1024
LINE = "INSERT INTO orders (id, user_id, total_cents) VALUES (1, 2, 300);\n"


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """This process's environment replaced by ``values`` for the duration."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def open_big_file(root: Path, path: Path) -> tuple[float, float]:
    """Seconds to show a huge file in the preview, and the longest the event loop went without
    running (how long the UI could not answer a key) while it loaded."""
    from buddy_tui.conversation.session import open_session
    from buddy_tui.settings.model_settings import Settings
    from buddy_tui.ui.app import BuddyApp
    from buddy_tui.ui.widgets.file_browser import FilePreview

    app = BuddyApp(open_session(root, None, Settings()))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.3)
        preview = app.query_one(FilePreview)
        started = time.perf_counter()
        preview.show(path)
        worst_gap, last = 0.0, time.perf_counter()
        while preview.preview is None:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            worst_gap, last = max(worst_gap, now - last), now
        await pilot.pause()  # one more frame: the lines are painted
        shown = time.perf_counter() - started
        if preview.preview.kind != "text" or not preview.preview.text.startswith(LINE):
            raise AssertionError(f"the preview showed {preview.preview.kind}: {preview.preview.message!r}")
        return shown, worst_gap


def measure(runs: int = 5) -> list[Figure]:
    """The preview figure: medians of ``runs`` opens of a 50 MB file."""
    with tempfile.TemporaryDirectory(prefix="bench-files-") as tmp:
        base = Path(tmp)
        project = make_repo(base / "small", 10)
        huge = project / "dump.sql"
        with huge.open("w") as handle:
            handle.write(LINE * (SIZE // len(LINE)))
        with environment(buddy_env(base, "http://127.0.0.1:9")):
            opens = [asyncio.run(open_big_file(project, huge)) for _ in range(runs)]
    stall = median([o[1] for o in opens], "worst UI stall")
    return [Figure("head of a 50 MB file shown", median([o[0] for o in opens], "50 MB preview"), "s", "value<=", 1.0,
                   note=f"worst UI stall {stall * 1000:.0f} ms")]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
