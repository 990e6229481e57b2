"""Hostile inputs to the model's tools: catastrophic patterns end with a clear error instead of
freezing, keys read in parts stay redacted, and unreadable parts of the tree are never called
"no matches"."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.context.secrets import find_secrets
from buddy_tui.tools import matching
from buddy_tui.tools.matching import PatternTooSlow, compile_pattern, search
from buddy_tui.tools.redacting import redact_window
from buddy_tui.tools.runner import ToolRunner
from buddy_tui.tools.specs import ToolCall
from buddy_tui.tools.workspace import ProjectTools, ToolError
from tests.helpers import ScriptedAsker, make_project

ALL = ("Read", "Grep", "Glob", "Edit", "Write")
KEY_LINES = ["MIIEowIBAAKCAQEA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4Y5z6",
             "Zq1Wx2Ec3Rv4Tb5Yn6Um7Ik8Ol9Pa0Sd1Fg2Hj3Kl4Zx5Cv6Bn7Mq8We9Rt0Yu1Io2",
             "Qm7Yp2Lk9Hs4Dn8Vb3Xc6Zr1Tf5Gj0Wu7Ea2Oi9Ny4Mh8Kq3Bs6Jd1Fx5Cv0Pl7Rt2",
             "Hj3Kl4Zx5Cv6Bn7Mq8We9Rt0Yu1Io2Pa3Sd4Fg5=="]
KEY = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(KEY_LINES) + "\n-----END RSA PRIVATE KEY-----\n"
# A GitHub token shape, put together so this file does not hold one.
TOKEN = "gh" + "p_" + "Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1De3Fg5H"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p")


def tools_for(root: Path) -> ProjectTools:
    return ProjectTools(root, IgnoreRules(root))


def run_bounded(root: Path, code: str, seconds: float = 60.0) -> str:
    """Run ``code`` (with ``tools`` bound to the project's tools) in a child process that is
    killed after a generous ``seconds``: the old behaviour never ended, and a frozen GIL would
    have frozen the test too."""
    script = ("import sys\nfrom pathlib import Path\nfrom buddy_tui.context.folder import IgnoreRules\n"
              "from buddy_tui.tools.workspace import ProjectTools, run_read_only\n"
              f"root = Path({str(root)!r})\ntools = ProjectTools(root, IgnoreRules(root))\n" + code)
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=seconds,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {seconds:g} s: the pattern was not stopped")
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- catastrophic patterns -----------------------------------------------------------------------------


def test_grep_with_the_audits_catastrophic_pattern_returns(root: Path) -> None:
    (root / "aaa.txt").write_text("a" * 34 + "!\n")
    out = run_bounded(root, "r = run_read_only(tools, 'Grep', {'pattern': '(a+)+$'})\nprint(r.is_error, r.content)")
    assert out.startswith("False No matches for '(a+)+$'")  # the regex engine sees through this one


def test_grep_with_a_pattern_that_backtracks_for_ever_is_stopped_with_a_clear_error(root: Path) -> None:
    (root / "aaa.txt").write_text("a" * 50 + "!\n")
    out = run_bounded(root, "r = run_read_only(tools, 'Grep', {'pattern': '(a|aa)+$', 'path': 'aaa.txt'})\n"
                            "print(r.is_error, r.content)")
    assert out.startswith("True The pattern '(a|aa)+$' took too long to match and was stopped. Simplify it")


def test_glob_of_many_stars_returns(root: Path) -> None:
    (root / ("a" * 80)).write_text("x\n")
    pattern = "*a" * 25 + "b"
    out = run_bounded(root, f"r = run_read_only(tools, 'Glob', {{'pattern': {pattern!r}}})\nprint(r.content)")
    assert out.strip() == f"No files match {pattern!r}."
    grep = run_bounded(root, f"r = run_read_only(tools, 'Grep', {{'pattern': 'x', 'glob': {pattern!r}}})\n"
                             "print(r.content)")
    assert grep.startswith("No matches for 'x'")


def test_a_glob_that_runs_out_of_time_is_an_error_not_a_hang(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = compile_pattern("(a|aa)+$")
    with pytest.raises(PatternTooSlow, match=r"^The glob '\*\.py' took too long"):
        matching.fullmatch(pattern, "a" * 60 + "!", time.monotonic() + 0.2, "*.py")


def test_matching_lets_other_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The event loop is a thread beside the tool's: it must get the GIL while a pattern backtracks."""
    started, finished = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow() -> None:
        started.set()
        try:
            search(compile_pattern("(a|aa)+$"), "a" * 60 + "!", time.monotonic() + matching.MATCH_SECONDS)
        except PatternTooSlow as exc:
            errors.append(exc)
        finished.set()

    worker = threading.Thread(target=slow, daemon=True)
    worker.start()
    started.wait()
    spins = 0
    while spins < 1_000_000 and not finished.is_set():
        spins += 1  # with the GIL held by the matcher this loop could not advance at all
    assert spins == 1_000_000 and not finished.is_set()
    worker.join(60)
    assert len(errors) == 1  # and then it was stopped


# -- redaction by the whole file ---------------------------------------------------------------------------


def test_the_key_is_found_in_the_whole_file() -> None:
    text = "intro\n" + KEY
    assert [f.kind for f in find_secrets(text)] == ["private key block"]


def test_redact_window_clips_whole_file_findings() -> None:
    text = "a\n" + KEY
    findings = find_secrets(text)
    start = text.index(KEY_LINES[1])
    shown, touched = redact_window(text, findings, start, start + len(KEY_LINES[1]))
    assert touched == 1 and KEY_LINES[1] not in shown and shown.startswith("[REDACTED:")
    assert redact_window(text, findings, 0, 1) == ("a", 0)


@pytest.mark.parametrize(("offset", "limit"), [(3, 1), (3, 2), (4, 1), (2, 3), (1, 400)])
async def test_read_in_parts_inside_a_key_never_shows_its_body(root: Path, offset: int, limit: int) -> None:
    (root / "deploy.txt").write_text("# deploy key\n" + KEY + "done\n")
    runner = ToolRunner(root, IgnoreRules(root), ScriptedAsker([]))
    outcome = await runner.execute(ToolCall("1", "Read", {"path": "deploy.txt", "offset": offset, "limit": limit}),
                                   ALL, "Backend")
    assert not outcome.is_error
    for line in KEY_LINES:
        assert line not in outcome.content and line[:30] not in outcome.content
    assert "[REDACTED:private key block]" in outcome.content
    assert "secret value(s) redacted" in outcome.summary


async def test_grep_of_base64_lines_never_shows_a_key_body(root: Path) -> None:
    (root / "keys.txt").write_text("top\n" + KEY)
    runner = ToolRunner(root, IgnoreRules(root), ScriptedAsker([]))
    outcome = await runner.execute(ToolCall("1", "Grep", {"pattern": "^[A-Za-z0-9+/=]{40,}$"}), ALL, "Backend")
    assert "keys.txt:3: [REDACTED:private key block]" in outcome.content
    for line in KEY_LINES:
        assert line[:30] not in outcome.content
    assert "1 secret value(s) redacted" in outcome.summary


async def test_secrets_in_glob_paths_and_error_messages_are_redacted(root: Path) -> None:
    (root / f"{TOKEN}.txt").write_text("x\n")
    runner = ToolRunner(root, IgnoreRules(root), ScriptedAsker([]))
    listed = await runner.execute(ToolCall("1", "Glob", {"pattern": "*.txt"}), ALL, "Backend")
    missing = await runner.execute(ToolCall("2", "Read", {"path": f"no/{TOKEN}"}), ALL, "Backend")
    edit = await runner.execute(ToolCall("3", "Edit", {"path": f"no/{TOKEN}.py", "old_string": "a",
                                                        "new_string": "b"}), ALL, "Backend")
    for outcome in (listed, missing, edit):
        assert TOKEN not in outcome.content and TOKEN not in outcome.summary
        assert "[REDACTED:" in outcome.content
    assert missing.is_error and edit.is_error


# -- unreadable parts of the tree ---------------------------------------------------------------------------


@pytest.fixture
def unreadable(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder that cannot be listed and a file that cannot be opened (the tests run as root,
    which chmod cannot stop, so the refusals are made here)."""
    (root / "locked").mkdir()
    (root / "locked" / "x.py").write_text("needle\n")
    (root / "secret.py").write_text("needle\n")
    real_scandir, real_open = os.scandir, Path.open

    def scandir(path: Any = ".") -> Any:
        if str(path).endswith("/locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    def open_(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(Path, "open", open_)
    yield root


def test_grep_never_claims_no_matches_for_what_it_could_not_read(unreadable: Path) -> None:
    result = tools_for(unreadable).grep("needle")
    assert result.content.startswith("No matches for 'needle' in the project among the files that could be read.")
    assert ("[Not searched: 1 folder(s) that could not be listed and 1 file(s) that could not be read "
            "(secret.py); results may be incomplete.]") in result.content
    assert result.summary.endswith("(incomplete)")


def test_glob_says_when_folders_could_not_be_listed(unreadable: Path) -> None:
    result = tools_for(unreadable).glob("**/*.py")
    assert "[Not searched: 1 folder(s) that could not be listed; results may be incomplete.]" in result.content


def test_a_bad_pattern_is_still_a_tool_error(root: Path) -> None:
    with pytest.raises(ToolError, match="Invalid regular expression"):
        tools_for(root).grep("(")
