"""The project folder: which paths belong in the tree, and keeping every path inside the root.

Ignore rules follow git: every ``.gitignore`` from the root down to a path's folder applies, later
(deeper) files override earlier ones, and ``.git/`` is always hidden. Matching is done by
pathspec's git-compatible implementation rather than by hand.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from buddy_tui.context.confined import read_gitignore
from buddy_tui.context.wildmatch import WildSpec, gitignore_spec

ALWAYS_HIDDEN = frozenset({".git"})
#: Of each .gitignore, at most this much is read and this many lines used (a real one has a few
#: hundred; pathspec's cost grows with every pattern, for every path checked).
MAX_GITIGNORE_BYTES = 512 * 1024
MAX_GITIGNORE_LINES = 5_000


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` (after resolving symlinks) is ``root`` or inside it."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop, or a path we may not stat
        return False
    return resolved == root or root in resolved.parents


def leads_in_circles(path: Path) -> bool:
    """True for a symlinked folder that points at itself or at a folder above it (expanding it
    would show the same tree again, forever)."""
    try:
        if not path.is_symlink():
            return False
        target = path.resolve()
    except (OSError, RuntimeError):
        return True
    here = path.parent.resolve()
    return target == here or target in here.parents


class IgnoreRules:
    """Answers "is this path ignored?" for one project root, caching each folder's rules.

    Safe to call from the tree's loader threads.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._specs: dict[Path, WildSpec | None] = {}
        self._folders: dict[tuple[str, ...], bool] = {}
        self._lock = threading.Lock()
        #: .gitignore files used only in part or not at all, and why (for /problems).
        self.capped: dict[Path, str] = {}

    def spec_for(self, folder: Path) -> WildSpec | None:
        """The rules of ``folder``'s own .gitignore (cached; None when it has none)."""
        with self._lock:
            if folder in self._specs:
                return self._specs[folder]
        lines, why = read_gitignore(folder / ".gitignore", self.root, MAX_GITIGNORE_BYTES, MAX_GITIGNORE_LINES)
        spec: WildSpec | None = None
        if lines is not None:
            spec, dropped = gitignore_spec(lines)  # matched in linear time: a pattern cannot freeze the tree
            if dropped:
                why = "; ".join(filter(None, [why, f"{len(dropped)} pattern(s) with too many wildcards not used"]))
        with self._lock:
            self._specs[folder] = spec
            if why:
                self.capped[folder / ".gitignore"] = why
        return spec

    def is_ignored(self, path: Path) -> bool:
        """Whether git would ignore ``path`` (a path inside the root, absolute or relative to it)."""
        path = path if path.is_absolute() else self.root / path
        try:
            relative = path.relative_to(self.root)
        except ValueError:
            return True  # outside the project: never shown
        parts = relative.parts
        if any(part in ALWAYS_HIDDEN for part in parts):
            return True
        # git never looks inside an ignored folder, so any ignored ancestor hides the path.
        if any(self._folder_ignored(parts[:i]) for i in range(1, len(parts))):
            return True
        return bool(parts) and self._matches(parts, _is_dir(path))

    def _folder_ignored(self, parts: tuple[str, ...]) -> bool:
        with self._lock:
            cached = self._folders.get(parts)
        if cached is None:
            cached = self._matches(parts, is_dir=True)
            with self._lock:
                self._folders[parts] = cached
        return cached

    def _matches(self, parts: tuple[str, ...], is_dir: bool) -> bool:
        """Apply each .gitignore from the root to the path's parent; the deepest match wins."""
        verdict = False
        folder = self.root
        for depth in range(len(parts)):
            spec = self.spec_for(folder)
            if spec is not None:
                rest = "/".join(parts[depth:]) + ("/" if is_dir else "")
                include = spec.check(rest)
                if include is not None:
                    verdict = include
            folder = folder / parts[depth]
        return verdict


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def display_path(path: Path, root: Path) -> str:
    """The path as the user thinks of it: relative to the project, with forward slashes."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        return os.fspath(path)


def describe_path(path: Path, root: Path) -> str:
    """``config.txt`` or, for a link, ``config.txt → .env``: exactly what would be sent."""
    try:
        name = path.relative_to(root).as_posix()
    except ValueError:
        name = str(path)
    target = display_path(path, root)
    return name if target == name else f"{name} → {target}"
