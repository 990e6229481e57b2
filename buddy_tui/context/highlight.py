"""Choose a Pygments lexer from a file's name, cheaply (no content sniffing on big files).

Why not ``textual.highlight.guess_language``: it sniffs the content, which costs more (0.4 to
1.7 ms a file against under 0.3 ms here, 8 ms against 0.01 ms for the 256 KB head of a SQL dump;
Textual 8.2.8) and guesses worse for a backend project: Transact-SQL for both ``.sql`` files tried
and even for ``.env``, where this picks ``sql`` and ``bash``. (It does read a shebang, which this does
not.) Highlighting itself was no reason either way: a 3,000-line preview took 373 ms through
Rich's Syntax (ui/widgets/code_view.py) against 454 ms with ``textual.highlight.highlight`` and
the same conversion to lines, and 715 against 672 ms for SQL. And context/ may not load Textual.
"""

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
