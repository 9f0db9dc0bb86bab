"""HTML pages: the listing, event pages, topic and organiser pages, and their CSS and script.

Rendered with Jinja2 directly (not ``flask.render_template``) because the pages are site
resources like the feeds: ``site`` computes them once, the server looks them up and the static
export writes the same bytes. Only the search page (``/?q=…``) is rendered per query, by
:func:`search_page`, through the same templates.

Pages do not know what time it is: the split into upcoming and "Past events" happens in the
browser (``static/app.js``), so the same data always gives the same bytes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from bisect import bisect_right
from dataclasses import dataclass
from importlib import resources as package_files

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import urls
from .compress import Segment, segments_of
from .links import SubscribeLinks, subscribe_links
from .memo import SMALL_CHANGE, Memo, changed_positions
from .model import Event, EventsData
from .search import Query, query_feed
from .select import Feed
from .views import EventView, event_view, json_ld_script

HTML_TYPE = "text/html; charset=utf-8"
STATIC_FILES = {urls.STYLESHEET: "text/css; charset=utf-8",
                urls.SCRIPT: "text/javascript; charset=utf-8"}


@functools.cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("icalpub"), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    return env


@dataclass(frozen=True)
class FeedView:
    """A feed as the pages show it: its subscribe links, jCal link, page and size."""

    feed: Feed
    title: str  # the topic or organiser name, or the calendar's
    links: SubscribeLinks
    jcal: str  # absolute
    page: str  # root-relative link to the feed's listing page
    count: int


def feed_view(feed: Feed, data: EventsData) -> FeedView:
    base = data.calendar.base_url
    if feed.kind == "topic":
        title, page = data.topics[feed.slug].name, urls.topic_page_path(feed.slug)
    elif feed.kind == "organiser":
        title, page = data.organisers[feed.slug].name, urls.organiser_page_path(feed.slug)
    else:
        title, page = data.calendar.name, ""
    path = feed.path  # a filtered feed's path carries its query: keep it on the jCal link
    file, sep, query = path.partition("?")
    jcal = urls.jcal_path(file) + sep + query
    return FeedView(feed, title, subscribe_links(base, path, feed.name),
                    urls.absolute(base, jcal), urls.site_relative(base, page), len(feed.events))


#: Where the months go in the rendered listing template. The page is joined around them as
#: bytes, so a listing of 10,000 events is never one 10 MB string to build and encode again
#: after an edit. No escaped value the template shows can contain an HTML comment.
MONTHS_SLOT = "<!--icalpub:months-->"
#: Closes what the ``month_start`` macro opens.
MONTH_END = "      </ol>\n    </section>\n"


@dataclass(frozen=True)
class Listing:
    """A listing page's bytes, and its events grouped by month as (month, start, stop) index
    ranges over ``events``: a site's listing after an edit starts from the previous one's.
    ``ends``: where each piece of ``body`` ends (the page before the months, each month, the
    page after them); ``pieces``: those pieces themselves where a server keeps the months
    anyway (the previous listing's bytes objects where unchanged), else None (``icalpub
    build`` would hold every listing twice)."""

    events: tuple[Event, ...]
    groups: tuple[tuple[str, int, int], ...]
    body: bytes
    ends: tuple[int, ...]
    pieces: tuple[bytes, ...] | None

    def segments(self) -> Iterator[Segment]:
        """Months of a window's size or more on their own (small ones together): after an
        edit only its month (and the next) is compressed again."""
        pieces = self.pieces
        if pieces is None:  # the same bytes, copied out for as long as they are compressed
            pieces = tuple(self.body[start:end] for start, end in zip((0, *self.ends), self.ends))
        return segments_of(pieces, self.ends, itertools.repeat(True))

    @staticmethod
    def segment_bytes(segment: Segment) -> bytes:
        return b"".join(segment)  # type: ignore[arg-type]


def _groups(ctx: PageContext, events: tuple[Event, ...],
            previous: Listing | None) -> tuple[tuple[str, int, int], ...]:
    """The events by month, in order. An event's month is a function of the event alone, so
    the previous listing's groups still hold when its events are the same objects but for a
    few, each in the month of the event it replaces (an edit that kept the month): then only
    the changed events' views are looked at, not 10,000."""
    if previous is not None and len(previous.events) == len(events):
        changed = changed_positions(previous.events, events)
        if len(changed) <= SMALL_CHANGE:
            starts = [start for _, start, _ in previous.groups]
            if all(ctx.view(events[i]).month == previous.groups[bisect_right(starts, i) - 1][0]
                   for i in changed):
                return previous.groups
    groups: list[list] = []
    for index, event in enumerate(events):
        month = ctx.view(event).month
        if groups and groups[-1][0] == month:
            groups[-1][2] = index + 1
        else:
            groups.append([month, index, index + 1])
    return tuple((month, start, stop) for month, start, stop in groups)


