"""A long block cut into blocks drawn one under the other, so that a block still growing
re-renders only its last part: rendering the whole of a long block again with every update cost
time that grew with the square of its length.

Where the parts divide depends only on the text before the cut, so the parts of a growing block
stay the same but for the last. A part boundary is visible in a few documented ways: a table's
header is drawn again at the top of each part, a long paragraph's line wraps early at the end of
each part, and inline marks (``**bold**``, a code span) that span a cut are shown as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from buddy_tui.display.blocks import Block

#: Lines per part of a long code block (cut only past twice this).
PART_LINES = 200
#: Lines per part of a long list, quote or table: Rich draws these far more slowly than code.
RUN_PART_LINES = 50
#: Characters per part of a long paragraph (cut only past twice this).
PARAGRAPH_PART_CHARS = 8_000

_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)]) \S")


def block_parts(block: Block, size: int = RUN_PART_LINES, chars: int = PARAGRAPH_PART_CHARS) -> list[Block]:
    """``block`` as parts of about ``size`` lines (a paragraph: ``chars`` characters, a code
    block: :data:`PART_LINES` lines); ``[block]`` when it is short or of another kind."""
    if block.code is not None:
        return code_parts(block)
    if block.kind == "paragraph_open":
        return _paragraph_parts(block, chars) if len(block.source) >= 2 * chars else [block]
    if block.kind not in _STARTS or block.source.count("\n") < size * 2:
        return [block]
    lines = block.source.split("\n")
    header = lines[:2] if block.kind == "table_open" else []
    starts = _STARTS[block.kind]
    parts: list[Block] = []
    start = len(header)
    while len(lines) - start > size * 2:
        end = start + size
        while end < len(lines) - size and not starts(lines[end]):
            end += 1
        if end >= len(lines) - size:
            break
        parts.append(Block("\n".join(header + lines[start:end] if parts or header else lines[start:end]), block.kind))
        start = end
    if not parts:
        return [block]
    parts.append(Block("\n".join(header + lines[start:]), block.kind))
    return parts


_STARTS: dict[str, Callable[[str], bool]] = {
    "bullet_list_open": lambda line: _ITEM.match(line) is not None,
    "ordered_list_open": lambda line: _ITEM.match(line) is not None,
    "blockquote_open": lambda line: line.startswith(">") and line[1:].strip() != "",
    "table_open": lambda line: line.startswith("|"),
}


def _paragraph_parts(block: Block, chars: int) -> list[Block]:
    """A long paragraph cut at spaces: between a word's end and a letter, so that no part can
    begin as another kind of block (a heading, an item) or end on a heading's underline."""
    text = block.source
    parts: list[Block] = []
    start = 0
    while len(text) - start >= 2 * chars:
        cut = start + chars
        while (cut := text.find(" ", cut)) >= 0 and cut < len(text) - chars:
            if text[cut - 1].isalnum() and text[cut + 1:cut + 2].isalpha():
                break
            cut += 1
        if cut < 0 or cut >= len(text) - chars:
            break
        parts.append(Block(text[start:cut], block.kind))
        start = cut + 1
    parts.append(Block(text[start:], block.kind))
    return parts


def code_parts(block: Block, size: int = PART_LINES) -> list[Block]:
    """A long code block as code blocks of about ``size`` lines each; ``[block]`` for any other
    block. Each part ends on a line with text (a code block drops its trailing blank lines when
    drawn)."""
    if block.code is None or block.code.count("\n") < size * 2:
        return [block]
    lines = block.code.split("\n")
    parts: list[Block] = []
    start = 0
    while len(lines) - start > size * 2:  # the last part keeps at least ``size`` lines: it may grow
        end = start + size
        while end < len(lines) - size and not lines[end - 1].strip():
            end += 1
        parts.append(_code_part(lines[start:end], block.language))
        start = end
    parts.append(_code_part(lines[start:], block.language))
    return parts


def _code_part(lines: list[str], language: str) -> Block:
    code = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"~+", code)), default=0)
    marker = "~" * max(3, longest + 1)  # no line of the code can close it
    return Block(f"{marker}{language}\n{code}\n{marker}", "fence", code, language)
