"""The storage contract (bot/storage/contract.py), checked on every backend: SQLite and PostgreSQL.

Each test names the guarantee it breaks when it fails. Backend-only behaviour (SQLite's file
lock and migrations of old files, PostgreSQL's concurrent pollers) lives in test_sqlite_store.py
and test_postgres_store.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.models import AlertKind, Section, SectionKind, Story
from bot.pipeline import pause_notice
from bot.storage import (
    DeliveryStatus,
    EventRecord,
    FetchMeta,
    Mute,
    SectionRecord,
    StaleBase,
    Store,
    StoryEntry,
    open_store,
)
from bot.storage.postgres_schema import MIGRATIONS as POSTGRES_MIGRATIONS
from bot.storage.sqlite_schema import MIGRATIONS as SQLITE_MIGRATIONS

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2022, 11, 9, 18, 10, tzinfo=UTC)
DAY = timedelta(days=1)
CHICAGO = ZoneInfo("America/Chicago")
KHERSON = StoryEntry("kherson", "kherson.txt", "", ("ukraine", "withdrawal"))


def section(text: str, kind: SectionKind = SectionKind.ORIGINAL, at: datetime | None = None) -> Section:
    return Section(kind, "" if kind is SectionKind.ORIGINAL else "UPDATE", at, (text,))


def record(s: Section) -> SectionRecord:
    return SectionRecord(s.fingerprint, s.kind.value, s.label, s.header, s.timestamp, s.body, s.body)


def update(headline: str, *channels: str, at: datetime | None = None) -> EventRecord:
    return EventRecord(AlertKind.NEW_UPDATE, headline, f"summary of {headline}", at, channels=channels)


async def tracked(store: Store, *entries: StoryEntry, routes: tuple[tuple[str, str], ...] = ()) -> None:
    await store.sync_stories(entries or (KHERSON,), routes)


async def latest_id(store: Store, story_id: str = "kherson") -> int:
    last = await store.last_version(story_id)
    assert last is not None
    return last.id


async def baseline(store: Store, story: Story, story_id: str = "kherson", at: datetime = T0) -> int:
    """Record `story` as the first version; returns its id."""
    await store.record_version(
        story_id, None, at, FetchMeta(), story, [record(s) for s in story.sections], []
    )
    return await latest_id(store, story_id)


ORIGINAL = section("Russia says it will withdraw from Kherson.")
FIRST = section("Troops crossed the river.", SectionKind.UPDATE, datetime(2022, 11, 10, 9, tzinfo=CHICAGO))
SECOND = section(
    "Residents greeted soldiers.", SectionKind.UPDATE, datetime(2022, 11, 11, 7, 36, tzinfo=CHICAGO)
)


async def test_a_store_opens_at_its_newest_schema_and_reopening_migrates_nothing(database: str) -> None:
    newest = len(POSTGRES_MIGRATIONS if "://" in database else SQLITE_MIGRATIONS)
    for _ in range(2):
        async with await open_store(database) as store:
            assert await store.schema_version() == newest


async def test_a_poll_that_fails_midway_writes_nothing(store: Store) -> None:
    await tracked(store)
    story = Story(title="t", sections=(ORIGINAL,))
    good = update("h", "rec:A")
    with pytest.raises(AttributeError):
        await store.record_version("kherson", None, T0, FetchMeta(), story, [], [good, "not an event"])  # type: ignore[list-item]
    assert await store.last_version("kherson") is None
    assert await store.events() == [] and await store.deliveries() == []
    await store.record_version(
        "kherson", None, T0, FetchMeta(), story, [], [good]
    )  # works after the rollback
    assert len(await store.deliveries()) == 1


async def test_a_delivery_is_queued_once_per_event_and_channel(store: Store) -> None:
    await tracked(store)
    story = Story(title="t", sections=(ORIGINAL,))
    await store.record_version(
        "kherson", None, T0, FetchMeta(), story, [], [update("h", "rec:A", "rec:A", "rec:B")]
    )
    rows = await store.deliveries()
    assert [d.channel for d in rows] == ["rec:A", "rec:B"]
    assert all(d.status is DeliveryStatus.PENDING and d.attempts == 0 for d in rows)


async def test_full_text_search_finds_every_word_stemmed_and_is_never_injectable(store: Store) -> None:
    await tracked(store)
    await baseline(store, Story(title="Bridge closes", sections=(section("Engineers found cracks."),)))
    assert await store.search("cracks") == ["kherson"]
    assert await store.search("engineer") == ["kherson"]  # stemmed prefix
    assert await store.search("brid") == ["kherson"]  # a prefix of three letters or more
    assert await store.search("bridge ukraine") == ["kherson"]  # title and alias together
    assert await store.search("bridge weather") == []  # every word must be there
    assert await store.search("weather") == []
    for hostile in ('" OR * NEAR(', "a & b | !c", "') ; DROP TABLE stories; --", "x:* <-> y", ""):
        assert await store.search(hostile) == []


async def test_a_title_or_alias_hit_outranks_a_hit_in_the_text(store: Store) -> None:
    await tracked(store, StoryEntry("body", "b.txt"), StoryEntry("named", "n.txt", aliases=("dam",)))
    await baseline(
        store, Story(title="Flood warning", sections=(section("The dam held overnight."),)), "body"
    )
    await baseline(
        store, Story(title="Nova Kakhovka", sections=(section("Water rose in the town."),)), "named"
    )
    assert await store.search("dam") == ["named", "body"]


async def test_sync_makes_the_catalog_match_and_a_dropped_story_goes_inactive(store: Store) -> None:
    budget = StoryEntry("budget", "https://example.com/budget", "Budget talks", ("shutdown",))
    await tracked(store, KHERSON, budget, routes=(("kherson", "rec:A"),))
    assert [b.id for b in await store.stories()] == ["budget", "kherson"]
    assert (await store.stories())[0].title == "Budget talks"
    await tracked(store, KHERSON)
    assert [b.id for b in await store.stories()] == ["kherson"]
    gone = await store.story_record("budget")
    assert gone is not None and gone.title == "Budget talks"  # its history stays
    assert await store.story_record("never") is None


async def test_readers_never_see_a_half_applied_sync(store: Store) -> None:
    many = [StoryEntry(f"s{n:03}", f"s{n}.txt") for n in range(150)]
    await tracked(store, *many)
    seen: set[int] = set()

    async def read_while_syncing() -> None:
        for _ in range(40):
            seen.add(len(await store.stories()))
            await asyncio.sleep(0)

    await asyncio.gather(tracked(store, *reversed(many)), read_while_syncing(), tracked(store, *many))
    assert seen == {150}


async def test_only_good_versions_are_diff_bases(store: Store) -> None:
    await tracked(store)
    first = await baseline(store, Story(title="t", sections=(ORIGINAL,)))
    await store.record_failure("kherson", T0 + timedelta(minutes=1), "timeout", None)
    assert await store.record_suspect("kherson", T0 + timedelta(minutes=2), "error page", FetchMeta()) is None
    assert (
        await store.record_suspect("kherson", T0 + timedelta(minutes=3), "error page", FetchMeta())
        == "error page"
    )
    last = await store.last_version("kherson")
    assert last is not None and last.id == first and last.story.sections == (ORIGINAL,)
    assert await store.failed_fetches("kherson") == 1
    assert await store.suspect_fetches("kherson") == ["error page", "error page"]
    assert (await store.stories())[0].suspect == "error page"
    await store.record_checked("kherson", T0 + timedelta(minutes=4))
    assert (await store.stories())[0].suspect is None  # a good fetch clears the mark


async def test_validators_are_the_last_good_versions_without_its_story(store: Store) -> None:
    await tracked(store)
    assert await store.last_validators("kherson") is None
    meta = FetchMeta(content_hash="h1", etag='"v1"', last_modified="Wed, 09 Nov 2022 18:10:00 GMT")
    await store.record_version("kherson", None, T0, meta, Story(title="t", sections=(ORIGINAL,)), [], [])
    await store.record_failure("kherson", T0 + DAY, "timeout", None)  # no diff base: changes nothing
    held = await store.last_validators("kherson")
    assert held is not None and (held.content_hash, held.etag, held.last_modified) == (
        "h1",
        '"v1"',
        meta.last_modified,
    )


async def test_record_checks_writes_a_batch_of_check_times_and_clears_fault_marks(store: Store) -> None:
    budget = StoryEntry("budget", "https://example.com/budget")
    await tracked(store, KHERSON, budget)
    await store.record_suspect("kherson", T0, "error page", FetchMeta())
    await store.record_checks([("kherson", T0 + DAY), ("budget", T0 + 2 * DAY)])
    assert await store.last_checks() == {"kherson": T0 + DAY, "budget": T0 + 2 * DAY}
    assert all(b.suspect is None for b in await store.stories())
    await store.record_checks([])  # an empty batch is no error


async def test_a_sync_rewrites_only_entries_whose_config_changed(store: Store) -> None:
    budget = StoryEntry("budget", "https://example.com/budget", "", ("shutdown",))
    await tracked(store, KHERSON, budget, routes=(("kherson", "rec:A"), ("budget", "rec:A")))
    await store.record_version("budget", None, T0, FetchMeta(), Story(title="Budget talks"), [], [])
    await tracked(store, KHERSON, budget, routes=(("kherson", "rec:A"),))  # same entries again
    assert (await store.stories())[0].title == "Budget talks"  # the learned title stays
    renamed = StoryEntry("budget", "https://example.com/budget", "", ("standoff",))
    await tracked(store, KHERSON, renamed, routes=(("kherson", "rec:B"),))
    assert await store.search("standoff") == ["budget"] and await store.search("shutdown") == []
    await tracked(store, KHERSON)
    await tracked(store, KHERSON, renamed)  # back from inactive, though its digest is unchanged
    assert [b.id for b in await store.stories()] == ["budget", "kherson"]
    event = await store.record_version(
        "kherson", None, T0, FetchMeta(), Story(title="t"), [], [update("u", "rec:B")]
    )
    assert len(event) == 1 and len(await store.deliveries()) == 1


async def test_a_story_tracked_again_or_pointed_elsewhere_starts_anew_its_history_kept(store: Store) -> None:
    budget, moved = (
        StoryEntry("budget", "https://example.com/budget"),
        StoryEntry("budget", "https://example.com/b2"),
    )
    await tracked(store, KHERSON, budget)
    meta = FetchMeta(content_hash="h1", etag='"v1"')
    first = Story(title="t", sections=(ORIGINAL,))
    await store.record_version("kherson", None, T0, meta, first, [record(ORIGINAL)], [])
    await baseline(store, Story(title="b", sections=(ORIGINAL,)), "budget")
    await tracked(store, KHERSON, budget)  # the same entries: nothing changes
    assert (
        await store.last_version("kherson") is not None and await store.last_validators("kherson") is not None
    )

    await tracked(store, budget)  # kherson left out (untracked) ...
    await tracked(store, KHERSON, budget, routes=(("kherson", "rec:A"),))  # ... and tracked again
    assert await store.last_version("kherson") is None  # its next good fetch is a baseline
    assert await store.last_validators("kherson") is None  # ... and a full one
    assert await store.deliveries() == []  # no catch-up as of the version before it left
    assert await store.known_fingerprints("kherson") == {ORIGINAL.fingerprint}  # history stays
    await store.record_version("kherson", None, T0 + DAY, meta, first, [], [])  # its new baseline
    assert (await store.last_version("kherson")) is not None

    await tracked(store, KHERSON, moved)  # another page
    assert await store.last_version("budget") is None
    await store.record_version("budget", None, T0 + DAY, FetchMeta(), Story(title="b2"), [], [])
    await tracked(store, KHERSON, StoryEntry("budget", "https://example.com/b2", "Budget"))  # retitled
    assert await store.last_version("budget") is not None  # only a new source or a return starts anew
    assert await store.last_version("kherson") is not None


async def test_a_poll_on_a_stale_base_records_nothing(store: Store) -> None:
    await tracked(store)
    story = Story(title="t", sections=(ORIGINAL,))
    first = await baseline(store, story)
    with pytest.raises(StaleBase):  # a second "first" poll: there is a base now
        await store.record_version("kherson", None, T0, FetchMeta(), story, [], [update("h", "rec:A")])
    newer = Story(title="t", sections=(FIRST, ORIGINAL))
    await store.record_version(
        "kherson", first, T0, FetchMeta(), newer, [record(FIRST)], [update("u", "rec:A")]
    )
    with pytest.raises(StaleBase) as stale:  # diffed against `first`, which is no longer the latest
        await store.record_version(
            "kherson", first, T0, FetchMeta(), newer, [record(FIRST)], [update("u", "rec:A")]
        )
    assert stale.value.base_id == first and stale.value.latest_id != first
    assert len(await store.events()) == 1 and len(await store.deliveries()) == 1


async def test_the_view_orders_by_publisher_time_and_keeps_the_publishers_zone(store: Store) -> None:
    await tracked(store, StoryEntry("kherson", "https://user:pw@example.com/k?token=s", "", ()))
    first = await baseline(store, Story(title="Kherson", subtitle="sub", sections=(ORIGINAL,)))
    story = Story(title="Kherson", subtitle="sub", sections=(SECOND, FIRST, ORIGINAL))  # newest on top
    news = [record(SECOND), record(FIRST)]
    await store.record_version(
        "kherson", first, T0 + 2 * DAY, FetchMeta(), story, news, [update("U", "rec:A")]
    )
    view = await store.story_view("kherson")
    assert view is not None and view.title == "Kherson" and view.subtitle == "sub"
    assert view.url == "https://example.com/k"  # never the credentials
    assert [e.summary for e in view.timeline] == [ORIGINAL.body, FIRST.body, SECOND.body]
    assert view.latest is not None and view.latest.summary == SECOND.body
    stamp = view.latest.timestamp
    assert stamp == SECOND.timestamp and getattr(stamp.tzinfo, "key", None) == "America/Chicago"
    assert await store.story_view("never") is None


async def test_the_view_of_a_story_never_read_is_its_record_alone(store: Store) -> None:
    await tracked(store)
    await store.record_failure("kherson", T0, "HTTP 503", 503)  # a failed fetch holds no sections
    view = await store.story_view("kherson")
    assert view is not None and view.timeline == () and view.latest is None and view.title == "kherson"


async def test_an_alert_carries_its_event_and_the_current_timeline(store: Store) -> None:
    await tracked(store)
    first = await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)))
    story = Story(title="Kherson", sections=(FIRST, ORIGINAL))
    event = update("Update", "rec:A", at=FIRST.timestamp)
    (event_id,) = await store.record_version(
        "kherson", first, T0, FetchMeta(), story, [record(FIRST)], [event]
    )
    alert = await store.alert(event_id)
    assert (alert.story_id, alert.story_title, alert.kind) == ("kherson", "Kherson", AlertKind.NEW_UPDATE)
    assert alert.timestamp == FIRST.timestamp and len(alert.timeline) == 2
    (row,) = await store.events("kherson")
    assert row.id == event_id and row.version_id != first and row.published_at == FIRST.timestamp
    with pytest.raises(KeyError):
        await store.alert(event_id + 1000)


async def queue(store: Store) -> list[int]:
    """Two events for two channels, recorded out of publisher order."""
    await tracked(store)
    base = await baseline(store, Story(title="t", sections=(ORIGINAL,)))
    events = [update("later", "rec:A", "rec:B", at=T0 + 2 * DAY), update("earlier", "rec:A", at=T0 + DAY)]
    story = Story(title="t", sections=(FIRST, ORIGINAL))
    return await store.record_version("kherson", base, T0, FetchMeta(), story, [record(FIRST)], events)


async def test_due_deliveries_come_in_publisher_order_per_channel(store: Store) -> None:
    later, earlier = await queue(store)
    due = await store.due_deliveries(T0, platforms=("rec",))
    assert [(d.event_id, d.channel) for d in due] == [(earlier, "rec:A"), (later, "rec:A"), (later, "rec:B")]
    assert await store.due_deliveries(T0, platforms=("slack",)) == []
    assert await store.next_due_at(("rec",)) == T0
    first = due[0]
    await store.mark_retry(first.id, "boom", T0 + timedelta(minutes=5))
    due = await store.due_deliveries(T0, platforms=("rec",))
    assert [(d.event_id, d.channel) for d in due] == [(later, "rec:B")]  # rec:A waits for its retry
    due = await store.due_deliveries(T0 + timedelta(minutes=5), platforms=("rec",))
    assert due[0].id == first.id and due[0].attempts == 1


async def test_pending_count_is_the_unsettled_deliveries(store: Store) -> None:
    assert await store.pending_count() == 0
    await queue(store)
    due = await store.due_deliveries(T0, platforms=("rec",))
    assert await store.pending_count() == 3
    await store.claim(due[0].id, T0)  # claimed mid-send: still in the queue
    await store.mark_retry(due[2].id, "boom", T0 + timedelta(minutes=5))
    assert await store.pending_count() == 3
    await store.mark_sent(due[0].id, "m1", None, T0)
    await store.mark_failed(due[2].id, "gone")
    assert await store.pending_count() == 1


async def test_a_claim_is_taken_once_and_holds_its_channel(store: Store) -> None:
    later, earlier = await queue(store)
    first = (await store.due_deliveries(T0, platforms=("rec",)))[0]
    assert (first.event_id, first.channel) == (earlier, "rec:A")
    results = await asyncio.gather(*(store.claim(first.id, T0) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    due = await store.due_deliveries(T0, platforms=("rec",))
    assert [(d.event_id, d.channel) for d in due] == [(later, "rec:B")]  # claimed: rec:A holds
    assert await store.claimed_unrecorded(("rec",), older_than=T0) == []  # claimed at T0, not before
    (stuck,) = await store.claimed_unrecorded(("rec",), older_than=T0 + timedelta(seconds=1))
    assert stuck.id == first.id and await store.claimed_unrecorded(("slack",), T0 + DAY) == []
    await store.mark_sent(first.id, "m1", "t1", T0)
    assert await store.claimed_unrecorded(("rec",), older_than=T0 + DAY) == []
    assert not await store.claim(first.id, T0)  # sent is final
    rows = {d.id: d for d in await store.deliveries()}
    assert rows[first.id].status is DeliveryStatus.SENT and rows[first.id].message_id == "m1"
    assert await store.thread_for("kherson", "rec:A") == "t1"
    assert await store.thread_for("kherson", "rec:B") is None


async def test_a_claimed_delivery_retried_or_failed_keeps_its_first_claim(store: Store) -> None:
    await queue(store)
    one, _, two = await store.due_deliveries(T0, platforms=("rec",))
    assert one.claimed_at is None
    assert await store.claim(one.id, T0) and await store.claim(two.id, T0)
    await store.mark_retry(one.id, "rate limited", T0, count=False)
    await store.mark_failed(two.id, "channel_not_found")
    rows = {d.id: d for d in await store.deliveries()}
    assert rows[one.id].status is DeliveryStatus.PENDING and rows[one.id].attempts == 0
    assert rows[one.id].last_error == "rate limited"
    assert rows[two.id].status is DeliveryStatus.FAILED and rows[two.id].attempts == 1
    # the failed send may have landed: the next attempt looks for it first, from the first claim
    (retried, *_) = await store.due_deliveries(T0, platforms=("rec",))
    assert retried.id == one.id and retried.claimed_at == T0
    assert await store.claim(one.id, T0 + DAY) and not await store.claim(two.id, T0)
    (stuck,) = await store.claimed_unrecorded(("rec",), older_than=T0 + DAY + DAY)
    assert stuck.claimed_at == T0


async def test_a_retry_refused_on_its_first_claim_can_give_the_claim_back(store: Store) -> None:
    """unclaim: the platform refused the only send (a rate limit), so the retry just sends."""
    await queue(store)
    one, _, two = await store.due_deliveries(T0, platforms=("rec",))
    assert await store.claim(one.id, T0) and await store.claim(two.id, T0)
    await store.mark_retry(one.id, "rate limited", T0, count=False, unclaim=True)
    await store.mark_retry(two.id, "rate limited", T0, count=False)
    due = {d.id: d for d in await store.due_deliveries(T0, platforms=("rec",))}
    assert due[one.id].claimed_at is None and due[one.id].attempts == 0
    assert due[two.id].claimed_at == T0  # kept: the next attempt looks for an earlier send
    assert await store.claimed_unrecorded(("rec",), older_than=T0 + DAY) == []
    assert await store.claim(one.id, T0 + DAY)
    (stuck,) = await store.claimed_unrecorded(("rec",), older_than=T0 + DAY + DAY)
    assert stuck.id == one.id and stuck.claimed_at == T0 + DAY


async def test_a_mute_drops_what_is_queued_for_that_channel_and_never_tried(store: Store) -> None:
    """The muting channel gets none of the story's alerts: its unclaimed deliveries of the
    story go with the mute; a claimed one (it may have landed), other channels', other
    stories' and an admin notice stay."""
    later, earlier = await queue(store)
    claimed = (await store.due_deliveries(T0, platforms=("rec",)))[0]
    assert (claimed.event_id, claimed.channel) == (earlier, "rec:A") and await store.claim(claimed.id, T0)
    await tracked(store, KHERSON, StoryEntry("other", "other.txt", "", ()))
    other = await baseline(store, Story(title="o", sections=(ORIGINAL,)), "other")
    (elsewhere,) = await store.record_version(
        "other", other, T0, FetchMeta(), Story(title="o", sections=(FIRST, ORIGINAL)), [record(FIRST)],
        [update("elsewhere", "rec:A", at=T0)],
    )  # fmt: skip
    notice = await store.pause_story("kherson", T0, pause_notice(10, "HTTP 500", ("rec:A",)))
    assert notice is not None
    await store.set_mute(Mute("kherson", "rec:A", until=T0 + DAY))
    left = {(d.event_id, d.channel) for d in await store.deliveries()}
    assert (later, "rec:A") not in left  # queued, never tried: dropped
    assert (earlier, "rec:A") in left  # claimed: it may have landed
    assert {(later, "rec:B"), (notice, "rec:A"), (elsewhere, "rec:A")} <= left
    assert await store.pending_count() == 4


