"""``buddy-tui ask``: the whole process, from start to exit, for a one-line answer, against
``python -c "import anthropic"`` (the floor: the command needs the SDK to ask anything).

Each run is a plain subprocess (standard output a pipe, standard input empty) answered by the
fake API in this process. The two commands alternate, after one warm-up each, so both see the
same machine load; the figure is the ratio of their medians. An ask run counts only if it exited
0 and printed exactly the reply, so a run that failed fast cannot pass for a fast one.

A second figure is ``--format markdown`` on a long list (:data:`LIST_ITEMS` items, about 35 KB,
streamed in 8-character pieces), against ``--format text`` on the same reply: a long block used to
be parsed again after every piece (49 s of CPU); rendered, it must cost about what printing it does.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Figure, buddy_env, compile_sources, make_project, median

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.fake_api import FakeAnthropic, Reply, split_text  # noqa: E402

ANSWER = "Use a connection pool."
QUESTION = "one line please"
TIMEOUT = 60.0
LIST_ITEMS = 600
#: What --format markdown may cost on the long list, as a multiple of --format text on it.
MARKDOWN_RATIO = 2.0


def long_list(items: int = LIST_ITEMS) -> str:
    """A reply that is one long Markdown list."""
    return "".join(f"- item number {i} with some **bold** words and `code` here\n" for i in range(items))


class WrongOutput(AssertionError):
    """A run did not do what it is timed for (non-zero exit, or not exactly the reply on stdout)."""


def timed_run(argv: list[str], env: dict[str, str], cwd: Path, expect: str | None = None,
              ending: str | None = None) -> float:
    """Seconds from start to exit of ``argv``; raises :class:`WrongOutput` unless it exits 0 and,
    when ``expect`` is given, prints exactly that on standard output (when ``ending`` is given,
    output that ends with it, spaces aside)."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise WrongOutput(f"{argv[1:]} exited {done.returncode}: {done.stderr.strip()[-600:]}")
    if expect is not None and done.stdout != expect:
        raise WrongOutput(f"{argv[1:]} printed {done.stdout!r}, not {expect!r}; stderr: {done.stderr.strip()[-600:]}")
    if ending is not None and not done.stdout.rstrip().endswith(ending):
        raise WrongOutput(f"{argv[1:]} printed {done.stdout[-200:]!r}, not ending with {ending!r}")
    return elapsed


def ask_argv(project: Path, *options: str) -> list[str]:
    """``buddy-tui ask`` with this interpreter, on ``project``, saving no history."""
    return [sys.executable, "-m", "buddy_tui", "ask", "--no-history", "-C", str(project), *options, QUESTION]


def measure(runs: int = 7) -> list[Figure]:
    """The ask figure (medians of ``runs`` alternating runs, after one warm-up each)."""
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="bench-ask-") as tmp, FakeAnthropic() as fake:
        base = Path(tmp)
        project = make_project(base / "orders")
        env = buddy_env(base, fake.base_url)
        baseline_argv = [sys.executable, "-c", "import anthropic"]

        def ask() -> float:
            fake.queue(Reply([ANSWER]))
            seconds = timed_run(ask_argv(project), env, project, expect=ANSWER)
            if fake.pending:
                raise WrongOutput("buddy-tui ask never asked the fake API for its reply")
            return seconds

        def list_in(form: str) -> float:
            fake.queue(Reply(split_text(long_list(), 8)))
            last = f"item number {LIST_ITEMS - 1} with some " + (
                "**bold** words and `code` here" if form == "text" else "bold words and code here")
            return timed_run(ask_argv(project, "--format", form), env, project, ending=last)

        commands: dict[str, Callable[[], float]] = {
            "ask": ask, "import": lambda: timed_run(baseline_argv, env, project),
            "markdown": lambda: list_in("markdown"), "text": lambda: list_in("text")}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():
            command()  # warm-up: the page cache, and the bytecode compile_sources did not cover
        for _ in range(runs):
            for name, command in commands.items():
                times[name].append(command())
        if fake.server_errors:
            raise WrongOutput(f"the fake API failed: {fake.server_errors!r}")
    return [Figure("buddy-tui ask, one-line reply, whole process", median(times["ask"], "ask"), "s", "ratio<=", 1.5,
                   median(times["import"], "import anthropic"), "vs python -c 'import anthropic'"),
            Figure(f"buddy-tui ask --format markdown, a {LIST_ITEMS}-item list (35 KB) in 8-character pieces",
                   median(times["markdown"], "markdown"), "s", "ratio<=", MARKDOWN_RATIO,
                   median(times["text"], "text"), "vs --format text, same reply")]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
