"""Generated stories for the benchmarks: text pages shaped like the seed, HTML pages with
real-world furniture, story titles and typo'd queries. Deterministic for a given seed, so
two runs measure the same work.
"""

from __future__ import annotations

import functools
import random
from datetime import datetime, timedelta
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "kherson"
SEED_OLD = SEEDS / "2022-11-09T1210.txt"
SEED_NEW = SEEDS / "2022-11-11T0736.txt"

POSTED = datetime(2022, 11, 9, 12, 10)
PLACES = (
    "Kherson", "Sacramento", "Lagos", "Osaka", "Valparaiso", "Tromso", "Cairo", "Hanoi", "Denver",
    "Lyon", "Nairobi", "Quebec", "Manila", "Tbilisi", "Perth", "Bogota", "Anchorage", "Gdansk",
    "Marrakesh", "Chennai", "Reykjavik", "Tucson", "Halifax", "Jakarta", "Kyiv", "Lima", "Oslo",
)  # fmt: skip
SUBJECTS = (
    "wildfire", "ferry", "strike", "election", "flood", "bridge", "summit", "trial", "outbreak",
    "heat wave", "pipeline", "airport", "stadium", "earthquake", "ceasefire", "recall", "merger",
    "blizzard", "protest", "rescue", "budget", "landslide", "drought", "eruption", "blackout",
)  # fmt: skip
VERBS = (
    "forces evacuations", "halts traffic", "draws crowds", "stalls talks", "shuts schools",
    "sparks inquiry", "ends in deal", "strands travelers", "tests leaders", "reaches court",
)  # fmt: skip
WHEN = ("", "again", "overnight", "at dawn")
_PROSE = (
    "officials said the river crossing would stay closed while crews inspected the damage "
    "residents gathered near the harbor as police kept reporters behind a line of barriers "
    "the ministry announced new measures late on Tuesday after a meeting with regional leaders "
    "witnesses described a loud bang followed by smoke rising over the eastern district "
    "analysts expect the vote to be close and the count could take several days to finish "
    "the company declined to comment beyond a short statement posted on its website "
    "aid groups warned that supplies of water and fuel were running low in the villages"
)
WORDS = _PROSE.split()


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 5)))


def _stamp(at: datetime) -> str:
    hour = at.hour % 12 or 12
    return f"{at:%b} {at.day}, {at.year} {hour}:{at:%M} {'AM' if at.hour < 12 else 'PM'} CST"


