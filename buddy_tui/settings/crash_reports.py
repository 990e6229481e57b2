"""Crash reports: when something unexpected breaks, the user sees one plain line, and the details
go to a file in the platform's log folder, with credentials scrubbed out."""

from __future__ import annotations

import os
import re
import time
import traceback
from pathlib import Path
from urllib.parse import unquote, urlsplit

from platformdirs import user_log_path

from buddy_tui import __version__

#: Environment variables whose values must never appear in a report.
SECRET_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


#: Variables holding addresses that may carry a user name and password (a proxy's, say).
URL_VARIABLES = ("ANTHROPIC_BASE_URL", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                 "all_proxy")
#: The user name and password in an address: ``scheme://`` then everything up to the last ``@``
#: before the host (a password may hold a bare ``@``).
_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^\s/?#]*@")


def without_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every address in it left out: an address with
    credentials in it is shown, logged and stored without them."""
    return _USERINFO.sub(r"\1", text)


def _url_passwords() -> list[str]:
    """The passwords (as written, and decoded) in the addresses the environment names."""
    found: list[str] = []
    for name in URL_VARIABLES:
        try:
            password = urlsplit(os.environ.get(name) or "").password
        except ValueError:
            continue
        found += [p for p in {password or "", unquote(password or "")} if len(p) >= 4]
    return found


def scrub(text: str) -> str:
    """Replace the value of every secret variable that is set with a placeholder, and leave out
    the credentials of every address (and the passwords of the environment's addresses, wherever
    they appear)."""
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, f"<{name}>")
    text = without_userinfo(text)
    for password in _url_passwords():
        text = text.replace(password, "<password>")
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
