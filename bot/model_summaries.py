"""Optional model summaries: what a new update adds, in one or two sentences, from a model.

Extractive summaries (bot/summarize.py) are the default and need nothing. With `[summaries]`
configured and its URL variable set, a new update's summary is asked of an OpenAI-compatible
chat-completions endpoint (a local llama.cpp or Ollama server, or a hosted one): the new
section's text, with the previous section's summary as context, so the answer says only what
the update adds. Anything short of a clean answer within the timeout (a 5xx, a hang, a
refusal, junk) keeps the extractive summary: a model can make an alert better, never later
or missing.

The call goes through the fetcher's client, so the address policy holds here too: a model
server on loopback or the local network must be allowed (`[storybot] allow_hosts`). The key
comes from the environment and is sent only as the Authorization header; nothing logged
shows it. The answer is stored with the event (bot/pipeline.py asks before it records), so a
re-poll, a delivery retry or a restart never asks again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.config import SummariesConfig
from bot.models import Section
from bot.redact import display_url
from bot.summarize import first_sentences
from bot.textfmt import format_time

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024  # a chat answer of one or two sentences is a few hundred bytes
MAX_RAW_CHARS = 2000  # an answer longer than this is rambling or junk, not a summary to cut
MAX_SECTION_CHARS = 6000  # of the new section sent; the lead of an update carries its news
SYSTEM_PROMPT = (
    "You summarise updates to news stories for a chat alert. Reply with one or two plain "
    "sentences saying only what the new update adds to the story. Use only facts in the "
    "update. No preamble, no markdown, no quotation marks."
)
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LABEL = re.compile(r"^(?:summary|update|answer)\s*:\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’`"
_REFUSALS = (
    "i'm sorry",
    "i am sorry",
    "sorry,",
    "i cannot",
    "i can't",
    "i can not",
    "i'm unable",
    "i am unable",
    "i'm not able",
    "as an ai",
    "as a language model",
    "i don't have",
    "there is no new",
)
_JUNK_STARTS = ("{", "[", "```", "<", "http://", "https://")


@dataclass(frozen=True, slots=True)
class ModelEndpoint:
    """Where and how to ask. `key` never appears in repr or logs."""

    url: str  # the full chat-completions URL
    model: str
    key: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    max_chars: int = 280


def endpoint_from(config: SummariesConfig | None, environ: Mapping[str, str]) -> ModelEndpoint | None:
    """The endpoint `[summaries]` names, or None (extractive) when it is absent or its URL
    variable is unset. A base URL ending in /v1 is taken as the API root, as clients do."""
    if config is None:
        return None
    base = environ.get(config.url_env, "").strip()
    if not base:
        log.warning("summaries: %s is not set; alerts use extractive summaries", config.url_env)
        return None
    model = (environ.get(config.model_env, "").strip() if config.model_env else "") or config.model
    key = environ.get(config.key_env, "").strip() if config.key_env else ""
    root = base.rstrip("/").removesuffix("/v1")
    return ModelEndpoint(f"{root}/v1/chat/completions", model, key or None, config.timeout, config.max_chars)


class ModelSummarizer:
    """Asks the endpoint for a new update's summary over the shared (policy-checked) client."""

    def __init__(self, client: httpx.AsyncClient, endpoint: ModelEndpoint):
        self.client = client
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"ModelSummarizer({display_url(self.endpoint.url)}, model={self.endpoint.model!r})"

    async def summarize_update(self, title: str, section: Section, previous: str) -> str | None:
        """One or two sentences on what `section` adds to a story whose previous section said
        `previous`; None when the model gave no usable answer in time (the caller keeps the
        extractive summary). Never raises for the endpoint's failures."""
        where = display_url(self.endpoint.url)
        try:
            async with asyncio.timeout(self.endpoint.timeout):
                answer = await self._ask(_messages(title, section, previous))
        except TimeoutError:
            log.warning(
                "summaries: %s gave no answer within %gs; extractive summary kept",
                where,
                self.endpoint.timeout,
            )
            return None
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as err:
            log.warning("summaries: %s failed (%s); extractive summary kept", where, self._reason(err))
            return None
        summary = clean(answer, self.endpoint.max_chars)
        if summary is None:
            log.warning(
                "summaries: %s answered something that is not a summary; extractive summary kept", where
            )
        return summary

    def _reason(self, err: Exception) -> str:
        """A failure in a few words: the URL shown as links are, the key never."""
        text = str(err).replace(self.endpoint.url, display_url(self.endpoint.url))
        if self.endpoint.key:
            text = text.replace(self.endpoint.key, "***")
        if isinstance(err, httpx.HTTPError) or not text:
            text = type(err).__name__ + (f": {text}" if text else "")
        return text[:200]

    async def _ask(self, messages: list[dict[str, str]]) -> Any:
        """POST the chat request; the answer's text (or whatever stands in its place)."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.endpoint.key:
            headers["Authorization"] = f"Bearer {self.endpoint.key}"
        payload = {
            "model": self.endpoint.model,
            "messages": messages,
            "temperature": 0.2,
            "max_tokens": 200,
            "stream": False,
        }
        request = self.client.build_request(
            "POST", self.endpoint.url, content=json.dumps(payload).encode(), headers=headers
        )
        response = await self.client.send(request, stream=True, follow_redirects=False)
        try:
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise ValueError(f"answer over {MAX_ANSWER_BYTES} bytes")
        finally:
            await response.aclose()
        data = json.loads(bytes(body))  # ValueError when it is not JSON
        try:
            return data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ValueError("no choices[0].message.content in the answer") from None


def _messages(title: str, section: Section, previous: str) -> list[dict[str, str]]:
    body = section.body[:MAX_SECTION_CHARS]
    context = f"Before this update, the story said: {previous}\n\n" if previous else ""
    when = f" ({format_time(section.timestamp)})" if section.timestamp else ""
    user = f"Story: {title}\n\n{context}New {section.label.lower()}{when}:\n{body}\n\nWhat does it add?"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def clean(answer: Any, limit: int) -> str | None:
    """The model's answer as a summary, or None when it is none: not text, empty, too long
    to be one, a refusal, code or markup. Reasoning blocks (`<think>`), wrapping quotes and a
    leading "Summary:" are removed; the rest is cut to the leading sentences that fit `limit`.
    The text is still raw story-like text: renderers escape it like any other."""
    if not isinstance(answer, str):
        return None
    text = _CONTROL.sub(" ", _THINKING.sub(" ", answer))
    text = _LABEL.sub("", " ".join(text.split()))
    if text.startswith(_JUNK_STARTS) or "```" in text or "<|" in text:
        return None  # code, JSON, markup or a chat template's tokens: not prose
    text = text.strip(_QUOTES + " ")
    if not text or len(text) > MAX_RAW_CHARS or sum(c.isalpha() for c in text) < 10:
        return None
    if text.casefold().startswith(_REFUSALS):
        return None
    return first_sentences(text, limit) or None
