"""``recurrence.check_wall_times`` finds the first occurrence of a series that falls in a
skipped or repeated hour or spans a change of offset, exactly as a check of every occurrence
with zoneinfo would: its shortcut (only days next to a change are looked at) misses nothing.
The messages themselves are pinned in tests/bad_inputs/rrule_occurrence_*.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from icalpub.load.recurrence import check_wall_times, parse_rule
from icalpub.load.yamlfile import Invalid

ZONES = ["Europe/Brussels", "America/New_York", "Australia/Lord_Howe", "Asia/Gaza",
         "Africa/Casablanca", "Pacific/Chatham", "America/Santiago", "Asia/Tehran"]


def first_problem(rule, zone: str, length: timedelta) -> datetime | None:
    """Every occurrence, the slow way."""
    tz = ZoneInfo(zone)
    for occurrence in rule:
        offsets = {occurrence.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)}
        end = occurrence + length
        offsets |= {end.replace(tzinfo=tz, fold=f).utcoffset() for f in (0, 1)}
        if len(offsets) > 1:
            return occurrence
    return None


@settings(max_examples=300, deadline=None)
@given(zone=st.sampled_from(ZONES),
       day=st.dates(min_value=datetime(2018, 1, 1).date(), max_value=datetime(2030, 12, 31).date()),
       minutes=st.integers(0, 24 * 60 - 1).map(lambda m: m - m % 15),
       rule=st.sampled_from(["FREQ=DAILY;COUNT=60", "FREQ=WEEKLY;COUNT=40",
                             "FREQ=MONTHLY;BYDAY=-1SU;COUNT=24", "FREQ=YEARLY;COUNT=8",
                             "FREQ=WEEKLY;BYDAY=FR,SA,SU;COUNT=60"]),
       length=st.sampled_from([timedelta(minutes=30), timedelta(hours=2), timedelta(hours=9),
                               timedelta(days=2, hours=15)]))
def test_the_shortcut_misses_nothing(zone, day, minutes, rule, length):
    start = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minutes)
    try:
        _text, expanded = parse_rule(rule, start, zone)
    except Invalid:
        return  # `start` is not an occurrence of this rule
    want = first_problem(expanded, zone, length)
    try:
        check_wall_times(expanded, zone, length)
    except Invalid as exc:
        assert want is not None and f"{want:%Y-%m-%d %H:%M}" in exc.message, (want, exc.message)
    else:
        assert want is None, f"missed {want}"
