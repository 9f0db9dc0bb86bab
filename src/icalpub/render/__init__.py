"""Stage 2: model -> iCalendar bytes. The only part of icalpub that imports ``icalendar``.

:class:`Renderer` renders each component once and assembles feeds, invites and their jCal
(RFC 7265) twins from the serialised parts; ``calendar.feed_calendar`` / ``invite_calendar``
build the same calendars in one piece, as the reference the parts are tested against.
"""

from __future__ import annotations

from .jcal import JCAL_TYPE
from .parts import Renderer

CONTENT_TYPE = "text/calendar; charset=utf-8"
__all__ = ["CONTENT_TYPE", "JCAL_TYPE", "Renderer"]
