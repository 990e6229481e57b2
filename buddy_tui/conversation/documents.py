"""Attached files as the model reads them: one delimited block of documents ahead of the question,
whose file text cannot close the tags around it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from buddy_tui.context.attachments import Attachment

_CLOSING_TAGS = re.compile(r"</(document_content|document|documents|source)>", re.IGNORECASE)


def _fenced(text: str) -> str:
    """File text that cannot close the tags around it (``</document_content>`` becomes ``<\\/...>``)."""
    return _CLOSING_TAGS.sub(lambda m: f"<\\/{m.group(1)}>", text)


def render_documents(attachments: Sequence[Attachment]) -> str:
    """Attached files as one clearly delimited block, each with its path, ahead of the question."""
    parts = ["<documents>"]
    for index, item in enumerate(attachments, 1):
        note = ""
        if item.lines:
            note = f"\n<note>Lines {item.lines[0]}-{item.lines[1]} of this file.</note>"
        elif item.truncated:
            note = (f"\n<note>Only the first {len(item.text.encode()):,} of {item.size:,} bytes of "
                    "this file are included.</note>")
        parts.append(
            f'<document index="{index}">\n<source>{_fenced(item.path)}</source>{note}\n'
            f"<document_content>\n{_fenced(item.text)}\n</document_content>\n</document>"
        )
    parts.append("</documents>")
    return "\n".join(parts)


def user_content(question: str, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    """The content blocks of a user turn: the documents (if any), then the question."""
    blocks: list[dict[str, Any]] = []
    if attachments:
        blocks.append({"type": "text", "text": render_documents(attachments)})
    blocks.append({"type": "text", "text": question})
    return blocks
