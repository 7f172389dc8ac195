"""`/story track|untrack|subscribe|unsubscribe|mute|unmute|subscriptions`: what chat and the CLI
add beside config.toml, platform-neutral: text in, Reply out.

Everything added is written to the store (bot.storage.contract.HeldRoutes); `on_change` then
re-derives the config the app runs on (bot.overlay), so a tracked story is polled, and a
subscribed channel alerted, by the same pipeline as config.toml's. Who may change anything is
config (`Config.may_manage`); listing what a channel gets is open to everyone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.config import CHANNEL, STORY_ID, UNIT_SECONDS, Config, StoryConfig, digest_seconds
from bot.models import Caller, Reply, ReplyKind
from bot.preview import FetchFailed, Preview, render_brief
from bot.redact import display_url
from bot.sources import url_refusal
from bot.storage import HeldStory, Mute, Store, Subscription, now_utc
from bot.textfmt import format_time

VERBS = frozenset({"track", "untrack", "subscribe", "unsubscribe", "mute", "unmute", "subscriptions"})
CHANGES = VERBS - {"subscriptions"}
MAX_URL = 2000
MAX_KEYWORDS = 10
MAX_MUTE = timedelta(days=365)
BASELINE = (
    "Baseline: nothing already on the page is news. The first poll stores what is there now; "
    "alerts go out only for dated updates added after it."
)
_DIGEST = re.compile(r"^(?P<target>.*?)\s+digest\b(?P<period>.*)$", re.IGNORECASE | re.DOTALL)
_DURATION = re.compile(r"^(\d{1,6})\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)$")


Previewer = Callable[[str], Awaitable[Preview]]
Finder = Callable[[str], Awaitable[str | None]]


class Manage:
    """The use cases that change what is tracked and who is told."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        *,
        named: Finder,
        preview: Previewer | None = None,
        on_change: Callable[[], Awaitable[object]] | None = None,
        clock: Callable[[], datetime] = now_utc,
    ):
        self.store = store
        self.config = config
        self.named = named  # a name, alias, title or unique prefix -> story id; never a guess
        self.preview = preview
        self.on_change = on_change
        self.clock = clock

    async def handle(self, verb: str, rest: str, caller: Caller) -> Reply:
        if verb in CHANGES and not self._permitted(caller):
            return _error(
                f"`/story {verb}` is for the admins and managers config.toml lists "
                "([storybot] admins, managers, manager_roles). Ask one of them."
            )
        if verb == "track":
            return await self.track(rest, caller)
        if verb == "untrack":
            return await self.untrack(rest)
        channel = caller.channel
        if channel is None or not CHANNEL.match(channel):
            return _error(f"`/story {verb}` works in a channel (on the CLI: --channel platform:id).")
        if verb == "subscriptions":
            return self.subscriptions(channel)
        if verb in {"subscribe", "unsubscribe"}:
            return await self.subscribe(rest, channel, caller, add=verb == "subscribe")
        return await self.mute(rest, channel, caller, on=verb == "mute")

    # --- stories ----------------------------------------------------------------------

    async def track(self, rest: str, caller: Caller) -> Reply:
        url, said_as, name = _split_as(rest)
        if not re.match(r"^https?://[^\s/]+", url) or len(url) > MAX_URL or (name and not said_as):
            return _error("Give the page's http(s) address: `/story track <url> [as <name>]`.")
        config = self.config()
        refused = url_refusal(url, config)
        if refused:
            return _error(f"Cannot track {display_url(url)}: {refused}.")
        same = next((s for s in config.stories if s.url == url), None)
        if same is not None:
            return _error(f"Already tracked as `{same.id}` ({_origin(same)}).")
        wanted = slug(name) if name else ""
        if name and not wanted:
            return _error(f"“{name[:60]}” makes no usable name: use letters or digits.")
        taken = config.story(wanted) if wanted else None
        if taken is not None:
            where = "config.toml declares" if taken.origin == "config" else "there is already"
            return _error(f"Cannot track as `{wanted}`: {where} a story `{wanted}`. Choose another name.")
        if self.preview is None:
            return _error("Tracking from here needs a running storybot.")
        try:
            found = await self.preview(url)
        except FetchFailed as err:
            return _error(f"Cannot track {display_url(url)}: the fetch failed: {err}")
        if not found.ok:
            return _error(
                f"Cannot track {display_url(url)}: storybot reads no dated sections on it, so there "
                f"is nothing to follow.\n{render_brief(found)}"
            )
        story_id = wanted or _unique(_derived_id(found, url), config)
        aliases = (name.casefold(),) if name and name.casefold() != story_id else ()
        held = HeldStory(story_id, url=url, title=found.story.title, aliases=aliases, added_by=caller.ref)
        if not await self.store.add_held_story(held):
            return _error(f"`{story_id}` was tracked a moment ago; try `/story {story_id}`.")
        await self._changed()
        title = found.story.title or story_id
        return Reply(
            ReplyKind.ADMIN,
            f"Now tracking “{title}” as `{story_id}` (added by {caller.ref}).\n"
            f"What storybot reads on the page:\n{render_brief(found)}\n{BASELINE}\n"
            f"To get its alerts in a channel: `/story subscribe {story_id}` there.",
        )

    async def untrack(self, rest: str) -> Reply:
        story = await self._story(rest)
        if story is None:
            return _error("Name a tracked story: `/story untrack <name>` (`/story list` shows them).")
        if story.origin == "config":
            return _error(f"`{story.id}` is declared in config.toml: remove it there.")
        if story.origin != "chat":
            return _error(
                f"`{story.id}` comes from {story.origin}: it is followed until its window ends, "
                "or until the feed leaves config.toml."
            )
        await self.store.remove_held_story(story.id)
        await self._changed()
        return Reply(
            ReplyKind.ADMIN,
            f"Stopped tracking `{story.id}`; its subscriptions and mutes went with it. "
            "What was stored of it stays.",
        )

    # --- channels ---------------------------------------------------------------------

    async def subscribe(self, rest: str, channel: str, caller: Caller, *, add: bool) -> Reply:
        verb = "subscribe" if add else "unsubscribe"
        target, digest = _split_digest(rest)
        if digest is None:
            return _error(
                "Say the digest period as `digest 30m`, `digest 2h` or `digest 1d` (from 1m to 7d), "
                "or `digest immediate` for each alert at once."
            )
        if not target:
            return _error(f"`/story {verb} <name>` or `/story {verb} <keywords, comma separated>`.")
        story = await self._story(target)
        keywords = () if story else _keywords(target)
        if story is None and not keywords:
            return _error("Keywords need three letters or more each.")
        config = self.config()
        what = f"`{story.id}`" if story else "stories mentioning " + " or ".join(f"“{k}”" for k in keywords)
        by_file = story is not None and any(
            channel in r.channels and (story.id in r.stories or "*" in r.stories)
            for r in config.routes
            if r.origin == "config"
        )
        story_id = story.id if story else ""
        if add:
            if by_file:
                return Reply(
                    ReplyKind.ADMIN, f"This channel already gets {what}: config.toml routes it here."
                )
            sub = Subscription(channel, story_id, keywords, added_by=caller.ref, digest=digest)
            how = _how(digest)
            if not await self.store.add_subscription(sub):
                return Reply(ReplyKind.ADMIN, f"This channel is already subscribed to {what}{how}.")
            await self._changed()
            muted = story is not None and self._muted_until(story.id, channel) is not False
            note = " It is muted here for now: `/story unmute` to hear it." if muted else ""
            return Reply(ReplyKind.ADMIN, f"This channel ({channel}) now gets alerts of {what}{how}.{note}")
        if await self.store.remove_subscription(channel, story_id, keywords):
            await self._changed()
            if story is not None and not self._routed(story, channel):
                await self.store.drop_queued(story.id, channel)  # an open digest, a post waiting its turn
            return Reply(ReplyKind.ADMIN, f"This channel no longer gets alerts of {what}.")
        if by_file:
            return _error(f"config.toml routes {what} here: edit it there, or `/story mute` it.")
        return _error(f"This channel is not subscribed to {what}. `/story subscriptions` lists what it gets.")

    async def mute(self, rest: str, channel: str, caller: Caller, *, on: bool) -> Reply:
        name, duration = _split_for(rest) if on else (rest.strip(), None)
        if duration is False:
            return _error("Say how long as `for 30m`, `for 2h`, `for 3d` or `for 1w` (a year at most).")
        story = await self._story(name)
        if story is None:
            return _error(
                f"Name a tracked story: `/story {'mute' if on else 'unmute'} <name>` (`/story list`)."
            )
        if not on:
            if await self.store.remove_mute(story.id, channel):
                await self._changed()
                return Reply(ReplyKind.ADMIN, f"`{story.id}` is unmuted here.")
            return _error(f"`{story.id}` is not muted here.")
        until = self.clock() + duration if isinstance(duration, timedelta) else None
        await self.store.set_mute(Mute(story.id, channel, until, caller.ref))
        await self._changed()
        when = f"until {format_time(until)}" if until else "until `/story unmute`"
        return Reply(ReplyKind.ADMIN, f"`{story.id}` is muted here {when}.")

    def subscriptions(self, channel: str) -> Reply:
        """What this channel gets: config.toml's routes, chat's subscriptions, and its mutes."""
        config = self.config()
        lines: list[str] = []
        for route in config.routes:
            if channel not in route.channels:
                continue
            names = ["every story" if s == "*" else f"`{s}`" for s in route.stories]
            names += [f"stories mentioning “{k}”" for k in route.keywords]
            source = "config.toml" if route.origin == "config" else f"chat, by {route.added_by or 'unknown'}"
            lines.append(f"- {', '.join(names)}{_how(route.digest)} ({source})")
        now = self.clock()
        mutes = [m for m in config.mutes if m.channel == channel and m.active(now)]
        lines += [
            f"- muted: `{m.story_id}` " + (f"until {format_time(m.until)}" if m.until else "until unmuted")
            for m in mutes
        ]
        head = f"This channel ({channel}) gets:" if lines else f"This channel ({channel}) gets no alerts."
        return Reply(ReplyKind.LIST, "\n".join([head, *lines]))

    # --- helpers ----------------------------------------------------------------------

    def _permitted(self, caller: Caller) -> bool:
        return caller.operator or self.config().may_manage(caller.platform, caller.user_id, caller.roles)

    async def _story(self, name: str) -> StoryConfig | None:
        name = name.strip()
        if not name:
            return None
        config = self.config()
        story = config.story(name.casefold())
        if story is None:
            story_id = await self.named(name)
            story = config.story(story_id) if story_id else None
        return story

    def _routed(self, story: StoryConfig, channel: str) -> bool:
        """Whether a route may still send the story's alerts to `channel`: by name, "*" or
        feed, or any keyword route to it (its keywords are matched per alert)."""
        config = self.config()
        return channel in config.standing_channels(story) or any(
            channel in r.channels for r in config.routes if r.keywords
        )

    def _muted_until(self, story_id: str, channel: str) -> datetime | None | bool:
        """When the channel's mute of the story ends (None: never), or False if not muted."""
        now = self.clock()
        for mute in self.config().mutes:
            if mute.story_id == story_id and mute.channel == channel and mute.active(now):
                return mute.until
        return False

    async def _changed(self) -> None:
        if self.on_change is not None:
            await self.on_change()