async def test_drop_queued_drops_the_channels_untried_deliveries_of_the_story_only(store: Store) -> None:
    later, earlier = await queue(store)
    assert await store.drop_queued("kherson", "rec:A") == 2
    assert [(d.event_id, d.channel) for d in await store.deliveries()] == [(later, "rec:B")]
    assert await store.drop_queued("kherson", "rec:A") == 0


async def test_a_version_queues_nothing_for_a_channel_that_muted_its_story(store: Store) -> None:
    """The mutes the store holds decide, not the poller's view of them (a worker's may be a
    tick old): an event's channel or digest channel with a mute running at the poll's time
    gets nothing; one whose mute has ended, and an admin notice, do."""
    await tracked(store)
    base = await baseline(store, Story(title="t", sections=(ORIGINAL,)))
    await store.set_mute(Mute("kherson", "rec:A"))
    await store.set_mute(Mute("kherson", "rec:D", until=T0 + DAY))
    await store.set_mute(Mute("kherson", "rec:B", until=T0 - DAY))  # over
    news = replace(update("news", "rec:A", "rec:B", at=T0), held=(("rec:D", 1800.0),))
    story = Story(title="t", sections=(FIRST, ORIGINAL))
    (event,) = await store.record_version("kherson", base, T0, FetchMeta(), story, [record(FIRST)], [news])
    assert [(d.event_id, d.channel) for d in await store.deliveries()] == [(event, "rec:B")]
    notice = await store.pause_story("kherson", T0, pause_notice(10, "HTTP 500", ("rec:A",)))
    assert (notice, "rec:A") in {(d.event_id, d.channel) for d in await store.deliveries()}


