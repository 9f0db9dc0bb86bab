"""Hostile inputs, generated: the loader answers each with its exact problems — never a
traceback, never a hang — within a budget of time and memory (issue 15, SECURITY.md).

The budget, for any file, accepted or refused, on the 2-core machine the figures in
SECURITY.md come from:

* CPU time (``time.process_time``) at most ``0.25 s + 2 s per MB`` of input;
* memory: the growth of the resident set of a forked child that loads the file (its peak,
  ``VmHWM``, after ``/proc/self/clear_refs`` reset it to the resident set before the load) at
  most ``20 MB + 40 × the input's size``.

(``tracemalloc`` would see every allocation, but slows allocation-heavy loads 80-fold.)

``tests/bad_inputs/`` (the catalogue, with its exact messages checked in
``test_bad_inputs.py``) is held to the same budget here. Each family below is parametrised
over characters, fields or sizes; sizes reach a few MB, where a quadratic step would take
minutes. ``ICALPUB_HOSTILE_REPORT=path.json`` writes every measurement (for SECURITY.md).
"""

from __future__ import annotations

import gc
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from icalpub.core.errors import EventsFileError
from icalpub.core.richtext import (MAX_MARKDOWN_NESTING, MAX_MARKDOWN_WORK, markdown_problem,
                                   render_markdown)
from icalpub.load import load_events
from icalpub.load.yamlfile import MAX_ALIAS_TEXT, MAX_SHOWN

CATALOGUE = sorted((Path(__file__).parent.parent / "bad_inputs").glob("*.yaml"))
MB = 2**20
MEASURED: list[dict] = []


def time_budget(size: int) -> float:
    return 0.25 + 2.0 * size / MB


def memory_budget(size: int) -> int:
    return 20 * MB + 40 * size


# ---------------------------------------------------------------------------------------------
# Building files and measuring a load


