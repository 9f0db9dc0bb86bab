"""Command line: thin commands over load, site and web (MkDocs' ``build_command`` style).

The only place that turns :class:`~icalpub.errors.EventsFileError` into an exit status, so a
mistake in events.yaml is always a list of messages and exit code 1, never a traceback.
"""

from __future__ import annotations

import logging
import sys

import click

from .errors import EventsFileError
from .load import load_events

EVENTS_OPTION = click.option("--events", "events_path", default="events.yaml", show_default=True,
                             type=click.Path(dir_okay=False),
                             help="The events file to publish.")


def fail(error: EventsFileError) -> None:
    for problem in error.problems:
        click.echo(str(problem), err=True)
    click.echo(f"{error.summary()}: nothing was published.", err=True)
    sys.exit(1)


@click.group()
@click.version_option(package_name="icalpub")
def main() -> None:
    """Publish events.yaml as iCalendar feeds and invites."""


@main.command()
@click.argument("path", default="events.yaml", type=click.Path(dir_okay=False))
def check(path: str) -> None:
    """Validate PATH (default events.yaml); report every problem, exit 1 if there are any."""
    try:
        data = load_events(path)
    except EventsFileError as exc:
        fail(exc)
    zones = sorted({e.timezone for e in data.events})
    counts = ", ".join(_count(n, word) for n, word in [
        (len(data.events), "event"), (len(data.topics), "topic"), (len(data.organisers), "organiser")])
    click.echo(f"{path}: OK — {counts}; zones: {', '.join(zones) or 'none'}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@main.command()
@EVENTS_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False, help="Flask debug mode (reloader, debugger).")
def serve(events_path: str, host: str, port: int, debug: bool) -> None:
    """Serve the feeds with Flask's development server (use gunicorn in production)."""
    from .web import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        app = create_app({"EVENTS_PATH": events_path})
    except EventsFileError as exc:
        fail(exc)
    click.echo(f"Serving {events_path} at http://{host}:{port}/feeds/all.ics "
               f"(feeds listed at http://{host}:{port}/feeds.json)")
    app.run(host=host, port=port, debug=debug, use_reloader=debug)


if __name__ == "__main__":  # pragma: no cover
    main()
