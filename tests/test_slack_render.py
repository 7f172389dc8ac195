"""Block Kit rendering: escaping, Slack's limits, date tokens, the share button. Pure functions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.render import (
    MAX_BLOCKS,
    MAX_TEXT,
    SHARE_ACTION,
    TIMELINE_ACTION,
    ZWSP,
    alert_to_blocks,
    escape,
    fit,
    notice_to_blocks,
    reply_to_blocks,
    share_query,
    slack_len,
)
from bot.models import Alert, AlertKind, Notice, Reply, ReplyKind, StoryBrief, StoryView, TimelineEntry
from tests.fakes.slack import blocks_error

CST = timezone(timedelta(hours=-6), "CST")
UPDATED = datetime(2022, 11, 11, 7, 36, tzinfo=CST)
POSTED = datetime(2022, 11, 9, 12, 10, tzinfo=CST)
SUMMARY = (
    "Russia now says it has completely withdrawn its forces from the southern Ukrainian city of Kherson."
)
URL = "https://www.newser.com/story/327417/russia-withdrawal-from-kherson-is-complete.html"
HOSTILE = "<!channel> <!here> <@U123> <#C999> <!subteam^S1> <https://evil.example|click> & @channel @here"
DATE_TOKEN = re.compile(r"<!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>|]+>")


def entry(when: datetime, label: str, summary: str) -> TimelineEntry:
    return TimelineEntry(timestamp=when, seen_at=when, label=label, summary=summary)


def kherson_alert(**changes: object) -> Alert:
    values: dict[str, object] = {
        "event_id": 1,
        "story_id": "kherson",
        "story_title": "Russia: Withdrawal From Kherson Is Complete",
        "story_url": URL,
        "kind": AlertKind.NEW_UPDATE,
        "headline": "Russia: Withdrawal From Kherson Is Complete",
        "summary": SUMMARY,
        "timestamp": UPDATED,
        "seen_at": UPDATED,
        "timeline": (
            entry(POSTED, "Original", "Russia says it will pull its troops from Kherson."),
            entry(UPDATED, "Update", SUMMARY),
        ),
        "progress": "1st update since Nov 9",
    }
    values.update(changes)
    return Alert(**values)  # type: ignore[arg-type]


def texts(blocks: list[dict]) -> list[str]:
    """Every text string inside the blocks."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(blocks)
    return found


def live_markup(text: str, *, allowed_link: str | None = None) -> list[str]:
    """Slack control sequences left in `text` besides date tokens and the one link we made."""
    text = DATE_TOKEN.sub("", text)
    if allowed_link:
        text = re.sub(rf"<{re.escape(allowed_link)}\|[^<>]*>", "", text)
    return re.findall(r"<[^>]*>?", text)


def assert_within_limits(blocks: list[dict]) -> None:
    assert 0 < len(blocks) <= MAX_BLOCKS
    assert blocks_error(blocks) is None, blocks_error(blocks)
    for text in texts(blocks):
        assert slack_len(text) <= MAX_TEXT


# --- escaping ---------------------------------------------------------------------------


def test_escape_turns_every_slack_control_sequence_into_plain_text() -> None:
    escaped = escape(HOSTILE)
    assert "<" not in escaped and ">" not in escaped
    assert "&lt;!channel&gt;" in escaped and "&lt;@U123&gt;" in escaped
    assert "& @" not in escaped and "&amp; " in escaped
    assert "@channel" not in escaped and "@here" not in escaped  # inert even with link_names


def test_escape_drops_control_characters_but_keeps_line_breaks() -> None:
    assert escape("a\x00b\x1bc\u202ed\ne\tf") == "abcd\ne\tf"


@given(st.text(max_size=400))
def test_escaped_text_never_holds_markup(raw: str) -> None:
    escaped = escape(raw)
    assert "<" not in escaped and ">" not in escaped
    assert re.fullmatch(r"([^&]|&(amp|lt|gt);)*", escaped, re.DOTALL)


@given(st.text(alphabet="a &<>😀\n", max_size=600), st.integers(min_value=20, max_value=300))
def test_fit_never_exceeds_its_limit_nor_splits_an_entity(raw: str, limit: int) -> None:
    cut = fit(raw, limit)
    assert slack_len(cut) <= limit
    assert re.fullmatch(r"([^&]|&(amp|lt|gt);)*…?", cut, re.DOTALL)


# --- alerts -----------------------------------------------------------------------------


