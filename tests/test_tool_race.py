"""A symlink swapped in between the path check and the write changes nothing outside the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.tools import confined_write, paths, workspace as tools_module
from buddy_tui.tools.workspace import ProjectTools, ToolError
from tests.helpers import make_project

pytestmark = pytest.mark.skipif(not confined_write.SUPPORTED, reason="needs dir_fd and O_NOFOLLOW (POSIX)")


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ProjectTools, Path, Path]:
    root = make_project(tmp_path / "p")
    (root / "sub").mkdir()
    (root / "sub" / "a.txt").write_text("old\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.txt").write_text("precious\n")
    return ProjectTools(root, IgnoreRules(root)), root, outside


def swap(root: Path, outside: Path) -> None:
    """The attack: the checked folder moves aside and a symlink out of the project takes its name."""
    os.rename(root / "sub", root / "sub-real")
    os.symlink(outside, root / "sub")


def test_a_folder_swapped_after_the_check_but_before_the_write(setup: tuple[ProjectTools, Path, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    tools, root, outside = setup
    change = tools.propose_write("sub/a.txt", "new\n")
    read = paths.read_text_exact
    checked: list[Path] = []

    def read_then_swap(path: Path, shown: str) -> str | None:
        text = read(path, shown)
        if checked == [] and path.name == "a.txt":  # apply's last look before writing
            checked.append(path)
            swap(root, outside)
        return text

    monkeypatch.setattr(tools_module, "read_text_exact", read_then_swap)
    with pytest.raises(ToolError, match=r"was replaced .* while writing; nothing was written or deleted"):
        tools.apply(change)
    assert checked and (outside / "a.txt").read_text() == "precious\n"
    assert sorted(p.name for p in outside.iterdir()) == ["a.txt"]


def test_a_folder_swapped_after_it_was_opened(setup: tuple[ProjectTools, Path, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    tools, root, outside = setup
    change = tools.propose_write("sub/a.txt", "new\n")
    monkeypatch.setattr(confined_write, "folder_checked", lambda fd: swap(root, outside))
    tools.apply(change)
    assert (outside / "a.txt").read_text() == "precious\n"
    assert (root / "sub-real" / "a.txt").read_text() == "new\n"  # written where it was checked


def test_undo_deletes_only_inside(setup: tuple[ProjectTools, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    tools, root, outside = setup
    change = tools.propose_write("sub/b.txt", "created\n")
    tools.apply(change)
    (outside / "b.txt").write_text("created\n")
    read = paths.read_text_exact

    def read_then_swap(path: Path, shown: str) -> str | None:
        text = read(path, shown)
        swap(root, outside)
        return text

    monkeypatch.setattr(tools_module, "read_text_exact", read_then_swap)
    with pytest.raises(ToolError, match="nothing was written or deleted"):
        tools.undo(change)
    assert (outside / "b.txt").read_text() == "created\n"
    assert (root / "sub-real" / "b.txt").exists()
