"""Every calendar the fixtures produce, read by seven independent parsers, occurrence by
occurrence.

``icalpub build`` runs on tests/fixtures/minimal.yaml, rich.yaml, extras.yaml (moved and
cancelled occurrences as RECURRENCE-ID VEVENTs, alarms, venues), golden/ (with its state
file), the repository's events.yaml, this folder's edge.yaml (recurrence edge cases: open-ended
series to 2050 in zones with irregular changes, UTC series, every UNTIL form) and a generated
1,000-event file (benchmarks/generate.py); a few search feeds (``/feeds/all.ics?q=…``) come from
the Flask test client. Every .ics file (feeds, invites, searches) is read by

==========================  ==========================================================
``icalendar``               Python; tzinfo built from *our* VTIMEZONE (``to_tz``)
``vobject``                 Python; tzinfo built from our VTIMEZONE
``ical``                    Python (Home Assistant's calendar); its own timeline
``recurring-ical-events``   Python; icalendar + x-wr-timezone (as used by many web apps)
``ical.js``                 Mozilla's parser (Thunderbird), via node; our VTIMEZONE
``node-ical``               node; TZID mapped to the runtime's IANA data
``libical``                 C (Evolution, many CalDAV servers), compiled here; our
                            VTIMEZONE, and ``icalrestriction_check`` (RFC 5546)
==========================  ==========================================================

and each event's occurrences (start and end, every one up to 2051, at most 2,000 per event)
are compared with :func:`readers.reference`, a zoneinfo + dateutil expansion of our own
(a series' occurrences moved as its RECURRENCE-ID VEVENTs say).

Without a parser the tests that need it skip on a developer machine and FAIL under
``CI=true`` (``.ci/run`` installs them: pip's ``test`` extra, ``npm ci`` here, Debian's
``libical-dev``). A parser's known bug is listed in :data:`KNOWN_BUGS` with what it gets wrong;
such a mismatch is recorded, never hidden, and a listed bug that no longer shows fails the
test, so the table stays true.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conformance import readers

pytestmark = pytest.mark.conformance

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

#: The search feeds taken from the app, per source.
QUERIES = {
    "rich": ["q=webinar", "topic=circular-economy", "from=2021-03-01&to=2021-06-30"],
    "edge": ["topic=zones", "q=utc", "from=2030-01-01&to=2030-12-31"],
    "generated": ["q=procurement", "topic=topic-03", "organiser=org-07&from=2022-01-01"],
}
PYTHON_PARSERS = list(readers.PYTHON_READERS)
NODE_PARSERS = ["ical.js", "node-ical"]
PARSERS = [*PYTHON_PARSERS, *NODE_PARSERS, "libical"]


def unavailable(reason: str) -> None:
    """Stop the current test: ``pytest.fail`` in CI, ``pytest.skip`` elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"conformance parser missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


# --- known parser bugs ------------------------------------------------------------------------

def _calendar(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//icalpub//probe//EN",
                         *lines, "END:VCALENDAR", ""])


def _event(uid: str, *lines: str) -> list[str]:
    return ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20210101T000000Z", "SUMMARY:Probe", *lines,
            "END:VEVENT"]


@dataclass(frozen=True)
class KnownBug:
    """A parser's known bug, what our output does about it, and a probe calendar that shows
    it: ``shows(result)`` is true while the parser still gets the probe wrong (the test fails
    once it is fixed, so that this table stays true). ``matches(label, uid, got, want)``,
    when given, also accepts that mismatch in the fixtures' calendars, counted and reported;
    none is needed today: our output avoids every trigger below."""

    parser: str
    what: str
    link: str
    probe: str
    shows: Callable[[dict], bool]
    matches: Callable[[str, str, list, list], bool] | None = None
    max_occurrences: int = readers.MAX_OCCURRENCES  # per event, when reading the probe
    window_years: int = 1  # node-ical's range per query, when reading the probe


_UTC_SERIES = _event("utc-series", "DTSTART:20210320T090000Z", "DTEND:20210320T100000Z",
                     "RRULE:FREQ=WEEKLY;COUNT=5")
