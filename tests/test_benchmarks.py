"""The benchmark suite's own code: medians that refuse zeros, budgets judged right, a terminal that
really sees what a program draws, and a runner whose exit status tells a failure from a pass.
None of these runs a real benchmark; the slowest starts ``buddy-tui ask`` once."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks import __main__ as runner, bench_ask, bench_finder, bench_startup, bench_stream, bench_tree, common
from benchmarks.common import Figure, Zero, median
from benchmarks.reply import CHARS_PER_TOKEN, MARKER, chunks, long_reply
from benchmarks.terminal import Terminal, TimedOut
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import wait_until_blocking


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return common.buddy_env(tmp_path)


# ---------------------------------------------------------------------------------- common
@pytest.mark.parametrize("values", [[], [0.0], [0.2, 0.0, 0.3], [0.1, -0.5]])
def test_median_refuses_missing_zero_and_negative_runs(values: list[float]) -> None:
    with pytest.raises(Zero, match="paint"):
        median(values, "paint")


def test_median_of_real_runs() -> None:
    assert median([0.3, 0.1, 0.2], "x") == pytest.approx(0.2)
    assert median([0.1, 0.4], "x") == pytest.approx(0.25)


def test_value_rule() -> None:
    met = Figure("keystroke", 0.04, "s", "value<=", 0.05)
    missed = Figure("keystroke", 0.06, "s", "value<=", 0.05)
    assert met.ok and not missed.ok
    assert met.ratio is None
    assert met.budget() == "≤ 50 ms"
    assert Figure("open", 0.9, "s", "value<=", 1.0).budget() == "≤ 1.00 s"


def test_ratio_rule() -> None:
    met = Figure("paint", 1.4, "s", "ratio<=", 1.5, baseline=1.0)
    missed = Figure("paint", 1.6, "s", "ratio<=", 1.5, baseline=1.0)
    assert met.ratio == pytest.approx(1.4) and missed.ratio == pytest.approx(1.6)
    assert met.ok and not missed.ok
    assert met.budget() == f"≤ 1.5{common.TIMES}"


def test_speedup_rule() -> None:
    met = Figure("cpu", 1.0, "s", "speedup>=", 5.0, baseline=6.0)
    missed = Figure("cpu", 1.0, "s", "speedup>=", 5.0, baseline=4.0)
    assert met.ratio == pytest.approx(6.0) and missed.ratio == pytest.approx(4.0)
    assert met.ok and not missed.ok
    assert met.budget() == f"≥ 5{common.TIMES}"


@pytest.mark.parametrize("rule", ["ratio<=", "speedup>="])
def test_a_ratio_rule_without_a_baseline_cannot_be_judged(rule: common.Rule) -> None:
    with pytest.raises(ValueError, match="baseline"):
        _ = Figure("x", 1.0, "s", rule, 1.5).ok


def test_table_marks_a_missed_budget() -> None:
    text = common.table([Figure("fast one", 0.01, "s", "value<=", 0.05),
                         Figure("slow one", 2.0, "s", "ratio<=", 1.5, baseline=1.0, note="vs 10 files")])
    fast, slow = (line for line in text.splitlines() if "one" in line)
    assert fast.endswith("| yes |") and "10 ms" in fast
    assert slow.endswith("| **NO** |") and "(vs 10 files)" in slow and f"2.00{common.TIMES}" in slow


def test_write_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    path = common.write_results("some", [Figure("met", 0.01, "s", "value<=", 0.05),
                                         Figure("missed", 3.0, "s", "ratio<=", 1.5, baseline=1.0)], {"run": 7})
    assert path == tmp_path / "results" / "some.json"
    data = json.loads(path.read_text())
    assert [(f["name"], f["ok"]) for f in data["figures"]] == [("met", True), ("missed", False)]
    assert data["figures"][1]["ratio"] == pytest.approx(3.0)
    assert data["run"] == 7 and data["cpus"] == os.cpu_count()


def test_buddy_env_keeps_credentials_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-developers-own")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = common.buddy_env(tmp_path, "http://127.0.0.1:1")
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-benchmark" and env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:1"
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert "ANTHROPIC_API_KEY" not in common.buddy_env(tmp_path)


# ---------------------------------------------------------------------------------- terminal
def test_terminal_sees_text_with_escapes_stripped(env: dict[str, str]) -> None:
    program = python("import time; print('hello \\x1b[31mworld\\x1b[0m', flush=True); time.sleep(600)")
    with Terminal(program, env) as term:
        seen = term.seen("hello world", timeout=10)
        assert term.started < seen <= time.monotonic()
        assert term.rss() > 2**20
        assert term.cpu() >= 0
        with pytest.raises(TimedOut, match="never reached"):
            term.seen("goodbye", timeout=0.3)
        assert os.waitpid(term.pid, os.WNOHANG) == (0, 0)  # it gave up on its timeout, not at the program's end


def test_terminal_seen_after_a_position(env: dict[str, str]) -> None:
    program = python("import sys\nprint('tick', flush=True)\nsys.stdin.readline()\nprint('tick', flush=True)\n"
                     "sys.stdin.readline()")
    with Terminal(program, env) as term:
        first = term.seen("tick", timeout=10)
        position = term.position
        with pytest.raises(TimedOut):  # the tick before the position does not count
            term.seen("tick", after=position, timeout=0.3)
        before = time.monotonic()  # send()'s own time comes after the write: the tick may beat it
        term.send("\r")
        second = term.seen("tick", after=position, timeout=10)
        assert first < before <= second


def test_terminal_send_reaches_the_program(env: dict[str, str]) -> None:
    program = python("import sys\nprint('ready', flush=True)\n"
                     "for line in sys.stdin: print('got:' + line.strip().upper(), flush=True)")
    with Terminal(program, env) as term:
        term.seen("ready", timeout=10)
        # send() notes the time after the write returns, by which time the echo may already have
        # been read on the reader's thread: the order is only certain from a moment before it.
        before = time.monotonic()
        assert term.send("ping\r") >= before
        assert term.seen("got:PING", timeout=10) >= before


def test_terminal_cpu_counts_work(env: dict[str, str]) -> None:
    program = python("import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
                     "print('spun', flush=True); time.sleep(5)")
    with Terminal(program, env) as term:
        term.seen("spun", timeout=20)
        assert 0.3 <= term.cpu() < 10


def test_terminal_close_reaps_the_program(env: dict[str, str]) -> None:
    term = Terminal(python("import time; print('up', flush=True); time.sleep(60)"), env).start()
    term.seen("up", timeout=10)
    term.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(term.pid, os.WNOHANG)


def test_terminal_timed_out_when_the_program_ends(env: dict[str, str]) -> None:
    outcome: list[BaseException] = []

    def look() -> None:
        try:
            term.seen("never printed", timeout=600)
        except TimedOut as exc:
            outcome.append(exc)

    with Terminal(python("print('bye')"), env) as term:
        looking = threading.Thread(target=look, daemon=True)
        looking.start()
        # The program's end, not the (far longer) timeout, ends the look.
        wait_until_blocking(lambda: not looking.is_alive(), 60, "seen() to give up once the program ended")
    assert len(outcome) == 1 and "never reached" in str(outcome[0])


# ---------------------------------------------------------------------------------- the long reply
@pytest.mark.parametrize("tokens", [2_000, 20_000])
def test_long_reply(tokens: int) -> None:
    text = long_reply(tokens)
    assert abs(len(text) / CHARS_PER_TOKEN - tokens) <= tokens * 0.1
    assert text.count(MARKER) == 1 and text.rstrip("\n").endswith(MARKER)
    assert "\n## " in text and "|---|" in text and "```python" in text and "\n- **" in text
    parts = chunks(text)
    assert "".join(parts) == text and max(map(len, parts)) == 16


# ---------------------------------------------------------------------------------- figure modules
def test_startup_run_once_waits_for_every_marker(env: dict[str, str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_startup, "IDLE_SECONDS", 0.05)
    shows = "; ".join(f"print({m!r}, flush=True)" for m in bench_startup.MARKERS)
    seconds, rss = bench_startup.run_once(python(f"import time; time.sleep(0.2); {shows}; time.sleep(5)"), env,
                                          tmp_path)
    assert 0.2 <= seconds < 10 and rss > 2**20
    partial = "; ".join(f"print({m!r})" for m in bench_startup.MARKERS[:-1])
    with pytest.raises(TimedOut):
        bench_startup.run_once(python(partial), env, tmp_path)


class CountingTerminal(Terminal):
    """A terminal that runs nothing: each reading of its CPU time is one second more."""

    def __init__(self) -> None:
        super().__init__(argv=[], env={})
        self.readings = iter(range(1, 1000))

    def cpu(self) -> float:
        return float(next(self.readings))


def test_stream_progress_marks_first_tenth_ninth_last() -> None:
    progress = bench_stream.Progress(CountingTerminal())
    for index in range(200):
        progress(index, 200)
    assert {name: cpu for name, (_, cpu) in progress.marks.items()} == {
        "first": 1.0, "tenth": 2.0, "ninth": 3.0, "last": 4.0}
    times = [progress.marks[name][0] for name in ("first", "tenth", "ninth", "last")]
    assert times == sorted(times)


def test_tree_repository_shape(tmp_path: Path) -> None:
    root = bench_tree.make_repo(tmp_path / "repo", 30)
    top = sorted(p.name for p in root.iterdir())
    assert top == sorted([".gitignore", "node_modules", *(f"pkg{i}" for i in range(20))])
    assert len(list(root.glob("pkg*/*/*.py"))) == 30
    assert "node_modules/" in (root / ".gitignore").read_text()


def test_tree_first_paint_is_timed_from_the_fork(env: dict[str, str], tmp_path: Path) -> None:
    shows = "; ".join(f"print({m!r}, flush=True)" for m in bench_tree.MARKERS)
    seconds = bench_tree.first_paint(python(f"import time; time.sleep(0.3); {shows}; time.sleep(5)"), env,
                                     tmp_path)
    assert 0.3 <= seconds < 10
    with pytest.raises(TimedOut):  # the prompt never shows
        bench_tree.first_paint(python("print('pkg1')"), env, tmp_path)


def test_finder_figure_and_its_guard() -> None:
    (figure,) = bench_finder.measure(count=5_000)
    assert figure.name == "fuzzy finder, one keystroke on 5,000 paths"
    assert 0 < figure.value < 1 and figure.rule == "value<=" and figure.limit == 0.05 and "p95" in figure.note
    with pytest.raises(Zero, match="found nothing"):
        bench_finder.keystrokes(["src/a.py", "lib/b.go"], ["zzz"])


def test_ask_timed_run_checks_the_output(env: dict[str, str], tmp_path: Path) -> None:
    good = python("import time; time.sleep(0.2); print('Use a connection pool.', end='')")
    assert 0.2 <= bench_ask.timed_run(good, env, tmp_path, expect="Use a connection pool.") < 10
    with pytest.raises(bench_ask.WrongOutput, match="printed"):
        bench_ask.timed_run(python("print('Use a connection pool.')"), env, tmp_path, expect="Use a connection pool.")
    with pytest.raises(bench_ask.WrongOutput, match="exited 3"):
        bench_ask.timed_run(python("raise SystemExit(3)"), env, tmp_path)


def test_ask_really_prints_the_reply(tmp_path: Path) -> None:
    project = common.make_project(tmp_path / "orders")
    with FakeAnthropic() as fake:
        fake.queue(Reply([bench_ask.ANSWER]))
        seconds = bench_ask.timed_run(bench_ask.ask_argv(project), common.buddy_env(tmp_path, fake.base_url),
                                      project, expect=bench_ask.ANSWER)
        assert fake.pending == 0 and len(fake.message_requests()) == 1
    assert seconds > 0


# ---------------------------------------------------------------------------------- python -m benchmarks
def fake_module(*figures: Figure, error: Exception | None = None) -> SimpleNamespace:
    calls: list[dict[str, int]] = []

    def measure(runs: int = 5) -> list[Figure]:
        calls.append({"runs": runs})
        if error is not None:
            raise error
        return list(figures)

    return SimpleNamespace(measure=measure, calls=calls)


MET = Figure("fast enough", 0.01, "s", "value<=", 0.05)
MISSED = Figure("too slow", 2.0, "s", "ratio<=", 1.5, baseline=1.0)


def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, modules: Mapping[str, object],
        *args: str) -> int:
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(runner, "MODULES", {name: f"fake.{name}" for name in modules})
    monkeypatch.setattr(runner, "load", lambda name: modules[name])
    return runner.main(list(args))


def test_runner_passes_when_every_budget_is_met(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, tmp_path, {"a": fake_module(MET), "b": fake_module(MET)}) == 0
    out, err = capsys.readouterr()
    assert out.count("| fast enough |") == 2 and "**NO**" not in out
    assert "a: measuring..." in err and "a: measuring" not in out


def test_runner_fails_on_a_missed_budget(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert run(monkeypatch, tmp_path, {"a": fake_module(MET), "b": fake_module(MISSED)}) == 1
    data = json.loads((tmp_path / "results" / "all.json").read_text())
    assert [f["ok"] for f in data["figures"]] == [True, False]


def test_runner_reports_a_raising_module_and_runs_the_rest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    after = fake_module(MET)
    modules = {"a": fake_module(error=TimedOut("'pkg1' never reached the screen")), "b": after}
    assert run(monkeypatch, tmp_path, modules) == 1
    out = capsys.readouterr().out
    assert "| a: FAILED (TimedOut: 'pkg1' never reached the screen) |" in out and "| fast enough |" in out
    assert after.calls == [{"runs": 5}]
    data = json.loads((tmp_path / "results" / "all.json").read_text())
    assert "TimedOut" in data["failed"]["a"]


@pytest.mark.parametrize("bad", [fake_module(), fake_module(Figure("x", 1.0, "s", "ratio<=", 1.5)),
                                 SimpleNamespace(measure=lambda: [0.5])])
def test_runner_fails_a_module_that_measured_nothing_usable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             bad: object) -> None:
    assert run(monkeypatch, tmp_path, {"a": bad, "b": fake_module(MET)}) == 1


def test_runner_quick_and_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with_runs, without_runs, left_out = fake_module(MET), SimpleNamespace(measure=lambda: [MET]), fake_module(MISSED)
    modules = {"a": with_runs, "b": without_runs, "c": left_out}
    assert run(monkeypatch, tmp_path, modules, "--quick", "--only", "b,a") == 0
    assert with_runs.calls == [{"runs": runner.QUICK_RUNS}] and left_out.calls == []
    with pytest.raises(SystemExit) as exited:
        run(monkeypatch, tmp_path, modules, "--only", "a,nope")
    assert exited.value.code == 2


def test_runner_skips_a_missing_optional_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(runner, "MODULES", {"history": "benchmarks.bench_not_written_yet"})
    assert runner.main([]) == 0
    assert "history: skipped" in capsys.readouterr().err


def test_runner_knows_every_module() -> None:
    modules = list(runner.MODULES)
    assert modules[:3] == ["startup", "stream", "tree"] and modules[-2:] == ["history", "agents"]
    for name in runner.MODULES:
        module = runner.load(name)
        if module is None:
            assert name in runner.OPTIONAL
        else:
            assert callable(module.measure)
