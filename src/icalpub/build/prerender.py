"""Render every event's own outputs in several processes before a build assembles the site.

Why: most of a fresh build is per-event work — its VEVENT (icalendar builds and folds content
lines), its invite, its page and listing card (Markdown, Jinja) — and CPython runs it on one
core. Those outputs are a function of the event's inputs and tracked values alone
(``site.render_event``), so forked worker processes render them from a copy of the data and
send back bytes; the parent puts them into the :class:`~icalpub.site.Cache` that
``build_site`` then reads. The output is the same bytes as a one-process build.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Mapping
from datetime import date

from ..core.model import EventsData, Tracked
from ..feeds.kinds import past
from ..html.pages import Shell
from ..site import Cache, EventOutputs, render_event

#: Below this many events a pool's start-up costs more than it saves.
MIN_EVENTS = 400

#: What the forked workers render from: set by the parent just before it forks.
_JOB: tuple[EventsData, Mapping[str, Tracked], date | None] | None = None


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def prerender(data: EventsData, tracked: Mapping[str, Tracked], workers: int,
              as_of: date | None = None) -> Cache:
    """A cache holding every event's outputs, rendered in ``workers`` forked processes (none
    when a pool would not pay, or cannot fork here)."""
    global _JOB
    cache = Cache()
    if workers < 2 or len(data.events) < MIN_EVENTS \
            or "fork" not in multiprocessing.get_all_start_methods():
        return cache
    events = data.events
    size = max(50, len(events) // (workers * 8))  # small chunks: an even share per worker
    chunks = [range(start, min(start + size, len(events)))
              for start in range(0, len(events), size)]
    _JOB = (data, tracked, as_of)
    ended = past(data, as_of)
    # Out of the collector's sight while the workers run: a collection in a worker would write
    # to every object it walks, copying the parent's whole heap page by page (copy-on-write).
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for chunk, outputs in zip(chunks, pool.imap(_render, chunks)):
                for index, out in zip(chunk, outputs):
                    event = events[index]
                    cache.put(data.inputs(event), tracked.get(event.id), ended(event), out)
    finally:
        _JOB = None
        gc.unfreeze()
    return cache


def _render(indices: range) -> list[EventOutputs]:
    """In a worker: some events' outputs, by the same code ``build_site`` runs."""
    assert _JOB is not None, "prerender's worker runs only in a process forked by prerender"
    data, tracked, as_of = _JOB
    shell, ended = Shell(data.calendar), past(data, as_of)
    return [render_event(data.inputs(event), tracked.get(event.id), ended(event), shell)
            for event in (data.events[i] for i in indices)]
