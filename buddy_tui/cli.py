"""Command line: ``buddy-tui [PATH] [--persona NAME|FILE] [--model MODEL]``, ``buddy-tui ask ...``
and ``buddy-tui config path|show|init``.

Arguments are checked before Textual is imported, so a mistake is reported in one plain line
and the terminal is never switched into application mode for nothing. ``ask`` as the first
argument hands over to :mod:`buddy_tui.headless.ask`, which never imports Textual at all; ``config``
is answered here, without Textual either.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from buddy_tui import __version__
from buddy_tui.personas.frontmatter import DefinitionError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, separate so tests can inspect it."""
    parser = argparse.ArgumentParser(
        prog="buddy-tui",
        description="A terminal assistant for backend developers: browse a project beside a "
        "Claude-powered backend persona.",
        epilog="Set ANTHROPIC_API_KEY for Claude, or ANTHROPIC_BASE_URL for an Anthropic-compatible "
        "local server (Ollama, llama.cpp). Type / in the app for commands. For scripts and pipes, "
        "'buddy-tui ask QUESTION...' answers on standard output without the app (see buddy-tui ask --help). "
        "Settings live in config.toml: 'buddy-tui config path' prints where, 'buddy-tui config show' what is "
        "in effect, 'buddy-tui config init' writes a commented one. Open a folder named ask or config as ./ask "
        "or ./config.",
    )
    parser.add_argument("path", nargs="?", default=".", help="project folder to open (default: .)")
    parser.add_argument("--persona", metavar="NAME|FILE",
                        help="a bundled persona's name or a persona Markdown file (default: $BUDDY_TUI_PERSONA, "
                        "else default_persona in config.toml, else backend)")
    parser.add_argument("--model", help="Claude model to use (default: $BUDDY_TUI_MODEL, else model in "
                        "config.toml, else a current Sonnet); the chat warns when the endpoint's model list "
                        "does not have it")
    parser.add_argument("-c", "--continue", dest="resume_latest", action="store_true",
                        help="reopen this project's latest conversation")
    parser.add_argument("--list-personas", action="store_true",
                        help="print the personas the app would offer in PATH (default: .), one a line with tabs "
                        "between: name, file, where it came from (bundled, user, project, skill, agent; and what "
                        "it overrides), description; files that could not be read, or only leniently, go to "
                        "standard error; then exit")
    parser.add_argument("--version", action="version", version=f"buddy-tui {__version__}")
    return parser


