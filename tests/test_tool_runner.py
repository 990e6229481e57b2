"""The tool runner's policy without a UI: consent, redaction, refusals, and errors that stay errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.tools.runner import ToolRunner
from buddy_tui.tools.specs import ToolCall
from tests.helpers import ScriptedAsker, make_project

ALL = ("Read", "Grep", "Glob", "Edit", "Write")


def runner(root: Path, answers: list[Any]) -> tuple[ToolRunner, list[str]]:
    asker = ScriptedAsker(answers)
    return ToolRunner(root, IgnoreRules(root), asker), asker.asked


async def test_grep_never_reads_a_secrets_file_it_was_not_allowed(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    (root / ".env").write_text("FOO=1\x0cDB_PASSWORD=hunter2-prod-Secret9\n")
    (root / "a:b").mkdir()
    (root / "a:b" / ".env").write_text("API_KEY=sk-live-999999999\n")
    tools, asked = runner(root, [])
    outcome = await tools.execute(ToolCall("1", "Grep", {"pattern": "PASSWORD|API_KEY"}), ALL, "Backend")
    assert "hunter2" not in outcome.content and "sk-live" not in outcome.content
    assert "Left out 2 file(s) that look like they hold secrets" in outcome.content
    assert asked == []  # Grep skips them silently; only Read asks


async def test_secret_values_in_tool_output_are_redacted(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    (root / "settings.py").write_text('DEBUG = False\nDB_PASSWORD = "hunter2-prod-Secret9"\n')
    tools, _ = runner(root, [])
    outcome = await tools.execute(ToolCall("1", "Read", {"path": "settings.py"}), ALL, "Backend")
    assert "hunter2-prod-Secret9" not in outcome.content and "[REDACTED:" in outcome.content
    assert "DEBUG = False" in outcome.content and "1 secret value(s) redacted" in outcome.summary


async def test_a_secrets_file_is_asked_about_once_however_it_is_spelled(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    tools, asked = runner(root, ["yes"])
    first = await tools.execute(ToolCall("1", "Read", {"path": "./.env"}), ALL, "Backend")
    second = await tools.execute(ToolCall("2", "Read", {"path": ".env"}), ALL, "Backend")
    assert asked == ["Let Claude read .env?"]
    assert not first.is_error and not second.is_error and "DATABASE_URL" in second.content


async def test_a_refused_secrets_file_cannot_be_probed_with_edit(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    tools, asked = runner(root, ["no"])
    outcome = await tools.execute(
        ToolCall("1", "Edit", {"path": ".env", "old_string": "DATABASE_URL", "new_string": "X"}), ALL, "Backend")
    assert asked == ["Let Claude change .env?"]
    assert outcome.is_error and outcome.content == "The user did not allow changing .env."
    assert "DATABASE_URL" in (root / ".env").read_text()


async def test_an_os_error_becomes_an_error_result_not_a_stuck_turn(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    tools, _ = runner(root, [])
    for name in ("Read", "Write"):
        args: dict[str, Any] = {"path": "é" * 200}
        if name == "Write":
            args["content"] = "x"
        outcome = await tools.execute(ToolCall("1", name, args), ALL, "Backend")
        assert outcome.is_error and "name longer than 255" in outcome.content


async def test_an_unexpected_exception_in_a_tool_is_reported_to_the_model(tmp_path: Path, monkeypatch: Any) -> None:
    root = make_project(tmp_path / "p")
    tools, _ = runner(root, [])

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError(36, "File name too long")

    monkeypatch.setattr("buddy_tui.tools.workspace.run_read_only", broken)  # looked up when a tool runs
    outcome = await tools.execute(ToolCall("1", "Glob", {"pattern": "*"}), ALL, "Backend")
    assert outcome.is_error and outcome.content == "Glob failed: OSError: [Errno 36] File name too long"


async def test_refusals_name_the_tool_and_what_it_was_aimed_at(tmp_path: Path) -> None:
    """A tool line shows the summary alone: "not allowed by you" must say what was refused."""
    root = make_project(tmp_path / "p")
    tools, _ = runner(root, ["no", None])
    refused = await tools.execute(ToolCall("1", "Read", {"path": "./.env"}), ALL, "Backend")
    assert refused.is_error and refused.summary == "Read .env refused: not allowed by you"
    denied = await tools.execute(ToolCall("2", "Write", {"path": "notes.md", "content": "x"}), ALL, "Backend")
    assert denied.is_error and denied.summary == "Write notes.md refused: denied by you"
    persona = await tools.execute(ToolCall("3", "Write", {"path": "x.py", "content": "x"}), ("Read",), "Reader")
    assert persona.is_error and persona.summary == "Write x.py refused: Write is not allowed for Reader"
    assert not (root / "notes.md").exists() and not (root / "x.py").exists()


async def test_undoable_lists_the_changes_still_in_place_oldest_first(tmp_path: Path) -> None:
    from buddy_tui.tools.asking import Approval

    root = make_project(tmp_path / "p")
    tools, _ = runner(root, [Approval("once"), Approval("once")])
    await tools.execute(ToolCall("w", "Write", {"path": "a.md", "content": "a\n"}), ALL, "Backend")
    await tools.execute(ToolCall("e", "Edit", {"path": "README.md", "old_string": "Orders", "new_string": "Shop"}),
                        ALL, "Backend")
    assert [(call.id, change.path) for call, change in tools.undoable()] == [("w", "a.md"), ("e", "README.md")]
    undone = await tools.undo("w")
    assert not undone.is_error and not (root / "a.md").exists()
    assert [call.id for call, _change in tools.undoable()] == ["e"]
    again = await tools.undo("w")
    assert again.is_error and again.content == "Nothing to undo."
    tools.reset()
    assert tools.undoable() == []
