"""Writing and deleting a project file without a window for a swapped-in symlink.

:func:`buddy_tui.tools.paths.confine` checks where a path leads, but between that check and the
write a folder on the way could be replaced by a symlink leading out of the project. Here the
folder is opened one component at a time from the project root, never following a symlink
(``O_NOFOLLOW``), and the file is written, renamed into place or deleted relative to that open
folder (``dir_fd``): whatever is renamed afterwards, the operation happens in the folder that was
checked. Where the OS lacks ``dir_fd`` (Windows), the plain atomic write is used.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from buddy_tui.settings.files import PRIVATE, TEMP_SUFFIX, sync_folder, write_atomic
from buddy_tui.tools.paths import ToolError, relative, show

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
SUPPORTED = (hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY") and os.open in os.supports_dir_fd
             and os.rename in os.supports_dir_fd and os.unlink in os.supports_dir_fd
             and os.mkdir in os.supports_dir_fd)


def folder_checked(fd: int) -> None:
    """Called once the target's folder is open and checked; a hook point for tests (a symlink
    swapped in from here on must change nothing)."""


@contextmanager
def _open_folder(root: Path, folder: Path, create: bool) -> Iterator[int]:
    """An open handle on ``folder`` (inside ``root``), reached from the root without following any
    symlink; missing folders are made when ``create``."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        for part in Path(relative(folder, root)).parts if folder != root else ():
            try:
                following = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                with suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
                following = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = following
        folder_checked(fd)
        yield fd
    finally:
        os.close(fd)


def _moved(shown: str) -> ToolError:
    return ToolError(f"A folder on the way to {shown} was replaced (by a symbolic link or a file) while writing; "
                     "nothing was written or deleted. Check the project and try again.")


def write_confined(root: Path, target: Path, data: bytes, mode: int | None) -> None:
    """Put ``data`` at ``target`` (resolved, inside ``root``) atomically, in the folder that was
    checked; ``mode`` as for :func:`buddy_tui.settings.files.write_atomic`. Raises OSError or
    :class:`ToolError`."""
    if not SUPPORTED:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data, mode=mode)
        return
    shown = show(relative(target, root))
    try:
        with _open_folder(root, target.parent, create=True) as fd:
            stem = target.name.encode("utf-8", "surrogateescape")[:100].decode("utf-8", "ignore")
            temp = f".{stem}.{os.urandom(6).hex()}{TEMP_SUFFIX}"
            handle = os.open(temp, _FILE_FLAGS, PRIVATE if mode is not None else 0o666, dir_fd=fd)
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
                    if mode is not None:
                        os.fchmod(stream.fileno(), mode)
                os.replace(temp, target.name, src_dir_fd=fd, dst_dir_fd=fd)
            finally:
                with suppress(OSError):
                    os.unlink(temp, dir_fd=fd)
            with suppress(OSError):
                os.fsync(fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _moved(shown) from None
        raise


def delete_confined(root: Path, target: Path) -> None:
    """Delete ``target`` (resolved, inside ``root``) from the folder that was checked."""
    if not SUPPORTED:
        target.unlink()
        sync_folder(target.parent)
        return
    try:
        with _open_folder(root, target.parent, create=False) as fd:
            os.unlink(target.name, dir_fd=fd)
            with suppress(OSError):
                os.fsync(fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise _moved(show(relative(target, root))) from None
        raise
