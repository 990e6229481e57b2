"""Markdown export: the exact document, questions that cannot break it, nothing secret in it, and
files written whole or not at all."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from buddy_tui.store import export
from buddy_tui.store.export import default_export_name, export_markdown, slug, write_export
from buddy_tui.store.records import ConversationSummary, StoredConversation, ToolNote, TurnRecord, Usage

MAY_1_10_00 = 1714557600.0  # 2024-05-01 10:00 UTC
NOW = MAY_1_10_00 + 86_400


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so dates in the export are exact."""
    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset to pin the local time zone")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def summary(title: str = "Why is load_orders slow?", created: float = MAY_1_10_00) -> ConversationSummary:
    return ConversationSummary(7, "/home/dev/shop", title, "backend", "claude-sonnet-4-5", created,
                               created + 300, turns=1)


def turn(typed: str = "Why is it slow?", reply: str = "Because.", **fields: object) -> TurnRecord:
    record = TurnRecord(typed, "backend", "Backend Buddy", "claude-sonnet-4-5", reply=reply, state="complete",
                        usage=Usage(100, 20))
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def body(markdown: str) -> str:
    """The document after its header (from the first turn's rule on)."""
    return markdown[markdown.index("\n---\n") + 1:]


def test_a_complete_turn_with_attachments_and_a_tool_call() -> None:
    record = turn("Why is `load_orders` slow?\n\nSee @app/models.py\n",
                  "Let me look.I see an N+1 query.\n\n```python\nfor o in orders:\n    q()\n```\nFix it.",
                  files=["app/models.py · 412 tokens"],
                  tools=[ToolNote("t1", "Read", {"path": "app/models.py"}, "Read app/models.py lines 1-40 (2 KB)",
                                  offset=12)],
                  usage=Usage(1204, 380, cache_read_tokens=1100))
    text = export_markdown(StoredConversation(summary(), [record]), now=NOW)
    assert text == """\
# Why is load\\_orders slow?

- Project: `/home/dev/shop`
- Persona: Backend Buddy (`backend`)
- Model: `claude-sonnet-4-5`
- Created: 2024-05-01 10:00
- Updated: 2024-05-01 10:05
- Turns: 1
- Tokens: in 1,204 · out 380 · cache read 1,100
- Exported: 2024-05-02 10:00

---

## You

```text
Why is `load_orders` slow?

See @app/models.py
```

Attached: `app/models.py · 412 tokens`

## Backend Buddy

Let me look.

> 🔧 Read app/models.py lines 1-40 (2 KB)

I see an N+1 query.

```python
for o in orders:
    q()
```
Fix it.

*Tokens: in 1,204 · out 380 · cache read 1,100*
"""


def test_tool_calls_sit_where_they_happened_and_errors_are_marked() -> None:
    record = turn(reply="First.Second.", tools=[
        ToolNote("a", "Grep", {"pattern": "def load_*"}, "", offset=0),
        ToolNote("b", "Glob", {"pattern": "**/*.py"}, "Glob '**/*.py' → 3 files", offset=6),
        ToolNote("c", "Read", {"path": "nope.py"}, "Read failed: nope.py does not exist", is_error=True, offset=6),
        ToolNote("d", "Write", {"path": "a.py"}, "denied", is_error=True, offset=99),
    ])
    assert body(export_markdown(StoredConversation(summary(), [record]), project="~/shop", now=NOW)) == """\
---

## You

```text
Why is it slow?
```

## Backend Buddy

> 🔧 Grep def load\\_\\*

First.

> 🔧 Glob '\\*\\*/\\*.py' → 3 files

> 🔧 ⚠ error: Read failed: nope.py does not exist

Second.

> 🔧 ⚠ error: Write a.py — denied

*Tokens: in 100 · out 20*
"""


def test_the_project_argument_replaces_the_stored_path() -> None:
    text = export_markdown(StoredConversation(summary(), [turn()]), project="~/shop", now=NOW)
    assert "- Project: `~/shop`\n" in text and "/home/dev" not in text


