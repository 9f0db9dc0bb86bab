"""Markdown descriptions in the calendar output: DESCRIPTION is plain text, X-ALT-DESC is
sanitised HTML with FMTTYPE=text/html, and a <script> never reaches either."""

import re

import icalendar

from parsers import parse_all


def unescape_text(value: str) -> str:
    """RFC 5545 §3.3.11 TEXT unescaping (icalendar leaves unknown X- properties raw)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def vevent(site, event_id):
    cal = icalendar.Calendar.from_ical(site.get(f"events/{event_id}.ics").body)
    return cal.walk("VEVENT")[0]


def test_description_is_clean_text(rich_site):
    ev = vevent(rich_site, "markdown-webinar")
    text = str(ev["DESCRIPTION"])
    assert text.startswith("The manufacture of electronics needs minerals "
                           "(https://example.org/minerals?a=1&b=2).\n\n• first point\n"
                           "• second point with emphasis")
    assert "**" not in text and "](" not in text
    assert "Agenda:\n• Welcome – Alice, ACME" in text


def test_alt_desc_is_html_with_fmttype(rich_site):
    ev = vevent(rich_site, "markdown-webinar")
    alt = ev["X-ALT-DESC"]
    assert alt.params["FMTTYPE"] == "text/html"
    html = unescape_text(alt.to_ical().decode())
    assert html.startswith("<html><body><p>The <strong>manufacture</strong>")
    assert '<a href="https://example.org/minerals?a=1&amp;b=2"' in html
    assert "<li>first point</li>" in html
    assert "<li>Welcome – Alice, ACME</li>" in html
    assert 'href="https://acme.example/register?id=1&amp;lang=en"' in html


def test_script_never_reaches_a_calendar(rich_site):
    for path, resource in rich_site.resources.items():
        if path.endswith((".ics", ".json")):
            body = resource.body.decode()
            for bad in ("<script", "alert(", "onerror", "javascript:"):
                assert bad not in body, (path, bad)


def test_every_parser_reads_the_markdown_event(rich_site):
    parsed = parse_all(rich_site.get("events/markdown-webinar.ics").body)
    descriptions = {name: events["markdown-webinar@events.example.org"].description
                    for name, events in parsed.items()}
    assert len(set(descriptions.values())) == 1, descriptions


def test_event_without_description_has_no_alt_desc(rich_site):
    ev = vevent(rich_site, "weekly-call")
    assert "DESCRIPTION" not in ev and "X-ALT-DESC" not in ev
