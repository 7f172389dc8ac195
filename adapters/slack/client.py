"""The Web API edge: the AsyncWebClient storybot uses, its retry policy, and what Slack's
errors mean for a delivery.

Short waits are honoured in place (a 429 that asks for a second or two, a blip of 5xx);
anything longer goes back to the dispatcher as a DeliveryError, which records it and tries
again later without holding a worker. chat.postMessage's 429 always goes back: its limit is
per channel (about one message a second), and a send waiting in place would hold one of the
dispatcher's few sending slots, so eight channels waiting out their second would stall all
the others; the dispatcher instead retries that channel when Retry-After says, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.ports import DeliveryError, StartError

SLACK_API = "https://slack.com/api/"
Sleep = Callable[[float], Awaitable[Any]]

# Methods limited per channel: their 429s go back to the dispatcher (see the module docstring).
PER_CHANNEL_LIMITED = ("/chat.postMessage",)

# Slack answers these with HTTP 200 and ok=false when trying again later can help.
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}


class SlackStartError(StartError):
    """Slack cannot be used: a token it rejects, an API it cannot reach, a port it cannot bind.
    The CLI prints the message and exits non-zero."""


class _SleepsThrough:
    """Mixin: retry waits go through an injected `sleep`, so tests need no wall clock."""

    sleep: Sleep

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        await self.sleep(self.wait(state, response))
        state.increment_current_attempt()

    def wait(self, state: RetryState, response: HttpResponse | None) -> float:
        calculator: BackoffRetryIntervalCalculator = self.interval_calculator  # type: ignore[attr-defined]
        return calculator.calculate_sleep_duration(state.current_attempt)


class ShortRateLimitRetry(_SleepsThrough, AsyncRateLimitErrorRetryHandler):
    """Waits out a 429 in place when its Retry-After is at most `max_wait` seconds."""

    def __init__(self, *, max_wait: float = 5.0, max_retry_count: int = 3, sleep: Sleep = asyncio.sleep):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self.sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429 or request.url.endswith(PER_CHANNEL_LIMITED):
            return False
        return retry_after_of(response.headers) <= self.max_wait

    def wait(self, state: RetryState, response: HttpResponse | None) -> float:
        return retry_after_of(response.headers if response else {})


class ServerErrorRetry(_SleepsThrough, AsyncServerErrorRetryHandler):
    """Retries any 5xx (slack_sdk's own handler knows only 500 and 503) with backoff."""

    def __init__(self, *, max_retry_count: int = 2, sleep: Sleep = asyncio.sleep):
        super().__init__(max_retry_count, BackoffRetryIntervalCalculator(backoff_factor=0.5))
        self.sleep = sleep

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


class ConnectionRetry(_SleepsThrough, AsyncConnectionErrorRetryHandler):
    """slack_sdk's retry on a reset connection, waiting through the injected sleep."""

    def __init__(self, *, sleep: Sleep = asyncio.sleep):
        super().__init__(1, BackoffRetryIntervalCalculator(backoff_factor=0.5))
        self.sleep = sleep


def retry_handlers(*, max_wait: float = 5.0, sleep: Sleep = asyncio.sleep) -> list[AsyncRetryHandler]:
    return [
        ShortRateLimitRetry(max_wait=max_wait, sleep=sleep),
        ServerErrorRetry(sleep=sleep),
        ConnectionRetry(sleep=sleep),
    ]


def make_client(
    token: str, api_url: str | None = None, *, max_wait: float = 5.0, sleep: Sleep = asyncio.sleep
) -> AsyncWebClient:
    """The bot's Web API client. bolt copies its base_url and retry handlers into every
    client it makes per request, so say()/respond() follow the same policy."""
    return AsyncWebClient(
        token=token,
        base_url=api_url or SLACK_API,
        timeout=30,
        retry_handlers=retry_handlers(max_wait=max_wait, sleep=sleep),
    )


def retry_after_of(headers: Any) -> float:
    """Seconds from a Retry-After header (slack_sdk gives header values as lists); 1 if absent."""
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return 1.0
    return 1.0


def error_code(err: SlackApiError) -> str:
    """Slack's error string ('channel_not_found'), or 'http_<status>' when the body had none."""
    data = getattr(err.response, "data", None)
    if isinstance(data, dict) and data.get("error"):
        return str(data["error"])
    return f"http_{getattr(err.response, 'status_code', 0)}"


def delivery_error(err: SlackApiError, channel: str) -> DeliveryError:
    """What a failed chat.postMessage means for the dispatcher."""
    code = error_code(err)
    status = getattr(err.response, "status_code", 0)
    if status == 429 or code == "ratelimited":
        wait = retry_after_of(err.response.headers)
        return DeliveryError(f"slack {channel}: rate limited", retry_after=wait)
    if status >= 500 or code in TRANSIENT_ERRORS:
        return DeliveryError(f"slack {channel}: {code}")
    return DeliveryError(f"slack {channel}: {code}", permanent=True)


async def who_am_i(client: AsyncWebClient, token_env: str) -> dict[str, Any]:
    """auth.test: the workspace and bot user the token belongs to, or SlackStartError."""
    try:
        response = await client.auth_test()
    except SlackApiError as err:
        raise SlackStartError(f"Slack rejected {token_env} ({error_code(err)})") from None
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SlackStartError(f"cannot reach Slack at {client.base_url}: {err}") from None
    return dict(response.data) if isinstance(response.data, dict) else {}


async def socket_url(client: AsyncWebClient, app_token: str, token_env: str) -> str:
    """apps.connections.open: a fresh Socket Mode websocket URL, or SlackStartError."""
    try:
        response = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as err:
        raise SlackStartError(f"Slack rejected {token_env} ({error_code(err)})") from None
    except (aiohttp.ClientError, TimeoutError) as err:
        raise SlackStartError(f"cannot reach Slack at {client.base_url}: {err}") from None
    return str(response["url"])