async def test_known_titles_and_fingerprints_remember_everything(store: Store) -> None:
    await tracked(store)
    first = await baseline(store, Story(title="Old title", sections=(ORIGINAL,)))
    story = Story(title="New title", sections=(FIRST, ORIGINAL))
    await store.record_version("kherson", first, T0, FetchMeta(), story, [record(FIRST)], [])
    assert await store.known_titles("kherson") == {"Old title", "New title"}
    assert await store.known_fingerprints("kherson") == {ORIGINAL.fingerprint, FIRST.fingerprint}


async def test_site_lines_count_stories_not_lines(store: Store) -> None:
    await tracked(store, *(StoryEntry(f"s{n}", f"s{n}.txt") for n in range(3)))
    for n in range(3):
        await store.record_site_lines("example.com", f"s{n}", frozenset({"share", f"own{n}"}))
    await store.record_site_lines("example.com", "s2", frozenset({"share"}))  # replaces, never adds
    assert await store.site_boilerplate("example.com", 3) == frozenset({"share"})
    assert await store.site_boilerplate("example.com", 1) == frozenset({"share", "own0", "own1"})
    assert await store.site_boilerplate("other.org", 1) == frozenset()


async def test_pruning_keeps_bases_events_sections_titles_and_recent_failures(store: Store) -> None:
    await tracked(store)

    async def again(title: str, at: datetime, events: list[EventRecord] | None = None) -> int:
        story = Story(title=title, sections=(ORIGINAL,))
        await store.record_version(
            "kherson", await latest_id(store), at, FetchMeta(), story, [], events or []
        )
        return await latest_id(store)

    await baseline(store, Story(title="A", sections=(ORIGINAL,)))  # introduced ORIGINAL: kept
    await again("B", T0 + DAY)  # nothing new, and not the latest: dropped (its title is not)
    await store.record_failure("kherson", T0 + DAY, "old failure", 500)
    await store.record_suspect("kherson", T0 + 2 * DAY, "old suspect", FetchMeta())
    headline = EventRecord(AlertKind.HEADLINE_CHANGED, "Headline changed", "Now: C", channels=("rec:A",))
    told = await again("C", T0 + 3 * DAY, [headline])  # an event points at it: kept
    base = await again("C", T0 + 4 * DAY)  # the diff base: kept
    await store.record_failure("kherson", T0 + 9 * DAY, "recent failure", 503)
    await store.record_suspect("kherson", T0 + 9 * DAY, "recent suspect", FetchMeta())

    assert await store.prune(failures_before=T0 + 5 * DAY) == 3
    assert await latest_id(store) == base
    assert await store.failed_fetches("kherson") == 1
    assert await store.suspect_fetches("kherson") == ["recent suspect"]
    assert [e.version_id for e in await store.events()] == [told]
    assert await store.known_titles("kherson") == {"A", "B", "C"}  # titles outlive their versions
    view = await store.story_view("kherson")
    assert view is not None and [e.summary for e in view.timeline] == [ORIGINAL.body]
    assert await store.prune(failures_before=T0 + 5 * DAY) == 0  # nothing more to drop
    await again("C", T0 + 10 * DAY)  # and the kept base still takes the next poll


