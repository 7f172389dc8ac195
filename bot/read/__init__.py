"""Reading a fetched page: bytes -> `Story`. Pure: no I/O, no state between calls.

`parse_story` is the entry point. HTML is read from its DOM (`dom`, `meta`, `jsonld`,
`liveblog`): the page's own markup says where the article is, what is furniture, when each
part was written and which blocks are live-blog entries. Text, and the article text the DOM
reader yields, then goes through the update grammar (`parse`, `markers`, `timestamps`,
`furniture`).
"""

from bot.read.parse import parse_story, parse_text

__all__ = ["parse_story", "parse_text"]
