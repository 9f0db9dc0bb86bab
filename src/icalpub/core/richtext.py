"""Event descriptions: Markdown -> sanitised HTML and clean plain text.

One pure function, :func:`render_markdown`, shared by the pages and by ``render`` (which puts
the HTML in ``X-ALT-DESC;FMTTYPE=text/html`` and the text in ``DESCRIPTION``), so a page and a
calendar always say the same thing. No ``icalendar`` or ``flask`` here.

Safety: Markdown passes raw HTML through, so its output is never trusted; ``nh3`` (the Rust
``ammonia`` sanitizer) keeps an allow-list of tags and attributes and drops ``<script>``,
``<style>`` and event-handler attributes with their content. The plain text is derived from
that *sanitised* HTML, so a ``<script>`` cannot reach ``DESCRIPTION`` either.

Bounded work: Python-Markdown (and the standard library's HTML parser it uses) re-reads the
rest of the text for every opening it cannot close — a ``[`` without ``]``, a link target's
``(`` without ``)``, a run of backticks, an unclosed ``<tag`` or ``<![CDATA[`` — and for every
heading underline or rule inside a long block, so 20,000 ``[`` took minutes; nested lists or
quotes recurse once per level (a few hundred levels raise ``RecursionError``, after which the
converter is left broken); a reference link repeats its target at every use (a 20 kB text
became 4 MB of HTML). :func:`markdown_problem` measures all of this in linear time, the loader
refuses a description it objects to, and :func:`render_markdown` shows such a text as plain
text rather than convert it.
"""

from __future__ import annotations

import bisect
import functools
import html as _html
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


#: The work a description's Markdown may cost, in characters re-read (see
#: ``markdown_problem``), each weighed by what re-reading it cost in measurements, relative to
#: a ``[`` (0.3 µs per character: ``_WEIGHTS``). 400,000 is about 0.12 s of conversion, while a
#: 20,000-character description with a few stray brackets needs a few thousand.
MAX_MARKDOWN_WORK = 400_000
#: Lists and block quotes nested deeper than this are refused: Python-Markdown recurses per
#: level and fails with ``RecursionError`` at a few hundred.
MAX_MARKDOWN_NESTING = 32
#: Characters that reference links (``[x]`` with ``[x]: https://…`` defined once) may add to
#: the HTML by repeating their targets.
MAX_REFERENCE_TEXT = 100_000


@functools.lru_cache(maxsize=1 << 16)
def render_markdown(source: str) -> RichText:
    """Convert a description written in Markdown. Pure and cached (the calendar, the pages and
    search each need it). The cache holds far more entries than a site has events: an LRU
    smaller than the number of descriptions, walked in order, would never hit.

    A text that :func:`markdown_problem` objects to (the loader refuses those) is shown as
    plain text, and so is one the converter fails on, so no text can hang or break a render."""
    if not source.strip():
        return RichText("", "")
    if markdown_problem(source) is not None:
        return _plain(source)
    try:
        raw = _converter().reset().convert(_defused(source))
    except Exception:  # noqa: BLE001 — e.g. RecursionError: the converter is left broken
        _local.converter = None
        return _plain(source)
    return _sanitised(raw)


#: ``&#`` that does not start a numeric character reference (``&#;``, ``&#x;``, ``&#12``).
_BAD_CHARREF = re.compile(r"&#(?![0-9]{1,7};|[xX][0-9a-fA-F]{1,6};)")


def _defused(source: str) -> str:
    """``source`` with each ``&#`` that starts no character reference written ``&amp;#``,
    which reads the same. Python-Markdown's HTML block reader (the standard library's parser)
    stops at such an ``&#`` and resumes on a shortened buffer whose line positions it no
    longer tracks: each later end tag then copied a run of the text again (10 kB became 900 kB
    of HTML, converted in 0.8 s). Only needed, and only done, when the text has tags."""
    if "&#" in source and "<" in source:
        return _BAD_CHARREF.sub("&amp;#", source)
    return source


