"""Where buddy-tui keeps its own files: the data folder (history database, clipboard fallback).

``$BUDDY_TUI_DATA_DIR`` wins (tests and portable setups use it); otherwise the platform's
per-user data folder from platformdirs (``~/.local/share/buddy-tui`` on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_path


def data_dir() -> Path:
    """buddy-tui's data folder (not created here)."""
    configured = os.environ.get("BUDDY_TUI_DATA_DIR")
    return Path(configured).expanduser() if configured else user_data_path("buddy-tui")


def history_path() -> Path:
    """The conversation history database."""
    return data_dir() / "history.sqlite3"
