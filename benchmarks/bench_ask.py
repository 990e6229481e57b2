"""``buddy-tui ask``: the whole process, from start to exit, for a one-line answer, against
``python -c "import anthropic"`` (the floor: the command needs the SDK to ask anything).

Each run is a plain subprocess (standard output a pipe, standard input empty) answered by the
fake API in this process. The two commands alternate, after one warm-up each, so both see the
same machine load; the figure is the ratio of their medians. An ask run counts only if it exited
0 and printed exactly the reply, so a run that failed fast cannot pass for a fast one.
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
from tests.fake_api import FakeAnthropic, Reply  # noqa: E402

ANSWER = "Use a connection pool."
QUESTION = "one line please"
TIMEOUT = 60.0


class WrongOutput(AssertionError):
    """A run did not do what it is timed for (non-zero exit, or not exactly the reply on stdout)."""


def timed_run(argv: list[str], env: dict[str, str], cwd: Path, expect: str | None = None) -> float:
    """Seconds from start to exit of ``argv``; raises :class:`WrongOutput` unless it exits 0 and,
    when ``expect`` is given, prints exactly that on standard output."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise WrongOutput(f"{argv[1:]} exited {done.returncode}: {done.stderr.strip()[-600:]}")
    if expect is not None and done.stdout != expect:
        raise WrongOutput(f"{argv[1:]} printed {done.stdout!r}, not {expect!r}; stderr: {done.stderr.strip()[-600:]}")
    return elapsed


def ask_argv(project: Path) -> list[str]:
    """``buddy-tui ask`` with this interpreter, on ``project``, saving no history."""
    return [sys.executable, "-m", "buddy_tui", "ask", "--no-history", "-C", str(project), QUESTION]


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

        commands: dict[str, Callable[[], float]] = {
            "ask": ask, "import": lambda: timed_run(baseline_argv, env, project)}
        times: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():
            command()  # warm-up: the page cache, and the bytecode compile_sources did not cover
        for _ in range(runs):
            for name, command in commands.items():
                times[name].append(command())
        if fake.server_errors:
            raise WrongOutput(f"the fake API failed: {fake.server_errors!r}")
    return [Figure("buddy-tui ask, one-line reply, whole process", median(times["ask"], "ask"), "s", "ratio<=", 1.5,
                   median(times["import"], "import anthropic"), "vs python -c 'import anthropic'")]


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 7)))