def _sanitised(raw: str) -> RichText:
    html = nh3.clean(raw, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in
                                                             ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), clean_content_tags=set(CLEAN_CONTENT_TAGS),
                     link_rel="noopener noreferrer nofollow")
    return RichText(html.strip(), html_to_text(html))


def _plain(source: str) -> RichText:
    """The text as it is, in paragraphs, without Markdown."""
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", source) if p.strip()]
    return _sanitised("".join(f"<p>{_html.escape(p)}</p>" for p in paragraphs))


# Where the converter's work goes (each pattern is linear: no nested quantifiers).
_BRACKETS = re.compile(r"\\.|[\[\]()]", re.S)
_TICKS = re.compile(r"\\+|`+")
_HTML_OPEN = re.compile(r"<(?:!\[CDATA\[|!--|[A-Za-z/!?])")
_SPLIT_LINE = re.compile(r"^ {0,3}(?:> ?)*[-=*_\[]", re.M)
_DEFINITION_START = re.compile(r"\[[^\[\]\n]*\]:")
_BLANK_LINE = re.compile(r"\n[ \t]*(?=\n)")
_CONTAINERS = re.compile(r"^[ \t]*(?:(?:>|[*+-][ \t]|[0-9]{1,9}[.)][ \t])[ \t]*)*", re.M)
_MARKER = re.compile(r">|[*+-][ \t]|[0-9]{1,9}[.)][ \t]")
_DEFINITION = re.compile(r"^ {0,3}\[([^\]\n]{1,200})\]:[ \t]*([^\n]*)", re.M)


def markdown_problem(source: str) -> str | None:
    """Why converting ``source`` from Markdown would cost more than linear time or output, or
    None. Linear itself; the figures and the kinds of input behind it are in SECURITY.md
    (found by ``tests/load/test_hostile.py``, which also holds the conversion of any text this
    accepts to its time budget)."""
    nesting = _nesting(source)
    if nesting is not None:
        depth, line = nesting
        return (f"nests lists or block quotes {depth} levels deep (line {line} of the text); "
                f"Markdown allows at most {MAX_MARKDOWN_NESTING}: flatten the list")
    costs, pairs = _scan_costs(source)
    weighed = {cause: cost * _WEIGHTS[cause] for cause, cost in costs.items()}
    work = round(sum(weighed.values()))
    if work > MAX_MARKDOWN_WORK:
        cause, fix = _CAUSES[max(weighed, key=weighed.__getitem__)]
        return (f"is too costly to convert from Markdown: {cause} make the converter re-read "
                f"the rest of the text each time ({work:,} characters re-read; at most "
                f"{MAX_MARKDOWN_WORK:,}); {fix}")
    extra = _reference_text(source, pairs)
    if extra > MAX_REFERENCE_TEXT:
        return (f"uses reference links whose targets would repeat into {extra:,} characters of "
                f"HTML (at most {MAX_REFERENCE_TEXT:,}); write such links fewer times, or "
                "with shorter targets")
    return None


_CAUSES = {
    "[": ("`[` that no `]` closes (or brackets nested deep)",
          "write a literal bracket as \\["),
    "(": ("link targets `](` whose `(` no `)` closes", "close each `(` or write it as \\("),
    "`": ("runs of backticks that no run of the same length closes",
          "close each code span or write a literal backtick as \\`"),
    "<": ("HTML tags, comments or CDATA sections that are not closed",
          "close each one, or write a literal < as &lt;"),
    "-": ("heading underlines or rules (lines of `=`, `-`, `*` or `_`) inside a long block",
          "put a blank line before and after each"),
    "]:": ("reference definitions (`[x]: https://…`) between lines of text in a long block",
           "put them together, after a blank line"),
    "<!--": ("HTML comments after many unclosed tags in one paragraph",
             "close the tags or remove the comments"),
}