def story_title(n: int) -> str:
    """A headline for story number `n`, distinct for every n below 27,000."""
    place = PLACES[n % len(PLACES)]
    n //= len(PLACES)
    subject = SUBJECTS[n % len(SUBJECTS)]
    n //= len(SUBJECTS)
    verb = VERBS[n % len(VERBS)]
    when = WHEN[n // len(VERBS) % len(WHEN)]
    return f"{place} {subject} {verb} {when}".strip().title()


def sections(count: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    """`count` sections as (header, paragraphs), newest first: updates, then the original.
    `sections(k + 1, seed)[1:] == sections(k, seed)`: a story gains updates on top."""
    out = []
    for n in range(count - 1, -1, -1):
        rng = random.Random(seed * 1009 + n)  # section n reads the same in every version
        at = POSTED + timedelta(hours=3 * n)
        header = f"UPDATE {_stamp(at)}" if n else _stamp(at)
        out.append((header, [_paragraph(rng) for _ in range(rng.randint(2, 3))]))
    return out


def text_story(title: str, parts: list[tuple[str, list[str]]]) -> str:
    """A Newser-shaped text page (see seeds/README.md) holding `parts`."""
    updated = [h for h, _ in parts if h.startswith("UPDATE")]
    head = [title, "", "What officials said and what happened next", "By Sam Reporter,  Newser Staff"]
    head.append(f"Posted {_stamp(POSTED)}")
    if updated:
        head.append(f"Updated {updated[0].removeprefix('UPDATE ')}")
    body = [f"{header}\n\n" + "\n\n".join(paragraphs) for header, paragraphs in parts]
    return "\n".join(head) + "\n" + "\n\n".join(body) + "\n\nstory continues below\n\n(More news stories.)\n"


def text_pair(count: int, seed: int = 0) -> tuple[str, str]:
    """A story of `count` sections before and after it gains one more update on top."""
    parts = sections(count + 1, seed)
    title = story_title(seed)
    return text_story(title, parts[1:]), text_story(title, parts)


def seed_pair() -> tuple[str, str]:
    return SEED_OLD.read_text(encoding="utf-8"), SEED_NEW.read_text(encoding="utf-8")


# --- HTML ----------------------------------------------------------------------------------

_SCRIPT = (
    "window.dataLayer=window.dataLayer||[];function track(){{dataLayer.push(arguments)}}"
    "track('js',new Date());track('config','G-{n}',{{page_path:location.pathname}});"
    "(function(w,d,s,l,i){{var f=d.getElementsByTagName(s)[0],j=d.createElement(s);"
    "j.async=true;j.src='https://ads.example.com/tag.js?id='+i;f.parentNode.insertBefore(j,f)}})"
    "(window,document,'script','dataLayer','AD-{n}');\n"
)
_STYLE = ".ad{{height:250px;margin:{n}px auto}} nav li{{display:inline;padding:0 {n}px}}\n"


def html_page(
    title: str, parts: list[tuple[str, list[str]]], *, target_bytes: int = 50_000, seed: int = 0
) -> str:
    """A news page around `parts`: head scripts and styles, nav, ad slots, the article,
    related links, a comment thread and a footer, padded with furniture to about `target_bytes`."""
    rng = random.Random(seed)
    article = [f"<h1>{title}</h1>", '<p class="byline">By Sam Reporter, The Daily Example</p>']
    article.append(f'<p class="dateline">Posted {_stamp(POSTED)}</p>')
    for n, (header, paragraphs) in enumerate(parts):
        article.append(f"<p><strong>{header}</strong></p>")
        article += [f"<p>{p}</p>" for p in paragraphs]
        if n % 3 == 1:
            article.append('<div class="ad">Advertisement</div>')
    nav = "".join(f'<li><a href="/section/{s}">{s.title()}</a></li>' for s in SUBJECTS)
    related = "".join(
        f'<li><a href="/story/{k}">{story_title(rng.randrange(5000))}</a></li>' for k in range(12)
    )
    page = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{title} | The Daily Example</title>",
        f'<meta property="og:title" content="{title}">',
        "<script>",
        "</script><style>",
        "</style></head><body>",
        f'<header><nav><ul>{nav}</ul></nav></header><div class="ad">Advertisement</div>',
        f"<main><article>{''.join(article)}</article></main>",
        f'<aside class="related"><h3>Related</h3><ul>{related}</ul></aside>',
        '<section id="comments"><h3>Comments</h3>',
        "</section>",
        '<footer><p>Copyright 2022 The Daily Example. All rights reserved.</p><a href="/privacy">Privacy</a>'
        "</footer>",
        "<script>",
        "</script></body></html>",
    ]
    budget = target_bytes - sum(len(p) for p in page)
    scripts, styles, comments, tail = _padding(seed % 64, max(0, budget) // 1000)
    page[3] += scripts
    page[4] += styles
    page[9] += comments
    page[12] += tail
    return "".join(page)


@functools.lru_cache(maxsize=512)
def _padding(seed: int, kilobytes: int) -> tuple[str, str, str, str]:
    """About `kilobytes` KB of furniture, spread over the places real pages carry it:
    head scripts, styles, the comment thread and trailing scripts. Cached: origins serving
    thousands of pages build them fast."""
    rng = random.Random(seed)
    buckets: tuple[list[str], ...] = ([], [], [], [])
    size, n = 0, 0
    while size < kilobytes * 1000:
        pieces = (
            _SCRIPT.format(n=n),
            _STYLE.format(n=n),
            f'<div class="comment"><p class="author">reader{n}</p><p>{_sentence(rng)}</p></div>',
            _SCRIPT.format(n=n + 1000),
        )
        text = pieces[n % 4]
        buckets[n % 4].append(text)
        size += len(text)
        n += 1
    return "".join(buckets[0]), "".join(buckets[1]), "".join(buckets[2]), "".join(buckets[3])


def html_pair(count: int, seed: int = 0, target_bytes: int = 50_000) -> tuple[str, str]:
    """An HTML story of `count` sections before and after it gains an update."""
    parts = sections(count + 1, seed)
    title = story_title(seed)
    return (
        html_page(title, parts[1:], target_bytes=target_bytes, seed=seed),
        html_page(title, parts, target_bytes=target_bytes, seed=seed),
    )


# --- queries -------------------------------------------------------------------------------


def typo(text: str, rng: random.Random, count: int = 2) -> str:
    """`text` with `count` typing slips: a swapped, dropped, doubled or wrong letter."""
    chars = list(text)
    for _ in range(count):
        letters = [i for i, c in enumerate(chars) if c.isalpha()]
        if len(letters) < 4:
            break
        i = rng.choice(letters[1:-1])
        slip = rng.randrange(4)
        if slip == 0 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif slip == 1:
            del chars[i]
        elif slip == 2:
            chars.insert(i, chars[i])
        else:
            chars[i] = rng.choice("aeiourstnl")
    return "".join(chars)
