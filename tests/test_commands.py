"""/story: find stories by id, alias, words or typos; answer anything politely."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog import sync_catalog
from bot.commands import Caller, Commands, clean_query
from bot.models import ReplyKind
from bot.storage import open_store
from tests.helpers import SEED_SUMMARY_START, kherson_store

USER = Caller("console", "U1", "C1")


@pytest.fixture
async def commands(tmp_path: Path):  # type: ignore[no-untyped-def]
    store, config = await kherson_store(tmp_path, ["rec:A"])
    yield Commands(store, lambda: config)
    await store.close()


@pytest.mark.parametrize(
    "query",
    [
        "kherson",
        "KHERSON",
        "ukraine",
        "withdrawal",
        "Russia withdrawal Kherson",
        "khersn",
        "kehrson",
        "Dnipro river",
    ],
)
async def test_finds_the_story(commands: Commands, query: str) -> None:
    reply = await commands.handle(query, USER)
    assert reply.kind is ReplyKind.STORY, reply.text
    assert reply.story is not None and reply.story.id == "kherson"
    assert reply.story.latest is not None and reply.story.latest.summary.startswith(SEED_SUMMARY_START)
    assert "Timeline:" in reply.text and SEED_SUMMARY_START in reply.text


async def test_timeline_lists_every_section(commands: Commands) -> None:
    reply = await commands.handle("timeline kherson", USER)
    assert reply.kind is ReplyKind.TIMELINE and reply.story is not None
    assert [e.label for e in reply.story.timeline] == ["Original", "Update"]
    assert "Nov 9, 2022 12:10 PM CST" in reply.text and "Nov 11, 2022 7:36 AM CST" in reply.text


@pytest.mark.parametrize("text", ["", "help", "list", "  LIST  "])
async def test_list_and_help(commands: Commands, text: str) -> None:
    reply = await commands.handle(text, USER)
    assert reply.kind in {ReplyKind.LIST, ReplyKind.HELP}
    assert [b.id for b in reply.stories] == ["kherson"]
    assert "kherson" in reply.text


async def test_no_match_suggests(commands: Commands) -> None:
    reply = await commands.handle("zzqx budget vote", USER)
    assert reply.kind is ReplyKind.NOT_FOUND
    assert "No tracked story matches" in reply.text


HOSTILE = [
    "x" * 10_000,
    "<!channel> <!here> <@U123> @everyone @here",
    "kherson\x00\x07\x1b[31m\u202e",
    "'; DROP TABLE stories; --",
    'kherson" OR "a',
    "NEAR(a b) AND * ^",
    "\ud7ff" * 50,
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_arguments_get_a_polite_reply(commands: Commands, text: str) -> None:
    reply = await commands.handle(text, USER)
    assert reply.kind is not ReplyKind.ERROR, reply.text
    for bad in ("<!", "<@", "@everyone", "@here", "\x00", "\x1b"):
        assert bad not in reply.text
    assert len(reply.text) < 4000


def test_clean_query() -> None:
    assert clean_query("  <@U1> kherson\x00 <!channel> ") == "kherson"
    assert len(clean_query("a" * 10_000)) == 200


async def test_autocomplete(commands: Commands) -> None:
    assert [b.id for b in await commands.complete("khe")] == ["kherson"]
    assert [b.id for b in await commands.complete("ukr")] == ["kherson"]
    assert [b.id for b in await commands.complete("")] == ["kherson"]


async def test_admin_commands_need_an_admin(tmp_path: Path) -> None:
    store, config = await kherson_store(tmp_path, ["rec:A"])
    polled: list[str] = []

    async def poll(story_id: str) -> str:
        polled.append(story_id)
        return "unchanged"

    commands = Commands(store, lambda: config, poll=poll)
    refused = await commands.handle("poll kherson", USER)
    assert refused.kind is ReplyKind.ERROR and polled == []
    admin_config = config.model_copy(
        update={"storybot": config.storybot.model_copy(update={"admins": ("console:U1",)})}
    )
    commands = Commands(store, lambda: admin_config, poll=poll)
    reply = await commands.handle("poll khersn", USER)
    assert reply.kind is ReplyKind.ADMIN and polled == ["kherson"]
    await store.close()


async def test_story_not_fetched_yet(tmp_path: Path) -> None:
    from tests.helpers import kherson_config

    config = kherson_config(tmp_path, [])
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        reply = await Commands(store, lambda: config).handle("kherson", USER)
        assert reply.kind is ReplyKind.STORY and "not fetched yet" in reply.text


async def test_a_new_title_is_a_name_at_once_and_the_old_one_goes(commands: Commands) -> None:
    assert (await commands.resolve("Quartz harbour regatta"))[0] is None
    await commands.handle("kherson", USER)
    commands.note_title("kherson", "Quartz harbour regatta")
    assert (await commands.resolve("quartz HARBOUR regatta"))[0] == "kherson"  # exact, any case
    old_title = (await commands.store.stories())[0].title
    assert commands.names.exact(old_title) is None


async def test_sync_follows_the_catalog_in_place(tmp_path: Path) -> None:
    from tests.helpers import kherson_config

    store, config = await kherson_store(tmp_path, ["rec:A"])
    commands = Commands(store, lambda: config)
    assert (await commands.resolve("kherson"))[0] == "kherson"
    names_before = commands.names
    renamed = kherson_config(tmp_path, ["rec:A"]).model_copy(deep=True)
    story = renamed.stories[0].model_copy(update={"id": "fall-of-kherson"})
    await sync_catalog(store, renamed.model_copy(update={"stories": (story,)}))
    assert await commands.sync() == 2  # one story gone, one new
    assert commands.names is names_before  # updated in place, not rebuilt
    assert (await commands.resolve("fall-of-kherson"))[0] == "fall-of-kherson"
    assert [b.id for b in (await commands.handle("list", USER)).stories] == ["fall-of-kherson"]
    await store.close()