@pytest.mark.parametrize(("state", "failure", "reply", "marker"), [
    ("stopped", "", "Half a rep", "Half a rep\n\n**Stopped by the user.**"),
    ("failed", "The API said:\n  overloaded (529)", "", "**Failed:** The API said: overloaded (529)"),
    ("failed", "", "", "**Failed.**"),
    ("interrupted", "", "Par", "Par\n\n**Interrupted:** buddy-tui stopped while this reply was streaming."),
    ("streaming", "", "So far", "So far\n\n**Still streaming when exported.**"),
    ("complete", "", "", "*(empty reply)*"),
    ("cut", "", "The first half", "The first half\n\n**Cut at the token limit.**"),
    ("refused", "The model declined to answer this question.", "",
     "**Declined:** The model declined to answer this question."),
])
def test_turns_that_ended_badly_say_so(state: str, failure: str, reply: str, marker: str) -> None:
    record = turn(reply=reply, state=state, failure=failure, usage=Usage())
    text = export_markdown(StoredConversation(summary(), [record]), now=NOW)
    assert text.endswith(f"## Backend Buddy\n\n{marker}\n")


def test_a_reply_stopped_inside_a_code_block_cannot_swallow_the_next_turn() -> None:
    first = turn(reply="Here:\n```sql\nSELECT * FROM", state="stopped")
    second = turn("And now?", "Fine.")
    text = export_markdown(StoredConversation(summary(), [first, second]), now=NOW)
    assert "```sql\nSELECT * FROM\n```\n\n**Stopped by the user.**" in text
    headings = [t.content for t in MarkdownIt("commonmark").parse(text) if t.type == "inline" and t.level == 1
                and t.map and text.splitlines()[t.map[0]].startswith("## ")]
    assert headings == ["You", "Backend Buddy", "You", "Backend Buddy"]


def test_markdown_in_a_question_cannot_break_the_document() -> None:
    question = "# Not a heading\n\n```python\nunclosed fence\n````\n~~~\n<!-- a comment\n---\n[x]: http://e.com\n"
    record = turn(question, "The reply.")
    text = export_markdown(StoredConversation(summary("```` ## title <b>"), [record, turn("Next?", "Ok.")]), now=NOW)
    assert "\n`````text\n# Not a heading\n\n```python\nunclosed fence\n````\n~~~\n<!-- a comment\n---\n" \
           "[x]: http://e.com\n`````\n" in text
    tokens = MarkdownIt("commonmark").parse(text)
    top = [(t.type, t.tag) for t in tokens if t.level == 0 and (t.type.endswith("_open") or t.type == "fence")]
    assert top == [("heading_open", "h1"), ("bullet_list_open", "ul"),
                   ("heading_open", "h2"), ("fence", "code"), ("heading_open", "h2"), ("paragraph_open", "p"),
                   ("paragraph_open", "p"),
                   ("heading_open", "h2"), ("fence", "code"), ("heading_open", "h2"), ("paragraph_open", "p"),
                   ("paragraph_open", "p")]
    assert text.startswith("# \\`\\`\\`\\` \\#\\# title \\<b\\>\n")
    assert MarkdownIt("commonmark").render(text).startswith("<h1>```` ## title &lt;b&gt;</h1>\n")


def test_attached_documents_are_named_never_included() -> None:
    record = turn("Look at this", "Seen.", files=["secret_config.py · 12 tokens"],
                  user=[{"type": "document", "source": {"type": "text", "data": "DB_PASSWORD=hunter2"}},
                        {"type": "text", "text": "Look at this"}],
                  recorded=[{"role": "user", "content": "DB_PASSWORD=hunter2"}])
    text = export_markdown(StoredConversation(summary(), [record]), now=NOW)
    assert "Attached: `secret_config.py · 12 tokens`" in text
    assert "hunter2" not in text and "DB_PASSWORD" not in text


