"""Crash reports: when something unexpected breaks, the user sees one plain line, and the details
go to a file in the platform's log folder, with credentials scrubbed out."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from platformdirs import user_log_path

from buddy_tui import __version__

#: Environment variables whose values must never appear in a report.
SECRET_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def scrub(text: str) -> str:
    """Replace the value of every secret variable that is set with a placeholder."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, f"<{name}>")
    return text


def write_report(error: BaseException, folder: Path | None = None) -> Path | None:
    """Write the traceback (no local variables) to a new file; None if even that fails."""
    folder = folder or user_log_path("buddy-tui")
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    report = f"buddy-tui {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S')}\n\n{details}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        path.write_text(scrub(report), encoding="utf-8")
    except OSError:
        return None
    return path


def one_line(error: BaseException, report: Path | None) -> str:
    """What the user sees in the terminal after a crash."""
    message = str(error).splitlines()[0] if str(error) else ""
    where = f" Details: {report}" if report else ""
    return scrub(f"buddy-tui stopped after an unexpected error ({type(error).__name__}"
                 f"{': ' + message if message else ''}).{where}")
