"""state.json: the theme and each project's model remembered, written atomically and privately, and
a damaged file never in the way."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from buddy_tui.settings import ui_state as state_module
from buddy_tui.settings.ui_state import UiState, project_key, state_path


def test_it_lives_in_the_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BUDDY_TUI_DATA_DIR", str(tmp_path))
    assert state_path() == tmp_path / "state.json"
    assert UiState.load().path == tmp_path / "state.json"


def test_nothing_remembered_yet(tmp_path: Path) -> None:
    state = UiState.load(tmp_path / "state.json")
    assert state.theme == "" and state.models == {}
    assert state.model_for(tmp_path) is None
    assert not (tmp_path / "state.json").exists()  # loading never writes


def test_choices_are_remembered_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.json"
    project = tmp_path / "shop"
    project.mkdir()
    state = UiState.load(path)
    assert state.remember_theme("nord") is None
    assert state.remember_model(project, "claude-opus-test") is None
    assert state.model_for(project) == "claude-opus-test"
    again = UiState.load(path)
    assert again.theme == "nord"
    assert again.model_for(project) == "claude-opus-test"
    assert again.model_for(tmp_path / "shop" / ".." / "shop") == "claude-opus-test"  # the same folder
    assert again.model_for(tmp_path) is None
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == {"version": 1, "theme": "nord", "models": {str(project.resolve()): "claude-opus-test"}, "tools": {}}


def test_written_for_the_owner_only_and_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.json"
    UiState.load(path).remember_theme("nord")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.json"]


@pytest.mark.parametrize("damage", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b"[" * 100_000,
                                    b'{"theme": 3, "models": {"/a": 4, "/b": ""}}', b'{"models": ["x"]}'])
def test_a_damaged_file_is_ignored_and_replaced_on_the_next_write(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(damage)
    state = UiState.load(path)
    assert state.theme == "" and state.models == {}
    assert state.remember_theme("dracula") is None
    assert UiState.load(path).theme == "dracula"
    assert json.loads(path.read_text(encoding="utf-8"))["theme"] == "dracula"


def test_the_usable_part_of_a_partly_wrong_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"theme": "nord", "models": {"/a": "m1", "/b": 7}}), encoding="utf-8")
    assert UiState.load(path).models == {"/a": "m1"} and UiState.load(path).theme == "nord"


def test_two_windows_do_not_undo_each_other(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    first, second = UiState.load(path), UiState.load(path)
    assert first.remember_model(tmp_path / "a", "model-a") is None
    assert second.remember_theme("nord") is None  # written after the first, from an older view
    merged = UiState.load(path)
    assert merged.theme == "nord" and merged.model_for(tmp_path / "a") == "model-a"
    assert second.model_for(tmp_path / "a") == "model-a"  # and the second window now knows it too


def test_only_the_most_recent_projects_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_module, "MAX_PROJECTS", 3)
    state = UiState.load(tmp_path / "state.json")
    for name in ("a", "b", "c"):
        state.remember_model(tmp_path / name, f"model-{name}")
    state.remember_model(tmp_path / "a", "model-a2")  # used again: now the most recent
    state.remember_model(tmp_path / "d", "model-d")
    again = UiState.load(tmp_path / "state.json")
    assert [again.model_for(tmp_path / n) for n in "abcd"] == ["model-a2", None, "model-c", "model-d"]


def test_a_failed_write_is_reported_and_the_choice_lasts_for_this_run(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    state = UiState.load(blocker / "state.json")
    problem = state.remember_theme("nord")
    assert problem is not None
    assert problem.startswith(f"{blocker / 'state.json'} could not be written (")
    assert problem.endswith("); the choice lasts until you quit")
    assert state.theme == "nord"


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    UiState.load(path).remember_theme("nord")

    def fail(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    assert UiState.load(path).remember_theme("dracula") == (f"{path} could not be written (No space left on "
                                                           "device); the choice lasts until you quit")
    monkeypatch.undo()
    assert UiState.load(path).theme == "nord"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_project_key_is_the_resolved_path(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert project_key(tmp_path / "link") == project_key(tmp_path / "real") == str((tmp_path / "real").resolve())


def test_tools_allowed_for_good_are_kept_per_project(tmp_path: Path) -> None:
    state = UiState.load(tmp_path / "state.json")
    assert state.remember_tools(tmp_path / "a", {"Edit", "Write"}) is None
    assert state.remember_tools(tmp_path / "b", set()) is None
    again = UiState.load(tmp_path / "state.json")
    assert again.tools_for(tmp_path / "a") == {"Edit", "Write"} and again.tools_for(tmp_path / "b") == set()
