"""Reading the files buddy-tui loads on its own (project memory, personas, agents, skills,
commands, manifests, .gitignore) under the same rule as the model's tools: a file of the project
is read only when it really lies inside the project, and only as much of it as a limit allows.

A symlink such as ``CLAUDE.md -> /proc/self/environ`` or ``.claude/agents/backend.md ->
~/.aws/credentials`` would otherwise put the environment or the user's credentials in the system
prompt. So a path whose real location (every symlink on the way resolved) is outside the root is
refused, and so is anything that is not a regular file (a pipe would block the read, a device may
never end). Files of the user's own folders are not confined to a project, but get the same
regular-file check and bound. Every refusal says why, in words a /problems line can show.
"""

from __future__ import annotations

import os
from pathlib import Path

from buddy_tui.settings.files import NotRegularFile, read_regular


class Refused(Exception):
    """A file that is not read; ``why`` says so in plain words (without the file's name)."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(f"{path}: {why}")


def outside(path: Path, root: Path) -> str | None:
    """Why ``path`` is not a file of the project at ``root`` (None when it is): a symlink, on the
    way or at the end, that leads out of the root, or a loop."""
    return _locate(path, root)[1]


def _locate(path: Path, root: Path) -> tuple[Path, str | None]:
    """Where ``path`` really is, and why it is not a file of the project (None when it is)."""
    try:
        real = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        real = Path(os.path.realpath(path))  # dangling: where it would lead is what counts
    except (OSError, RuntimeError):
        return path, "goes through a symlink loop or cannot be followed; not read"
    base = Path(os.path.realpath(root))
    if real == base or base in real.parents:
        return real, None
    return real, f"is a symlink to a place outside the project ({_plain(real)}); not read"


def _plain(path: Path) -> str:
    """A path outside the project as a message names it: under the home folder as ``~/...``."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):
        return str(path)


def read_bounded(path: Path, limit: int, root: Path | None = None) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of ``path`` and whether there is more. With ``root`` (a project
    file) the file must lie inside it; without (a file of the user's own folders) it need not.
    Raises :class:`Refused` for a file outside the root or one that is not a regular file, and
    FileNotFoundError when there is none; other OSErrors become :class:`Refused` too."""
    target, follow = path, True
    if root is not None:
        target, why = _locate(path, root)
        if why is not None:
            raise Refused(path, why)
        follow = False  # the checked place itself: a symlink put there since is not followed
    try:
        return read_regular(target, limit, follow=follow)
    except FileNotFoundError:
        raise
    except NotRegularFile as exc:
        raise Refused(path, f"{exc.strerror}; not read") from None
    except PermissionError:
        raise Refused(path, "permission denied") from None
    except OSError as exc:
        raise Refused(path, f"cannot be read ({exc.strerror or exc})") from None


def read_gitignore(path: Path, root: Path, max_bytes: int, max_lines: int) -> tuple[list[str] | None, str]:
    """The lines of a .gitignore of the project (None when it has none or it cannot be read) and,
    when not all of it is used, why: a million-line file costs a second per path checked, so only
    the first ``max_lines`` lines of the first ``max_bytes`` count."""
    try:
        data, more = read_bounded(path, max_bytes, root)
    except FileNotFoundError:
        return None, ""
    except Refused as exc:
        return None, f"{exc.why}; nothing it lists is hidden"
    lines = data.decode("utf-8", errors="replace").splitlines()
    if more:
        lines = lines[:-1]  # the last line may be cut in half
    if len(lines) > max_lines or more:
        return lines[:max_lines], (f"is over {max_bytes // 1024} KB or {max_lines:,} lines; only its first "
                                   f"{min(len(lines), max_lines):,} lines are used")
    return lines, ""
