"""Model -> iCalendar bytes (RFC 5545, RFC 7986, jCal RFC 7265). The only package that imports
``icalendar``: ``parts`` renders each component once and assembles feeds and invites from the
serialised parts; ``calendar`` builds the same calendars in one piece, as the reference.
"""
