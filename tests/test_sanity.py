"""Is this the story? Junk pages alert nothing, before or after recovery; real changes still do.

The corpus (tests/fixtures/gate/) is hand-written HTML served by the loopback origin and read
by the real fetcher, reader, check, diff and store. The threshold tests sit on both sides of
each threshold in bot.sanity.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalog import sync_catalog
from bot.commands import Caller, Commands
from bot.config import Config, parse_config
from bot.deliver import Dispatcher
from bot.fetch import Fetcher, make_client
from bot.models import AlertKind, Section, SectionKind, Story
from bot.netpolicy import LOOPBACK_ONLY
from bot.pipeline import PollOutcome, PollStatus, poll_story
from bot.sanity import RESEMBLANCE, SHORTER, first_page_reason, suspect_reason
from bot.storage import Store, open_store
from tests.helpers import LOCAL_SOURCES
from tests.origin import Origin, Response
from tests.recording import RecordingSender

pytestmark = pytest.mark.timeout(60)

GATE = Path(__file__).parent / "fixtures" / "gate"
JUNK = ["error", "paywall", "consent", "truncated", "reordered"]
STATUS = Caller("rec", "U1")
TITLE = "Harbor Bridge Closed After Barge Strike"


def gate_config(tmp_path: Path, url: str) -> Config:
    return parse_config(
        {
            "storybot": {"database": str(tmp_path / "s.db"), "admins": ["rec:U1"], **LOCAL_SOURCES},
            "stories": [{"id": "bridge", "url": url}],
            "routes": [{"stories": ["bridge"], "channels": ["rec:A"]}],
        },
        "test",
        tmp_path,
    )


class Serve:
    """Serve a fixture page at the story's URL and poll it through the real pipeline."""

    def __init__(self, origin: Origin, config: Config, store: Store, fetcher: Fetcher):
        self.origin, self.config, self.store, self.fetcher = origin, config, store, fetcher

    async def __call__(self, name: str) -> PollOutcome:
        self.origin.set("/bridge", Response(body=(GATE / f"{name}.html").read_bytes()))
        story = self.config.stories[0]
        return await poll_story(story, config=self.config, fetcher=self.fetcher, store=self.store)


@pytest.fixture
async def serve(tmp_path: Path, origin: Origin):  # type: ignore[no-untyped-def]
    config = gate_config(tmp_path, origin.url("/bridge"))
    async with await open_store(config.database({})) as store:
        await sync_catalog(store, config)
        async with make_client(timeout=2, policy=LOOPBACK_ONLY) as client:
            yield Serve(origin, config, store, Fetcher(client, base_dir=tmp_path))


async def sent(store: Store, sender: RecordingSender) -> list[str]:
    """Deliver what is due; the headlines posted by this round."""
    before = len(sender.posted)
    await Dispatcher(store, {"rec": sender}).deliver_pending()
    return [alert.headline for _, alert, _ in sender.posted[before:]]


async def junk_then_recovery(serve: Serve, good: str, sender: RecordingSender) -> None:
    for junk in JUNK:
        await serve(junk)
        assert await sent(serve.store, sender) == [], junk
        await serve(good)
        assert await sent(serve.store, sender) == [], f"recovery from {junk}"


async def test_junk_pages_alert_nothing_and_real_changes_alert_once(serve: Serve) -> None:
    sender = RecordingSender()
    assert (await serve("story")).status is PollStatus.BASELINE
    await junk_then_recovery(serve, "story", sender)
    retitled = await serve("story-retitled")
    assert [e.kind for e in retitled.events] == [AlertKind.HEADLINE_CHANGED]
    assert await sent(serve.store, sender) == ["Headline changed"]
    await junk_then_recovery(serve, "story-retitled", sender)
    updated = await serve("story-update")
    assert [e.kind for e in updated.events] == [AlertKind.NEW_UPDATE]
    assert len(await sent(serve.store, sender)) == 1
    await junk_then_recovery(serve, "story-update", sender)
    assert len(sender.posted) == 2


