"""The rules of the delivery queue every backend shares: per channel, in order; a correction
of a posted alert is an edit and a note."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from bot.storage.rows import DeliveryAction, PendingDelivery


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


def actions_for(channels: Iterable[str], target_posted: Collection[str]) -> list[tuple[str, DeliveryAction]]:
    """The deliveries an event makes, in send order: in a channel where the alert it corrects
    was posted, an edit of that alert and then a note; elsewhere, a post."""
    planned: list[tuple[str, DeliveryAction]] = []
    for channel in channels:
        if channel in target_posted:
            planned += [(channel, DeliveryAction.EDIT), (channel, DeliveryAction.NOTE)]
        else:
            planned.append((channel, DeliveryAction.POST))
    return planned
