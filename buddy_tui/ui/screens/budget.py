"""Over budget: the request does not fit the model's context; the user decides what gives."""

from __future__ import annotations

from buddy_tui.context.attachments import Attachment
from buddy_tui.context.budget import Budget
from buddy_tui.ui.screens.choice import Answer, ChoiceScreen


def over_budget(budget: Budget, attachments: list[Attachment], guard: float = 0.0) -> ChoiceScreen:
    """Drop the attached files ("drop"), send only the head of the largest one ("head"), or cancel."""
    largest = max(attachments, key=lambda a: a.tokens)
    files = "\n".join(f"  {a.key}: ~{a.tokens:,} tokens" for a in attachments)
    return ChoiceScreen(
        f"Too big for the model by {budget.over_by:,} tokens",
        f"This question would use {budget.describe()}.\nAttached:\n{files}",
        [Answer("drop", "Drop the files", "warning"),
         Answer("head", f"Send the head of {largest.path.rsplit('/', 1)[-1]}"),
         Answer("cancel", "Cancel", "primary")], guard=guard)
