"""icalpub: publish an events.yaml file as RFC 5545 iCalendar feeds and invites.

The package is a one-way pipeline, one folder or module per stage:

    load/    events.yaml -> typed model (all validation happens here)
    render/  model -> iCalendar bytes (the only place that imports ``icalendar``)
    select   which events go into which feed
    site     every resource the project publishes: path -> bytes, content type, ETag
    web      Flask app serving ``site`` (the only place that imports ``flask``)
    cli      thin commands over the above
"""

__version__ = "0.1.0"
