"""HTML pages: the listings (one per feed, paginated), event pages, the search page, the
calendars page, the archive of past events, error pages, and their assets.

Rendered with Jinja2 directly (not ``flask.render_template``) because the pages are site
resources like the feeds: ``site`` computes them once, the server looks them up and the static
export writes the same bytes.

An event's card and page are functions of its :class:`~icalpub.core.model.EventInputs` alone
(and of the :class:`Shell`, which is a function of the calendar, part of those inputs), so
the site caches them with its VEVENT. A listing is its feed's cards, grouped by month, in the
listing template.

Pages depend on the date they are made for (``as_of``, a value passed in, never the clock):
upcoming events are listed first, paginated, past ones in month archives, and an event page
says when its event has ended. The same data and date always give the same bytes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..core import urls
from ..core.model import CalendarInfo, EventInputs, EventsData
from ..feeds.kinds import KINDS, Feed, filter_kinds
from ..feeds.search import Query
from .links import SubscribeLinks, subscribe_links
from .views import EventView, json_ld_script

HTML_TYPE = "text/html; charset=utf-8"
#: The stylesheet and script: URL path -> (file in this package, content type).
ASSETS = {urls.STYLESHEET: ("assets/style.css", "text/css; charset=utf-8"),
          urls.SCRIPT: ("assets/app.js", "text/javascript; charset=utf-8")}
#: Closes what the ``month_start`` macro opens.
MONTH_END = "      </ol>\n    </section>\n"
#: Events per listing page: keeps a listing of any size small (~50 KB) and quick to use.
PAGE_SIZE = 25
#: Past events a listing's first page shows, newest first, before its link to the archive.
RECENT_PAST = 5


@functools.cache
def environment() -> Environment:
    return Environment(loader=PackageLoader("icalpub.html"),
                       autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@dataclass(frozen=True)
class FeedView:
    """A feed as the pages show it: its subscribe links, jCal link, page and size."""

    feed: Feed
    links: SubscribeLinks
    jcal: str  # absolute
    page: str  # root-relative link to the feed's listing page
    count: int

    @property
    def title(self) -> str:
        return self.feed.title


def feed_view(feed: Feed, calendar: CalendarInfo) -> FeedView:
    base = calendar.base_url
    file, sep, query = feed.path.partition("?")  # a search's feed: keep its query on the jCal
    return FeedView(feed, subscribe_links(base, feed.path, feed.name),
                    urls.absolute(base, urls.jcal_path(file) + sep + query),
                    urls.site_relative(base, feed.page_path), len(feed.events))


class Shell:
    """What every page shows around its content (the templates' ``site``): the calendar's
    name, links home, to the stylesheet and script, and to the feed of everything. A
    function of the calendar alone."""

    def __init__(self, calendar: CalendarInfo):
        base = calendar.base_url
        self.calendar = calendar
        self.home = urls.site_relative(base, "")
        self.stylesheet = urls.site_relative(base, urls.STYLESHEET)
        self.script = urls.site_relative(base, urls.SCRIPT)
        self.calendars = urls.site_relative(base, urls.CALENDARS_PAGE)
        self.archive = urls.site_relative(base, urls.ARCHIVE_PAGE)
        self.all_links = subscribe_links(base, urls.ALL_FEED, calendar.name)
        self.all_jcal = urls.absolute(base, urls.jcal_path(urls.ALL_FEED))
        self.macros = environment().get_template("_macros.html").make_module({"site": self})

    def render(self, template: str, **values: object) -> bytes:
        return environment().get_template(template).render(site=self, **values).encode()

    def card(self, view: EventView) -> str:
        """An event's card in listings: the same on every listing."""
        return str(self.macros.event_summary(view))

    def event_page(self, view: EventView, inputs: EventInputs, ended: bool) -> bytes:
        return self.render("event.html", view=view, json_ld=json_ld_script(view, inputs),
                           ended=ended)

    def link(self, path: str) -> str:
        return urls.site_relative(self.calendar.base_url, path)

    def months(self, cards: Sequence[tuple[str, str]]) -> Markup:
        """Cards (each event's month and card, in order) grouped under month headings."""
        out = []
        for number, (month, group) in enumerate(itertools.groupby(cards, key=lambda c: c[0]), 1):
            out += [str(self.macros.month_start(number, month)), *[c for _m, c in group],
                    MONTH_END]
        return Markup("".join(out))


def error_page(shell: Shell, title: str, message: str) -> bytes:
    """A small page of the site for an error (404, 400): a person gets words and a way on."""
    return shell.render("error.html", title=title, message=message)


def not_found_page(shell: Shell) -> bytes:
    return error_page(shell, "Page not found", "There is no page at this address. It may "
                      "have moved, or the event may have been removed.")


class ListingShell(Shell):
    """A listing's ``site``: the shell, every feed (the calendars list) and the members of
    every kind a search can filter by."""

    def __init__(self, data: EventsData, feeds: Sequence[Feed]):
        super().__init__(data.calendar)
        self.feeds = [feed_view(feed, data.calendar) for feed in feeds]
        self.filters = [(kind, sorted(kind.members(data).values(),
                                      key=lambda member: member.name.casefold()))
                        for kind in filter_kinds()]

    def inputs(self) -> tuple[Any, ...]:
        """What a listing shows besides its own events (the calendar and the search form's
        filters), for the site to tell whether a listing changed."""
        return (self.calendar, tuple((kind, tuple((m.slug, m.name) for m in members))
                                     for kind, members in self.filters))

    def calendars_inputs(self) -> tuple[Any, ...]:
        """What the calendars page shows: every feed with its name and size."""
        return (self.calendar, tuple((fv.feed.path, fv.feed.name, fv.title, fv.count)
                                     for fv in self.feeds))


@dataclass(frozen=True)
class Listing:
    """What a listing page says above its events."""

    heading: str
    intro: str
    query: Query


def feed_listing(feed: Feed) -> Listing:
    """The listing page of a published feed: the home page for the feed of everything."""
    kind, member = feed.kind, feed.member
    query = Query() if kind.everything else Query(filters=((kind.name, (feed.slug,)),))
    return Listing(kind.heading.format(member.name), kind.intro(member), query)


@dataclass(frozen=True)
class Page:
    """Where one page of a paginated list is: its number, the events it shows (1-based
    ``first`` to ``last`` of ``total``), and links to the pages before and after it."""

    number: int
    count: int
    first: int
    last: int
    total: int
    previous: str | None
    next: str | None


def paginate(total: int, href: Callable[[int], str]) -> list[Page]:
    """The pages of a list of ``total`` items; ``href(n)`` links page ``n``."""
    count = max(1, -(-total // PAGE_SIZE))
    return [Page(n, count, min((n - 1) * PAGE_SIZE + 1, total), min(n * PAGE_SIZE, total), total,
                 href(n - 1) if n > 1 else None, href(n + 1) if n < count else None)
            for n in range(1, count + 1)]


def listing_page(shell: ListingShell, feed: Feed, listing: Listing, page: Page,
                 cards: Sequence[tuple[str, str]], past: Sequence[str], past_total: int) -> bytes:
    """One page of a feed's listing: ``cards`` (its upcoming events' months and cards) by
    month, and on the first page the latest ``past`` cards with a link to the archive."""
    return shell.render("listing.html", heading=listing.heading, intro=listing.intro,
                        months=shell.months(cards), page=page, feed=feed_view(feed, shell.calendar),
                        query=listing.query, past=Markup("".join(past)), past_total=past_total)


@dataclass(frozen=True)
class Chip:
    label: str  # "Topic: Circular economy"
    href: str  # the same search without this filter


def search_page(shell: ListingShell, feed: Feed, query: Query, description: str,
                chips: Sequence[Chip], page: Page, cards: Sequence[tuple[str, str]]) -> bytes:
    """A page of search results: what was searched, each filter removable, the matching
    events, and the subscribe buttons of the filtered feed when it has events."""
    return shell.render("search.html", description=description, chips=chips, query=query,
                        page=page, months=shell.months(cards),
                        feed=feed_view(feed, shell.calendar))


def calendars_page(shell: ListingShell) -> bytes:
    """Every feed with its subscribe buttons, by kind."""
    groups = [(kind, [fv for fv in shell.feeds if fv.feed.kind is kind]) for kind in KINDS]
    return shell.render("calendars.html", feeds=shell.feeds,
                        groups=[(kind, views) for kind, views in groups if views])


def archive_index(shell: Shell, months: Sequence[tuple[str, str, int]]) -> bytes:
    """The months that have past events, newest first: (label, link, count)."""
    return shell.render("archive.html", heading="Past events", index=months, months=None)


def archive_month(shell: Shell, label: str, cards: Sequence[str]) -> bytes:
    return shell.render("archive.html", heading=f"Past events: {label}", index=(),
                        months=Markup("".join(cards)))


@functools.cache
def asset(path: str) -> bytes:
    """The stylesheet or script, read once per process (they ship with the package)."""
    return package_files.files("icalpub.html").joinpath(ASSETS[path][0]).read_bytes()