# --- corrections: an event that corrects an alerted section edits that alert ----------------

FIRST_FIXED = section(
    "Troops crossed the river at dawn.", SectionKind.UPDATE, datetime(2022, 11, 10, 9, tzinfo=CHICAGO)
)
FIRST_FIXED_AGAIN = section(
    "Troops crossed the river before dawn.", SectionKind.UPDATE, datetime(2022, 11, 10, 9, tzinfo=CHICAGO)
)


def edit_of(old: Section, new: Section, *channels: str) -> EventRecord:
    return EventRecord(
        AlertKind.SECTION_EDITED, "Update edited", f"what changed in {new.body}", new.timestamp,
        new.fingerprint, 0.2, channels, label="Update", corrects=old.fingerprint, revised=new.fingerprint,
    )  # fmt: skip


async def alerted_first(store: Store, *channels: str) -> tuple[int, int]:
    """Kherson baselined with its original, then FIRST alerted to `channels`: (version, event)."""
    await tracked(store)
    base = await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)))
    event = EventRecord(
        AlertKind.NEW_UPDATE, "Update", "Troops crossed.", FIRST.timestamp, FIRST.fingerprint,
        channels=channels, label="Update",
    )  # fmt: skip
    story = Story(title="Kherson", sections=(FIRST, ORIGINAL))
    (event_id,) = await store.record_version(
        "kherson", base, T0, FetchMeta(), story, [record(FIRST)], [event]
    )
    return await latest_id(store), event_id


