"""Find secrets in text before it goes to the model, and redact them.

Two kinds of evidence are used: token formats that identify themselves (``AKIA…`` AWS key ids,
``ghp_…`` GitHub tokens, ``sk-ant-…`` Anthropic keys, PEM private key blocks, JWTs …), and
assignments whose name says "password", "secret", "token", "api key" or "private key" and whose
value is a literal that is neither code (``request.form["password"]``, ``get_token()``) nor a
placeholder (``${VAR}``, ``<your-key>``, ``changeme``).

The work is bounded whatever the input: every pattern runs in linear time (token patterns may
only start where a token can start, and their repetitions are possessive, so they never
backtrack), only lines that contain a trigger are examined, at most :data:`SCAN_CHARS` of the
text is searched, and a long line is examined in pieces of at most :data:`LINE_CHARS`. There is no
cap on the number of secrets: every one found is redacted. :func:`scan` says whether the whole
text was searched; a caller must withhold or redact what was not (:func:`redact_scanned`).

The values of buddy-tui's own credentials (:data:`OWN_CREDENTIALS`, read at scan time) are always
secrets, whatever their shape. The token formats are in :mod:`secret_rules`, the multi-line
private keys in :mod:`secret_blocks`, placeholders and masking in :mod:`secret_values`.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from buddy_tui.context.attachments import Attachment
from buddy_tui.context.secret_blocks import pem_blocks, putty_blocks
from buddy_tui.context.secret_rules import ASSIGNMENT_RULE, TOKEN_RULES, TRIGGER, TRIGGER_ANY_CASE, URL_RULE, rules_in
from buddy_tui.context.secret_values import (
    generic_kind as _generic_kind,
    is_placeholder as _is_placeholder,
    is_token_placeholder as _is_token_placeholder,
    mask as _mask,
    plausible_literal as _plausible_literal,
)

#: Only the first 2 MB (in characters) of a text are searched.
SCAN_CHARS = 2_000_000
#: A longer line is examined in pieces of at most this many characters, cut at a separator.
LINE_CHARS = 10_000
#: How far back from the piece limit a separator (``,`` ``;`` a bracket, else a space) is looked for.
_CUT_SLACK = 1_000
#: The environment variables whose values (buddy-tui's own credentials) are always secrets.
OWN_CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
#: An own credential shorter than this is not looked for (it would match ordinary words).
_OWN_MIN = 8


@dataclass(frozen=True)
class SecretFinding:
    """One secret in a text: ``text[start:end]`` is the value that :func:`redact` replaces."""

    kind: str  # "AWS access key", "private key block", "password", ...
    line: int  # 1-based
    start: int
    end: int
    preview: str  # masked for display, never the whole value


# ---------------------------------------------------------------------------- token formats

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

# ---------------------------------------------------------------------------- scanning

_Span = tuple[int, int, str, str]  # start, end, kind, preview


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


def _candidates(text: str, start: int, end: int, line_start: int, rules: frozenset[int]) -> Iterator[_Span]:
    """Everything the ``rules`` find in text[start:end], best evidence first (they may overlap)."""
    for index, rule in enumerate(TOKEN_RULES):
        if index not in rules:
            continue
        pattern = rule.pattern
        group = "value" if "value" in pattern.groupindex else 0
        for match in pattern.finditer(text, start, end):
            value = match.group(group)
            if _is_token_placeholder(value[rule.prefix:]) or (rule.check is not None and not rule.check(value)):
                continue
            yield match.start(group), match.end(group), rule.kind, _mask(value, password=False)
    if URL_RULE in rules:
        yield from _url_passwords(text, start, end)
    if ASSIGNMENT_RULE in rules:
        yield from _assignments(text, start, end, line_start)


def _url_passwords(text: str, start: int, end: int) -> Iterator[_Span]:
    """``scheme://user:password@host``: the password."""
    for match in _URL_PASSWORD.finditer(text, start, end):
        pw_start, pw_end = match.span("value")
        rest = _AUTHORITY_REST.match(text, match.end(), end)
        if rest is not None and (at := text.rfind("@", match.end(), rest.end())) >= 0:
            pw_end = at  # an unencoded "@" in the password: the host is after the last one
        password = text[pw_start:pw_end]
        host = text[pw_end + 1:rest.end()] if rest is not None else ""
        if not _is_placeholder(password) and "example" not in host.lower():
            yield pw_start, pw_end, "password", _mask(password, password=True)


def _assignments(text: str, start: int, end: int, line_start: int) -> Iterator[_Span]:
    """Literal values assigned to names that say password, secret, token, API key or private key."""
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


@dataclass(frozen=True)
class Scan:
    """What a scan found, and how far it looked.

    Only ``text[:scanned_to]`` is searched (at most :data:`SCAN_CHARS`); when ``complete`` is false,
    the rest was NOT scanned and a caller must withhold or redact it before it leaves (see
    :func:`redact_scanned`). Findings never overlap.
    """

    findings: tuple[SecretFinding, ...]
    scanned_to: int
    length: int

    @property
    def complete(self) -> bool:
        """Whether the whole text was searched."""
        return self.scanned_to >= self.length