#: What re-reading a character costs, per cause, relative to a ``[`` (measured: ``[`` 0.30 µs,
#: ``](`` 0.10, backticks 0.07, tags 0.05, underlines and rules 0.03, reference definitions
#: among other lines 0.06, a comment's search per open tag 0.0003 per character; CDATA
#: sections count their brackets too; a backslash escape counts as the 14 characters of its
#: placeholder).
_WEIGHTS = {"[": 1.0, "(": 0.35, "`": 0.25, "<": 0.2, "-": 0.1, "]:": 0.2, "<!--": 0.002}


def _scan_costs(source: str) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """Characters the converter re-reads, by cause, and the matched bracket pairs."""
    n = len(source)
    costs = dict.fromkeys(_CAUSES, 0)
    pairs: list[tuple[int, int]] = []
    # Inline text never crosses a blank line, unless the HTML block reader (the standard
    # library's parser) rearranges the text around an unclosed construct: then blocks are
    # not to be trusted and every cost runs to the end of the text.
    html = _HTML_OPEN.search(source) is not None
    if "[" in source or "(" in source or "`" in source:
        for offset, block in ([(0, source)] if html else _blocks(source)):
            if "[" in block or "(" in block:
                _bracket_work(block, offset, costs, pairs)
            if "`" in block:
                costs["`"] += _code_span_work(block)
    if "<" in source:
        _html_work(source, costs)
    block_end = -1  # a line that splits its block makes the rest of the block be read again
    for m in _SPLIT_LINE.finditer(source):
        at = m.start()
        if source[m.end() - 1] == "[":
            if not _DEFINITION_START.match(source, m.end() - 1):
                continue
            cause = "]:"
        else:
            line_end = source.find("\n", at)
            line = source[at:n if line_end == -1 else line_end]
            line = line.lstrip("> \t").replace(" ", "").replace("\t", "")
            if len(set(line)) != 1 or (line[0] in "*_" and len(line) < 3):
                continue
            cause = "-"
        if block_end != n and block_end < at:
            blank = None if html else _BLANK_LINE.search(source, at)
            block_end = n if blank is None else blank.start()
        costs[cause] += block_end - at
    return costs, pairs


def _html_work(source: str, costs: dict[str, int]) -> None:
    """The HTML block reader reads from each ``<tag``, ``<!--`` or ``<![CDATA[`` to its end
    (to the end of the text when it has none), and at each comment it searches the rest of the
    paragraph once for every inline tag still open there."""
    n = len(source)
    closer = {"[": "]]>", "-": "-->"}
    found = {"]]>": -1, "-->": -1, ">": -1}
    paragraph_end, open_tags = -1, 0
    for m in _HTML_OPEN.finditer(source):
        at = m.start()
        if paragraph_end < at and paragraph_end != n:
            blank = _BLANK_LINE.search(source, at)
            paragraph_end, open_tags = (n if blank is None else blank.start()), 0
        kind = source[at + 1]
        end = closer.get(source[at + 2:at + 3], ">") if kind == "!" else ">"
        if found[end] != n and found[end] < at:
            hit = source.find(end, at)
            found[end] = n if hit == -1 else hit
        costs["<"] += found[end] - at
        if kind == "/":
            open_tags = max(0, open_tags - 1)
        elif kind.isalpha():
            open_tags += 1
        elif end == "-->":  # a search per open tag: about 3 µs, then 0.3 ns per character
            costs["<!--"] += open_tags * (paragraph_end - at + 10_000)


def _blocks(source: str):
    """(offset, text) of each part of ``source`` between blank lines."""
    start = 0
    for m in _BLANK_LINE.finditer(source):
        yield start, source[start:m.start()]
        start = m.end()
    yield start, source[start:]


