"""A site's own boilerplate is learned from its stories, through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.boilerplate import site_of
from bot.catalog import sync_catalog
from bot.config import Config, parse_config
from bot.fetch import Fetcher, make_client
from bot.models import AlertKind
from bot.netpolicy import LOOPBACK_ONLY
from bot.pipeline import PollStatus, poll_story
from bot.storage import open_store
from tests.helpers import LOCAL_SOURCES
from tests.origin import Origin, Response

SHARED = "The Valley Ledger has served Marion County readers since 1887."
PAIR_ONLY = "Valley Ledger reporters toured the site in the spring."


def _page(title: str, first: str, *extra: str) -> Response:
    body = "\n\n".join(
        (title, "Posted Nov 9, 2022 8:00 AM CST", first, SHARED, *extra, "The vote is due Friday.")
    )
    return Response(body=body.encode(), content_type="text/plain; charset=utf-8")


def _config(tmp_path: Path, origin: Origin) -> Config:
    return parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
            "stories": [
                {"id": name, "url": origin.url(f"/{name}")} for name in ("dam", "road", "school", "park")
            ],
            "routes": [{"stories": ["dam", "road", "school", "park"], "channels": ["rec:A"]}],
        },
        "test",
        tmp_path,
    )


@pytest.fixture
async def site(tmp_path: Path, origin: Origin):  # type: ignore[no-untyped-def]
    config = _config(tmp_path, origin)
    store = await open_store(config.database({}))
    await sync_catalog(store, config)
    async with make_client(timeout=2, policy=LOOPBACK_ONLY) as client:
        fetcher = Fetcher(client, base_dir=tmp_path, retries=0)

        async def poll(name: str):  # type: ignore[no-untyped-def]
            story = config.story(name)
            assert story is not None
            return await poll_story(story, config=config, fetcher=fetcher, store=store)

        yield poll, store
    await store.close()


async def test_a_line_three_stories_of_one_site_share_is_furniture(site, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    poll, store = site
    origin.set("/dam", _page("Dam Repairs Approved", "The board approved dam repairs.", PAIR_ONLY))
    origin.set("/road", _page("Road Closed", "The county closed Route 9.", PAIR_ONLY))
    origin.set("/school", _page("School Opens", "The new school opened Monday."))
    origin.set("/park", _page("Park Expands", "The park will grow by 40 acres."))
    for name in ("dam", "road", "school"):
        assert (await poll(name)).status is PollStatus.BASELINE

    park = await poll("park")  # a fourth story of the site: the shared line is known furniture
    assert park.story is not None and SHARED not in park.story.sections[0].body
    assert PAIR_ONLY not in park.story.sections[0].body

    origin.set(
        "/dam",
        _page(
            "Dam Repairs Approved",
            "The board approved dam repairs.",
            PAIR_ONLY,
            "UPDATE Nov 10, 2022 9:00 AM CST",
            "Work begins in March, the board said.",
        ),
    )
    outcome = await poll("dam")
    assert [e.kind for e in outcome.events] == [AlertKind.NEW_UPDATE]  # the stripped line is no edit
    stored = await store.last_version("dam")
    assert stored is not None
    original = stored.story.sections[0]
    assert SHARED not in original.body and PAIR_ONLY in original.body  # two stories are not "several"


@pytest.mark.parametrize(
    ("source", "site"),
    [
        ("https://News.Example.com/a/b?x=1", "news.example.com"),
        ("http://127.0.0.1:8080/story", "127.0.0.1"),
    ],
)
def test_a_url_belongs_to_its_host(source: str, site: str) -> None:
    assert site_of(source) == site


def test_local_files_belong_to_their_folder(tmp_path: Path) -> None:
    assert (
        site_of(str(tmp_path / "a.txt"))
        == site_of(str(tmp_path / "b.html"))
        != site_of(str(tmp_path / "x" / "c"))
    )
