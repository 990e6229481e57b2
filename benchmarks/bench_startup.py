"""Start-up: time to the first full paint, and memory at idle, against a minimal Textual app with
the same widgets (benchmarks/apps/minimal.py), measured alternately in the same run.

"First full paint" is the moment the terminal has been sent the tree's root, the preview's
placeholder, the chat's greeting and the prompt's placeholder: what a user sees as "open".
Memory is the resident set two seconds later, once buddy-tui has connected (and so imported the
SDK) and indexed the project.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, buddy_argv, buddy_env, compile_sources, make_project, median
from benchmarks.terminal import Terminal

HERE = Path(__file__).resolve().parent
MARKERS = ("orders", "Select a file to preview it.", "is ready", "Ask the persona")
IDLE_SECONDS = 2.0


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Seconds from fork to the first full paint, and the RSS (bytes) after settling."""
    with Terminal(argv, env, cwd) as term:
        painted = term.seen(*MARKERS, timeout=60)
        time.sleep(IDLE_SECONDS)
        return painted - term.started, term.rss()


def measure(runs: int = 7) -> list[Figure]:
    """The start-up and idle-memory figures (medians of ``runs`` alternating runs)."""
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        project = make_project(base / "orders")
        ours_argv, ours_env = buddy_argv(str(project)), buddy_env(base, "http://127.0.0.1:9")
        minimal_argv = [sys.executable, str(HERE / "apps" / "minimal.py"), str(project)]
        paint: dict[str, list[float]] = {"buddy": [], "minimal": []}
        memory: dict[str, list[float]] = {"buddy": [], "minimal": []}
        run_once(ours_argv, ours_env, project)  # warm the file cache (bytecode, fonts of the OS)
        run_once(minimal_argv, ours_env, project)
        for _ in range(runs):
            for name, argv in (("buddy", ours_argv), ("minimal", minimal_argv)):
                seconds, rss = run_once(argv, ours_env, project)
                paint[name].append(seconds)
                memory[name].append(rss / 2**20)
    return [
        Figure("start to first full paint", median(paint["buddy"], "paint"), "s", "ratio<=", 1.3,
               median(paint["minimal"], "minimal paint"), "vs a minimal Textual app with the same widgets"),
        Figure("memory at idle after start (RSS)", median(memory["buddy"], "rss"), "MB", "ratio<=", 1.5,
               median(memory["minimal"], "minimal rss"), "the same minimal app"),
    ]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
