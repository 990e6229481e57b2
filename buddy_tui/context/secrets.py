"""Find secrets in text before it goes to the model, and redact them.

Two kinds of evidence are used: token formats that identify themselves (``AKIA…`` AWS key ids,
``ghp_…`` GitHub tokens, ``sk-ant-…`` Anthropic keys, PEM private key blocks, JWTs …), and
assignments whose name says "password", "secret", "token", "api key" or "private key" and whose
value is a literal that is neither code (``request.form["password"]``, ``get_token()``) nor a
placeholder (``${VAR}``, ``<your-key>``, ``changeme``).

The work is bounded whatever the input: every pattern runs in linear time (token patterns may
only start where a token can start, and their repetitions are possessive, so they never
backtrack), only lines that contain a trigger are examined, at most :data:`SCAN_CHARS` of the
text is searched, and a long line is examined in pieces of at most :data:`LINE_CHARS`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from buddy_tui.context.attachments import Attachment

#: Only the first 2 MB (in characters) of a text are searched.
SCAN_CHARS = 2_000_000
#: A longer line is examined in pieces of at most this many characters, cut at a separator.
LINE_CHARS = 10_000
#: How far back from the piece limit a separator (``,`` ``;`` a bracket, else a space) is looked for.
_CUT_SLACK = 1_000
#: A private key block longer than this is not looked for past it (an RSA-8192 key is ~6.5 KB).
_PEM_CHARS = 64_000
#: A private key block's body has at least this many base64 characters (real ones have hundreds).
_PEM_MIN = 40
#: Generic assignments shorter than this are not taken for secrets.
_GENERIC_MIN = 8


@dataclass(frozen=True)
class SecretFinding:
    """One secret in a text: ``text[start:end]`` is the value that :func:`redact` replaces."""

    kind: str  # "AWS access key", "private key block", "password", ...
    line: int  # 1-based
    start: int
    end: int
    preview: str  # masked for display, never the whole value


# ---------------------------------------------------------------------------- token formats

_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_HEADER = re.compile(r"^[ \t]*[A-Za-z][A-Za-z0-9-]*:[^\n]*$", re.MULTILINE)  # Proc-Type:, DEK-Info:
_PEM_NOISE = re.compile(r"\\[nr]|[\s\"'`+,;\\]")  # line breaks, quotes and concatenation in source code
_BASE64 = re.compile(r"[A-Za-z0-9+/=]+")
_PEM_BODY = re.compile(r"(?:^[ \t]*+[A-Za-z][A-Za-z0-9-]*+:[^\n]*+|[A-Za-z0-9+/=\s\"'`,;]|\\[nr])*+", re.MULTILINE)

#: (kind, pattern) in order of priority; group "value" (else the whole match) is the secret.
#: The look-behind lets a token start only where a run of its characters starts.
_TOKEN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key", re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}+(?![A-Za-z0-9])")),
    ("AWS secret key", re.compile(
        r"(?i:(?<![a-z0-9])(?:aws[_.-]?)?secret[_.-]?access[_.-]?key)[\"']?\]?[ \t]*+(?::=|=>|[:=])[ \t]*+"
        r"[\"']?(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])")),
    ("GitHub token", re.compile(
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}+|github_pat_[A-Za-z0-9_]{22,244}+)(?![A-Za-z0-9_])")),
    ("GitLab token", re.compile(r"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,100}+(?![A-Za-z0-9_-])")),
    ("Slack token", re.compile(r"(?<![A-Za-z0-9_-])xox[baprs]-[A-Za-z0-9-]{10,250}+(?![A-Za-z0-9_-])")),
    ("Stripe key", re.compile(r"(?<![A-Za-z0-9_])[rs]k_live_[A-Za-z0-9]{16,247}+(?![A-Za-z0-9_])")),
    ("Google API key", re.compile(r"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}+(?![A-Za-z0-9_-])")),
    ("Anthropic API key", re.compile(r"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,400}+(?![A-Za-z0-9_-])")),
    ("OpenAI API key", re.compile(r"(?<![A-Za-z0-9_-])sk-(?!ant-)[A-Za-z0-9_-]{32,400}+(?![A-Za-z0-9_-])")),
    ("JWT", re.compile(
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,4000}+\.[A-Za-z0-9_-]{8,8000}+\.[A-Za-z0-9_-]{0,2000}+"
        r"(?![A-Za-z0-9_.-])")),
    ("bearer token", re.compile(
        r"(?<![A-Za-z0-9])(?i:bearer)[ \t]++(?P<value>[A-Za-z0-9._~+/-]{20,500}+=*+)(?![A-Za-z0-9._~+/=-])")),
)

#: ``scheme://user:password@host``: only the password is the secret.
_URL_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}+://[^\s:/@'\"`<>]{0,100}+:(?P<value>[^\s/@'\"`<>]{1,200}+)@")
_AUTHORITY_REST = re.compile(r"[^\s/?#'\"`<>]{0,300}+")

#: ``name = value`` / ``name: value`` / ``"name": "value"`` / ``name := value`` / ``name => value``,
#: also ``name: Type = value`` and ``config["name"] = value``. The look-behinds after the name are a
#: cheap filter; :func:`_generic_kind` decides.
_ASSIGNMENT = re.compile(
    r"""(?<![\w.-])(?P<key>[A-Za-z_][\w.-]{0,80}+)
        (?i:(?<=pass)|(?<=pwd)|(?<=passwd)|(?<=word)|(?<=phrase)|(?<=secret)|(?<=token)|(?<=key))
        (?P<kq>["'])?\]?
        (?:[ \t]*+:[ \t]*+[A-Za-z_][\w.]*+(?:\[[^\]\n]{0,60}+\])?(?:[ \t]*+\|[ \t]*+None)?(?=[ \t]*+=))?
        (?P<sep>[ \t]*+(?::=|=>|[:=](?!=))[ \t]*+)
        (?:[rRbBuU]{0,2}+(?:"(?P<dq>(?:[^"\\\n]|\\.){0,500}+)"|'(?P<sq>(?:[^'\\\n]|\\.){0,500}+)'
                           |`(?P<bq>[^`\\\n]{0,500}+)`)
          |(?P<bare>[^\s'"`,;()\[\]{}<>]{1,500}+))
    """,
    re.VERBOSE,
)
_BARE_END = re.compile(r"[ \t\r\f\v]*+(?:$|;|#|//)")
_ENV_PREFIX = re.compile(r"[ \t]*+(?:-[ \t]++)?(?:export[ \t]++)?")
_UPPER_NAME = re.compile(r"[A-Z][A-Z0-9_]*+")

#: Where a line may hold something the rules above find: only such lines are examined. It is searched
#: for in the lower-cased text (much faster than a case-insensitive search), else case-insensitively.
_TRIGGER_WORDS = (r"pass|pwd|secret|token|api[-_.]?key|private[-_.]?key|bearer"
                  r"|akia|asia|gh[pousr]_|github_pat_|glpat-|xox[baprs]-|[rs]k_live_|aiza|sk-|eyj|://")
_TRIGGER = re.compile(_TRIGGER_WORDS)
_TRIGGER_ANY_CASE = re.compile(_TRIGGER_WORDS, re.IGNORECASE)

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


def _is_placeholder(value: str) -> bool:
    """``changeme``, ``${DB_PASSWORD}``, ``<your-key>``, ``xxxxxxxx``, ``{{ vault_pw }}`` …"""
    lower = value.lower()
    return (lower in _PLACEHOLDER_WORDS or any(part in lower for part in _PLACEHOLDER_PARTS)
            or _TEMPLATE.search(value) is not None or len(set(value)) == 1)


def _is_token_placeholder(value: str) -> bool:
    """Stricter, for formats with a checkable shape: ``AKIAIOSFODNN7EXAMPLE``, ``ghp_xxxxxxxx…``."""
    lower = value.lower()
    return any(part in lower for part in _TOKEN_PLACEHOLDER_PARTS) or _SAME_CHAR_RUN.search(value) is not None


# ---------------------------------------------------------------------------- masking


_TOKEN_PREFIX = re.compile(r"(?:[a-z]{2,10}[_-]){1,3}")  # sk-ant-, ghp_, github_pat_, xoxb-


def _mask(value: str, password: bool) -> str:
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


def _generic_kind(key: str) -> str | None:
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


def _plausible_literal(value: str, quoted: bool, env_style: bool) -> bool:
    """Whether an assigned value looks like a real secret rather than code, a name or a placeholder."""
    if len(value) < _GENERIC_MIN or any(ch.isspace() for ch in value) or _is_placeholder(value):
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


# ---------------------------------------------------------------------------- scanning

_Span = tuple[int, int, str, str]  # start, end, kind, preview


def _pem_blocks(text: str, stop: int, limit: int) -> list[_Span]:
    """Private key blocks from BEGIN through END; a block cut short (no END) up to its last key line."""
    found: list[_Span] = []
    pos = 0
    # The END marker nearest after the last BEGIN, and how far that search went: each stretch of text is
    # searched for END markers once, however many BEGIN markers share it.
    end: re.Match[str] | None = None
    searched_to = 0
    while len(found) < limit:
        begin = _PEM_BEGIN.search(text, pos, stop)
        if begin is None:
            break
        window = min(len(text), begin.end() + _PEM_CHARS)
        if end is None or end.start() < begin.end():  # each END marker is searched for once
            end = _PEM_END.search(text, max(begin.end(), searched_to), window)
            searched_to = window if end is None else end.start()
        block_end = None
        if end is not None and end.start() < window:
            body = _PEM_BODY.fullmatch(text, begin.end(), end.start())  # stops at the first foreign character
            if body is not None and len(_PEM_NOISE.sub("", _PEM_HEADER.sub("", body.group()))) >= _PEM_MIN:
                block_end = end.end()
        if block_end is None:
            key_stop = end.start() if end is not None and end.start() < window else window
            block_end = _unterminated_pem_end(text, begin.end(), key_stop)
        if block_end is None:
            pos = begin.end()  # only a mention of the marker (a constant, a regex, documentation)
            continue
        found.append((begin.start(), block_end, "private key block", begin.group() + "\u2026"))
        pos = block_end
    return found


def _unterminated_pem_end(text: str, pos: int, stop: int) -> int | None:
    """The end of the key lines that follow a BEGIN marker with no END (a truncated file), if any."""
    last = None
    key_chars = 0
    while pos < stop:
        newline = text.find("\n", pos, stop)
        line_end = stop if newline < 0 else newline
        line = text[pos:line_end]
        core = line.strip().rstrip("+,; \t")
        body = "" if any(ch.isspace() for ch in core) else _PEM_NOISE.sub("", core)
        if body and _BASE64.fullmatch(body):
            last, key_chars = line_end, key_chars + len(body)
        elif core and not _PEM_HEADER.fullmatch(line):
            break
        pos = line_end + 1
    return last if key_chars >= _PEM_MIN else None


_CUT_STRONG = ",;{}[]()&|"


def _pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """A line in pieces of at most LINE_CHARS, each cut just after a separator where there is one."""
    while end - start > LINE_CHARS:
        cut = start + LINE_CHARS
        low = cut - _CUT_SLACK
        best = max(text.rfind(ch, low, cut) for ch in _CUT_STRONG)
        if best < 0:
            best = max(text.rfind(ch, low, cut) for ch in " \t")
        if best > start:
            cut = best + 1
        yield start, cut
        start = cut
    yield start, end


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps any span of a sorted list of disjoint spans."""
    i = bisect_left(spans, (start, start))
    return (i < len(spans) and spans[i][0] < end) or (i > 0 and spans[i - 1][1] > start)


