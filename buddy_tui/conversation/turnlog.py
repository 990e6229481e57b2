"""A turn as it happens: fed the stream's events, it keeps the record the history stores and says
when the growing reply is due for a checkpoint.

It also decides what the turn leaves in the model's context (``record.recorded``) however it
ends: a finished reply in full; a stopped one with whatever text arrived; after a failure or a
crash, only the tool rounds that ran (their effects on the project are real), closed by a note.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from buddy_tui.conversation.chat import (
    ChatEvent,
    Counted,
    RoundDone,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)
from buddy_tui.conversation.errors import Failure
from buddy_tui.store.records import ToolNote, TurnRecord, Usage

#: How often (seconds) a growing reply is written to the history while it streams.
CHECKPOINT_SECONDS = 0.25
CRASH_NOTE = "(Interrupted: buddy-tui stopped while this reply was streaming.)"


class TurnLog:
    """The record of the turn being streamed, kept current event by event."""

    def __init__(self, record: TurnRecord, interval: float = CHECKPOINT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.record = record
        self.rounds: tuple[dict[str, Any], ...] = ()
        self._pieces: list[str] = [record.reply] if record.reply else []
        self._length = len(record.reply)
        self._interval = interval
        self._clock = clock
        self._saved_at = clock()
        self._dirty = False
        #: True when the due write is a text checkpoint only (nothing but the reply changed).
        self.text_only = False

    @property
    def question(self) -> dict[str, Any]:
        """The user message of this turn, in the Messages API's shape."""
        return {"role": "user", "content": self.record.user}

    def feed(self, event: ChatEvent) -> bool:
        """Take one event; True when the record should be written now."""
        record = self.record
        self.text_only = isinstance(event, TextDelta)
        if isinstance(event, TextDelta):
            self._pieces.append(event.text)
            self._length += len(event.text)
            self._dirty = True
            return self._due()
        if isinstance(event, ToolStarted):
            self._sync()
            record.tools.append(ToolNote(event.call.id, event.call.name, dict(event.call.input),
                                         offset=self._length))
            return self._saved()
        if isinstance(event, ToolFinished):
            record.tools = [ToolNote(n.id, n.name, n.input, event.outcome.summary, event.outcome.is_error, n.offset)
                            if n.id == event.call.id else n for n in record.tools]
            return self._saved()
        if isinstance(event, RoundDone):
            self.rounds = event.messages
            record.recorded = self._closed(CRASH_NOTE)
            return self._saved()
        if isinstance(event, Counted):
            record.usage = event.usage  # provisional until the turn ends; saved with the next write
            return False
        if isinstance(event, TurnFinished):
            self._sync()
            record.state = "complete"
            record.usage = event.usage
            reply = list(event.messages) or [{"role": "assistant", "content": [{"type": "text", "text": event.text}]}]
            record.recorded = [self.question, *reply]
            return self._saved()
        if isinstance(event, TurnFailed):
            self.fail(event.failure)
            if event.usage != Usage():
                record.usage = event.usage
            return self._saved()
        return False  # e.g. a retry notice: nothing to keep

    def fail(self, failure: Failure) -> None:
        """The model call failed: keep the partial reply and the tool rounds that ran."""
        self._sync()
        self.record.state = "failed"
        self.record.failure = failure.text()
        self.record.recorded = self._closed(f"(This reply failed: {failure.title})")

    def stop(self) -> None:
        """The user stopped the reply: keep the rounds that ran, else whatever text arrived."""
        self._sync()
        self.record.state = "stopped"
        if self.rounds:
            self.record.recorded = self._closed("(Stopped by the user.)")
        elif self.record.reply:
            self.record.recorded = [self.question,
                                    {"role": "assistant", "content": [{"type": "text", "text": self.record.reply}]}]
        else:
            self.record.recorded = []

    def _closed(self, note: str) -> list[dict[str, Any]]:
        """The question and the completed tool rounds, closed by an assistant note; [] without rounds."""
        if not self.rounds:
            return []
        return [self.question, *self.rounds, {"role": "assistant", "content": [{"type": "text", "text": note}]}]

    def _sync(self) -> None:
        if self._dirty:
            self.record.reply = "".join(self._pieces)
            self._pieces = [self.record.reply]
            self._dirty = False

    def _due(self) -> bool:
        if self._clock() - self._saved_at < self._interval:
            return False
        self._sync()
        return self._saved()

    def _saved(self) -> bool:
        self._saved_at = self._clock()
        return True

    def pending(self) -> bool:
        """True when text arrived since the last write and is due (for a timer while the stream
        pauses: what came before a pause must not wait for the next fragment to be saved)."""
        if not self._dirty or self._clock() - self._saved_at < self._interval:
            return False
        self.text_only = True
        self._sync()
        return self._saved()

    def snapshot(self) -> TurnRecord:
        """The record with the reply text brought up to date (for a final write)."""
        self._sync()
        return self.record