def test_alert_links_the_headline_and_carries_summary_time_and_one_timeline_line() -> None:
    text, blocks = alert_to_blocks(kherson_alert())
    body = "\n".join(texts(blocks))
    assert f"<{URL}|Russia: Withdrawal From Kherson Is Complete>" in body
    assert body.count(SUMMARY) == 1  # the update once: no timeline line repeats it
    unix = int(UPDATED.timestamp())
    assert f"<!date^{unix}^{{date_short_pretty}} at {{time}}|Nov 11, 2022 13:36 UTC>" in body
    assert "1st update since Nov 9" in body
    assert "Timeline" not in body and "Original" not in body and "pull its troops" not in body
    [actions] = [b for b in blocks if b["type"] == "actions"]
    [timeline_button] = actions["elements"]
    assert (timeline_button["action_id"], timeline_button["value"]) == (TIMELINE_ACTION, "timeline kherson")
    assert text.startswith("New update: Russia: Withdrawal From Kherson Is Complete")
    assert SUMMARY in text
    assert_within_limits(blocks)


def test_hostile_story_text_cannot_ping_or_link() -> None:
    alert = kherson_alert(
        story_title=HOSTILE, headline=HOSTILE, summary=HOSTILE, story_url="https://x.example/a|b>c"
    )
    text, blocks = alert_to_blocks(alert)
    for piece in [text, *texts(blocks)]:
        assert live_markup(piece) == [], piece
        assert "@channel" not in piece and "@here" not in piece


def test_a_non_http_url_is_not_linked() -> None:
    _, blocks = alert_to_blocks(kherson_alert(story_url="javascript:alert(1)"))
    assert "javascript" not in "".join(texts(blocks))


def test_huge_alert_is_cut_cleanly_to_slacks_limits() -> None:
    many = tuple(entry(POSTED + timedelta(hours=n), "Update", "word & " * 300) for n in range(200))
    alert = kherson_alert(
        story_title="T" * 5000, headline="H & " * 2000, summary="S & more " * 3000, timeline=many
    )
    text, blocks = alert_to_blocks(alert)
    assert_within_limits(blocks)
    assert slack_len(text) <= 3000 and text.endswith("…")
    assert "word" not in "".join(texts(blocks))  # the timeline is a button's, not the alert's


def test_story_formatting_is_inert_but_ids_stay_copyable() -> None:
    alert = kherson_alert(
        story_id="kherson_bridge", story_title="The *real* story", summary="a_b ~c~ `d` **e** _f_"
    )
    _, blocks = alert_to_blocks(alert)
    body = "\n".join(texts(blocks))
    for raw in ("*real*", "~c~", "`d`", "**e**", "_f_", "a_b"):
        assert raw not in body
    assert f"|The {ZWSP}*{ZWSP}real{ZWSP}*{ZWSP} story>*" in body  # our own bold around it still works
    assert "`kherson_bridge`" in body  # inside code nothing formats: the id is left as typed
    assert escape("1 < 2 & *x*") == f"1 &lt; 2 &amp; {ZWSP}*{ZWSP}x{ZWSP}*{ZWSP}"


def test_astral_characters_count_double_as_slack_counts_them() -> None:
    _, blocks = alert_to_blocks(kherson_alert(summary="😀" * 3000))
    assert_within_limits(blocks)


def test_alert_without_time_or_url_still_renders() -> None:
    alert = kherson_alert(story_url=None, timestamp=None, timeline=(), kind=AlertKind.TRACKING, summary="")
    text, blocks = alert_to_blocks(alert)
    assert text.startswith("Now tracking:")
    assert_within_limits(blocks)
    assert "<https" not in "".join(texts(blocks))


# --- replies ----------------------------------------------------------------------------


def kherson_view(entries: int = 2) -> StoryView:
    timeline = tuple(entry(POSTED + timedelta(hours=n), "Update", f"Summary {n}") for n in range(entries))
    return StoryView(
        id="kherson",
        title="Russia: Withdrawal From Kherson Is Complete",
        url=URL,
        latest=timeline[-1] if timeline else None,
        timeline=timeline,
        subtitle="Unconfirmed video purports to show locals hugging Ukrainian soldiers",
    )


def test_story_reply_has_a_share_button_carrying_the_story_id() -> None:
    reply = Reply(
        ReplyKind.STORY, "Russia: Withdrawal From Kherson Is Complete\n" + SUMMARY, story=kherson_view()
    )
    assert share_query(reply) == "kherson"
    text, blocks = reply_to_blocks(reply, share=share_query(reply))
    button = blocks[-1]["elements"][0]
    assert (button["action_id"], button["value"]) == (SHARE_ACTION, "kherson")
    assert f"<{URL}|" in "".join(texts(blocks)) and SUMMARY in text
    assert_within_limits(blocks)


