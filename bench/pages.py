"""Realistic news pages for the HTML benchmark: 100-300 KB (median about 120 KB), built the way
real article pages are, around a made-up story. Deterministic: page `n` is the same bytes on
every run and every machine.

A page carries what real ones do (about 1,100-1,700 elements, 300 links): a head with about
50 meta and link tags, JSON-LD (NewsArticle, or LiveBlogPosting), a big inline stylesheet,
analytics and ad scripts; then a top ad, a site header with a search form, a mega-menu of
over 100 links, a trending bar, breadcrumbs, share tools with SVG icons, a lead figure, the
story (paragraphs with inline links, mid-article ads, an inline related-links aside between
paragraphs, another figure with a figcaption), tags, an author bio, a most-read rail, a
newsletter form, related rails, a comment thread (its own <time datetime> stamps), a footer
of about 70 links, a hidden consent dialog, and trailing scripts: an ad loader and a large
JSON state blob (as Next.js-style sites ship, holding the article text again). The state
blob is what grows a page to its drawn size.

Two kinds of story:

- an article with 0-6 update blocks ("UPDATE <stamp>" headers) above the original, which is
  headed by its Posted stamp (as on Newser);
- a live blog: intro paragraphs (the original), then `<div class="entry">` blocks newest first,
  each with a `<time datetime=ISO>`, an h3 headline and paragraphs.

`Page.sections` is what a reader must find: one per update block or live entry, plus one for
the original. `python -m bench.pages N` writes page N to stdout.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench.stories import PLACES, POSTED, SUBJECTS, WORDS, _paragraph, _sentence, _stamp, story_title

MEDIAN_BYTES = 120_000
SITE = "The Daily Example"
HOST = "https://www.dailyexample.com"
CHICAGO = ZoneInfo("America/Chicago")  # the stamps say "CST", as the text generator's do
DESKS = (
    "World", "U.S.", "Politics", "Business", "Tech", "Science", "Climate", "Health", "Sports",
    "Arts", "Travel", "Opinion",
)  # fmt: skip
PEOPLE = (
    "Sam Reporter", "Ana Ruiz", "Kofi Mensah", "Mei Tanaka", "Lars Holm", "Priya Natarajan",
    "Jo Lindqvist", "Diego Alvarez", "Nadia Haddad", "Tom Becker", "Ines Costa", "Olu Adeyemi",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Page:
    """A generated page: its bytes (UTF-8), its kind, and how many sections a reader must find."""

    html: bytes
    kind: str  # "article" or "live"
    sections: int


def news_page(n: int, median_bytes: int = MEDIAN_BYTES) -> Page:
    """Page `n`: every third page (n % 3 == 2) is a live blog, the others articles; head
    fields as plain text on pages with n % 4 < 2, as a byline box and <time> elements on the
    others. Its size is drawn around `median_bytes` (0.83x to 2.5x, skewed up as real pages
    are) and reached by growing the state blob; the rest of the page has a floor of its own
    (85-125 KB for an article, 105-180 KB for a live blog), so a small `median_bytes` gives
    pages of that floor."""
    rng = random.Random(n * 7919 + 17)
    heavy = rng.random() < 0.1  # the long tail: galleries, long reads, busy live pages
    target = int(median_bytes * (0.83 + (rng.uniform(0.6, 1.67) if heavy else rng.expovariate(1 / 0.12))))
    posted = (POSTED + timedelta(days=n % 365, minutes=rng.randrange(0, 600, 5))).replace(tzinfo=CHICAGO)
    title = story_title(n * 7919 % 27_000)
    if n % 3 == 2:
        story = _live_story(rng, posted, rng.randint(5, 25))
    else:
        story = _article_story(rng, posted, rng.randint(0, 6))
    return Page(_render(rng, n, title, posted, story, target).encode("utf-8"), story.kind, story.sections)


def pages(count: int, median_bytes: int = MEDIAN_BYTES) -> list[Page]:
    return [news_page(n, median_bytes) for n in range(count)]


# --- the story ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Story:
    kind: str
    sections: int
    modified: datetime
    html: str  # the article body, between the head fields and the tags
    blocks: list[dict[str, object]]  # the same body as a CMS would ship it in the state blob
    live: list[tuple[datetime, str, str]]  # live entries for JSON-LD: (when, headline, text)


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _headline(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 9))).capitalize()


def _p(rng: random.Random, text: str) -> str:
    """A paragraph as CMSs write it: a few words linked or emphasised, the text unchanged."""
    words = text.split(" ")
    for _ in range(rng.randint(0, 3)):
        k = rng.randrange(len(words))
        if "<" not in words[k] and words[k][-1:].isalpha():
            tag = rng.choice(("a", "a", "em"))
            words[k] = (
                f'<a href="{HOST}/story/{rng.randrange(10**6)}">{words[k]}</a>'
                if tag == "a"
                else f"<em>{words[k]}</em>"
            )
    return f"<p>{' '.join(words)}</p>"


def _icon(name: str) -> str:
    """An inline SVG icon, as share buttons, menus and footers carry them."""
    return (
        f'<svg class="icon icon-{name}" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" '
        f'focusable="false"><path d="{_ICON_PATH}"></path></svg>'
    )


_ICON_PATH = (
    "M12 2C6.48 2 2 6.48 2 12c0 4.84 3.44 8.87 8 9.8V15H8v-3h2V9.5C10 7.57 11.57 6 13.5 6H16v3h-2"
    "c-.55 0-1 .45-1 1v2h3v3h-3v6.95c5.05-.5 9-4.76 9-9.95 0-5.52-4.48-10-10-10z"
)


def _figure(rng: random.Random, lead: bool = False) -> str:
    w = 1200 if lead else 800
    img = f"{HOST}/img/{rng.randrange(10**8):08d}"
    srcset = ", ".join(f"{img}-{x}.webp {x}w" for x in (320, 640, 960, 1200))
    return (
        f'<figure class="{"lead-image" if lead else "inline-image"}"><picture>'
        f'<source type="image/webp" srcset="{srcset}" sizes="(min-width: 1024px) 760px, 100vw">'
        f'<img src="{img}-{w}.jpg" alt="{_headline(rng)}" width="{w}" height="{w * 9 // 16}" '
        f'loading="{"eager" if lead else "lazy"}" decoding="async"></picture>'
        f'<figcaption><span class="caption">{_sentence(rng)}</span> '
        f'<span class="credit">(Photo by {rng.choice(PEOPLE)}/Example Images)</span></figcaption></figure>'
    )


def _ad(slot: str, n: int) -> str:
    return (
        f'<div class="ad-slot ad-{slot}" id="ad-{slot}-{n}" data-ad-unit="/21775744923/dailyexample/{slot}" '
        f'data-sizes="[[300,250],[728,90],[970,250]]" aria-hidden="true">'
        f'<span class="ad-label">Advertisement</span><div id="div-gpt-ad-{slot}-{n}"></div></div>'
    )


def _inline_related(rng: random.Random) -> str:
    links = "".join(
        f'<li><a href="{HOST}/story/{rng.randrange(10**6)}">{story_title(rng.randrange(27_000))}</a></li>'
        for _ in range(3)
    )
    return f'<aside class="inline-related" aria-label="Related"><h4>Related</h4><ul>{links}</ul></aside>'


def _body(rng: random.Random, paragraphs: list[str], start: int) -> list[str]:
    """Paragraphs with what sits between them on real pages: ads, an inline related aside,
    a figure. `start` numbers the ad slots."""
    out = []
    for k, text in enumerate(paragraphs, 1):
        out.append(_p(rng, text))
        if k == 2:
            out.append(_inline_related(rng))
        elif k % 4 == 0:
            out.append(_ad("mid", start + k))
        elif k == 5:
            out.append(_figure(rng))
    return out


def _article_story(rng: random.Random, posted: datetime, updates: int) -> _Story:
    stamps = [posted + timedelta(hours=3 * k, minutes=rng.randrange(60)) for k in range(updates + 1)]
    html, blocks = [], []
    for k in range(updates, 0, -1):  # newest first, above the original
        header = f"UPDATE {_stamp(stamps[k])}"
        paras = [_paragraph(rng) for _ in range(rng.randint(1, 3))]
        head = f"<p><strong>{header}</strong></p>" if rng.random() < 0.7 else f"<h2>{header}</h2>"
        html.append(f'<div class="update-block" data-updated="{_iso(stamps[k])}">{head}')
        html += [_p(rng, p) for p in paras]
        html.append("</div>")
        blocks.append({"type": "update", "header": header, "at": _iso(stamps[k]), "paragraphs": paras})
    original = [_paragraph(rng) for _ in range(rng.randint(8, 16))]
    html.append(f'<p class="original-stamp"><strong>{_stamp(posted)}</strong></p>' if updates else "")
    html += _body(rng, original, 0)
    blocks.append({"type": "original", "at": _iso(posted), "paragraphs": original})
    return _Story("article", updates + 1, stamps[-1], "".join(html), blocks, [])


def _live_story(rng: random.Random, posted: datetime, entries: int) -> _Story:
    times, at = [], posted
    for _ in range(entries):
        at += timedelta(minutes=rng.randint(4, 45))
        times.append(at)
    intro = [_paragraph(rng) for _ in range(rng.randint(2, 4))]
    html = [_p(rng, p) for p in intro]
    html.append('<div class="live-feed" aria-live="polite">')
    blocks: list[dict[str, object]] = [{"type": "intro", "paragraphs": intro}]
    live = []
    for k in range(entries - 1, -1, -1):  # newest first
        when, headline = times[k], _headline(rng)
        paras = [_paragraph(rng) for _ in range(rng.randint(1, 3))]
        entry = [
            f'<div class="entry" id="entry-{k}" data-entry-id="{rng.randrange(10**9)}">',
            f'<div class="entry-meta"><time datetime="{_iso(when)}">{_stamp(when)}</time>',
            f'<span class="entry-author">{rng.choice(PEOPLE)}</span></div>',
            f"<h3>{headline}</h3>",
            *(_p(rng, p) for p in paras),
        ]
        if k % 5 == 3:
            entry.append(_figure(rng))
        entry.append(
            f'<div class="entry-tools"><button class="copy-link" data-href="#entry-{k}">{_icon("link")}'
            f'<span>Copy link</span></button><a class="share-x" href="https://x.com/intent/post?url={HOST}/'
            f'live%23entry-{k}">{_icon("x")}<span>Share</span></a></div>'
        )
        entry.append("</div>")
        html += entry
        if k % 6 == 4:
            html.append(_ad("live", k))
        blocks.append({"type": "entry", "at": _iso(when), "headline": headline, "paragraphs": paras})
        live.append((when, headline, paras[0]))
    html.append("</div>")
    return _Story("live", entries + 1, times[-1], "".join(html), blocks, live)


# --- the page around it ------------------------------------------------------------------------


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def _render(rng: random.Random, n: int, title: str, posted: datetime, story: _Story, target: int) -> str:
    desk = DESKS[n % len(DESKS)]
    author = PEOPLE[n % len(PEOPLE)]
    url = f"{HOST}/{desk.lower().strip('.').replace('.', '')}/{posted:%Y/%m/%d}/{_slug(title)}-{n}"
    dek = _sentence(rng)
    live = story.kind == "live"
    head = "".join(
        [
            '<!DOCTYPE html><html lang="en-US" class="no-js"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">',
            f"<title>{title}{' – live updates' if live else ''} | {SITE}</title>",
            _meta(rng, title, dek, url, desk, author, posted, story.modified),
            _json_ld(title, dek, url, desk, author, posted, story),
            f"<style>{_css(rng, rng.randint(6_000, 16_000))}</style>",
            f"<script>{_js(rng, rng.randint(3_000, 8_000))}</script>",
            "</head>",
        ]
    )
    if n % 4 < 2:  # plain head fields, as Newser writes them: paragraphs of text
        byline = f'<p class="byline">By {author}, {SITE}</p>'
        stamps = f'<p class="dateline">Posted {_stamp(posted)}</p>'
        if story.sections > 1:
            stamps += f'<p class="dateline">Updated {_stamp(story.modified)}</p>'
    else:  # a byline box and <time> elements, as most CMSs write them
        byline = (
            f'<div class="byline">By <a href="{HOST}/by/{_slug(author)}" rel="author">{author}</a>, '
            f"{SITE}</div>"
        )
        stamps = '<div class="timestamps">' + _time_line("Posted", posted)
        if story.sections > 1:
            stamps += _time_line("Updated", story.modified)
        stamps += "</div>"
    tags = "".join(
        f'<li><a href="{HOST}/tag/{_slug(t)}">{t}</a></li>'
        for t in {rng.choice(PLACES) for _ in range(3)} | {rng.choice(SUBJECTS).title() for _ in range(3)}
    )
    article = "".join(
        [
            f'<article class="story {"live-blog" if live else "article"}" data-id="{n}">',
            '<header class="story-header">',
            f'<a class="kicker" href="{HOST}/{_slug(desk)}">{"LIVE" if live else desk}</a>',
            f'<h1 class="headline">{title}{": live updates" if live else ""}</h1><p class="dek">{dek}</p>',
            byline,
            stamps,
            _share(url, title),
            _figure(rng, lead=True),
            "</header>",
            f'<div class="story-body">{story.html}</div>',
            f'<footer class="story-footer"><ul class="tags">{tags}</ul>',
            _share(url, title),
            _bio(rng, author),
            "</footer></article>",
        ]
    )
    body = "".join(
        [
            '<body class="article-page"><a class="skip" href="#main">Skip to content</a>',
            _ad("top", 0),
            f'<header class="site-header"><a class="logo" href="{HOST}/">{SITE}</a>',
            f'<button class="menu-toggle" aria-expanded="false">{_icon("menu")}<span>Menu</span></button>',
            f'<form class="search" action="{HOST}/search" role="search"><input type="search" name="q" '
            f'aria-label="Search"><button type="submit">{_icon("search")}</button></form>',
            f'<a class="subscribe" href="{HOST}/subscribe">Subscribe</a>',
            f'<a class="login" href="{HOST}/login">Log in</a>{_mega_menu(rng)}</header>',
            _trending(rng),
            _breadcrumbs(desk),
            f'<main id="main"><div class="layout">{article}',
            f'<aside class="rail">{_ad("rail", 1)}{_rail(rng, "Most read", 10)}{_ad("rail", 2)}</aside>',
            "</div>",
            _newsletter(),
            _rail(rng, "Related coverage", rng.randint(8, 12)),
            _rail(rng, f"More in {desk}", 6),
            _comments(rng, posted, rng.randint(5, 30)),
            "</main>",
            _footer(rng),
            _consent(),
            '<noscript><img src="https://sb.scorecardresearch.com/p?c1=2&amp;c2=6035250" alt=""></noscript>',
        ]
    )
    tail = [
        f"<script>{_js(rng, rng.randint(2_000, 5_000))}</script>",
        '<script async src="https://securepubads.g.doubleclick.net/tag/js/gpt.js"></script>',
        '<script id="__NEXT_DATA__" type="application/json">',
        "",  # the state blob, sized to the page's target
        "</script></body></html>",
    ]
    budget = target - len(head.encode()) - len(body.encode()) - sum(len(t) for t in tail)
    tail[3] = _state_blob(rng, n, title, url, story, budget)
    return head + body + "".join(tail)


def _time_line(label: str, at: datetime) -> str:
    return f'<p>{label} <time datetime="{_iso(at)}">{_stamp(at)}</time></p>'


def _meta(
    rng: random.Random,
    title: str,
    dek: str,
    url: str,
    desk: str,
    author: str,
    posted: datetime,
    mod: datetime,
) -> str:
    image = f"{HOST}/img/{rng.randrange(10**8):08d}-1200.jpg"
    tags = [
        f'<meta name="description" content="{dek}">',
        f'<meta name="keywords" content="{", ".join(title.lower().split())}, news, {desk.lower()}">',
        '<meta name="robots" content="index, follow, max-image-preview:large">',
        f'<meta name="author" content="{author}">',
        f'<link rel="canonical" href="{url}">',
        f'<link rel="amphtml" href="{url}?outputType=amp">',
        '<meta name="theme-color" content="#121212">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:site_name" content="{SITE}">',
        f'<meta property="og:title" content="{title}">',
        f'<meta property="og:description" content="{dek}">',
        f'<meta property="og:url" content="{url}">',
        f'<meta property="og:image" content="{image}">',
        '<meta property="og:image:width" content="1200"><meta property="og:image:height" content="675">',
        '<meta name="twitter:card" content="summary_large_image">',
        '<meta name="twitter:site" content="@dailyexample">',
        f'<meta name="twitter:title" content="{title}">',
        f'<meta name="twitter:description" content="{dek}">',
        f'<meta name="twitter:image" content="{image}">',
        f'<meta property="article:published_time" content="{_iso(posted)}">',
        f'<meta property="article:modified_time" content="{_iso(mod)}">',
        f'<meta property="article:section" content="{desk}">',
        *(f'<meta property="article:tag" content="{w}">' for w in title.split()),
        '<meta name="parsely-type" content="post">',
        f'<meta name="parsely-pub-date" content="{_iso(posted)}">',
        '<link rel="icon" href="/favicon.ico" sizes="any"><link rel="apple-touch-icon" href="/icon-180.png">',
        '<link rel="manifest" href="/manifest.webmanifest">',
        *(f'<link rel="preconnect" href="https://{h}" crossorigin>' for h in _THIRD_PARTIES),
        *(f'<link rel="dns-prefetch" href="https://{h}">' for h in _THIRD_PARTIES),
        '<link rel="preload" as="font" type="font/woff2" href="/fonts/serif-400.woff2" crossorigin>',
        '<link rel="preload" as="font" type="font/woff2" href="/fonts/sans-700.woff2" crossorigin>',
        f'<link rel="alternate" type="application/rss+xml" title="{SITE}" href="{HOST}/rss">',
    ]
    return "".join(tags)


_THIRD_PARTIES = (
    "securepubads.g.doubleclick.net", "www.googletagmanager.com", "cdn.dailyexample.com",
    "c.amazon-adsystem.com", "static.chartbeat.com", "cdn.cookielaw.org",
)  # fmt: skip


def _json_ld(title: str, dek: str, url: str, desk: str, author: str, posted: datetime, story: _Story) -> str:
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting" if story.kind == "live" else "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": title,
        "description": dek,
        "datePublished": _iso(posted),
        "dateModified": _iso(story.modified),
        "articleSection": desk,
        "author": [{"@type": "Person", "name": author, "url": f"{HOST}/by/{_slug(author)}"}],
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": SITE,
            "logo": {"@type": "ImageObject", "url": f"{HOST}/logo.png", "width": 600, "height": 60},
        },
        "image": [f"{HOST}/img/lead-{w}.jpg" for w in (1200, 800, 600)],
        "isAccessibleForFree": True,
    }
    if story.kind == "live":
        data["coverageStartTime"] = _iso(posted)
        data["liveBlogUpdate"] = [
            {"@type": "BlogPosting", "headline": h, "datePublished": _iso(at), "articleBody": text}
            for at, h, text in story.live
        ]
    crumbs = [("Home", HOST), (desk, f"{HOST}/{_slug(desk)}"), (title, url)]
    trail = {
        "@context": "https://schema.org",
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": k, "name": name, "item": link}
            for k, (name, link) in enumerate(crumbs, 1)
        ],
    }
    return "".join(f'<script type="application/ld+json">{_script_json(d)}</script>' for d in (data, trail))


def _script_json(data: object) -> str:
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


_PROPS = (
    "display:flex", "display:block", "display:none", "align-items:center", "justify-content:space-between",
    "position:relative", "position:absolute", "overflow:hidden", "text-transform:uppercase",
    "font-weight:700", "line-height:1.5", "letter-spacing:.02em", "border-bottom:1px solid #e2e2e2",
    "transition:opacity .2s ease-in-out", "white-space:nowrap", "cursor:pointer", "z-index:10",
)  # fmt: skip
_BLOCKS = ("header", "nav", "menu", "story", "byline", "figure", "caption", "rail", "card", "ad", "footer")
_PARTS = ("", "__title", "__link", "__item", "__image", "--active", "--compact", "__meta", "__label")


def _css(rng: random.Random, size: int) -> str:
    """Minified CSS of about `size` characters: rules, media queries, custom properties."""
    out = [":root{--ink:#121212;--muted:#5a5a5a;--accent:#c8102e;--gap:16px;--serif:Georgia,serif}"]
    total = len(out[0])
    while total < size:
        sel = f".{rng.choice(_BLOCKS)}{rng.choice(_PARTS)}"
        props = ";".join(rng.sample(_PROPS, rng.randint(2, 5)))
        box = f"margin:{rng.randint(0, 32)}px {rng.randint(0, 24)}px;color:#{rng.randrange(16**6):06x}"
        rule = f"{sel}{{{props};{box}}}"
        if rng.random() < 0.2:
            rule = f"@media (min-width:{rng.choice((600, 768, 1024, 1280))}px){{{rule}}}"
        out.append(rule)
        total += len(rule)
    return "".join(out)


_JS = (
    "!function(e,t,n){{var r=t.createElement(n),o=t.getElementsByTagName(n)[0];r.async=1;"
    "r.src='https://www.googletagmanager.com/gtm.js?id=GTM-{a}';o.parentNode.insertBefore(r,o)}}"
    "(window,document,'script');",
    "window.dataLayer=window.dataLayer||[];window.dataLayer.push({{event:'pageview',section:'{w}',"
    "contentId:'{a}',paywall:{{state:'metered',count:{b}}}}});",
    "function {f}(e){{if(!e||!e.length)return[];for(var t=[],n=0;n<e.length;n++)e[n]&&e[n].id!=={b}"
    "&&t.push({{id:e[n].id,slot:'{w}-'+n}});return t}}",
    "var {f}=function(){{try{{return JSON.parse(localStorage.getItem('consent-{a}'))||{{}}}}"
    "catch(e){{return{{}}}}}};",
    "(function(){{var e=document.querySelectorAll('[data-ad-unit]');for(var t=0;t<e.length;t++)"
    "googletag.cmd.push(function(){{googletag.defineSlot(e[t].dataset.adUnit,[[300,250]],e[t].id)"
    ".setTargeting('pos','{w}{b}').addService(googletag.pubads())}})}})();",
)


def _js(rng: random.Random, size: int) -> str:
    """Minified-looking analytics, consent and ad code of about `size` characters."""
    out, total = [], 0
    while total < size:
        code = rng.choice(_JS).format(
            a=f"{rng.randrange(16**7):07X}",
            b=rng.randrange(1000),
            w=rng.choice(WORDS),
            f="_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 6))),
        )
        out.append(code)
        total += len(code)
    return "\n".join(out)


def _mega_menu(rng: random.Random) -> str:
    columns = []
    for desk in DESKS:
        links = "".join(
            f'<li><a href="{HOST}/{_slug(desk)}/{_slug(w)}">{w.title()}</a></li>'
            for w in rng.sample(PLACES + SUBJECTS, rng.randint(8, 14))
        )
        columns.append(
            f'<li class="menu__item"><a class="menu__link" href="{HOST}/{_slug(desk)}">{desk}</a>'
            f'<div class="menu__panel"><ul class="menu__sub">{links}</ul></div></li>'
        )
    return f'<nav class="menu" aria-label="Main"><ul class="menu__list">{"".join(columns)}</ul></nav>'


def _trending(rng: random.Random) -> str:
    links = "".join(
        f'<li><a href="{HOST}/topic/{_slug(t)}">{t}</a></li>'
        for t in (f"{rng.choice(PLACES)} {rng.choice(SUBJECTS)}".title() for _ in range(8))
    )
    return f'<div class="trending"><span class="trending__label">Trending</span><ul>{links}</ul></div>'


def _breadcrumbs(desk: str) -> str:
    return (
        '<nav class="breadcrumbs" aria-label="Breadcrumb"><ol>'
        f'<li><a href="{HOST}/">Home</a></li><li><a href="{HOST}/{_slug(desk)}">{desk}</a></li>'
        f'<li><a href="{HOST}/{_slug(desk)}/latest">Latest</a></li></ol></nav>'
    )


def _share(url: str, title: str) -> str:
    return (
        '<div class="share-tools" role="group" aria-label="Share">'
        f'<a href="https://www.facebook.com/sharer/sharer.php?u={url}">{_icon("facebook")}<span>Facebook</span></a>'
        f'<a href="https://x.com/intent/post?url={url}&amp;text={title}">{_icon("x")}<span>X</span></a>'
        f'<a href="mailto:?subject={title}&amp;body={url}">{_icon("email")}<span>Email</span></a>'
        f'<button class="copy-link">{_icon("link")}<span>Copy link</span></button>'
        f'<button class="gift">{_icon("gift")}<span>Gift this article</span></button>'
        f'<button class="save">{_icon("bookmark")}<span>Save</span></button>'
        f'<a class="comments-count" href="#comments">{_icon("comment")}<span>Comments</span></a></div>'
    )


def _consent() -> str:
    """A cookie-consent dialog, hidden until its script shows it, with its preference toggles."""
    purposes = "".join(
        f'<div class="ot-purpose"><h4>{name}</h4><p>We and our partners use cookies to {what}.</p>'
        f'<label class="ot-switch"><input type="checkbox" name="{name.split()[0].lower()}" checked>'
        f'<span class="ot-slider"></span><span class="ot-label">{name}</span></label></div>'
        for name, what in (
            ("Strictly necessary cookies", "keep the site working"),
            ("Performance cookies", "count visits and fix problems"),
            ("Functional cookies", "remember your choices"),
            ("Targeting cookies", "show relevant advertising"),
            ("Social media cookies", "let you share our stories"),
        )
    )
    return (
        '<div id="consent-banner" class="ot-banner" role="dialog" aria-modal="true" hidden>'
        "<h3>We value your privacy</h3><p>We use cookies and similar technologies to run this site, "
        "measure its audience and show advertising. You can change your choices at any time.</p>"
        f'<div class="ot-buttons"><button class="ot-accept">Accept all</button><button class="ot-reject">'
        f'Reject all</button><button class="ot-settings">Settings</button></div>{purposes}</div>'
    )


def _bio(rng: random.Random, author: str) -> str:
    return (
        f'<div class="author-bio"><img src="{HOST}/img/by/{_slug(author)}.jpg" alt="{author}" width="96" '
        f'height="96" loading="lazy"><p><strong>{author}</strong> covers {rng.choice(SUBJECTS)}s and '
        f"{rng.choice(SUBJECTS)}s for {SITE} from {rng.choice(PLACES)}. {_sentence(rng)}</p>"
        f'<a href="{HOST}/by/{_slug(author)}">More from {author}</a> '
        f'<a href="https://x.com/{_slug(author).replace("-", "")}">Follow on X</a></div>'
    )


def _newsletter() -> str:
    return (
        f'<section class="newsletter"><h2>The Morning Brief</h2><p>The day’s top stories from {SITE}, '
        f'in your inbox every weekday.</p><form action="{HOST}/newsletters/signup" method="post">'
        '<label for="nl-email">Email address</label><input id="nl-email" type="email" name="email" '
        'placeholder="you@example.com" required><input type="hidden" name="list" value="morning-brief">'
        '<button type="submit">Sign up</button></form><p class="fine-print">By signing up you agree to '
        f'our <a href="{HOST}/terms">Terms</a> and <a href="{HOST}/privacy">Privacy Policy</a>.</p></section>'
    )


def _rail(rng: random.Random, heading: str, count: int) -> str:
    items = "".join(
        f'<li class="card"><a class="card__link" href="{HOST}/story/{rng.randrange(10**6)}">'
        f'<div class="card__media"><img src="{HOST}/img/{rng.randrange(10**8):08d}-320.jpg" alt="" '
        'width="160" height="90" loading="lazy"></div><div class="card__body">'
        f'<span class="card__kicker">{rng.choice(DESKS)}</span>'
        f'<h3 class="card__title">{story_title(rng.randrange(27_000))}</h3></div></a>'
        f'<div class="card__meta"><span>{rng.randint(2, 59)} min read</span></div></li>'
        for _ in range(count)
    )
    return f'<section class="rail-list"><h2>{heading}</h2><ol>{items}</ol></section>'


def _comments(rng: random.Random, posted: datetime, count: int) -> str:
    out = [f'<section id="comments" class="comments"><h2>Comments ({count})</h2>']
    for k in range(count):
        at = posted + timedelta(minutes=rng.randint(5, 3000))
        reply = " comment--reply" if k and rng.random() < 0.3 else ""
        out.append(
            f'<div class="comment{reply}" id="c{rng.randrange(10**8)}"><div class="comment__meta">'
            f'<img class="avatar" src="{HOST}/avatars/{rng.randrange(10**6)}.png" alt="" width="32" '
            'height="32">'
            f'<span class="comment__author">{rng.choice(WORDS)}{rng.randrange(1000)}</span> '
            f'<time datetime="{_iso(at)}">{rng.randint(1, 23)} hours ago</time></div>'
            f"<p>{_sentence(rng)} {_sentence(rng) if rng.random() < 0.5 else ''}</p>"
            '<div class="comment__tools"><button>Reply</button><button>Like</button>'
            "<button>Report</button></div></div>"
        )
    out.append('<button class="comments__more">Show more comments</button></section>')
    return "".join(out)


def _footer(rng: random.Random) -> str:
    columns = []
    for heading in ("News", "Opinion", "Lifestyle", "Games", "Company", "Help"):
        links = "".join(
            f'<li><a href="{HOST}/{_slug(w)}">{w.title()}</a></li>' for w in rng.sample(DESKS + SUBJECTS, 10)
        )
        columns.append(f"<div><h3>{heading}</h3><ul>{links}</ul></div>")
    social = "".join(
        f'<a href="https://{s}.com/dailyexample" aria-label="{s}">{_icon(s)}<span>{s.title()}</span></a>'
        for s in ("facebook", "x", "instagram", "youtube", "tiktok", "linkedin")
    )
    return (
        f'<footer class="site-footer"><div class="footer__columns">{"".join(columns)}</div>'
        f'<div class="footer__social">{social}</div>'
        f"<p>© 2022 {SITE}. All rights reserved.</p>"
        f'<a href="{HOST}/privacy">Privacy</a> <a href="{HOST}/terms">Terms of use</a> '
        f'<a href="{HOST}/cookies">Cookie settings</a> <a href="{HOST}/accessibility">Accessibility</a>'
        "</footer>"
    )


def _state_blob(rng: random.Random, n: int, title: str, url: str, story: _Story, budget: int) -> str:
    """The page's JSON state, as a server-rendering framework ships it: the article (its text
    again), then recommendations, ad and feature configuration until it is about `budget`."""
    props: dict[str, object] = {
        "article": {"id": n, "headline": title, "url": url, "kind": story.kind, "body": story.blocks},
        "recommendations": [],
        "ads": {"network": 21775744923, "slots": []},
        "flags": {f"exp_{w}_{k}": rng.random() < 0.5 for k, w in enumerate(WORDS[:40])},
    }
    state = {"props": {"pageProps": props}, "page": "/[section]/[...slug]", "buildId": f"{n:08x}"}
    size = len(_script_json(state))
    recs = props["recommendations"]
    slots = props["ads"]["slots"]  # type: ignore[index]
    assert isinstance(recs, list) and isinstance(slots, list)
    while size < budget:
        if rng.random() < 0.8:
            item: dict[str, object] = {
                "id": rng.randrange(10**9),
                "headline": story_title(rng.randrange(27_000)),
                "url": f"{HOST}/story/{rng.randrange(10**6)}",
                "section": rng.choice(DESKS),
                "summary": _sentence(rng),
                "image": {"src": f"{HOST}/img/{rng.randrange(10**8):08d}-640.jpg", "w": 640, "h": 360},
                "published": _iso(POSTED.replace(tzinfo=CHICAGO) + timedelta(minutes=rng.randrange(10**6))),
                "authors": [rng.choice(PEOPLE)],
            }
            recs.append(item)
        else:
            item = {
                "id": f"div-gpt-ad-{len(slots)}",
                "unit": f"/21775744923/dailyexample/{rng.choice(WORDS)}",
                "sizes": [[300, 250], [728, 90]],
                "targeting": {"pos": len(slots), "kw": rng.sample(WORDS, 4)},
            }
            slots.append(item)
        size += len(_script_json(item)) + 1
    return _script_json(state)


def size_summary(batch: list[Page]) -> str:
    """'median 121 KB (103-246)' for a batch."""
    kb = [len(p.html) / 1000 for p in batch]
    return f"median {statistics.median(kb):.0f} KB ({min(kb):.0f}-{max(kb):.0f})"


if __name__ == "__main__":
    sys.stdout.buffer.write(news_page(int(sys.argv[1]) if len(sys.argv) > 1 else 0).html)