def _own_credentials() -> tuple[str, ...]:
    """buddy-tui's own credentials, read now (they may change while it runs)."""
    values = (os.environ.get(name, "").strip() for name in OWN_CREDENTIALS)
    return tuple(sorted({v for v in values if len(v) >= _OWN_MIN}, key=len, reverse=True))


def _own_spans(text: str, credentials: Sequence[str]) -> list[_Span]:
    """Every place one of buddy-tui's own credentials occurs in ``text``, whatever its shape."""
    found: list[_Span] = []
    for value in credentials:
        pos = text.find(value)
        while pos >= 0:
            found.append((pos, pos + len(value), "buddy-tui credential", _mask(value, password=False)))
            pos = text.find(value, pos + len(value))
    found.sort()
    kept: list[_Span] = []
    for span in found:  # a shorter credential inside a longer one found at the same place
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def scan(text: str) -> Scan:
    """Search ``text`` for secrets: every one found in the scanned part, with no cap on their number."""
    global _last_scan
    cached = _last_scan
    credentials = _own_credentials()
    if cached is not None and cached[1] == credentials and (cached[0] is text or cached[0] == text):
        return cached[2]
    result = _scan(text, credentials)
    _last_scan = (text, credentials, result)
    return result


#: The last text scanned and its result (a Read in parts or a Grep asks about one file many times).
_last_scan: tuple[str, tuple[str, ...], Scan] | None = None


def _scan(text: str, credentials: Sequence[str]) -> Scan:
    stop = min(len(text), SCAN_CHARS)
    if not text:
        return Scan((), 0, 0)
    blocks = _own_spans(text, credentials)
    taken = [(s, e) for s, e, _, _ in blocks]
    for span in pem_blocks(text, stop) + putty_blocks(text, stop):
        if not _overlaps(taken, span[0], span[1]):
            blocks.append(span)
            taken = sorted([*taken, (span[0], span[1])])
    spans: list[_Span] = []
    folded = text[:stop].lower()
    same = len(folded) == stop  # lower-casing kept every offset: search the lower-cased copy
    trigger_pattern, haystack = (TRIGGER, folded) if same else (TRIGGER_ANY_CASE, text)
    pos = 0
    while (trigger := trigger_pattern.search(haystack, pos, stop)) is not None:
        line_start = text.rfind("\n", 0, trigger.start()) + 1
        newline = text.find("\n", trigger.start())
        line_end = len(text) if newline < 0 else newline
        pos = line_end + 1
        rules = rules_in(haystack, trigger.start(), min(line_end, stop), folded=same)
        for piece_start, piece_end in _pieces(text, line_start, line_end):
            if piece_end <= trigger.start():
                continue  # a long line: start at the piece the trigger is in
            if piece_start >= stop:
                break
            accepted: list[tuple[int, int]] = []
            for start, end, kind, preview in _candidates(text, piece_start, piece_end, line_start, rules):
                if start >= end or _overlaps(taken, start, end) or any(s < end and start < e for s, e in accepted):
                    continue
                accepted.append((start, end))
                spans.append((start, end, kind, preview))
            if accepted:
                taken = sorted(taken + accepted)
    return Scan(tuple(_with_lines(text, sorted(blocks + spans))), stop, len(text))


def find_secrets(text: str, limit: int | None = None) -> list[SecretFinding]:
    """The secrets in ``text``, first ones first, with where they are (every one found, unless
    ``limit`` asks for fewer, for display only: never redact by a limited list).

    Findings never overlap; a specific format wins over a generic assignment of the same value.
    Only the first :data:`SCAN_CHARS` are searched: use :func:`scan` to learn whether that was all.
    """
    findings = list(scan(text).findings)
    return findings if limit is None else findings[:max(limit, 0)]


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


def clipped(findings: Sequence[SecretFinding], start: int, end: int) -> list[SecretFinding]:
    """The parts of ``findings`` (made in a whole text) that fall in ``text[start:end]``, placed in
    that window."""
    return [replace(f, start=max(f.start, start) - start, end=min(f.end, end) - start)
            for f in findings if f.start < end and f.end > start]


def redact_window(text: str, start: int, end: int) -> str:
    """``text[start:end]`` redacted by what the WHOLE text holds: a finding that overlaps the window
    (a private key read in parts, a Grep of its base64 lines) has its overlapping part replaced.

    Past the scanned head of a huge text the window is also scanned on its own, so nothing there
    goes out unscanned.
    """
    start, end = max(0, start), min(len(text), end)
    if start >= end:
        return ""
    result = scan(text)
    window = text[start:end]
    found = clipped(result.findings, start, end)
    if end > result.scanned_to:
        found += find_secrets(window)
    return redact(window, found)


def redact_scanned(text: str, result: Scan | None = None) -> str:
    """``text`` with every finding redacted and, if the scan did not reach the end, the unscanned
    rest replaced by a note: what a caller sends when it cannot scan further."""
    result = scan(text) if result is None else result
    head = redact(text[:result.scanned_to], [f for f in result.findings if f.end <= result.scanned_to])
    if result.complete:
        return head
    return head + f"[NOT SCANNED: {result.length - result.scanned_to} more characters withheld]"


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
