"""fetch -> parse -> diff -> store -> deliver over a real loopback origin and a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.catalog import sync_catalog
from bot.config import Config, parse_config
from bot.deliver import Dispatcher
from bot.fetch import Fetcher, make_client
from bot.models import AlertKind
from bot.pipeline import PollMemo, PollOutcome, PollStatus, poll_story
from bot.pollcache import CheckBatch, ValidatorCache
from bot.storage import Store, open_store
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11, SEED_SUMMARY_START, kherson_store, poll_file
from tests.origin import Origin, Response
from tests.recording import RecordingSender

CHICAGO = ZoneInfo("America/Chicago")
T1 = datetime(2022, 11, 9, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)


def page(path: Path) -> Response:
    return Response(body=path.read_bytes(), content_type="text/plain; charset=utf-8")


def http_config(tmp_path: Path, url: str) -> Config:
    return parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
            "stories": [{"id": "kherson", "url": url}],
            "routes": [{"stories": ["kherson"], "channels": ["rec:A", "rec:B"]}],
        },
        "test",
        tmp_path,
    )


class Poller:
    """One story polled through the real fetcher against the origin."""

    def __init__(self, config: Config, store: Store, fetcher: Fetcher):
        self.config, self.store, self.fetcher = config, store, fetcher

    async def __call__(self) -> PollOutcome:
        story = self.config.stories[0]
        return await poll_story(story, config=self.config, fetcher=self.fetcher, store=self.store)


@pytest.fixture
async def http_story(tmp_path: Path, origin: Origin):  # type: ignore[no-untyped-def]
    config = http_config(tmp_path, origin.url("/kherson"))
    store = await open_store(config.database({}))
    await sync_catalog(store, config)
    async with make_client(timeout=2, policy=config.address_policy) as client:
        fetcher = Fetcher(client, base_dir=tmp_path, retries=1, backoff=0.01, sleep=_no_sleep)
        yield Poller(config, store, fetcher), store
    await store.close()


async def _no_sleep(seconds: float) -> None:
    return None


async def test_seed_update_becomes_one_event(tmp_path: Path) -> None:
    store, config = await kherson_store(tmp_path, ["rec:A"])
    (event,) = await store.events()
    assert event.kind == AlertKind.NEW_UPDATE
    alert = await store.alert(event.id)
    assert alert.timestamp == datetime(2022, 11, 11, 7, 36, tzinfo=CHICAGO)
    assert alert.timestamp is not None and alert.timestamp.tzinfo == CHICAGO
    assert alert.summary.startswith(SEED_SUMMARY_START) and len(alert.summary) <= 300
    assert [e.label for e in alert.timeline] == ["Original", "Update"]
    again = await poll_file(config, store, NOV11)
    assert again.status in {PollStatus.NOT_MODIFIED, PollStatus.UNCHANGED} and again.events == ()
    await store.close()


async def test_baseline_alerts_nothing(tmp_path: Path) -> None:
    from tests.helpers import kherson_config

    config = kherson_config(tmp_path, ["rec:A"])
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        outcome = await poll_file(config, store, NOV11)  # first sight already has the update
        assert outcome.status is PollStatus.BASELINE and outcome.events == ()
        assert await store.events() == [] and await store.deliveries() == []
        view = await store.story_view("kherson")
        assert view is not None and view.latest is not None and view.latest.label == "Update"


async def test_http_origin_posts_one_alert_and_304s_do_no_work(origin: Origin, http_story) -> None:  # type: ignore[no-untyped-def]
    poll, store = http_story
    origin.set("/kherson", page(NOV9))
    assert (await poll()).status is PollStatus.BASELINE
    assert (await poll()).status is PollStatus.NOT_MODIFIED
    origin.set("/kherson", page(NOV11))
    changed = await poll()
    assert changed.status is PollStatus.CHANGED and len(changed.event_ids) == 1
    for _ in range(3):
        assert (await poll()).status is PollStatus.NOT_MODIFIED
    statuses = [r.status for r in origin.requests_for("/kherson")]
    assert statuses == [200, 304, 200, 304, 304, 304]
    assert all(r.sent == 0 for r in origin.requests_for("/kherson") if r.status == 304)
    sender = RecordingSender()
    report = await Dispatcher(store, {"rec": sender}).deliver_pending()
    assert report.sent == 2 and sorted(sender.channels()) == ["A", "B"]
    assert (await Dispatcher(store, {"rec": sender}).deliver_pending()).sent == 0


FAULTS = [
    pytest.param(Response(status=500, body="oops"), id="500"),
    pytest.param(Response(status=404, body="<html><body><h1>Not found</h1></body></html>"), id="404"),
    pytest.param(Response(status=429, headers={"Retry-After": "3"}), id="429"),
    pytest.param(Response(body=b""), id="empty"),
    pytest.param(Response(body="   \n  "), id="blank"),
    pytest.param(Response(body=NOV9.read_bytes(), truncate_at=300), id="truncated"),
    pytest.param(Response(body=b"x" * 1024, repeat=6000), id="oversized"),
    pytest.param(Response(body=NOV11.read_bytes(), delay=3), id="timeout"),
    pytest.param(Response(body="<html><body><nav>Home</nav></body></html>"), id="no-story"),
    pytest.param(Response(body=b"\xff\xfe\x00\x00garbage\x80\x81", content_type=None), id="junk-bytes"),
]


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_between_two_good_versions_makes_no_false_alert(
    origin: Origin,
    http_story,
    fault: Response,  # type: ignore[no-untyped-def]
) -> None:
    poll, store = http_story
    origin.set("/kherson", page(NOV11))
    assert (await poll()).status is PollStatus.BASELINE
    origin.set("/kherson", fault)
    failed = await poll()
    assert failed.status is PollStatus.FAILED and failed.error
    origin.set("/kherson", page(NOV11))
    after = await poll()
    assert after.status in {PollStatus.NOT_MODIFIED, PollStatus.UNCHANGED}
    assert await store.events() == []
    assert await store.failed_fetches("kherson") == 1


async def test_update_after_an_outage_is_still_news(origin: Origin, http_story) -> None:  # type: ignore[no-untyped-def]
    poll, store = http_story
    origin.set("/kherson", page(NOV9))
    await poll()
    origin.set("/kherson", Response(status=503, body="down"))
    assert (await poll()).status is PollStatus.FAILED
    origin.set("/kherson", page(NOV11))
    outcome = await poll()
    assert outcome.status is PollStatus.CHANGED and [e.kind for e in outcome.events] == [AlertKind.NEW_UPDATE]


async def test_non_utf8_page_parses(origin: Origin, http_story) -> None:  # type: ignore[no-untyped-def]
    poll, store = http_story
    text = NOV9.read_text(encoding="utf-8").replace("Kherson—the", "Kherson\u2014the")
    origin.set(
        "/kherson", Response(body=text.encode("cp1252"), content_type="text/plain; charset=windows-1252")
    )
    outcome = await poll()
    assert outcome.status is PollStatus.BASELINE and outcome.story is not None
    assert "Kherson\u2014the sole" in outcome.story.sections[0].body


async def test_removed_then_restored_update_is_not_news_again(tmp_path: Path) -> None:
    store, config = await kherson_store(tmp_path, ["rec:A"])
    await poll_file(config, store, NOV9)  # the page drops the update (an edit, or a bad deploy)
    restored = await poll_file(config, store, NOV11)
    assert restored.events == () and len(await store.events()) == 1  # nor is the old headline
    await store.close()


async def test_a_headline_change_alone_is_told_once_and_a_flip_back_is_not(tmp_path: Path) -> None:
    from tests.helpers import kherson_config

    config = kherson_config(tmp_path, ["rec:A"])
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        first = NOV9.read_text(encoding="utf-8")
        await poll_file(config, store, first)
        retitled = first.replace(
            "Russia Says It Will Retreat From Kherson\n", "Russia Orders Kherson Retreat\n", 1
        )
        changed = await poll_file(config, store, retitled)
        assert [e.kind for e in changed.events] == [AlertKind.HEADLINE_CHANGED]
        assert "Russia Orders Kherson Retreat" in changed.events[0].summary
        flipped_back = await poll_file(config, store, first)
        assert flipped_back.status is PollStatus.UNCHANGED and flipped_back.events == ()


async def test_a_version_stored_by_an_older_reader_is_a_silent_new_baseline(tmp_path: Path) -> None:
    """An upgrade that reads pages differently must not alert old sections as new."""
    import json
    import sqlite3

    from tests.helpers import kherson_config

    config = kherson_config(tmp_path, ["rec:A"])
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        await poll_file(config, store, NOV9)
    with sqlite3.connect(config.database({})) as db:  # as a database from before the reader field
        (parsed,) = db.execute("SELECT parsed FROM versions WHERE ok = 1").fetchone()
        old = json.loads(parsed)
        del old["reader"]
        old["sections"][0]["fingerprint"] = "split-by-an-older-reader"
        db.execute("UPDATE versions SET parsed = ?", (json.dumps(old),))
    async with await open_store(config.database({})) as store:
        outcome = await poll_file(config, store, NOV11)
        assert outcome.status is PollStatus.BASELINE and outcome.events == ()
        assert await store.events() == []
        later = await poll_file(config, store, NOV11)
        assert later.events == ()


async def test_a_304_check_time_waits_for_the_batch(http_story, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    """The cheap path: validators come from the cache, the check time from a batch written
    later; a failure recorded meanwhile is not undone by the older check."""
    poller, store = http_story
    origin.set("/kherson", page(NOV9))
    story = poller.config.stories[0]
    checks = CheckBatch(store, seconds=3600)
    memo = PollMemo(ValidatorCache(), checks)

    async def poll(at: datetime) -> PollOutcome:
        return await poll_story(
            story, config=poller.config, fetcher=poller.fetcher, store=store, now=at, memo=memo
        )

    assert (await poll(T1)).status is PollStatus.BASELINE
    assert (await poll(T1 + HOUR)).status is PollStatus.NOT_MODIFIED
    assert (await store.last_checks())["kherson"] == T1  # waiting in the batch
    await checks.flush()
    assert (await store.last_checks())["kherson"] == T1 + HOUR
    assert origin.requests[-1].headers.get("If-None-Match")  # asked with the cached ETag

    assert (await poll(T1 + 2 * HOUR)).status is PollStatus.NOT_MODIFIED
    origin.set("/kherson", Response(status=404))
    assert (await poll(T1 + 3 * HOUR)).status is PollStatus.FAILED
    await checks.close()
    assert (await store.last_checks())["kherson"] == T1 + 3 * HOUR  # not the older, dropped check
    assert await store.failed_fetches("kherson") == 1
