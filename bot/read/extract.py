"""Fetched bytes -> text, and HTML pages -> article text through a real extractor.

Decoding never fails: a declared charset is tried first, then UTF-8, then cp1252, then
latin-1 (which maps every byte). HTML goes through trafilatura, which drops navigation, ads,
scripts and comments and writes one block (paragraph, heading) per line, so an
"UPDATE Nov 11 ..." heading or a date line stays a line of its own for the text parser.
"""

from __future__ import annotations

import codecs
import re

import trafilatura
from trafilatura.metadata import extract_title

_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]{1,40})""", re.IGNORECASE)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]{1,40})", re.IGNORECASE)
_HTML_START = re.compile(
    r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|article|main|section|div|p|h[1-6])\b",
    re.IGNORECASE | re.DOTALL,
)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode(data: bytes, content_type: str | None = None) -> str:
    """Bytes -> str by BOM, declared charset (header, then <meta>), UTF-8, cp1252, latin-1."""
    tried = [enc for bom, enc in _BOMS if data.startswith(bom)][:1]
    if found := _CT_CHARSET.search(content_type or ""):
        tried.append(found.group(1))
    if meta := _CHARSET.search(data[:4096]):
        tried.append(meta.group(1).decode("ascii"))  # pragma: no mutate (codec names ignore case)
    for encoding in (*tried, "utf-8", "cp1252"):  # pragma: no mutate (codec names ignore case)
        try:
            return data.decode(encoding)
        except (LookupError, ValueError):  # unknown codec, bytes that do not fit it
            continue
    return data.decode("latin-1")  # pragma: no mutate (codec names ignore case)


def looks_like_html(text: str, content_type: str | None = None) -> bool:
    """HTML by the declared type, else by a tag at the start or an <html>/<body> near it."""
    if content_type and "html" in content_type.lower():
        return True
    head = text[:2048]
    if "<" not in head:
        return False
    head = head.lower()
    return bool(_HTML_START.match(head)) or "<html" in head or "<body" in head


def html_to_text(html: str) -> tuple[str, str]:
    """(title, article text with one block per line); ("", "") when there is no article.

    `fast=True` skips trafilatura's fallback extractors: about 10% faster on a 50 KB page and
    the same text on article pages. The title comes from the page's metadata (a lone <h1>,
    og:title, <title>), read from the same parsed tree so the page is parsed once.
    """
    if "<html" not in html[:4096].lower():
        html = f"<html><body>{html}</body></html>"  # trafilatura rejects bare fragments
    tree = trafilatura.load_html(html)
    if tree is None:
        return "", ""
    title = extract_title(tree) or ""
    text = trafilatura.extract(
        tree,
        fast=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        output_format="txt",
    )
    return title, text or ""