def _month(ctx: PageContext, number: int, month: str, events: tuple[Event, ...],
           keep: str | None) -> bytes:
    """One month of a listing, its cards joined into one piece of markup (looked up here, not
    called by the template once per event), as UTF-8.

    ``keep`` (a site listing's path): the bytes are kept while the month shows the same events
    (the same objects) with the same calendar, organisers and topics, so after an edit only
    the edited event's month is joined again. (In a server's master, joining refers to every
    card, which copies the memory pages it shares with its workers.)"""
    def make() -> bytes:
        cards = ctx.cards([ctx.view(event) for event in events])
        return "".join((ctx._macros.month_start(number, month), cards, MONTH_END)).encode()

    if keep is None:
        return make()
    inputs = (ctx.card_context, events)
    return ctx.memo.revalidate(("month", keep, number, month), lambda old: old[0] == inputs,
                               lambda: (inputs, make()))[1]


class PageContext:
    """What every page needs: the calendar, links to the stylesheet, script and home."""

    def __init__(self, data: EventsData, feeds: tuple[Feed, ...], memo: Memo | None = None):
        base = data.calendar.base_url
        self.data = data
        self.calendar = data.calendar
        self.home = urls.site_relative(base, "")
        self.stylesheet = urls.site_relative(base, urls.STYLESHEET)
        self.script = urls.site_relative(base, urls.SCRIPT)
        self.feeds = [feed_view(f, data) for f in feeds]
        self.topics = sorted(data.topics.values(), key=lambda t: t.name.casefold())
        self.organisers = sorted(data.organisers.values(), key=lambda o: o.name.casefold())

        #: Views, cards and event pages depend only on their event's inputs (``memo``): they
        #: are built once per site, and a site built after an edit takes over the rest.
        self.memo = memo if memo is not None else Memo()
        #: What an event's card shows besides the event (see ``memo.event_inputs``).
        self.card_context = (data.calendar, tuple(data.organisers.values()),
                             tuple(data.topics.values()))
        self._macros = environment().get_template("_macros.html").make_module({"site": self})

    def view(self, event: Event) -> EventView:
        """An event's view, built once although the event shows on several pages."""
        return self.memo.per_event("view", event, self.data, lambda: event_view(event, self.data))

    def cards(self, views: list[EventView]) -> Markup:
        """The cards of ``views``, one after the other."""
        summary = self.summary
        return Markup("".join([summary(view) for view in views]))

    def summary(self, view: EventView) -> Markup:
        """An event's card in listings, rendered once: it is the same on every listing (the
        card macro reads nothing of ``site``)."""
        return self.memo.per_event("card", view.event, self.data,
                                   lambda: self._macros.event_summary(view))

    def event_page(self, event: Event) -> bytes:
        """An event's page: the same bytes object while its inputs are the same, so ``site``
        keeps its Resource and ETag."""
        return self.memo.per_event("event page", event, self.data,
                                   lambda: event_page(self, self.view(event)))

    def render(self, template: str, **values: object) -> bytes:
        return self.text(template, **values).encode("utf-8")

    def text(self, template: str, **values: object) -> str:
        return environment().get_template(template).render(site=self, **values)