def _candidates(text: str, start: int, end: int, line_start: int) -> Iterator[_Span]:
    """Everything the rules find in text[start:end], best evidence first (they may overlap)."""
    for kind, pattern in _TOKEN_RULES:
        for match in pattern.finditer(text, start, end):
            group = "value" if "value" in pattern.groupindex else 0
            value = match.group(group)
            if _is_token_placeholder(value):
                continue
            if kind in ("OpenAI API key", "bearer token") and not (
                    any(c.isdigit() for c in value) and any(c.isupper() for c in value)):
                continue  # sk-some-long-kebab-name, "Bearer authentication-scheme-name"
            yield match.start(group), match.end(group), kind, _mask(value, password=False)
    for match in _URL_PASSWORD.finditer(text, start, end):
        pw_start, pw_end = match.span("value")
        rest = _AUTHORITY_REST.match(text, match.end(), end)
        if rest is not None and (at := text.rfind("@", match.end(), rest.end())) >= 0:
            pw_end = at  # an unencoded "@" in the password: the host is after the last one
        password = text[pw_start:pw_end]
        host = text[pw_end + 1:rest.end()] if rest is not None else ""
        if not _is_placeholder(password) and "example" not in host.lower():
            yield pw_start, pw_end, "password", _mask(password, password=True)
    for match in _ASSIGNMENT.finditer(text, start, end):
        name_kind = _generic_kind(match.group("key"))
        if name_kind is None:
            continue
        bare = match.group("bare")
        if bare is not None:
            if match.group("kq") or _BARE_END.match(text, match.end(), end) is None:
                continue  # "name": variable in JSON-like code, or value(...) / value[...] / value, ...
            env_style = (match.group("sep") == "=" and _UPPER_NAME.fullmatch(match.group("key")) is not None
                         and _ENV_PREFIX.fullmatch(text, line_start, match.start()) is not None)
            if _plausible_literal(bare, quoted=False, env_style=env_style):
                yield match.start("bare"), match.end("bare"), name_kind, _mask(bare, password=True)
            continue
        group = next(g for g in ("dq", "sq", "bq") if match.group(g) is not None)
        value = match.group(group)
        if _plausible_literal(value, quoted=True, env_style=False):
            yield match.start(group), match.end(group), name_kind, _mask(value, password=True)


