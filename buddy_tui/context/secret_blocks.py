"""Private keys that span lines: PEM-style blocks (RSA, EC, DSA, OPENSSH, PKCS#8, ENCRYPTED, PGP,
SSH2) and PuTTY key files. Each is found from its marker, through its END marker or, for a file cut
short, through its last key line. Every search is bounded (:data:`PEM_CHARS` past a marker).
"""

from __future__ import annotations

import re

#: A private key block longer than this is not looked for past it (an RSA-8192 key is ~6.5 KB).
PEM_CHARS = 64_000
#: A private key block's body has at least this many base64 characters (real ones have hundreds).
_PEM_MIN = 40

Span = tuple[int, int, str, str]  # start, end, kind, preview

# Five dashes (PEM, PGP) or four and a space (SSH2); the common "----" lets the search skip ahead fast.
_PEM_BEGIN = re.compile(r"----[- ]BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?(?:-----| ----)")
_PEM_END = re.compile(r"----[- ]END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?(?:-----| ----)")
_PEM_HEADER = re.compile(r"^[ \t]*[A-Za-z][A-Za-z0-9-]*:[^\n]*$", re.MULTILINE)  # Proc-Type:, DEK-Info:
_PEM_NOISE = re.compile(r"\\[nr]|[\s\"'`+,;\\]")  # line breaks, quotes and concatenation in source code
_BASE64 = re.compile(r"[A-Za-z0-9+/=]+")
_PEM_BODY = re.compile(r"(?:^[ \t]*+[A-Za-z][A-Za-z0-9-]*+:[^\n]*+|[A-Za-z0-9+/=\s\"'`,;]|\\[nr])*+", re.MULTILINE)
_PUTTY = re.compile(r"Private-Lines:[ \t]*+[0-9]{1,4}+[ \t]*+\r?$", re.MULTILINE)
_PUTTY_MAC = re.compile(r"[ \t]*+Private-(?:MAC|Hash):[^\n]*+")


def pem_blocks(text: str, stop: int) -> list[Span]:
    """Private key blocks from BEGIN through END; a block cut short (no END) up to its last key line."""
    found: list[Span] = []
    pos = 0
    # The END marker nearest after the last BEGIN, and how far that search went: each stretch of text is
    # searched for END markers once, however many BEGIN markers share it.
    end: re.Match[str] | None = None
    searched_to = 0
    while True:
        begin = _PEM_BEGIN.search(text, pos, stop)
        if begin is None:
            break
        window = min(len(text), begin.end() + PEM_CHARS)
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
            block_end = key_lines_end(text, begin.end(), key_stop)
        if block_end is None:
            pos = begin.end()  # only a mention of the marker (a constant, a regex, documentation)
            continue
        found.append((begin.start(), block_end, "private key block", begin.group() + "\u2026"))
        pos = block_end
    return found


def putty_blocks(text: str, stop: int) -> list[Span]:
    """The private part of PuTTY key files: the ``Private-Lines:`` line, its base64 lines and the MAC."""
    found: list[Span] = []
    pos = 0
    while (match := _PUTTY.search(text, pos, stop)) is not None:
        block_end = key_lines_end(text, match.end() + 1, min(len(text), match.end() + PEM_CHARS), minimum=16)
        if block_end is None:
            pos = match.end()
            continue
        mac = _PUTTY_MAC.match(text, block_end + 1)
        if mac is not None:
            block_end = mac.end()
        found.append((match.start(), block_end, "private key block", "PuTTY private key\u2026"))
        pos = block_end
    return found


def key_lines_end(text: str, pos: int, stop: int, minimum: int = _PEM_MIN) -> int | None:
    """The end of the base64 key lines that start at ``pos`` (headers allowed), if they hold enough."""
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
    return last if key_chars >= minimum else None
