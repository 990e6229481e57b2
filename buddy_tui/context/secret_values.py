"""What a found value is: a placeholder or a real secret, what an assigned name says it holds, and
how a secret is masked for display (a little of each end, never the whole value)."""

from __future__ import annotations

import re

#: Generic assignments shorter than this are not taken for secrets.
_GENERIC_MIN = 8

# ---------------------------------------------------------------------------- placeholders

_PLACEHOLDER_WORDS = frozenset({
    "changeme", "change_me", "change-me", "password", "passwd", "pass", "secret", "token", "apikey", "api_key",
    "none", "null", "nil", "undefined", "true", "false", "redacted", "default", "todo", "tbd", "test",
    "postgres", "root", "admin", "user", "mysecret", "mypassword", "yourpassword", "yoursecret", "yourtoken",
})
_PLACEHOLDER_PARTS = ("example", "placeholder", "your_", "your-", "yourkey", "changeme", "change_me", "change-me",
                      "dummy", "xxx", "***", "...", "\u2026", "\u2022\u2022", "[redacted", "<", ">")
_TOKEN_PLACEHOLDER_PARTS = ("example", "placeholder", "dummy", "xxxxx")
_TEMPLATE = re.compile(r"^(?:\$\{|\$\(|\$[A-Za-z_]|\{\{|\{%|%\(|%[sd]$|#\{|@\{|\{[\w.]*\}$)|\{\{|\$\{|%\(\w+\)s")
_SAME_CHAR_RUN = re.compile(r"(.)\1{5}")
_NAME = re.compile(r"[a-z]+(?:[_.-][a-z]+)+|[A-Z][A-Z0-9]*+(?:_[A-Z0-9]+)+")  # access_token, ANTHROPIC_API_KEY
_PATH = re.compile(r"(?:~|\.{1,2})?/[a-z0-9._-]++(?:/[a-z0-9._-]++)*+/?")
_REGEX_LIKE = re.compile(r"\\[wdsbWDS]|\[\^|\(\?[:=!<P]|a-z|A-Z|0-9|%s")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")
_NUMBER = re.compile(r"[-+]?\d[\d_.,]*(?:[eE][-+]?\d+)?")


def is_placeholder(value: str) -> bool:
    """``changeme``, ``${DB_PASSWORD}``, ``<your-key>``, ``xxxxxxxx``, ``{{ vault_pw }}`` …"""
    lower = value.lower()
    return (lower in _PLACEHOLDER_WORDS or any(part in lower for part in _PLACEHOLDER_PARTS)
            or _TEMPLATE.search(value) is not None or len(set(value)) == 1)


def is_token_placeholder(value: str) -> bool:
    """Stricter, for formats with a checkable shape: ``AKIAIOSFODNN7EXAMPLE``, ``ghp_xxxxxxxx…``."""
    lower = value.lower()
    return any(part in lower for part in _TOKEN_PLACEHOLDER_PARTS) or _SAME_CHAR_RUN.search(value) is not None


# ---------------------------------------------------------------------------- masking


_TOKEN_PREFIX = re.compile(r"(?:[a-z]{2,10}[_-]){1,3}")  # sk-ant-, ghp_, github_pat_, xoxb-


def mask(value: str, password: bool) -> str:
    """``AKIA…WXYZ``, ``ghp_…WXYZ``, ``hu…99``: a little of each end, never the whole value."""
    n = len(value)
    if password:
        head = tail = min(2, n // 8)
    else:
        tail = min(4, n // 5)
        prefix = _TOKEN_PREFIX.match(value)
        head = max(tail, len(prefix.group()) if prefix and len(prefix.group()) <= n // 3 else 0)
    if head + tail >= n or head + tail == 0:
        return "\u2026"
    return f"{value[:head]}\u2026{value[n - tail:] if tail else ''}"


# ---------------------------------------------------------------------------- generic assignments


def generic_kind(key: str) -> str | None:
    """What an assigned name says its value is: ``DB_PASSWORD`` -> "password", ``apiKey`` -> "API key"."""
    lower = key.lower().replace("-", "_").replace(".", "_")
    compact = lower.replace("_", "")
    if compact.endswith(("password", "passwd", "passphrase")) or lower == "pass" or lower.endswith("_pass"):
        return "password"
    if lower.endswith("_pwd"):  # not a bare PWD: that is the shell's working directory
        return "password"
    if compact.endswith("secret") or compact.endswith(("secretkey", "secretaccesskey")):
        return "secret"
    if compact.endswith("token"):
        return "token"
    if compact.endswith("apikey"):
        return "API key"
    if compact.endswith("privatekey"):
        return "private key"
    return None


def plausible_literal(value: str, quoted: bool, env_style: bool) -> bool:
    """Whether an assigned value looks like a real secret rather than code, a name or a placeholder."""
    if len(value) < _GENERIC_MIN or any(ch.isspace() for ch in value) or is_placeholder(value):
        return False
    if ("://" in value and "@" not in value) or _PATH.fullmatch(value):
        return False  # a URL without credentials in it, or where a key file is
    if quoted:  # names and regular expressions are not secrets
        letters = value.lstrip("_")
        if letters.isascii() and letters.isalpha() and not letters.islower() and not letters.isupper():
            return False  # "challengePassword", "_RSAPrivateKey" (a type annotation)
        return _NAME.fullmatch(value) is None and _REGEX_LIKE.search(value) is None
    if value[0] in "$%@&*!~/." or value.lower() in ("true", "false") or _NUMBER.fullmatch(value):
        return False  # variables, YAML anchors and tags, paths, numbers
    if _DOTTED.fullmatch(value):
        return False  # settings.SECRET_KEY, process.env.TOKEN, self.password
    if _IDENTIFIER.fullmatch(value):  # a variable name, unless it is KEY=value in a .env file
        return env_style or (any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value))
    return True