async def correct(store: Store, base: int, old: Section, new: Section, *channels: str, at: datetime) -> int:
    story = Story(title="Kherson", sections=(new, ORIGINAL))
    (event_id,) = await store.record_version(
        "kherson", base, at, FetchMeta(), story, [record(new)], [edit_of(old, new, *channels)]
    )
    return event_id


async def test_a_correction_of_a_posted_alert_is_an_edit_then_a_note_where_it_was_posted(
    store: Store,
) -> None:
    base, first = await alerted_first(store, "rec:A", "rec:B")
    (posted_a, posted_b) = await store.due_deliveries(T0, platforms=("rec",))
    await store.mark_sent(posted_a.id, "m-A", None, T0)
    await store.mark_failed(posted_b.id, "channel_not_found")  # rec:B never showed the alert
    fix = await correct(store, base, FIRST, FIRST_FIXED, "rec:A", "rec:B", "rec:C", at=T0 + DAY)
    rows = [(d.channel, d.action.value) for d in await store.deliveries(fix)]
    assert rows == [("rec:A", "edit"), ("rec:A", "note"), ("rec:B", "post"), ("rec:C", "post")]
    due = await store.due_deliveries(T0 + DAY, platforms=("rec",))
    assert [(d.channel, d.action.value, d.target_event_id) for d in due] == [
        ("rec:A", "edit", first), ("rec:A", "note", first),
        ("rec:B", "post", first), ("rec:C", "post", first),
    ]  # fmt: skip
    (row,) = [e for e in await store.events() if e.id == fix]
    assert (row.target_event_id, row.revised_fingerprint, row.label) == (
        first,
        FIRST_FIXED.fingerprint,
        "Update",
    )


