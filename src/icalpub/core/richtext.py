"""Event descriptions: Markdown -> sanitised HTML and clean plain text.

One pure function, :func:`render_markdown`, shared by the pages and by ``render`` (which puts
the HTML in ``X-ALT-DESC;FMTTYPE=text/html`` and the text in ``DESCRIPTION``), so a page and a
calendar always say the same thing. No ``icalendar`` or ``flask`` here.

Safety: Markdown passes raw HTML through, so its output is never trusted; ``nh3`` (the Rust
``ammonia`` sanitizer) keeps an allow-list of tags and attributes and drops ``<script>``,
``<style>`` and event-handler attributes with their content. The plain text is derived from
that *sanitised* HTML, so a ``<script>`` cannot reach ``DESCRIPTION`` either.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from html.parser import HTMLParser

import markdown
import nh3

#: What a description may contain after sanitising: paragraphs, lists, links, emphasis, code.
ALLOWED_TAGS = frozenset({"p", "br", "ul", "ol", "li", "a", "strong", "em", "b", "i", "code",
                          "pre", "blockquote", "h3", "h4", "h5", "h6"})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
#: Tags dropped together with their content (nh3's default set plus the usual suspects).
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "iframe", "object", "template", "noscript",
                                "textarea", "title", "svg", "math"})


@dataclass(frozen=True)
class RichText:
    html: str  # sanitised HTML fragment, safe to embed in a page
    text: str  # plain text, no Markdown syntax; links written "text (url)"


@functools.lru_cache(maxsize=1 << 16)
def render_markdown(source: str) -> RichText:
    """Convert a description written in Markdown. Pure and cached (the calendar, the pages and
    search each need it). The cache holds far more entries than a site has events: an LRU
    smaller than the number of descriptions, walked in order, would never hit."""
    if not source.strip():
        return RichText("", "")
    converter = _converter()
    raw = converter.reset().convert(source)
    html = nh3.clean(raw, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in
                                                             ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), clean_content_tags=set(CLEAN_CONTENT_TAGS),
                     link_rel="noopener noreferrer nofollow")
    return RichText(html.strip(), html_to_text(html))


_local = threading.local()


def _converter() -> markdown.Markdown:
    """One Markdown converter per thread, reset between documents: building its parser costs
    as much as converting a description (``markdown.markdown`` builds one per call), and a
    converter is not safe to share between threads."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = markdown.Markdown(extensions=["sane_lists"],
                                                         output_format="html")
    return converter


class _TextWriter(HTMLParser):
    """Walks sanitised HTML and writes the plain text a person would type."""

    BLOCKS = {"p", "ul", "ol", "pre", "blockquote", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []  # finished paragraphs / lists
        self.current: list[str] = []
        self.lists: list[list[int | None]] = []  # per open list: [counter or None]
        self.links: list[str | None] = []
        self.link_text: list[list[str]] = []

    def _flush(self) -> None:
        text = "".join(self.current).strip("\n ")
        if text:
            self.blocks.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS and not self.lists:
            self._flush()
        if tag in {"ul", "ol"}:
            self.lists.append([1 if tag == "ol" else None])
        elif tag == "li":
            if self.current and not self.current[-1].endswith("\n"):
                self.current.append("\n")
            depth = len(self.lists) - 1
            counter = self.lists[-1][0] if self.lists else None
            if counter is None:
                bullet = "• "
            else:
                bullet = f"{counter}. "
                self.lists[-1][0] = counter + 1
            self.current.append("  " * max(depth, 0) + bullet)
        elif tag == "br":
            self.current.append("\n")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
            self.link_text.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.links:
            href, words = self.links.pop(), "".join(self.link_text.pop())
            if href and href.removeprefix("mailto:") not in (words, ):
                self._write(f" ({href})" if words.strip() else href)
        elif tag in {"ul", "ol"} and self.lists:
            self.lists.pop()
            if not self.lists:
                self._flush()
        elif tag in self.BLOCKS and not self.lists:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.lists and not data.strip():
            return  # whitespace between list items
        self._write(data)

    def _write(self, text: str) -> None:
        self.current.append(text)
        for words in self.link_text:
            words.append(text)

    def result(self) -> str:
        self._flush()
        return "\n\n".join(re.sub(r"[ \t]+\n", "\n", block) for block in self.blocks)


def html_to_text(html: str) -> str:
    """Plain text of a sanitised fragment: blank lines between paragraphs, "• " bullets,
    "1. " numbers, links as "text (url)" (just the url when the text is the url)."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.result()
