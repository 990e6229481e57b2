"""Where the files that ship with buddy-tui live, installed or in a source checkout.

In a wheel the top-level ``personas/`` folder is packed as ``buddy_tui/bundled/personas``; in a
checkout (including an editable install) it sits beside the package. Commands always live in
``buddy_tui/bundled/commands``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
BUNDLED = _PACKAGE / "bundled"


def personas_dir() -> Path:
    """The bundled personas folder: inside the package when installed, else the checkout's."""
    packed = BUNDLED / "personas"
    if packed.is_dir():
        return packed
    return _PACKAGE.parent / "personas"


def commands_dir() -> Path:
    """The bundled slash-command folder (sub-folders are namespaces, as in Claude Code)."""
    return BUNDLED / "commands"