async def test_a_pending_post_is_corrected_by_edit_after_it_goes(store: Store) -> None:
    base, first = await alerted_first(store, "rec:A")
    fix = await correct(store, base, FIRST, FIRST_FIXED, "rec:A", at=T0 + DAY)
    due = await store.due_deliveries(T0 + DAY, platforms=("rec",))
    assert [(d.event_id, d.action.value) for d in due] == [(first, "post"), (fix, "edit"), (fix, "note")]
    assert await store.claim(due[0].id, T0 + DAY)
    due = await store.due_deliveries(T0 + DAY, platforms=("rec",))
    assert due == []  # the post is in flight: its edit waits for it


async def test_sent_message_is_where_the_post_landed_and_only_once_sent(store: Store) -> None:
    _, first = await alerted_first(store, "rec:A", "rec:B")
    assert await store.sent_message(first, "rec:A") is None  # pending: nowhere yet
    a, b = await store.due_deliveries(T0, platforms=("rec",))
    await store.mark_sent(a.id, "m-A", "t-A", T0)
    await store.mark_failed(b.id, "channel_not_found")
    sent = await store.sent_message(first, "rec:A")
    assert sent is not None and (sent.message_id, sent.thread_id) == ("m-A", "t-A")
    assert await store.sent_message(first, "rec:B") is None
    assert await store.sent_message(first, "rec:Z") is None


async def test_the_corrected_alert_is_the_target_reading_right_and_a_second_fix_targets_it_too(
    store: Store,
) -> None:
    base, first = await alerted_first(store, "rec:A")
    (post,) = await store.due_deliveries(T0, platforms=("rec",))
    await store.mark_sent(post.id, "m-A", None, T0)
    fix = await correct(store, base, FIRST, FIRST_FIXED, "rec:A", at=T0 + DAY)
    corrected = await store.corrected_alert(fix)
    assert corrected.event_id == first and corrected.kind is AlertKind.NEW_UPDATE
    assert corrected.summary == FIRST_FIXED.body  # the revised section's summary
    assert (
        corrected.corrected_at == T0 + DAY and corrected.correction == f"what changed in {FIRST_FIXED.body}"
    )
    assert corrected.timestamp == FIRST.timestamp  # still the update it was, published when it was
    assert (await store.alert(first)).corrected_at is None
    again = await correct(
        store, await latest_id(store), FIRST_FIXED, FIRST_FIXED_AGAIN, "rec:A", at=T0 + 2 * DAY
    )
    (row,) = [e for e in await store.events() if e.id == again]
    assert row.target_event_id == first  # the first alert of the chain, not the first edit
    assert [d.action.value for d in await store.deliveries(again)] == ["edit", "note"]
    assert (await store.corrected_alert(again)).summary == FIRST_FIXED_AGAIN.body
    with pytest.raises(KeyError):
        await store.corrected_alert(first)  # corrects nothing
    with pytest.raises(KeyError):
        await store.corrected_alert(again + 1000)


async def test_a_correction_of_a_section_never_alerted_is_a_plain_post(store: Store) -> None:
    await tracked(store)
    base = await baseline(store, Story(title="Kherson", sections=(FIRST, ORIGINAL)))
    fix = await correct(store, base, FIRST, FIRST_FIXED, "rec:A", at=T0 + DAY)
    assert [(d.channel, d.action.value) for d in await store.deliveries(fix)] == [("rec:A", "post")]
    (row,) = await store.events()
    assert row.target_event_id is None


# --- catch-ups and digests ----------------------------------------------------------------

THIRD = section(
    "Engineers cleared the bridges.", SectionKind.UPDATE, datetime(2022, 11, 12, 9, tzinfo=CHICAGO)
)


async def grow(store: Store, sections: tuple[Section, ...], at: datetime, *events: EventRecord) -> list[int]:
    """Record the story as `sections` on top of the latest version, with `events`."""
    story = Story(title="Kherson", sections=sections)
    known = await store.known_fingerprints("kherson")
    new = [record(s) for s in sections if s.fingerprint not in known]
    return await store.record_version(
        "kherson", await latest_id(store), at, FetchMeta(), story, new, list(events)
    )


async def test_a_route_added_mid_story_queues_one_catch_up_as_of_its_version(store: Store) -> None:
    assert await store.sync_stories([KHERSON], [("kherson", "rec:A")]) == []  # no version yet
    await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)))
    assert await store.sync_stories([KHERSON], [("kherson", "rec:A")]) == []  # routed from the start
    await grow(store, (FIRST, ORIGINAL), T0 + DAY, update("Update", "rec:A", at=FIRST.timestamp))
    both = [("kherson", "rec:A"), ("kherson", "rec:B")]
    assert await store.sync_stories([KHERSON], both) == [("kherson", "rec:B")]
    assert await store.sync_stories([KHERSON], both) == []
    # dropped and added back: the channel had its catch-up, so it gets none again
    await store.sync_stories([KHERSON], both[:1])
    assert await store.sync_stories([KHERSON], both) == []
    (catch_up,) = [e for e in await store.events("kherson") if e.kind is AlertKind.CATCH_UP]
    (delivery,) = await store.deliveries(catch_up.id)
    assert delivery.channel == "rec:B" and delivery.status is DeliveryStatus.PENDING
    due = await store.due_deliveries(T0 + DAY, platforms=("rec",))
    assert [(d.event_id, d.channel) for d in due if d.channel == "rec:B"] == [(catch_up.id, "rec:B")]
    # a later update reaches rec:B on its own; the catch-up shows the story as it stood
    await grow(store, (THIRD, FIRST, ORIGINAL), T0 + 2 * DAY, update("Update", "rec:A", "rec:B"))
    alert = await store.alert(catch_up.id)
    assert alert.kind is AlertKind.CATCH_UP and alert.story_title == "Kherson"
    assert [e.label for e in alert.timeline] == ["Original", "Update"]
    assert alert.timeline[1].timestamp == FIRST.timestamp


