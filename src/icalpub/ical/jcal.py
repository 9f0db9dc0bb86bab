"""jCal (RFC 7265): the JSON form of the very same VCALENDAR a feed's ``.ics`` is made of.

icalendar 7 writes jCal itself (``Component.to_jcal``), so the JSON is produced from the same
components as the ``.ics`` bytes and cannot drift from them.
"""

from __future__ import annotations

import json

from icalendar import Calendar, Component, vText


def plain_parameters(cal: Component) -> None:
    """icalendar 7.3's ``Parameters.to_jcal`` calls ``value.to_jcal()`` on ``vText`` parameter
    values without the ``name`` argument that method requires (TypeError). ``render`` sets
    ``CN`` as a ``vText``; a ``str`` writes the same .ics bytes, so convert before to_jcal."""
    for component in cal.walk():
        for value in component.values():
            for item in value if isinstance(value, list) else [value]:
                params = getattr(item, "params", None)
                if not params:
                    continue
                for key, param in list(params.items()):
                    if isinstance(param, vText):
                        params[key] = str(param)


def calendar_to_jcal(cal: Calendar) -> bytes:
    """Compact, stable JSON (UTF-8, a final newline), as ``Renderer`` assembles it from parts."""
    plain_parameters(cal)
    return (json.dumps(cal.to_jcal(), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
