"""The turn log: checkpoints while a reply grows, and what each ending leaves in the context."""

from __future__ import annotations

from buddy_tui.conversation.chat import (
    Counted,
    RoundDone,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)
from buddy_tui.conversation.errors import Failure
from buddy_tui.conversation.turnlog import CRASH_NOTE, TurnLog
from buddy_tui.store.records import TurnRecord, Usage
from buddy_tui.tools.specs import ToolCall, ToolResult

QUESTION = [{"type": "text", "text": "Review app.py"}]
CALL = ToolCall("toolu_1", "Read", {"path": "app.py"})
ROUND = ({"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read",
                                            "input": {"path": "app.py"}}]},
         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "1 x"}]})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_log(clock: Clock | None = None) -> TurnLog:
    record = TurnRecord("Review app.py", "backend", "Backend Buddy", "m", user=list(QUESTION))
    return TurnLog(record, interval=0.25, clock=clock or Clock())


def test_text_is_checkpointed_at_most_every_interval_with_the_whole_reply_so_far() -> None:
    clock = Clock()
    log = make_log(clock)
    assert log.feed(TextDelta("Hel")) is False
    clock.now = 0.1
    assert log.feed(TextDelta("lo")) is False
    clock.now = 0.3
    assert log.feed(TextDelta(", world")) is True
    assert log.record.reply == "Hello, world"
    clock.now = 0.4
    assert log.feed(TextDelta("!")) is False
    assert log.snapshot().reply == "Hello, world!"


def test_tool_calls_are_placed_where_they_happened_and_saved_at_once() -> None:
    log = make_log()
    log.feed(TextDelta("Let me look. "))
    assert log.feed(ToolStarted(CALL, 1, 12)) is True
    assert log.feed(ToolFinished(CALL, ToolResult("1 x", summary="Read app.py · 1 line"))) is True
    assert log.feed(RoundDone(ROUND)) is True
    log.feed(TextDelta("It is fine."))
    (note,) = log.record.tools
    assert (note.offset, note.summary, note.is_error) == (len("Let me look. "), "Read app.py · 1 line", False)
    assert log.snapshot().segments() == ["Let me look. ", note, "It is fine."]
    # Killed now: the finished round stays in the context, closed by a note.
    assert log.record.recorded == [{"role": "user", "content": QUESTION}, *ROUND,
                                   {"role": "assistant", "content": [{"type": "text", "text": CRASH_NOTE}]}]


def test_a_finished_turn_keeps_the_question_and_every_message_it_added() -> None:
    log = make_log()
    final = {"role": "assistant", "content": [{"type": "text", "text": "Done."}]}
    log.feed(TextDelta("Done."))
    log.feed(TurnFinished("Done.", "end_turn", Usage(5, 6, 7, 8), (*ROUND, final)))
    assert log.record.state == "complete"
    assert log.record.usage == Usage(5, 6, 7, 8)
    assert log.record.recorded == [{"role": "user", "content": QUESTION}, *ROUND, final]


def test_a_failure_keeps_the_partial_text_for_display_but_not_in_the_context() -> None:
    log = make_log()
    log.feed(TextDelta("Half"))
    log.feed(TurnFailed(Failure("overloaded", "The API is overloaded right now.", "Send it again."), "Half"))
    assert (log.record.state, log.record.reply) == ("failed", "Half")
    assert log.record.failure == "The API is overloaded right now. Send it again."
    assert log.record.recorded == []


def test_stopping_keeps_the_text_that_arrived_or_the_rounds_that_ran() -> None:
    log = make_log()
    log.feed(TextDelta("Partial answer"))
    log.stop()
    assert log.record.state == "stopped"
    assert log.record.recorded[-1] == {"role": "assistant", "content": [{"type": "text", "text": "Partial answer"}]}
    with_rounds = make_log()
    with_rounds.feed(RoundDone(ROUND))
    with_rounds.stop()
    assert with_rounds.record.recorded[-1]["content"][0]["text"] == "(Stopped by the user.)"
    nothing = make_log()
    nothing.stop()
    assert nothing.record.recorded == []


def test_a_stopped_or_killed_turn_keeps_the_tokens_counted_so_far() -> None:
    log = make_log()
    log.feed(Counted(Usage(900, 0, 800, 0)))
    log.feed(TextDelta("Half an answer"))
    assert log.record.usage == Usage(900, 0, 800, 0)  # saved with the next write, so a crash keeps it too
    log.stop()  # no output count came: it is estimated from the 14 characters received, and says so
    assert log.record.usage == Usage(900, 4, 800, 0, estimated=True)
    assert log.record.usage.summary() == "in 900 · out ~4 · cache read 800"


def test_a_stopped_turn_counts_the_output_the_api_reported_and_estimates_only_the_rest() -> None:
    log = make_log()
    log.feed(Counted(Usage(900, 0, 800, 0)))
    log.feed(TextDelta("Let me look."))
    log.feed(Counted(Usage(900, 30, 800, 0), reported=True))  # the first round's message_delta
    assert log.spent() == Usage(900, 30, 800, 0)
    log.feed(Counted(Usage(1_900, 30, 800, 0)))  # the second round starts
    log.feed(TextDelta("x" * 41))
    log.stop()
    assert log.record.usage == Usage(1_900, 30 + 11, 800, 0, estimated=True)
