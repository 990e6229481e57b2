"""Redaction by what the whole file holds, for tools that return only part of a file.

A private key read in parts (Read with offset/limit inside the block, or Grep matching its base64
lines) showed no ``BEGIN`` line to the scanner and went out whole. Here a file is scanned once,
as a whole, and each piece that leaves is cut from the redacted whole. Unlike
:func:`buddy_tui.context.secrets.redact_window`, which scans the text for each window, the findings
are made once and serve every line a Grep returns; the clipping is the scanner's own (``clipped``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from buddy_tui.context.secrets import SecretFinding, clipped, find_secrets, redact

#: A file larger than this is not read whole just to scan it (the scanner stops at 2 M characters anyway).
WHOLE_FILE_BYTES = 8 * 1024 * 1024


def redact_window(text: str, findings: Sequence[SecretFinding], start: int, end: int) -> tuple[str, int]:
    """``text[start:end]`` with every part of a finding (made in the whole ``text``) that falls in it
    redacted, and how many findings touched it."""
    found = clipped(findings, start, end)
    return redact(text[start:end], found), len(found)


class WholeText:
    """A file's text and its secrets, found once, with each line's place in it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._findings: list[SecretFinding] | None = None
        self._starts: list[int] | None = None

    @property
    def findings(self) -> list[SecretFinding]:
        if self._findings is None:
            self._findings = find_secrets(self.text)
        return self._findings

    def line_span(self, number: int) -> tuple[int, int] | None:
        """Where line ``number`` (1-based, without its ``\\n``) is in the text; None past the end."""
        if self._starts is None:
            starts, pos = [0], self.text.find("\n")
            while pos >= 0:
                starts.append(pos + 1)
                pos = self.text.find("\n", pos + 1)
            self._starts = starts
        if not 1 <= number <= len(self._starts):
            return None
        start = self._starts[number - 1]
        end = self._starts[number] - 1 if number < len(self._starts) else len(self.text)
        return start, end

    def line(self, number: int) -> tuple[str, int] | None:
        """Line ``number`` redacted by the whole text's findings, and how many findings touched it."""
        span = self.line_span(number)
        if span is None:
            return None
        if not self.findings:
            return self.text[span[0]:span[1]], 0
        return redact_window(self.text, self.findings, *span)


def whole_text(path: Path) -> WholeText | None:
    """The file's text (undecodable bytes replaced), or None when it is too large or unreadable."""
    try:
        if path.stat().st_size > WHOLE_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return WholeText(data.decode("utf-8", errors="replace"))
