"""Render every event's own parts in several processes before a build assembles the site.

Why: most of a fresh build is per-event work — its VEVENT (icalendar builds and folds content
lines), its invite, its view, listing card and page (Markdown, Jinja) — and CPython runs it on
one core. Those values depend on nothing but the event's inputs (``memo.event_inputs``) and
its tracked values, so worker processes can render them from a forked copy of the data and
send back bytes and small objects; the parent puts them into the site's :class:`~icalpub.memo.Memo`
under the very keys ``build_site`` then asks for, and everything after that (feeds, listings,
resources, the export) is unchanged. The output is the same bytes as a one-process build
(``tests/test_prerender.py`` builds both and compares).

Used by ``icalpub build`` only: a server's reload renders one event, and forking a threaded
gunicorn worker is not worth the risk.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Mapping
from typing import Any

from .memo import Memo
from .model import EventsData, Tracked
from .pages import PageContext
from .render import Renderer
from .select import Feed, all_feeds

#: Below this many events a pool's start-up costs more than it saves.
MIN_EVENTS = 400

#: What the forked workers render from: set by the parent just before it forks.
_JOB: tuple[EventsData, Mapping[str, Tracked], tuple[Feed, ...]] | None = None


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def prerender(data: EventsData, tracked: Mapping[str, Tracked], memo: Memo,
              workers: int) -> int:
    """Fill ``memo`` with each event's VEVENT part, invite, view, card and page, rendered in
    ``workers`` forked processes. Returns how many events were rendered that way (0 when a
    pool would not pay, or cannot fork here)."""
    global _JOB
    if workers < 2 or len(data.events) < MIN_EVENTS \
            or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    events = data.events
    size = max(50, len(events) // (workers * 8))  # small chunks: an even share per worker
    chunks = [range(start, min(start + size, len(events)))
              for start in range(0, len(events), size)]
    _JOB = (data, tracked, tuple(all_feeds(data)))
    # Out of the collector's sight while the workers run: a collection in a worker would write
    # to every object it walks, copying the parent's whole heap page by page (copy-on-write).
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for chunk, values in zip(chunks, pool.imap(_render, chunks)):
                for index, (part, invite, view, card, page) in zip(chunk, values):
                    event, extra = events[index], tracked.get(events[index].id)
                    memo.seed("VEVENT", event, data, part, extra)
                    memo.seed("invite", event, data, invite, extra)
                    memo.seed("view", event, data, view)
                    memo.seed("card", event, data, card)
                    memo.seed("event page", event, data, page)
    finally:
        _JOB = None
        gc.unfreeze()
    return len(events)


def _render(indices: range) -> list[tuple[Any, ...]]:
    """In a worker: the values of some events, computed by the same code ``build_site`` runs."""
    assert _JOB is not None, "prerender's worker runs only in a process forked by prerender"
    data, tracked, feeds = _JOB
    renderer, pages = Renderer(data, tracked), PageContext(data, feeds)
    out = []
    for index in indices:
        event = data.events[index]
        view = pages.view(event)
        out.append((renderer.event_part(event), renderer.invite(event), view,
                    pages.summary(view), pages.event_page(event)))
    return out
