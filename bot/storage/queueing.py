"""The rules of the delivery queue every backend shares: per channel, in order; a correction
of a posted alert is an edit and a note."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from bot.storage.rows import DeliveryAction, EventRecord, PendingDelivery


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
    """The deliveries an event makes, in send order. `channels` want the event (its routes'
    kinds and excludes took it, no mute holds it): each gets a post, or, where the alert it
    corrects was posted, an edit of that alert and then a note. Every other channel where that
    alert was posted gets the edit alone: a message in a channel must read right whatever the
    channel's filters say of the correction itself."""
    planned: list[tuple[str, DeliveryAction]] = []
    wanting = list(dict.fromkeys(channels))
    for channel in wanting:
        if channel in target_posted:
            planned += [(channel, DeliveryAction.EDIT), (channel, DeliveryAction.NOTE)]
        else:
            planned.append((channel, DeliveryAction.POST))
    planned += [(channel, DeliveryAction.EDIT) for channel in sorted(set(target_posted) - set(wanting))]
    return planned


# Of a muted story's deliveries to the muting channel, the ones a mute drops (a WHERE clause
# both backends share): never tried (a claimed one may have landed), and not an edit (editing
# an alert already in the channel corrects it quietly; it is no new alert).
MUTED_DROP = "status = 'pending' AND claimed_at IS NULL AND action != 'edit'"


def deliveries_for(
    event: EventRecord, target_posted: Collection[str], muted: Collection[str]
) -> tuple[list[tuple[str, DeliveryAction]], list[tuple[str, float]]]:
    """What an event queues: its deliveries now (`actions_for`) and the digests it joins
    (channel, period). A channel with a mute of the story running gets neither: the store's
    mutes decide at record time, whatever the poller's config held (a worker's may be a tick old)."""
    now = actions_for([channel for channel in event.channels if channel not in muted], target_posted)
    return now, [(channel, period) for channel, period in event.held if channel not in muted]


def catch_up_routes(
    added: Iterable[tuple[str, str]], catch_up: Collection[tuple[str, str]] | None
) -> list[tuple[str, str]]:
    """Of the routes a catalog sync added, those that may get a catch-up: all of them, or
    only those named in `catch_up` when it is given (see `StoryCatalog.sync_stories`)."""
    named = None if catch_up is None else set(catch_up)
    return [route for route in added if named is None or route in named]
