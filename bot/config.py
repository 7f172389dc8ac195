"""config.toml -> frozen, validated settings.

Every problem in a file is reported at once, each naming the file, the key path
(`stories[1].interval`) and what is wrong. Platform tables (`[slack]`, `[discord]`, ...)
are kept raw here and validated by their adapter, so a new platform needs no core change:
the caller hands `load_config` those checks, and `storybot check` and a running bot's reload
call the same loader. Secrets never live in the file: platform tables name environment variables.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.envnames import EnvName
from bot.metrics import listen_address
from bot.netpolicy import AddressPolicy, parse_allowance
from bot.redact import display_url
from bot.routing import Matcher, regex_problem

STORY_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"
FEED_ID = r"^[a-z0-9][a-z0-9_-]{0,31}$"  # short: a feed's stories are named "<feed id>-<slug>-<hash>"
FEED_ORIGIN = "feed:"  # a feed's stories are held with origin "feed:<feed id>"
WINDOW = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[mhdw])$")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}  # window, digest and mute lengths
CHANNEL = re.compile(r"^(?P<platform>[a-z][a-z0-9_]*):(?P<channel>[A-Za-z0-9_.#-]{1,80})$")
USER = re.compile(r"^(?P<platform>[a-z][a-z0-9_]*):(?P<user>[A-Za-z0-9_.-]{1,80})$")


def is_postgresql_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


class ConfigError(Exception):
    """A config that cannot be used. `problems` holds one line per bad key."""

    def __init__(self, source: str, problems: Iterable[str]):
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: invalid config\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Seconds = Annotated[float, Field(ge=5, le=7 * 24 * 3600)]


def _http_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError("must be an http:// or https:// URL")
    return url


class StoryConfig(_Strict):
    """One tracked story: where to read it, what users may call it, how often to look."""

    id: Annotated[str, Field(pattern=STORY_ID)]
    url: str | None = None
    path: str | None = None
    title: str | None = None
    aliases: tuple[str, ...] = ()
    interval: Seconds | None = None
    # who declared it: "config" (this file), "chat" (chat or the CLI), "feed:<id>": set by
    # bot.overlay for stories the store holds, never written in config.toml
    origin: str = "config"

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return url if url is None else _http_url(url)

    @field_validator("aliases")
    @classmethod
    def _clean_aliases(cls, aliases: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(a.strip().casefold() for a in aliases)
        if any(not a for a in cleaned):
            raise ValueError("aliases must not be empty")
        return cleaned

    @property
    def source(self) -> str:
        return self.url or self.path or ""

    @property
    def feed_id(self) -> str | None:
        """The [[feeds]] id of a story a feed added, else None."""
        return self.origin.removeprefix(FEED_ORIGIN) if self.origin.startswith(FEED_ORIGIN) else None


def _channel_refs(channels: tuple[str, ...]) -> tuple[str, ...]:
    for ref in channels:
        if not CHANNEL.match(ref):
            raise ValueError(f"{ref!r} is not 'platform:channel_id' (e.g. 'slack:C0123', 'discord:1234')")
    return channels


DIGEST_PERIOD = re.compile(r"^(?P<count>[0-9]{1,4})(?P<unit>[mhd])$")
DIGEST_MAX = 7 * 86400


def digest_seconds(value: str) -> float | None:
    """'immediate' -> None; '30m', '2h', '1d' -> seconds. ValueError naming the forms allowed."""
    if value == "immediate":
        return None
    match = DIGEST_PERIOD.match(value)
    seconds = int(match["count"]) * UNIT_SECONDS[match["unit"]] if match else 0
    if not 60 <= seconds <= DIGEST_MAX:
        raise ValueError('must be "immediate" or a period from "1m" to "7d", such as "30m", "2h", "1d"')
    return float(seconds)


AlertKindName = Literal["update", "correction", "edit", "headline"]


class RouteConfig(_Strict):
    """Send alerts of the named stories (or of the named feeds' stories, or of stories matching
    keywords) to channels, unless the alert holds an `exclude` word or is of a kind the route
    does not list in `kinds`; at once, or (`digest`) grouped per story into one message per
    period. Keywords match whole words and phrases (bot.routing); `regex = true` makes them
    regexes."""

    regex: StrictBool = False  # first: the keyword checks below read it
    stories: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    kinds: tuple[AlertKindName, ...] = ("update", "correction", "edit", "headline")
    channels: tuple[str, ...]
    digest: str = "immediate"  # or a period ("30m", "2h", "1d"): one message per story per period
    # "config", or "chat" for a channel's subscription held in the store (bot.overlay)
    origin: str = "config"
    added_by: str = ""

    @field_validator("digest")
    @classmethod
    def _digest_period(cls, digest: str) -> str:
        digest_seconds(digest.casefold())
        return digest.casefold()

    @property
    def digest_period(self) -> float | None:
        """Seconds between this route's digests; None when it sends each alert at once."""
        return digest_seconds(self.digest)

    @field_validator("channels")
    @classmethod
    def _channels(cls, channels: tuple[str, ...]) -> tuple[str, ...]:
        if not channels:
            raise ValueError("list at least one channel")
        return _channel_refs(channels)

    @field_validator("keywords", "exclude")
    @classmethod
    def _keyword_list(cls, keywords: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Blank entries dropped; with `regex = true`, each a regex bot.routing accepts."""
        keywords = tuple(k for k in keywords if k.strip())
        if info.data.get("regex"):
            for pattern in keywords:
                problem = regex_problem(pattern)
                if problem:
                    raise ValueError(f"{pattern[:60]!r}: {problem}")
        return keywords

    @field_validator("kinds")
    @classmethod
    def _some_kind(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        if not kinds:
            raise ValueError('list at least one kind: "update", "correction", "edit", "headline"')
        return kinds

    @cached_property
    def keyword_matcher(self) -> Matcher:
        return Matcher.build(self.keywords, regex=self.regex)

    @cached_property
    def exclude_matcher(self) -> Matcher:
        return Matcher.build(self.exclude, regex=self.regex)

    def selects(
        self,
        story_id: str,
        haystack: str,
        kind: str | None,
        feed_id: str | None = None,
        *,
        by_keyword: bool = True,
    ) -> bool:
        """Whether an alert of `story_id` (a story of feed `feed_id`, if any) reading `haystack`
        (of `kind`; None: any) goes here. by_keyword=False: only a route that names the story
        (or "*", or its feed) may select it; keywords are not searched."""
        if kind is not None and kind not in self.kinds:
            return False
        chosen = (
            "*" in self.stories
            or story_id in self.stories
            or (feed_id is not None and feed_id in self.feeds)
            or (by_keyword and bool(self.keywords) and self.keyword_matcher.any_in(haystack))
        )
        return chosen and not (self.exclude and self.exclude_matcher.any_in(haystack))


def _digest_periods(found: dict[str, list[RouteConfig | None]]) -> dict[str, float]:
    """Channel -> digest period, of the channels whose every selecting route digests (None: a
    feed's own `channels`, sent at once); the shortest period wins."""
    periods: dict[str, float] = {}
    for channel, routes in found.items():
        chosen = [r.digest_period if r else None for r in routes]
        if None not in chosen:
            periods[channel] = min(p for p in chosen if p is not None)
    return periods


def window_seconds(text: str) -> float:
    """'3d' -> 259200.0. Units: m(inutes), h(ours), d(ays), w(eeks). ValueError otherwise."""
    match = WINDOW.match(text.strip().casefold())
    if match is None:
        raise ValueError('must be a length of time such as "36h", "3d" or "1w" (units m, h, d, w)')
    return float(match["amount"]) * UNIT_SECONDS[match["unit"]]


class FeedConfig(_Strict):
    """A feed (RSS, Atom or a sitemap) whose every item, for `window` after its publication, is
    tracked as a story. `keywords`: only items whose title or link holds one (whole words, as
    route keywords match); `channels`: where
    its stories' alerts go (routes may add more, naming the feed in `feeds`)."""

    id: Annotated[str, Field(pattern=FEED_ID)]
    url: str
    interval: Seconds | None = None  # how often the feed is read (default: [storybot] interval)
    item_interval: Seconds | None = None  # how often each of its stories is polled (default: interval)
    window: str = "3d"
    keywords: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _http_url(url)

    @field_validator("window")
    @classmethod
    def _window(cls, window: str) -> str:
        seconds = window_seconds(window)
        if not 3600 <= seconds <= 90 * 86400:
            raise ValueError("must be between 1h and 90d")
        return window

    @field_validator("channels")
    @classmethod
    def _channels(cls, channels: tuple[str, ...]) -> tuple[str, ...]:
        return _channel_refs(channels)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(k for k in keywords if k.strip())

    @property
    def window_seconds(self) -> float:
        return window_seconds(self.window)

    @cached_property
    def keyword_matcher(self) -> Matcher:
        """Its keywords as route keywords match: whole words or phrases, any case."""
        return Matcher.build(self.keywords, regex=False)


class MuteConfig(_Strict):
    """A channel that gets none of a story's alerts until `until` (None: until unmuted). Held
    in the store; bot.overlay puts them here so `channels_for` honours them."""

    story_id: str
    channel: str
    until: datetime | None = None
    added_by: str = ""

    def active(self, at: datetime) -> bool:
        return self.until is None or self.until > at


class BotConfig(_Strict):
    """Core settings under [storybot]."""

    database: str = "storybot.db"  # a SQLite file (relative to the config) or a postgresql:// URL
    database_env: EnvName | None = None  # or the variable holding it, so a password stays out of the file
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 30
    interval: Seconds = 300
    jitter: Annotated[float, Field(ge=0, le=3600)] = 10
    timeout: Annotated[float, Field(gt=0, le=300)] = 20
    max_bytes: Annotated[int, Field(ge=1024, le=100_000_000)] = 5_000_000
    per_host: Annotated[int, Field(ge=1, le=64)] = 4
    # polls in flight at once in one process: a poll holds its page from fetch to store, so
    # this bounds memory when thousands of stories fall due together (start-up, a burst)
    max_polls: Annotated[int, Field(ge=1, le=10_000)] = 256
    user_agent: str = "storybot/0.1 (+https://github.com/storybot/storybot)"
    admins: tuple[str, ...] = ()
    # a story failing this many polls in a row is paused until an admin resumes it
    pause_after: Annotated[int, Field(ge=1, le=100_000)] = 10
    # where admins are told of a paused story, "platform:channel_id"
    admin_channels: tuple[str, ...] = ()
    # who may track, untrack, subscribe and mute from chat (admins always may): users as
    # "platform:user_id"; on platforms with roles (Discord), role ids as "platform:role_id"
    managers: tuple[str, ...] = ()
    manager_roles: tuple[str, ...] = ()
    fetch_deadline: Annotated[float, Field(ge=1, le=600)] = 30
    allow_private: StrictBool = False
    allow_hosts: tuple[str, ...] = ()
    files_dir: str = "seeds"
    # `storybot worker` (bot/jobs/): the procrastinate queue's PostgreSQL database, given here
    # or, when it holds a password, in the environment variable `queue_database_env` names
    queue_database: str | None = None
    queue_database_env: EnvName | None = None
    # a worker silent this long (no heartbeat) is dead: its running jobs are retried elsewhere
    stalled_after: Annotated[float, Field(ge=2, le=3600)] = 30
    # when workers look for due stories; a 6th field is seconds ("* * * * * */20")
    tick_cron: str = "* * * * *"
    # `storybot run` and workers serve /metrics and /healthz here ("127.0.0.1:9464"); off when unset
    metrics: str | None = None

    @field_validator("metrics")
    @classmethod
    def _listen(cls, address: str | None) -> str | None:
        if address is not None:
            listen_address(address)
        return address

    @field_validator("queue_database")
    @classmethod
    def _postgresql_url(cls, url: str | None) -> str | None:
        if url is not None and not is_postgresql_url(url):
            raise ValueError("must be a postgresql:// URL (the queue lives in PostgreSQL)")
        return url

    @field_validator("tick_cron")
    @classmethod
    def _cron(cls, cron: str) -> str:
        from croniter import croniter  # only a config that sets tick_cron pays for it

        if not croniter.is_valid(cron):
            raise ValueError('must be a cron expression such as "* * * * *" (every minute)')
        return cron

    @field_validator("allow_hosts")
    @classmethod
    def _allowances(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        for entry in entries:
            parse_allowance(entry)
        return entries

    @field_validator("admin_channels")
    @classmethod
    def _admin_channel_refs(cls, channels: tuple[str, ...]) -> tuple[str, ...]:
        for ref in channels:
            if not CHANNEL.match(ref):
                raise ValueError(f"{ref!r} is not 'platform:channel_id' (e.g. 'slack:C0123')")
        return channels

    @field_validator("admins", "managers")
    @classmethod
    def _user_refs(cls, admins: tuple[str, ...]) -> tuple[str, ...]:
        for ref in admins:
            if not USER.match(ref):
                raise ValueError(f"{ref!r} is not 'platform:user_id' (e.g. 'slack:U0123')")
        return admins

    @field_validator("manager_roles")
    @classmethod
    def _role_refs(cls, roles: tuple[str, ...]) -> tuple[str, ...]:
        for ref in roles:
            found = USER.match(ref)
            if not found:
                raise ValueError(f"{ref!r} is not 'platform:role_id' (e.g. 'discord:1234')")
        return roles  # whether the platform has roles is its adapter's to say (role_problem)


class SummariesConfig(_Strict):
    """[summaries]: an OpenAI-compatible chat-completions endpoint that writes the summary of a
    new update (bot/model_summaries.py). Absent, or its URL variable unset: extractive summaries.
    Every value that may be secret or differs per machine comes from the environment."""

    url_env: EnvName  # the variable holding the base URL; storybot POSTs {base}/v1/chat/completions
    model: str = ""  # the model name the endpoint expects
    model_env: EnvName | None = None  # or the variable holding it (wins over `model`)
    key_env: EnvName | None = None  # the variable holding the API key, if the endpoint wants one
    timeout: Annotated[float, Field(gt=0, le=60)] = 10  # seconds for the whole call, then extractive
    max_chars: Annotated[int, Field(ge=80, le=1000)] = 280  # a longer answer is cut at a sentence


class Config(_Strict):
    """The whole file. `platforms` holds each platform's raw table for its adapter.

    Rules between keys (one source per story, unique ids, routes naming known stories) are
    checked by `parse_config` on the raw tables, not here: pydantic skips a model's own
    validators once any field has failed, which would hide them behind the first typo."""

    storybot: BotConfig = BotConfig()
    stories: tuple[StoryConfig, ...] = ()
    feeds: tuple[FeedConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    summaries: SummariesConfig | None = None
    platforms: dict[str, dict[str, Any]] = Field(default_factory=dict)
    base_dir: Path = Path(".")
    mutes: tuple[MuteConfig, ...] = ()  # from the store (bot.overlay), never from the file

    def story(self, story_id: str) -> StoryConfig | None:
        return self._by_id.get(story_id)

    @cached_property
    def _by_id(self) -> dict[str, StoryConfig]:
        return {s.id: s for s in self.stories}

    def feed(self, feed_id: str) -> FeedConfig | None:
        return next((f for f in self.feeds if f.id == feed_id), None)

    def interval_for(self, story: StoryConfig | FeedConfig) -> float:
        return story.interval or self.storybot.interval

    def resolve_path(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p

    def database(self, environ: Mapping[str, str]) -> str:
        """Where the store lives: a postgresql:// URL, or the SQLite file's path. A
        `database_env` variable, when named, wins over `database`; ConfigError if it is unset."""
        if self.storybot.database_env:
            value = environ.get(self.storybot.database_env, "").strip()
            if not value:
                name = self.storybot.database_env
                raise ConfigError("config", [f"storybot.database_env: variable {name} is not set"])
        else:
            value = self.storybot.database
        return value if "://" in value else str(self.resolve_path(value))

    @property
    def files_path(self) -> Path:
        """The one directory story `path`s may be read from."""
        return self.resolve_path(self.storybot.files_dir)

    @cached_property
    def address_policy(self) -> AddressPolicy:
        return AddressPolicy.build(
            allow_private=self.storybot.allow_private, allow_hosts=self.storybot.allow_hosts
        )

    def channels_for(
        self, story: StoryConfig, text: str = "", kind: str | None = None, at: datetime | None = None
    ) -> tuple[str, ...]:
        """Channels routed to a story, by id, by its feed (the feed's own `channels` first, then
        routes naming it in `feeds`) or by keyword in its title or text, in config order; a
        route drops alerts holding one of its `exclude` words and kinds (bot.routing names
        them: "update", "correction", "edit", "headline") it does not list (kind=None: any
        kind, the catalog's standing routes); less the channels that muted the story (a mute
        counts until its end, judged at `at`, default now)."""
        return tuple(self._routes_for(story, text, kind, at))

    def standing_channels(self, story: StoryConfig) -> tuple[str, ...]:
        """Channels routed to a story whatever its alerts say: by id, "*" or its feed (less
        `exclude` hits on its id and title, and mutes). Keyword routes are decided per alert by
        the pipeline, so no story is searched for them here."""
        return tuple(self._routes_for(story, "", None, None, by_keyword=False))

    def routed_channels(self, story: StoryConfig) -> tuple[str, ...]:
        """`standing_channels`, mutes aside: a mute silences a route for a while, it does not
        take it away, so its end is no new route (and no catch-up). What the catalog records."""
        return tuple(self._selected(story, "", None, by_keyword=False))

    def digest_periods(
        self, story: StoryConfig, text: str = "", kind: str | None = None, at: datetime | None = None
    ) -> dict[str, float]:
        """Of the channels `channels_for` gives, those that get the alert in a digest, with the
        period. A channel that any selecting route (or its feed's own `channels`) sends to at
        once gets it at once; one in several digest routes gets the shortest period."""
        return _digest_periods(self._routes_for(story, text, kind, at))

    def alert_channels(
        self, story: StoryConfig, text: str = "", kind: str | None = None, at: datetime | None = None
    ) -> tuple[tuple[str, ...], dict[str, float]]:
        """`channels_for` split as an alert is recorded: the channels sent it at once, and
        `digest_periods`; one search of the routes (and one `at`) for both."""
        found = self._routes_for(story, text, kind, at)
        periods = _digest_periods(found)
        return tuple(c for c in found if c not in periods), periods

    def muted(self, story_id: str, channel: str, at: datetime | None = None) -> bool:
        """Whether `channel` has a mute of the story running at `at` (default now)."""
        when = at or datetime.now(UTC)
        return any(m.channel == channel and m.active(when) for m in self._mutes_by_story.get(story_id, ()))

    def sends_to(self, story: StoryConfig, channel: str, text: str, kind: str | None) -> bool:
        """Whether a route (or the story's feed) would send `channel` an alert of `story`
        reading `text`, of `kind`, mutes aside: what a catch-up may list there."""
        return channel in self._selected(story, text, kind)

    def _selected(
        self, story: StoryConfig, text: str, kind: str | None, *, by_keyword: bool = True
    ) -> dict[str, list[RouteConfig | None]]:
        """Channel -> the routes that select the alert (None: its feed's own `channels`, sent
        at once), channels in config order, mutes not looked at."""
        haystack = f"{story.id} {story.title or ''} {' '.join(story.aliases)} {text}"
        feed = self.feed(story.feed_id) if story.feed_id else None
        found: dict[str, list[RouteConfig | None]] = {c: [None] for c in (feed.channels if feed else ())}
        for route in self.routes:
            if route.selects(story.id, haystack, kind, feed.id if feed else None, by_keyword=by_keyword):
                for channel in route.channels:
                    found.setdefault(channel, []).append(route)
        return found

    def _routes_for(
        self, story: StoryConfig, text: str, kind: str | None, at: datetime | None, *, by_keyword: bool = True
    ) -> dict[str, list[RouteConfig | None]]:
        """`_selected`, muted channels left out."""
        found = self._selected(story, text, kind, by_keyword=by_keyword)
        if self.mutes:
            when = at or datetime.now(UTC)
            return {c: routes for c, routes in found.items() if not self.muted(story.id, c, when)}
        return found

    @cached_property
    def _mutes_by_story(self) -> dict[str, list[MuteConfig]]:
        by_story: dict[str, list[MuteConfig]] = {}
        for mute in self.mutes:
            by_story.setdefault(mute.story_id, []).append(mute)
        return by_story

    def is_admin(self, platform: str, user_id: str) -> bool:
        return f"{platform}:{user_id}" in self.storybot.admins

    def may_manage(self, platform: str, user_id: str, roles: Iterable[str] = ()) -> bool:
        """Whether a caller may track, untrack, subscribe and mute: an admin, a listed manager,
        or a holder of a listed role on that platform."""
        bot = self.storybot
        return (
            self.is_admin(platform, user_id)
            or f"{platform}:{user_id}" in bot.managers
            or any(f"{platform}:{role}" in bot.manager_roles for role in roles)
        )


CORE_TABLES = {"storybot", "stories", "feeds", "routes", "summaries"}
HELD_ONLY = ("origin", "added_by")  # model fields bot.overlay sets; config.toml may not

ConfigCheck = Callable[[Config], list[str]]
"""A check a caller adds to loading (the CLI: platform tables); returns one line per problem."""


def parse_config(data: dict[str, Any], source: str = "<config>", base_dir: Path | None = None) -> Config:
    """Validate a decoded TOML document. Raises ConfigError listing every problem."""
    core = {k: v for k, v in data.items() if k in CORE_TABLES}
    platforms = {k: v for k, v in data.items() if k not in CORE_TABLES}
    problems = [
        f"{key}: must be a table like [{key}]"
        for key, value in platforms.items()
        if not isinstance(value, dict)
    ]
    if problems:
        raise ConfigError(source, problems)
    config: Config | None = None
    try:
        config = Config(**core, platforms=platforms, base_dir=base_dir or Path("."))
    except ValidationError as err:
        problems = [_describe(e) for e in err.errors()]
    problems += _relations(core)
    if problems or config is None:
        raise ConfigError(source, problems)
    return config


def load_config(path: str | Path, checks: Iterable[ConfigCheck] = ()) -> Config:
    """Read and validate a config file, then run `checks` on it. Raises ConfigError naming the
    file and each bad key. A file that tracks no story is an error: saving an empty file by
    mistake must not stop a running bot's polling."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found (copy config.example.toml to start)"]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(str(path), [f"cannot read: {err}"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(path), [f"not valid TOML: {err}"]) from None
    no_stories = (
        []
        if data.get("stories") or data.get("feeds")
        else ["stories: no story to track (add a [[stories]] or a [[feeds]] table)"]
    )
    try:
        config = parse_config(data, str(path), path.parent.resolve())
    except ConfigError as err:
        raise ConfigError(str(path), [*err.problems, *no_stories]) from None
    problems = no_stories + [problem for check in checks for problem in check(config)]
    if problems:
        raise ConfigError(str(path), problems)
    return config


def _relations(core: dict[str, Any]) -> list[str]:
    """Rules between keys, read from the raw tables so they are reported beside field errors.
    Linear in the number of stories and routes."""
    stories, routes = _tables(core.get("stories")), _tables(core.get("routes"))
    feeds = _tables(core.get("feeds"))
    problems = [
        f"stories[{n}]: give exactly one of 'url' or 'path'"
        for n, story in stories
        if (story.get("url") is None) == (story.get("path") is None)
    ]
    problems += [
        f"{table}[{n}].{key}: unknown key (set by storybot for what chat and feeds add, not in the file)"
        for table, rows, keys in (("stories", stories, ("origin",)), ("routes", routes, HELD_ONLY))
        for n, row in rows
        for key in keys
        if key in row
    ]
    counts = Counter(_strings([story.get("id") for _, story in stories]))
    feed_ids = Counter(_strings([feed.get("id") for _, feed in feeds]))
    for table, ids in (("stories", counts), ("feeds", feed_ids)):
        dupes = sorted(key for key, count in ids.items() if count > 1)
        if dupes:
            problems.append(f"{table}: duplicate id {', '.join(dupes)}")
    for n, route in routes:
        selected, followed = _strings(route.get("stories")), _strings(route.get("feeds"))
        if not selected and not followed and not _strings(route.get("keywords")):
            problems.append(
                f"routes[{n}]: give 'stories' (ids, or \"*\" for all), 'feeds' (feed ids) or 'keywords'"
            )
        unknown = [s for s in selected if s != "*" and s not in counts]
        if unknown:
            problems.append(f"routes[{n}].stories: unknown story id {', '.join(unknown)}")
        unknown = [f for f in followed if f not in feed_ids]
        if unknown:
            problems.append(f"routes[{n}].feeds: unknown feed id {', '.join(unknown)}")
    return problems


def _tables(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """(index, table) for each table of an array of tables; whatever else is there, pydantic reports."""
    return (
        [(n, item) for n, item in enumerate(value) if isinstance(item, dict)]
        if isinstance(value, list)
        else []
    )


def _strings(values: Any) -> list[str]:
    """The non-blank strings of a list, stripped as the models strip them."""
    if not isinstance(values, list):
        return []
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _describe(error: Any) -> str:
    """Turn a pydantic error into 'stories[0].interval: must be >= 5 (got 1)'."""
    parts: list[str] = []
    for item in error["loc"]:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        else:
            parts.append(str(item))
    where = ".".join(parts)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "required key is missing"
    got = error.get("input")
    # a token pasted where an env var name belongs, a database URL with its password: never echo it
    secret = where.endswith(("_env", "database"))
    hidden = error["type"] in {"missing", "extra_forbidden"} or isinstance(got, dict) or secret
    shown = "" if hidden else f" (got {(display_url(got) if isinstance(got, str) else got)!r})"
    return (f"{where}: {message}{shown}" if where else f"{message}{shown}")[:300]