def test_credentials_in_the_environment_never_reach_the_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-very-secret")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "bearer-token-value")
    record = turn("my key is sk-ant-api03-very-secret", "Your key sk-ant-api03-very-secret and bearer-token-value.",
                  failure="auth bearer-token-value", state="failed")
    text = export_markdown(StoredConversation(summary("sk-ant-api03-very-secret"), [record]), now=NOW)
    assert "very-secret" not in text and "bearer-token-value" not in text
    assert "Your key <ANTHROPIC_API_KEY> and <ANTHROPIC_AUTH_TOKEN>." in text


def test_header_lists_every_model_used_and_copes_with_missing_details() -> None:
    bare = ConversationSummary(1, "", "", "", "", 0.0, 0.0)
    text = export_markdown(StoredConversation(bare, []), now=NOW)
    assert text == ("# Conversation\n\n- Created: unknown\n- Updated: unknown\n- Turns: 0\n"
                    "- Tokens: in 0 · out 0\n- Exported: 2024-05-02 10:00\n")
    other = turn(model="claude-opus-4-1")
    text = export_markdown(StoredConversation(summary(), [turn(), other]), now=NOW)
    assert "- Model: `claude-sonnet-4-5`, `claude-opus-4-1`\n- Created" in text


@pytest.mark.parametrize(("title", "expected"), [
    ("Why is load_orders slow?", "why-is-load-orders-slow"),
    ("Café déjà vu — naïve résumé", "cafe-deja-vu-naive-resume"),
    ("Привет, мир", "conversation"),
    ("", "conversation"),
    ("!!! ??? ---", "conversation"),
    ("How do I add an index to the orders table without locking it for hours",
     "how-do-i-add-an-index-to-the-orders"),
    ("x" * 100, "x" * 40),
    ("a " + "y" * 60, "a-" + "y" * 38),
])
def test_slug(title: str, expected: str) -> None:
    assert slug(title) == expected
    assert len(expected) <= export.SLUG_CHARS


def test_default_export_name_uses_the_local_start_time_and_the_title() -> None:
    assert default_export_name(summary("Fix N+1 in /orders")) == "buddy-20240501-1000-fix-n-1-in-orders.md"
    assert default_export_name(summary("")) == "buddy-20240501-1000-conversation.md"


def test_write_export_creates_folders_and_a_private_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "chat.md"
    assert write_export("# Hi\n", target) == target
    assert target.read_bytes() == b"# Hi\n"
    if sys.platform != "win32":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["chat.md"]


def test_write_export_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "chat.md"
    target.write_text("keep me")
    with pytest.raises(FileExistsError, match="already exists"):
        write_export("new", target)
    assert target.read_text() == "keep me"
    assert write_export("new", target, overwrite=True) == target
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["chat.md"]


def test_write_export_refuses_when_links_are_unsupported_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "hard links are not supported here")

    monkeypatch.setattr("buddy_tui.store.export.os.link", no_links)
    write_export("first", tmp_path / "a.md")
    assert (tmp_path / "a.md").read_text() == "first"
    real_lexists = os.path.lexists
    calls = iter([False, True])  # free when first checked, taken by the time of the rename
    monkeypatch.setattr("buddy_tui.store.export.os.path.lexists", lambda p: next(calls, real_lexists(p)))
    with pytest.raises(FileExistsError):
        write_export("second", tmp_path / "b.md")
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_write_export_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "chat.md"
    target.write_text("old content")

    def broken_replace(source: object, target: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("buddy_tui.store.export.os.replace", broken_replace)
    with pytest.raises(PermissionError, match=r"Could not write .*chat\.md: Permission denied"):
        write_export("new content", target, overwrite=True)
    assert target.read_text() == "old content"
    assert [p.name for p in tmp_path.iterdir()] == ["chat.md"]  # no temporary file left behind


def test_write_export_explains_a_folder_in_the_way(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a folder"):
        write_export("x", tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="a file is in the way"):
        write_export("x", tmp_path / "file" / "chat.md")


def test_lone_surrogates_do_not_stop_the_write(tmp_path: Path) -> None:
    target = write_export("bad \ud800 char", tmp_path / "x.md")
    assert target.read_text(encoding="utf-8") == "bad ? char"
