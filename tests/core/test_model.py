"""What a valid file turns into: resolved, zone-aware times and normalised values."""

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalpub.load import load_events

FIXTURES = Path(__file__).parent.parent / "fixtures"
UTC = ZoneInfo("UTC")


def events():
    return {e.id: e for e in load_events(FIXTURES / "minimal.yaml").events}


def test_timed_event_is_aware_in_its_zone():
    e = events()["winter-webinar"]
    assert e.start == datetime(2021, 1, 19, 13, tzinfo=UTC)
    assert e.end == datetime(2021, 1, 19, 15, tzinfo=UTC)
    assert str(e.start.tzinfo) == "Europe/Brussels"
    assert e.agenda == ("Welcome – Alice, ACME", "Panel – Bob, River")
    assert e.contacts == ("Alice +32 2 123 45 67",)
    assert e.description == "First paragraph.\n\nSecond paragraph."


def test_duration_forms():
    e = events()["summer-workshop"]
    assert e.end - e.start == timedelta(hours=1, minutes=30)
    assert e.start.utcoffset() == timedelta(hours=2)  # CEST in July


def test_all_day_end_is_inclusive_in_yaml_and_exclusive_in_model():
    e = events()["summer-school"]
    assert (e.start, e.end, e.last_day) == (date(2021, 7, 5), date(2021, 7, 7), date(2021, 7, 6))
    assert e.all_day


def test_recurrence_is_normalised_and_spans_the_series():
    e = events()["weekly-call"]
    assert e.recurrence == "FREQ=WEEKLY;COUNT=6"
    assert e.exclude == (datetime(2021, 3, 16, 10, tzinfo=ZoneInfo("Europe/Brussels")),)
    assert e.span_end == date(2021, 4, 6)


def test_until_is_rewritten_to_utc_for_timed_events(tmp_path):
    path = tmp_path / "e.yaml"
    path.write_text("calendar: {name: T, base_url: 'https://e.org', timezone: Europe/Brussels}\n"
                    "events:\n- {id: a, title: A, start: '2021-01-05 10:00', duration: PT1H,"
                    " recurrence: 'rrule:freq=weekly;until=20210126'}\n"
                    "- {id: b, title: B, start: '2021-01-05 10:00', duration: PT1H,"
                    " recurrence: FREQ=DAILY}\n")
    a, b = load_events(path).events
    assert a.recurrence == "FREQ=WEEKLY;UNTIL=20210126T225959Z"
    assert a.span_end == date(2021, 1, 26)
    assert b.span_end is None  # never ends


def test_utc_zone_and_updated():
    e = events()["utc-briefing"]
    assert e.timezone == "UTC"
    assert e.updated == datetime(2021, 5, 20, 8, tzinfo=UTC)


def test_base_url_override_from_environment(monkeypatch):
    """Links follow the address a site is served at; UIDs stay those of the file's own
    base_url, so subscribers' calendars keep their events."""
    monkeypatch.setenv("ICALPUB_BASE_URL", "https://other.example/cal/")
    data = load_events(FIXTURES / "minimal.yaml")
    assert data.calendar.base_url == "https://other.example/cal"
    assert data.calendar.host == "events.example.org"


def test_uid_domain_names_the_uids(tmp_path):
    text = (FIXTURES / "minimal.yaml").read_text()
    assert "base_url: https://events.example.org" in text
    path = tmp_path / "events.yaml"
    path.write_text(text.replace("base_url: https://events.example.org",
                                 "base_url: https://new-host.example\n  uid_domain: events.example.org"))
    assert load_events(path).calendar.host == "events.example.org"


def test_single_line_text_is_normalised():
    e = {e.id: e for e in load_events(FIXTURES / "injection.yaml").events}["injection"]
    assert e.title == "Title, with; specials \\ and BEGIN:VEVENT UID:injected"
    assert "\r" not in e.description


def test_event_inputs_are_what_an_event_shows():
    """``EventsData.inputs``: the event with its calendar, organisers and topics as its outputs
    show them. Fields no event shows (the calendar's description, a topic's description) do not
    change them; a name that an event shows does; moving the event in the file does not."""
    from dataclasses import replace

    data = load_events(FIXTURES / "minimal.yaml")
    event = next(e for e in data.events if e.id == "winter-webinar")
    inputs = data.inputs(event)
    assert inputs.event is event
    assert [o.slug for o in inputs.organisers] == list(dict.fromkeys(event.organisers))
    assert [t.slug for t in inputs.topics] == list(event.topics)
    assert inputs.calendar.description == "" and inputs.calendar.name == data.calendar.name

    hidden = replace(data, calendar=replace(data.calendar, description="Other words.",
                                            refresh=timedelta(hours=1)),
                     topics={slug: replace(t, description="Shown on its own page.")
                             for slug, t in data.topics.items()})
    assert hidden.inputs(event) == inputs and hash(hidden.inputs(event)) == hash(inputs)

    moved = replace(event, line=event.line + 10)
    assert data.inputs(moved) == inputs

    first = event.organisers[0]
    renamed = replace(data, organisers={**data.organisers,
                                        first: replace(data.organisers[first], name="Renamed")})
    assert renamed.inputs(event) != inputs
    assert renamed.inputs(event).organisers[0].name == "Renamed"
    assert replace(data, calendar=replace(data.calendar, name="Other")).inputs(event) != inputs
    other = next(e for e in data.events if first not in e.organisers)
    assert renamed.inputs(other) == data.inputs(other)
