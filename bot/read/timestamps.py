"""Publisher time stamps as news pages write them -> tz-aware datetimes.

Pages write "Nov 9, 2022 12:10 PM CST", "4:05 p.m. ET on Nov. 12" or a bare "3:15 p.m.".
Matching and resolving are separate steps because a stamp often leans on its context: a
time without a date takes the date of the header above it, a stamp without a zone takes the
zone of the story's Posted line. `match_when` reads what the text says; `When.resolve` fills
the gaps from that context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.read.lenient import looks_like_a_date, read_date

DEFAULT_ZONE = "America/New_York"

# US abbreviations and names -> IANA zones. The standard/daylight letter is not trusted:
# pages write "CST" all year, so the zone's own rules give the offset.
ZONES: dict[str, str] = {
    **dict.fromkeys(("est", "edt", "et", "eastern"), "America/New_York"),
    **dict.fromkeys(("cst", "cdt", "ct", "central"), "America/Chicago"),
    **dict.fromkeys(("mst", "mdt", "mt", "mountain"), "America/Denver"),
    **dict.fromkeys(("pst", "pdt", "pt", "pacific"), "America/Los_Angeles"),
    **dict.fromkeys(("akst", "akdt", "akt", "alaska"), "America/Anchorage"),
    **dict.fromkeys(("hst", "hast", "hadt", "hawaii"), "Pacific/Honolulu"),
    **dict.fromkeys(("utc", "gmt", "z"), "UTC"),
    **dict.fromkeys(("bst", "british"), "Europe/London"),
    **dict.fromkeys(("cet", "cest"), "Europe/Paris"),
    **dict.fromkeys(("eet", "eest"), "Europe/Athens"),
    **dict.fromkeys(("wet", "west"), "Europe/Lisbon"),
    "msk": "Europe/Moscow",
    "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore",
    **dict.fromkeys(("aest", "aedt"), "Australia/Sydney"),
    **dict.fromkeys(("acst", "acdt"), "Australia/Adelaide"),
    "awst": "Australia/Perth",
    **dict.fromkeys(("nzst", "nzdt"), "Pacific/Auckland"),
}
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec"
MONTHS = {m: n for n, m in enumerate(re.findall(r"\w+", _MONTH_NAMES), 1)}

_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_DATES = (
    _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?" + _YEAR,  # Tuesday, Nov. 9th, 2022
    _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + _YEAR,  # 11 November 2022
    _WEEKDAY + r"(?P<mnum>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4}|\d{2})",  # 8/29/10, 5/27/2015
)
_TIME = r"(?:(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>[ap]\.?\s?m\b\.?)?|(?P<noon>noon|midnight))"
_ZONE_NAMES = "|".join(sorted((z for z in ZONES if len(z) > 1), key=len, reverse=True))
_ZONE = (
    r"(?:\s*\(?(?:(?P<offset>(?:utc|gmt)\s*[+-]\d{1,2}(?::?\d\d)?|[+-]\d\d:?\d\d)"
    r"|(?P<zone>" + _ZONE_NAMES + r")\b(?:\s+(?:standard\s+|daylight\s+|summer\s+)?time)?)\)?)?"
)
_FORMS = tuple(
    re.compile(form, re.IGNORECASE)
    for date_form in _DATES
    for form in (
        date_form + r"(?:,?\s+(?:at\s+)?|\s*[-–—|·•/]\s*)" + _TIME + _ZONE,  # Nov 9, 2022 12:10 PM CST
        _TIME + _ZONE + r",?\s+(?:on\s+)?" + date_form,  # 4:05 p.m. ET on Nov. 12
        date_form,  # Nov. 11, 2022 (a date alone: context for the times below it)
    )
) + (re.compile(_TIME + _ZONE, re.IGNORECASE),)  # 10:32 a.m. ET
_TRAILING_ZONE = re.compile(r"(?P<rest>.+?)" + _ZONE, re.IGNORECASE)
_SENTENCE_START = re.compile(r"[\s,;:—–-]*(?=[\"'“‘A-Z0-9])")
_ISO = re.compile(r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?")


@dataclass(frozen=True, slots=True)
class When:
    """What a stamp says, with None for what it leaves to context."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int = 0
    zone: str | None = None  # an IANA key
    fixed: datetime | None = None  # an ISO stamp that needs no context

    @property
    def has_date(self) -> bool:
        return self.fixed is not None or self.day is not None

    @property
    def has_time(self) -> bool:
        return self.fixed is not None or self.hour is not None

    def resolve(
        self, zone: str | tzinfo | None = None, on: date | None = None, year: int | None = None
    ) -> datetime | None:
        """The datetime meant, taking a missing date from `on`, a missing year from `year`
        (else `on`), a missing zone from `zone` (an IANA key, or the page's own offset when
        it states one only as data; else New York). None if still unknown."""
        if self.fixed is not None:
            return self.fixed
        if self.month is None or self.day is None:
            if on is None:
                return None
            y, m, d = on.year, on.month, on.day
        else:
            known = self.year or year or (on.year if on else None)
            if known is None:
                return None
            y, m, d = known, self.month, self.day
        tz = zone_info(self.zone or zone or DEFAULT_ZONE)
        try:
            return datetime(y, m, d, self.hour or 0, self.minute, tzinfo=tz)
        except ValueError:  # Feb 30, 25:00, ...
            return None