_SPANNING = _event("spanning", "DTSTART;TZID=Europe/Brussels:20210326T180000",
                   "DTEND;TZID=Europe/Brussels:20210329T090000", "RRULE:FREQ=WEEKLY;COUNT=2")
_DAILY = _event("daily", "DTSTART:20210101T120000Z", "DTEND:20210101T130000Z",
                "RRULE:FREQ=DAILY")
_BRUSSELS = ["BEGIN:VTIMEZONE", "TZID:Europe/Brussels",
             "BEGIN:DAYLIGHT", "DTSTART:20200329T020000", "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
             "TZNAME:CEST", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "END:DAYLIGHT",
             "BEGIN:STANDARD", "DTSTART:20201025T030000",
             "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "TZNAME:CET", "TZOFFSETFROM:+0200",
             "TZOFFSETTO:+0100", "END:STANDARD", "END:VTIMEZONE"]

KNOWN_BUGS: list[KnownBug] = [
    KnownBug(
        "recurring-ical-events",
        "with X-WR-TIMEZONE, a UTC series is moved to that zone's wall time (x-wr-timezone, "
        "after Google), so occurrences after a change of the clocks move by an hour; our "
        "feeds with a UTC series carry no X-WR-TIMEZONE (ical/calendar.writes_x_wr_timezone)",
        "https://github.com/niccokunzmann/python-recurring-ical-events/pull/77",
        _calendar("X-WR-TIMEZONE:Europe/Brussels", *_UTC_SERIES),
        lambda result: result["events"]["utc-series"][2][0] == "2021-04-03T08:00:00Z"),
    KnownBug(
        "ical.js",
        "a series whose first occurrence spans a change of offset: every occurrence, the first "
        "included, ends at its start plus the first's length in hours added on the clock, an "
        "hour before the DTEND written (getOccurrenceDetails; no tracker link verified); "
        "parsers disagree on such series anyway, so the loader refuses them "
        "(tests/bad_inputs/rrule_occurrence_spans_change.yaml)",
        "",
        _calendar(*_BRUSSELS, *_SPANNING),
        lambda result: result["events"]["spanning"][0][1] == "2021-03-29T06:00:00Z"),
    KnownBug(
        "node-ical",
        "asked for a range holding more than 10,000 occurrences of a series (a daily one over "
        "30 years), expandRecurringEvent throws \"Maximum iterations (10000) exceeded\": "
        "rrule-temporal's default maxIterations, which node-ical does not raise; parse.mjs "
        "asks for a year at a time",
        "https://github.com/ggaabe/rrule-temporal/issues/69",
        _calendar(*_DAILY),
        lambda result: "Maximum iterations" in result.get("error", ""),
        max_occurrences=20_000, window_years=100),
]


# --- the calendars ----------------------------------------------------------------------------