@pytest.mark.parametrize("junk", ["error", "paywall", "consent", "truncated"])
async def test_a_suspect_page_is_kept_aside_with_its_reason_and_never_shown(serve: Serve, junk: str) -> None:
    await serve("story")
    outcome = await serve(junk)
    assert outcome.status is PollStatus.SUSPECT and outcome.error
    assert await serve.store.suspect_fetches("bridge") == [outcome.error]
    view = await serve.store.story_view("bridge")
    assert view is not None and view.title == TITLE
    commands = Commands(serve.store, lambda: serve.config)
    status = (await commands.handle("status", STATUS)).text
    assert f"last fetch suspect: {outcome.error}" in status
    for junk_title in ("Service unavailable", "Before you continue", "Subscribe"):
        assert junk_title not in status
    await serve("story")
    assert "suspect" not in (await commands.handle("status", STATUS)).text


async def test_reordered_paragraphs_are_no_edit(serve: Serve) -> None:
    await serve("story")
    reordered = await serve("reordered")
    assert reordered.status is PollStatus.UNCHANGED and reordered.events == ()


async def test_a_corrected_original_still_alerts(serve: Serve) -> None:
    await serve("story")
    corrected = await serve("story-corrected")
    assert [e.kind for e in corrected.events] == [AlertKind.SECTION_EDITED]


# --- thresholds, from both sides -----------------------------------------------------------


def story(*paragraphs: str, title: str = TITLE, **extra: Section) -> Story:
    sections = (Section(SectionKind.ORIGINAL, "", None, paragraphs), *extra.values())
    return Story(title=title, sections=sections)


WORDS = [f"word{i}" for i in range(200)]
LAST = story(" ".join(WORDS[:100]))


def keeping(kept: int) -> Story:
    """A page of the same length whose first `kept` words are the story's, the rest new."""
    return story(" ".join(WORDS[:kept] + [f"other{i}" for i in range(100 - kept)]))


def test_resemblance_threshold() -> None:
    assert RESEMBLANCE == 0.3
    assert suspect_reason(LAST, keeping(36)) is None  # 34 of 98 shingles shared: 0.35
    reason = suspect_reason(LAST, keeping(26))  # 24 of 98: 0.24
    assert reason is not None and "does not resemble" in reason


def test_length_threshold_and_the_publisher_saying_why() -> None:
    assert SHORTER == 0.5
    assert suspect_reason(LAST, story(" ".join(WORDS[:55]))) is None
    reason = suspect_reason(LAST, story(" ".join(WORDS[:45])))
    assert reason is not None and "45% of the story's words" in reason
    note = Section(SectionKind.UPDATE, "Correction:", None, ("An earlier version was removed in part.",))
    assert suspect_reason(LAST, story(" ".join(WORDS[:45]), note=note)) is None


@pytest.mark.parametrize(
    ("title", "suspect"),
    [
        ("Service unavailable", True),
        ("Subscribe to continue reading", True),
        ("Before you continue", True),
        ("Harbor Bridge Closed: Subscribe for Updates", False),  # the story's words: a retitle
        ("Tug Captain Praised for Quick Anchoring", False),  # no shared word, no wall words
        ("Error in Inspection Report Delays Reopening of the Crossing for Several More Weeks", False),  # long
    ],
)
def test_title_shape(title: str, suspect: bool) -> None:
    page = story(*LAST.sections[0].paragraphs, title=title)
    assert (suspect_reason(LAST, page) is not None) is suspect


@pytest.mark.parametrize("junk", ["error", "consent"])
async def test_a_wall_on_the_first_fetch_is_no_baseline(serve: Serve, junk: str) -> None:
    first = await serve(junk)
    assert first.status is PollStatus.SUSPECT
    assert await serve.store.last_version("bridge") is None  # nothing to diff against yet
    assert (await serve("story")).status is PollStatus.BASELINE


def test_a_real_story_titled_with_wall_words_is_a_first_page() -> None:
    body = " ".join(["The county found an error in the count of absentee ballots on Tuesday."] * 20)
    page = Story(title="Error in Vote Count", sections=(Section(SectionKind.ORIGINAL, "", None, (body,)),))
    assert first_page_reason(page) is None
    short = Story(
        title="Error in Vote Count", sections=(Section(SectionKind.ORIGINAL, "", None, (body[:200],)),)
    )
    assert first_page_reason(short) is not None
