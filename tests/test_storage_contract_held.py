"""The storage contract's held stories and routes (bot.storage.contract.HeldRoutes), checked on
every backend (the `store` fixture runs each test on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.storage import HeldStory, Mute, Store, Subscription, Validators

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def chat_story(story_id: str, **extra: object) -> HeldStory:
    fields: dict[str, object] = {
        "url": f"https://news.example/{story_id}",
        "title": f"The {story_id} story",
        "aliases": ("first alias", "ünïcode"),
        "added_by": "slack:U1",
        "added_at": T0,
    }
    fields.update(extra)
    return HeldStory(story_id, **fields)  # type: ignore[arg-type]


async def test_a_held_story_round_trips_every_field(store: Store) -> None:
    story = chat_story("kherson", origin="feed:ap", expires_at=T0 + HOUR, interval=60.0)
    assert await store.add_held_story(story) is True
    assert (await store.held()).stories == (story,)


async def test_a_second_story_with_the_same_id_is_refused_and_writes_nothing(store: Store) -> None:
    assert await store.add_held_story(chat_story("kherson"))
    assert await store.add_held_story(chat_story("kherson", url="https://other.example/x")) is False
    (kept,) = (await store.held()).stories
    assert kept.url == "https://news.example/kherson"


async def test_added_at_is_stamped_when_not_given(store: Store) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    await store.add_held_story(HeldStory("local", path="local.txt"))
    await store.add_subscription(Subscription("slack:C1", story_id="local"))
    held = await store.held()
    assert held.stories[0].added_at is not None and held.stories[0].added_at >= before
    assert held.stories[0].url is None and held.stories[0].path == "local.txt"
    assert held.subscriptions[0].added_at is not None and held.subscriptions[0].added_at >= before


async def test_stories_come_back_in_the_order_added(store: Store) -> None:
    for n, story_id in enumerate(["zeta", "alpha", "mid"]):
        await store.add_held_story(chat_story(story_id, added_at=T0 + n * HOUR))
    assert [s.id for s in (await store.held()).stories] == ["zeta", "alpha", "mid"]


async def test_removing_a_story_takes_its_subscriptions_and_mutes_only(store: Store) -> None:
    await store.add_held_story(chat_story("kherson"))
    await store.add_held_story(chat_story("bakhmut"))
    await store.add_subscription(Subscription("slack:C1", story_id="kherson", added_at=T0))
    await store.add_subscription(Subscription("slack:C1", story_id="bakhmut", added_at=T0 + HOUR))
    await store.add_subscription(Subscription("slack:C2", keywords=("ukraine",), added_at=T0))
    await store.set_mute(Mute("kherson", "slack:C1"))
    await store.set_mute(Mute("bakhmut", "slack:C1"))
    assert await store.remove_held_story("kherson") is True
    assert await store.remove_held_story("kherson") is False
    held = await store.held()
    assert [s.id for s in held.stories] == ["bakhmut"]
    assert [(s.channel, s.story_id, s.keywords) for s in held.subscriptions] == [
        ("slack:C2", "", ("ukraine",)),
        ("slack:C1", "bakhmut", ()),
    ]
    assert [m.story_id for m in held.mutes] == ["bakhmut"]


async def test_expired_stories_go_with_their_routes_and_the_rest_stay(store: Store) -> None:
    await store.add_held_story(chat_story("old", origin="feed:ap", expires_at=T0))
    await store.add_held_story(chat_story("older", origin="feed:ap", expires_at=T0 - HOUR))
    await store.add_held_story(chat_story("fresh", origin="feed:ap", expires_at=T0 + HOUR))
    await store.add_held_story(chat_story("forever"))
    await store.add_subscription(Subscription("discord:9", story_id="old"))
    assert await store.remove_expired_stories(T0) == ["old", "older"]
    held = await store.held()
    assert sorted(s.id for s in held.stories) == ["forever", "fresh"]
    assert held.subscriptions == ()
    assert await store.remove_expired_stories(T0) == []


async def test_a_subscription_is_added_once(store: Store) -> None:
    sub = Subscription("slack:C1", story_id="kherson", added_by="slack:U1", added_at=T0)
    assert await store.add_subscription(sub) is True
    assert await store.add_subscription(sub) is False
    assert (await store.held()).subscriptions == (sub,)


async def test_a_subscriptions_digest_round_trips_and_a_second_subscribe_changes_only_it(
    store: Store,
) -> None:
    sub = Subscription("slack:C1", story_id="kherson", added_by="slack:U1", added_at=T0, digest="1h")
    keywords = Subscription("slack:C1", keywords=("ukraine",), added_by="slack:U1", added_at=T0 + 2 * HOUR)
    assert await store.add_subscription(sub) and await store.add_subscription(keywords)
    assert (await store.held()).subscriptions == (sub, keywords)
    assert keywords.digest == "immediate"  # the default: each alert at once

    again = Subscription("slack:C1", story_id="kherson", added_by="slack:U2", added_at=T0 + HOUR, digest="1d")
    assert await store.add_subscription(again) is True
    assert await store.add_subscription(again) is False  # the same digest: nothing to change
    changed = Subscription("slack:C1", story_id="kherson", added_by="slack:U1", added_at=T0, digest="1d")
    assert (await store.held()).subscriptions == (changed, keywords)  # who and when stay


async def test_keywords_are_one_set_whatever_their_order_or_case(store: Store) -> None:
    assert await store.add_subscription(Subscription("slack:C1", keywords=("Ukraine", "kherson offensive")))
    assert (
        await store.add_subscription(Subscription("slack:C1", keywords=("kherson offensive", "ukraine")))
        is False
    )
    (sub,) = (await store.held()).subscriptions
    assert sub.keywords == ("kherson offensive", "ukraine") and sub.story_id == ""
    assert await store.remove_subscription("slack:C1", keywords=["UKRAINE", "kherson offensive"]) is True
    assert (await store.held()).subscriptions == ()


async def test_removing_a_subscription_touches_only_that_channel_and_target(store: Store) -> None:
    await store.add_subscription(Subscription("slack:C1", story_id="kherson"))
    await store.add_subscription(Subscription("slack:C2", story_id="kherson"))
    await store.add_subscription(Subscription("slack:C1", keywords=("kherson",)))
    assert await store.remove_subscription("slack:C1", story_id="kherson") is True
    assert await store.remove_subscription("slack:C1", story_id="kherson") is False
    left = {(s.channel, s.story_id, s.keywords) for s in (await store.held()).subscriptions}
    assert left == {("slack:C2", "kherson", ()), ("slack:C1", "", ("kherson",))}


async def test_a_mute_is_replaced_and_removed(store: Store) -> None:
    await store.set_mute(Mute("kherson", "slack:C1", T0 + HOUR, "slack:U1"))
    await store.set_mute(Mute("kherson", "slack:C1", None, "slack:U2"))
    await store.set_mute(Mute("bakhmut", "discord:9", T0, "discord:7"))
    assert (await store.held()).mutes == (
        Mute("bakhmut", "discord:9", T0, "discord:7"),
        Mute("kherson", "slack:C1", None, "slack:U2"),
    )
    assert await store.remove_mute("kherson", "slack:C1") is True
    assert await store.remove_mute("kherson", "slack:C1") is False
    assert [m.story_id for m in (await store.held()).mutes] == ["bakhmut"]


async def test_a_feeds_validators_are_kept_per_url_and_replaced(store: Store) -> None:
    feed, other = "https://news.example/feed.xml", "https://news.example/sitemap.xml"
    assert await store.feed_validators(feed) is None  # never read through: a full read
    await store.set_feed_validators(feed, '"v1"', "Mon, 30 Nov 2026 12:00:00 GMT")
    await store.set_feed_validators(other, None, "Sun, 29 Nov 2026 08:00:00 GMT")
    assert await store.feed_validators(feed) == Validators(None, '"v1"', "Mon, 30 Nov 2026 12:00:00 GMT")
    await store.set_feed_validators(feed, '"v2"', None)
    assert await store.feed_validators(feed) == Validators(None, '"v2"', None)
    assert await store.feed_validators(other) == Validators(None, None, "Sun, 29 Nov 2026 08:00:00 GMT")


async def test_nothing_held_reads_as_empty(store: Store) -> None:
    held = await store.held()
    assert (held.stories, held.subscriptions, held.mutes) == ((), (), ())


async def test_the_held_revision_moves_with_every_change_and_only_then(store: Store) -> None:
    seen = [await store.held_revision()]

    async def moved(change: object) -> bool:
        """Await `change` (a store call); whether the revision moved, and never back."""
        await change  # type: ignore[misc]
        now = await store.held_revision()
        assert now >= seen[-1]
        seen.append(now)
        return seen[-1] != seen[-2]

    assert await moved(store.add_held_story(chat_story("kherson")))
    assert not await moved(store.add_held_story(chat_story("kherson")))  # refused: nothing written
    assert await moved(store.add_subscription(Subscription("slack:C1", story_id="kherson")))
    assert not await moved(store.add_subscription(Subscription("slack:C1", story_id="kherson")))
    assert await moved(store.add_subscription(Subscription("slack:C1", story_id="kherson", digest="1h")))
    assert await moved(store.set_mute(Mute("kherson", "slack:C2", until=T0 + HOUR)))
    assert await moved(store.remove_mute("kherson", "slack:C2"))
    assert not await moved(store.remove_mute("kherson", "slack:C2"))
    assert await moved(store.remove_subscription("slack:C1", story_id="kherson"))
    assert not await moved(store.remove_subscription("slack:C1", story_id="kherson"))
    assert not await moved(store.held())
    assert await moved(store.remove_held_story("kherson"))
    assert not await moved(store.remove_held_story("kherson"))
    assert await moved(store.add_held_story(chat_story("old", expires_at=T0)))
    assert not await moved(store.remove_expired_stories(T0 - HOUR))  # none expired by then
    assert await moved(store.remove_expired_stories(T0))


async def test_held_at_a_time_leaves_out_the_stories_expired_by_then(store: Store) -> None:
    await store.add_held_story(chat_story("gone", origin="feed:ap", expires_at=T0))
    await store.add_held_story(chat_story("live", origin="feed:ap", expires_at=T0 + HOUR))
    await store.add_held_story(chat_story("kept"))
    await store.set_mute(Mute("gone", "slack:C1", until=T0 - HOUR))
    assert [s.id for s in (await store.held(T0)).stories] == ["kept", "live"]  # expires_at is past
    assert [s.id for s in (await store.held(T0 - HOUR)).stories] == ["gone", "kept", "live"]
    everything = await store.held()  # no time: expired ones too (a feed knows its items by them)
    assert [s.id for s in everything.stories] == ["gone", "kept", "live"]
    assert (await store.held(T0)).mutes == everything.mutes  # mutes are the reader's to judge
