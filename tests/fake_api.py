"""A fake Anthropic Messages API server for tests, spoken to by the real SDK over real HTTP.

Start it, point ``anthropic.Anthropic(base_url=fake.base_url, api_key=...)`` at it, and queue
scripts (:class:`Reply`, :class:`HttpError`, :class:`StreamError`, :class:`Cut`, :class:`Hang`);
each queued script answers exactly one ``POST /v1/messages`` in order. When the queue is empty,
``default_reply`` (by default :func:`demo_reply`) answers.

Stop reasons stream as the real API streams them: ``Reply(..., stop_reason="max_tokens")`` is a
reply cut at the token limit (``ToolUse(..., cut=N)`` cuts it in the middle of a tool call's input);
:meth:`Reply.refusal` declines, with or without text first, ``stop_details`` on the
``message_delta``. ``Cut`` and ``StreamError`` with ``after_delta`` break off only after the
``message_delta`` (stop reason and output count) went out.

Requests are checked as current models check them: one whose messages end with an assistant
message (a prefill) is refused with the 400 Claude 4.6 and later send, and so is one where an
assistant ``tool_use`` is not answered by a ``tool_result`` in the very next user message (or a
``tool_result`` answers no ``tool_use`` of the message before). :func:`continued_of` reads back the
reply a continuation request asks the model to go on with.

Run ``python -m tests.fake_api --port 8765 --delay 0.03`` to serve the demo reply by hand.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import select
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Cut",
    "FakeAnthropic",
    "Hang",
    "HttpError",
    "RecordedRequest",
    "Reply",
    "Script",
    "StreamError",
    "continued_of",
    "demo_reply",
    "model_info",
    "split_text",
]

ORGANIZATION_ID = "00000000-0000-4000-8000-00000000fa4e"

# Error types the real API uses, with the HTTP status each comes with.
ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

MODELS: list[dict[str, Any]] = [
    {
        "type": "model",
        "id": "claude-sonnet-4-5-20250929",
        "display_name": "Claude Sonnet 4.5",
        "created_at": "2025-09-29T00:00:00Z",
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    },
    {
        "type": "model",
        "id": "claude-haiku-4-5-20251001",
        "display_name": "Claude Haiku 4.5",
        "created_at": "2025-10-01T00:00:00Z",
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    },
]


def split_text(text: str, size: int) -> list[str]:
    """Split ``text`` into pieces of at most ``size`` characters."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class RecordedRequest:
    """One HTTP request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    query: str = ""  # the URL's query string, e.g. "limit=100&after_id=..."
    #: time.monotonic() when it arrived, and when its answer was fully written (None until then, or
    #: when it never was: the client went away), to tell requests that overlapped in time.
    received: float = field(default_factory=time.monotonic)
    answered: float | None = None

    @property
    def system_text(self) -> str:
        """The request's system prompt as one text ("" when it has none)."""
        system = (self.body or {}).get("system")
        return system if isinstance(system, str) else _content_text(system or [])


@dataclass
class ToolUse:
    """A tool_use block in a reply; its input is streamed as input_json_delta pieces of ``piece``
    characters, as the real API does. ``cut``: only the first ``cut`` characters of the input's
    JSON go out (the reply reached the token limit in the middle of the call; give the Reply
    ``stop_reason="max_tokens"``)."""

    id: str
    name: str
    input: dict[str, Any]
    piece: int = 10
    cut: int | None = None

    @property
    def json(self) -> str:
        """The input's JSON as streamed (only its start when the call is cut)."""
        whole = json.dumps(self.input)
        return whole if self.cut is None else whole[: self.cut]


@dataclass
class Reply:
    """A successful streamed (or plain JSON) answer: one ``content_block_delta`` per chunk, then
    any ``tools`` blocks (and then stop_reason ``tool_use`` unless another is given)."""

    chunks: list[str]
    delay: float = 0.0
    stop_reason: str = "end_turn"
    tools: list[ToolUse] = field(default_factory=list)
    input_tokens: int = 25
    output_tokens: int | None = None
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    model: str | None = None
    #: Seconds between chunks on a fixed schedule from the first one (e.g. 0.001 for 1,000 deltas a
    #: second, however long each write takes); used instead of ``delay`` when set.
    pace: float | None = None
    #: Sent with the stop reason on the ``message_delta`` (the API's ``stop_details`` of a refusal).
    stop_details: dict[str, Any] | None = None

    @classmethod
    def of(cls, text: str, size: int = 8, **fields: Any) -> Reply:
        """A reply whose text is ``text`` split into chunks of ``size`` characters."""
        return cls(split_text(text, size), **fields)

    @classmethod
    def refusal(cls, text: str = "", category: str | None = "cyber", explanation: str | None = None,
                **fields: Any) -> Reply:
        """The model declines (``stop_reason: "refusal"``): after ``text`` (none: no content block
        at all), with the API's ``stop_details``."""
        details = {"type": "refusal", "category": category, "explanation": explanation}
        return cls(split_text(text, 8) if text else [], stop_reason="refusal", stop_details=details, **fields)

    @property
    def text(self) -> str:
        """The whole reply text."""
        return "".join(self.chunks)


