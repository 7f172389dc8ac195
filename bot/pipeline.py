"""One poll of one story: fetch -> parse -> check -> diff -> store. Delivery happens after, from the store.

Each step is its own function elsewhere; this module only drives them and decides what a
result means. A failed fetch, a page that parses to nothing, or a page that is not
recognisably the story (an error page, a wall, a cut body: bot.sanity) is recorded and never
becomes a diff base, so an outage cannot make old sections look new afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from bot.boilerplate import MIN_STORIES, line_keys, site_of, strip_lines
from bot.config import Config, StoryConfig
from bot.corrections import Corrects, link_corrections
from bot.diff import diff
from bot.fetch import Fetcher
from bot.metrics import NO_METRICS, Metrics
from bot.model_summaries import ModelSummarizer
from bot.models import (
    AlertKind,
    Event,
    HeadlineChanged,
    NewUpdate,
    Section,
    SectionEdited,
    SectionKind,
    Story,
)
from bot.pollcache import CheckBatch, ValidatorCache
from bot.read import parse_story
from bot.routing import kind_name
from bot.sanity import first_page_reason, suspect_reason
from bot.storage import (
    EventRecord,
    FetchMeta,
    SectionRecord,
    StaleBase,
    Store,
    StoreError,
    Validators,
    now_utc,
)
from bot.summarize import summarize, summarize_edit

log = logging.getLogger(__name__)


class PollStatus(StrEnum):
    BASELINE = "baseline"  # first good version of a newly tracked story: nothing to tell
    CHANGED = "changed"  # a new version with events
    UNCHANGED = "unchanged"  # a new version (or the same bytes) with nothing worth telling
    NOT_MODIFIED = "not_modified"  # the origin answered 304
    FAILED = "failed"  # the fetch failed or the page held no story
    SUSPECT = "suspect"  # the page parsed but is not recognisably the story: kept aside, not told
    DISCARDED = "discarded"  # another poll recorded a version first: this one is dropped, a later one retries
    PAUSED = "paused"  # not polled: it failed too often in a row, until an admin resumes it


@dataclass(frozen=True, slots=True)
class PollOutcome:
    story_id: str
    status: PollStatus
    events: tuple[EventRecord, ...] = ()
    event_ids: tuple[int, ...] = ()
    error: str | None = None
    story: Story | None = field(default=None, repr=False)
    retry_after: float | None = None  # the origin asked us to stay away this many seconds
    failures: int = 0  # failed polls in a row, this one included (kept in the store)
    paused: bool = False  # this failure reached `pause_after`: no more polls until resumed


@dataclass(frozen=True, slots=True)
class PollMemo:
    """What a process keeps between polls so a 304 stays cheap (bot.pollcache). Polls given
    none ask the store for validators and record each check at once."""

    validators: ValidatorCache
    checks: CheckBatch | None = None


async def poll_story(
    story: StoryConfig,
    *,
    config: Config,
    fetcher: Fetcher,
    store: Store,
    now: datetime | None = None,
    memo: PollMemo | None = None,
    summarizer: ModelSummarizer | None = None,
    metrics: Metrics = NO_METRICS,
) -> PollOutcome:
    """Fetch, parse, diff and store one story. Never raises for bad pages or fetches
    (StoreError when the store fails). Tells `metrics` how the fetch and the poll went.

    The stored story is loaded only when the page came back with new bytes; a 304 or the
    same bytes again costs a check time, batched when `memo` has a CheckBatch. With a
    `summarizer`, new updates are summarised by a model before anything is recorded, so the
    summary is stored with its event and no later poll, retry or restart asks again."""
    try:
        outcome = await _poll(story, config, fetcher, store, now, memo, summarizer, metrics)
    except StoreError:
        metrics.polled(story.id, PollStatus.FAILED.value)
        raise
    metrics.polled(story.id, outcome.status.value)
    return outcome


async def _poll(
    story: StoryConfig,
    config: Config,
    fetcher: Fetcher,
    store: Store,
    now: datetime | None,
    memo: PollMemo | None,
    summarizer: ModelSummarizer | None,
    metrics: Metrics,
) -> PollOutcome:
    at = now or now_utc()
    memo = memo or PollMemo(ValidatorCache(remember=False))
    held = await memo.validators.get(story.id, store)
    started = time.monotonic()
    result = await fetcher.fetch(
        story.source,
        etag=held.etag if held else None,
        last_modified=held.last_modified if held else None,
    )
    metrics.fetched(time.monotonic() - started, ok=not result.failed)
    if result.not_modified or (held is not None and result.ok and result.content_hash == held.content_hash):
        if memo.checks is not None:
            memo.checks.add(story.id, at)
        else:
            await store.record_checked(story.id, at)
        return PollOutcome(story.id, PollStatus.NOT_MODIFIED if result.not_modified else PollStatus.UNCHANGED)
    if memo.checks is not None:
        memo.checks.drop(story.id)  # what is recorded below must not be followed by an older check
    if result.failed or result.text is None:
        error = result.error or "fetch failed"  # the fetcher has logged it
        return await _failed(story, config, store, at, error, result.http_status, result.retry_after)
    memo.validators.forget(story.id)
    last = await store.last_version(story.id)
    if last is not None and result.content_hash and result.content_hash == last.content_hash:
        await store.record_checked(story.id, at)
        return PollOutcome(story.id, PollStatus.UNCHANGED)

    parsed = parse_story(result.text, result.content_type)
    if parsed.is_empty:
        error = "page holds no story: " + ("; ".join(parsed.problems) or "no sections")
        log.warning("story %s: %s", story.id, error)
        return await _failed(story, config, store, at, error, result.http_status)
    if not parsed.title and story.title:
        parsed = replace(parsed, title=story.title)
    meta = FetchMeta(result.content_hash, result.etag, result.last_modified, result.http_status)
    reason = suspect_reason(last.story, parsed) if last is not None else first_page_reason(parsed)
    if reason is not None:
        if await store.record_suspect(story.id, at, reason, meta) != reason:
            log.warning("story %s: fetched page set aside, not the story: %s", story.id, reason)
        return PollOutcome(story.id, PollStatus.SUSPECT, error=reason)
    site = site_of(story.source)
    site_lines = await store.site_boilerplate(site, MIN_STORIES)
    own_lines, parsed = line_keys(parsed), strip_lines(parsed, site_lines)

    known = await store.known_fingerprints(story.id)
    rebased = last is not None and last.story.reader != parsed.reader
    if rebased:  # another reader split the stored page: its sections are no base for this one
        log.info("story %s: read by a new reader; this fetch is a new baseline", story.id)
    baseline = last is None or rebased
    events: list[Event] = []
    if last is not None and not baseline:
        events = await _newsworthy(diff(strip_lines(last.story, site_lines), parsed), story.id, store, known)
    events, links = link_corrections(events, parsed, known)
    written = await _model_summaries(events, parsed, known, summarizer) if summarizer else {}
    # in a thread: route decisions may search regexes (bot.routing), and the loop must stay free
    records: tuple[EventRecord, ...] = ()
    if events:
        records = await asyncio.to_thread(_records, events, parsed, story, config, written, links)
    try:
        event_ids = await store.record_version(
            story.id, last.id if last else None, at, meta, parsed, _sections(parsed, known, written), records
        )
    except StaleBase as stale:
        log.info("%s; this poll is dropped, the next one diffs against the new version", stale)
        return PollOutcome(story.id, PollStatus.DISCARDED)
    memo.validators.put(story.id, Validators(meta.content_hash, meta.etag, meta.last_modified))
    await store.record_site_lines(site, story.id, own_lines)
    if baseline:
        log.info(
            "story %s: now tracking (%d sections); only later changes are news",
            story.id,
            len(parsed.sections),
        )
        status = PollStatus.BASELINE
    else:
        status = PollStatus.CHANGED if records else PollStatus.UNCHANGED
    if records:
        log.info("story %s: %d new event(s)", story.id, len(records))
    return PollOutcome(story.id, status, records, tuple(event_ids), story=parsed)


async def _failed(
    story: StoryConfig,
    config: Config,
    store: Store,
    at: datetime,
    error: str,
    http_status: int | None,
    retry_after: float | None = None,
) -> PollOutcome:
    """Record a failed poll; the `pause_after`-th in a row pauses the story and queues the
    notice that tells the admins, once (the store pauses a story only once)."""
    failures = await store.record_failure(story.id, at, error, http_status)
    paused = failures >= config.storybot.pause_after
    records: tuple[EventRecord, ...] = ()
    event_ids: tuple[int, ...] = ()
    if paused:
        notice = pause_notice(failures, error, config.storybot.admin_channels)
        event_id = await store.pause_story(story.id, at, notice)
        if event_id is not None:
            log.warning("story %s: paused after %d failed polls in a row: %s", story.id, failures, error)
            if not notice.channels:
                log.warning("story %s: no [storybot] admin_channels to tell that it is paused", story.id)
            records, event_ids = (notice,), (event_id,)
    return PollOutcome(
        story.id, PollStatus.FAILED, records, event_ids, error=error, retry_after=retry_after,
        failures=failures, paused=paused,
    )  # fmt: skip


def pause_notice(failures: int, error: str, channels: tuple[str, ...]) -> EventRecord:
    """The event that becomes a Notice to the admin channels."""
    return EventRecord(
        AlertKind.STORY_PAUSED,
        headline=f"Paused after {failures} failed polls in a row",
        summary=error[:500],
        channels=channels,
    )


async def _newsworthy(events: list[Event], story_id: str, store: Store, known: set[str]) -> list[Event]:
    """Drop what the diff found but a reader would not call news."""
    # A section seen in any earlier version is never news again, whatever happened between.
    events = [e for e in events if not (isinstance(e, NewUpdate) and e.section.fingerprint in known)]
    if any(isinstance(e, NewUpdate) for e in events):
        # the update's alert carries the new headline: one alert, not two
        return [e for e in events if not isinstance(e, HeadlineChanged)]
    if any(isinstance(e, HeadlineChanged) for e in events):
        # a headline the story already had is a flip back (A/B tests), not news
        titles = await store.known_titles(story_id)
        return [e for e in events if not (isinstance(e, HeadlineChanged) and e.new in titles)]
    return events


MODEL_CALLS_PER_POLL = 3  # more new updates at once than this get extractive summaries


async def _model_summaries(
    events: list[Event], story: Story, known: set[str], summarizer: ModelSummarizer
) -> dict[str, str]:
    """The model's summary of each new update (by fingerprint), where it gave one. Asked in
    turn, each bounded by the summarizer's timeout, before the poll records anything: a crash
    before the record loses the answer with the poll, and the next poll asks again."""
    written: dict[str, str] = {}
    new = [e.section for e in events if isinstance(e, NewUpdate)][:MODEL_CALLS_PER_POLL]
    for section in new:
        before = previous_section(story, section, known)
        summary = await summarizer.summarize_update(story.title, section, summarize(before) if before else "")
        if summary:
            written[section.fingerprint] = summary
    return written


def previous_section(story: Story, new: Section, known: set[str]) -> Section | None:
    """The section a reader saw last before `new`: the newest already-known section dated no
    later than it, else the first known update in page order (pages put the latest first),
    else the original."""
    older = [s for s in story.sections if s.fingerprint in known]
    if new.timestamp is not None:
        dated = [
            (s.timestamp, n, s) for n, s in enumerate(older) if s.timestamp and s.timestamp <= new.timestamp
        ]
        if dated:
            return max(dated, key=lambda item: (item[0], -item[1]))[2]
    updates = [s for s in older if s.kind is SectionKind.UPDATE]
    candidates = updates or older
    return candidates[0] if candidates else None


def _records(
    events: list[Event],
    story: Story,
    cfg: StoryConfig,
    config: Config,
    written: dict[str, str],
    links: dict[str, Corrects],
) -> tuple[EventRecord, ...]:
    return tuple(_record(e, story, cfg, config, written, links) for e in events)


def _record(
    event: Event,
    story: Story,
    cfg: StoryConfig,
    config: Config,
    written: dict[str, str],
    links: dict[str, Corrects],
) -> EventRecord:
    """An event with its summary (the model's, when it wrote one), the channels routed to it
    (at once, or in a digest) and what it corrects."""
    match event:
        case NewUpdate(section):
            record = EventRecord(
                AlertKind.NEW_UPDATE,
                headline=section.label,
                summary=written.get(section.fingerprint) or summarize(section),
                published_at=section.timestamp,
                fingerprint=section.fingerprint,
                label=section.label,
            )
        case SectionEdited(old, new, change):
            record = EventRecord(
                AlertKind.SECTION_EDITED,
                headline=f"{new.label} edited ({change:.0%} changed)",
                summary=summarize_edit(old, new),
                published_at=new.timestamp,
                fingerprint=new.fingerprint,
                change=change,
                label=new.label,
            )
        case HeadlineChanged(old, new):
            record = EventRecord(
                AlertKind.HEADLINE_CHANGED,
                headline="Headline changed",
                summary=f"Now: {new}\nWas: {old}",
            )
    kind = kind_name(record.kind, event.section.label if isinstance(event, NewUpdate) else "")
    text = f"{story.title} {record.summary}"
    channels, held = config.alert_channels(cfg, text, kind)
    record = replace(record, channels=channels, held=tuple(held.items()))
    link = links.get(record.fingerprint or "")
    if link is None:
        return record
    return replace(record, corrects=link.alerted, revised=link.revised)


def _sections(story: Story, known: set[str], written: dict[str, str]) -> list[SectionRecord]:
    return [
        SectionRecord(
            fingerprint=s.fingerprint,
            kind=s.kind.value,
            label=s.label,
            header=s.header,
            published_at=s.timestamp,
            body=s.body,
            summary=written.get(s.fingerprint) or summarize(s),
        )
        for s in story.sections
        if s.fingerprint not in known
    ]
