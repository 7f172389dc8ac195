"""`/story ...` use cases, platform-neutral: text in, Reply out.

Finding a story tries, in order: its id, an alias or its title, a prefix only one story's
names start with, the full-text index (title, aliases, story words), then fuzzy matching so
typos are forgiven. Whatever a user types, the answer is a Reply, never an exception.

The names live in a `bot.names.NameIndex` updated in place (a config sync, a poll that saw a
new title). Fuzzy matching and updates run on one worker thread, so they never hold up the
event loop that acks Slack and Discord; exact and prefix lookups (microseconds) run on the
loop when the index is free, on the worker when it is busy.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import unicodedata
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import ParamSpec, TypeVar

from bot.config import Config
from bot.health import status_text
from bot.manage import VERBS as MANAGE_VERBS
from bot.manage import Manage, Previewer
from bot.models import Caller, Reply, ReplyKind, StoryBrief
from bot.names import NameIndex
from bot.storage import Store
from bot.textfmt import format_time, render_view

log = logging.getLogger(__name__)

MAX_QUERY = 200
FUZZY_CUTOFF = 80
SUGGEST_CUTOFF = 50
P = ParamSpec("P")
T = TypeVar("T")
HELP = (
    "/story <name or words>: the story's latest update, its summary and its timeline\n"
    "/story timeline <name>: every dated section of a story\n"
    "/story list: the stories being tracked, and whether config.toml or chat added each\n"
    "/story subscriptions: what this channel gets alerts of\n"
    "/story help: this text"
)
MANAGE_HELP = (
    "/story track <url> [as <name>]: preview a page and track it (nothing already on it is news)\n"
    "/story untrack <name>: stop tracking a story added from chat\n"
    "/story subscribe <name | keywords, comma separated> [digest 1h]: this channel gets those alerts"
    " (at once, or one message per story per period)\n"
    "/story unsubscribe <name | keywords>: it stops getting them\n"
    "/story mute <name> [for 2h]: hold a story's alerts back here (for 30m, 2h, 3d, 1w; "
    "or until unmuted)\n"
    "/story unmute <name>: hear it again"
)
ADMIN_HELP = (
    "/story poll <name>: fetch a story now (admins)\n"
    "/story status: failing and paused stories, deliveries that failed for good (admins)\n"
    "/story resume <name>: poll a story paused for failing again (admins)"
)
MAX_MANAGE = 2100  # a /story track line: a URL of up to 2,000 characters and a name


class Commands:
    """Answers /story commands from what the store holds."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        *,
        poll: Callable[[str], Awaitable[str]] | None = None,
        preview: Previewer | None = None,
        on_change: Callable[[], Awaitable[object]] | None = None,
        resume: Callable[[str], Awaitable[bool]] | None = None,
        refresh_every: float = 30.0,
    ):
        """`preview` reads a page for `/story track` (through the app's safe fetcher);
        `on_change` runs after chat changed what the store holds (the app re-derives its config)."""
        self.store = store
        self.config = config
        self.poll = poll
        self.manage = Manage(store, config, named=self.named, preview=preview, on_change=on_change)
        self._resume = resume  # the app's, which also polls the story again; else the store's
        self.refresh_every = refresh_every  # catches what other processes (workers) changed
        self.names = NameIndex()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storybot-names")
        self._lock = threading.Lock()  # held around every use of self.names
        weakref.finalize(self, self._worker.shutdown, wait=False)
        self._synced_at: float | None = None  # None: never synced, or invalidated
        self._sync_lock = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None

    def invalidate(self) -> None:
        """Stories may have changed in ways nobody noted: sync the names on next use."""
        self._synced_at = None

    async def sync(self) -> int:
        """Bring the names in line with the store's stories, touching only stories whose
        names changed (a config reload calls this). Returns how many changed."""
        asked = time.monotonic()
        async with self._sync_lock:
            if self._synced_at is not None and self._synced_at >= asked:
                return 0  # a sync that started after we asked has just finished
            briefs = await self.store.stories()
            changed = await self._work(self.names.sync, briefs)
            self._synced_at = time.monotonic()
            return changed

    def note_title(self, story_id: str, title: str, updated: datetime | None = None) -> None:
        """A poll saw this title: the story's names are re-indexed only if it is new."""
        if self._synced_at is not None:
            self._worker.submit(self._note, story_id, title, updated)

    def _note(self, story_id: str, title: str, updated: datetime | None) -> None:
        try:
            with self._lock:
                self.names.note(story_id, title, updated)
        except Exception:
            log.exception("name index: cannot note %s's title", story_id)

    async def _work(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn` on the worker thread, holding the name index's lock."""

        def locked() -> T:
            with self._lock:
                return fn(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self._worker, locked)

    async def _quick(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a cheap `fn` right here if the index is free (no thread hop), else on the worker."""
        if self._lock.acquire(blocking=False):
            try:
                return fn(*args, **kwargs)
            finally:
                self._lock.release()
        return await self._work(fn, *args, **kwargs)

    async def handle(self, text: str, caller: Caller) -> Reply:
        try:
            verb, _, rest = clean_query(text, MAX_MANAGE).partition(" ")
            if verb.casefold() in MANAGE_VERBS:
                return await self.manage.handle(verb.casefold(), rest, caller)
            return await self._handle(clean_query(text), caller)
        except Exception:
            log.exception("command failed")
            return Reply(
                ReplyKind.ERROR, "Sorry, something went wrong answering that. Try again in a moment."
            )

    async def complete(self, prefix: str, limit: int = 25) -> list[StoryBrief]:
        """Autocomplete: stories whose id, alias or title start with or resemble `prefix`."""
        names = await self._names()
        query = clean_query(prefix)
        return await self._work(_completions, names, query, limit)

    async def named(self, query: str) -> str | None:
        """The story a query names exactly (id, alias, title) or by a prefix only it has: never
        a guess, so what chat changes is the story the user meant."""
        names = await self._names()
        return await self._quick(_named, names, clean_query(query))

    async def resolve(self, query: str) -> tuple[str | None, list[str]]:
        """The story a query names, or None with suggestions."""
        names = await self._names()
        named = await self._quick(_named, names, query)
        if named is not None:
            return named, []
        hits, near = await asyncio.gather(
            self.store.search(query, limit=5),
            self._work(names.fuzzy, query, 3, SUGGEST_CUTOFF, FUZZY_CUTOFF),
        )
        hits = [i for i in hits if i in names.briefs]
        if hits:
            return hits[0], []
        if near and near[0][1] >= FUZZY_CUTOFF:
            return near[0][0], []
        return None, [story_id for story_id, _ in near]

    async def _handle(self, text: str, caller: Caller) -> Reply:
        verb, _, rest = text.partition(" ")
        verb = verb.casefold()
        if verb in {"", "help", "list"}:
            return await self._list(with_help=verb != "list", caller=caller)
        if verb == "timeline":
            return await self._story(rest.strip(), ReplyKind.TIMELINE)
        if verb in {"poll", "status", "resume"}:
            return await self._admin(verb, rest.strip(), caller)
        return await self._story(text, ReplyKind.STORY)

    async def _story(self, query: str, kind: ReplyKind) -> Reply:
        if not query:
            return Reply(ReplyKind.HELP, "Which story? Try `/story list`.\n" + HELP)
        story_id, suggestions = await self.resolve(query)
        if story_id is None:
            return await self._not_found(query, suggestions)
        view = await self.store.story_view(story_id)
        if view is None:
            return await self._not_found(query, suggestions)
        return Reply(kind, render_view(view, full=kind is ReplyKind.TIMELINE), story=view)

    async def _not_found(self, query: str, suggestion_ids: list[str]) -> Reply:
        known = (await self._names()).briefs
        briefs = tuple(known[i] for i in suggestion_ids if i in known)
        shown = re.sub(r"[^\w .,'-]", "", query)[:60].strip()
        text = f"No tracked story matches \u201c{shown}\u201d."
        if briefs:
            text += " Did you mean: " + ", ".join(f"{b.title} ({b.id})" for b in briefs) + "?"
        else:
            text += " `/story list` shows what is tracked."
        return Reply(ReplyKind.NOT_FOUND, text, stories=briefs)

    async def _list(self, *, with_help: bool, caller: Caller) -> Reply:
        names = await self._names()
        briefs = tuple(await self._work(names.ordered))
        lines = [f"Tracking {len(briefs)} stor{'y' if len(briefs) == 1 else 'ies'}:"] if briefs else []
        config = self.config()
        briefs = tuple(replace(b, origin=origin_label(config, b.id)) for b in briefs)
        lines += [
            f"- {b.title} ({b.id})"
            + (f", updated {format_time(b.updated)}" if b.updated else "")
            + f" [{b.origin}]"
            for b in briefs
        ]
        if with_help:
            lines += ["", HELP]
            if config.may_manage(caller.platform, caller.user_id, caller.roles) or caller.operator:
                lines.append(MANAGE_HELP)
            if config.is_admin(caller.platform, caller.user_id):
                lines.append(ADMIN_HELP)
        return Reply(ReplyKind.HELP if with_help else ReplyKind.LIST, "\n".join(lines), stories=briefs)

    async def _admin(self, verb: str, rest: str, caller: Caller) -> Reply:
        if not self.config().is_admin(caller.platform, caller.user_id):
            return Reply(ReplyKind.ERROR, f"`/story {verb}` is for admins listed in config.toml.")
        if verb == "status":
            return Reply(ReplyKind.ADMIN, await status_text(self.store))  # fresh from the store
        story_id, _ = await self.resolve(rest) if rest else (None, [])
        if verb == "resume":
            if story_id is None:
                return Reply(ReplyKind.ERROR, "Name a tracked story to resume, e.g. `/story resume kherson`.")
            if not await (self._resume or self.store.resume_story)(story_id):
                return Reply(ReplyKind.ADMIN, f"{story_id} is not paused.")
            return Reply(ReplyKind.ADMIN, f"Resumed {story_id}: polled again, its failure count cleared.")
        if story_id is None or self.poll is None:
            return Reply(ReplyKind.ERROR, "Name a tracked story to poll, e.g. `/story poll kherson`.")
        outcome = await self.poll(story_id)
        self.invalidate()
        return Reply(ReplyKind.ADMIN, f"Polled {story_id}: {outcome}")

    async def _names(self) -> NameIndex:
        """The name index, synced on first use; refreshed in the background once it is
        `refresh_every` old, so no command waits for a refresh."""
        if self._synced_at is None:
            await self.sync()
        elif time.monotonic() - self._synced_at > self.refresh_every and self._refresh is None:
            self._refresh = asyncio.create_task(self._background_sync())
        return self.names

    async def _background_sync(self) -> None:
        try:
            await self.sync()
        except Exception:
            log.exception("name index: refresh failed; the names in memory stay in use")
            self._synced_at = time.monotonic()  # try again after another refresh_every
        finally:
            self._refresh = None


def _named(names: NameIndex, query: str) -> str | None:
    """The cheap paths: an exact id, alias or title, then a prefix of one story's names."""
    return names.exact(query) or names.unique_prefix(query)


def _completions(names: NameIndex, query: str, limit: int) -> list[StoryBrief]:
    if not query:
        return names.ordered()[:limit]
    starts = names.starting(query, limit)
    near = [story_id for story_id, _ in names.fuzzy(query, limit, SUGGEST_CUTOFF)]
    ranked = list(dict.fromkeys(starts + near))[:limit]
    return [names.briefs[i] for i in ranked]


_MENTION = re.compile(r"<[@!#][^>]*>|@(?:everyone|here)\b", re.IGNORECASE)


def clean_query(text: str, limit: int = MAX_QUERY) -> str:
    """What a query means, minus what could hurt: control characters, mention syntax, excess."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text[: limit * 4])
    text = _MENTION.sub(" ", text).replace("<", " ").replace(">", " ").replace("@", " ")
    return " ".join(text.split())[:limit]


def origin_label(config: Config, story_id: str) -> str:
    """Who added a story, for `/story list`: config.toml, chat, or its feed."""
    story = config.story(story_id)
    origin = story.origin if story else "config"
    return {"config": "config.toml", "chat": "chat"}.get(origin, origin.replace(":", " "))
