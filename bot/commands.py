"""`/story ...` use cases, platform-neutral: text in, Reply out.

Finding a story tries, in order: its id or an alias, the full-text index (title, aliases,
story words), then fuzzy matching so typos are forgiven. Whatever a user types, the answer
is a Reply, never an exception.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from bot.config import Config
from bot.models import Reply, ReplyKind, StoryBrief
from bot.storage import Store
from bot.textfmt import format_time, render_view

log = logging.getLogger(__name__)

MAX_QUERY = 200
FUZZY_CUTOFF = 80
SUGGEST_CUTOFF = 50
SHORTLIST = 200
HELP = (
    "/story <name or words>: the story's latest update, its summary and its timeline\n"
    "/story timeline <name>: every dated section of a story\n"
    "/story list: the stories being tracked\n"
    "/story help: this text"
)
ADMIN_HELP = "/story poll <name>: fetch a story now (admins)\n/story status: fetch health (admins)"


@dataclass(frozen=True, slots=True)
class Caller:
    platform: str
    user_id: str
    channel_id: str | None = None


class StoryIndex:
    """Names users may call stories by: ids, aliases, titles. Rebuilt when stories change."""

    def __init__(self, briefs: list[StoryBrief]):
        self.briefs = {b.id: b for b in briefs}
        self.exact: dict[str, str] = {}
        self.names: list[str] = []
        self.owners: list[str] = []
        for b in briefs:
            for name in (b.id, *b.aliases, b.title):
                key = name.casefold()
                self.exact.setdefault(key, b.id)
                self.names.append(utils.default_process(name))
                self.owners.append(b.id)

    def fuzzy(self, query: str, limit: int, cutoff: float) -> list[tuple[str, float]]:
        """(story id, score) for names like `query`, best first, each story once.

        WRatio (which forgives typos inside long titles) is costly over tens of thousands of
        names, so a cheap QRatio pass picks the SHORTLIST it then ranks."""
        query = utils.default_process(query)
        names = self.names
        if len(names) > SHORTLIST:
            picked = process.extract(query, names, scorer=fuzz.QRatio, processor=None, limit=SHORTLIST)
            indexes = [index for _, _, index in picked]
        else:
            indexes = list(range(len(names)))
        hits = process.extract(
            query,
            [names[i] for i in indexes],
            scorer=fuzz.WRatio,
            processor=None,
            limit=limit * 4,
            score_cutoff=cutoff,
        )
        found: dict[str, float] = {}
        for _, score, position in hits:
            found.setdefault(self.owners[indexes[position]], score)
        return list(found.items())[:limit]


class Commands:
    """Answers /story commands from what the store holds."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        *,
        poll: Callable[[str], Awaitable[str]] | None = None,
        refresh_every: float = 30.0,
    ):
        self.store = store
        self.config = config
        self.poll = poll
        self.refresh_every = refresh_every
        self._index: StoryIndex | None = None
        self._built_at = 0.0

    def invalidate(self) -> None:
        """Stories or titles changed: rebuild the name index on next use."""
        self._index = None

    def note_title(self, story_id: str, title: str) -> None:
        """A poll saw this title: rebuild the name index only if users would find it by a new name."""
        brief = self._index.briefs.get(story_id) if self._index else None
        if self._index is not None and (brief is None or brief.title != (title or story_id)):
            self.invalidate()

    async def handle(self, text: str, caller: Caller) -> Reply:
        try:
            return await self._handle(clean_query(text), caller)
        except Exception:
            log.exception("command failed")
            return Reply(
                ReplyKind.ERROR, "Sorry, something went wrong answering that. Try again in a moment."
            )

    async def complete(self, prefix: str, limit: int = 25) -> list[StoryBrief]:
        """Autocomplete: stories whose id, alias or title start with or resemble `prefix`."""
        index = await self._stories()
        query = clean_query(prefix).casefold()
        if not query:
            return list(index.briefs.values())[:limit]
        starts = [
            b.id
            for b in index.briefs.values()
            if any(n.casefold().startswith(query) for n in (b.id, *b.aliases, b.title))
        ]
        fuzzy = [story_id for story_id, _ in index.fuzzy(query, limit, SUGGEST_CUTOFF)]
        ranked = list(dict.fromkeys(starts + fuzzy))
        return [index.briefs[i] for i in ranked[:limit]]

    async def resolve(self, query: str) -> tuple[str | None, list[str]]:
        """The story a query names, or None with suggestions."""
        index = await self._stories()
        key = query.casefold()
        if key in index.exact:
            return index.exact[key], []
        active = set(index.briefs)
        hits = [i for i in await self.store.search(query, limit=5) if i in active]
        if hits:
            return hits[0], []
        near = index.fuzzy(query, 3, SUGGEST_CUTOFF)
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
        if verb in {"poll", "status"}:
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
        index = await self._stories()
        briefs = tuple(index.briefs[i] for i in suggestion_ids)
        shown = re.sub(r"[^\w .,'-]", "", query)[:60].strip()
        text = f"No tracked story matches \u201c{shown}\u201d."
        if briefs:
            text += " Did you mean: " + ", ".join(f"{b.title} ({b.id})" for b in briefs) + "?"
        else:
            text += " `/story list` shows what is tracked."
        return Reply(ReplyKind.NOT_FOUND, text, stories=briefs)

    async def _list(self, *, with_help: bool, caller: Caller) -> Reply:
        briefs = tuple((await self._stories()).briefs.values())
        lines = [f"Tracking {len(briefs)} stor{'y' if len(briefs) == 1 else 'ies'}:"] if briefs else []
        lines += [
            f"- {b.title} ({b.id})" + (f", updated {format_time(b.updated)}" if b.updated else "")
            for b in briefs
        ]
        if with_help:
            lines += ["", HELP]
            if self.config().is_admin(caller.platform, caller.user_id):
                lines.append(ADMIN_HELP)
        return Reply(ReplyKind.HELP if with_help else ReplyKind.LIST, "\n".join(lines), stories=briefs)

    async def _admin(self, verb: str, rest: str, caller: Caller) -> Reply:
        if not self.config().is_admin(caller.platform, caller.user_id):
            return Reply(ReplyKind.ERROR, f"`/story {verb}` is for admins listed in config.toml.")
        if verb == "status":
            briefs = await self.store.stories()  # fresh: fetch health is what status is asked for
            lines = [
                f"- {b.id}: last good fetch {format_time(b.updated) if b.updated else 'never'}"
                + (f"; last fetch suspect: {b.suspect}" if b.suspect else "")
                for b in briefs
            ]
            return Reply(ReplyKind.ADMIN, "Story status:\n" + "\n".join(lines))
        story_id, _ = await self.resolve(rest) if rest else (None, [])
        if story_id is None or self.poll is None:
            return Reply(ReplyKind.ERROR, "Name a tracked story to poll, e.g. `/story poll kherson`.")
        outcome = await self.poll(story_id)
        self.invalidate()
        return Reply(ReplyKind.ADMIN, f"Polled {story_id}: {outcome}")

    async def _stories(self) -> StoryIndex:
        if self._index is None or time.monotonic() - self._built_at > self.refresh_every:
            self._index = StoryIndex(await self.store.stories())
            self._built_at = time.monotonic()
        return self._index


_MENTION = re.compile(r"<[@!#][^>]*>|@(?:everyone|here)\b", re.IGNORECASE)


def clean_query(text: str) -> str:
    """What a query means, minus what could hurt: control characters, mention syntax, excess."""
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text[: MAX_QUERY * 4])
    text = _MENTION.sub(" ", text).replace("<", " ").replace(">", " ").replace("@", " ")
    return " ".join(text.split())[:MAX_QUERY]