def _build(events: Path, out: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ICALPUB_BASE_URL", "ICALPUB_EVENTS", "ICALPUB_STATE")}
    env["SOURCE_DATE_EPOCH"] = "1609459200"
    done = subprocess.run([sys.executable, "-m", "icalpub.cli", "build", "--events", str(events),
                           "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"icalpub build {events}:\n{done.stdout}{done.stderr}"


def _sources(folder: Path) -> dict[str, Path]:
    """Each source as an events file in its own folder (a build writes the state file next
    to it)."""
    sources = {}
    for name, path in [("minimal", FIXTURES / "minimal.yaml"), ("rich", FIXTURES / "rich.yaml"),
                       ("extras", FIXTURES / "extras.yaml"), ("edge", HERE / "edge.yaml")]:
        (folder / name).mkdir()
        shutil.copy(path, folder / name / "events.yaml")
        sources[name] = folder / name / "events.yaml"
    shutil.copytree(FIXTURES / "golden", folder / "golden")
    sources["golden"] = folder / "golden" / "events.yaml"
    (folder / "seed").mkdir()
    shutil.copy(ROOT / "events.yaml", folder / "seed" / "events.yaml")
    if (ROOT / "events.state.json").exists():
        shutil.copy(ROOT / "events.state.json", folder / "seed" / "events.state.json")
    sources["seed"] = folder / "seed" / "events.yaml"
    (folder / "generated").mkdir()
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "1000",
                    str(folder / "generated" / "events.yaml")], check=True, capture_output=True)
    sources["generated"] = folder / "generated" / "events.yaml"
    return sources


@pytest.fixture(scope="module")
def calendars(tmp_path_factory) -> dict[str, Path]:
    """Every calendar file: ``<source>/<path in the built tree>`` (and ``<source>/search-N``)
    -> its file."""
    from icalpub.serve.app import create_app

    folder = tmp_path_factory.mktemp("conformance")
    found: dict[str, Path] = {}
    for name, events in _sources(folder).items():
        out = folder / "public" / name
        _build(events, out)
        for path in sorted(out.rglob("*.ics")):
            found[f"{name}/{path.relative_to(out)}"] = path
        app = create_app({"TESTING": True, "EVENTS_PATH": str(events), "RELOAD_INTERVAL": 0})
        client = app.test_client()
        for i, query in enumerate(QUERIES.get(name, [])):
            response = client.get(f"/feeds/all.ics?{query}")
            assert response.status_code == 200, (name, query, response.data[:200])
            target = folder / "search" / name / f"search-{i}.ics"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(response.data)
            found[f"{name}/search?{query}"] = target
    return found


@pytest.fixture(scope="module")
def texts(calendars) -> dict[str, str]:
    return {label: path.read_bytes().decode("utf-8") for label, path in calendars.items()}


@pytest.fixture(scope="module")
def references(texts) -> dict[str, readers.Occurrences]:
    return {label: readers.reference(text) for label, text in texts.items()}


# --- running the parsers ----------------------------------------------------------------------

def _node_ready() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs)"
    if not (HERE / "node_modules" / "ical.js").is_dir() or \
            not (HERE / "node_modules" / "node-ical").is_dir():
        return f"the node parsers are not installed (cd {HERE} && npm ci)"
    return None


def _libical_binary(folder: Path) -> Path | str:
    """libical_expand.c compiled against the system's libical, or why it cannot be."""
    if shutil.which("gcc") is None or shutil.which("pkg-config") is None:
        return "gcc and pkg-config are needed to compile the libical reader"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libical"], capture_output=True,
                           text=True)
    if flags.returncode != 0:
        return "libical is not installed (apt-get install libical-dev)"
    binary = folder / "libical_expand"
    subprocess.run(["gcc", "-O1", "-Wall", "-o", str(binary),
                    str(HERE / "libical_expand.c"), *flags.stdout.split()], check=True)
    return binary


