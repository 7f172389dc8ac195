"""The one ordering rule of the delivery queue, shared by every backend: per channel, in order."""

from __future__ import annotations

from collections.abc import Iterable

from bot.storage.rows import PendingDelivery


def due_in_order(
    candidates: Iterable[tuple[PendingDelivery, bool, bool]], limit: int
) -> list[PendingDelivery]:
    """From (delivery, claimed, due) in alert order, the deliveries that may go now: a channel
    stops at its first delivery that is claimed (in flight or unreconciled) or not yet due, so
    no later alert overtakes it."""
    blocked: set[str] = set()
    chosen: list[PendingDelivery] = []
    for delivery, claimed, due in candidates:
        if delivery.channel in blocked:
            continue
        if claimed or not due:
            blocked.add(delivery.channel)
            continue
        chosen.append(delivery)
        if len(chosen) >= limit:
            break
    return chosen
