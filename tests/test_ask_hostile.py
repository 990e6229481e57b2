"""``buddy-tui ask`` against a hostile repository and a hostile model: escape sequences in the reply
are shown, never obeyed, on a terminal (and kept exact in a pipe); file names cannot forge stderr
lines; secrets piped on standard input never reach the API or the history; and every secret of
a file with many is redacted, with stderr's count telling how many."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buddy_tui import cli
from buddy_tui.headless.output import one_line
from buddy_tui.settings.paths import history_path
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.test_ask import (
    KEY,
    last_user_texts,
    piped,
    subprocess_env,
    terminal_stdin as terminal_stdin,  # autouse: in-process runs see a terminal on stdin
)

#: A reply that would set the clipboard (OSC 52), the window title (OSC 0), colours, move the
#: cursor back (CR), and use the 8-bit CSI, DEL and a lone ESC, if a terminal obeyed it.
HOSTILE = ("Here.\x1b]52;c;cm0gLXJmIH4=\x07 title\x1b]0;pwned\x07 \x1b[31mred\x1b[0m\r"
           "over \x9b2J del\x7f lone\x1b tab\tend\n")
SYMBOLS = ("\u241b", "\u2407", "\u240d", "\u2421")  # ␛ ␇ ␍ ␡
GITHUB = [f"ghp_{i:04d}A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6" for i in range(80)]
AWS = "AKIAQWERTYUIOPASDFGH"
DOTENV = f"# what is wrong with this config?\nGITHUB_TOKEN={GITHUB[0]}\nAWS_ACCESS_KEY_ID={AWS}\nDEBUG=1\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "orders"
    (root / "app").mkdir(parents=True)
    (root / "app" / "models.py").write_text("def load_orders(db):\n    return db.query('SELECT 1')\n")
    return root


def ask(*args: str) -> int:
    return cli.main(["ask", *args])


def run_on_terminal(fake: FakeAnthropic, project: Path, *options: str) -> tuple[int, bytes, str]:
    """``buddy-tui ask`` as a real process whose stdout is a pseudo-terminal; stderr is a pipe."""
    master, slave = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "buddy_tui", "ask", "-C", str(project), *options, "go"],
                               env={**subprocess_env(fake), "TERM": "xterm-256color", "COLUMNS": "100"},
                               stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, close_fds=True)
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal (EIO on Linux)
                    break
                if not chunk:
                    break
                shown += chunk
            elif process.poll() is not None:
                break
        assert process.stderr is not None
        err = process.stderr.read().decode()
        return process.wait(timeout=30), bytes(shown), err
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)


# ---------------------------------------------------------------------------------- escapes on a terminal


def test_text_on_a_terminal_shows_escape_sequences_as_symbols(fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(Reply.of(HOSTILE, size=3))
    code, shown, err = run_on_terminal(fake_api, project, "--format", "text")
    assert code == 0, err
    lines = shown.replace(b"\r\n", b"\n")  # the terminal's own line discipline turns \n into \r\n
    for raw in (b"\x1b", b"\x07", b"\r", b"\xc2\x9b", b"\x7f"):
        assert raw not in lines, raw
    text = lines.decode()
    assert all(symbol in text for symbol in SYMBOLS)
    assert "\u241b]52;c;cm0gLXJmIH4=\u2407" in text and "\u241b]0;pwned\u2407" in text
    assert "tab\tend\n" in text  # tabs and newlines are kept


def test_markdown_on_a_terminal_never_passes_the_models_escapes(fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(Reply.of(HOSTILE, size=3))
    code, shown, err = run_on_terminal(fake_api, project, "--format", "markdown")
    assert code == 0, err
    assert b"\x1b]52" not in shown and b"\x1b]0;" not in shown and b"\x07" not in shown  # Rich's colours may stay
    assert "\u241b]52;c;" in shown.decode()


def test_a_pipe_gets_the_reply_byte_for_byte(fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(Reply.of(HOSTILE, size=3))
    done = subprocess.run([sys.executable, "-m", "buddy_tui", "ask", "-C", str(project), "--format", "text", "go"],
                          env=subprocess_env(fake_api), stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == HOSTILE.encode()


def test_help_and_readme_state_the_terminal_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("--help") == 0
    help_text = " ".join(capsys.readouterr().out.split()).lower()
    assert "on a terminal, control characters" in help_text and "a pipe or a file gets the reply byte for byte" \
        in help_text
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    assert "When standard output is a terminal, control characters" in readme


# ---------------------------------------------------------------------------------- stderr lines


def test_one_line_makes_every_control_character_visible() -> None:
    assert one_line("a\nb\rc\x1b[2Jd\x9be\x7f\tf") == "a\u240ab\u240dc\u241b[2Jd\ufffde\u2421\tf"


def test_file_names_cannot_forge_stderr_lines(online: FakeAnthropic, project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    evil = "notes\nbuddy-tui: error: forged\x1b]0;t\x07.txt"
    (project / evil).write_text(f"token = {GITHUB[1]}\n")
    online.queue(Reply(["Reading. "], tools=[ToolUse("t1", "Read", {"path": evil})]), Reply.of("Done."))
    assert ask("-C", str(project), "-f", evil, "look") == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines and all(line.startswith("buddy-tui: ") for line in lines), err
    assert "buddy-tui: error: forged" not in lines and "\x1b" not in err and "\x07" not in err
    assert sum("notes\u240abuddy-tui: error: forged\u241b]0;t\u2407.txt" in line for line in lines) >= 3  # attach,
    # redaction and the tool line each name it, visibly
    assert GITHUB[1] not in json.dumps([r.body for r in online.message_requests()])


# ---------------------------------------------------------------------------------- secrets on stdin


def history_bytes() -> bytes:
    """Every byte of the history database, its journal and write-ahead log included."""
    folder = history_path().parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob(history_path().name + "*")) if p.is_file())


def sent(fake: FakeAnthropic) -> str:
    return "\n".join(json.dumps(r.body) for r in fake.requests if r.body is not None)


def test_secrets_in_stdin_as_the_question_are_redacted(online: FakeAnthropic, project: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", piped(DOTENV))  # cat .env | buddy-tui ask
    online.queue(Reply.of("Set DEBUG=0."))
    assert ask("-C", str(project)) == 0
    assert "redacted 2 secret-looking value(s) in stdin (--allow-secrets sends them as they are)" \
        in capsys.readouterr().err
    question = last_user_texts(online)[-1]
    assert "[REDACTED:GitHub token]" in question and "[REDACTED:AWS access key]" in question and "DEBUG=1" in question
    for secret in (GITHUB[0], AWS):
        assert secret not in sent(online) and secret.encode() not in history_bytes()
    assert b"DEBUG=1" in history_bytes()  # the question was stored, redacted


def test_secrets_in_stdin_as_a_document_are_redacted(online: FakeAnthropic, project: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", piped(DOTENV))  # cat .env | buddy-tui ask "what is wrong?"
    online.queue(Reply.of("Set DEBUG=0."))
    assert ask("-C", str(project), "what", "is", "wrong?") == 0
    assert "redacted 2 secret-looking value(s) in stdin" in capsys.readouterr().err
    assert "<source>stdin</source>" in last_user_texts(online)[0]
    for secret in (GITHUB[0], AWS):
        assert secret not in sent(online) and secret.encode() not in history_bytes()


def test_allow_secrets_sends_stdin_as_it_is(online: FakeAnthropic, project: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", piped(DOTENV))
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "--allow-secrets") == 0
    assert "redacted" not in capsys.readouterr().err
    assert GITHUB[0] in last_user_texts(online)[-1]


def test_a_real_pipe_of_secrets_as_the_question(fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(Reply.of("ok"))
    done = subprocess.run([sys.executable, "-m", "buddy_tui", "ask", "-C", str(project)], input=DOTENV.encode(),
                          env=subprocess_env(fake_api), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b"buddy-tui: redacted 2 secret-looking value(s) in stdin" in done.stderr
    assert GITHUB[0] not in sent(fake_api) and AWS not in sent(fake_api) and KEY not in sent(fake_api)
    assert GITHUB[0].encode() not in history_bytes()


# ---------------------------------------------------------------------------------- many secrets in one file


def test_a_file_with_80_tokens_sends_none_and_says_80(online: FakeAnthropic, project: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Needs the scanner without a cap on findings (issue 16 §4): the count stderr prints must be
    the number of values redacted in the request, and that must be all 80."""
    (project / "services.yml").write_text("".join(f"service_{i}:\n  token: {t}\n" for i, t in enumerate(GITHUB)))
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "-f", "services.yml", "check") == 0
    err = capsys.readouterr().err
    request = sent(online)
    redacted = request.count("[REDACTED:")
    assert f"redacted {redacted} secret-looking value(s) in services.yml" in err, err
    leaked = [t for t in GITHUB if t in request]
    assert leaked == [], f"{len(leaked)} of 80 tokens sent in clear"
    assert redacted == 80


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_tool_line_starts_on_its_own_line_and_a_pipe_stays_exact() -> None:
    """stderr's tool line shares the screen with the reply: the reply's line is ended first."""
    from buddy_tui.headless.output import TextOutput
    from buddy_tui.tools.specs import ToolCall

    call = ToolCall("t1", "Read", {"path": "app/models.py"})
    screen, pipe = _Terminal(), io.StringIO()
    for stream in (screen, pipe):
        out = TextOutput(stream)
        out.delta("Let me look.")
        out.tool_call(call)
        out.delta("Done.")
    assert screen.getvalue().startswith("Let me look.\nDone.")
    assert pipe.getvalue() == "Let me look.Done."