async def test_an_unsent_catch_up_stays_ahead_of_a_later_update_stamped_before_it(store: Store) -> None:
    await tracked(store)
    await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)), at=T0 + 3 * DAY)
    routes = [("kherson", "rec:B"), ("kherson", "rec:C")]
    assert await store.sync_stories([KHERSON], routes) == routes
    # the next fetch finds an update stamped before the catch-ups' moment (a page served stale)
    (later,) = await grow(
        store, (FIRST, ORIGINAL), T0 + 4 * DAY, update("Update", "rec:B", at=FIRST.timestamp)
    )
    catch_ups = {
        d.channel: e.id
        for e in await store.events("kherson")
        if e.kind is AlertKind.CATCH_UP
        for d in await store.deliveries(e.id)
    }
    due = await store.due_deliveries(T0 + 4 * DAY, platforms=("rec",))
    assert [(d.channel, d.event_id) for d in due if d.channel == "rec:B"] == [
        ("rec:B", catch_ups["rec:B"]),  # the story so far, then the news
        ("rec:B", later),
    ]
    assert [d.event_id for d in due if d.channel == "rec:C"] == [catch_ups["rec:C"]]


async def test_a_channel_that_had_an_alert_of_the_story_gets_no_catch_up(store: Store) -> None:
    await tracked(store)
    await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)))
    await grow(store, (FIRST, ORIGINAL), T0 + DAY, update("Update", "rec:K"))  # a keyword route's alert
    assert await store.sync_stories([KHERSON], [("kherson", "rec:K")]) == []


async def test_held_events_are_grouped_into_one_digest_per_story_and_channel(store: Store) -> None:
    await tracked(store)
    await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)))
    half_hour = timedelta(minutes=30)

    def held(headline: str, at: datetime | None) -> EventRecord:
        return EventRecord(AlertKind.NEW_UPDATE, headline, f"summary of {headline}", at,
                           channels=("rec:A",), held=(("rec:D", 1800.0),))  # fmt: skip

    (one,) = await grow(store, (FIRST, ORIGINAL), T0, held("one", FIRST.timestamp))
    (two,) = await grow(
        store, (THIRD, FIRST, ORIGINAL), T0 + timedelta(minutes=1), held("two", THIRD.timestamp)
    )
    (three,) = await grow(store, (SECOND, THIRD, FIRST, ORIGINAL), T0 + timedelta(minutes=2),
                          held("three", SECOND.timestamp))  # fmt: skip
    (digest,) = [e for e in await store.events("kherson") if e.kind is AlertKind.DIGEST]
    rows = await store.deliveries()
    assert sorted((r.event_id, r.channel) for r in rows if r.channel == "rec:D") == [(digest.id, "rec:D")]
    assert sum(r.channel == "rec:A" for r in rows) == 3  # the immediate channel is untouched
    (row,) = await store.deliveries(digest.id)
    assert row.next_attempt_at == T0 + half_hour  # due a period after it opened
    early = await store.due_deliveries(T0 + timedelta(minutes=29), platforms=("rec",))
    assert "rec:D" not in {d.channel for d in early}
    (due,) = [d for d in await store.due_deliveries(T0 + half_hour, ("rec",)) if d.channel == "rec:D"]
    alert = await store.alert(digest.id)
    assert alert.kind is AlertKind.DIGEST
    # in publisher order (Nov 10, Nov 11, Nov 12), not the order they were seen
    assert [u.event_id for u in alert.updates] == [one, three, two]
    assert [u.summary for u in alert.updates] == ["summary of one", "summary of three", "summary of two"]
    # once claimed, the digest is closed: the next held event opens a new one
    assert await store.claim(due.id, T0 + half_hour)
    await grow(store, (THIRD, SECOND, FIRST, ORIGINAL), T0 + half_hour, held("four", None))
    assert [u.event_id for u in (await store.alert(digest.id)).updates] == [one, three, two]
    digests = [e for e in await store.events("kherson") if e.kind is AlertKind.DIGEST]
    assert len(digests) == 2 and len((await store.alert(digests[1].id)).updates) == 1
    (later,) = await store.deliveries(digests[1].id)
    assert later.next_attempt_at == T0 + 2 * half_hour and later.channel == "rec:D"


async def test_only_routes_named_for_catch_up_get_one(store: Store) -> None:
    await tracked(store)
    await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)))
    routes = [("kherson", "rec:A"), ("kherson", "rec:B")]
    assert await store.sync_stories([KHERSON], routes, catch_up={("kherson", "rec:B")}) == [
        ("kherson", "rec:B")
    ]
    assert [d.channel for d in await store.deliveries()] == ["rec:B"]  # rec:A follows from now on


