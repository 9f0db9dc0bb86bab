// Read calendar files with two JavaScript parsers and print every event's occurrences as JSON.
//
//   node parse.mjs UNTIL MAX FILE...   (run with TZ=UTC; test_conformance.py does)
//   WINDOW_YEARS=N: node-ical is asked for N years at a time (default 1)
//
// Output: {"ical.js": {FILE: RESULT}, "node-ical": {FILE: RESULT}}, where RESULT is
// {"events": {UID: [[START, END], ...]}} or {"error": MESSAGE}. Timed instants are UTC
// ("2021-01-19T13:00:00Z"), all-day ones dates ("2021-07-05"). Occurrences that start before
// UNTIL (an ISO instant) are listed, at most MAX per event.
//
// ical.js is Mozilla's parser (Thunderbird's calendar): it converts wall times with the
// VTIMEZONE found in the file (Component.getTimeZoneByID), so it checks our VTIMEZONEs.
// node-ical (used by MagicMirror, Home Assistant add-ons, n8n, ...) maps the TZID to the
// runtime's IANA data (Intl) and expands RRULEs with rrule-temporal.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import ICAL from 'ical.js';

const require = createRequire(import.meta.url);
const nodeIcal = require('node-ical');

const [until, max, ...files] = process.argv.slice(2);
const UNTIL = new Date(until);
const MAX = Number(max);
const WINDOW_YEARS = Number(process.env.WINDOW_YEARS || 1);

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

function isoInstant(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function icalTime(time) {
  if (time.isDate) return `${pad(time.year, 4)}-${pad(time.month)}-${pad(time.day)}`;
  return isoInstant(time.toJSDate());
}

function withIcalJs(text) {
  ICAL.TimezoneService.reset();  // each file is read fresh, with its own VTIMEZONEs
  const root = new ICAL.Component(ICAL.parse(text));
  const events = {};
  // A VEVENT with a RECURRENCE-ID moves one occurrence of its series. ical.js's Event, left
  // to itself, relates every such VEVENT of the calendar to every series, whatever its UID
  // (Event's constructor): each series is given its own, by UID.
  const vevents = root.getAllSubcomponents('vevent');
  const exceptionsOf = new Map();
  for (const vevent of vevents) {
    if (!vevent.hasProperty('recurrence-id')) continue;
    const uid = vevent.getFirstPropertyValue('uid');
    exceptionsOf.set(uid, [...(exceptionsOf.get(uid) || []), vevent]);
  }
  const masters = vevents.filter((vevent) => !vevent.hasProperty('recurrence-id')).map(
    (vevent) => new ICAL.Event(vevent, {
      exceptions: exceptionsOf.get(vevent.getFirstPropertyValue('uid')) || [],
    }));
  for (const event of masters) {
    if (!event.isRecurring()) {  // what a client shows: DTSTART and DTEND as written
      events[event.uid] = [[icalTime(event.startDate), icalTime(event.endDate)]];
      continue;
    }
    const occurrences = [];
    const iterator = event.iterator();
    for (let next = iterator.next(); next; next = iterator.next()) {
      const details = event.getOccurrenceDetails(next);
      if (!next.isDate && next.toJSDate() >= UNTIL) break;
      if (next.isDate && icalTime(next) >= until.slice(0, 10)) break;
      occurrences.push([icalTime(details.startDate), icalTime(details.endDate)]);
      if (occurrences.length >= MAX) break;
    }
    // a moved occurrence keeps its place in the series: order them by start, as others do
    occurrences.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    events[event.uid] = occurrences;
  }
  return events;
}

function nodeIcalValue(date, allDay) {
  if (allDay) {
    // A date-only value is local midnight of the process (TZ=UTC here).
    return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
  }
  return isoInstant(date);
}

function withNodeIcal(text) {
  const parsed = nodeIcal.sync.parseICS(text);
  const events = {};
  for (const item of Object.values(parsed)) {
    if (!item || item.type !== 'VEVENT') continue;
    const allDay = Boolean(item.start && item.start.dateOnly);
    // Expanded a year at a time (WINDOW_YEARS): rrule-temporal stops with "Maximum
    // iterations (10000)" for a range holding more occurrences than that (a daily series
    // over 30 years).
    const occurrences = [];
    let from = new Date(Date.UTC(1900, 0, 1));
    while (from < UNTIL && occurrences.length < MAX) {
      const next = item.rrule
        ? Date.UTC(Math.max(from.getUTCFullYear(), item.start.getUTCFullYear() - 1) + WINDOW_YEARS, 0, 1)
        : UNTIL.getTime();
      const to = new Date(Math.min(next, UNTIL.getTime()));
      const instances = nodeIcal.expandRecurringEvent(item, { from, to });
      for (const instance of instances) {
        // a range is inclusive at both ends: an occurrence at `to` belongs to the next one
        if (instance.start < from || instance.start >= to) continue;
        occurrences.push([nodeIcalValue(instance.start, allDay), nodeIcalValue(instance.end, allDay)]);
        if (occurrences.length >= MAX) break;
      }
      from = to;
    }
    events[item.uid] = occurrences;
  }
  return events;
}

const result = { 'ical.js': {}, 'node-ical': {} };
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  for (const [name, parse] of [['ical.js', withIcalJs], ['node-ical', withNodeIcal]]) {
    try {
      result[name][file] = { events: parse(text) };
    } catch (error) {
      result[name][file] = { error: String(error && error.stack || error) };
    }
  }
}
process.stdout.write(JSON.stringify(result));
