"""A secret in an attached project file, sent with redaction, is nowhere after the turn: not in
what the API received, not in the history database (its WAL included), not in an export of the
conversation, not in the clipboard fallback file holding the reply, even when the model quotes
the file back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from buddy_tui.conversation.chat import TurnFinished
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.engine import Engine, Question
from buddy_tui.conversation.session import TurnPlan, open_session
from buddy_tui.display.clipboard import save_fallback
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from buddy_tui.store.export import export_markdown, write_export
from buddy_tui.store.history import open_store
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import ScriptedAsker

SECRETS = ("hunter2-prod-Secret9", "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8")


def echo(body: dict[str, Any]) -> Reply:
    """The model quotes back everything it was sent (the worst case for what it could repeat)."""
    return Reply.of(json.dumps(body["messages"]), size=64)


def stored_bytes() -> bytes:
    folder = history_path().parent
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


async def test_a_redacted_secret_reaches_neither_the_api_nor_history_export_or_clipboard(
        online: FakeAnthropic, project: Path, tmp_path: Path) -> None:
    (project / "app" / "settings.py").write_text(
        f'DB_PASSWORD = "{SECRETS[0]}"\nGITHUB_TOKEN = "{SECRETS[1]}"\nDEBUG = False\n')
    online.default_reply = echo
    store, problem = open_store(history_path())
    session = open_session(project, None, Settings(max_retries=0), store, problem)
    client, _ = connect(session.settings)
    asker = ScriptedAsker(["redact"])
    engine = Engine(session, asker, client)
    plan = engine.interpret("check @app/settings.py", [])
    assert isinstance(plan, TurnPlan)
    events = [event async for event in engine.run(Question(plan))]
    await engine.close()
    final = events[-1]
    assert isinstance(final, TurnFinished) and asker.asked and "REDACTED" in final.text

    sent = json.dumps([r.body for r in online.message_requests()])
    assert "DEBUG = False" in sent and "[REDACTED:" in sent  # the file went, redacted
    assert store is not None and session.conversation_id is not None
    conversation = store.load(session.conversation_id)
    assert conversation is not None
    export = write_export(export_markdown(conversation, project=str(project)), tmp_path / "export.md")
    fallback = save_fallback(final.text, tmp_path / "clip")
    store.close()
    places = {"request log": sent.encode(), "history": stored_bytes(), "export": export.read_bytes(),
              "clipboard fallback": fallback.read_bytes(),
              "context": json.dumps(session.conversation.messages).encode()}
    for secret in SECRETS:
        for place, content in places.items():
            assert secret.encode() not in content, f"{secret} in the {place}"
