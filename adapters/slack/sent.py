"""Finding an alert Slack already holds, by the delivery key its message metadata carries.

Every alert goes out with message metadata `{"event_type": "storybot_alert", "event_payload":
{"delivery": KEY}}`; it is invisible in the channel. After a crash between a post and its
record, conversations.history (and conversations.replies for a thread) read back from a little
before the first attempt, with `include_all_metadata`, tells whether the post was made. Reading
history needs the `channels:history` scope (`groups:history` for private channels).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import error_code

log = logging.getLogger(__name__)

EVENT_TYPE = "storybot_alert"
PAGE = 200  # Slack's advice for history pages
MAX_PAGES = 10  # 2,000 messages since the first attempt; a busier channel is not searched further


def metadata_for(key: str) -> dict[str, Any]:
    """What chat.postMessage's `metadata` carries for the delivery `key`."""
    return {"event_type": EVENT_TYPE, "event_payload": {"delivery": key}}


def carries_key(message: dict[str, Any], key: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == EVENT_TYPE and payload.get("delivery") == key


async def find_post(
    client: AsyncWebClient, channel: str, key: str, since: datetime, thread: str | None
) -> tuple[str, str | None] | None:
    """(ts, thread it is in) of the message carrying `key`, posted since `since`: in `thread`
    first when given, then at the channel's top level. Raises SlackApiError."""
    oldest = f"{since.timestamp():.6f}"
    if thread is not None:
        try:
            ts = await _search(client, "conversations_replies", channel, key, oldest, ts=thread)
        except SlackApiError as err:
            if error_code(err) != "thread_not_found":
                raise
            ts = None  # the thread is gone; the send went to the channel instead
        if ts is not None:
            return ts, thread
    ts = await _search(client, "conversations_history", channel, key, oldest)
    return (ts, None) if ts is not None else None


async def _search(
    client: AsyncWebClient, method: str, channel: str, key: str, oldest: str, **extra: str
) -> str | None:
    call = getattr(client, method)
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        response = await call(
            channel=channel, oldest=oldest, include_all_metadata=True, limit=PAGE, cursor=cursor, **extra
        )
        for message in response.get("messages") or []:
            if carries_key(message, key):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return None
    log.warning(
        "slack: %s holds more than %d messages since %s; stopped looking", channel, PAGE * MAX_PAGES, oldest
    )
    return None