@lru_cache(maxsize=4096)  # a polled page repeats its stamps on every fetch
def match_when(text: str) -> When | None:
    """Read `text` if all of it is a time stamp ("Nov. 11, 10:32 a.m." yes, "Nov. 11 was" no)."""
    text = text.strip().rstrip(":").rstrip()
    if not text or len(text) > 80:
        return None
    if text[0].isdigit() and (iso := _ISO.fullmatch(text)):
        return _from_iso(iso.group())
    for form in _FORMS:
        if found := form.fullmatch(text):
            return _from_match(found.groupdict())
    return _lenient(text)


def _lenient(text: str) -> When | None:
    """The general parser's reading of a stamp no hand-written form knows; its zone, if it
    names one at the end, is read here so zones mean the same on both paths."""
    found = _TRAILING_ZONE.fullmatch(text)
    if found is None or not looks_like_a_date(found["rest"]) or not (read := read_date(found["rest"])):
        return None
    year, month, day, hour, minute = read
    zone = ZONES[found["zone"].lower()] if found["zone"] else _offset(found["offset"])
    return When(year, month, day, hour, minute, zone)


def match_leading_when(text: str) -> tuple[When, str] | None:
    """A stamp that opens `text` and the sentence after it: "3:15 p.m. The mayor said" ->
    (3:15 p.m., "The mayor said"). None unless a capital, digit or quote follows the stamp."""
    for form in _FORMS:
        found = form.match(text)
        if found is None:
            continue
        start = _SENTENCE_START.match(text, found.end())
        if start and start.end() > found.end() and (when := _from_match(found.groupdict())):
            return when, text[start.end() :]
    return None


def _from_iso(text: str) -> When | None:
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return When(stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute)
    return When(fixed=stamp)


def _from_match(g: dict[str, str | None]) -> When | None:
    noon, hour_text, minute_text, ampm = g.get("noon"), g.get("hour"), g.get("minute"), g.get("ampm")
    mon, day_text, year_text, zone = g.get("mon"), g.get("day"), g.get("year"), g.get("zone")
    mnum = g.get("mnum")
    month = MONTHS[mon[:3].lower()] if mon else int(mnum) if mnum else None
    if month is not None and not 1 <= month <= 12:
        return None
    hour: int | None = None
    minute = 0
    if noon:
        hour = 12 if noon.lower() == "noon" else 0
    elif hour_text is not None:
        if minute_text is None and ampm is None and zone is None:
            return None  # a bare number is not a time
        hour, minute = int(hour_text), int(minute_text or 0)
        if ampm:
            if hour > 12 or hour == 0:
                return None
            hour = hour % 12 + (12 if ampm[0] in "pP" else 0)
        if hour > 23 or minute > 59:
            return None
    day = int(day_text) if day_text else None
    if day is not None and not 1 <= day <= 31:
        return None
    year = int(year_text) if year_text else None
    if year is not None and year < 100:
        year += 2000  # "8/29/10"
    return When(year, month, day, hour, minute, ZONES[zone.lower()] if zone else _offset(g.get("offset")))


def _offset(text: str | None) -> str | None:
    """ "UTC+5:30", "GMT-4", "+0100" -> "+05:30", "-04:00", "+01:00": a fixed-offset zone."""
    if not text:
        return None
    found = re.search(r"([+-])(\d{1,2}):?(\d\d)?$", text)
    if not found or int(found[2]) > 14:
        return None
    return f"{found[1]}{int(found[2]):02d}:{found[3] or '00'}"


def zone_info(zone: str | tzinfo) -> tzinfo:
    """An IANA key or a "+05:30" offset as a tzinfo."""
    if not isinstance(zone, str):
        return zone
    if zone[:1] in "+-":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        sign = -1 if zone[0] == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    return ZoneInfo(zone)