def find_secrets(text: str, limit: int = 50) -> list[SecretFinding]:
    """The secrets in ``text`` (at most ``limit`` of them, first ones first), with where they are.

    Findings never overlap; a specific format wins over a generic assignment of the same value.
    """
    if limit <= 0 or not text:
        return []
    stop = min(len(text), SCAN_CHARS)
    pem = _pem_blocks(text, stop, limit)
    taken = [(s, e) for s, e, _, _ in pem]
    spans: list[_Span] = []
    folded = text[:stop].lower()
    trigger_pattern, haystack = (_TRIGGER, folded) if len(folded) == stop else (_TRIGGER_ANY_CASE, text)
    pos = 0
    while len(spans) < limit:
        trigger = trigger_pattern.search(haystack, pos, stop)
        if trigger is None:
            break
        line_start = text.rfind("\n", 0, trigger.start()) + 1
        newline = text.find("\n", trigger.start())
        line_end = len(text) if newline < 0 else newline
        pos = line_end + 1
        for piece_start, piece_end in _pieces(text, line_start, line_end):
            if piece_end <= trigger.start():
                continue  # a long line: start at the piece the trigger is in
            if piece_start >= stop:
                break
            accepted: list[tuple[int, int]] = []
            for start, end, kind, preview in _candidates(text, piece_start, piece_end, line_start):
                if start >= end or _overlaps(taken, start, end) or any(s < end and start < e for s, e in accepted):
                    continue
                accepted.append((start, end))
                spans.append((start, end, kind, preview))
            if accepted:
                taken = sorted(taken + accepted)
            if len(spans) >= limit:
                break
    return _with_lines(text, sorted(pem + spans)[:limit])