@dataclass
class HttpError:
    """An HTTP error response with the real API's error body."""

    status: int
    error_type: str
    message: str
    retry_after: float | None = None
    retry_after_ms: float | None = None
    should_retry: bool | None = None  # sets ``x-should-retry: true|false`` when given


@dataclass
class StreamError:
    """HTTP 200: the stream starts, sends ``chunks``, then an in-stream ``event: error``
    (``after_delta``: after the ``message_delta`` with the output count)."""

    chunks: list[str]
    error_type: str = "overloaded_error"
    message: str = "Overloaded"
    delay: float = 0.0
    after_delta: bool = False
    output_tokens: int | None = None


@dataclass
class Cut:
    """The stream starts, sends ``chunks``, then the server closes the socket mid-body
    (``after_delta``: after the ``message_delta`` with the output count)."""

    chunks: list[str]
    delay: float = 0.0
    after_delta: bool = False
    output_tokens: int | None = None


@dataclass
class Hang:
    """Accept the request, send nothing for ``seconds``, then close the connection."""

    seconds: float


Script = Reply | HttpError | StreamError | Cut | Hang


# --------------------------------------------------------------------------------------------
# Demo reply


def _block_text(block: Any) -> str:
    """The text of a content block (or string), ignoring non-text blocks."""
    if isinstance(block, str):
        return block
    if isinstance(block, dict):
        if isinstance(block.get("text"), str):
            return cast(str, block["text"])
        if "content" in block:
            return _content_text(block["content"])
        source = block.get("source")
        if isinstance(source, dict) and isinstance(source.get("data"), str) and source.get("type") == "text":
            return cast(str, source["data"])
    return ""


def _content_text(content: Any) -> str:
    """The text of a message's ``content`` (a string or a list of blocks)."""
    if isinstance(content, list):
        return "\n".join(text for text in (_block_text(b) for b in content) if text)
    return _block_text(content)


def continued_of(body: dict[str, Any] | None) -> str | None:
    """The text of the reply a continuation request asks the model to go on with: the assistant
    message just before a last user message that asks to continue (and holds no tool results);
    None for any other request."""
    messages = (body or {}).get("messages")
    if not isinstance(messages, list) or len(messages) < 2 or not all(isinstance(m, dict) for m in messages[-2:]):
        return None
    before, last = messages[-2], messages[-1]
    content = last.get("content")
    results = isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result"
                                                for b in content)
    if before.get("role") != "assistant" or last.get("role") != "user" or results:
        return None
    return _content_text(before.get("content")) if "continue" in _content_text(content).lower() else None


#: A reply cut at the token limit in the middle of a code block (``--faults max-tokens``), and the
#: rest the demo server sends when it is continued.
CUT_DEMO = ("## Paging the orders\n\nLoad one page at a time and pass the cursor back:\n\n```python\n"
            "def load_page(db, user_id, after=0, size=50):\n    rows = db.query(\n")
CUT_DEMO_REST = ("        \"SELECT * FROM orders WHERE user_id = %s AND id > %s ORDER BY id LIMIT %s\",\n"
                 "        (user_id, after, size),\n    )\n    return rows, rows[-1].id if rows else None\n```\n\n"
                 "The client asks again with the last id until it gets an empty page.")


def continuation_reply(cut: str, delay: float = 0.0) -> Reply:
    """The rest of a reply that was cut: the rest of :data:`CUT_DEMO` and :data:`CUT_DEMO_REST` when
    that was it (cut, or stopped while it went on), else a sentence that plainly finishes what was there."""
    if cut and (CUT_DEMO + CUT_DEMO_REST).startswith(cut):
        return Reply.of((CUT_DEMO + CUT_DEMO_REST)[len(cut):], size=6, delay=delay)
    return Reply.of(" …and that is the rest of the answer.", size=6, delay=delay)


