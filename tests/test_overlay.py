"""bot.overlay: store-held stories, subscriptions and mutes merged into the one Config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.registry import validate_platforms
from bot.catalog import story_entries, story_routes
from bot.config import ConfigError, parse_config
from bot.overlay import effective_config
from bot.storage import HeldState, HeldStory, Mute, Subscription

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
BASE = parse_config(
    {
        "stories": [{"id": "kherson", "path": "kherson.txt", "title": "Kherson retreat"}],
        "routes": [{"stories": ["kherson"], "channels": ["slack:C0"]}],
    },
    base_dir=Path("/srv"),
)


def held(*stories: HeldStory, subs: tuple[Subscription, ...] = (), mutes: tuple[Mute, ...] = ()) -> HeldState:
    return HeldState(stories, subs, mutes)


def test_nothing_held_is_the_config_itself() -> None:
    assert effective_config(BASE, HeldState()) is BASE


def test_held_stories_join_the_config_with_their_origin() -> None:
    # a feed's stories are followed while config.toml lists the feed (tests/test_feeds.py)
    with_feed = parse_config(
        {
            "stories": [{"id": "kherson", "path": "kherson.txt", "title": "Kherson retreat"}],
            "feeds": [{"id": "ap", "url": "https://ap.example/rss"}],
        },
        base_dir=Path("/srv"),
    )
    merged = effective_config(
        with_feed,
        held(
            HeldStory("bakhmut", url="https://news.example/b", title="Bakhmut", aliases=("b",)),
            HeldStory("feeditem", url="https://news.example/f", origin="feed:ap", interval=60),
        ),
    )
    assert [(s.id, s.origin) for s in merged.stories] == [
        ("kherson", "config"), ("bakhmut", "chat"), ("feeditem", "feed:ap"),
    ]  # fmt: skip
    bakhmut = merged.story("bakhmut")
    assert bakhmut is not None and bakhmut.title == "Bakhmut" and bakhmut.aliases == ("b",)
    assert merged.interval_for(merged.story("feeditem")) == 60  # type: ignore[arg-type]
    kept = set(type(BASE).model_fields) - {"stories", "routes", "mutes"}  # every other table, as given
    assert {name: getattr(merged, name) for name in kept} == {name: getattr(with_feed, name) for name in kept}
    assert merged.base_dir == Path("/srv")
    assert [e.id for e in story_entries(merged)] == ["kherson", "bakhmut", "feeditem"]


def test_config_toml_wins_over_a_held_story_with_its_id() -> None:
    merged = effective_config(BASE, held(HeldStory("kherson", url="https://elsewhere.example/")))
    assert len(merged.stories) == 1 and merged.story("kherson").source == "kherson.txt"  # type: ignore[union-attr]


def test_expired_and_invalid_held_stories_are_left_out() -> None:
    merged = effective_config(
        BASE,
        held(
            HeldStory("gone", url="https://news.example/g", expires_at=T0),
            HeldStory("live", url="https://news.example/l", expires_at=T0 + HOUR),
            HeldStory("Not An Id!", url="https://news.example/x"),
            HeldStory("noscheme", url="ftp://news.example/x"),
        ),
        now=T0,
    )
    assert [s.id for s in merged.stories] == ["kherson", "live"]


def test_a_subscription_routes_a_story_to_the_channel() -> None:
    merged = effective_config(
        BASE,
        held(
            HeldStory("bakhmut", url="https://news.example/b"),
            subs=(Subscription("discord:42", story_id="bakhmut", added_by="discord:7"),),
        ),
    )
    bakhmut = merged.story("bakhmut")
    assert bakhmut is not None and merged.channels_for(bakhmut) == ("discord:42",)
    route = merged.routes[-1]
    assert (route.origin, route.added_by) == ("chat", "discord:7")
    assert ("bakhmut", "discord:42") in story_routes(merged)


def test_a_keyword_subscription_matches_title_and_update_text() -> None:
    merged = effective_config(BASE, held(subs=(Subscription("slack:C9", keywords=("dnipro",)),)))
    kherson = merged.story("kherson")
    assert kherson is not None
    assert merged.channels_for(kherson) == ("slack:C0",)
    assert merged.channels_for(kherson, "troops crossed the Dnipro") == ("slack:C0", "slack:C9")


def test_a_mute_holds_the_channel_back_until_it_ends() -> None:
    merged = effective_config(
        BASE,
        held(
            subs=(Subscription("slack:C9", story_id="kherson"),),
            mutes=(Mute("kherson", "slack:C9", T0 + HOUR), Mute("kherson", "slack:C0")),
        ),
    )
    kherson = merged.story("kherson")
    assert kherson is not None
    assert merged.channels_for(kherson, at=T0) == ()
    assert merged.channels_for(kherson, at=T0 + HOUR) == ("slack:C9",)  # the hour is over
    assert merged.channels_for(kherson, at=T0 + 1000 * HOUR) == ("slack:C9",)  # C0: until unmuted


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"stories": [{"id": "k", "path": "k.txt", "origin": "chat"}]}, "stories[0].origin: unknown key"),
        ({"routes": [{"stories": ["k"], "channels": ["slack:C1"], "added_by": "x"}]}, "routes[0].added_by"),
    ],
)
def test_config_toml_cannot_claim_a_held_origin(table: dict[str, object], problem: str) -> None:
    data = {"stories": [{"id": "k", "path": "k.txt"}], **table}
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert any(p.startswith(problem) for p in err.value.problems), err.value.problems


def test_managers_and_roles() -> None:
    config = parse_config(
        {
            "storybot": {
                "admins": ["slack:UADMIN"],
                "managers": ["slack:UMGR"],
                "manager_roles": ["discord:555"],
            },
            "stories": [{"id": "k", "path": "k.txt"}],
        }
    )
    assert config.may_manage("slack", "UADMIN") and config.may_manage("slack", "UMGR")
    assert config.may_manage("discord", "1", roles=["444", "555"])
    assert not config.may_manage("discord", "1", roles=["444"])
    assert not config.may_manage("slack", "UOTHER", roles=["555"])  # a role counts on its platform only
    # which platforms have roles is the adapters' knowledge: the core takes any platform's form,
    # the platforms' check (storybot check, and loading for run) refuses a role where none exist
    roled = parse_config(
        {
            "storybot": {
                "manager_roles": ["slack:G1", "console:ops", "discord:555", "discord:desk", "irc:op"]
            },
            "stories": [{"id": "k", "path": "k"}],
        }
    )
    assert [p.removeprefix("storybot.manager_roles: ") for p in validate_platforms(roled)] == [
        "'slack:G1': slack has no roles; list its users in managers",
        "'console:ops': console has no roles; list its users in managers",
        "'discord:desk': 'desk' is not a Discord role id: give the id (digits), not its name",
        "unknown platform in 'irc:op'",
    ]
