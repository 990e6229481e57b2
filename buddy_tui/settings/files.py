"""Writing a file so that nobody ever reads half of it: the one way buddy-tui replaces or creates
its own files (the remembered state, the front-matter cache, exports) and the user's (the Edit
and Write tools).

:func:`write_atomic` writes a temporary file in the target's folder (the same file system, so the
final move is a rename), flushes it to disk, gives it its permission bits, and only then puts it
in place. A reader, another window or a crash at any moment sees the old file or the new one.
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import suppress
from pathlib import Path

#: Suffix of the temporary files (``.NAME.RANDOM.buddy-tmp``), in case one is ever left behind.
TEMP_SUFFIX = ".buddy-tmp"
#: Owner read and write: the default for buddy-tui's own files, which may quote the user's code.
PRIVATE = 0o600


def write_atomic(path: Path, data: bytes, *, mode: int | None = PRIVATE, exclusive: bool = False) -> None:
    """Put ``data`` at ``path`` as one step: readers see the old file (or none) or the whole new one.

    ``mode``: the permission bits the file ends with (owner-only by default); pass a file's current
    bits to keep them, or None for what any new file gets (0o666 less the umask). With a mode, the
    file is owner-only until it is complete, whatever ``mode`` finally allows.

    ``exclusive``: never replace an existing file (or symbolic link) at ``path``; FileExistsError
    if there is one. Atomic where the file system has hard links; elsewhere a check just before the
    rename leaves a tiny race.

    The folder must exist. Raises OSError (FileExistsError included) and leaves no temporary file
    behind, whatever fails; the folder entry is flushed to disk where the OS allows it.
    """
    folder = path.parent
    temp, handle = _create_temp(folder, path.name, PRIVATE if mode is not None else 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        if exclusive:
            _place_new(temp, path)
        else:
            os.replace(temp, path)
    finally:
        with suppress(OSError):  # gone after a rename; after a hard link, a second name to drop
            temp.unlink(missing_ok=True)
    sync_folder(folder)


def _create_temp(folder: Path, name: str, create_mode: int) -> tuple[Path, int]:
    """A new, empty file of our own beside ``name`` and its open handle: never a file that was
    there already, never through a symbolic link; ``create_mode`` less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    # At most 100 bytes of the name: the temporary name must fit where the name itself just fits.
    stem = name.encode("utf-8", "surrogateescape")[:100].decode("utf-8", "ignore")
    for _ in range(10):
        temp = folder / f".{stem}.{os.urandom(6).hex()}{TEMP_SUFFIX}"
        try:
            return temp, os.open(temp, flags, create_mode)
        except FileExistsError:
            continue
    raise OSError(f"no free temporary name in {folder}")  # not FileExistsError: the target may be free


def _place_new(temp: Path, path: Path) -> None:
    """Give ``temp`` the name ``path`` only if nothing has it: a hard link fails atomically when
    the name is taken; where links are not supported, a check then a rename."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, str(path)) from None
        os.replace(temp, path)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename or a deletion) to disk where the OS allows it."""
    if os.name == "nt":
        return
    with suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


class NotRegularFile(OSError):
    """A path that is a folder, pipe, socket or device, not a file: never opened, since reading a
    pipe or a terminal would block and reading a device may never end."""


def read_regular(path: Path, limit: int, *, follow: bool = True) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the regular file at ``path`` and whether it holds more.

    Never blocks on a pipe and never reads past ``limit`` (a file that grows, or one in /proc
    whose size says 0, included). With ``follow`` False a symlink at ``path`` itself is refused
    (OSError) instead of followed. Raises :class:`NotRegularFile` for anything but a regular
    file, and OSError (FileNotFoundError...) when it cannot be opened."""
    info = os.stat(path, follow_symlinks=follow)
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(errno.EINVAL, _kind_of(info.st_mode), str(path))
    # O_NONBLOCK: should the file be swapped for a pipe after the check, opening it still returns.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    handle = os.open(path, flags)
    try:
        opened = os.fstat(handle)
        if not stat.S_ISREG(opened.st_mode):
            raise NotRegularFile(errno.EINVAL, _kind_of(opened.st_mode), str(path))
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(handle, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(handle)
    data = b"".join(chunks)
    return data[:limit], len(data) > limit


def _kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in plain words."""
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    return "is not a regular file"
