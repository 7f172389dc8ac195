"""The seams the core calls out through. Adapters implement them; the core never imports one.

An adapter that posts alerts implements `AlertSender`. It reports failure by raising
`DeliveryError`, saying whether a retry can help and how long the platform asked us to wait.
Each send carries a delivery key, and `find_sent` looks for it on the platform: a send cut
short by a crash is found there instead of being sent twice. `edit_alert` rewrites an alert
already posted, when a correction changes what it said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.models import Alert, Notice


class DeliveryError(Exception):
    """A post that did not happen.

    permanent: retrying cannot help (unknown channel, no permission, invalid payload).
    retry_after: seconds the platform asked us to wait (a 429), when it said so.
    """

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Posted:
    """Where a delivered alert landed: the platform's message id, and the thread it opened
    or joined (so later updates of the story can follow it)."""

    message_id: str
    thread_id: str | None = None


@runtime_checkable
class AlertSender(Protocol):
    """Posts one alert to one channel of one platform, finds a post it made before, and edits
    one it made (a correction)."""

    platform: str

    async def send_alert(
        self, channel: str, alert: Alert | Notice, thread_id: str | None, *, key: str | None = None
    ) -> Posted:
        """Post `alert` to `channel`, inside `thread_id` when given. Raise DeliveryError. A
        Notice (to the admins, never threaded) is rendered as the platform's notice form.

        `key` (at most 25 characters) names the delivery; the post carries it where
        `find_sent` can read it back, and where the platform can refuse a repeat, it does."""
        ...

    async def find_sent(
        self, channel: str, key: str, thread_id: str | None, since: datetime
    ) -> Posted | None:
        """The post carrying `key` made in `channel` (or in `thread_id`) since `since`, or None
        when there is none, or when this platform keeps nothing to look in (then a resend may
        repeat a post). Raise DeliveryError when the platform cannot be asked now, with
        permanent=True when it never can (a missing permission)."""
        ...

    async def edit_alert(
        self, channel: str, message_id: str, alert: Alert, *, thread_id: str | None = None
    ) -> None:
        """Replace the alert posted as `message_id` in `channel` (in `thread_id`, when it was
        posted there) with `alert`, which carries `corrected_at`. Editing twice to the same
        content shows the same message, so a retry needs no key. Raise DeliveryError, with
        permanent=True when the message is gone (or may no longer be edited)."""
        ...


@runtime_checkable
class Platform(AlertSender, Protocol):
    """A connected chat platform: the app starts it, routes alerts to it, and closes it."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class StartError(Exception):
    """A platform cannot start (rejected credentials, unreachable API), or /metrics cannot
    listen (its port taken). The CLI exits non-zero."""
