"""Route filters: whole-word keywords, `exclude`, `regex = true` and `kinds`, from config load
through the pipeline to the deliveries a poll queues."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.catalog import sync_catalog
from bot.config import ConfigError, parse_config
from bot.models import AlertKind
from bot.routing import MAX_PATTERN, Matcher, kind_name
from bot.storage import open_store
from tests.helpers import LOCAL_SOURCES, NOV9, NOV11, poll_file

STORY = {"id": "kherson", "path": "kherson.txt"}
UPDATE_LINE = next(
    line for line in NOV11.read_text(encoding="utf-8").splitlines() if line.startswith("Russia now")
)


def config_with(tmp_path: Path, *routes: dict[str, Any]) -> Any:
    data = {
        "storybot": {"database": str(tmp_path / "s.db"), **LOCAL_SOURCES},
        "stories": [STORY],
        "routes": list(routes),
    }
    return parse_config(data, "test", tmp_path)


def with_update(text: str, title: str | None = None) -> str:
    """The Nov 11 page with its update paragraph (and headline, when given) replaced."""
    page = NOV11.read_text(encoding="utf-8").replace(UPDATE_LINE, text)
    if title is not None:
        first, _, rest = page.partition("\n")
        page = f"{title}\n{rest}"
    return page


def test_keywords_match_whole_words_and_phrases_casefolded() -> None:
    words = Matcher.build(["war", "ceasefire talks", "Straße"], regex=False)
    assert words.any_in("The WAR, again.") and words.any_in("post-war")
    assert not words.any_in("an award for the warden") and not words.any_in("warning")
    assert words.any_in("Ceasefire\n   talks resume") and not words.any_in("ceasefire-talkshow")
    assert words.any_in("Die STRASSE ist zu")  # casefolded: ß is ss
    assert Matcher.build(["київ"], regex=False).any_in("Обстріл Київ уночі")  # Unicode word boundaries
    assert not Matcher.build(["київ"], regex=False).any_in("Київщина")


def test_kind_names_of_alerts() -> None:
    assert kind_name(AlertKind.NEW_UPDATE, "Update") == "update"
    assert kind_name(AlertKind.NEW_UPDATE, "Correction") == "correction"
    assert kind_name(AlertKind.NEW_UPDATE, "Editor's note") == "correction"
    assert kind_name(AlertKind.SECTION_EDITED, "Correction") == "edit"
    assert kind_name(AlertKind.HEADLINE_CHANGED) == "headline"


def test_bad_regexes_and_kinds_are_refused_at_load_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        config_with(
            tmp_path,
            {"regex": True, "keywords": ["kyi(v"], "channels": ["console:a"]},
            {
                "regex": True,
                "stories": ["*"],
                "exclude": ["a" * (MAX_PATTERN + 1)],
                "channels": ["console:b"],
            },
            {"stories": ["*"], "kinds": ["updates"], "channels": ["console:c"]},
            {"stories": ["*"], "kinds": [], "channels": ["console:d"]},
        )
    problems = caught.value.problems
    assert problems[0].startswith("routes[0].keywords: 'kyi(v': not a valid regex")
    assert problems[1].startswith(f"routes[1].exclude: {'a' * 60!r}: regex longer than {MAX_PATTERN}")
    assert problems[2].startswith("routes[2].kinds[0]: Input should be 'update', 'correction'")
    assert problems[3].startswith("routes[3].kinds: list at least one kind")
    # without regex = true the same text is a plain phrase, and fine
    plain = config_with(tmp_path, {"keywords": ["kyi(v"], "channels": ["console:a"]})
    assert plain.channels_for(plain.stories[0], "in kyi(v today") == ("console:a",)


def test_a_catastrophic_regex_gives_up_quickly_and_matches_nothing(tmp_path: Path) -> None:
    config = config_with(tmp_path, {"regex": True, "keywords": [r"(a|aa)+$"], "channels": ["console:a"]})
    started = time.perf_counter()
    assert config.channels_for(config.stories[0], "a" * 5_000 + "!") == ()
    assert time.perf_counter() - started < 2


async def test_filters_decide_each_alerts_channels_through_the_pipeline(tmp_path: Path) -> None:
    config = config_with(
        tmp_path,
        {"keywords": ["war"], "channels": ["rec:war"]},
        {"keywords": ["rebuilt   the bridge"], "channels": ["rec:phrase"]},
        {"stories": ["kherson"], "exclude": ["AWARD"], "channels": ["rec:calm"]},
        {"regex": True, "keywords": [r"\bdnipr[oa]\b"], "channels": ["rec:regex"]},
        {"stories": ["*"], "kinds": ["headline", "correction"], "channels": ["rec:headlines"]},
        {"stories": ["*"], "channels": ["rec:all"]},
    )
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        await poll_file(config, store, NOV9)
        award = await poll_file(
            config,
            store,
            with_update("The mayor gave an award to volunteers who rebuilt the bridge over the Dnipro."),
        )
        (event,) = award.events
        assert event.kind is AlertKind.NEW_UPDATE
        assert event.channels == ("rec:phrase", "rec:regex", "rec:all")  # "war" is not in "award"
        war = await poll_file(
            config,
            store,
            with_update("The war moved east, officials said. The mayor gave an award to volunteers."),
        )
        assert [e.channels for e in war.events] == [("rec:war", "rec:all")]  # "award" still excludes rec:calm
        retitled = await poll_file(
            config,
            store,
            with_update(
                "The war moved east, officials said. The mayor gave an award to volunteers.",
                title="Russia: Kherson Pullout Is Finished",
            ),
        )
        assert [(e.kind, e.channels) for e in retitled.events] == [
            (AlertKind.HEADLINE_CHANGED, ("rec:calm", "rec:headlines", "rec:all"))
        ]  # a headline alert's text is the titles: neither "war" nor "award" there
        queued = sorted((d.channel, d.action.value) for d in await store.deliveries())
    # the war text is an edit of the award update: where that was alerted and the edit is
    # routed (rec:all) it is an edit of that alert and a note (bot/corrections.py); where it
    # was alerted but the edit's text is not routed (rec:phrase, rec:regex), the edit alone;
    # where it was not alerted (rec:war), a post
    assert queued == sorted(
        [("rec:phrase", "post"), ("rec:regex", "post"), ("rec:all", "post")]
        + [("rec:war", "post"), ("rec:all", "edit"), ("rec:all", "note")]
        + [("rec:phrase", "edit"), ("rec:regex", "edit")]
        + [("rec:calm", "post"), ("rec:headlines", "post"), ("rec:all", "post")]
    )
