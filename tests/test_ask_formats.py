"""``buddy-tui ask --format text|markdown|json`` and ``--allow-edits``, against the fake API.

The formats: text is the reply exactly as written (the default for a pipe), markdown is rendered
for a terminal block by block (the default for a terminal), json is one parseable object a line
ending in exactly one final or error object. ``--allow-edits`` lets Edit and Write change project
files (never outside the project, never a secrets file without ``--allow-secrets``), each change
named on stderr; without it nothing changes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.conversation.errors import CREDENTIALS_HINT
from buddy_tui.headless.asker import EDITS_NOTE, HEADLESS_NOTE
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import open_store
from tests.fake_api import FakeAnthropic, HttpError, Reply, ToolUse
from tests.test_ask import KEY, MODELS_PY, ask, subprocess_env, terminal_stdin  # noqa: F401 (an autouse fixture)

FIXED = "def load_orders(db, user_id):\n    return db.query('SELECT * FROM orders WHERE user_id = %s', (user_id,))\n"
EDIT = {"path": "app/models.py", "old_string": "' % user_id)", "new_string": "', (user_id,))"}
REPLY_MD = "## Findings\n\nUse <b>bound</b> [red]parameters[/red].\n\n```sql\nSELECT 1;\n```\n\nDone \x1b[31m."


class Recorder(io.StringIO):
    """A pipe on stdout that remembers what had been written at each flush."""

    def __init__(self, tty: bool = False) -> None:
        super().__init__()
        self.tty = tty
        self.flushed: list[str] = []

    def isatty(self) -> bool:
        return self.tty

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "orders"
    (root / "app").mkdir(parents=True)
    (root / "app" / "models.py").write_text(MODELS_PY)
    (root / ".env").write_text("DATABASE_URL=postgres://u:hunter2@db/orders\n")
    return root


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> FakeAnthropic:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return fake_api


def json_lines(out: str) -> list[dict[str, Any]]:
    """Each line of ``out`` parsed on its own (fails on a line that is not one JSON object)."""
    assert out.endswith("\n")
    return [json.loads(line) for line in out.splitlines()]


def stored_conversation_id(project: Path) -> int:
    """The id of the one conversation the history holds for ``project``."""
    store, problem = open_store(history_path())
    assert store is not None, problem
    try:
        [summary] = store.conversations(str(project.resolve()))
        return summary.id
    finally:
        store.close()


def tool_results(fake: FakeAnthropic, request: int = 1) -> dict[str, dict[str, Any]]:
    body = fake.message_requests()[request].body
    assert body is not None
    return {r["tool_use_id"]: r for r in body["messages"][-1]["content"]}


# ---------------------------------------------------------------------------------- json


def test_json_lines_hold_deltas_tool_calls_usage_and_one_final(online: FakeAnthropic, project: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    recorder = Recorder()
    monkeypatch.setattr(sys, "stdout", recorder)
    online.queue(Reply(["Let me ", "look. "], tools=[ToolUse("t_read", "Read", {"path": "app/models.py"})]),
                 Reply(["Line 2 ", "builds SQL."], output_tokens=7))
    assert ask("-C", str(project), "--format", "json", "--persona", "backend", "review it") == 0
    events = json_lines(recorder.getvalue())
    assert all(snapshot.endswith("\n") for snapshot in recorder.flushed)  # flushed line by line
    assert len(recorder.flushed) == len(events)
    kinds = [e["type"] for e in events]
    assert kinds == ["usage", "delta", "delta", "usage", "tool_call", "tool_result", "usage", "delta", "delta",
                     "usage", "final"]  # each round's input as it starts, its output as it ends
    assert events[4] == {"type": "tool_call", "id": "t_read", "name": "Read", "input": {"path": "app/models.py"},
                         "agent": None, "agent_id": None}  # the lead's own call
    assert {k: v for k, v in events[5].items() if k != "summary"} == {
        "type": "tool_result", "id": "t_read", "name": "Read", "is_error": False, "agent": None, "agent_id": None}
    assert events[5]["summary"].startswith("Read app/models.py lines 1-2")
    assert events[0] == {"type": "usage", "input_tokens": 25, "output_tokens": 0, "cache_read_tokens": 0,
                         "cache_write_tokens": 0}
    assert events[3]["output_tokens"] == 2  # the first round's, as its message_delta counted them
    assert events[6]["input_tokens"] == 50  # both rounds' input, counted as the second one starts
    assert events[9]["output_tokens"] == 2 + 7
    final = events[-1]
    assert final["text"] == "".join(e["text"] for e in events if e["type"] == "delta")
    assert final["text"] == "Let me look. \n\nLine 2 builds SQL."
    assert final["stop_reason"] == "end_turn" and final["usage"]["output_tokens"] == 2 + 7
    assert final["conversation_id"] == stored_conversation_id(project)
    assert "Read app/models.py lines 1-2" in capsys.readouterr().err  # stderr still tells the story


def test_json_reports_sdk_retries_and_no_conversation_without_history(
        online: FakeAnthropic, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=50), Reply.of("ok"))
    assert ask("-C", str(project), "--format", "json", "--no-history", "hi") == 0
    events = json_lines(capsys.readouterr().out)
    [retry] = [e for e in events if e["type"] == "retry"]
    assert retry == {"type": "retry", "reason": "overloaded (529)", "wait": 0.05, "attempt": 2, "attempts": 3,
                     "agent": None, "agent_id": None}
    assert events[-1]["type"] == "final" and events[-1]["text"] == "ok"
    assert events[-1]["conversation_id"] is None  # nothing saved, nothing to resume


def test_json_ends_with_one_error_object_when_the_call_fails(online: FakeAnthropic, project: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(HttpError(400, "invalid_request_error", "max_tokens: too large"))
    assert ask("-C", str(project), "--format", "json", "hi") == 1
    out, err = capsys.readouterr()
    events = json_lines(out)
    assert [e["type"] for e in events if e["type"] in ("final", "error")] == ["error"]
    assert events[-1]["retryable"] is False
    assert events[-1]["message"].startswith("The API refused the request (400). The API said: max_tokens: too large.")
    assert err.count("buddy-tui: error: The API refused the request (400)") == 1


@pytest.mark.parametrize(("args", "status", "message"), [
    (["--no-stdin"], 2, "no question: give it as words"),
    (["-f", ".env", "look"], 2, "-f .env: .env looks like it holds secrets"),
    (["hi"], 3, f"No API key is set. {CREDENTIALS_HINT}"),
])
def test_json_reports_usage_and_credential_failures_as_an_error_object(
        project: Path, capsys: pytest.CaptureFixture[str], args: list[str], status: int, message: str) -> None:
    assert ask("-C", str(project), "--format", "json", *args) == status
    out, err = capsys.readouterr()
    [event] = json_lines(out)
    assert event["type"] == "error" and event["message"].startswith(message) and event["retryable"] is False
    assert err.startswith(f"buddy-tui: error: {message}") and err.count("\n") == 1


# ---------------------------------------------------------------------------------- markdown and text


def test_markdown_format_renders_the_reply_and_shows_text_literally(online: FakeAnthropic, project: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of(REPLY_MD, size=5))
    assert ask("-C", str(project), "--format", "markdown", "hi") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Findings"  # the heading, without its '## '
    assert "Use <b>bound</b> [red]parameters[/red]." in lines  # HTML and console markup kept as text
    assert any(line.strip() == "SELECT 1;" for line in lines) and not any("```" in line for line in lines)
    assert lines[-1] == "Done \u241b[31m."  # an escape sequence from the model is shown, never obeyed
    assert "\x1b" not in "\n".join(lines)


def test_markdown_streams_block_by_block(online: FakeAnthropic, project: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    monkeypatch.setattr(sys, "stdout", recorder)
    online.queue(Reply(["# Title\n", "\nFirst para", "graph.\n\nSecond ", "one."]))
    assert ask("-C", str(project), "-q", "--format", "markdown", "hi") == 0
    shown = list(dict.fromkeys(s for s in recorder.flushed if s))  # what was on screen after each write
    assert len(shown) == 3
    assert "Title" in shown[0] and "First" not in shown[0]  # shown once the next block began
    assert shown[1].endswith("\nFirst paragraph.\n") and "Second" not in shown[1]
    assert shown[2].endswith("\n\nSecond one.\n")


def test_the_default_is_text_for_a_pipe_and_markdown_for_a_terminal(online: FakeAnthropic, project: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of(REPLY_MD), Reply.of(REPLY_MD), Reply.of(REPLY_MD))
    assert ask("-C", str(project), "hi") == 0
    assert capsys.readouterr().out == REPLY_MD  # a pipe gets the exact reply
    terminal = Recorder(tty=True)
    monkeypatch.setattr(sys, "stdout", terminal)
    assert ask("-C", str(project), "hi") == 0
    shown = terminal.getvalue()
    assert "Findings" in shown and "## Findings" not in shown and "SELECT" in shown
    forced = Recorder(tty=True)
    monkeypatch.setattr(sys, "stdout", forced)
    assert ask("-C", str(project), "--format", "text", "hi") == 0
    assert forced.getvalue() == REPLY_MD.replace("\x1b", "\u241b") + "\n"  # as written, escapes made visible


def test_an_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("--format", "html", "hi") == 2
    assert "argument --format: invalid choice: 'html'" in capsys.readouterr().err


def test_help_documents_formats_edits_and_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("--help") == 0
    out = capsys.readouterr().out
    for expected in ("--format {text,markdown,json}", "--allow-edits", '{"type": "delta", "text": "..."}',
                     '"type": "tool_call"', '"type": "tool_result"', '"type": "usage"', '"type": "retry"',
                     '{"type": "final", "text", "stop_reason", "usage": {...}, "conversation_id"}',
                     '{"type": "error", "message", "retryable"}', '("edited app/models.py")'):
        assert expected in out


# ---------------------------------------------------------------------------------- --allow-edits


def test_allow_edits_changes_the_file_and_names_it_on_stderr(online: FakeAnthropic, project: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    write = {"path": "app/sql.py", "content": "Q = 1\n"}
    online.queue(Reply([], tools=[ToolUse("t_edit", "Edit", EDIT), ToolUse("t_new", "Write", write)]),
                 Reply.of("Fixed."))
    assert ask("-C", str(project), "-q", "--allow-edits", "--persona", "backend", "fix the query") == 0
    out, err = capsys.readouterr()
    assert (project / "app" / "models.py").read_text() == FIXED
    assert (project / "app" / "sql.py").read_text() == "Q = 1\n"
    assert out == "Fixed." and err == "buddy-tui: edited app/models.py\nbuddy-tui: created app/sql.py\n"
    first = online.message_requests()[0].body
    assert first is not None
    assert [t["name"] for t in first["tools"]] == ["Read", "Grep", "Glob", "Edit", "Write", "Task"]
    note = first["messages"][-1]["content"][0]["text"]
    assert EDITS_NOTE in note and HEADLESS_NOTE not in note
    results = tool_results(online)
    assert not results["t_edit"]["is_error"]
    assert results["t_edit"]["content"] == "Edited app/models.py (+1 \u22121 lines)"
    assert results["t_new"]["content"] == "Created app/sql.py (1 line)"


def test_without_allow_edits_nothing_changes_and_the_model_hears_why(online: FakeAnthropic, project: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply([], tools=[ToolUse("t_write", "Write", {"path": "app/sql.py", "content": "Q = 1\n"})]),
                 Reply.of("Here is a diff instead."))
    assert ask("-C", str(project), "--format", "json", "--persona", "backend", "fix it") == 0
    assert not (project / "app" / "sql.py").exists() and (project / "app" / "models.py").read_text() == MODELS_PY
    result = tool_results(online)["t_write"]
    assert result["is_error"] and "changing files needs the user's approval in the interactive app" in result["content"]
    events = json_lines(capsys.readouterr().out)
    assert {"type": "tool_result", "id": "t_write", "name": "Write", "is_error": True, "agent": None, "agent_id": None,
            "summary": "Write refused: changing files needs the app"} in events


def test_allow_edits_stays_in_the_project_and_away_from_secrets(online: FakeAnthropic, project: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    env_edit = {"path": ".env", "old_string": "hunter2", "new_string": "changed"}
    online.queue(Reply([], tools=[ToolUse("t_env", "Edit", env_edit),
                                  ToolUse("t_out", "Write", {"path": "../outside.txt", "content": "x"})]),
                 Reply.of("ok"))
    assert ask("-C", str(project), "--allow-edits", "--persona", "backend", "try") == 0
    assert "hunter2" in (project / ".env").read_text() and not (project.parent / "outside.txt").exists()
    results = tool_results(online)
    assert results["t_env"]["is_error"] and "changing it needs --allow-secrets as well" in results["t_env"]["content"]
    assert results["t_out"]["is_error"]
    err = capsys.readouterr().err
    assert "Edit .env refused: secrets" in err and "edited" not in err
    online.queue(Reply([], tools=[ToolUse("t_env", "Edit", env_edit)]), Reply.of("ok"))
    assert ask("-C", str(project), "--allow-edits", "--allow-secrets", "--persona", "backend", "try") == 0
    assert "changed" in (project / ".env").read_text()
    assert "buddy-tui: edited .env\n" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- real processes


@pytest.mark.parametrize(("fmt", "loaded"), [("text", []), ("json", []), ("markdown", ["markdown_it", "rich"])])
def test_a_real_process_loads_rich_only_for_markdown_and_never_textual(fake_api: FakeAnthropic, project: Path,
                                                                       fmt: str, loaded: list[str]) -> None:
    fake_api.queue(Reply.of("# Hi\n\nthere"))
    code = ("import sys; from buddy_tui import cli; code = cli.main(['ask', '-q', '--format', sys.argv[1], 'go']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich', 'markdown_it'}), code, "
            "file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, fmt], cwd=project, env=subprocess_env(fake_api),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.stderr == f"{loaded} 0\n"
    if fmt == "text":
        assert done.stdout == "# Hi\n\nthere"
    elif fmt == "json":
        assert json_lines(done.stdout)[-1]["text"] == "# Hi\n\nthere"
    else:
        assert done.stdout.splitlines()[-1] == "there" and "# Hi" not in done.stdout
