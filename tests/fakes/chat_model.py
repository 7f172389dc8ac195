"""A local OpenAI-compatible chat-completions server on 127.0.0.1, for model summaries.

`POST /v1/chat/completions` answers the way llama.cpp's server, Ollama and hosted endpoints
do: `{"id", "object": "chat.completion", "model", "choices": [{"index": 0, "message":
{"role": "assistant", "content": ...}, "finish_reason": "stop"}], "usage": {...}}`; a wrong or
missing key (when one is set) is a 401 with an `error` object. Tests choose the next answers
(`answer`, `fail`, `garbage`, `hang`) and read `requests`: every request's JSON body and
headers, so a test can count calls and see what was sent. A hung request waits on an event
that `close()` sets, never on the wall clock: the client's timeout is what ends it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Request:
    body: Any
    headers: dict[str, str]

    @property
    def user_text(self) -> str:
        """The last user message's text."""
        users = [m.get("content", "") for m in self.body.get("messages", []) if m.get("role") == "user"]
        return users[-1] if users else ""


class FakeChatModel:
    """`async with FakeChatModel(key="k") as model:`; `model.base_url` is the URL to configure."""

    def __init__(self, *, key: str | None = None, model: str = "fake-model") -> None:
        self.key = key
        self.model = model
        self.requests: list[Request] = []
        self.base_url = ""
        self._plan: deque[tuple[str, Any]] = deque()  # what the next requests get; then `default`
        self.default: tuple[str, Any] = ("answer", "The update adds that something happened.")
        self._ids = itertools.count(1)
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeChatModel:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what the next requests get ------------------------------------------------------

    def answer(self, content: Any) -> None:
        """The next request is answered with `content` as the message (any JSON value)."""
        self._plan.append(("answer", content))

    def fail(self, status: int = 500) -> None:
        self._plan.append(("fail", status))

    def garbage(self, body: bytes = b"<html>not json at all") -> None:
        """The next request gets HTTP 200 with `body`, which is not a chat completion."""
        self._plan.append(("garbage", body))

    def hang(self) -> None:
        """The next request is never answered (until the server closes)."""
        self._plan.append(("hang", None))

    # --- the endpoint ----------------------------------------------------------------------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            return _json({"error": {"message": "invalid JSON", "type": "invalid_request_error"}}, 400)
        self.requests.append(Request(body, dict(request.headers)))
        if self.key is not None and request.headers.get("Authorization") != f"Bearer {self.key}":
            return _json({"error": {"message": "Incorrect API key provided", "type": "invalid_api_key"}}, 401)
        kind, value = self._plan.popleft() if self._plan else self.default
        if kind == "hang":
            await self._released.wait()
            return web.Response(status=503)
        if kind == "fail":
            return _json({"error": {"message": "model crashed", "type": "server_error"}}, value)
        if kind == "garbage":
            return web.Response(body=value, content_type="application/json")
        return _json(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": 1668173760,
                "model": body.get("model") or self.model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": value}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        )


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")
