"""Parsed front matter, remembered between starts.

Loading PyYAML and parsing every persona and command file is a good part of buddy-tui's start-up.
Their front matter rarely changes, so the parsed mapping of each distinct front-matter text is
kept in the data folder; a start whose files are unchanged reads one small JSON file instead and
never imports YAML. The key is the front-matter text itself, so an edited file is simply parsed
again; with the mapping goes where it had to be read leniently, so /problems lists such a file on
every start, not only the first. Anything that goes wrong here only costs the cache, never a persona.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from buddy_tui import __version__
from buddy_tui.settings.files import write_atomic
from buddy_tui.settings.paths import data_dir

MAX_ENTRIES = 2_000
_entries: dict[str, str] | None = None
_changed = False


def _file() -> Path:
    # v2: each entry holds the mapping and the lenient-reading notes (v1 held the mapping alone).
    return data_dir() / "cache" / "front-matter.v2.json"


#: The entry that names the buddy-tui version which wrote the file: another version's readings
#: (its parser, its wording of the notes) are not reused.
_VERSION_KEY = "\x00buddy-tui"


def _load() -> dict[str, str]:
    global _entries
    if _entries is None:
        try:
            data = json.loads(_file().read_text(encoding="utf-8"))
            _entries = {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}
        except (OSError, ValueError, AttributeError, RecursionError):
            _entries = {}
        if _entries.get(_VERSION_KEY) != __version__:
            _entries = {_VERSION_KEY: __version__}
    return _entries


Notes = list[tuple[int, str]]


def get(raw: str) -> tuple[dict[str, Any], Notes] | None:
    """The mapping parsed from this front-matter text before, and the notes on how it was read
    (line within the front matter, why), if remembered."""
    stored = _load().get(raw)
    if stored is None:
        return None
    try:
        value = json.loads(stored)
        meta, notes = value["meta"], [(int(line), str(why)) for line, why in value["notes"]]
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return (meta, notes) if isinstance(meta, dict) else None


def put(raw: str, meta: dict[str, Any], notes: Sequence[tuple[int, str]] = ()) -> None:
    """Remember a parsed mapping and its notes (unless JSON cannot hold it, such as a YAML date)."""
    global _changed
    try:
        stored = json.dumps({"meta": meta, "notes": [list(note) for note in notes]}, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):  # RecursionError: nesting deeper than json's stack
        return
    if json.loads(stored)["meta"] != meta:  # e.g. tuples or non-string keys would come back different
        return
    entries = _load()
    if entries.get(raw) != stored:
        entries[raw] = stored
        while len(entries) > MAX_ENTRIES:
            del entries[next(k for k in entries if k != _VERSION_KEY)]
        _changed = True


def save() -> None:
    """Write the cache if it changed (atomically; silently skipped when the folder is not writable)."""
    global _changed
    if not _changed or _entries is None:
        return
    path = _file()
    with contextlib.suppress(OSError, ValueError):  # ValueError: text UTF-8 cannot hold (a lone surrogate)
        data = json.dumps(_entries, ensure_ascii=False).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        _changed = False


def forget() -> None:
    """Drop what this process holds (tests and a changed data folder)."""
    global _entries, _changed
    _entries, _changed = None, False
