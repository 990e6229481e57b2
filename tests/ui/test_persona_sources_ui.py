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
        assert "1 persona or command file(s) could not be read: /problems shows which, and why." in notes
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