def q(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (every character written as an escape that
    YAML reads back, so control characters reach the loader, not the YAML reader)."""
    out = []
    for c in value:
        if c in '\\"':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F:
            out.append(f"\\x{ord(c):02x}")
        elif c in "\u2028\u2029":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def events_file(*, calendar: str = "", organiser: str = "", topic: str = "", event: str = "",
                events: str = "", base_url: str = "https://events.example.org",
                timezone: str = "Europe/Brussels", duration: str = "PT1H",
                start: str = "2021-01-19 14:00", title: str = "Webinar") -> str:
    """A valid events file with one organiser (``acme``), one topic (``circ``) and one event
    (``e1``); each keyword adds lines (``key: value\\n`` at the right indent) or replaces a
    value."""
    return (f"calendar:\n  name: Test events\n  base_url: {base_url}\n  timezone: {timezone}\n"
            f"{_indent(calendar, 2)}"
            f"organisers:\n  acme:\n    name: ACME Foundation\n{_indent(organiser, 4)}"
            f"topics:\n  circ:\n    name: Circular economy\n{_indent(topic, 4)}"
            f"events:\n  - id: e1\n    title: {title}\n    start: {start}\n"
            + (f"    duration: {duration}\n" if duration else "")
            + f"{_indent(event, 4)}{events}")


def _indent(lines: str, by: int) -> str:
    return "".join(" " * by + line + "\n" for line in lines.splitlines())


def at(text: str, needle: str) -> str:
    """``line:column`` of the first ``needle`` in ``text`` (how problems are positioned)."""
    return at_index(text, text.index(needle))


def at_index(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    return f"{line}:{index - (text.rfind(chr(10), 0, index) + 1) + 1}"


def _outcome(path: Path):
    try:
        return load_events(path)
    except EventsFileError as exc:
        return [str(p)[len(str(path)) + 1:] if p.line else str(p)[len(str(path)) + 2:]
                for p in exc.problems]


def _status(field: str) -> int:
    """A size from /proc/self/status (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)


def _measured_in_a_child(path: Path) -> tuple[float, int, object]:
    """(CPU seconds, bytes of resident set grown at the peak, the problems or None) of
    loading ``path`` in a forked child, so that its peak memory is its own."""
    gc.collect()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: load, report, and leave without running any cleanup
        try:
            os.close(read)
            with open("/proc/self/clear_refs", "w") as clear:
                clear.write("5")  # the peak resident set is now the current one
            before = _status("VmRSS")
            started = time.process_time()
            outcome = _outcome(path)
            seconds = time.process_time() - started
            report = [seconds, _status("VmHWM") - before,
                      outcome if isinstance(outcome, list) else None]
        except BaseException as exc:  # noqa: BLE001 — a traceback is what the test looks for
            report = [0.0, 0, f"{type(exc).__name__}: {exc}"]
        with os.fdopen(write, "w") as out:
            json.dump(report, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as incoming:
        report = json.load(incoming)
    os.waitpid(pid, 0)
    return report[0], report[1], report[2]


def measure(path: Path, name: str):
    """Load ``path`` in a child (timed, its memory measured), check the budget, and load it
    here for the outcome the test looks at."""
    if not hasattr(os, "fork") or not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs os.fork and Linux's /proc/self/clear_refs")
    size = path.stat().st_size
    seconds, peak, child_problems = _measured_in_a_child(path)
    assert not isinstance(child_problems, str), child_problems  # a traceback
    outcome = _outcome(path)
    assert child_problems == (outcome if isinstance(outcome, list) else None)
    MEASURED.append({"input": name, "bytes": size, "seconds": round(seconds, 4),
                     "memory_mb": round(peak / MB, 2),
                     "accepted": not isinstance(outcome, list)})
    assert seconds <= time_budget(size), f"{name}: {seconds:.2f} s for {size:,} bytes"
    assert peak <= memory_budget(size), f"{name}: {peak / MB:.1f} MB for {size:,} bytes"
    return outcome


def refused(tmp_path: Path, text: str, name: str) -> list[str]:
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    outcome = measure(path, name)
    assert isinstance(outcome, list), f"{name} was accepted"
    return [line.removeprefix("events.yaml:") for line in outcome]


def accepted(tmp_path: Path, text: str, name: str):
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    outcome = measure(path, name)
    assert not isinstance(outcome, list), outcome
    return outcome


def _strip(problems: list[str]) -> list[str]:
    """Problems as ``line:col where: message`` (the catalogue's ``# expect:`` form)."""
    out = []
    for problem in problems:
        line, column, rest = problem.split(":", 2)
        out.append(f"{line}:{column}{rest}" if line.isdigit() else problem)
    return out


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    target = os.environ.get("ICALPUB_HOSTILE_REPORT")
    loads = [m for m in MEASURED if not m.get("render")]
    renders = [m for m in MEASURED if m.get("render")]
    if target and loads:
        Path(target).write_text(json.dumps({
            "loads": len(loads), "accepted": sum(m["accepted"] for m in loads),
            "largest_bytes": max(m["bytes"] for m in loads),
            "worst_seconds": max(loads, key=lambda m: m["seconds"]),
            "worst_against_budget": max(loads, key=lambda m: m["seconds"]
                                        / time_budget(m["bytes"])),
            "worst_memory": max(loads, key=lambda m: m["memory_mb"]),
            "renders": len(renders),
            "worst_render": max(renders, key=lambda m: m["seconds"]) if renders else None,
            "all": MEASURED}, indent=1))


# ---------------------------------------------------------------------------------------------
# The catalogue, held to the budget


@pytest.mark.parametrize("path", CATALOGUE, ids=[p.stem for p in CATALOGUE])
def test_catalogue_within_budget(path):
    outcome = measure(path, f"bad_inputs/{path.name}")
    assert isinstance(outcome, list) and outcome


# ---------------------------------------------------------------------------------------------
# Control characters in every field (C0 but TAB and LF, DEL, C1), named with their position

CONTROLS = ["\x00", "\x07", "\x0b", "\x1b", "\x7f", "\x85", "\x9b", "\x9f"]
#: field -> (how to build the file around a value, the value's prefix, its key path)
FIELDS = {
    "title": (lambda v: events_file(title=v), "A", "e1.title"),
    "location": (lambda v: events_file(event=f"location: {v}"), "A", "e1.location"),
    "contact": (lambda v: events_file(event=f"contact: {v}"), "A", "e1.contact[0]"),
    "agenda": (lambda v: events_file(event=f"agenda: [{v}]"), "A", "e1.agenda[0]"),
    "description": (lambda v: events_file(event=f"description: {v}"), "A", "e1.description"),
    "url": (lambda v: events_file(event=f"url: {v}"), "https://e.org/", "e1.url"),
    "registration_url": (lambda v: events_file(event=f"registration_url: {v}"),
                         "https://e.org/", "e1.registration_url"),
    "recurrence": (lambda v: events_file(event=f"recurrence: {v}"), "FREQ=DAILY", "e1.recurrence"),
    "calendar.name": (lambda v: events_file().replace("name: Test events", f"name: {v}", 1),
                      "A", "calendar.name"),
    "calendar.description": (lambda v: events_file(calendar=f"description: {v}"), "A",
                             "calendar.description"),
    "calendar.base_url": (lambda v: events_file(base_url=v), "https://e.org/",
                          "calendar.base_url"),
    "organiser.name": (lambda v: events_file().replace("name: ACME Foundation", f"name: {v}"),
                       "A", "organisers.acme.name"),
    "organiser.email": (lambda v: events_file(organiser=f"email: {v}"), "a", "organisers.acme.email"),
    "organiser.url": (lambda v: events_file(organiser=f"url: {v}"), "https://e.org/",
                      "organisers.acme.url"),
    "topic.name": (lambda v: events_file().replace("name: Circular economy", f"name: {v}"),
                   "A", "topics.circ.name"),
    "topic.description": (lambda v: events_file(topic=f"description: {v}"), "A",
                          "topics.circ.description"),
}


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize("field", FIELDS)
def test_control_character_in_every_field(tmp_path, field, char):
    build, prefix, where = FIELDS[field]
    value = prefix + char + ("b@example.org" if field == "organiser.email" else "z")
    text = build(q(value))
    found = refused(tmp_path, text, f"control {field} U+{ord(char):04X}")
    assert _strip(found) == [f"{at(text, q(value))} {where}: contains the control character "
                             f"U+{ord(char):04X} at position {len(prefix) + 1}; remove it"]


# ---------------------------------------------------------------------------------------------
# Line and paragraph separators: refused in one-line fields, kept in descriptions

SEPARATORS = {"\u2028": "line separator", "\u2029": "paragraph separator"}
ONE_LINE = ["title", "location", "contact", "agenda", "calendar.name", "organiser.name",
            "topic.name"]


@pytest.mark.parametrize("char", SEPARATORS, ids=["U+2028", "U+2029"])
@pytest.mark.parametrize("field", ONE_LINE)
def test_line_separator_in_one_line_fields(tmp_path, field, char):
    build, prefix, where = FIELDS[field]
    value = prefix + char + "Second line"
    text = build(q(value))
    found = refused(tmp_path, text, f"separator {field} U+{ord(char):04X}")
    assert _strip(found) == [
        f"{at(text, q(value))} {where}: contains the {SEPARATORS[char]} U+{ord(char):04X} at "
        f"position {len(prefix) + 1}, which many apps show as a line break; this is one-line "
        "text: remove it or write a space"]


@pytest.mark.parametrize("char", SEPARATORS, ids=["U+2028", "U+2029"])
def test_line_separator_in_a_description_is_kept(tmp_path, char):
    data = accepted(tmp_path, events_file(event=f"description: {q('One' + char + 'two')}"),
                    f"separator description U+{ord(char):04X}")
    assert data.events[0].description == "One" + char + "two"


def test_next_line_character_is_a_control_character(tmp_path):
    value = q("Tom\x85Jones")
    text = events_file(event=f"contact: {value}")
    assert _strip(refused(tmp_path, text, "NEL contact")) == [
        f"{at(text, value)} e1.contact[0]: contains the control character U+0085 at position 4; "
        "remove it"]


# ---------------------------------------------------------------------------------------------
# Time zones: only the IANA names of zoneinfo.available_timezones(), and what to write instead

NAMES = "such as 'Europe/Brussels' or 'America/New_York'"
ZONES = {
    "localtime": "'localtime' is this machine's own zone, which no calendar app knows by that "
                 f"name; write the IANA name of the zone you mean, {NAMES}",
    "posixrules": "'posixrules' is an internal entry of the tz database, not a time zone; write "
                  f"an IANA name {NAMES}",
    "Factory": "'Factory' is an internal entry of the tz database, not a time zone; write an "
               f"IANA name {NAMES}",
    "posix/Europe/Paris": "'posix/Europe/Paris' is a copy of a zone under another name; write "
                          "'Europe/Paris'",
    "posix/UTC": "'posix/UTC' is a copy of a zone under another name; write 'UTC'",
    "right/Europe/Paris": "'right/Europe/Paris' counts leap seconds, which calendar apps do not "
                          "(its clocks are 27 s off); write 'Europe/Paris'",
    "right/Asia/Tokyo": "'right/Asia/Tokyo' counts leap seconds, which calendar apps do not "
                        "(its clocks are 27 s off); write 'Asia/Tokyo'",
    "../../etc/passwd": f"'../../etc/passwd' is not an IANA time zone (write a name {NAMES})",
    "/usr/share/zoneinfo/UTC": "'/usr/share/zoneinfo/UTC' is not an IANA time zone (write a "
                               f"name {NAMES})",
    "europe/brussels": f"'europe/brussels' is not an IANA time zone (write a name {NAMES}); "
                       "did you mean 'Europe/Brussels' or 'Europe/Prague' or 'Europe/Jersey'?",
    "Europe/" + "B" * 100: "'Europe/" + "B" * 100 + "' is not an IANA time zone (write a name "
                           f"{NAMES})",
    "Europe/Brussels\x00": "'Europe/Brussels\\x00' is not an IANA time zone (write a name "
                           f"{NAMES})",
}


@pytest.mark.parametrize("zone", ZONES, ids=[z[:30] for z in ZONES])
def test_zones_that_are_not_iana_names(tmp_path, zone):
    text = events_file(event=f"timezone: {q(zone)}")
    assert _strip(refused(tmp_path, text, f"zone {zone[:30]!r}")) == [
        f"{at(text, q(zone))} e1.timezone: {ZONES[zone]}"]


@pytest.mark.parametrize("zone, published", [("UTC", "UTC"), ("Etc/UTC", "UTC"), ("Zulu", "UTC"),
                                             ("America/Argentina/Buenos_Aires",
                                              "America/Argentina/Buenos_Aires"),
                                             ("US/Eastern", "US/Eastern")])
def test_canonical_zones_are_accepted(tmp_path, zone, published):
    data = accepted(tmp_path, events_file(event=f"timezone: {zone}"), f"zone {zone}")
    assert data.events[0].timezone == published


def test_unknown_zones_in_3000_events_cost_20_searches(tmp_path):
    """Each unknown zone used to cost a close-match search over 600 names: 44 s for 3,000."""
    event = "  - id: e{i}\n    title: E\n    start: 2021-01-19 14:00\n    duration: PT1H\n" \
            "    timezone: Europe/Brusels{i}\n"
    text = events_file(events="".join(event.format(i=i) for i in range(2, 3002)))
    found = _strip(refused(tmp_path, text, "3,000 unknown zones"))
    assert len(found) == MAX_SHOWN + 1
    assert found[0] == (f"{at(text, 'Europe/Brusels2')} e2.timezone: 'Europe/Brusels2' is not an "
                        f"IANA time zone (write a name {NAMES}); did you mean 'Europe/Brussels' "
                        "or 'Europe/Belfast' or 'Europe/Busingen'?")
    assert found[-1] == (f"{at(text, 'Europe/Brusels22')} e22.timezone: … and 2,980 more "
                                 "unknown time zones; only the first 20 of a kind are listed: "
                                 "fix them and check again")


# ---------------------------------------------------------------------------------------------
# Numbers: ASCII digits only (others pass str.isdigit and crashed int(), or were read by it)

DIGITS = {"superscript two": "\u00b2", "Arabic-Indic three": "\u0663",
          "fullwidth five": "\uff15", "mathematical nine": "\U0001d7d7"}


@pytest.mark.parametrize("digit", DIGITS.values(), ids=list(DIGITS))
@pytest.mark.parametrize("part, message", [
    ("COUNT={d}", "COUNT={d} must be a whole number of 1 or more"),
    ("INTERVAL={d};COUNT=3", "INTERVAL={d} must be a whole number from 1 to 1,000"),
    ("BYMONTHDAY=1{d};FREQ=MONTHLY;COUNT=3",
     "BYMONTHDAY=1{d}: '1{d}' is out of range; use whole numbers ±1 to ±31 (RFC 5545 §3.3.10)"),
    ("BYDAY={d}TU;FREQ=MONTHLY;COUNT=3",
     "BYDAY={d}TU: '{d}TU' is not a weekday; write MO, TU, … SU, optionally with a position "
     "such as 2TU or -1FR"),
])
def test_recurrence_numbers_in_other_digits(tmp_path, digit, part, message):
    rule = ("" if "FREQ" in part else "FREQ=DAILY;") + part.format(d=digit)
    text = events_file(event=f"recurrence: {rule}")
    assert _strip(refused(tmp_path, text, f"rrule {part[:8]} {digit!a}")) == [
        f"{at(text, rule)} e1.recurrence: {message.format(d=digit)}"]


@pytest.mark.parametrize("digit", DIGITS.values(), ids=list(DIGITS))
def test_durations_and_dates_in_other_digits(tmp_path, digit):
    text = events_file(duration=f"PT{digit}H", start=f"2021-01-1{digit} 14:00")
    assert _strip(refused(tmp_path, text, f"duration/date {digit!a}")) == [
        f"{at(text, '2021-01-1' + digit)} e1.start: '2021-01-1{digit} 14:00' is not a date or "
        "time; write it as 2021-01-19 14:00 (or 2021-01-19 for an all-day event)",
        f"{at(text, 'PT' + digit)} e1.duration: 'PT{digit}H' is not a duration; write it as "
        "PT2H, PT1H30M or 1h30m"]


@pytest.mark.parametrize("rule, normalised", [
    ("FREQ=DAILY;BYHOUR=0;BYMINUTE=0;COUNT=3", "FREQ=DAILY;COUNT=3;BYMINUTE=0;BYHOUR=0"),
    ("FREQ=MONTHLY;BYDAY=2TU;COUNT=3", "FREQ=MONTHLY;COUNT=3;BYDAY=2TU"),
])
def test_ascii_numbers_still_work(tmp_path, rule, normalised):
    data = accepted(tmp_path, events_file(start="2021-01-12 00:00", event=f"recurrence: {rule}"),
                    f"rule {rule}")
    assert data.events[0].recurrence == normalised


@pytest.mark.parametrize("digits", [10, 37, 100, 5_000])
def test_huge_durations_are_messages_not_tracebacks(tmp_path, digits):
    """``PT`` + 5,000 nines + ``H``: ``int`` refuses more than 4,300 digits (a ValueError)."""
    value = "PT" + "9" * digits + "H"
    text = events_file(duration=value)
    message = (f"{value!r} is longer than a year; check the value (a long-running series is a "
               "`recurrence`, not one long event)" if len(value) <= 40 else
               f"{_shown(value)} is not a duration; write it as PT2H, PT1H30M or 1h30m")
    assert _strip(refused(tmp_path, text, f"{digits}-digit duration")) == [
        f"{at(text, value)} e1.duration: {message}"]


@pytest.mark.parametrize("digits", [10, 100, 900])
def test_huge_counts_and_intervals_are_too_large(tmp_path, digits):
    rule = f"FREQ=DAILY;COUNT={'9' * digits}"
    text = events_file(event=f"recurrence: {rule}")
    assert _strip(refused(tmp_path, text, f"{digits}-digit COUNT")) == [
        f"{at(text, rule)} e1.recurrence: COUNT={'9' * digits} is more than 10,000 occurrences; "
        "publish a shorter series"]
    rule = f"FREQ=DAILY;INTERVAL={'9' * digits}"
    text = events_file(event=f"recurrence: {rule}")
    assert _strip(refused(tmp_path, text, f"{digits}-digit INTERVAL")) == [
        f"{at(text, rule)} e1.recurrence: INTERVAL={'9' * digits} must be a whole number from 1 "
        "to 1,000"]


def _shown(value: str) -> str:
    return repr(value) if len(value) <= 120 else f"{value[:120]!r}… ({len(value):,} characters)"


# ---------------------------------------------------------------------------------------------
# Patterns: linear in the size of the value (each case was quadratic or worse before)

SIZES = [1_000, 100_000, 1_000_000]


@pytest.mark.parametrize("size", SIZES)
def test_duration_of_spaces(tmp_path, size):
    """``1d`` + spaces + ``x``: 34 s at 1,200 spaces with the old pattern."""
    value = "1d" + " " * size + "x"
    text = events_file(duration=q(value))
    assert _strip(refused(tmp_path, text, f"duration spaces {size}")) == [
        f"{at(text, q(value))} e1.duration: {_shown(value)} is not a duration; write it as PT2H, "
        "PT1H30M or 1h30m"]


@pytest.mark.parametrize("size", SIZES)
def test_one_line_text_of_spaces(tmp_path, size):
    """A title ``a`` + spaces + ``b``: the line-break pattern ran before the length check,
    quadratic in the run of spaces (40 s at 100,000)."""
    value = "a" + " " * size + "b"
    text = events_file(title=q(value))
    assert _strip(refused(tmp_path, text, f"title spaces {size}")) == [
        f"{at(text, q(value))} e1.title: is {size + 2:,} characters long; one-line text is "
        f"limited to 1,000 characters (starts {value[:40]!r})"]


@pytest.mark.parametrize("size", SIZES)
def test_one_line_text_of_spaces_and_line_breaks(tmp_path, size):
    """Runs of white space around line breaks become one space, in linear time."""
    value = "a" + (" " * 99 + "\n") * (size // 100) + "b"
    text = events_file(title=q(value))
    assert accepted(tmp_path, text, f"title breaks {size}").events[0].title == "a b"


@pytest.mark.parametrize("size", SIZES)
def test_date_with_a_long_tail(tmp_path, size):
    value = "2021-01-19" + " " * size + "14:00x"
    text = events_file(start=q(value))
    assert _strip(refused(tmp_path, text, f"date tail {size}")) == [
        f"{at(text, q(value))} e1.start: {_shown(value)} is not a date or time; write it as "
        "2021-01-19 14:00 (or 2021-01-19 for an all-day event)"]


@pytest.mark.parametrize("size", SIZES)
def test_email_of_many_labels(tmp_path, size):
    value = "a@" + "b." * (size // 2) + "-"
    text = events_file(organiser=f"email: {q(value)}")
    assert _strip(refused(tmp_path, text, f"email labels {size}")) == [
        f"{at(text, q(value))} organisers.acme.email: {_shown(value)} is not an e-mail address; "
        "write it as name@example.org"]


@pytest.mark.parametrize("size", SIZES)
def test_url_of_spaces(tmp_path, size):
    value = "https://e.org/" + " " * size + "x"
    text = events_file(event=f"url: {q(value)}")
    message = (f"is {len(value):,} characters long; a URL is limited to 2,000 characters (starts "
               f"{value[:40]!r})" if len(value) > 2_000 else
               f"{_shown(value)} is not an http(s) URL; write it as https://example.org/page")
    assert _strip(refused(tmp_path, text, f"url spaces {size}")) == [
        f"{at(text, q(value))} e1.url: {message}"]


@pytest.mark.parametrize("size", SIZES)
def test_slug_of_many_dashes(tmp_path, size):
    value = "a" + "-" * size + "_"
    text = events_file(events=f"  - id: {value}\n    title: T\n    start: 2021-01-19 14:00\n"
                              "    duration: PT1H\n")
    found = _strip(refused(tmp_path, text, f"slug dashes {size}"))
    assert found == [f"{at(text, value)} events[1].id: {_shown(value)} is not a valid slug: use "
                     "lower-case letters, digits and '-', starting with a letter or digit, at "
                     "most 100 characters (for example 'a')"]


@pytest.mark.parametrize("size", SIZES)
def test_unknown_key_of_any_length(tmp_path, size):
    """A key is echoed in the problem's key path, cut at 200 characters."""
    key = "k" * size
    text = events_file(event=f"? {key}\n: v")
    where = "e1." + key
    where = where if len(where) <= 200 else f"{where[:200]}… ({len(where):,} characters)"
    assert _strip(refused(tmp_path, text, f"long key {size}")) == [
        f"{at(text, key)} {where}: unknown key; expected one of: {', '.join(_event_keys())}"]


def _event_keys() -> list[str]:
    from icalpub.load.schema import EVENT
    return [key for key in EVENT if key != "id"]


@pytest.mark.parametrize("size", [10_000, 1_000_000])
def test_long_tag(tmp_path, size):
    tag = "!" + "t" * size
    text = events_file(title=f"{tag} X")
    assert _strip(refused(tmp_path, text, f"long tag {size}")) == [
        f"{at(text, tag)} e1.title: the tag {tag[:100]!r}… ({size + 1:,} characters) is not "
        "allowed; remove it (events.yaml is read with YAML safe-load rules)"]


# ---------------------------------------------------------------------------------------------
# Large valid files: every check on every value, within the same budget

DESCRIPTION = ("Join us for a [webinar](https://example.org/w) on *circular* procurement, with "
               "`code`, <b>bold</b> and a list:\n\n- one\n- two [ref]\n\n[ref]: https://e.org/r\n")


@pytest.mark.parametrize("count", [1_000, 8_000])
def test_large_valid_files(tmp_path, count):
    event = ("  - id: e{i}\n    title: Webinar {i} - procurement\n    start: 2021-01-19 14:00\n"
             "    duration: 1h30m\n    location: Online (Zoom)\n    timezone: America/New_York\n"
             "    organisers: [acme]\n    topics: [circ]\n    url: https://e.org/events/{i}\n"
             "    recurrence: FREQ=WEEKLY;COUNT=10\n    exclude: [2021-01-26, 2021-02-02]\n"
             "    description: " + q(DESCRIPTION * 4) + "\n")
    text = events_file(events="".join(event.format(i=i) for i in range(2, count + 2)))
    data = accepted(tmp_path, text, f"{count} valid events")
    assert len(data.events) == count + 1


# ---------------------------------------------------------------------------------------------
# URLs: parse errors and hosts as messages


@pytest.mark.parametrize("url, message", [
    ("http://[::1", "'http://[::1' is not a valid URL (Invalid IPv6 URL); write it as "
                    "https://example.org/page"),
    ("https://[fe80::1%eth0", "'https://[fe80::1%eth0' is not a valid URL (Invalid IPv6 URL); "
                              "write it as https://example.org/page"),
    ("https://e.org:99999999999999999999/", "'https://e.org:99999999999999999999/' is not a "
                                            "valid URL (Port out of range 0-65535); write it as "
                                            "https://example.org/page"),
    ("https://e.org:x/", "'https://e.org:x/' is not a valid URL (Port could not be cast to "
                         "integer value as 'x'); write it as https://example.org/page"),
    ("https:///path", "'https:///path' is not an http(s) URL; write it as "
                      "https://example.org/page"),
    ("https://user@/", "'https://user@/' is not an http(s) URL; write it as "
                       "https://example.org/page"),
    ("https://e.org/a\u2028b", "'https://e.org/a\\u2028b' is not an http(s) URL; write it as "
                               "https://example.org/page"),
    ("https://e.org/a\u00a0b", "'https://e.org/a\\xa0b' is not an http(s) URL; write it as "
                               "https://example.org/page"),
])
def test_urls_that_do_not_parse(tmp_path, url, message):
    text = events_file(event=f"url: {q(url)}")
    assert _strip(refused(tmp_path, text, f"url {url[:20]!a}")) == [
        f"{at(text, q(url))} e1.url: {message}"]


# ---------------------------------------------------------------------------------------------
# YAML aliases: the text they repeat is counted, each use, against MAX_ALIAS_TEXT


def alias_file(anchored: int, uses: int) -> str:
    event = "  - id: e{i}\n    title: E\n    start: 2021-01-19 14:00\n    duration: PT1H\n" \
            "    description: *d\n"
    return events_file(event="description: &d " + "x" * anchored,
                       events="".join(event.format(i=i) for i in range(2, uses + 2)))


@pytest.mark.parametrize("anchored, uses", [(20_000, 1_000), (20_000, 5_000), (1_000, 2_000)])
def test_aliases_repeating_text_fail_fast(tmp_path, anchored, uses):
    """1,000 events aliasing one 20 kB description: 20 MB of text from a 100 kB file (a site
    build took 21 s and 628 MB)."""
    text = alias_file(anchored, uses)
    first_over = MAX_ALIAS_TEXT // (anchored + 1) + 2  # the use that crosses the limit
    assert _strip(refused(tmp_path, text, f"alias {anchored}x{uses}")) == [
        f"{at(text, '&d')} e{first_over}.description: YAML aliases (`*name`) repeat more than "
        "1,048,576 characters of text in this file (each use counts, and this value is one); "
        "write the shared text in fewer places, or shorten it"]


@pytest.mark.parametrize("anchored", [10, 100])
def test_many_aliases_of_a_short_line(tmp_path, anchored):
    """Each use counts its text plus one, so short anchors cannot be repeated without bound
    either: 1,000 aliases in each agenda of 1,100 events."""
    line = "y" * anchored
    agenda = "agenda: [" + ", ".join(["*l"] * 1_000) + "]"
    event = "  - id: e{i}\n    title: E\n    start: 2021-01-19 14:00\n    duration: PT1H\n" \
            "    " + agenda + "\n"
    text = events_file(event=f"contact: &l {line}",
                       events="".join(event.format(i=i) for i in range(2, 1_102)))
    first_over = MAX_ALIAS_TEXT // (anchored + 1) + 1  # uses counted when the limit is crossed
    event_index, item = divmod(first_over - 1, 1_000)
    assert _strip(refused(tmp_path, text, f"short alias {anchored}")) == [
        f"{at(text, '&l')} e{event_index + 2}.agenda[{item}]: YAML aliases (`*name`) repeat more "
        "than 1,048,576 characters of text in this file (each use counts, and this value is one); "
        "write the shared text in fewer places, or shorten it"]


def test_aliases_under_the_limit_are_fine(tmp_path):
    data = accepted(tmp_path, alias_file(1_000, 1_000), "alias 1000x1000")
    assert len(data.events) == 1_001 and data.events[-1].description == "x" * 1_000


def test_aliased_lists_count_each_item(tmp_path):
    text = events_file(calendar="").replace(
        "events:\n", "shared: &agenda [" + ", ".join(["&l " + "y" * 900] + ["*l"] * 29) + "]\n"
        "events:\n") + "".join(f"  - id: e{i}\n    title: E\n    start: 2021-01-19 14:00\n"
                               "    duration: PT1H\n    agenda: *agenda\n" for i in range(2, 50))
    found = _strip(refused(tmp_path, text, "aliased agenda"))
    assert found[0] == (f"{at(text, 'shared')} shared: unknown top-level key; expected one of: "
                        "calendar, organisers, topics, events")
    assert found[1].endswith("YAML aliases (`*name`) repeat more than 1,048,576 characters of "
                             "text in this file (each use counts, and this value is one); write "
                             "the shared text in fewer places, or shorten it")


@pytest.mark.parametrize("levels", [5, 9, 12])
def test_billion_laughs_in_a_list_field(tmp_path, levels):
    lines = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    text = events_file(event=f"topics: *a{levels - 1}").replace("events:\n",
                                                               "\n".join(lines) + "\nevents:\n")
    found = refused(tmp_path, text, f"billion laughs {levels}")
    assert len(found) == levels + 10  # unknown keys; "expected a single value" per item


# ---------------------------------------------------------------------------------------------
# Problems of one kind: the first MAX_SHOWN, then a count; messages built only for those


@pytest.mark.parametrize("count", [21, 2_000, 20_000])
def test_unknown_organiser_references(tmp_path, count):
    """2,000 unknown references with 2,000 organisers defined: 19 s and 40 MB of messages."""
    organisers = "".join(f"  org-{i}:\n    name: O{i}\n" for i in range(2_000))
    refs = ", ".join(f"nobody-{i}" for i in range(count))
    text = events_file(event=f"organisers: [{refs}]").replace("topics:\n", organisers + "topics:\n")
    found = _strip(refused(tmp_path, text, f"{count} unknown organisers"))
    assert len(found) == MAX_SHOWN + 1
    assert found[0] == (f"{at(text, 'nobody-0,')} e1.organisers: unknown organiser 'nobody-0'; "
                        "define it under `organisers:` at the top of the file (defined: acme, "
                        "org-0, org-1, org-10, org-100, org-1000, org-1001, org-1002, org-1003, "
                        "org-1004, org-1005, org-1006, org-1007, org-1008, org-1009, org-101, "
                        "org-1010, org-1011, org-1012, org-1013 and 1,981 more)")
    assert found[-1] == (f"{at(text, 'nobody-20')} e1.organisers: … and {count - 20:,} more "
                         "unknown organiser references; only the first 20 of a kind are listed: "
                         "fix them and check again")


@pytest.mark.parametrize("count", [25, 5_000])
def test_duplicate_ids(tmp_path, count):
    event = "  - id: e1\n    title: E\n    start: 2021-01-19 14:00\n    duration: PT1H\n"
    text = events_file(events=event * count)
    second = text.index("id: e1", text.index("id: e1") + 1) + 4
    found = _strip(refused(tmp_path, text, f"{count} duplicate ids"))
    assert len(found) == MAX_SHOWN + 1
    assert found[0] == (f"{at_index(text, second)} e1: duplicate id (events[0] already uses it); ids must be unique: rename one")
    assert found[-1].endswith(f" e1: … and {count - 20:,} more problems of this kind (duplicate id "
                              "(events[0] already uses it)); only the first 20 of a kind are "
                              "listed: fix them and check again")


# ---------------------------------------------------------------------------------------------
# EXDATE: looked up, not searched for


@pytest.mark.parametrize("count", [100, 1_000, 5_000])
def test_many_late_exdates_are_quick(tmp_path, count):
    """``FREQ=DAILY;COUNT=10000`` with 1,000 late EXDATEs walked the rule once per EXDATE:
    63 s."""
    from datetime import date, timedelta
    days = [date(2021, 1, 19) + timedelta(days=9_999 - i) for i in range(count)]
    text = events_file(event="recurrence: FREQ=DAILY;COUNT=10000\nexclude: ["
                       + ", ".join(d.isoformat() for d in days) + "]")
    data = accepted(tmp_path, text, f"{count} late exdates")
    assert len(data.events[0].exclude) == count


# ---------------------------------------------------------------------------------------------
# Markdown descriptions: refused before the converter can take more than linear time

MARKDOWN = {
    "unclosed brackets": ("[", "`[` that no `]` closes (or brackets nested deep)",
                          "write a literal bracket as \\["),
    "unclosed images": ("![", "`[` that no `]` closes (or brackets nested deep)",
                        "write a literal bracket as \\["),
    "unclosed link targets": ("[a](b", "link targets `](` whose `(` no `)` closes",
                              "close each `(` or write it as \\("),
    "backtick runs": ("``a`", "runs of backticks that no run of the same length closes",
                      "close each code span or write a literal backtick as \\`"),
    "escaped backticks": ("\\``]]>", "runs of backticks that no run of the same length closes",
                          "close each code span or write a literal backtick as \\`"),
    "unclosed tags": ("<a b='", "HTML tags, comments or CDATA sections that are not closed",
                      "close each one, or write a literal < as &lt;"),
    "unclosed tags without quotes": ("<a ", "HTML tags, comments or CDATA sections that are not "
                                            "closed", "close each one, or write a literal < as "
                                                      "&lt;"),
    "setext headings": ("Title\n=====\n", "heading underlines or rules (lines of `=`, `-`, `*` "
                                          "or `_`) inside a long block",
                        "put a blank line before and after each"),
    "rules": ("a\n***\n", "heading underlines or rules (lines of `=`, `-`, `*` or `_`) inside a "
                          "long block", "put a blank line before and after each"),
}


def description_file(markdown: str) -> str:
    return events_file(event="description: " + q(markdown))


@pytest.mark.parametrize("size", [12_000, 19_500])
@pytest.mark.parametrize("name", MARKDOWN)
def test_markdown_that_would_be_slow(tmp_path, name, size):
    unit, cause, fix = MARKDOWN[name]
    source = (unit * (size // len(unit) + 1))[:size].strip("\n")
    problem = markdown_problem(source)
    assert problem is not None, name
    assert problem.startswith(f"is too costly to convert from Markdown: {cause} make the "
                              "converter re-read the rest of the text each time (")
    assert problem.endswith(f"; at most {MAX_MARKDOWN_WORK:,}); {fix}")
    text = description_file(source)
    assert _strip(refused(tmp_path, text, f"markdown {name} {size}")) == [
        f"{at(text, q(source)[:50])} e1.description: {problem}"]


@pytest.mark.parametrize("unit", ["1. ", "- ", "> ", "* ", "+ ", ">"])
def test_markdown_nesting(tmp_path, unit):
    source = unit * (MAX_MARKDOWN_NESTING + 1) + "deep"
    text = description_file(source)
    assert _strip(refused(tmp_path, text, f"nesting {unit!r}")) == [
        f"{at(text, q(source))} e1.description: nests lists or block quotes "
        f"{MAX_MARKDOWN_NESTING + 1} levels deep (line 1 of the text); Markdown allows at most "
        f"{MAX_MARKDOWN_NESTING}: flatten the list"]


def test_markdown_reference_links_that_multiply(tmp_path):
    source = "[a]: https://example.org/" + "y" * 1000 + "\n\n" + "[a] " * 110
    text = description_file(source)
    assert _strip(refused(tmp_path, text, "reference expansion")) == [
        f"{at(text, q(source)[:30])} e1.description: uses reference links whose targets would "
        "repeat into 113,220 characters of HTML (at most 100,000); write such links fewer times, "
        "or with shorter targets"]


LEGIT = [
    "Welcome! See [the agenda](https://example.org/agenda) and `code`.\n\n" * 250,
    "".join(f"- [Speaker {i}](https://example.org/s/{i}) — *Topic* **{i}**\n" for i in range(400)),
    "Intro\n=====\n\nText.\n\n" + "Part\n----\n\nMore text with <b>bold</b> and <br> breaks.\n\n" * 200,
    "> quoted\n> > twice\n\n" * 600,
    "".join("  " * (i % 10) + "- level\n" for i in range(1_500)),
    "A [stray bracket and a stray `backtick and a < sign.\n\n" * 300,
    "[ref]: https://example.org/r\n\n" + "See [ref] and [text][ref].\n" * 500,
]


@pytest.mark.parametrize("source", LEGIT, ids=["links", "list", "headings", "quotes", "nested",
                                               "strays", "references"])
def test_real_descriptions_are_accepted_and_render_quickly(tmp_path, source):
    source = source[:19_900]
    assert markdown_problem(source) is None
    data = accepted(tmp_path, description_file(source), f"legit markdown {len(source)}")
    render_markdown.cache_clear()
    started = time.process_time()
    render_markdown(data.events[0].description)
    assert time.process_time() - started < 0.5


#: Pieces of Markdown, HTML and text that the costly inputs above are made of.
PIECES = ["[", "]", "(", ")", "![", "](", "`", "``", "<", ">", "<a ", "<b>", "</b>", "<!--", "-->",
          "<![CDATA[", "]]>", "*", "**", "_", "\\", "\n", "\n\n", "word ", " ", "    ", "- ",
          "1. ", "> ", "#", "=", "---", "&#;", "&amp;", "'", '"', "[a]: https://e.org/x\n",
          "[a]", "\n=\n", "\n-\n", "<a@b.c>", "<https://e.org>", "  \n"]


def random_markdown(seed: int, size: int = 19_000) -> str:
    """Repetitive, random or sparse mixtures of ``PIECES`` (the fuzzing behind the costs in
    ``markdown_problem`` ran 13,000 of these; these seeds keep a sample of them in the suite)."""
    import random
    rng = random.Random(seed)
    mode = seed % 3
    if mode == 0:
        unit = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 4)))
        text = unit * (size // len(unit) + 1)
    elif mode == 1:
        text = "".join(rng.choice(PIECES) for _ in range(size // 2))
    else:
        parts = []
        while sum(map(len, parts)) < size:
            parts.append(rng.choice(["lorem ", "ipsum ", "\n", "\n\n", *PIECES]))
            if rng.random() < 0.02:
                parts.append(rng.choice(PIECES) * rng.randint(2, 200))
        text = "".join(parts)
    return text[:size]


@pytest.mark.parametrize("seed", range(60))
def test_random_markdown_is_refused_or_renders_in_time(seed):
    """Whatever ``markdown_problem`` accepts converts in well under a second (the budget of
    ``MAX_MARKDOWN_WORK`` is about 0.12 s; Python-Markdown's linear cost is about 10 µs a
    character, 0.2 s at this size); what it refuses was the slow kind."""
    source = random_markdown(seed)
    started = time.process_time()
    problem = markdown_problem(source)
    checked = time.process_time() - started
    assert checked < 0.05, f"the check itself took {checked:.3f} s"
    if problem is None:
        render_markdown.cache_clear()
        started = time.process_time()
        render_markdown(source)
        took = time.process_time() - started
        MEASURED.append({"input": f"random Markdown {seed}", "bytes": len(source.encode()),
                         "seconds": round(took, 4), "memory_mb": 0, "accepted": True,
                         "render": True})
        assert took < 0.6, f"seed {seed}: {took:.2f} s"


def test_render_survives_what_the_loader_refuses():
    """``render_markdown`` is also called on text no loader checked (a state file, a test):
    such a text is shown plain, and a converter failure does not break the next render."""
    render_markdown.cache_clear()
    started = time.process_time()
    rich = render_markdown("[" * 20_000)
    assert time.process_time() - started < 0.5 and rich.text == "[" * 20_000
    assert render_markdown("1. " * 2_000 + "x").html.startswith("<p>1. 1. ")
    assert render_markdown("[a](https://e.org) *b*").html == (
        '<p><a href="https://e.org" rel="noopener noreferrer nofollow">a</a> <em>b</em></p>')


# ---------------------------------------------------------------------------------------------
# Files that are not regular files: refused at once, never read (a FIFO blocked forever)


def _load_in_a_thread(path: Path) -> list[str]:
    result: list = []

    def run() -> None:
        try:
            load_events(path)
        except EventsFileError as exc:
            result.extend(str(p) for p in exc.problems)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), f"loading {path} blocked"
    return result


NOT_REGULAR = "not a regular file; give the path of the events file itself (it is read only " \
              "when it is a regular file)"


def test_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "events.yaml"
    os.mkfifo(path)
    assert _load_in_a_thread(path) == [f"{path}: file: is a named pipe (FIFO), {NOT_REGULAR}"]


def test_symlink_to_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "events.yaml").symlink_to(tmp_path / "pipe")
    path = tmp_path / "events.yaml"
    assert _load_in_a_thread(path) == [f"{path}: file: is a named pipe (FIFO), {NOT_REGULAR}"]


def test_socket_is_refused(tmp_path):
    path = tmp_path / "events.yaml"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert _load_in_a_thread(path) == [f"{path}: file: is a socket, {NOT_REGULAR}"]
    finally:
        server.close()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    assert _load_in_a_thread(Path(device)) == [f"{device}: file: is a character device, "
                                               f"{NOT_REGULAR}"]


def test_directory_is_still_a_directory(tmp_path):
    assert _load_in_a_thread(tmp_path) == [f"{tmp_path}: file: is a directory, not a YAML file"]


def test_check_and_build_on_a_fifo_exit_1(tmp_path):
    """``icalpub check`` and ``icalpub build`` as real processes: they used to wait forever."""
    import subprocess
    import sys
    path = tmp_path / "events.yaml"
    os.mkfifo(path)
    for command in (["check", str(path)], ["build", "--events", str(path),
                                           "--out", str(tmp_path / "out")]):
        result = subprocess.run([sys.executable, "-m", "icalpub.cli", *command],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, result
        assert f"{path}: file: is a named pipe (FIFO), {NOT_REGULAR}" in result.stderr
        assert "Traceback" not in result.stderr
