"""write_atomic: the whole new file or the old one, never part of either, with the permission bits
asked for, no temporary file left whatever fails, and no existing file replaced when told not to."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from buddy_tui.settings.files import write_atomic

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="permission bits are POSIX")


def bits(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_bytes_and_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_atomic(target, b"first")
    write_atomic(target, b"second \xe2\x9c\x93")
    assert target.read_bytes() == b"second \xe2\x9c\x93"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@posix_only
def test_owner_only_by_default_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_atomic(tmp_path / "private", b"x")
    finally:
        os.umask(old)
    assert bits(tmp_path / "private") == 0o600


@posix_only
def test_the_mode_given_is_the_mode_it_ends_with(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_text("old")
    target.chmod(0o750)
    write_atomic(target, b"new", mode=bits(target))  # as Edit keeps a file's bits
    assert bits(target) == 0o750 and target.read_text() == "new"


@posix_only
def test_no_mode_gives_what_any_new_file_gets(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.py", b"x", mode=None)
    finally:
        os.umask(old)
    assert bits(tmp_path / "new.py") == 0o644


@posix_only
def test_others_never_see_the_content_while_it_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real_fsync = os.fsync

    def fsync(handle: int) -> None:
        seen.append(stat.S_IMODE(os.fstat(handle).st_mode))
        real_fsync(handle)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomic(tmp_path / "notes.md", b"secret", mode=0o644)
    assert seen[0] == 0o600 and bits(tmp_path / "notes.md") == 0o644


@pytest.mark.parametrize("failing", ["fsync", "chmod", "replace"])
def test_a_failure_leaves_the_old_file_whole_and_no_temporary_file(
        failing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "chat.md"
    target.write_bytes(b"old content")

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(target, b"new content that never arrives")
    monkeypatch.undo()
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["chat.md"]


def test_an_interrupt_leaves_no_temporary_file_either(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "state.json", b"x")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_exclusive_refuses_an_existing_file_and_keeps_it(tmp_path: Path) -> None:
    target = tmp_path / "chat.md"
    target.write_text("keep me")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"new", exclusive=True)
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["chat.md"]
    write_atomic(tmp_path / "other.md", b"new", exclusive=True)
    assert (tmp_path / "other.md").read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.md", "other.md"]


@posix_only
def test_exclusive_refuses_a_dangling_symlink_too(tmp_path: Path) -> None:
    (tmp_path / "link.md").symlink_to(tmp_path / "nowhere.md")
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "link.md", b"x", exclusive=True)
    assert not (tmp_path / "nowhere.md").exists()


def test_exclusive_without_hard_links_still_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "hard links are not supported here")

    monkeypatch.setattr(os, "link", no_links)
    write_atomic(tmp_path / "a.md", b"first", exclusive=True)
    assert (tmp_path / "a.md").read_bytes() == b"first"
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "a.md", b"second", exclusive=True)
    assert (tmp_path / "a.md").read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_a_missing_folder_is_an_error_not_created(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no" / "such" / "file", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_long_name_still_gets_a_temporary_file_beside_it(tmp_path: Path) -> None:
    name = "é" * 120 + ".md"  # 243 bytes: the temporary name must not be longer than the system allows
    write_atomic(tmp_path / name, b"x")
    assert [p.name for p in tmp_path.iterdir()] == [name]
