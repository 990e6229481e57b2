"""The user's settings file, ``config.toml`` in buddy-tui's config folder, and the variables that
override it.

Every setting is a typed field with a default and a one-line description; the description feeds
``buddy-tui config show`` and the commented template ``buddy-tui config init`` writes. Nothing here
raises for a bad file: each problem becomes a sentence naming the setting, what was wrong and the
value used instead, and the rest of the file still counts. Precedence, lowest first: the default,
the file, then ``BUDDY_TUI_*`` variables (a command-line option such as ``--model`` wins over all).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from platformdirs import user_config_path

from buddy_tui.settings.files import NotRegularFile, read_regular

#: The persona that answers when nothing else is asked for: the bundled backend persona.
DEFAULT_PERSONA = "backend"
#: The model and reply length used unless the user sets others.
DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_TOKENS = 8_192

CONFIG_NAME = "config.toml"
#: Every current Claude model takes at least this many input tokens.
DEFAULT_CONTEXT_BUDGET = 200_000
#: A settings file is a few hundred bytes; anything past this is not one.
MAX_CONFIG_BYTES = 256 * 1024


def _doc(text: str, env: str = "") -> dict[str, str]:
    """A setting's metadata: its one-line description and the variable that overrides it, if any."""
    return {"doc": text, "env": env}


@dataclass(frozen=True)
class UserConfig:
    """The effective settings, whichever place each came from (see :meth:`source_of`)."""

    model: str = field(default=DEFAULT_MODEL, metadata=_doc(
        "Claude model for new conversations (--model, or a persona's or command's own model, win over it).",
        "BUDDY_TUI_MODEL"))
    max_tokens: int = field(default=DEFAULT_MAX_TOKENS, metadata=_doc(
        "Most tokens one reply may use.", "BUDDY_TUI_MAX_TOKENS"))
    default_persona: str = field(default=DEFAULT_PERSONA, metadata=_doc(
        "Persona to start with when --persona is not given: a name, or a persona .md file (a relative "
        "path starts from config.toml's folder).", "BUDDY_TUI_PERSONA"))
    theme: str = field(default="", metadata=_doc(
        "Textual theme of the app, such as \"nord\"; empty keeps the built-in one.", "BUDDY_TUI_THEME"))
    context_budget: int = field(default=DEFAULT_CONTEXT_BUDGET, metadata=_doc(
        "Tokens one request may fill: question, files, conversation and the room kept for the reply.",
        "BUDDY_TUI_CONTEXT_BUDGET"))
    sensitive_patterns: tuple[str, ...] = field(default=(), metadata=_doc(
        "File-name patterns to treat as secrets besides the built-in ones (which always apply), such as "
        "[\"*.vault\", \"config/prod.yaml\"]."))
    remember_tool_permissions: bool = field(default=False, metadata=_doc(
        "Keep \"allow for this conversation\" tool approvals for the project in its later conversations too."))
    max_parallel_agents: int = field(default=4, metadata=_doc(
        "Most agents (Task tool calls) that run at the same time; more wait in a queue.",
        "BUDDY_TUI_MAX_PARALLEL_AGENTS"))
    keymap: dict[str, str] = field(default_factory=dict, metadata=_doc(
        "Your own keys per binding id, such as { \"app.quit\" = \"ctrl+q,f10\" } (keys separated by commas)."))
    #: Where each setting's value came from: "default", the file's name, or "$VARIABLE".
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def source_of(self, name: str) -> str:
        """``default``, ``config.toml`` or ``$BUDDY_TUI_MODEL``: where ``name``'s value came from."""
        return self.sources.get(name, "default")


