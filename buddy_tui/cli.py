"""Command line: ``buddy-tui [PATH] [--persona NAME|FILE] [--model MODEL]``, and ``buddy-tui ask ...``.

Arguments are checked before Textual is imported, so a mistake is reported in one plain line
and the terminal is never switched into application mode for nothing. ``ask`` as the first
argument hands over to :mod:`buddy_tui.headless`, which never imports Textual at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from buddy_tui import __version__
from buddy_tui.core.frontmatter import DefinitionError
from buddy_tui.core.personas import bundled_personas


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, separate so tests can inspect it."""
    parser = argparse.ArgumentParser(
        prog="buddy-tui",
        description="A terminal assistant for backend developers: browse a project beside a "
        "Claude-powered backend persona.",
        epilog="Set ANTHROPIC_API_KEY for Claude, or ANTHROPIC_BASE_URL for an Anthropic-compatible "
        "local server (Ollama, llama.cpp). Type / in the app for commands. For scripts and pipes, "
        "'buddy-tui ask QUESTION...' answers on standard output without the app (see buddy-tui ask --help; "
        "open a folder named ask as ./ask).",
    )
    parser.add_argument("path", nargs="?", default=".", help="project folder to open (default: .)")
    parser.add_argument("--persona", metavar="NAME|FILE",
                        help="a bundled persona's name or a persona Markdown file (default: backend)")
    parser.add_argument("--model", help="Claude model to use (default: $BUDDY_TUI_MODEL or a current Sonnet)")
    parser.add_argument("-c", "--continue", dest="resume_latest", action="store_true",
                        help="reopen this project's latest conversation")
    parser.add_argument("--list-personas", action="store_true",
                        help="print the bundled personas and where they live, then exit")
    parser.add_argument("--version", action="version", version=f"buddy-tui {__version__}")
    return parser


def _fail(message: str) -> int:
    print(f"buddy-tui: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``buddy-tui`` command; returns the process exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["ask"]:
        from buddy_tui import headless

        return headless.main(arguments[1:])
    args = build_parser().parse_args(arguments)
    if args.list_personas:
        try:
            personas = bundled_personas()
        except DefinitionError as exc:
            return _fail(str(exc))
        for persona in personas.values():
            print(f"{persona.name}\t{persona.path}\t{persona.description}")
        return 0

    root = Path(args.path).expanduser()
    try:
        if not root.exists():
            return _fail(f"{args.path}: no such folder")
        if not root.is_dir():
            return _fail(f"{args.path}: not a folder (open the folder that contains it)")
        next(root.iterdir(), None)
    except OSError as exc:
        return _fail(f"{args.path}: cannot open ({exc.strerror or exc})")
    from buddy_tui.core.config import Settings
    from buddy_tui.core.history import open_store
    from buddy_tui.core.paths import history_path
    from buddy_tui.core.session import open_session

    store, problem = open_store(history_path())
    try:
        session = open_session(root.resolve(), args.persona, Settings.from_env(model=args.model), store, problem)
    except DefinitionError as exc:
        return _fail(str(exc))

    from buddy_tui.ui.app import BuddyApp

    app = BuddyApp(session, resume_latest=args.resume_latest)
    # Textual reads keys and writes frames on threads of its own. While a reply streams the main
    # thread is busy, and each hand-over of the GIL waited out Python's default 5 ms: a key then
    # took twice that to be read and drawn. 1 ms keeps typing as quick as in an idle app.
    sys.setswitchinterval(0.001)
    try:
        app.run()
    except KeyboardInterrupt:
        return 130
    finally:
        if session.store is not None:
            session.store.close()
    return app.return_code or 0
