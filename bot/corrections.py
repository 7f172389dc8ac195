"""Which sections an event corrects: the link from a correction to the alert it fixes. Pure.

An edit of a section corrects that section. A Correction section corrects the section just
above it on the page (where publishers put it: under the update it fixes, or at the foot of
the original), if storybot had seen that section before; one added with a new update in the
same fetch corrects nothing that was ever alerted. When a Correction arrives with an edit of
the very section it corrects, the two are one correction: the Correction says what changed, so
the edit is not told apart.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.models import Event, NewUpdate, SectionEdited, Story


@dataclass(frozen=True, slots=True)
class Corrects:
    """The fingerprint the earlier alert showed, and the one the section has now."""

    alerted: str
    revised: str


def link_corrections(
    events: Sequence[Event], story: Story, known: Collection[str]
) -> tuple[list[Event], dict[str, Corrects]]:
    """The events to record, and for each event's section fingerprint what it corrects."""
    edited = {e.new.fingerprint: e.old.fingerprint for e in events if isinstance(e, SectionEdited)}
    links = {new: Corrects(old, new) for new, old in edited.items()}
    folded: set[str] = set()
    sections = story.sections
    for event in events:
        if not (isinstance(event, NewUpdate) and event.section.label == "Correction"):
            continue
        place = next((i for i, s in enumerate(sections) if s.fingerprint == event.section.fingerprint), 0)
        if place == 0:
            continue
        above = sections[place - 1].fingerprint
        if above in edited:
            folded.add(above)
            links[event.section.fingerprint] = Corrects(edited[above], above)
        elif above in known:
            links[event.section.fingerprint] = Corrects(above, above)
    kept = [e for e in events if not (isinstance(e, SectionEdited) and e.new.fingerprint in folded)]
    return kept, {fingerprint: link for fingerprint, link in links.items() if fingerprint not in folded}
