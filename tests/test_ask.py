"""``buddy-tui ask``: the headless command, run in-process and as a real process against the fake API.

What matters to a script: stdout holds the reply and nothing else, stderr says what happened,
the exit status tells success (0), a failed call (1), a usage mistake (2), missing credentials (3)
and an interrupt (130) apart, and the exchange lands in the history like one from the app.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from buddy_tui import cli
from buddy_tui.conversation.errors import CREDENTIALS_HINT
from buddy_tui.headless.asker import HEADLESS_NOTE
from buddy_tui.settings.paths import history_path
from buddy_tui.settings.resources import personas_dir
from buddy_tui.store.history import open_store
from buddy_tui.store.records import TurnRecord
from tests.fake_api import FakeAnthropic, HttpError, Reply, ToolUse

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-test-0123456789abcdef"
MODELS_PY = "def load_orders(db, user_id):\n    return db.query('SELECT * FROM orders WHERE user_id = %s' % user_id)\n"


class Terminal(io.StringIO):
    """Standard input that is a terminal: ask must not read it."""

    def isatty(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        raise AssertionError("a terminal's standard input must not be read")


def piped(text: str | bytes) -> io.TextIOWrapper:
    """Standard input fed by a pipe."""
    return io.TextIOWrapper(io.BytesIO(text.encode() if isinstance(text, str) else text), encoding="utf-8")


@pytest.fixture(autouse=True)
def terminal_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs see a terminal on stdin unless a test pipes something in."""
    monkeypatch.setattr(sys, "stdin", Terminal())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "orders"
    (root / "app").mkdir(parents=True)
    (root / "app" / "models.py").write_text(MODELS_PY)
    (root / "app" / "settings.py").write_text('GITHUB = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"\n')
    (root / ".env").write_text("DATABASE_URL=postgres://u:hunter2@db/orders\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (root / "README.md").write_text("# Orders service\n")
    return root


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> FakeAnthropic:
    """Credentials and endpoint as the SDK reads them, pointing at the fake API."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return fake_api


def ask(*args: str) -> int:
    return cli.main(["ask", *args])


def last_user_texts(fake: FakeAnthropic, request: int = -1) -> list[str]:
    body = fake.message_requests()[request].body
    assert body is not None
    blocks = body["messages"][-1]["content"]
    return [b["text"] for b in blocks if b.get("type") == "text" and not b["text"].startswith("<note>")]


def stored_turns(project: Path) -> list[TurnRecord]:
    store, problem = open_store(history_path())
    assert store is not None, problem
    try:
        loaded = [store.load(summary.id) for summary in store.conversations(str(project.resolve()))]
        return [turn for conversation in loaded if conversation is not None for turn in conversation.turns]
    finally:
        store.close()


def subprocess_env(fake: FakeAnthropic) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    return {**env, "ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": KEY, "PYTHONPATH": str(ROOT)}


# ---------------------------------------------------------------------------------- the reply


def test_the_reply_alone_goes_to_stdout_and_the_question_is_sent(online: FakeAnthropic, project: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of("Use a **JOIN**.\n\n```sql\nSELECT 1;\n```", size=5))
    assert ask("-C", str(project), "what", "does", "it", "do?") == 0
    out, err = capsys.readouterr()
    assert out == "Use a **JOIN**.\n\n```sql\nSELECT 1;\n```"
    assert "Backend answers with claude-sonnet-5-5" in err and "done (in 25" in err
    assert last_user_texts(online)[-1] == "what does it do?"
    body = online.message_requests()[0].body
    assert body is not None and body["model"] == "claude-sonnet-5-5"


def test_each_fragment_is_written_and_flushed_as_it_arrives(online: FakeAnthropic, project: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.flushed: list[str] = []

        def flush(self) -> None:
            self.flushed.append(self.getvalue())

    recorder = Recorder()
    monkeypatch.setattr(sys, "stdout", recorder)
    online.queue(Reply(["alpha ", "beta ", "gamma"]))
    assert ask("-C", str(project), "-q", "go") == 0
    assert recorder.flushed == ["alpha ", "alpha beta ", "alpha beta gamma"]


def test_model_option_and_environment(online: FakeAnthropic, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDDY_TUI_MAX_TOKENS", "512")
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "--model", "claude-haiku-4-5", "hi") == 0
    body = online.message_requests()[0].body
    assert body is not None and (body["model"], body["max_tokens"]) == ("claude-haiku-4-5", 512)


# ---------------------------------------------------------------------------------- input and files


def test_piped_stdin_is_attached_as_a_document_named_stdin(online: FakeAnthropic, project: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", piped("Traceback: KeyError 'user_id'\n"))
    online.queue(Reply.of("A missing key."))
    assert ask("-C", str(project), "explain", "this") == 0
    documents, question = last_user_texts(online)
    assert "<source>stdin</source>" in documents and "Traceback: KeyError 'user_id'" in documents
    assert question == "explain this"
    assert stored_turns(project)[0].files == ["stdin (30 B ~9 tok)"]


def test_piped_stdin_without_words_is_the_question(online: FakeAnthropic, project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", piped("what is idempotency?\n"))
    online.queue(Reply.of("Safe to repeat."))
    assert ask("-C", str(project)) == 0
    assert last_user_texts(online) == ["what is idempotency?"]


def test_no_stdin_option_leaves_a_pipe_unread(online: FakeAnthropic, project: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    stream = piped("not for the model")
    monkeypatch.setattr(sys, "stdin", stream)
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "--no-stdin", "hi") == 0
    assert last_user_texts(online) == ["hi"] and stream.read() == "not for the model"


def test_long_stdin_is_sent_as_its_head_but_is_no_question(online: FakeAnthropic, project: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", piped("line\n" * 60_000))
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "summarise", "the", "log") == 0
    documents = last_user_texts(online)[0]
    assert "Only the first 204,800 of 300,000 bytes of this file are included." in documents
    assert "stdin is 293.0 KB: only its first 200.0 KB is sent" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", piped("line\n" * 60_000))
    assert ask("-C", str(project)) == 2
    assert "standard input is 293.0 KB, too long for a question" in capsys.readouterr().err
    assert len(online.message_requests()) == 1


def test_binary_stdin_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", piped(b"\x7fELF\x00\x00\x01"))
    assert ask("-C", str(project), "what is this") == 2
    assert "standard input is binary data" in capsys.readouterr().err


def test_file_option_attaches_the_file(online: FakeAnthropic, project: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(project / "app")  # -f is relative to the current folder, as in any shell
    online.queue(Reply.of("Parameterise it."))
    assert ask("-C", "..", "-f", "models.py", "review", "this") == 0
    documents, question = last_user_texts(online)
    assert "<source>app/models.py</source>" in documents and MODELS_PY.strip() in documents
    assert question == "review this"
    assert "about app/models.py" in capsys.readouterr().err


def test_file_option_falls_back_to_the_project_folder(online: FakeAnthropic, project: Path,
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("another project's readme\n")  # outside the project: not this one
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "-f", "app/models.py", "-f", "README.md", "compare") == 0
    documents = last_user_texts(online)[0]
    assert documents.count("<source>") == 2 and "# Orders service" in documents


@pytest.mark.parametrize(("name", "message"), [
    ("logo.png", "logo.png is a binary file"),
    ("missing.py", "-f missing.py: no such file\n"),
    (".env", ".env looks like it holds secrets (keys, passwords, tokens); it is sent only with --allow-secrets"),
])
def test_files_that_cannot_be_attached_stop_before_anything_is_sent(
        online: FakeAnthropic, project: Path, capsys: pytest.CaptureFixture[str], name: str, message: str) -> None:
    assert ask("-C", str(project), "-f", name, "look") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"buddy-tui: error: -f {name}: ") and message in err
    assert online.message_requests() == []


def test_a_file_outside_the_project_is_refused(online: FakeAnthropic, project: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("private\n")
    assert ask("-C", str(project), "-f", str(outside), "look") == 2
    assert f"-f {outside}: outside the project folder {project.resolve()}" in capsys.readouterr().err
    assert online.message_requests() == []


def test_allow_secrets_sends_a_secrets_file_and_its_values(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "--allow-secrets", "-f", ".env", "check") == 0
    assert "postgres://u:hunter2@db/orders" in last_user_texts(online)[0]


def test_secret_values_in_attached_files_are_redacted(online: FakeAnthropic, project: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "-f", "app/settings.py", "check") == 0
    documents = last_user_texts(online)[0]
    assert "ghp_a1B2" not in documents and "[REDACTED:GitHub token]" in documents
    assert "redacted 1 secret-looking value(s) in app/settings.py" in capsys.readouterr().err


def test_at_mentions_attach_files_and_secrets_mentions_are_left_out(
        online: FakeAnthropic, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "compare @app/models.py with @.env") == 0
    documents = last_user_texts(online)[0]
    assert "<source>app/models.py</source>" in documents and "hunter2" not in documents
    assert "not attached: .env looks like it holds secrets" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- commands and personas


def test_a_persona_command_is_expanded(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply.of("Findings."))
    assert ask("-C", str(project), "/buddy:review", "app/models.py") == 0
    assert last_user_texts(online)[-1].startswith("Task: review app/models.py\n")


@pytest.mark.parametrize(("typed", "message"), [
    ("/help", "/help is an app command: it needs the app (run buddy-tui)"),
    ("/buddy:reveiw x", "Unknown command /buddy:reveiw. Did you mean /buddy:review"),
])
def test_app_and_unknown_commands_are_usage_errors(online: FakeAnthropic, project: Path,
                                                   capsys: pytest.CaptureFixture[str], typed: str,
                                                   message: str) -> None:
    assert ask("-C", str(project), typed) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"buddy-tui: error: {message}") and err.count("\n") == 1
    assert online.message_requests() == []


def test_persona_option_chooses_who_answers(online: FakeAnthropic, project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "--persona", "devops", "is this endpoint safe from injection?") == 0
    body = online.message_requests()[0].body
    assert body is not None and body["system"][0]["text"] == _persona_prompt("devops")
    assert "buddy-tui: DevOps answers with claude-sonnet-5-5\n" in capsys.readouterr().err


def test_without_persona_option_the_question_picks_the_expert(online: FakeAnthropic, project: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "any xss or csrf risk here?") == 0
    body = online.message_requests()[0].body
    assert body is not None and body["system"][0]["text"] == _persona_prompt("security")
    assert "Security answers (security 9" in capsys.readouterr().err


def test_unknown_persona_is_a_usage_error(online: FakeAnthropic, project: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("-C", str(project), "--persona", "astrologer", "hi") == 2
    err = capsys.readouterr().err
    assert "astrologer: no persona of that name (available: backend, devops, performance, security)" in err
    assert online.message_requests() == []


def _persona_prompt(name: str) -> str:
    from buddy_tui.personas.persona import load_persona

    return load_persona(personas_dir() / f"{name}.md").prompt


@pytest.mark.parametrize(("args", "message"), [
    ([], "error: no question: give it as words"),
    (["-C", "/nonexistent/folder", "hi"], "error: -C /nonexistent/folder: no such folder"),
    (["--bogus", "hi"], "unrecognized arguments: --bogus"),
])
def test_usage_errors_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert ask(*args) == 2
    assert message in capsys.readouterr().err


def test_help_documents_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("--help") == 0
    out = capsys.readouterr().out
    for expected in ("usage: buddy-tui ask", "--project", "--persona", "--model", "--file", "--no-history",
                     "--allow-secrets", "standard input", "exit status", "3 no credentials", "130 interrupted"):
        assert expected in out


def test_the_app_command_line_is_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--persona", "backend", "ask"]) == 2  # 'ask' after options is a folder, as before
    assert "ask: no such folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("buddy-tui ")


# ---------------------------------------------------------------------------------- failures and credentials


def test_a_failed_call_exits_1_with_the_reason(online: FakeAnthropic, project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(HttpError(400, "invalid_request_error", "max_tokens: too large"))
    assert ask("-C", str(project), "hi") == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert ("buddy-tui: error: The API refused the request (400). The API said: max_tokens: too large. "
            "Your question is kept; change it or its files and send it again.") in err
    assert [t.state for t in stored_turns(project)] == ["failed"]


def test_no_credentials_exit_3_with_the_apps_guidance(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("-C", str(project), "hi") == 3
    out, err = capsys.readouterr()
    assert out == "" and err == f"buddy-tui: error: No API key is set. {CREDENTIALS_HINT}\n"
    assert not history_path().exists()


# ---------------------------------------------------------------------------------- tools


def test_read_only_tools_run_and_changes_are_refused(online: FakeAnthropic, project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    edit = {"path": "app/models.py", "old_string": "% user_id", "new_string": ", (user_id,)"}
    online.queue(
        Reply(["Let me look. "], tools=[ToolUse("t_read", "Read", {"path": "app/models.py"}),
                                        ToolUse("t_env", "Read", {"path": ".env"}),
                                        ToolUse("t_edit", "Edit", edit)]),
        Reply.of("Line 2 builds SQL with %."),
    )
    assert ask("-C", str(project), "review", "app/models.py") == 0
    out, err = capsys.readouterr()
    assert out == "Let me look. \n\nLine 2 builds SQL with %."
    first, second = (r.body for r in online.message_requests())
    assert first is not None and second is not None
    # Nothing that writes is offered; Task is (an agent's own edits are refused in the same way).
    assert [t["name"] for t in first["tools"]] == ["Read", "Grep", "Glob", "Task"]
    assert HEADLESS_NOTE in first["messages"][-1]["content"][0]["text"]
    results = {r["tool_use_id"]: r for r in second["messages"][-1]["content"]}
    assert not results["t_read"]["is_error"] and "return db.query(" in results["t_read"]["content"]
    assert results["t_env"]["is_error"] and "hunter2" not in results["t_env"]["content"]
    assert results["t_edit"]["is_error"]
    assert "changing files needs the user's approval in the interactive app" in results["t_edit"]["content"]
    assert (project / "app" / "models.py").read_text() == MODELS_PY
    assert "Read app/models.py lines 1-2" in err and "Edit refused: changing files needs the app" in err


def test_grep_skips_secrets_files(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply([], tools=[ToolUse("t_grep", "Grep", {"pattern": "hunter2|Orders"})]), Reply.of("ok"))
    assert ask("-C", str(project), "-q", "search") == 0
    body = online.message_requests()[1].body
    assert body is not None
    content = body["messages"][-1]["content"][0]["content"]
    assert content.startswith("README.md:1: # Orders service\n")
    assert "hunter2" not in content and "Left out 1 file(s) that look like they hold secrets" in content


# ---------------------------------------------------------------------------------- history


def test_the_exchange_is_saved_in_the_history(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply.of("Add an index on user_id."))
    assert ask("-C", str(project), "-f", "app/models.py", "why", "slow?") == 0
    [turn] = stored_turns(project)
    assert (turn.typed, turn.reply, turn.state, turn.persona) == ("why slow?", "Add an index on user_id.",
                                                                  "complete", "performance")
    assert turn.files == ["app/models.py (103 B ~30 tok)"]
    assert [m["role"] for m in turn.recorded] == ["user", "assistant"]


def test_no_history_writes_nothing(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "--no-history", "hi") == 0
    assert not history_path().exists()


def test_an_unusable_history_is_reported_once_and_the_answer_still_comes(
        online: FakeAnthropic, project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("BUDDY_TUI_DATA_DIR", str(blocker))
    online.queue(Reply.of("still answered"))
    assert ask("-C", str(project), "hi") == 0
    out, err = capsys.readouterr()
    assert out == "still answered" and err.count("History is off") == 1


# ---------------------------------------------------------------------------------- real processes


def test_a_real_process_pipes_the_reply_and_reports_retries(fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=50),
                   Reply.of("# Answer\n\nIt works.\n", size=4))
    done = subprocess.run([sys.executable, "-m", "buddy_tui", "ask", "-C", str(project), "does", "it", "work?"],
                          env=subprocess_env(fake_api), input="", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "# Answer\n\nIt works.\n"
    assert "buddy-tui: overloaded (529), retrying in <1 s, attempt 2 of 3\n" in done.stderr
    assert "Traceback" not in done.stderr and len(fake_api.message_requests()) == 2


def test_a_real_process_streams_before_the_reply_ends_and_never_imports_textual(
        fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(Reply(["first ", "second ", "third"], delay=0.4))
    code = ("import sys; from buddy_tui import cli; code = cli.main(['ask', '-q', '--no-stdin', 'go']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'rich', 'pygments', 'markdown_it')), code, file=sys.stderr)")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=project, env=subprocess_env(fake_api),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    first = process.stdout.read1(100)  # type: ignore[attr-defined]
    still_running = process.poll() is None
    rest, err = process.communicate(timeout=60)
    assert first == b"first " and still_running
    assert first + rest == b"first second third"
    assert err.decode() == "[] 0\n"


def test_ctrl_c_stops_cleanly_with_130_and_keeps_the_partial_reply(fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(Reply(["partial ", "never ", "sent"], delay=1.0))
    process = subprocess.Popen([sys.executable, "-m", "buddy_tui", "ask", "-C", str(project), "slow", "one"],
                               env=subprocess_env(fake_api), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.read1(100) == b"partial "  # type: ignore[attr-defined]
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert rest == b"" and b"Traceback" not in err and err.endswith(b"buddy-tui: stopped\n")
    [turn] = stored_turns(project)
    assert (turn.state, turn.reply) == ("stopped", "partial ")


def test_a_closed_pipe_ends_quietly(fake_api: FakeAnthropic, project: Path) -> None:
    fake_api.queue(Reply(["one ", "two ", "three ", "four"], delay=0.3))
    process = subprocess.Popen([sys.executable, "-m", "buddy_tui", "ask", "-q", "-C", str(project), "count"],
                               env=subprocess_env(fake_api), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read1(100) == b"one "  # type: ignore[attr-defined]
    process.stdout.close()  # like `| head -c 4`
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    err = process.stderr.read()
    assert process.returncode == 141 and err == b""


def test_the_users_sensitive_patterns_hold_for_f_files(online: FakeAnthropic, project: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from buddy_tui.settings.config_file import config_path

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('sensitive_patterns = ["*.vault"]\n')
    (project / "prod.vault").write_text("token = abc\n")
    assert ask("-C", str(project), "-f", "prod.vault", "look") == 2
    assert "prod.vault looks like it holds secrets" in capsys.readouterr().err
    assert online.message_requests() == []