def listing(ctx: PageContext, feed: Feed, *, heading: str, intro: str, query: Query,
            show_calendars: bool, previous: Listing | None = None) -> Listing:
    """A listing page: the template around its months (:func:`_month`), joined as bytes.
    ``previous``: the same site listing's in the previous site (see :func:`_groups`)."""
    keep = feed.path if ctx.memo.incremental and not feed.filtered else None
    events = feed.events
    groups = _groups(ctx, events, previous)
    months = [_month(ctx, number, month, events[start:stop], keep)
              for number, (month, start, stop) in enumerate(groups, 1)]
    page = ctx.text("listing.html", heading=heading, intro=intro, months=Markup(MONTHS_SLOT),
                    total=len(events), feed=feed_view(feed, ctx.data), query=query,
                    show_calendars=show_calendars)
    before, slot, after = page.partition(MONTHS_SLOT)
    assert slot and MONTHS_SLOT not in after, "the listing template shows its months once"
    pieces = (before.encode(), *months, after.encode())
    ends = tuple(itertools.accumulate(map(len, pieces)))
    return Listing(events, groups, b"".join(pieces), ends, pieces if keep is not None else None)


def event_page(ctx: PageContext, view: EventView) -> bytes:
    return ctx.render("event.html", view=view, json_ld=json_ld_script(view, ctx.data))


def page_resources(ctx: PageContext, feeds: tuple[Feed, ...]) -> list[tuple[str, Listing]]:
    """The listings (all, per topic, per organiser) as (resource path, listing); all are
    ``HTML_TYPE``. Each event's page is :meth:`PageContext.event_page`, the stylesheet and
    script :func:`static_resources`."""
    data = ctx.data
    # What every listing shows besides its own events: the calendar, the topics and
    # organisers of the filter form, and every feed with its size.
    shared = (data.calendar, tuple(ctx.topics), tuple(ctx.organisers),
              tuple((fv.feed.path, fv.feed.name, fv.title, fv.count) for fv in ctx.feeds))

    def kept_listing(feed: Feed, **args: object) -> Listing:
        """A listing is kept while its arguments, the shared parts (which hold every
        organiser and topic and the calendar) and its events (the same objects while
        unchanged) are: after an edit only the listings that show the edited event are
        rendered again."""
        inputs = (feed.name, shared, tuple(sorted(args.items())), feed.events)
        key = ("listing", feed.path)
        previous = ctx.memo.handed_over(key)
        kept = ctx.memo.revalidate(key, lambda old: old[0] == inputs, lambda: (
            inputs, listing(ctx, feed, previous=previous[1] if previous else None,
                            **args)))  # type: ignore[arg-type]
        return kept[1]

    out: list[tuple[str, Listing]] = []
    empty = Query()
    for feed in feeds:
        if feed.kind == "all":
            page = kept_listing(feed, heading=data.calendar.name, intro=data.calendar.description,
                                query=empty, show_calendars=True)
            out.append((urls.INDEX_PAGE, page))
        elif feed.kind == "topic":
            topic = data.topics[feed.slug]
            page = kept_listing(feed, heading=f"Topic: {topic.name}", intro=topic.description,
                                query=Query(topics=(feed.slug,)), show_calendars=False)
            out.append((urls.page_resource(urls.topic_page_path(feed.slug)), page))
        elif feed.kind == "organiser":
            org = data.organisers[feed.slug]
            page = kept_listing(feed, heading=f"Organiser: {org.name}", intro="",
                                query=Query(organisers=(feed.slug,)), show_calendars=False)
            out.append((urls.page_resource(urls.organiser_page_path(feed.slug)), page))
    return out


def static_resources() -> list[tuple[str, bytes, str]]:
    """The stylesheet and the script: (resource path, bytes, content type)."""
    return [(path, static_file(path), content_type) for path, content_type in STATIC_FILES.items()]


@functools.cache
def static_file(path: str) -> bytes:
    """The stylesheet or script, read once per process (they ship with the package)."""
    return package_files.files("icalpub").joinpath(path).read_bytes()


def search_page(data: EventsData, feeds: tuple[Feed, ...], query: Query,
                memo: Memo | None = None) -> bytes:
    """The listing for a query, with the subscribe buttons of the matching feed. ``memo``:
    the site's, so the cards of the matching events are not rendered again."""
    ctx = PageContext(data, feeds, memo)
    feed = query_feed(data, query)
    return listing(ctx, feed, heading="Search results", intro="", query=query,
                   show_calendars=True).body