def _last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


_DOCUMENT_RE = re.compile(r"<document\b.*?</document>", re.DOTALL)
_SOURCE_RE = re.compile(r"<source>\s*(.*?)\s*</source>", re.DOTALL)
_DOCUMENTS_WRAPPER_RE = re.compile(r"</?documents>")


def demo_reply(body: dict[str, Any], delay: float = 0.0) -> Reply:
    """A realistic Markdown answer to the last user message, in ~6-character chunks (or, for a
    request asking to continue a cut reply, the rest of that reply)."""
    cut = continued_of(body)
    if cut is not None:
        return continuation_reply(cut, delay)
    text = _last_user_text(body)
    sources = [m.group(1) for doc in _DOCUMENT_RE.finditer(text) for m in _SOURCE_RE.finditer(doc.group(0))]
    question = _DOCUMENTS_WRAPPER_RE.sub("", _DOCUMENT_RE.sub("", text))
    first_line = next((line.strip() for line in question.splitlines() if line.strip()), "")
    if len(first_line) > 120:
        first_line = first_line[:117] + "..."
    asked = f"You asked “{first_line}”." if first_line else "Your message was empty."
    if sources:
        files = ", ".join(f"`{s}`" for s in sources)
        asked += f" I read the attached files: {files}."
    answer = (
        "## A backend take\n\n"
        f"{asked} Here is how I would approach it, keeping the service small and easy to test.\n\n"
        "- Validate input at the edge and fail fast with a clear error.\n"
        "- Keep I/O behind a narrow interface so tests can swap it out.\n"
        "- Make retries **idempotent** and bound them with a timeout.\n\n"
        "```python\n"
        "import asyncio\n"
        "\n"
        "\n"
        "async def fetch_with_retry(fetch, attempts: int = 3) -> bytes:\n"
        "    for attempt in range(1, attempts + 1):\n"
        "        try:\n"
        "            return await asyncio.wait_for(fetch(), timeout=5)\n"
        "        except TimeoutError:\n"
        "            if attempt == attempts:\n"
        "                raise\n"
        "            await asyncio.sleep(0.5 * 2**attempt)\n"
        "```\n\n"
        "That should give you a solid starting point; tell me more about your stack and I can refine it."
    )
    return Reply.of(answer, size=6, delay=delay)


# --------------------------------------------------------------------------------------------
# Wire helpers


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {_dumps(data)}\n\n".encode()