#: The settings in the order the template and ``config show`` list them.
SETTINGS = tuple(f for f in fields(UserConfig) if "doc" in f.metadata)
_NAMES = tuple(f.name for f in SETTINGS)


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$BUDDY_TUI_CONFIG_DIR/config.toml``, else ``config.toml`` in the platform's config folder
    (the same folder that holds the user's personas/ and commands/)."""
    env = os.environ if env is None else env
    configured = env.get("BUDDY_TUI_CONFIG_DIR")
    folder = Path(configured).expanduser() if configured else user_config_path("buddy-tui")
    return folder / CONFIG_NAME


# ----------------------------------------------------------------------------------- values


class _Invalid(ValueError):
    """A value a setting cannot take; the message says what it must be."""


def toml_value(value: Any) -> str:
    """``value`` written as TOML, with every control character escaped so it is safe to print."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        out = []
        for char in value:
            if char in '"\\':
                out.append("\\" + char)
            elif char.isprintable():
                out.append(char)
            else:
                out.append(f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}")
        return '"' + "".join(out) + '"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = [f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    return toml_value(str(value))


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_value(key)


def _shown(value: Any) -> str:
    """A wrong value as the message quotes it: short, and never able to drive the terminal."""
    text = toml_value(value) if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _using(value: Any) -> str:
    """The value used instead of a wrong one, as a message names it."""
    return "the built-in one" if value == "" else toml_value(value)


def _text(value: Any, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise _Invalid("must be text in quotes" + ("" if empty else ", not empty"))
    return value.strip()


def _count(value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):  # from a variable
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Invalid("must be a whole number above 0")
    return int(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("must be true or false")
    return value


def _patterns(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid('must be a list of patterns in quotes, such as ["*.vault"]')
    return tuple(v.strip() for v in value if v.strip())


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "model": lambda v: _text(v, empty=False), "max_tokens": _count, "default_persona": _text, "theme": _text,
    "context_budget": _count, "sensitive_patterns": _patterns, "remember_tool_permissions": _flag,
    "max_parallel_agents": _count,
}


def _keymap(value: Any, where: str, problems: list[str]) -> dict[str, str] | None:
    """The usable entries of a ``keymap`` table; each unusable one is a problem of its own."""
    if not isinstance(value, dict):
        problems.append(f"{where}: keymap must be a table of binding id = \"keys\", not {_shown(value)}; "
                        "using {}")
        return None
    keymap: dict[str, str] = {}
    for binding, keys in value.items():
        if isinstance(keys, str) and keys.strip():
            keymap[binding] = keys.strip()
        else:
            problems.append(f"{where}: keymap {toml_value(binding)} must be keys in quotes such as "
                            f"\"ctrl+q,f10\", not {_shown(keys)}; that binding keeps its usual keys")
    return keymap


def _sensitive(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    """``sensitive_patterns`` as far as it can be used. These patterns keep files from being sent,
    so a wrongly typed value must never mean fewer protected files than the user wrote: one
    pattern in quotes counts as a list of one, and a list keeps its patterns while its other
    items are named in a problem. Anything else is a problem and no pattern of the user's."""
    try:
        return _patterns(value)
    except _Invalid as exc:
        usable = [value] if isinstance(value, str) else [v for v in value if isinstance(v, str)] \
            if isinstance(value, list) else []
        kept = tuple(p.strip() for p in usable if p.strip())
        using = toml_value(list(kept)) + (" (so those files are still treated as secrets)" if kept else "; only "
                                          "the built-in patterns apply")
        problems.append(f"{where}: sensitive_patterns {exc}, not {_shown(value)}; using {using}")
        return kept


# ----------------------------------------------------------------------------------- loading


def _read(path: Path, problems: list[str]) -> dict[str, Any]:
    """The file's table; empty (with one problem naming the file and line) when it cannot be used."""
    try:
        data, more = read_regular(path, MAX_CONFIG_BYTES)  # never blocks: a pipe is refused, not read
    except FileNotFoundError:
        return {}
    except NotRegularFile as exc:
        problems.append(f"{path}: {exc.strerror}; every setting uses its default")
        return {}
    except OSError as exc:
        problems.append(f"{path}: cannot be read ({exc.strerror or exc}); every setting uses its default")
        return {}
    if more:
        problems.append(f"{path}: is over {MAX_CONFIG_BYTES // 1024} KB, too big for a settings file; "
                        "every setting uses its default")
        return {}
    import tomllib  # only when there is a file: most starts have none

    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        problems.append(f"{path}, line {line}: is not UTF-8 text; every setting uses its default")
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)$", message)
        where = f"{path}, line {found.group(1)}" if found else str(path)
        why = message[:found.start()].strip() if found else message
        problems.append(f"{where}: not valid TOML ({why}); every setting uses its default")
    except RecursionError:  # arrays or tables inside each other past Python's stack
        problems.append(f"{path}: nested too deeply to read; every setting uses its default")
    return {}


