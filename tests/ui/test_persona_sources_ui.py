"""In the app: the chat names both files of an override, and /problems lists the files that were
read leniently, with line and reason, beside the ones that could not be read."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Static

from buddy_tui.ui.screens.problems import ProblemsScreen
from buddy_tui.ui.widgets.transcript import Note
from tests.helpers import make_app, submit, text_of, wait_for
from tests.test_persona_sources import claude_buddy_project


async def test_the_chat_and_problems_say_how_each_file_was_read(tmp_path: Path) -> None:
    root = claude_buddy_project(tmp_path / "project")
    (root / ".claude" / "agents" / "half.md").write_text("---\nname: half\n")
    app = make_app(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.query(Note), what="the greeting's notes")
        notes = [text_of(n) for n in app.query(Note)]
        assert ("Agent persona 'backend' (.claude/agents/persona-backend.md, named persona-backend) overrides the "
                "bundled one (buddy-tui's personas/backend.md).") in notes
        assert ("1 project file(s) (personas, commands, memory, manifests) could not be used: /problems shows which, "
                "and why.") in notes
        assert ("2 persona or command file(s) are not strict YAML and were read leniently: /problems shows "
                "where.") in notes
        assert text_of(app.query_one("#persona-name", Static)) == "● Backend"  # the project's, the only one
        await submit(pilot, app, "/problems")
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemsScreen) and app.screen.query(DataTable))
        screen = app.screen
        table = screen.query_one(DataTable)
        rows = {(Path(str(r[1])).name, str(r[2])): [str(c) for c in r]
                for r in (table.get_row_at(i) for i in range(table.row_count))}
        assert set(rows) == {("half.md", "1"), ("broken-name.md", "2"), ("plain.md", "1")}
        assert rows["half.md", "1"][1:] == [".claude/agents/half.md", "1", "not loaded",
                                             "front matter opened with '---' is never closed"]
        assert rows["broken-name.md", "2"][3:] == [
            "loaded as read",
            "'name': '[' opens a list that is never closed; read as the text '[unclosed'"]
        assert rows["plain.md", "1"][3] == "loaded as read"
        assert text_of(screen.query_one("#problems-title", Static)) == (
            "1 file(s) could not be read; 2 file(s) are not strict YAML and were read leniently (shown as read); "
            "everything else loaded.")
        assert "named persona-backend" in text_of(screen.query_one("#problems-overrides", Static))


async def test_problems_lists_refused_memory_redactions_and_a_capped_gitignore(tmp_path: Path) -> None:
    """Files read on their own besides personas: a CLAUDE.md symlinked out of the project (not
    read), a token in CLAUDE.local.md (sent redacted, the kind named, never the value), and a
    .gitignore past its cap (read in part), each a row of /problems."""
    from textual.widgets import DataTable

    from buddy_tui.context.folder import MAX_GITIGNORE_LINES
    from buddy_tui.ui.screens.problems import ProblemsScreen

    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "elsewhere.md").write_text("outside\n")
    (root / "CLAUDE.md").symlink_to(tmp_path / "elsewhere.md")
    (root / "CLAUDE.local.md").write_text(f"deploy token {token}\n")
    (root / ".gitignore").write_text("\n".join(f"b{i}/" for i in range(MAX_GITIGNORE_LINES + 10)) + "\n")
    (root / "app.py").write_text("x = 1\n")
    app = make_app(root)
    async with app.run_test(size=(200, 48)) as pilot:
        app.session.rules.is_ignored(root / "app.py")  # as the tree and the index do
        app.action_problems()
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemsScreen) and app.screen.query(DataTable),
                       what="/problems")
        table = app.screen.query_one(DataTable)
        rows = [" | ".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]
        assert any(r.startswith("memory | CLAUDE.md") and "not loaded" in r and "outside the project" in r
                   for r in rows)
        assert any(r.startswith("memory | CLAUDE.local.md") and "sent redacted" in r and "line 1" in r
                   for r in rows)
        assert any(r.startswith("gitignore | .gitignore") and "read in part" in r for r in rows)
        assert all(token not in r and token[4:14] not in r for r in rows)


async def test_the_greeting_says_when_project_memory_was_redacted(tmp_path: Path) -> None:
    """A token in CLAUDE.local.md is redacted before the system prompt; the chat says so, never the value."""
    root = tmp_path / "project"
    root.mkdir()
    token = "ghp_" + "Zq8" * 12
    (root / "CLAUDE.local.md").write_text(f"deploy token: {token}\nRun make test.\n")
    app = make_app(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.query(Note), what="the greeting's notes")
        notes = [text_of(n) for n in app.query(Note)]
        assert [n for n in notes if n.startswith("CLAUDE.local.md: secret-looking values were redacted")]
        assert all(token not in n for n in notes)
        assert all(token not in memory.text for memory in app.session.memory)