def _error_body(error_type: str, message: str, request_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def _reason_phrase(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _count_chars(value: Any) -> int:
    """Characters of text in a system prompt or message list."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_count_chars(item) for item in value)
    if isinstance(value, dict):
        if "role" in value:
            return _count_chars(value.get("content"))
        return len(_block_text(value))
    return 0


class _ClientGone(Exception):
    """The client closed the connection (or the server is stopping) mid-response."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeAnthropic) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can be slow offline.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client disconnects are normal; anything else is kept for tests to inspect, never printed.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.fake.server_errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-anthropic/1.0"

    def version_string(self) -> str:
        return self.server_version

    @property
    def fake(self) -> FakeAnthropic:
        return cast(_Server, self.server).fake

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def setup(self) -> None:
        super().setup()
        self.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, add=False)

    # -- dispatch ---------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.fake
        raw = self._read_body()
        url = urlsplit(self.path)
        path = url.path
        body: dict[str, Any] | None = None
        body_error: str | None = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                body_error = "There was an error parsing the body of your request: invalid JSON"
            else:
                if isinstance(parsed, dict):
                    body = parsed
                else:
                    body_error = "The request body must be a JSON object"
        headers = {name.lower(): value for name, value in self.headers.items()}
        recorded = RecordedRequest(self.command, path, headers, body, url.query)
        request_id = fake._record(recorded)
        self._recorded = recorded
        if self.command == "POST" and path in ("/v1/messages", "/v1/messages/count_tokens"):
            if body_error is not None:
                self._send_error(400, "invalid_request_error", body_error, request_id)
                return
            required = (
                ("model", "messages")
                if path.endswith("count_tokens")
                else ("model", "max_tokens", "messages")
            )
            problem = self._validate(body or {}, required)
            if problem is not None:
                self._send_error(400, "invalid_request_error", problem, request_id)
            elif path == "/v1/messages":
                if fake.on_message is not None:
                    fake.on_message(body or {})
                self._messages(body or {}, request_id)
            else:
                self._count_tokens(body or {}, request_id)
        elif self.command == "GET" and path.startswith("/v1/models") and fake.models_error is not None:
            error = fake.models_error
            self._send_error(error.status, error.error_type, error.message, request_id)
        elif self.command == "GET" and path == "/v1/models":
            page = self._models_page(parse_qs(url.query))
            if isinstance(page, str):
                self._send_error(400, "invalid_request_error", page, request_id)
            else:
                self._send_json(200, page, request_id)
        elif self.command == "GET" and path.startswith("/v1/models/") and fake.model_lookup_error is not None:
            error = fake.model_lookup_error
            self._send_error(error.status, error.error_type, error.message, request_id)
        elif self.command == "GET" and path.startswith("/v1/models/"):
            model_id = path.removeprefix("/v1/models/")
            # As the real API does, an alias (the id without its date) finds the model too.
            known = fake.models + fake.unlisted_models
            model = next((m for m in known if model_id in (m["id"], re.sub(r"-\d{8}$", "", m["id"]))), None)
            if model is None:
                self._send_error(404, "not_found_error", f"model: {model_id}", request_id)
            else:
                self._send_json(200, model, request_id)
        else:
            self._send_error(404, "not_found_error", "Not Found", request_id)

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _validate(body: dict[str, Any], required: tuple[str, ...]) -> str | None:
        for name in required:
            if name not in body:
                return f"{name}: Field required"
        if not isinstance(body["model"], str) or not body["model"]:
            return "model: Input should be a valid string"
        if "max_tokens" in required:
            max_tokens = body["max_tokens"]
            if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
                return "max_tokens: Input should be greater than or equal to 1"
        messages = body["messages"]
        if not isinstance(messages, list):
            return "messages: Input should be a valid list"
        if not messages:
            return "messages: at least one message is required"
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                return f"messages.{i}.role: Input should be 'user' or 'assistant'"
            if "content" not in message:
                return f"messages.{i}.content: Field required"
            blocks = message["content"] if isinstance(message["content"], list) else []
            if any(isinstance(b, dict) and b.get("type") == "text" and not b.get("text") for b in blocks):
                return f"messages.{i}: text content blocks must be non-empty"
        if (unpaired := _unpaired_tools(messages)) is not None:
            return unpaired
        if messages[-1].get("role") == "assistant" and "max_tokens" in required:  # a message, not a count
            return PREFILL_REFUSED
        return None

    # -- routes -----------------------------------------------------------------------------

    def _messages(self, body: dict[str, Any], request_id: str) -> None:
        fake = self.fake
        script = fake._next_script(body)
        stream = body.get("stream") is True
        model = str(body["model"])
        n = request_id.removeprefix("req_fake_")
        if isinstance(script, HttpError):
            self._send_error(
                script.status,
                script.error_type,
                script.message,
                request_id,
                retry_after=script.retry_after,
                retry_after_ms=script.retry_after_ms,
                should_retry=script.should_retry,
            )
        elif isinstance(script, Hang):
            self._hang(script.seconds)
        elif not stream:
            self._plain_message(script, model, n, request_id)
        else:
            self._stream_message(script, model, n, request_id)

    def _count_tokens(self, body: dict[str, Any], request_id: str) -> None:
        chars = _count_chars(body.get("system")) + _count_chars(body.get("messages"))
        self._send_json(200, {"input_tokens": chars // 4}, request_id)

    def _models_page(self, params: dict[str, list[str]]) -> dict[str, Any] | str:
        """One page of the model list as the real API pages it: ``limit`` (1 to 1000, default 20),
        then ``after_id`` or ``before_id``; or the reason the parameters are refused."""
        fake = self.fake
        try:
            limit = int(params.get("limit", ["20"])[0])
        except ValueError:
            return "limit: Input should be a valid integer"
        if not 1 <= limit <= 1000:
            return "limit: Input should be between 1 and 1000"
        if fake.models_page_cap is not None:  # a server that sends fewer than asked, so pages must be followed
            limit = min(limit, fake.models_page_cap)
        models = fake.models
        ids = [m["id"] for m in models]
        after, before = params.get("after_id", [""])[0], params.get("before_id", [""])[0]
        if before:
            end = ids.index(before) if before in ids else 0
            start = max(0, end - limit)
            page, has_more = models[start:end], start > 0
        else:
            start = ids.index(after) + 1 if after in ids else (len(ids) if after else 0)
            page, has_more = models[start:start + limit], start + limit < len(models)
        return {"data": page, "has_more": has_more, "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None}

    # -- plain responses --------------------------------------------------------------------

    def _common_headers(self, request_id: str) -> None:
        self.send_header("request-id", request_id)
        self.send_header("anthropic-organization-id", ORGANIZATION_ID)

    def _send_json(
        self, status: int, payload: dict[str, Any], request_id: str, extra: dict[str, str] | None = None
    ) -> None:
        data = _dumps(payload).encode()
        try:
            self.send_response(status, _reason_phrase(status))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self._common_headers(request_id)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _send_error(
        self,
        status: int,
        error_type: str,
        message: str,
        request_id: str,
        *,
        retry_after: float | None = None,
        retry_after_ms: float | None = None,
        should_retry: bool | None = None,
    ) -> None:
        extra: dict[str, str] = {}
        if retry_after is not None:
            extra["retry-after"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            extra["retry-after-ms"] = f"{retry_after_ms:g}"
        if should_retry is not None:
            extra["x-should-retry"] = "true" if should_retry else "false"
        self._send_json(status, _error_body(error_type, message, request_id), request_id, extra)

    def _plain_message(self, script: Script, model: str, n: str, request_id: str) -> None:
        if isinstance(script, Cut):
            # Headers promise a body that never fully arrives.
            partial = _dumps({"id": f"msg_fake_{n}", "type": "message", "role": "assistant"}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(partial) * 10))
                self._common_headers(request_id)
                self.end_headers()
                self.wfile.write(partial)
            except OSError:
                pass
            self._close_now()
            return
        if isinstance(script, StreamError):
            status = ERROR_STATUS.get(script.error_type, 500)
            self._send_error(status, script.error_type, script.message, request_id)
            return
        assert isinstance(script, Reply)
        if script.delay > 0 and not self._pause(script.delay * len(script.chunks)):
            self.fake.client_gone.set()
            self._close_now()
            return
        message = _message_object(script, model, n)
        has_text = bool(script.chunks) or not (script.tools or script.stop_reason == "refusal")
        message["content"] = [{"type": "text", "text": script.text}] if has_text else []
        message["content"] += [{"type": "tool_use", "id": t.id, "name": t.name,
                                "input": t.input if t.cut is None else {}} for t in script.tools]
        message["stop_reason"] = _stop_reason(script)
        if script.stop_details is not None:
            message["stop_details"] = script.stop_details
        message["usage"]["output_tokens"] = _output_tokens(script)
        self._send_json(200, message, request_id)

    # -- streaming --------------------------------------------------------------------------

    def _stream_message(self, script: Script, model: str, n: str, request_id: str) -> None:
        assert isinstance(script, Reply | StreamError | Cut)
        reply = script if isinstance(script, Reply) else Reply(script.chunks, delay=script.delay)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self._common_headers(request_id)
            self.end_headers()
            self._write_event(
                "message_start", {"type": "message_start", "message": _message_object(reply, model, n)}
            )
            has_text = bool(reply.chunks) or not (reply.tools or reply.stop_reason == "refusal")
            if has_text:
                self._write_event(
                    "content_block_start",
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                )
            self._write_event("ping", {"type": "ping"})
            started = time.monotonic()
            for index, chunk in enumerate(reply.chunks):
                if reply.pace is not None:
                    wait = started + index * reply.pace - time.monotonic()
                    if wait > 0 and not self._pause(wait):
                        raise _ClientGone
                elif reply.delay > 0 and not self._pause(reply.delay):
                    raise _ClientGone
                self._write_event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": chunk},
                    },
                )
                self.fake._sent(chunk)
                if self.fake.on_chunk is not None:
                    self.fake.on_chunk(index, len(reply.chunks))
            if isinstance(script, Cut | StreamError) and script.after_delta:
                self._write_event("message_delta", _message_delta(replace(reply, output_tokens=script.output_tokens)))
            if isinstance(script, Cut):
                self._close_now()
                return
            if isinstance(script, StreamError):
                self._write_event("error", _error_body(script.error_type, script.message, None))
                self._write_chunk(b"")
                return
            if has_text:
                self._write_event("content_block_stop", {"type": "content_block_stop", "index": 0})
            for offset, tool in enumerate(reply.tools, start=1 if has_text else 0):
                self._write_event("content_block_start", {
                    "type": "content_block_start", "index": offset,
                    "content_block": {"type": "tool_use", "id": tool.id, "name": tool.name, "input": {}}})
                for piece in split_text(tool.json, tool.piece) if tool.json else []:
                    if reply.delay > 0 and not self._pause(reply.delay):
                        raise _ClientGone
                    self._write_event("content_block_delta", {
                        "type": "content_block_delta", "index": offset,
                        "delta": {"type": "input_json_delta", "partial_json": piece}})
                self._write_event("content_block_stop", {"type": "content_block_stop", "index": offset})
            self._write_event("message_delta", _message_delta(reply))
            self._write_event("message_stop", {"type": "message_stop"})
            self._write_chunk(b"")
            self._recorded.answered = time.monotonic()
        except (_ClientGone, OSError):
            if not self.fake._stopping.is_set():
                self.fake.client_gone.set()
            self._close_now()
            return
        self.fake._stream_completed()

    def _write_event(self, event: str, data: dict[str, Any]) -> None:
        self._write_chunk(_sse(event, data))

    def _write_chunk(self, data: bytes) -> None:
        """Write one HTTP/1.1 chunk (an empty one ends the body)."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # -- connection control -----------------------------------------------------------------

    def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; False as soon as the client closes or the server stops."""
        deadline = time.monotonic() + seconds
        stopping = self.fake._stopping
        while not stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            try:
                readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.05))
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return False
            except (OSError, ValueError):
                return False
            if readable:
                # Unexpected bytes from the client: just wait out the rest.
                return not stopping.wait(max(0.0, deadline - time.monotonic()))
        return False

    def _hang(self, seconds: float) -> None:
        self._pause(seconds)
        self._close_now()

    def _close_now(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


#: What Claude 4.6 and later models answer (400) to a request ending with an assistant message.
PREFILL_REFUSED = ("This model does not support assistant message prefill. The conversation must end with a user "
                   "message.")


def _blocks(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict) and b.get("type") == kind] if isinstance(content, list) else []