def _unknown(key: str) -> str:
    import difflib  # only for a mistake

    close = difflib.get_close_matches(key, _NAMES, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"the settings are {', '.join(_NAMES)}"
    return f"unknown setting {_shown(key)} ({hint}); ignored"


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> tuple[UserConfig, list[str]]:
    """The effective settings and the problems met on the way (each a sentence for the user).

    A missing file means defaults; a file that cannot be parsed means defaults and one problem;
    a wrong value is a problem and that setting keeps the value it had before (its default, or
    the file's when a variable is wrong). Unknown keys are reported, with the nearest name.
    """
    env = os.environ if env is None else env
    path = config_path(env) if path is None else path
    problems: list[str] = []
    config = UserConfig()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    where = path.name
    for key, raw in _read(path, problems).items():
        if key not in _NAMES:
            problems.append(f"{where}: {_unknown(key)}")
            continue
        if key == "sensitive_patterns":  # a security setting: a mistake keeps what can be kept
            patterns = _sensitive(raw, where, problems)
            if patterns or raw == []:  # nothing usable: the setting keeps its default
                values[key], sources[key] = patterns, where
            continue
        if key == "keymap":
            keymap = _keymap(raw, where, problems)
            if keymap is not None and (keymap or not raw):  # all entries wrong: nothing came from the file
                values[key], sources[key] = keymap, where
            continue
        try:
            value = _CHECKS[key](raw)
        except _Invalid as exc:
            problems.append(f"{where}: {key} {exc}, not {_shown(raw)}; "
                            f"using {_using(getattr(config, key))}")
            continue
        if key == "default_persona" and value and _looks_like_file(value):
            value = str(path.parent / Path(value).expanduser())  # relative to the config folder
        values[key], sources[key] = value, where
    config = replace(config, **values)
    for setting in SETTINGS:
        variable = setting.metadata["env"]
        raw = env.get(variable, "").strip() if variable else ""
        if not raw:
            continue
        try:
            values[setting.name] = _CHECKS[setting.name](raw)
            sources[setting.name] = f"${variable}"
        except _Invalid as exc:
            problems.append(f"${variable} {exc}, not {_shown(raw)}; using "
                            f"{_using(getattr(config, setting.name))}")
    return replace(config, **values, sources=sources), problems


def _looks_like_file(spec: str) -> bool:
    return spec.endswith(".md") or "/" in spec or "\\" in spec


def config_template() -> str:
    """A commented ``config.toml`` listing every setting at its default (uncommented, it loads as
    the defaults)."""
    lines = ["# buddy-tui settings. Remove the '#' before a setting to change it.",
             "# Variables win over this file: " + ", ".join(
                 f"${s.metadata['env']}" for s in SETTINGS if s.metadata["env"]) + ".",
             "# 'buddy-tui config show' lists what is in effect and where each value came from.", ""]
    defaults = UserConfig()
    for setting in SETTINGS:
        lines += [f"# {setting.metadata['doc']}", f"# {setting.name} = {toml_value(getattr(defaults, setting.name))}",
                  ""]
    return "\n".join(lines)