async def test_a_correction_of_an_update_delivered_in_a_digest_is_held_or_posted_never_an_edit(
    store: Store,
) -> None:
    """A digest is never edited: on a digest route the correction joins the next digest; on a
    channel that got the update only in a digest (or in a catch-up), it is posted on its own."""
    await tracked(store)
    base = await baseline(store, Story(title="Kherson", sections=(ORIGINAL,)))
    first_event = EventRecord(
        AlertKind.NEW_UPDATE, "Update", "Troops crossed.", FIRST.timestamp, FIRST.fingerprint,
        channels=("rec:A",), label="Update", held=(("rec:D", 1800.0), ("rec:E", 1800.0)),
    )  # fmt: skip
    story = Story(title="Kherson", sections=(FIRST, ORIGINAL))
    (first,) = await store.record_version(
        "kherson", base, T0, FetchMeta(), story, [record(FIRST)], [first_event]
    )
    assert await store.sync_stories([KHERSON], [("kherson", "rec:C")]) == [("kherson", "rec:C")]
    sent_at = T0 + timedelta(hours=1)
    for due in await store.due_deliveries(sent_at, platforms=("rec",)):
        assert await store.claim(due.id, sent_at)
        await store.mark_sent(due.id, f"m-{due.channel}", None, sent_at)
    sent_digests = [e.id for e in await store.events("kherson") if e.kind is AlertKind.DIGEST]
    assert len(sent_digests) == 2  # one for each digest route, both sent
    catch_up = {e.id for e in await store.events("kherson") if e.kind is AlertKind.CATCH_UP}
    fix_event = replace(edit_of(FIRST, FIRST_FIXED, "rec:A", "rec:C", "rec:E"), held=(("rec:D", 1800.0),))
    story = Story(title="Kherson", sections=(FIRST_FIXED, ORIGINAL))
    (fix,) = await store.record_version(
        "kherson", await latest_id(store), T0 + DAY, FetchMeta(), story, [record(FIRST_FIXED)], [fix_event]
    )
    rows = [(d.channel, d.action.value) for d in await store.deliveries(fix)]
    assert rows == [("rec:A", "edit"), ("rec:A", "note"), ("rec:C", "post"), ("rec:E", "post")]
    (row,) = [e for e in await store.events() if e.id == fix]
    assert row.target_event_id == first and row.target_event_id not in catch_up
    digests = [e.id for e in await store.events("kherson") if e.kind is AlertKind.DIGEST]
    (opened,) = [d for d in digests if d not in sent_digests]
    assert [d.channel for d in await store.deliveries(opened)] == ["rec:D"]
    for sent in sent_digests:  # the sent digests are untouched
        assert [u.event_id for u in (await store.alert(sent)).updates] == [first]
        assert [d.action.value for d in await store.deliveries(sent)] == ["post"]
    (member,) = (await store.alert(opened)).updates
    assert (member.event_id, member.kind, member.label) == (fix, AlertKind.SECTION_EDITED, "Update")
    assert (await store.corrected_alert(fix)).summary == FIRST_FIXED.body


# --- story health: failures in a row, pauses and their notices, deliveries failed for good ----


def paused_notice(*channels: str) -> EventRecord:
    return EventRecord(
        AlertKind.STORY_PAUSED, "Paused after 3 failed polls in a row", "HTTP 500", channels=channels
    )


async def test_failures_in_a_row_are_counted_and_reset_by_a_good_fetch_or_a_check(store: Store) -> None:
    await tracked(store)
    counts = [await store.record_failure("kherson", T0 + n * DAY, "HTTP 500", 500) for n in range(3)]
    assert counts == [1, 2, 3]
    (health,) = await store.story_health()
    assert (health.id, health.failures, health.last_error, health.worked_at, health.paused) == (
        "kherson", 3, "HTTP 500", None, False,
    )  # fmt: skip
    await baseline(store, Story(title="t", sections=(ORIGINAL,)), at=T0 + 4 * DAY)
    assert await store.story_health() == []  # a good version: nothing wrong any more
    assert await store.record_failure("kherson", T0 + 5 * DAY, "timeout", None) == 1
    await store.record_checks([("kherson", T0 + 6 * DAY)])  # a 304 is the story working too
    assert await store.story_health() == []
    assert await store.record_failure("kherson", T0 + 7 * DAY, "timeout", None) == 1
    (health,) = await store.story_health()
    assert health.worked_at == T0 + 6 * DAY


async def test_a_story_is_paused_once_with_one_notice_per_admin_channel(store: Store) -> None:
    await tracked(store)
    assert await store.pause_story("kherson", T0, paused_notice("rec:admins")) is None  # never fetched
    for n in range(3):
        await store.record_failure("kherson", T0 + n * DAY, "HTTP 500", 500)
    notice_id = await store.pause_story("kherson", T0 + 3 * DAY, paused_notice("rec:admins", "rec:ops"))
    assert notice_id is not None
    again = await store.pause_story("kherson", T0 + 4 * DAY, paused_notice("rec:admins"))
    assert again is None  # already paused: a second poller or a restart tells nobody twice
    assert [d.channel for d in await store.deliveries()] == ["rec:admins", "rec:ops"]
    (health,) = await store.story_health()
    assert health.paused and health.paused_at == T0 + 3 * DAY and health.failures == 3
    notice = await store.message(notice_id)
    assert notice.kind is AlertKind.STORY_PAUSED and notice.story_id == "kherson"
    assert getattr(notice, "reason", None) == "HTTP 500"  # a Notice, not an Alert
    assert [d.id for d in await store.due_deliveries(T0 + 3 * DAY, platforms=("rec",))] == [
        d.id for d in await store.deliveries()
    ]  # delivered like any alert


async def test_resuming_or_editing_a_story_unpauses_it_and_clears_its_count(store: Store) -> None:
    await tracked(store)
    await store.record_failure("kherson", T0, "HTTP 500", 500)
    await store.pause_story("kherson", T0, paused_notice())
    assert await store.resume_story("kherson") is True
    assert await store.resume_story("kherson") is False  # not paused any more
    assert await store.story_health() == []
    assert await store.record_failure("kherson", T0 + DAY, "HTTP 500", 500) == 1
    assert (
        await store.pause_story("kherson", T0 + DAY, paused_notice("rec:admins")) is not None
    )  # a new pause
    await tracked(store)  # the same entry: a sync changes nothing
    assert [h.paused for h in await store.story_health()] == [True]
    await tracked(store, StoryEntry("kherson", "kherson-moved.txt", "", ("ukraine",)))  # edited in config
    assert await store.story_health() == []


async def test_deliveries_that_failed_for_good_are_listed_newest_first_with_the_reason(store: Store) -> None:
    await tracked(store)
    story = Story(title="t", sections=(ORIGINAL,))
    await store.record_version(
        "kherson", None, T0, FetchMeta(), story, [], [update("Troops", "rec:A", "rec:B")]
    )
    first, second = await store.deliveries()
    await store.mark_failed(first.id, "channel_not_found")
    await store.mark_sent(second.id, "m1", None, T0)
    (failed,) = await store.failed_deliveries()
    assert (failed.channel, failed.story_id, failed.kind, failed.headline, failed.error, failed.attempts) == (
        "rec:A", "kherson", AlertKind.NEW_UPDATE, "Troops", "channel_not_found", 1,
    )  # fmt: skip
