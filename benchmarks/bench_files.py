"""Benchmarks for files as context: tree first paint on 10 vs 100,000 files, and a 50 MB preview.

    python benchmarks/bench_files.py

Runs the real app headless (Textual's test driver, real compositor) on generated repositories in a
temporary folder, takes the median of several runs, and compares the large case with a baseline
measured in the same run. Prints a table and writes benchmarks/results/files.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from textual.widgets import DirectoryTree  # noqa: E402

from buddy_tui.core.config import Settings  # noqa: E402
from buddy_tui.core.session import open_session  # noqa: E402
from buddy_tui.ui.app import BuddyApp  # noqa: E402
from buddy_tui.ui.widgets.file_browser import FilePreview  # noqa: E402

RUNS = 5


def make_repo(root: Path, files: int) -> Path:
    """``files`` small files spread over folders (100 a folder, 20 top-level folders), plus a
    .gitignore and an ignored node_modules/."""
    root.mkdir(parents=True)
    (root / ".gitignore").write_text("node_modules/\n*.log\n")
    per_folder = 100
    for i in range(files):
        folder = root / f"pkg{i % 20}" / f"mod{(i // per_folder) % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file_{i}.py").write_text(f"VALUE = {i}\n")
    (root / "node_modules" / "left-pad").mkdir(parents=True)
    (root / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1\n")
    return root


async def first_paint(root: Path) -> float:
    """Seconds from starting the app to the tree's first level on screen."""
    os.environ.pop("ANTHROPIC_API_KEY", None)
    started = time.perf_counter()
    app = BuddyApp(open_session(root, None, Settings()))
    async with app.run_test(size=(160, 48)) as pilot:
        tree = app.query_one(DirectoryTree)
        while not tree.root.children:
            await asyncio.sleep(0.002)
        await pilot.pause()  # one more frame: the children are painted
        elapsed = time.perf_counter() - started
    return elapsed


async def open_big_file(root: Path, path: Path) -> tuple[float, float]:
    """Seconds to show a huge file in the preview, and the longest the event loop went without
    running (how long the UI could not answer a key) while it loaded."""
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
        await pilot.pause()
        return time.perf_counter() - started, worst_gap


def median(values: list[float]) -> float:
    result = statistics.median(values)
    assert result > 0, "a measurement came back as zero"
    return result


async def main() -> None:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        print("generating repositories (10 and 100,000 files)...", flush=True)
        small = make_repo(base / "small", 10)
        large = make_repo(base / "large", 100_000)
        small_runs, large_runs = [], []
        for _ in range(RUNS):  # interleaved, so both see the same machine load
            small_runs.append(await first_paint(small))
            large_runs.append(await first_paint(large))
        results["tree_first_paint_10_files_s"] = median(small_runs)
        results["tree_first_paint_100k_files_s"] = median(large_runs)
        results["tree_first_paint_ratio"] = results["tree_first_paint_100k_files_s"] / results[
            "tree_first_paint_10_files_s"]
        huge = base / "dump.sql"
        with huge.open("w") as handle:
            line = "INSERT INTO orders (id, user_id, total_cents) VALUES (1, 2, 300);\n"
            handle.write(line * (50 * 1024 * 1024 // len(line)))
        opens = [await open_big_file(small, huge) for _ in range(RUNS)]
        results["preview_50mb_open_s"] = median([o[0] for o in opens])
        results["preview_50mb_worst_ui_stall_s"] = median([o[1] for o in opens])
    out = HERE / "results" / "files.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), **results}, indent=2) + "\n")
    print(f"{'figure':40} {'value':>10}")
    for name, value in results.items():
        print(f"{name:40} {value:10.3f}")
    print(f"written to {out}")


if __name__ == "__main__":
    asyncio.run(main())
