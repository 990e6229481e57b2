"""The file tree's first paint on a 100,000-file repository against a 10-file one.

Both repositories have the same shape at the top (folders pkg0..pkg19, a .gitignore and an
ignored node_modules/), so the first level of the tree looks alike; only what lies below it
differs. Each run starts the real ``buddy-tui PROJECT`` in a pseudo-terminal and times from the
fork to the moment a first-level folder and the prompt's placeholder are both on screen (the
real rendering path, as a user sees it). Small and large runs alternate, so both see the same
machine load; the figure is the ratio of their medians.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from benchmarks.common import Figure, buddy_argv, buddy_env, compile_sources, median
from benchmarks.terminal import Terminal

LARGE = 100_000
SMALL = 10
TOP_FOLDERS = 20
PER_FOLDER = 100
#: A first-level folder of both repositories, and the prompt's placeholder (the app is usable).
MARKERS = ("pkg1", "Ask the persona")


def make_repo(root: Path, files: int) -> Path:
    """``files`` small Python files in folders pkg0..pkg19 (about 100 a sub-folder), plus a
    .gitignore and an ignored node_modules/."""
    root.mkdir(parents=True)
    (root / ".gitignore").write_text("node_modules/\n*.log\n")
    made: set[Path] = set()
    for i in range(files):
        folder = root / f"pkg{i % TOP_FOLDERS}" / f"mod{(i // PER_FOLDER) % 50}"
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        handle = os.open(folder / f"file_{i}.py", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        try:
            os.write(handle, b"VALUE = %d\n" % i)
        finally:
            os.close(handle)
    (root / "node_modules" / "left-pad").mkdir(parents=True)
    (root / "node_modules" / "left-pad" / "index.js").write_text("module.exports = 1\n")
    return root


def first_paint(argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 60.0) -> float:
    """Seconds from fork until every one of :data:`MARKERS` has reached the screen."""
    with Terminal(argv, env, cwd) as term:
        return term.seen(*MARKERS, timeout=timeout) - term.started


def measure(runs: int = 5) -> list[Figure]:
    """The tree first-paint figure (medians of ``runs`` alternating runs, after one warm-up each)."""
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="bench-tree-") as tmp:
        base = Path(tmp)
        repos = {"small": make_repo(base / "small", SMALL), "large": make_repo(base / "large", LARGE)}
        env = buddy_env(base, "http://127.0.0.1:9")  # nothing listens there; no question is asked
        times: dict[str, list[float]] = {"small": [], "large": []}
        for repo in repos.values():  # warm-up: bytecode and directory entries in the page cache
            first_paint(buddy_argv(str(repo)), env, repo)
        for _ in range(runs):
            for name, repo in repos.items():
                times[name].append(first_paint(buddy_argv(str(repo)), env, repo))
    return [Figure(f"tree first paint, {LARGE:,} files", median(times["large"], "large tree paint"), "s", "ratio<=",
                   1.5, median(times["small"], "small tree paint"), f"vs {SMALL} files")]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 5)))