def _fail(message: str) -> int:
    from buddy_tui.headless.output import one_line

    print(f"buddy-tui: error: {one_line(message)}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``buddy-tui`` command; returns the process exit code. Output cut short
    by its reader (``| head``) ends the command quietly with 141, never with a traceback."""
    try:
        return _main(argv)
    except BrokenPipeError:
        _quiet_stdout()
        return 141


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail on the closed pipe again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["ask"]:
        from buddy_tui.headless import ask as headless

        return headless.main(arguments[1:])
    if arguments[:1] == ["config"]:
        return config_main(arguments[1:])
    args = build_parser().parse_args(arguments)
    root = Path(args.path).expanduser()
    try:
        if not root.exists():
            return _fail(f"{args.path}: no such folder")
        if not root.is_dir():
            return _fail(f"{args.path}: not a folder (open the folder that contains it)")
        next(root.iterdir(), None)
    except OSError as exc:
        return _fail(f"{args.path}: cannot open ({exc.strerror or exc})")
    if args.list_personas:
        return _list_personas(root.resolve())
    from buddy_tui.conversation.session import open_session
    from buddy_tui.settings.config_file import load_config
    from buddy_tui.settings.model_settings import Settings
    from buddy_tui.settings.paths import history_path
    from buddy_tui.store.history import open_store

    config, config_problems = load_config()
    store, problem = open_store(history_path())
    model = args.model
    if model is None and not config.source_of("model").startswith("$"):  # no --model, no $BUDDY_TUI_MODEL
        from buddy_tui.settings.ui_state import UiState

        model = UiState.load().model_for(root.resolve())  # the model last picked in this project, if any
    try:
        session = open_session(root.resolve(), args.persona, Settings.from_config(config, model=model), store,
                               problem, config=config, config_problems=config_problems)
    except DefinitionError as exc:
        return _fail(str(exc))

    from buddy_tui.ui.app import BuddyApp

    app = BuddyApp(session, resume_latest=args.resume_latest, check_model=args.model)
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


def _list_personas(root: Path) -> int:
    """``--list-personas``: what the app would offer in ``root``, with where each came from."""
    from buddy_tui.headless.output import one_line
    from buddy_tui.personas.catalog import load_catalog

    catalog = load_catalog(root)
    lines = []
    for persona in catalog.personas.values():
        origin = persona.source + (f", named {persona.declared_name}" if persona.declared_name else "")
        override = catalog.override_of("persona", persona.name)
        if override is not None and override.path == persona.path:
            origin += f", overrides {override.lost_source} {override.lost_path}"
        # One line per persona and per problem: a name, path or summary holding a line break cannot forge a row.
        lines.append("\t".join(one_line(str(part)) for part in (persona.name, persona.path, origin, persona.summary)))
    for problem in (p for p in catalog.problems if p.kind == "persona"):
        print(f"buddy-tui: not loaded: {one_line(str(problem))}", file=sys.stderr)
    for problem in (p for p in catalog.lenient if p.kind == "persona"):
        print(f"buddy-tui: read leniently: {one_line(str(problem))}", file=sys.stderr)
    return _print("\n".join(lines))


# ------------------------------------------------------------------------------ buddy-tui config


def build_config_parser() -> argparse.ArgumentParser:
    """The parser of ``buddy-tui config``."""
    parser = argparse.ArgumentParser(
        prog="buddy-tui config",
        description="Where buddy-tui's settings file is, and what is in effect.",
        epilog="path: print where config.toml is (whether or not it exists yet). show: print every setting, "
        "its value and where the value came from (default, config.toml or a BUDDY_TUI_* variable), and "
        "whether credentials are set (never their values). init: write a commented config.toml listing "
        "every setting, if there is none yet.",
    )
    parser.add_argument("action", choices=("path", "show", "init"), help="what to do")
    return parser


def config_main(arguments: Sequence[str]) -> int:
    """``buddy-tui config ...``; returns the exit code (2 for a usage mistake)."""
    from buddy_tui.settings.config_file import config_path

    try:
        args = build_config_parser().parse_args(list(arguments))
    except SystemExit as exc:  # --help (0) or a usage mistake (2), already printed by argparse
        return exc.code if isinstance(exc.code, int) else 2
    path = config_path()
    if args.action == "init":
        return _write_template(path)
    return _print(str(path) if args.action == "path" else "\n".join(_show_lines(path)))


def _print(text: str) -> int:
    """Print ``text`` and flush it (a closed pipe is reported by :func:`main`)."""
    print(text, flush=True)
    return 0


def _write_template(path: Path) -> int:
    from buddy_tui.settings.config_file import config_template

    if path.exists():
        return _fail(f"{path} already exists; edit it, or move it away to get a fresh one")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as out:  # never over a file that appeared meanwhile
            out.write(config_template())
    except OSError as exc:
        print(f"buddy-tui: error: {path} could not be written ({exc.strerror or exc})", file=sys.stderr)
        return 1
    print(f"Wrote {path}: every setting is listed there, commented out at its default.")
    return 0


def _show_lines(path: Path) -> list[str]:
    """What ``config show`` prints: the file, each setting with its value and origin, the problems,
    and whether credentials are set. A credential's value is never read into the output."""
    import os

    from buddy_tui.context.attachments import printable
    from buddy_tui.conversation.client import base_url_problem, endpoint
    from buddy_tui.settings.config_file import SETTINGS, load_config, toml_value

    config, problems = load_config(path)
    exists = path.is_file()
    lines = [f"Settings file: {printable(str(path))}" + ("" if exists else " (none yet: 'buddy-tui config init' "
                                                          "writes one)"), ""]
    for setting in SETTINGS:
        source = config.source_of(setting.name)
        lines += [f"{setting.name} = {toml_value(getattr(config, setting.name))}    ({source})",
                  f"    {setting.metadata['doc']}"]
    if problems:
        lines += ["", "Problems:"] + [f"  - {printable(problem)}" for problem in problems]
    lines += ["", "Credentials (read by the Anthropic SDK; values are never shown):"]
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE"):
        lines.append(f"  {name}: {'set (hidden)' if os.environ.get(name) else 'not set'}")
    empty = base_url_problem() is not None and not endpoint().strip()
    shown = "(ANTHROPIC_BASE_URL is set but empty)" if empty else printable(_without_secrets(endpoint()))
    lines.append(f"  endpoint: {shown}")
    return lines


def _without_secrets(url: str) -> str:
    """An endpoint as it may be shown: scheme, host, port and path; no user, password or query."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not a valid URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "(not a valid URL)"