def _with_lines(text: str, spans: list[_Span]) -> list[SecretFinding]:
    """Findings from sorted spans, their line numbers counted in one pass."""
    findings: list[SecretFinding] = []
    line, counted = 1, 0
    for start, end, kind, preview in spans:
        line += text.count("\n", counted, start)
        counted = start
        findings.append(SecretFinding(kind=kind, line=line, start=start, end=end, preview=preview))
    return findings


def redact(text: str, findings: Sequence[SecretFinding]) -> str:
    """``text`` with each finding's value replaced by ``[REDACTED:<kind>]``; everything else is kept.

    Findings may come in any order; one that overlaps an earlier one only extends what is removed,
    and one that does not fit the text (from another text) is ignored.
    """
    parts: list[str] = []
    pos = 0
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        start, end = finding.start, finding.end
        if not 0 <= start < end <= len(text) or end <= pos:
            continue
        if start < pos:  # overlaps the previous one: remove the rest of it too
            pos = end
            continue
        parts.append(text[pos:start])
        parts.append(f"[REDACTED:{finding.kind}]")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def scan_attachments(attachments: Sequence[Attachment]) -> list[tuple[Attachment, SecretFinding]]:
    """Every secret-looking value in the files about to be sent, with the file it is in."""
    return [(attachment, finding) for attachment in attachments for finding in find_secrets(attachment.text)]


def redact_attachments(attachments: Sequence[Attachment],
                       findings: Sequence[tuple[Attachment, SecretFinding]]) -> list[Attachment]:
    """The attachments with every finding redacted (others unchanged)."""
    by_key: dict[str, list[SecretFinding]] = {}
    for attachment, finding in findings:
        by_key.setdefault(attachment.key, []).append(finding)
    return [replace(a, text=redact(a.text, by_key[a.key])) if a.key in by_key else a for a in attachments]
