"""A model chosen by name (``/model NAME``, a name typed into the picker, ``--model``), checked
against the endpoint's own model list before it is used.

A name the list has is used and remembered for the project. A name it lacks is refused, with the
nearest names it does have, so a typo never becomes the project's model and fails every question
after it with a 404. When the list cannot be had (a local server without one, an unreachable
endpoint, no key yet), nobody can tell: the name is used for this session only, not remembered,
and the chat says so. ``--model`` at start is only checked, with a warning when it is unknown.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from buddy_tui.context.attachments import printable
from buddy_tui.conversation.client import is_local
from buddy_tui.conversation.models import ModelCheck, check_model

if TYPE_CHECKING:
    from buddy_tui.conversation.session import Session
    from buddy_tui.ui.widgets.chat_pane import ChatPane


class ModelHost(Protocol):
    """What the chooser uses of the app (BuddyApp), named here so this module need not import the
    app that imports it."""

    session: Session
    root: Path

    @property
    def chat(self) -> ChatPane: ...
    def notify(self, message: str, *, markup: bool = True) -> None: ...
    def run_worker(self, work: Coroutine[Any, Any, None], *, group: str = "default",
                   exclusive: bool = False) -> object: ...


class ModelChooser:
    """Checks, then switches to, a model the user named; one check at a time."""

    def __init__(self, app: ModelHost) -> None:
        self.app = app
        self.waiting: str | None = None  # a name to check once the client is built
        self.startup: str | None = None  # --model, to check (and only warn about) once connected

    def choose(self, name: str) -> None:
        """Check ``name`` with the endpoint, then use it (or say why not)."""
        chat = self.app.chat
        if chat.client is None and chat.connection is None:  # the SDK is not loaded yet
            self.waiting = name
            self.app.notify(printable(f"Checking {name} with the endpoint…"), markup=False)
            chat.connect_now()
            return
        self.app.run_worker(self._check_then_use(name), group="model-check", exclusive=True)

    def check_at_start(self, name: str) -> None:
        """``--model NAME``: connect now, and warn in the chat if the endpoint does not offer it."""
        self.startup = name
        self.app.chat.connect_now()

    def connected(self) -> None:
        """The client is built (or could not be): carry out what waited for it."""
        if (name := self.waiting) is not None:
            self.waiting = None
            self.app.run_worker(self._check_then_use(name), group="model-check", exclusive=True)
        if (name := self.startup) is not None and self.app.chat.client is not None:
            self.startup = None
            self.app.run_worker(self._warn_if_unknown(name), group="model-start")

    def _where(self) -> str:
        connection = self.app.chat.connection
        base_url = connection.base_url if connection is not None else ""
        return f"the endpoint {base_url}" if base_url and is_local(base_url) else "Anthropic's API"

    async def _check(self, name: str) -> ModelCheck:
        chat = self.app.chat
        if chat.client is None:
            why = chat.connection.message if chat.connection is not None else "not connected"
            return ModelCheck(name, "unverified", reason=f"no client: {why.rstrip('.')}")
        return await check_model(chat.client, name)

    async def _check_then_use(self, name: str) -> None:
        chat = self.app.chat
        check = await self._check(name)
        where = self._where()
        if check.verdict == "unknown":
            await chat.note(f"{check.describe(where)} The model stays {self.app.session.settings.model}; "
                            "/model lists the ones on offer.", "warning")
            return
        self.app.session.settings = replace(self.app.session.settings, model=name)
        chat.show_connection()
        if check.verdict == "unverified":
            await chat.note(f"{check.describe(where)} Using {name} for this session only: it is not remembered "
                            "for the project, and a wrong name fails at the next question.", "warning")
            return
        from buddy_tui.settings.ui_state import UiState

        problem = UiState.load().remember_model(self.app.root, name)
        self.app.notify(printable(f"Model: {name}" + (" (remembered for this project)" if problem is None
                                                       else f"; {problem}")), markup=False)

    async def _warn_if_unknown(self, name: str) -> None:
        check = await self._check(name)
        if check.verdict == "unknown" and self.app.session.settings.model == name:
            await self.app.chat.note(f"--model: {check.describe(self._where())} Questions will fail until "
                                     "/model picks one it offers.", "warning")