def _unpaired_tools(messages: list[dict[str, Any]]) -> str | None:
    """The API's complaint when a ``tool_use`` is not answered by a ``tool_result`` in the very next
    (user) message, or a ``tool_result`` answers no ``tool_use`` of the message before; else None."""
    for i, message in enumerate(messages):
        asked = [b.get("id") for b in _blocks(message, "tool_use")] if message.get("role") == "assistant" else []
        following = messages[i + 1] if i + 1 < len(messages) else {}
        answered = {b.get("tool_use_id") for b in _blocks(following, "tool_result")} \
            if following.get("role") == "user" else set()
        if missing := [str(tool_id) for tool_id in asked if tool_id not in answered]:
            return (f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
                    "in the next message.")
        if message.get("role") != "user":
            continue
        before = messages[i - 1] if i > 0 and messages[i - 1].get("role") == "assistant" else {}
        offered = {b.get("id") for b in _blocks(before, "tool_use")}
        answers = [(j, b.get("tool_use_id")) for j, b in enumerate(message["content"]) if isinstance(b, dict)
                   and b.get("type") == "tool_result"] if isinstance(message.get("content"), list) else []
        for j, tool_id in answers:
            if tool_id not in offered:
                return (f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{tool_id}. Each `tool_result` block must have a corresponding `tool_use` "
                        "block in the previous message.")
    return None


