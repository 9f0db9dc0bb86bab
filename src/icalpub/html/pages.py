"""HTML pages: the listings (one per feed), event pages, the search page, and their assets.

Rendered with Jinja2 directly (not ``flask.render_template``) because the pages are site
resources like the feeds: ``site`` computes them once, the server looks them up and the static
export writes the same bytes.

An event's card and page are functions of its :class:`~icalpub.core.model.EventInputs` alone
(and of the :class:`Shell`, which is a function of the calendar, part of those inputs), so
the site caches them with its VEVENT. A listing is its feed's cards, grouped by month, in the
listing template.

Pages do not know what time it is: the split into upcoming and "Past events" happens in the
browser (``assets/app.js``), so the same data always gives the same bytes.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..core import urls
from ..core.model import CalendarInfo, EventInputs, EventsData
from ..feeds.kinds import Feed, filter_kinds
from ..feeds.search import Query
from .links import SubscribeLinks, subscribe_links
from .views import EventView, json_ld_script

HTML_TYPE = "text/html; charset=utf-8"
#: The stylesheet and script: URL path -> (file in this package, content type).
ASSETS = {urls.STYLESHEET: ("assets/style.css", "text/css; charset=utf-8"),
          urls.SCRIPT: ("assets/app.js", "text/javascript; charset=utf-8")}
#: Closes what the ``month_start`` macro opens.
MONTH_END = "      </ol>\n    </section>\n"


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
        self.all_links = subscribe_links(base, urls.ALL_FEED, calendar.name)
        self.all_jcal = urls.absolute(base, urls.jcal_path(urls.ALL_FEED))
        self.macros = environment().get_template("_macros.html").make_module({"site": self})

    def render(self, template: str, **values: object) -> bytes:
        return environment().get_template(template).render(site=self, **values).encode()

    def card(self, view: EventView) -> str:
        """An event's card in listings: the same on every listing."""
        return str(self.macros.event_summary(view))

    def event_page(self, view: EventView, inputs: EventInputs) -> bytes:
        return self.render("event.html", view=view, json_ld=json_ld_script(view, inputs))


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
        """What a listing shows besides its own events, for the site to tell whether a
        listing changed."""
        return (self.calendar, tuple((fv.feed.path, fv.feed.name, fv.title, fv.count)
                                     for fv in self.feeds),
                tuple((kind, tuple((m.slug, m.name) for m in members))
                      for kind, members in self.filters))


@dataclass(frozen=True)
class Listing:
    """What a listing page says above and below its events."""

    heading: str
    intro: str
    query: Query
    show_calendars: bool


def feed_listing(feed: Feed) -> Listing:
    """The listing page of a published feed: the home page for the feed of everything."""
    kind, member = feed.kind, feed.member
    query = Query() if kind.everything else Query(filters=((kind.name, (feed.slug,)),))
    return Listing(kind.heading.format(member.name), kind.intro(member), query,
                   show_calendars=kind.everything)


def listing_page(shell: ListingShell, feed: Feed, listing: Listing,
                 cards: Sequence[tuple[str, str]]) -> bytes:
    """A listing: ``cards`` (each event's month and card, in the feed's order) grouped by
    month in the listing template."""
    months = []
    for number, (month, group) in enumerate(itertools.groupby(cards, key=lambda c: c[0]), 1):
        months += [str(shell.macros.month_start(number, month)), *[c for _m, c in group],
                   MONTH_END]
    return shell.render("listing.html", heading=listing.heading, intro=listing.intro,
                        months=Markup("".join(months)), total=len(feed.events),
                        feed=feed_view(feed, shell.calendar), query=listing.query,
                        show_calendars=listing.show_calendars)


def search_listing(query: Query) -> Listing:
    return Listing("Search results", "", query, show_calendars=True)


@functools.cache
def asset(path: str) -> bytes:
    """The stylesheet or script, read once per process (they ship with the package)."""
    return package_files.files("icalpub.html").joinpath(ASSETS[path][0]).read_bytes()