def slug(text: str, limit: int = 48) -> str:
    """A story id made from a name or title: ASCII letters and digits joined by '-', cut at a
    word boundary under `limit`. '' when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.casefold())
    out = ""
    for word in words:
        candidate = f"{out}-{word}" if out else word
        if len(candidate) > limit:
            break
        out = candidate
    out = out or (words[0][:limit] if words else "")
    return out if re.match(STORY_ID, out) else ""


def _derived_id(found: Preview, url: str) -> str:
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    from_path = slug(re.sub(r"\.[a-z]{2,5}$", "", segments[-1])) if segments else ""
    return slug(found.story.title, 40) or from_path or slug(parts.hostname or "") or "story"


def _unique(story_id: str, config: Config) -> str:
    """`story_id`, or `story_id-2`, `-3`... the first no story has."""
    if config.story(story_id) is None:
        return story_id
    n = 2
    while config.story(f"{story_id}-{n}") is not None:
        n += 1
    return f"{story_id}-{n}"


def _split_as(rest: str) -> tuple[str, str, str]:
    """'<url> as <name>' -> (url, 'as', name). Slack may wrap a link as <url|label>."""
    url, _, tail = rest.strip().partition(" ")
    url = url.strip("<>").split("|", 1)[0]
    keyword, _, name = tail.strip().partition(" ")
    if keyword.casefold() != "as":
        return url, "", tail.strip()
    return url, "as", name.strip()


def _split_for(rest: str) -> tuple[str, timedelta | None | bool]:
    """'<name> for 2h' -> (name, 2 hours); no 'for': (name, None); a bad duration: False."""
    name, sep, duration = rest.strip().rpartition(" for ")
    if not sep:
        return rest.strip(), None
    found = _DURATION.match(duration.strip().casefold())
    if not found:
        return name.strip(), False
    span = timedelta(seconds=int(found[1]) * UNIT_SECONDS[found[2][0]])
    return name.strip(), span if timedelta(0) < span <= MAX_MUTE else False


def _split_digest(rest: str) -> tuple[str, str | None]:
    """'<target> digest 1h' -> (target, '1h'); no 'digest': (target, 'immediate'); a period
    a route's `digest` would refuse (or none): (target, None)."""
    found = _DIGEST.match(rest.strip())
    if not found:
        return rest.strip(), "immediate"
    period = " ".join(found["period"].split()).casefold()
    try:
        digest_seconds(period)
    except ValueError:
        return found["target"], None
    return found["target"], period


def _how(digest: str) -> str:
    """How a channel gets a route's alerts, said after what it gets ('' when at once)."""
    return "" if digest == "immediate" else f", one digest per story every {digest}"


def _keywords(text: str) -> tuple[str, ...]:
    phrases = [" ".join(p.split()).casefold() for p in text.split(",")]
    if any(len(p) < 3 for p in phrases):
        return ()
    return tuple(dict.fromkeys(phrases))[:MAX_KEYWORDS]


def _origin(story: StoryConfig) -> str:
    return {"config": "config.toml", "chat": "added from chat"}.get(story.origin, story.origin)


def _error(text: str) -> Reply:
    return Reply(ReplyKind.ERROR, text)
