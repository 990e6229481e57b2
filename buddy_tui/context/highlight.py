"""Choose a Pygments lexer from a file's name, cheaply (no content sniffing on big files)."""

from __future__ import annotations

from pathlib import Path

#: Names Pygments does not map on its own but that backend projects are full of.
_BY_NAME = {"Dockerfile": "docker", "Makefile": "make", "Procfile": "text", "Jenkinsfile": "groovy",
            ".env": "bash", ".gitignore": "text", ".dockerignore": "text"}


#: Suffixes Pygments maps to a dialect first; plain SQL reads best for most projects.
_BY_SUFFIX = {".sql": "sql"}


def lexer_for(path: Path) -> str:
    """The Pygments lexer alias for ``path``, or ``'text'`` when none fits."""
    if path.name in _BY_NAME:
        return _BY_NAME[path.name]
    if path.suffix.lower() in _BY_SUFFIX:
        return _BY_SUFFIX[path.suffix.lower()]
    from pygments.lexers import get_lexer_for_filename  # with the first file shown, not at start
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_for_filename(path.name)
    except ClassNotFound:
        return "text"
    return lexer.aliases[0] if lexer.aliases else "text"