def test_only_answers_worth_sharing_get_a_share_query() -> None:
    view = kherson_view()
    assert share_query(Reply(ReplyKind.TIMELINE, "t", story=view)) == "timeline kherson"
    assert share_query(Reply(ReplyKind.LIST, "l")) == "list"
    for kind in (ReplyKind.HELP, ReplyKind.NOT_FOUND, ReplyKind.ERROR, ReplyKind.ADMIN):
        assert share_query(Reply(kind, "x")) is None


def test_long_timeline_fits_in_fifty_blocks_even_with_the_button() -> None:
    reply = Reply(ReplyKind.TIMELINE, "timeline", story=kherson_view(entries=2000))
    _, blocks = reply_to_blocks(reply, share="timeline kherson")
    assert_within_limits(blocks)
    assert blocks[-1]["type"] == "actions"


def test_list_reply_names_each_story() -> None:
    briefs = tuple(StoryBrief(id=f"s{n}", title=f"Story <{n}>", updated=UPDATED) for n in range(3))
    _, blocks = reply_to_blocks(Reply(ReplyKind.LIST, "list", stories=briefs))
    body = "".join(texts(blocks))
    assert "Story &lt;2&gt;" in body and "`s2`" in body
    assert_within_limits(blocks)


def test_text_replies_echoing_hostile_input_stay_inert() -> None:
    reply = Reply(ReplyKind.NOT_FOUND, f"No tracked story matches “{HOSTILE}”.\n" + "x" * 10_000)
    text, blocks = reply_to_blocks(reply)
    for piece in [text, *texts(blocks)]:
        assert live_markup(piece) == []
    assert_within_limits(blocks)


def test_empty_reply_still_has_fallback_and_a_block() -> None:
    text, blocks = reply_to_blocks(Reply(ReplyKind.ERROR, ""))
    assert text and blocks
    assert_within_limits(blocks)


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = datetime(2022, 11, 11, 13, 36)
    _, blocks = alert_to_blocks(kherson_alert(timestamp=naive, timeline=()))
    assert f"<!date^{int(naive.replace(tzinfo=UTC).timestamp())}^" in "".join(texts(blocks))


# --- labels and corrections ----------------------------------------------------------------

REVISED_AT = datetime(2022, 11, 13, 9, 30, tzinfo=UTC)


def label_line(blocks: list[dict]) -> str:
    """The alert's context line: its label, its time and the story id."""
    (line,) = [t for t in texts(blocks) if t.endswith("`kherson`")]
    return line


def test_a_correction_is_labelled_correction_not_new_update() -> None:
    text, blocks = alert_to_blocks(kherson_alert(headline="Correction", label="Correction"))
    assert text.startswith("Correction: ") and label_line(blocks).startswith("Correction · ")
    assert "New update" not in " ".join(texts(blocks))
    assert alert_to_blocks(kherson_alert(label="Update"))[0].startswith("New update: ")


def test_an_edit_shows_when_it_was_revised_not_when_first_published() -> None:
    edit = kherson_alert(kind=AlertKind.SECTION_EDITED, label="Update", seen_at=REVISED_AT, timeline=())
    context = label_line(alert_to_blocks(edit)[1])
    assert context.startswith("Revised · revised <!date^")
    assert f"<!date^{int(REVISED_AT.timestamp())}^" in context
    assert f"<!date^{int(UPDATED.timestamp())}^" not in context
    fixed = kherson_alert(kind=AlertKind.SECTION_EDITED, label="Correction", seen_at=REVISED_AT)
    assert alert_to_blocks(fixed)[0].startswith("Correction: ")


def test_a_corrected_alert_keeps_its_label_and_says_when_and_what_was_corrected() -> None:
    corrected = kherson_alert(label="Update", corrected_at=REVISED_AT, correction="It is the <Dnipro>.")
    _, blocks = alert_to_blocks(corrected)
    shown = "\n".join(texts(blocks))
    assert (
        f"*Corrected <!date^{int(REVISED_AT.timestamp())}^" in shown and "It is the &lt;Dnipro&gt;." in shown
    )
    assert label_line(blocks).startswith("New update · ")
    assert blocks_error(blocks) is None
    assert "Corrected" not in "\n".join(texts(alert_to_blocks(kherson_alert())[1]))


def test_a_note_is_short_and_labelled_by_what_it_notes() -> None:
    note = kherson_alert(kind=AlertKind.SECTION_EDITED, label="Update", note=True, seen_at=REVISED_AT)
    text, blocks = alert_to_blocks(note)
    assert len(blocks) == 2 and text.startswith("Revised: ") and blocks_error(blocks) is None
    assert texts(blocks)[0].startswith("*Revised:* Russia now says")
    assert "Timeline" not in "\n".join(texts(blocks))  # a note, not another alert
    correction = kherson_alert(label="Correction", note=True)
    assert texts(alert_to_blocks(correction)[1])[0].startswith("*Correction:* ")