def _stop_reason(reply: Reply) -> str:
    return "tool_use" if reply.tools and reply.stop_reason == "end_turn" else reply.stop_reason


def _message_delta(reply: Reply) -> dict[str, Any]:
    """The ``message_delta`` event: the stop reason (with its details) and the output count."""
    delta: dict[str, Any] = {"stop_reason": _stop_reason(reply), "stop_sequence": None}
    if reply.stop_details is not None:
        delta["stop_details"] = reply.stop_details
    return {"type": "message_delta", "delta": delta, "usage": {"output_tokens": _output_tokens(reply)}}


def _output_tokens(reply: Reply) -> int:
    return reply.output_tokens if reply.output_tokens is not None else len(reply.chunks)


def _message_object(reply: Reply, model: str, n: str) -> dict[str, Any]:
    """The message object as sent in ``message_start``."""
    return {
        "id": f"msg_fake_{n}",
        "type": "message",
        "role": "assistant",
        "model": reply.model or model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": reply.input_tokens,
            "cache_creation_input_tokens": reply.cache_creation_input_tokens,
            "cache_read_input_tokens": reply.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": reply.cache_creation_input_tokens,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": 1,
            "service_tier": "standard",
        },
    }


# --------------------------------------------------------------------------------------------
# Public server


class FakeAnthropic:
    """A fake Anthropic API on a local port; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.client_gone = threading.Event()
        self.completed_streams = 0
        self.default_reply: Callable[[dict[str, Any]], Reply] = demo_reply
        #: Called (on the server's thread) with each message request's body before it is answered.
        self.on_message: Callable[[dict[str, Any]], None] | None = None
        #: The text deltas written so far, over every stream (what a client could have seen).
        self.sent_text = ""
        #: Called (on the server's thread) after each text delta is written: (index, how many).
        self.on_chunk: Callable[[int, int], None] | None = None
        #: What GET /v1/models lists, in order (newest first, as the real API).
        self.models: list[dict[str, Any]] = [dict(model) for model in MODELS]
        #: Models GET /v1/models/{id} finds but the list leaves out (such as deprecated ones).
        self.unlisted_models: list[dict[str, Any]] = []
        #: When set, GET /v1/models and /v1/models/{id} answer with this error (e.g. a 404 from a
        #: local server that has no model list).
        self.models_error: HttpError | None = None
        self.model_lookup_error: HttpError | None = None  # GET /v1/models/{id} only
        #: When set, a page of the model list holds at most this many, whatever limit was asked.
        self.models_page_cap: int | None = None
        self.server_errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._scripts: collections.deque[Script] = collections.deque()
        self._routes: list[tuple[Callable[[dict[str, Any]], bool], collections.deque[Script]]] = []
        self._counter = 0
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running server."""
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Bind and serve in a background thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def queue(self, *scripts: Script) -> None:
        """Queue scripts; each answers one ``POST /v1/messages``, in order."""
        with self._lock:
            self._scripts.extend(scripts)

    def route(self, matches: Callable[[dict[str, Any]], bool], *scripts: Script) -> None:
        """Answer requests whose body ``matches`` with ``scripts``, in order, whatever order they
        arrive in among other requests (agents running at the same time); routes are tried in the
        order they were added, before the queue, and one whose scripts are used up is passed over."""
        with self._lock:
            self._routes.append((matches, collections.deque(scripts)))

    @property
    def pending(self) -> int:
        """How many queued (and routed) scripts are still unused."""
        with self._lock:
            return len(self._scripts) + sum(len(scripts) for _, scripts in self._routes)

    def message_requests(self) -> list[RecordedRequest]:
        """Every ``POST /v1/messages`` received so far."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``n`` message requests arrived; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [r for r in self.requests if r.method == "POST" and r.path == "/v1/messages"]
                if len(found) >= n:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {n} message requests, got {len(found)} in {timeout}s")
                self._arrived.wait(remaining)

    # -- used by the handler ----------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> str:
        with self._arrived:
            self._counter += 1
            self.requests.append(request)
            self._arrived.notify_all()
            return f"req_fake_{self._counter}"

    def _next_script(self, body: dict[str, Any]) -> Script:
        with self._lock:
            for matches, scripts in self._routes:
                if scripts and matches(body):
                    return scripts.popleft()
            if self._scripts:
                return self._scripts.popleft()
        return self.default_reply(body)

    def _sent(self, chunk: str) -> None:
        with self._lock:
            self.sent_text += chunk

    def _stream_completed(self) -> None:
        with self._lock:
            self.completed_streams += 1

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def model_info(model_id: str, display_name: str = "") -> dict[str, Any]:
    """An entry of the model list, shaped like the real API's."""
    return {**MODELS[0], "id": model_id, "display_name": display_name or model_id}


