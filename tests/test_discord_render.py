"""Discord renderers: what an alert or a /story answer looks like, inside Discord's limits,
with story text that can neither ping nor format. Limits are checked by the fake Discord's
own validator (the 400/50035 it would answer), not by the renderer's constants."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.render import ELLIPSIS, alert_to_embed, clip, notice_to_embed, reply_to_embed, safe
from bot.models import Alert, AlertKind, Notice, Reply, ReplyKind, StoryBrief, StoryView, TimelineEntry
from tests.fakes.discord import embed_problems

CHICAGO = ZoneInfo("America/Chicago")
NOV9 = datetime(2022, 11, 9, 12, 10, tzinfo=CHICAGO)
NOV11 = datetime(2022, 11, 11, 7, 36, tzinfo=CHICAGO)
SEEN = datetime(2022, 11, 11, 14, 0, tzinfo=UTC)
SUMMARY = (
    "Russia now says it has completely withdrawn its forces from the southern Ukrainian city of Kherson."
)
MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>")


def entry(label: str, moment: datetime, summary: str) -> TimelineEntry:
    return TimelineEntry(timestamp=moment, seen_at=SEEN, label=label, summary=summary)


def kherson_alert(**changes: object) -> Alert:
    fields: dict[str, object] = {
        "event_id": 1,
        "story_id": "kherson",
        "story_title": "Russia: Withdrawal From Kherson Is Complete",
        "story_url": "https://www.newser.com/story/327390/russia-says-it-will-retreat-from-kherson.html",
        "kind": AlertKind.NEW_UPDATE,
        "headline": "UPDATE Nov 11, 2022 7:36 AM CST",
        "summary": SUMMARY,
        "timestamp": NOV11,
        "seen_at": SEEN,
        "timeline": (entry("Update", NOV11, SUMMARY), entry("Original", NOV9, "Russia announced a pullout.")),
        "progress": "1st update since Nov 9",
    }
    fields.update(changes)
    return Alert(**fields)  # type: ignore[arg-type]


def kherson_view(timeline_size: int = 2, summary: str = SUMMARY) -> StoryView:
    latest = entry("Update", NOV11, summary)
    older = tuple(
        entry("Update", NOV9 - timedelta(hours=n), f"Earlier update {n}.") for n in range(timeline_size - 1)
    )
    return StoryView(
        id="kherson",
        title="Russia: Withdrawal From Kherson Is Complete",
        url="https://www.newser.com/story/327390.html",
        latest=latest,
        timeline=(latest, *older),
        subtitle="Unconfirmed video purports to show locals hugging Ukrainian soldiers",
    )


def problems(embed: object) -> dict[str, object]:
    return embed_problems([embed.to_dict()])  # type: ignore[attr-defined]


def all_text(embed: object) -> str:
    data = embed.to_dict()  # type: ignore[attr-defined]
    parts = [data.get("title", ""), data.get("description", ""), data.get("footer", {}).get("text", "")]
    parts += [data.get("author", {}).get("name", "")]
    parts += [f["name"] + f["value"] for f in data.get("fields", [])]
    return "\n".join(parts)


# --- alerts ----------------------------------------------------------------------------


def test_alert_embed_carries_title_link_summary_reader_local_time_and_source() -> None:
    embed = alert_to_embed(kherson_alert())
    unix = int(NOV11.timestamp())
    assert embed.title == "Russia: Withdrawal From Kherson Is Complete"
    assert embed.url is not None and embed.url.startswith("https://www.newser.com/")
    assert embed.description is not None and embed.description.startswith(SUMMARY)
    assert f"<t:{unix}:f>" in embed.description and f"<t:{unix}:R>" in embed.description
    assert embed.author.name == "New update"
    assert embed.footer.text == "Source: newser.com · kherson"
    assert embed.timestamp == NOV11
    # the timeline is one line; no field repeats the update or lists the original
    assert embed.fields == [] and "Russia announced a pullout" not in all_text(embed)
    assert embed.description.endswith(" · 1st update since Nov 9")
    assert problems(embed) == {}


def test_alert_without_publisher_time_uses_when_storybot_saw_it() -> None:
    embed = alert_to_embed(kherson_alert(timestamp=None, story_url=None))
    assert f"<t:{int(SEEN.timestamp())}:f>" in (embed.description or "")
    assert embed.url is None
    assert embed.footer.text == "storybot · kherson"


def test_headline_change_shows_the_new_headline() -> None:
    alert = kherson_alert(
        kind=AlertKind.HEADLINE_CHANGED, headline="Russia: Withdrawal From Kherson Is Complete"
    )
    embed = alert_to_embed(alert)
    assert embed.author.name == "Headline changed"
    assert (embed.description or "").startswith("**Russia: Withdrawal From Kherson Is Complete**")


def test_oversized_alert_is_cut_cleanly_within_every_limit() -> None:
    words = ("withdrawal " * 2000).strip()
    alert = kherson_alert(
        story_title="Kherson " * 100,
        summary=words,
        timeline=tuple(entry("Update " * 60, NOV9 - timedelta(days=n), words) for n in range(40)),
    )
    embed = alert_to_embed(alert)
    assert problems(embed) == {}
    assert len(embed) <= 6000
    assert embed.title is not None and embed.title.endswith(ELLIPSIS) and len(embed.title) <= 256
    body = (embed.description or "").split("\n\n")[0]
    assert body.endswith("withdrawal" + ELLIPSIS)  # cut between words, not inside one
    assert f"<t:{int(NOV11.timestamp())}:R>" in (embed.description or "")  # the time survives the cut


def test_story_text_cannot_ping_or_link() -> None:
    hostile = "@everyone look <@123> <@!45678901234567890> <@&987> @here [click](https://evil.example) **x**"
    embed = alert_to_embed(kherson_alert(summary=hostile, story_title="@everyone <@123>"))
    text = all_text(embed)
    assert not MENTION.search(text)
    assert "\\[click](https://evil.example)" in text  # a masked link shown as text, not a link
    assert "\\*\\*x\\*\\*" in text


# --- replies ---------------------------------------------------------------------------


def test_story_reply_shows_latest_update_and_timeline_as_fields() -> None:
    view = kherson_view(timeline_size=4)
    embed = reply_to_embed(Reply(ReplyKind.STORY, "text", story=view))
    assert embed.title == view.title and embed.url == view.url
    assert SUMMARY in (embed.description or "")
    assert f"<t:{int(NOV11.timestamp())}:f>" in (embed.description or "")
    assert [f.name for f in embed.fields] == ["Update", "Update", "Update"]  # the three older entries
    assert "/story timeline kherson" in (embed.footer.text or "")
    assert "newser.com" in (embed.footer.text or "")
    assert problems(embed) == {}


def test_timeline_reply_holds_at_most_25_fields_and_6000_characters() -> None:
    view = kherson_view(timeline_size=60, summary="word " * 2000)
    embed = reply_to_embed(Reply(ReplyKind.TIMELINE, "text", story=view))
    assert len(embed.fields) <= 25
    assert len(embed) <= 6000
    assert problems(embed) == {}
    last = embed.fields[-1]
    assert (last.name, last.value) == (ELLIPSIS, f"and {60 - (len(embed.fields) - 1)} more")


def test_timeline_reply_within_limits_counts_nothing_more() -> None:
    embed = reply_to_embed(Reply(ReplyKind.TIMELINE, "text", story=kherson_view(timeline_size=25)))
    assert len(embed.fields) == 25 and "more" not in all_text(embed)


def test_story_reply_cuts_its_timeline_to_five_and_counts_the_rest() -> None:
    embed = reply_to_embed(Reply(ReplyKind.STORY, "text", story=kherson_view(timeline_size=9)))
    assert [f.name for f in embed.fields] == ["Update"] * 5 + [ELLIPSIS]
    assert embed.fields[-1].value == "and 3 more"  # 9 entries: the latest above, 5 here, 3 left


def test_a_long_text_answer_is_cut_by_whole_lines_and_counts_them() -> None:
    lines = [f"- Story *number* {n} (story{n})" for n in range(400)]
    embed = reply_to_embed(Reply(ReplyKind.HELP, "\n".join(lines)))
    description = embed.description or ""
    kept = description.split("\n")[:-1]
    assert description.endswith(f"{ELLIPSIS} and {400 - len(kept)} more") and len(description) <= 4096
    assert kept[-1].startswith("\\- Story \\*number\\*")  # whole lines, markdown escaped


def test_list_reply_names_each_story_and_its_id() -> None:
    briefs = tuple(StoryBrief(id=f"story{n}", title=f"Story number {n}", updated=SEEN) for n in range(3))
    embed = reply_to_embed(Reply(ReplyKind.LIST, "text", stories=briefs))
    assert embed.title == "Tracked stories"
    for n in range(3):
        assert f"**Story number {n}** (`story{n}`)" in (embed.description or "")
    assert f"<t:{int(SEEN.timestamp())}:R>" in (embed.description or "")


def test_long_list_ends_with_a_count_of_the_rest() -> None:
    briefs = tuple(StoryBrief(id=f"s{n}", title="T" * 200) for n in range(100))
    embed = reply_to_embed(Reply(ReplyKind.LIST, "text", stories=briefs))
    assert problems(embed) == {}
    assert re.search(r"and \d+ more$", embed.description or "")


def test_help_and_not_found_show_the_core_text_escaped() -> None:
    embed = reply_to_embed(Reply(ReplyKind.NOT_FOUND, "No tracked story matches “@everyone”."))
    assert embed.title == "No such story"
    assert "everyone" in (embed.description or "") and not MENTION.search(embed.description or "")
    assert reply_to_embed(Reply(ReplyKind.HELP, "/story list: the stories")).title == "storybot help"


# --- cutting and escaping --------------------------------------------------------------


def test_clip_cuts_on_a_word_boundary_and_marks_the_cut() -> None:
    assert clip("alpha beta gamma", 100) == "alpha beta gamma"
    assert clip("alpha beta gamma", 12) == "alpha beta" + ELLIPSIS
    assert clip("a" * 50, 10) == "a" * 9 + ELLIPSIS  # no space near: cut inside
    assert not clip("word \\" + "x" * 20, 7).endswith("\\" + ELLIPSIS)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=7000), st.integers(min_value=1, max_value=5000))
def test_clip_never_exceeds_the_limit(text: str, limit: int) -> None:
    cut = clip(text, limit)
    assert len(cut) <= limit
    assert cut == text.strip() or cut.endswith(ELLIPSIS)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab @<>!&#0123456789*_~`|[]()\\\n")), max_size=3000))
def test_any_story_text_renders_valid_and_inert(text: str) -> None:
    embed = alert_to_embed(kherson_alert(summary=text, story_title=text[:300] or "t"))
    assert problems(embed) == {}
    assert not MENTION.search(all_text(embed))
    assert not MENTION.search(safe(text))


# --- labels and corrections ----------------------------------------------------------------

REVISED_AT = datetime(2022, 11, 13, 9, 30, tzinfo=UTC)


def test_a_correction_is_labelled_correction_not_new_update() -> None:
    embed = alert_to_embed(kherson_alert(headline="Correction", label="Correction"))
    assert embed.author.name == "Correction"
    assert alert_to_embed(kherson_alert(label="Update")).author.name == "New update"


def test_an_edit_shows_when_it_was_revised_not_when_first_published() -> None:
    edit = alert_to_embed(kherson_alert(kind=AlertKind.SECTION_EDITED, label="Update", seen_at=REVISED_AT))
    assert edit.author.name == "Revised" and edit.timestamp == REVISED_AT
    assert f"revised <t:{int(REVISED_AT.timestamp())}:f>" in (edit.description or "")
    assert f"<t:{int(NOV11.timestamp())}:f>" not in (edit.description or "")


def test_a_corrected_alert_says_when_and_what_was_corrected() -> None:
    corrected = kherson_alert(
        label="Update", corrected_at=REVISED_AT, correction="It is the *Dnipro* @everyone."
    )
    embed = alert_to_embed(corrected)
    assert embed.author.name == "New update" and problems(embed) == {}
    assert f"**Corrected** <t:{int(REVISED_AT.timestamp())}:f>" in (embed.description or "")
    assert "\\*Dnipro\\*" in (embed.description or "") and not MENTION.search(embed.description or "")


def test_a_note_is_short_and_keeps_its_key() -> None:
    note = alert_to_embed(kherson_alert(label="Correction", note=True), key="sb7-abc")
    assert note.author.name == "Correction" and note.fields == [] and problems(note) == {}
    assert (note.description or "").startswith(SUMMARY[:40]) and "the alert above is corrected" in (
        note.description or ""
    )
    assert (note.footer.text or "").endswith(" · ref sb7-abc")


# --- catch-ups and digests -------------------------------------------------------------


def story_of(updates: int, summary: str = "Update {n} happened.") -> tuple[TimelineEntry, ...]:
    later = [entry("Update", NOV9 + timedelta(hours=n + 1), summary.format(n=n + 1)) for n in range(updates)]
    return (entry("Original", NOV9, "Russia announced a pullout."), *later)


def test_a_catch_up_embed_shows_the_original_then_the_last_ten_updates() -> None:
    embed = alert_to_embed(kherson_alert(kind=AlertKind.CATCH_UP, timeline=story_of(12)), key="sb1-abc")
    data = embed.to_dict()
    description = data["description"]
    assert data["author"]["name"].startswith("The story so far")
    assert (
        description.index("pullout")
        < description.index("and 2 earlier updates")
        < description.index("Update 3 ")
    )
    assert [int(n) for n in re.findall(r"Update (\d+) happened", description)] == list(range(3, 13))
    assert data["footer"]["text"].endswith(" · ref sb1-abc") and problems(embed) == {}


def test_a_digest_embed_is_titled_by_its_count_and_lists_each_update() -> None:
    updates = tuple(
        kherson_alert(
            event_id=n, headline=label, summary=f"Summary {n}.", timestamp=NOV11 + timedelta(hours=n)
        )
        for n, label in enumerate(["Update", "Correction", "Update"], start=1)
    )
    embed = alert_to_embed(kherson_alert(kind=AlertKind.DIGEST, timeline=(), updates=updates), key="sb2-x")
    data = embed.to_dict()
    assert data["title"] == "3 updates to Russia: Withdrawal From Kherson Is Complete"
    description = data["description"]
    assert (
        description.index("**Update**")
        < description.index("Summary 1.")
        < description.index("**Correction**")
    )
    assert description.index("Summary 2.") < description.index("Summary 3.")
    assert data["footer"]["text"].endswith(" · ref sb2-x") and problems(embed) == {}


def test_catch_ups_and_digests_of_hostile_or_huge_text_stay_inert_and_within_limits() -> None:
    hostile = "@everyone <@123> @here [click](https://evil.example) " * 40
    members = tuple(kherson_alert(event_id=n, headline=hostile, summary=hostile) for n in range(50))
    for alert in (
        kherson_alert(kind=AlertKind.CATCH_UP, story_title=hostile, timeline=story_of(30, hostile + "{n}")),
        kherson_alert(kind=AlertKind.DIGEST, story_title=hostile, timeline=(), updates=members),
    ):
        embed = alert_to_embed(alert, key="sb3-k")
        assert problems(embed) == {} and not MENTION.search(all_text(embed))
        assert embed.to_dict()["footer"]["text"].endswith(" · ref sb3-k")


def test_a_pause_notice_carries_its_key_fits_and_pings_nobody() -> None:
    hostile = "@everyone <@123> **bold** "
    notice = Notice(
        7, "kherson", hostile, AlertKind.STORY_PAUSED, "Paused after 10 failed polls in a row",
        "HTTP 500 " + hostile * 500, SEEN,
    )  # fmt: skip
    embed = notice_to_embed(notice, "sb7-0123456789abcdef").to_dict()
    assert embed_problems([embed]) == {}
    assert embed["author"]["name"] == "Story paused"
    assert embed["footer"]["text"].endswith(" · ref sb7-0123456789abcdef")
    assert "/story resume kherson" in embed["description"] and "HTTP 500" in embed["description"]
    assert not MENTION.search(embed["description"]) and not MENTION.search(embed["title"])


def test_a_digest_lists_a_correction_and_an_edit_each_an_edit_at_when_it_was_revised() -> None:
    fix = kherson_alert(event_id=2, headline="Correction", label="Correction", summary="It is the Dnipro.")
    edit = kherson_alert(
        event_id=3, kind=AlertKind.SECTION_EDITED, headline="Update edited (20% changed)", label="Update",
        summary="Now says dawn.", seen_at=REVISED_AT,
    )  # fmt: skip
    embed = alert_to_embed(
        kherson_alert(kind=AlertKind.DIGEST, timeline=(), updates=(fix, edit)), key="sb2-x"
    )
    description = embed.description or ""
    assert f"**Update edited (20% changed)** · <t:{int(REVISED_AT.timestamp())}:f>" in description
    assert "**Correction** · " in description and problems(embed) == {}