# --- catch-ups and digests -----------------------------------------------------------------


def long_story(updates: int, summary: str = "Update {n} happened.") -> tuple[TimelineEntry, ...]:
    original = entry(POSTED, "Original", "Russia says it will pull its troops from Kherson.")
    later = [
        entry(POSTED + timedelta(hours=n + 1), "Update", summary.format(n=n + 1)) for n in range(updates)
    ]
    return (original, *later)


def test_a_catch_up_shows_the_original_then_the_last_ten_updates_in_order() -> None:
    alert = kherson_alert(kind=AlertKind.CATCH_UP, headline="", summary="", timeline=long_story(14))
    text, blocks = alert_to_blocks(alert)
    body = "\n".join(texts(blocks))
    assert text == "The story so far: Russia: Withdrawal From Kherson Is Complete — 14 updates"
    assert "The story so far" in body
    assert body.index("pull its troops") < body.index("and 4 earlier updates") < body.index("Update 5 ")
    assert "Update 4 " not in body and "Update 1 " not in body
    assert [int(n) for n in re.findall(r"Update (\d+) happened", body)] == list(range(5, 15))
    assert blocks[-1]["elements"][0]["action_id"] == TIMELINE_ACTION  # the whole story, on request
    assert_within_limits(blocks)


def test_a_digest_lists_each_update_with_its_headline_in_order() -> None:
    updates = tuple(
        kherson_alert(
            event_id=n, headline=label, summary=f"Summary {n}.", timestamp=UPDATED + timedelta(hours=n)
        )
        for n, label in enumerate(["Update", "Correction", "Headline changed"], start=1)
    )
    alert = kherson_alert(kind=AlertKind.DIGEST, headline="", summary="", timeline=(), updates=updates)
    text, blocks = alert_to_blocks(alert)
    body = "\n".join(texts(blocks))
    assert text == "3 updates to Russia: Withdrawal From Kherson Is Complete"
    assert body.startswith(f"*3 updates to <{URL}|Russia: Withdrawal From Kherson Is Complete>*")
    assert (
        body.index("*Update*")
        < body.index("Summary 1.")
        < body.index("*Correction*")
        < body.index("Summary 3.")
    )
    assert_within_limits(blocks)


def test_catch_ups_and_digests_of_hostile_or_huge_text_stay_inert_and_within_limits() -> None:
    hostile = long_story(40, HOSTILE * 30 + " {n}")
    members = tuple(kherson_alert(event_id=n, headline=HOSTILE, summary=HOSTILE * 30) for n in range(60))
    for alert in (
        kherson_alert(kind=AlertKind.CATCH_UP, story_title=HOSTILE, timeline=hostile),
        kherson_alert(kind=AlertKind.DIGEST, story_title=HOSTILE, timeline=(), updates=members),
    ):
        text, blocks = alert_to_blocks(alert)
        assert_within_limits(blocks)
        for piece in [text, *texts(blocks)]:
            assert live_markup(piece, allowed_link=URL) == [], piece
            assert "@channel" not in piece and "@here" not in piece


def test_a_pause_notice_names_the_story_the_error_and_the_way_back_and_pings_nobody() -> None:
    notice = Notice(
        7, "kherson", HOSTILE, AlertKind.STORY_PAUSED, "Paused after 10 failed polls in a row",
        "HTTP 500 " + HOSTILE * 200, datetime(2022, 11, 11, 14, tzinfo=UTC),
    )  # fmt: skip
    text, blocks = notice_to_blocks(notice)
    assert blocks_error(blocks) is None  # within Block Kit's limits, a huge error included
    shown = "\n".join(texts(blocks))
    assert "Story paused" in shown and "HTTP 500" in shown and "`/story resume kherson`" in shown
    for piece in [text, *texts(blocks)]:
        assert live_markup(piece) == [], piece


def test_a_digest_lists_a_correction_and_an_edit_each_an_edit_at_when_it_was_revised() -> None:
    fix = kherson_alert(event_id=2, headline="Correction", label="Correction", summary="It is the Dnipro.")
    edit = kherson_alert(
        event_id=3, kind=AlertKind.SECTION_EDITED, headline="Update edited (20% changed)", label="Update",
        summary="Now says dawn.", seen_at=REVISED_AT,
    )  # fmt: skip
    alert = kherson_alert(kind=AlertKind.DIGEST, headline="", summary="", timeline=(), updates=(fix, edit))
    body = "\n".join(texts(alert_to_blocks(alert)[1]))
    revised = f"*Update edited (20% changed)* · <!date^{int(REVISED_AT.timestamp())}^"
    assert "*Correction* · " in body and revised in body  # not its section's first stamp
    assert body.index("It is the Dnipro.") < body.index("Now says dawn.")
