"""Command line: thin commands over load, publish, export and web (MkDocs' ``build_command``
style).

The only place that turns :class:`~icalpub.errors.EventsFileError` (and the state and export
errors) into an exit status, so a mistake is always a message and exit code 1, never a
traceback.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from datetime import datetime

import click

from .build.prerender import default_workers, prerender
from .changes.publish import publish, system_clock
from .changes.state import state_path_for
from .core.errors import EventsFileError, ExportError, StateFileError
from .load import BASE_URL_ENV, load_events
from .changes.tracking import Outcome, mass_removal
from .site import Site, build_site, oversized

EVENTS_OPTION = click.option("--events", "events_path", default="events.yaml", show_default=True,
                             type=click.Path(dir_okay=False),
                             help="The events file to publish.")


STATE_OPTION = click.option("--state", "state_path", default=None,
                            type=click.Path(dir_okay=False),
                            help="The state file (SEQUENCE, timestamps) [default: "
                                 "events.state.json next to the events file].")


class Refused(Exception):
    """What a command will not do unless told to (the message says how to tell it)."""


def fail(error: EventsFileError | StateFileError | ExportError | Refused) -> None:
    if isinstance(error, EventsFileError):
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{error.summary()}: nothing was published.", err=True)
    else:
        click.echo(f"{error}", err=True)
        click.echo("Nothing was published; the state file is unchanged.", err=True)
    sys.exit(1)


@click.group()
@click.version_option(package_name="icalpub")
def main() -> None:
    """Publish events.yaml as iCalendar feeds and invites."""


@main.command()
@click.argument("path", default="events.yaml", type=click.Path(dir_okay=False))
@STATE_OPTION
def check(path: str, state_path: str | None) -> None:
    """Validate PATH (default events.yaml); report every problem, exit 1 if there are any.
    Then list what the next build or serve would change (new / changed / cancelled /
    expired events), without writing the state file."""
    state = state_path or state_path_for(path)
    try:
        data = load_events(path)
        now = system_clock()
        as_of = data.calendar.today(now)
        result = publish(data, state, lambda outcome: build_site(outcome.data, outcome.tracked,
                                                                 as_of=as_of),
                         now=now, write=False)
    except (EventsFileError, StateFileError) as exc:
        fail(exc)
    for warning in oversized(result.site):
        click.echo(f"warning: {warning}", err=True)
    dropped = mass_removal(result.outcome)
    if dropped is not None:
        click.echo(f"warning: {path}: {dropped}. `icalpub build` refuses this version without "
                   "--allow-mass-removal, and a server publishes it only once it has stayed "
                   "unchanged for a while (MASS_REMOVAL_SETTLE, 10 s): a half-saved file?",
                   err=True)
    zones = sorted({e.timezone for e in data.events})
    counts = ", ".join(_count(n, word) for n, word in [
        (len(data.events), "event"), (len(data.topics), "topic"), (len(data.organisers), "organiser")])
    click.echo(f"{path}: OK — {counts}; zones: {', '.join(zones) or 'none'}")
    if not result.changes:
        click.echo(f"{state}: up to date; the next build changes nothing.")
        return
    click.echo(f"{state}: the next build or serve will publish {_count(len(result.changes), 'change')}:")
    for change in result.changes:
        click.echo(f"  {change}")


@main.command()
@EVENTS_OPTION
@click.option("--out", "out", default="public", show_default=True,
              type=click.Path(file_okay=False),
              help="Output folder = web root: feeds/all.ics, feeds/topics/<slug>.ics, "
                   "feeds/organisers/<slug>.ics, events/<id>.ics, feeds.json, manifest.json.")
@STATE_OPTION
@click.option("--jobs", "-j", default=None, type=click.IntRange(min=1),
              help="Processes that render events (default: the cores this process may use; "
                   "1 renders in this process). The output is the same bytes either way.")
@click.option("--as-of", "as_of", default=None, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The day the site is made for: what is upcoming or past, and which events "
                   "the feeds keep [default: today in the calendar's zone]. Rebuild daily.")
@click.option("--allow-mass-removal", is_flag=True, default=False,
              help="Publish a version of the events file that drops more than 10% of its "
                   "events (at least 3) at once; without it the build refuses, since a "
                   "half-saved file would cancel them in every calendar.")
@click.option("--ics-out", "ics_out", default=None, type=click.Path(file_okay=False),
              help="Also keep the calendars, and only them, in this folder (e.g. feeds/ of a "
                   "repository): all.ics, topics/<slug>.ics, organisers/<slug>.ics, "
                   "events/<id>.ics; other .ics files there are deleted.")
def build(events_path: str, out: str, state_path: str | None, jobs: int | None,
          as_of: datetime | None, allow_mass_removal: bool, ics_out: str | None) -> None:
    """Write every feed, invite and index as static files, atomically, updating the state.
    The state file is saved only once the new tree is in place; a build that fails leaves
    both as they were."""
    from .build.export import Staging
    from .build.recover import Recovery

    def render(outcome: Outcome) -> Site:
        day = as_of.date() if as_of else outcome.data.calendar.today(now)
        cache = prerender(outcome.data, outcome.tracked, jobs or default_workers(), day)
        return build_site(outcome.data, outcome.tracked, cache=cache, as_of=day)

    def approve(outcome: Outcome) -> None:
        dropped = mass_removal(outcome)
        if dropped is not None and not allow_mass_removal:
            raise Refused(f"{events_path}: {dropped}. If the file was saved half-way, save it "
                          "again and build again; if these events are meant to go, build with "
                          "--allow-mass-removal.")

    state = state_path or state_path_for(events_path)
    try:
        data = load_events(events_path)
        now = system_clock()
        with Staging(out) as staging:
            recovery = Recovery(staging.out, data)
            result = publish(data, state, render, now=now, adopt=recovery, approve=approve,
                             stage=lambda published: staging.write(published.site,
                                                                   published.modified))
        report = staging.report
        assert report is not None
    except (EventsFileError, StateFileError, ExportError, Refused) as exc:
        fail(exc)
    if recovery.raised:
        shown = ", ".join(recovery.raised[:5]) + (
            f" and {len(recovery.raised) - 5} more" if len(recovery.raised) > 5 else "")
        click.echo(f"warning: {state} lacked {_count(len(recovery.raised), 'event')} that "
                   f"{out}/ published, or had them at a lower SEQUENCE (a lost or older state "
                   f"file?); their SEQUENCE and timestamps continue from {out}/: {shown}",
                   err=True)
    for change in result.changes:
        click.echo(f"  {change}")
    for warning in [*report.warnings, *oversized(result.site)]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{out}/: {_count(len(report.written), 'file')} written, "
               f"{len(report.unchanged)} unchanged, {len(report.removed)} removed")
    if ics_out is not None:
        from .build.icsdir import write_calendars
        try:
            copied = write_calendars(result.site, ics_out)
        except ExportError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
        click.echo(f"{ics_out}/: {_count(len(copied.written), 'calendar')} written, "
                   f"{len(copied.unchanged)} unchanged, {len(copied.removed)} removed")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@main.command()
@EVENTS_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False, help="Flask debug mode (reloader, debugger).")
@STATE_OPTION
@click.option("--static", "static_dir", default=None, type=click.Path(file_okay=False, exists=True),
              help="Serve a tree written by `icalpub build` instead of the events file.")
@click.option("--base-url", "base_url", default=None,
              help="The address links point at [default: $ICALPUB_BASE_URL, else the address "
                   "this server listens on]. UIDs never change with it (calendar.uid_domain).")
def serve(events_path: str, host: str, port: int, debug: bool, state_path: str | None,
          static_dir: str | None, base_url: str | None) -> None:
    """Serve the feeds with Flask's development server (use gunicorn in production)."""
    from .serve.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    base_url = base_url or os.environ.get(BASE_URL_ENV) or listening_url(host, port)
    try:
        app = create_app({"EVENTS_PATH": events_path, "STATE_PATH": state_path,
                          "STATIC_DIR": static_dir, "BASE_URL": base_url})
    except (EventsFileError, StateFileError, ExportError) as exc:
        fail(exc)
    if static_dir:
        events_path = f"{static_dir}/ (built)"
    click.echo(f"Serving {events_path}: open {base_url}/ (subscribe: {base_url}/feeds/all.ics)")
    app.run(host=host, port=port, debug=debug, use_reloader=debug)


def listening_url(host: str, port: int) -> str:
    """The address a browser reaches this server at: the host it listens on, or for every
    interface (0.0.0.0, ::) this machine's name as the network knows it."""
    if host in ("0.0.0.0", "::", ""):
        try:
            host = socket.gethostbyname(socket.gethostname())
        except OSError:
            host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@main.command()
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Write the schema to this file (events.schema.json) instead of printing it.")
def schema(out: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of events.yaml, for editors: generated from the
    loader's own keys, so an editor knows what `icalpub check` knows about each key."""
    from .load.jsonschema import render

    text = render()
    if out is None:
        click.echo(text, nl=False)
        return
    with open(out, "w", encoding="utf-8", newline="\n") as file:
        file.write(text)
    click.echo(f"{out}: written", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
