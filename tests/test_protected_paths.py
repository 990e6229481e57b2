"""Agent, editor and git configuration is asked about before every change, in every mode: a
permission for the conversation, a remembered one, or ``--allow-edits`` never covers it."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.headless.asker import FlagAsker
from buddy_tui.headless.output import Reporter
from buddy_tui.tools.asking import Approval
from buddy_tui.tools.protected import PROTECTED_FILES, PROTECTED_FOLDERS, protected_reason
from buddy_tui.tools.runner import ToolRunner
from buddy_tui.tools.specs import ToolCall
from tests.helpers import ScriptedAsker, make_project

ALL = ("Read", "Grep", "Glob", "Edit", "Write")
PROTECTED = [".claude/settings.json", ".claude/agents/backend.md", ".vscode/tasks.json", ".buddy/personas/evil.md",
             "CLAUDE.md", "CLAUDE.local.md", "sub/Claude.MD", ".gitignore", "sub/.gitignore", ".gitmodules",
             ".gitattributes", ".idea/workspace.xml", ".husky/pre-commit", ".github/workflows/ci.yml", ".mcp.json",
             ".bashrc", ".zshrc", ".profile", ".bash_profile", "AGENTS.md", ".devcontainer/devcontainer.json"]


class Recording(ScriptedAsker):
    """Keeps every change request, to see what the person was shown."""

    def __init__(self, answers: list[Any]) -> None:
        super().__init__(answers)
        self.requests: list[Any] = []

    async def approve_change(self, change: Any) -> Any:
        self.requests.append(change)
        return await super().approve_change(change)


def write_call(path: str) -> ToolCall:
    return ToolCall("t1", "Write", {"path": path, "content": "*\n"})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "p")


def test_the_set_is_defined_once_and_matches_any_case_and_folder() -> None:
    for path in PROTECTED:
        assert protected_reason(path), path
    assert protected_reason("app/models.py") == protected_reason("README.md") == ""
    assert protected_reason("docs/claude.md.txt") == protected_reason("my.vscode/x") == ""
    assert ".claude" in PROTECTED_FOLDERS and ".gitignore" in PROTECTED_FILES
    assert protected_reason(".envrc") == "a shell start-up file"  # (also a secrets file: asked twice)


@pytest.mark.parametrize("path", PROTECTED)
async def test_allowed_for_the_conversation_or_remembered_still_asks(root: Path, path: str) -> None:
    asker = Recording([Approval("always")])
    runner = ToolRunner(root, IgnoreRules(root), asker)
    runner.always_allowed = {"Edit", "Write"}  # "allow for this conversation", or kept for the project
    outcome = await runner.execute(write_call(path), ALL, "Backend")
    assert asker.asked == [f"Approve Write of {path}"]
    assert asker.requests[0].protected and asker.requests[0].sensitive  # no "allow for the conversation"
    assert not outcome.is_error and (root / path).read_text() == "*\n"
    assert runner.always_allowed == {"Edit", "Write"}


@pytest.mark.parametrize("path", PROTECTED)
async def test_an_always_answer_for_a_protected_path_is_not_kept(root: Path, path: str) -> None:
    asker = Recording([Approval("always"), None])
    runner = ToolRunner(root, IgnoreRules(root), asker)
    await runner.execute(write_call(path), ALL, "Backend")
    assert runner.always_allowed == set()


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("allow_secrets", [False, True])
async def test_allow_edits_in_ask_never_changes_a_protected_path(root: Path, path: str, allow_secrets: bool) -> None:
    """Not even with --allow-secrets too: such a change is reviewed in the app, and the model is told why."""
    before = (root / path).read_text() if (root / path).exists() else None
    asker = FlagAsker(Reporter(io.StringIO()), allow_edits=True, allow_secrets=allow_secrets)
    runner = ToolRunner(root, IgnoreRules(root), asker)
    outcome = await runner.execute(write_call(path), ALL, "Backend")
    assert outcome.is_error and "always reviewed by the user in the app" in outcome.content
    assert ((root / path).read_text() if (root / path).exists() else None) == before


async def test_an_ordinary_file_is_not_asked_about_when_allowed(root: Path) -> None:
    """The control: what the tests above see asked is not asked for every file."""
    asker = Recording([])
    runner = ToolRunner(root, IgnoreRules(root), asker)
    runner.always_allowed = {"Write"}
    outcome = await runner.execute(write_call("app/new.py"), ALL, "Backend")
    assert asker.asked == [] and not outcome.is_error


async def test_a_symlink_to_a_protected_file_is_protected_too(root: Path) -> None:
    (root / ".claude").mkdir()
    (root / ".claude" / "settings.json").write_text("{}\n")
    os.symlink(".claude/settings.json", root / "notes.json")
    asker = Recording([None])
    runner = ToolRunner(root, IgnoreRules(root), asker)
    runner.always_allowed = {"Write"}
    await runner.execute(write_call("notes.json"), ALL, "Backend")
    assert asker.requests and asker.requests[0].protected == "agent configuration"
    assert (root / ".claude" / "settings.json").read_text() == "{}\n"
