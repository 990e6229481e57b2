"""One buddy-tui session on one project: who answers, with what, and what gets sent.

The UI asks the session to interpret what the user typed (an app command, an unknown command, or
a question for some persona) and to build the request; it never decides those things itself.
Everything here is plain Python and tested without a UI.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buddy_tui.context.attachments import Attachment, find_mentions, set_user_sensitive_patterns
from buddy_tui.context.folder import IgnoreRules
from buddy_tui.context.fuzzy import best_matches
from buddy_tui.context.project import MemoryFile, ProjectFacts, load_memory, scan_project
from buddy_tui.conversation.chat import Conversation, build_request
from buddy_tui.conversation.documents import user_content
from buddy_tui.conversation.turnlog import TurnLog
from buddy_tui.personas.activation import Choice, choose
from buddy_tui.personas.catalog import Catalog, load_catalog
from buddy_tui.personas.commands import Command, parse_invocation
from buddy_tui.personas.frontmatter import DefinitionError
from buddy_tui.personas.persona import Persona, persona_key, resolve_persona
from buddy_tui.personas.roster import agent_model, find_agent
from buddy_tui.settings.config_file import DEFAULT_PERSONA, UserConfig, load_config
from buddy_tui.settings.model_settings import Settings, resolve_model
from buddy_tui.store.history import HistoryError, Store
from buddy_tui.store.records import StoredConversation, TurnRecord, make_title
from buddy_tui.tools.specs import TOOL_NAMES, tool_definitions


@dataclass(frozen=True)
class AppAction:
    """An app command such as ``/help`` or ``/persona security``."""

    name: str
    arguments: str


@dataclass(frozen=True)
class Refusal:
    """Typed text that cannot be sent, with the message that says why."""

    message: str


@dataclass(frozen=True)
class TurnPlan:
    """A question ready to send: the prompt, the persona and model to use, files it names."""

    typed: str
    prompt: str
    persona: Persona
    model: str
    choice: Choice | None
    command: Command | None
    mentions: list[Path] = field(default_factory=list)
    tools: tuple[str, ...] = ()  # the tools Claude may use for this turn
    #: The person picked this persona for the message (F2): it stays for the conversation (pinned).
    picked: bool = False
    #: ``/consult``: the turn is this agent's alone, answering the question directly (no lead).
    consult: str = ""


Interpretation = AppAction | Refusal | TurnPlan


def file_label(attachment: Attachment) -> str:
    """How an attached file is named under a question: ``app/models.py (2.1 KB ~540 tok)``."""
    return f"{attachment.key} ({attachment.label.partition(' ')[2]})"


def open_session(root: Path, persona_spec: str | None, settings: Settings, store: Store | None = None,
                 history_problem: str = "", *, config: UserConfig | None = None,
                 config_problems: Sequence[str] = ()) -> Session:
    """Discover everything for ``root`` and pick the starting persona (``--persona NAME|FILE``,
    else the config's ``default_persona``).

    ``config`` is the user's settings with ``config_problems`` met loading them; when not given
    they are loaded here. Either way the problems join the session's, for the app to show.
    Raises :class:`DefinitionError` when the persona asked for cannot be had.
    """
    if config is None:
        config, config_problems = load_config()
    problems = ([history_problem] if history_problem else []) + list(config_problems)
    set_user_sensitive_patterns(config.sensitive_patterns)
    catalog = load_catalog(root)
    persona = _starting_persona(persona_spec, config, catalog, problems)
    return Session(root=root, catalog=catalog, settings=settings, current=persona, facts=scan_project(root),
                   memory=load_memory(root), store=store, problems=problems, config=config,
                   pinned=bool(persona_spec))  # chosen on the command line: it stays, as a pin does


def _starting_persona(spec: str | None, config: UserConfig, catalog: Catalog, problems: list[str]) -> Persona:
    """``--persona`` (its mistakes raise), else the configured default; a configured persona that
    cannot be had is a problem, and the built-in default starts instead."""
    if spec or config.source_of("default_persona") == "default":
        return resolve_persona(spec or config.default_persona, catalog.personas)
    try:
        return resolve_persona(config.default_persona, catalog.personas)
    except DefinitionError as exc:
        problems.append(f"{config.source_of('default_persona')}: default_persona cannot be used ({exc}); "
                        f"starting with {DEFAULT_PERSONA}")
        return resolve_persona(DEFAULT_PERSONA, catalog.personas)


@dataclass
class Session:
    """The state of one conversation on one project."""

    root: Path
    catalog: Catalog
    settings: Settings
    current: Persona
    facts: ProjectFacts = field(default_factory=ProjectFacts)
    memory: list[MemoryFile] = field(default_factory=list)
    pinned: bool = False
    conversation: Conversation = field(default_factory=Conversation)
    #: Things the model should hear with the next question (e.g. that the user undid its change).
    notes: list[str] = field(default_factory=list)
    #: The history database (None when history is off) and this conversation's row in it.
    store: Store | None = None
    conversation_id: int | None = None
    #: This conversation's turns, oldest first (kept in memory too, so export works without history).
    turns: list[TurnRecord] = field(default_factory=list)
    title: str = ""
    #: Messages for the chat to show once: the history (e.g. the database became unwritable), the
    #: user's config.toml or BUDDY_TUI_* variables (a wrong value, an unknown setting).
    problems: list[str] = field(default_factory=list)
    #: The user's settings in effect (config.toml and variables), for the UI's theme and keymap.
    config: UserConfig = field(default_factory=UserConfig)
    write_failures: int = 0
    #: The project's .gitignore rules, parsed once and shared by the tree, the index and the tools.
    rules: IgnoreRules = field(init=False)

    def __post_init__(self) -> None:
        self.rules = IgnoreRules(self.root)

    @property
    def personas(self) -> list[Persona]:
        """Every persona that can answer, the current one included even if it came from a file."""
        found = dict(self.catalog.personas)
        found[self.current.name] = self.current  # a --persona FILE stands in for its namesake
        return list(found.values())

    def find_persona(self, name: str) -> Persona | None:
        """A persona by exact name (Claude Buddy's ``persona-backend`` too), else by an
        unambiguous fuzzy match."""
        by_name = {p.name: p for p in self.personas}
        for key in (name, persona_key(name)):
            if key in by_name:
                return by_name[key]
        close = best_matches(name, list(by_name), limit=2)
        return by_name[close[0]] if len(close) == 1 else None

    def agent_roster(self) -> list[tuple[str, str]]:
        """(name, one-line description) of every agent the Task tool may launch, by name: every
        persona there is (bundled experts, the user's and the project's agents, skill personas)."""
        return [(p.name, p.summary) for p in sorted(self.personas, key=lambda p: p.name)]

    def suggest(self, typed: str, attached: Sequence[str]) -> Choice:
        """Who would answer ``typed`` right now (for showing before sending)."""
        return choose(self.personas, self.current, typed, attached, self.facts, pinned=self.pinned)

    def interpret(self, typed: str, attached: Sequence[str], override: Persona | None = None) -> Interpretation:
        """Decide what ``typed`` means; ``override`` is a persona the user picked for this message."""
        invocation = parse_invocation(typed)
        command: Command | None = None
        prompt = typed
        if invocation is not None:
            command = self.catalog.commands.get(invocation.name)
            if command is None:
                return Refusal(self.catalog.commands.unknown_message(invocation.name))
            if command.kind == "app":
                return AppAction(command.name, invocation.arguments)
            prompt = command.expand(invocation.arguments)
        choice: Choice | None = None
        if override is not None:
            persona = override
        elif command is not None and command.persona:
            named = self.find_persona(command.persona)
            if named is None:
                return Refusal(f"/{command.name} asks for the persona '{command.persona}', which is not "
                               "installed. Type /persona to see the ones that are.")
            persona = named
        elif command is not None and command.launches_agents:
            persona = self.current  # it hands the work to an agent: the lead stays who it is
        else:
            choice = self.suggest(prompt, attached)
            persona = choice.persona
        # A command's model wins, then the persona's own, then the session's.
        model = resolve_model(persona.model, self.settings.model)
        if command is not None and command.model:
            model = resolve_model(command.model, model)
        mentions = find_mentions(typed, self.root)
        if command is not None:  # @path references in a command's template attach files too
            mentions += [p for p in find_mentions(prompt, self.root) if p not in mentions]
        tools = tuple(t for t in TOOL_NAMES if t in persona.allowed_tools)
        if command is not None and command.allowed_tools is not None:  # a command may only narrow them
            tools = tuple(t for t in tools if t in command.allowed_tools)
        if command is not None and command.launches_agents and "Task" not in tools:
            tools = (*tools, "Task")  # its text says to launch an agent: it must be able to
        return TurnPlan(typed, prompt, persona, model, choice, command, mentions, tools, picked=override is not None)

    def request(self, plan: TurnPlan, attachments: Sequence[Attachment], user: list[dict[str, Any]] | None = None,
                ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The user turn's content blocks and the full request for ``plan`` (nothing changes yet);
        ``user`` resends the blocks of an earlier try instead of building them afresh."""
        user = list(user) if user is not None else user_content(plan.prompt, attachments)
        if self.notes:
            user.insert(0, {"type": "text", "text": "\n".join(f"<note>{n}</note>" for n in self.notes)})
        request = build_request(persona=plan.persona, conversation=self.conversation, user=user,
                                model=plan.model, max_tokens=self.settings.max_tokens, memory=self.memory,
                                tools=tool_definitions(plan.tools, self.agent_roster()))
        return user, request

    def commit(self, plan: TurnPlan) -> None:
        """The turn is being sent: whoever answers becomes the current persona (unless pinned);
        one the person picked for it (F2) is pinned, so it keeps answering. A consulted agent
        answers this once and changes nothing."""
        if plan.picked and not plan.consult:
            self.current, self.pinned = plan.persona, True
        elif not self.pinned and not plan.consult:
            self.current = plan.persona
        self.notes.clear()

    def switch(self, name: str) -> Persona | None:
        """Make ``name`` the current persona and pin it (``/persona NAME``): a choice the person
        made stays for the conversation until they unpin or choose again. None when there is no
        such persona."""
        persona = self.find_persona(name)
        if persona is not None:
            self.current, self.pinned = persona, True
        return persona

    def consultation(self, name: str, question: str) -> TurnPlan | str:
        """``/consult NAME QUESTION``: a plan for asking one agent directly (files named in the
        question attach as usual); else what to tell the person."""
        names = ", ".join(n for n, _ in self.agent_roster())
        if not name.strip() or not question.strip():
            return f"Usage: /consult NAME QUESTION, e.g. /consult security is the login flow safe? Agents: {names}."
        persona = find_agent(name, self.personas)
        if persona is None:
            return f"There is no agent called '{name}'. Agents: {names}."
        model, _problem = agent_model(persona.model, self.settings.model)
        typed = f"/consult {name} {question}"
        return TurnPlan(typed, question, persona, model, None, None, find_mentions(question, self.root),
                        consult=persona.name)

    def toggle_pin(self, persona: Persona | None = None) -> bool:
        """Pin ``persona`` (or the current one) for the conversation, or unpin; returns the new state."""
        if self.pinned and persona in (None, self.current):
            self.pinned = False
        else:
            self.current = persona or self.current
            self.pinned = True
        return self.pinned

    # ------------------------------------------------------------------ history
    @property
    def project_key(self) -> str:
        """How the history names this project: its absolute path."""
        return str(self.root)

    def begin_turn(self, plan: TurnPlan, user: list[dict[str, Any]], attachments: Sequence[Attachment],
                   files: Sequence[str] | None = None) -> TurnLog:
        """Store the question before it leaves (creating the conversation on its first question)."""
        record = TurnRecord(typed=plan.typed, persona=plan.persona.name, persona_title=plan.persona.title,
                            model=plan.model, files=[file_label(a) for a in attachments] if files is None
                            else list(files), user=user)
        self.turns.append(record)
        self.title = self.title or make_title(plan.typed)
        if self.store is not None:
            try:
                if self.conversation_id is None:
                    self.conversation_id = self.store.create_conversation(
                        self.project_key, self.title, plan.persona.name, plan.model)
                try:
                    self.store.begin_turn(self.conversation_id, record)
                except sqlite3.IntegrityError:  # deleted in another window: keep it, as a new one
                    self._store_again(self.store)
            except (sqlite3.Error, HistoryError, OSError) as exc:
                self._history_failed(exc)
        return TurnLog(record)

    def _store_again(self, store: Store) -> None:
        """Save this conversation afresh (every turn so far), after its row disappeared."""
        self.conversation_id = store.create_conversation(self.project_key, self.title, self.current.name,
                                                         self.settings.model)
        for turn in self.turns:
            state = turn.state
            store.begin_turn(self.conversation_id, turn)
            turn.state = state
            if state != "streaming":
                store.save_turn(turn)
        self.problems.append("This conversation had been deleted from the history (in another window); "
                             "it is saved again as a new conversation.")

    def save(self, log: TurnLog) -> None:
        """Write the turn as it stands (a checkpoint of a streaming reply, or its end)."""
        record = log.snapshot()
        if self.store is None or record.id is None:
            return
        checkpoints = self.store.checkpoints
        if log.text_only and record.state == "streaming":
            checkpoints.submit(record.id, record.reply, record.agents or None)  # written off this thread
            if checkpoints.failures == 3:  # say so once; it keeps trying
                self.problems.append(f"The streaming reply could not be saved ({checkpoints.error}); "
                                     "buddy-tui keeps trying.")
            return
        checkpoints.discard(record.id)
        try:
            self.store.save_turn(record)
            self.write_failures = 0
        except (sqlite3.Error, HistoryError, OSError) as exc:
            self._history_failed(exc)

    def reopen(self, record: TurnRecord) -> TurnLog:
        """A reply cut at the token limit goes on: take what it left in the context (it comes
        back, grown, when it ends) and store it as streaming again."""
        size = len(record.recorded)
        if size and self.conversation.messages[-size:] == record.recorded:
            del self.conversation.messages[-size:]
        self.conversation.usage = self.conversation.usage - record.usage
        log = TurnLog.resume(record)
        self.save(log)
        return log

    def continuation(self, plan: TurnPlan, record: TurnRecord) -> dict[str, Any]:
        """The request that asks for the rest of ``record``'s reply (call after :meth:`reopen`):
        the conversation before it, its question, its tool rounds, and the cut reply last, as it
        stands; :func:`~buddy_tui.conversation.chat.stream_turn` sends it with a user message after
        it that asks the model to go on (never kept), since a request must end with a user message."""
        used = {b["name"] for m in record.recorded for b in m["content"] if b.get("type") == "tool_use"}
        tools = (*plan.tools, *sorted(used - set(plan.tools)))  # every tool the turn's messages name
        request = build_request(persona=plan.persona, conversation=self.conversation, user=record.user,
                                model=plan.model, max_tokens=self.settings.max_tokens, memory=self.memory,
                                tools=tool_definitions(tools))
        request["messages"] += record.recorded[1:]
        return request

    def end_turn(self, log: TurnLog) -> None:
        """The turn is over, however it ended: keep its context for the next turn, and store it."""
        record = log.snapshot()
        self.conversation.extend(record.recorded, record.usage)
        self.save(log)

    def resume(self, stored: StoredConversation) -> None:
        """Continue a stored conversation: its context, its tokens, and its last persona."""
        self.conversation.clear()
        self.conversation.messages.extend(stored.messages())
        self.conversation.usage = stored.usage
        self.conversation_id = stored.summary.id
        self.turns = list(stored.turns)
        self.title = stored.summary.title
        self.notes.clear()
        if not self.pinned and (persona := self.find_persona(stored.summary.persona)) is not None:
            self.current = persona

    def new_conversation(self) -> None:
        """Forget every turn; the next question starts a new stored conversation."""
        self.conversation.clear()
        self.conversation_id = None
        self.turns = []
        self.title = ""
        self.notes.clear()

    def _history_failed(self, exc: BaseException) -> None:
        """A write failed: say so; after three failures in a row, stop trying for this window."""
        self.write_failures += 1
        if self.write_failures < 3:
            self.problems.append(f"The history could not be written ({exc}); buddy-tui tries again with the "
                                 "next change.")
            return
        self.store = None
        self.problems.append(f"History is off from now on: it could not be written ({exc}). "
                             "This conversation goes on, but is no longer saved.")