def review_demo(delay: float = 0.0) -> list[Reply]:
    """A review that uses the tools: find the Python files, read app/models.py, fix its SQL."""
    old = 'orders = db.query("SELECT * FROM orders WHERE user_id = %s" % user_id)'
    new = 'orders = db.query("SELECT * FROM orders WHERE user_id = %s", (user_id,))'
    return [
        Reply(split_text("Let me look at the code first. ", 6), delay=delay,
              tools=[ToolUse("toolu_demo_glob", "Glob", {"pattern": "**/*.py"}),
                     ToolUse("toolu_demo_read", "Read", {"path": "app/models.py"})]),
        Reply(split_text("`load_orders` builds its SQL with `%`: an injection risk. I will parameterise it. ", 6),
              delay=delay, tools=[ToolUse("toolu_demo_edit", "Edit",
                                          {"path": "app/models.py", "old_string": old, "new_string": new})]),
        Reply(split_text("## Review\n\n1. **Fixed**: the query in app/models.py:13 is parameterised now.\n"
                         "2. **Next**: the loop at app/models.py:15 is an N+1; load the lines with one JOIN.\n", 6),
              delay=delay),
    ]


def many_tools(n: int, path: str = "app/models.py", name: str = "Read", delay: float = 0.0) -> Reply:
    """A reply that asks for ``n`` tool calls in one round (``n`` Reads of ``path`` by default)."""
    return Reply([f"Reading {path} {n} times."], delay=delay,
                 tools=[ToolUse(f"toolu_many_{i}", name, {"path": path}, piece=64) for i in range(n)])


