"""How ``buddy-tui ask`` answers the engine's questions when nobody can be asked: by its flags.

Every question the app would put to a person gets its safe answer here. Files that look like
secrets stay out and secret-looking values are redacted, unless ``--allow-secrets``; a request
too big for the context is refused; the reading tools run, but never on a secrets file; Edit and
Write run only with ``--allow-edits`` (and on a secrets file only with ``--allow-secrets`` too),
each change reported on stderr by the driver. Task runs (an agent is asked the same questions as
the lead, and answered the same way). Refusals carry the words the model is told, whether the
lead or an agent asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from buddy_tui.headless.output import Reporter
from buddy_tui.tools.asking import Approval, ChangeRequest, Declined, Verb
from buddy_tui.tools.specs import READ_ONLY, ToolCall

if TYPE_CHECKING:
    from buddy_tui.context.attachments import Attachment
    from buddy_tui.context.budget import Budget
    from buddy_tui.conversation.asker import Findings

#: Tools that change nothing themselves: Task's agent asks for its own changes like the lead does.
NEVER_CHANGES = READ_ONLY | {"Task"}
HEADLESS_NOTE = ("This question comes from `buddy-tui ask`, a non-interactive run whose reply goes to a script "
                 "or a file. You may read the project (Read, Grep, Glob) but not change it: show any change "
                 "as a unified diff in your answer instead.")
EDITS_NOTE = ("This question comes from `buddy-tui ask`, a non-interactive run whose reply goes to a script or "
              "a file. The user allowed changes (--allow-edits): Edit and Write change the project's files at "
              "once, with no review, so make only the changes the question calls for and say what you changed.")


def redaction_notice(count: int, names: Sequence[str]) -> str:
    """What stderr says when ``count`` secret-looking values in ``names`` are redacted."""
    return f"redacted {count} secret-looking value(s) in {', '.join(names)} (--allow-secrets sends them as they are)"


def offered_tools(allowed: Sequence[str], allow_edits: bool) -> tuple[tuple[str, ...], str | None]:
    """The tools offered to the model, and the note that tells it what it may do (None when the
    persona could not change files anyway)."""
    changing = any(name not in NEVER_CHANGES for name in allowed)
    if allow_edits:
        return tuple(allowed), EDITS_NOTE if changing else None
    return tuple(t for t in allowed if t in NEVER_CHANGES), HEADLESS_NOTE if changing else None


class FlagAsker:
    """The engine's :class:`~buddy_tui.conversation.asker.Asker` for ``buddy-tui ask``."""

    def __init__(self, reporter: Reporter, *, allow_edits: bool = False, allow_secrets: bool = False) -> None:
        self.reporter = reporter
        self.allow_edits = allow_edits
        self.allow_secrets = allow_secrets

    async def send_secrets_files(self, names: Sequence[str]) -> Literal["yes", "no"] | None:
        if self.allow_secrets:
            return "yes"
        for name in names:
            self.reporter.problem(f"not attached: {name} looks like it holds secrets (keys, passwords, tokens); "
                                  "it is sent only with --allow-secrets")
        return "no"

    async def send_secret_values(self, findings: Findings) -> Literal["send", "redact"] | None:
        if self.allow_secrets:
            return "send"
        self.reporter.problem(redaction_notice(len(findings), sorted({a.path for a, _ in findings})))
        return "redact"

    async def over_budget(self, budget: Budget, attachments: Sequence[Attachment]) -> Literal["drop", "head"] | None:
        return None  # the driver says what did not fit, and exits

    async def may_use(self, call: ToolCall) -> Declined | None:
        if call.name in NEVER_CHANGES or self.allow_edits:
            return None
        return Declined(f"{call.name} is not available: this is a non-interactive run (buddy-tui ask) and changing "
                        "files needs the user's approval in the interactive app (buddy-tui). Nothing was changed. "
                        "Show the change in your answer instead, as a unified diff.",
                        f"{call.name} refused: changing files needs the app")

    async def allow_secrets_file(self, tool: str, path: str, verb: Verb, agent: str = "") -> bool | Declined:
        if verb == "read":  # tools never read secrets files here: nobody was asked
            return Declined(f"{path} looks like it holds secrets; the user was not asked (this is a non-interactive "
                            "run), so it was not read.", f"Read {path} refused: secrets")
        return True if self.allow_secrets else _secrets_refusal(tool, path)

    async def approve_change(self, change: ChangeRequest) -> Approval | Declined | None:
        if change.protected:  # agent, editor and git configuration: reviewed in the app, whatever the flags
            return Declined(f"{change.path} is {change.protected}: a change to it is always reviewed by the user in "
                            "the app (buddy-tui), even with --allow-edits and --allow-secrets. Nothing was changed. "
                            "Show the change in your answer instead.",
                            f"{change.tool} {change.path} refused: {change.protected}, needs the app")
        if change.sensitive and not self.allow_secrets:
            return _secrets_refusal(change.tool, change.path)
        return Approval("once")  # --allow-edits: may_use let the call this far


def _secrets_refusal(tool: str, path: str) -> Declined:
    return Declined(f"{path} looks like it holds secrets (keys, passwords, tokens); changing it needs "
                    "--allow-secrets as well as --allow-edits. Nothing was changed.", f"{tool} {path} refused: secrets")
