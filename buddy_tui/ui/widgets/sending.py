"""The last step before a question goes out: does it fit the context window, and if not, what
the user chooses to cut. Methods of :class:`ChatPane` (bound in its class body), kept apart so
each module stays readable in one sitting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from buddy_tui.context import budget
from buddy_tui.context.attachments import Attachment
from buddy_tui.conversation.session import TurnPlan
from buddy_tui.conversation.turnlog import TurnLog
from buddy_tui.store.records import TurnRecord
from buddy_tui.ui.widgets.transcript import AssistantMessage, UserMessage

if TYPE_CHECKING:
    from buddy_tui.ui.widgets.chat_pane import ChatPane


@dataclass
class Turn:
    """The exchange being streamed right now."""

    id: int
    plan: TurnPlan
    view: AssistantMessage
    log: TurnLog
    chips: list[Attachment] = field(default_factory=list)


async def send_within_budget(pane: ChatPane, plan: TurnPlan, chips: list[Attachment],
                              attachments: list[Attachment], shorten_rounds: int = 0,
                              resend: TurnRecord | None = None) -> None:
    """Send unless the request is bigger than the context window; then ask what to cut.
    Once the user chose "send the head", keep shortening (a few rounds) until it fits.
    ``resend``: an earlier try of this question, whose exact content blocks go out again."""
    user, request = pane.session.request(plan, attachments, resend.user if resend else None)
    measured = await budget.measure(pane.client, request, budget.context_window())
    if measured.over_by and attachments and 0 < shorten_rounds < 5:
        await pane._budget_decided("head", plan, chips, attachments, measured.over_by, shorten_rounds)
        return
    if measured.over_by and attachments:
        from buddy_tui.ui.screens.budget import over_budget

        def decided(choice: str | None) -> None:
            pane.call_later(pane._budget_decided, choice, plan, chips, attachments, measured.over_by)

        pane.app.push_screen(over_budget(measured, attachments), decided)
        return
    if measured.over_by:
        await pane.note(f"The conversation no longer fits the model's context ({measured.describe()}). "
                        "/clear starts a new one.", "error")
        pane._restore_text(plan.typed, chips)
        return
    pane.prompt.input.value = ""
    pane.override = None
    pane.session.commit(plan)
    log = pane.session.begin_turn(plan, user, attachments, resend.files if resend else None)  # before it leaves
    pane._turn_ids += 1
    pane._tool_lines = {}
    why = plan.choice.match.explain() if plan.choice and plan.choice.switched and plan.choice.match else ""
    view = AssistantMessage(plan.persona.title, why)
    pane.turn = Turn(pane._turn_ids, plan, view, log, chips)
    await pane.add(UserMessage(plan.typed, log.record.files))
    await pane.show_problems()
    await pane.add(view)
    pane.refresh_header()
    pane.transcript.anchor()
    pane.app.refresh_bindings()
    pane._stream(pane.turn.id, request, plan.tools, plan.persona.title)


async def budget_decided(pane: ChatPane, choice: str | None, plan: TurnPlan, chips: list[Attachment],
                          attachments: list[Attachment], over_by: int, rounds: int = 0) -> None:
    if choice == "drop":
        await pane.note("Sent without the attached files, which did not fit.", "warning")
        await pane._send_within_budget(plan, [], [])
    elif choice == "head":
        try:
            shortened = budget.shorten_largest(attachments, over_by)
        except ValueError as exc:
            await pane.note(f"Cannot shorten enough: {exc}. Drop files instead, or /clear.", "warning")
            pane._restore_text(plan.typed, chips)
            return
        await pane._send_within_budget(plan, chips, shortened, rounds + 1)
    else:
        pane._restore_text(plan.typed, chips)