def scripted_fault(name: str, delay: float = 0.0) -> Script | None:
    """The faults of ``--faults`` that take a number: ``many-tools:N`` (a reply with N Read calls)
    and ``retry-after:S`` (a 429 asking for S seconds); None for any other name."""
    kind, _, number = name.partition(":")
    if not number.isdigit():
        return None
    if kind == "many-tools":
        return many_tools(int(number), delay=delay)
    if kind == "retry-after":
        return HttpError(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
                         retry_after=int(number))
    return None


def main(argv: list[str] | None = None) -> None:
    """Serve the demo reply in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Run the fake Anthropic API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--delay", type=float, default=0.03, help="seconds before each streamed chunk")
    parser.add_argument("--review-demo", action="store_true",
                        help="answer the first question with a scripted review: Glob, Read app/models.py, "
                             "then an Edit that parameterises its SQL (for trying the tools by hand)")
    parser.add_argument("--models", default="", metavar="IDS",
                        help="list these model ids (comma-separated) at GET /v1/models instead of the default two")
    parser.add_argument("--no-models", action="store_true",
                        help="answer GET /v1/models with 404, as a local server without a model list does")
    parser.add_argument("--faults", default="", metavar="LIST",
                        help="answer the first requests with these faults, in order, e.g. 529,529 or "
                             "429,cut,stream-error,hang,401,500,too-long,refusal,refusal-partial,max-tokens,"
                             "max-tokens-tool, many-tools:N, retry-after:S "
                             "(for trying failures and stop reasons by hand; a cut reply's "
                             "continuation gets its rest; max-tokens-tool is cut in the middle of a Write call)")
    args = parser.parse_args(argv)
    delay: float = args.delay
    fake = FakeAnthropic(args.host, args.port)
    fake.default_reply = lambda body: replace(demo_reply(body), delay=delay)
    if args.review_demo:
        fake.queue(*review_demo(delay))
    if args.models:
        fake.models = [model_info(model_id) for model_id in args.models.split(",") if model_id]
    if args.no_models:
        fake.models_error = HttpError(404, "not_found_error", "Not Found")
    half = split_text("Here is the first half of an answer that will not finish because ", 6)
    faults: dict[str, Script] = {
        "529": HttpError(529, "overloaded_error", "Overloaded", retry_after=3),
        "429": HttpError(429, "rate_limit_error", "Number of requests has exceeded your rate limit", retry_after=5),
        "500": HttpError(500, "api_error", "Internal server error"),
        "401": HttpError(401, "authentication_error", "invalid x-api-key"),
        "too-long": HttpError(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
        "cut": Cut(half, delay=delay),
        "stream-error": StreamError(half, delay=delay),
        "hang": Hang(30.0),
        "refusal": Reply.refusal(delay=delay, explanation="This request was declined because it could enable "
                                 "cyber harm."),
        "refusal-partial": Reply.refusal("Here is how the exploit would start: first you ", delay=delay),
        "max-tokens": Reply.of(CUT_DEMO, size=6, delay=delay, stop_reason="max_tokens", output_tokens=64),
        "max-tokens-tool": Reply.of("I will put the paging helper in its own module. ", size=6, delay=delay,
                                    stop_reason="max_tokens", output_tokens=64,
                                    tools=[ToolUse("toolu_demo_cut", "Write", {"path": "app/paging.py",
                                                                               "content": CUT_DEMO_REST}, cut=90)]),
    }
    for name in filter(None, args.faults.split(",")):
        script = faults.get(name) or scripted_fault(name, delay)
        if script is None:
            parser.error(f"unknown fault {name!r}; choose from {', '.join(faults)}, many-tools:N, retry-after:S")
        fake.queue(script)
    with fake:
        print(fake.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