def _bracket_work(block: str, offset: int, costs: dict[str, int],
                  pairs: list[tuple[int, int]]) -> None:
    """A link's text is read up to its matching ``]`` (to the end of the block without one),
    a link target up to its matching ``)``: once per ``[`` and per ``](``."""
    escapes = 0  # each backslash escape is read as a 14-character placeholder
    brackets: list[tuple[int, int]] = []  # (where, counting placeholders; where in the text)
    parens: list[tuple[int, bool]] = []
    for m in _BRACKETS.finditer(block):
        c, at = m.group(), m.start() + 12 * escapes
        if c[0] == "\\":
            escapes += 1
        elif c == "[":
            brackets.append((at, m.start()))
        elif c == "]":
            if brackets:
                start, raw_start = brackets.pop()
                costs["["] += at - start
                pairs.append((offset + raw_start, offset + m.start()))
        elif c == "(":
            parens.append((at, m.start() > 0 and block[m.start() - 1] == "]"))
        elif c == ")" and parens:
            start, link = parens.pop()
            if link:
                costs["("] += at - start
    n = len(block) + 12 * escapes
    costs["["] += sum(n - at for at, _raw in brackets)
    costs["("] += sum(n - at for at, link in parens if link)


def _code_span_work(source: str) -> int:
    """What Python-Markdown's search for code spans re-reads, found by playing its search
    over the runs of backticks rather than over characters: an opening run looks for the
    next run of the same length; without one it reads to the end, then either pairs with the
    longest shorter run or resumes one run's length past the opening (its own quirk). A
    backtick after an odd number of backslashes opens nothing, but the search for a closing
    run counts it (code spans are read before backslash escapes)."""
    n = len(source)
    runs: list[tuple[int, int]] = []
    escaped: set[int] = set()  # runs whose first backtick is escaped
    slashes = (-1, 0)  # where the last run of backslashes ended, and its length
    for m in _TICKS.finditer(source):
        if m.group()[0] == "\\":
            slashes = (m.end(), len(m.group()))
            continue
        if slashes[0] == m.start() and slashes[1] % 2:
            escaped.add(len(runs))
        runs.append((m.start(), len(m.group())))
    if not runs:
        return 0
    by_length: dict[int, list[int]] = {}
    for index, (_at, length) in enumerate(runs):
        by_length.setdefault(length, []).append(index)
    longest_after: list[tuple[int, int]] = [(0, -1)] * (len(runs) + 1)  # (length, first index)
    for index in range(len(runs) - 1, -1, -1):
        best = longest_after[index + 1]
        length = runs[index][1]
        longest_after[index] = (length, index) if length >= best[0] else best
    work, index, resume = 0, 0, 0
    while index < len(runs):
        at, length = runs[index]
        begin = max(at + (index in escaped), resume)
        if begin >= at + length:
            index += 1
            continue
        ticks = at + length - begin
        same = by_length.get(ticks, ())
        following = bisect.bisect_right(same, index)
        if following < len(same):  # a code span up to the closing run
            close = same[following]
            work += runs[close][0] - begin
            index, resume = close + 1, runs[close][0] + ticks
            continue
        work += n - begin
        longest, first = longest_after[index + 1]
        if 0 < longest < ticks:
            index, resume = first + 1, runs[first][0] + longest
        else:
            resume = begin + 2 * ticks
    return work


def _nesting(source: str) -> tuple[int, int] | None:
    """(depth, line) of the first line that nests lists or quotes too deep, or None."""
    if len(source) < MAX_MARKDOWN_NESTING:
        return None
    for m in _CONTAINERS.finditer(source):
        prefix = m.group()
        if len(prefix) < MAX_MARKDOWN_NESTING:
            continue
        markers = len(_MARKER.findall(prefix))
        if not markers:
            continue
        stripped = prefix.lstrip(" \t")
        indent = prefix[:len(prefix) - len(stripped)].expandtabs(4)
        depth = len(indent) // 4 + markers
        if depth > MAX_MARKDOWN_NESTING:
            return depth, source.count("\n", 0, m.start()) + 1
    return None


def _reference_text(source: str, pairs: list[tuple[int, int]]) -> int:
    """Characters that reference links add by repeating their targets, at most."""
    if "]:" not in source:
        return 0
    targets = {_label(m.group(1)): len(m.group(2)) for m in _DEFINITION.finditer(source)}
    if not targets:
        return 0
    return sum(targets.get(_label(source[start + 1:end]), 0)
               for start, end in pairs if end - start <= 201)


def _label(text: str) -> str:
    return " ".join(text.lower().split())


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