@pytest.fixture(scope="module")
def results(calendars, texts, tmp_path_factory) -> dict[str, dict[str, dict] | str]:
    """{parser: {label: {"events": occurrences} or {"error": message}}}, or {parser: reason}
    when the parser is not available. node and libical run in the background while the
    Python parsers run here."""
    labels = list(calendars)
    files = [str(calendars[label]) for label in labels]
    out: dict[str, dict[str, dict] | str] = {}
    background = {}
    why = _node_ready()
    if why is None:
        background["node"] = subprocess.Popen(
            ["node", str(HERE / "parse.mjs"), readers.UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ"),
             str(readers.MAX_OCCURRENCES), *files],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "TZ": "UTC"})
    else:
        out.update({name: why for name in NODE_PARSERS})
    binary = _libical_binary(tmp_path_factory.mktemp("libical"))
    if isinstance(binary, Path):
        background["libical"] = subprocess.Popen(
            [str(binary), str(int(readers.UNTIL.timestamp())), str(readers.MAX_OCCURRENCES),
             *files], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    else:
        out["libical"] = binary
    python = [name for name in PYTHON_PARSERS if _python_ready(name, out)]
    # The Python parsers read in two processes, a slice of the files each time, beside node
    # and libical. Spawned, not forked: other tests may have left threads running (a server),
    # and a fork copies the locks they hold.
    slices = [labels[i:i + 40] for i in range(0, len(labels), 40)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = {(name, i): pool.submit(readers.read_slice, name, {label: texts[label] for label in part})
                for name in python for i, part in enumerate(slices)}
        for name in python:
            out[name] = {}
            for i in range(len(slices)):
                out[name].update(jobs[name, i].result())
    by_file = {str(calendars[label]): label for label in labels}
    for kind, process in background.items():
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, f"{kind} reader failed: {stderr.decode()[-2000:]}"
        answer = json.loads(stdout)
        if kind == "node":
            for name in NODE_PARSERS:
                out[name] = {by_file[f]: r for f, r in answer[name].items()}
        else:
            out["libical"] = {by_file[f]: r for f, r in answer.items()}
    return out


def _python_ready(name: str, out: dict) -> bool:
    try:
        readers.PYTHON_READERS[name]("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    except ImportError as exc:
        out[name] = f"{exc.name} is not installed (pip install -e '.[test]')"
        return False
    except Exception:  # noqa: BLE001 — an empty calendar may be refused; installed is enough
        pass
    return True


def _as_pairs(occurrences: list) -> list[tuple[str, str]]:
    return [tuple(pair) for pair in occurrences]


# --- the tests --------------------------------------------------------------------------------

#: What the comparison saw, per parser: checked occurrences, and known-bug mismatches.
SEEN: dict[str, Counter] = {}


@pytest.mark.parametrize("parser", PARSERS)
def test_every_occurrence_matches_zoneinfo(parser, results, references):
    """Each parser's occurrences of every event in every calendar (start and end, UTC) are
    the reference's, except where a known bug of that parser explains the difference."""
    if isinstance(results[parser], str):
        unavailable(results[parser])
    counts = SEEN.setdefault(parser, Counter())
    wrong = []
    for label, want_events in references.items():
        got = results[parser][label]
        if "error" in got:
            wrong.append(f"{label}: {parser} failed: {got['error'][:500]}")
            continue
        got_events = got["events"]
        if set(got_events) != set(want_events):
            wrong.append(f"{label}: UIDs {sorted(set(got_events) ^ set(want_events))} differ")
        for uid, want in want_events.items():
            have = sorted(_as_pairs(got_events.get(uid, [])))  # a moved one may come late
            counts["events"] += 1
            counts["occurrences"] += len(want)
            if have == want:
                continue
            bug = next((b for b in KNOWN_BUGS if b.parser == parser and b.matches is not None
                        and b.matches(label, uid, have, want)), None)
            if bug is not None:
                counts[f"known: {bug.what}"] += 1
                continue
            first = next((i for i, (a, b) in enumerate(zip(have, want)) if a != b),
                         min(len(have), len(want)))
            wrong.append(f"{label} {uid}: {len(have)} occurrences, want {len(want)}; first "
                         f"difference at #{first}: {have[first:first + 2]} != "
                         f"{want[first:first + 2]}")
    assert counts["occurrences"] > 10_000
    print(f"{parser}: {counts['events']:,} events, {counts['occurrences']:,} occurrences checked")
    assert not wrong, f"{parser}: {len(wrong)} events differ:\n" + "\n".join(wrong[:30])


def test_libical_finds_no_problem(results):
    """libical's parser and its RFC 5546 restriction check (what Evolution applies) add no
    X-LIC-ERROR to any calendar."""
    if isinstance(results["libical"], str):
        unavailable(results["libical"])
    problems = [f"{label}: {error}" for label, result in results["libical"].items()
                for error in result["errors"]]
    assert not problems, "\n".join(problems[:30])


def test_no_calendar_has_one_uid_twice(texts):
    """Two VEVENTs with one UID and no RECURRENCE-ID are one event told twice: clients keep
    either, or both."""
    for label, text in texts.items():
        uids = Counter(event.get("UID").value for event in readers.vevents(text)
                       if event.get("RECURRENCE-ID") is None)
        assert not [u for u, n in uids.items() if n > 1], label


def test_the_reference_is_what_events_yaml_says(calendars, references, tmp_path):
    """The reference reads our output; check it against the events file itself, so that the
    comparisons above compare with what the user wrote: every occurrence of every event of the
    edge cases and the golden file, from the loaded model (start, zone, rule, excluded dates)."""
    from dateutil import rrule

    from icalpub.load import load_events

    for name in ("edge", "golden", "rich"):
        events_path = calendars[f"{name}/feeds/all.ics"].parents[3] / name / "events.yaml"
        data = load_events(events_path)
        feed = references[f"{name}/feeds/all.ics"]
        for event in data.events:
            uid = f"{event.id}@{data.calendar.host}"
            if event.recurrence:
                seed = event.start if not event.all_day else \
                    readers.dt.datetime.combine(event.start, readers.dt.time())
                rule = rrule.rrulestr(f"RRULE:{event.recurrence}", dtstart=seed)
                starts = (s if not event.all_day else s.date() for s in rule)
            else:
                starts = iter([event.start])
            changed = {o.recurrence_id: o for o in event.occurrences}  # moved or cancelled
            want = []
            for start in starts:
                if start >= (readers.UNTIL if not event.all_day else readers.UNTIL.date()) \
                        or len(want) == readers.MAX_OCCURRENCES:
                    break
                if start not in event.exclude and not (start in changed and
                                                       changed[start].cancelled):
                    want.append(readers.show(changed[start].start if start in changed
                                             else start))
            assert sorted(s for s, _e in feed[uid]) == sorted(want), uid


@pytest.mark.parametrize("bug", KNOWN_BUGS, ids=[f"{b.parser}" for b in KNOWN_BUGS])
def test_known_parser_bug_still_shows(bug, tmp_path):
    """Each known bug still shows on its probe: when a parser is fixed, this fails, and the
    table (and what our output does about the bug) can be revisited."""
    result = _read_one(bug.parser, bug.probe, tmp_path, bug.max_occurrences, bug.window_years)
    assert bug.shows(result), f"{bug.parser} no longer shows: {bug.what}\n{str(result)[:2000]}"


def _read_one(parser: str, text: str, folder: Path,
              max_occurrences: int = readers.MAX_OCCURRENCES, window_years: int = 1) -> dict:
    """One calendar through one parser, as ``results`` runs them."""
    if parser in readers.PYTHON_READERS:
        if not _python_ready(parser, {}):
            unavailable(f"{parser} is not installed (pip install -e '.[test]')")
        return readers.read_slice(parser, {"probe": text})["probe"]
    path = folder / "probe.ics"
    path.write_bytes(text.encode("utf-8"))
    if parser in NODE_PARSERS:
        why = _node_ready()
        if why is not None:
            unavailable(why)
        done = subprocess.run(
            ["node", str(HERE / "parse.mjs"), readers.UNTIL.strftime("%Y-%m-%dT%H:%M:%SZ"),
             str(max_occurrences), str(path)],
            capture_output=True, env={**os.environ, "TZ": "UTC",
                                      "WINDOW_YEARS": str(window_years)}, check=True)
        return json.loads(done.stdout)[parser][str(path)]
    binary = _libical_binary(folder)
    if isinstance(binary, str):
        unavailable(binary)
    done = subprocess.run([str(binary), str(int(readers.UNTIL.timestamp())),
                           str(max_occurrences), str(path)], capture_output=True,
                          check=True)
    return json.loads(done.stdout)[str(path)]


#: The parsers that convert wall times with the VTIMEZONE in the file (the others map the TZID
#: to their own tz data): their agreement above is what checks our VTIMEZONEs.
READ_OUR_VTIMEZONE = {"icalendar", "vobject", "ical.js", "libical"}


@pytest.mark.parametrize("parser", PARSERS)
def test_which_parsers_read_our_vtimezone(parser, tmp_path):
    """A Brussels VTIMEZONE that says +03:00 in winter: the parsers that read it put a
    January 14:00 at 11:00 UTC, the others at 13:00 UTC (zoneinfo's +01:00)."""
    wrong_zone = [line.replace("+0100", "+0300") for line in _BRUSSELS]
    probe = _calendar(*wrong_zone, *_event(
        "winter", "DTSTART;TZID=Europe/Brussels:20210119T140000",
        "DTEND;TZID=Europe/Brussels:20210119T150000"))
    start = _read_one(parser, probe, tmp_path)["events"]["winter"][0][0]
    assert start == ("2021-01-19T11:00:00Z" if parser in READ_OUR_VTIMEZONE
                     else "2021-01-19T13:00:00Z")
