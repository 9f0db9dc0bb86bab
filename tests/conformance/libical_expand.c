/* Read calendar files with libical (Evolution, KDE's KCalendarCore via libical's rules, many
 * CalDAV servers) and print, as JSON, every event's occurrences and the problems libical finds.
 *
 *   libical_expand UNTIL MAX FILE...      UNTIL: a Unix time; MAX: occurrences per event
 *
 * Output: {FILE: {"errors": [...], "events": {UID: [[START, END], ...]}}, ...}. Timed instants
 * are UTC ("2021-01-19T13:00:00Z"), all-day ones dates ("2021-07-05").
 *
 * "errors" are the X-LIC-ERROR properties libical's parser adds for anything it could not read,
 * plus those icalrestriction_check() adds: the RFC 5546 (iTIP) table of which properties a
 * component may or must carry under the calendar's METHOD, the check Evolution applies to
 * what it imports.
 *
 * Occurrences come from icalcomponent_foreach_recurrence(), libical's own expansion (RRULE,
 * RDATE, EXDATE, duration). Wall times are converted with the VTIMEZONE of the same file
 * (DTSTART's TZID is looked up with icalcomponent_get_timezone() in the VCALENDAR), so this
 * checks our VTIMEZONEs, not libical's built-in zone data.
 *
 * Compiled by test_conformance.py with: gcc libical_expand.c $(pkg-config --cflags --libs libical)
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long max_per_event;
static time_t until;

static void json_string(const char *s) {
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc(size + 1);
    if (fread(text, 1, size, f) != (size_t)size) { fclose(f); free(text); return NULL; }
    text[size] = '\0';
    fclose(f);
    return text;
}

/* A VEVENT with a RECURRENCE-ID: the occurrence of its series starting at `rid` moves to
 * [start, end). libical expands each component alone (icalcomponent_foreach_recurrence), so
 * the series' expansion looks its occurrences up here, as a client does. */
struct override {
    const char *uid;
    time_t rid, start, end;
};

struct occurrences {
    int all_day;
    long count;
    int first;
    const char *uid;
    struct override *overrides;
    int n_overrides;
};

static time_t instant(struct icaltimetype t) {
    /* a date is its midnight in UTC, as icalcomponent_foreach_recurrence's spans have it */
    if (t.is_date || t.zone == NULL) return icaltime_as_timet_with_zone(t, icaltimezone_get_utc_timezone());
    return icaltime_as_timet_with_zone(t, t.zone);
}

static void print_instant(time_t t, int all_day) {
    struct tm tm;
    gmtime_r(&t, &tm);
    if (all_day) printf("\"%04d-%02d-%02d\"", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    else printf("\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void on_occurrence(icalcomponent *comp, struct icaltime_span *span, void *data) {
    (void)comp;
    struct occurrences *occ = data;
    if (occ->count >= max_per_event || (!occ->all_day && span->start >= until)) return;
    if (occ->all_day && span->start >= until) return;
    time_t start = span->start, end = span->end;
    for (int i = 0; i < occ->n_overrides; i++) {
        if (strcmp(occ->overrides[i].uid, occ->uid) == 0 && occ->overrides[i].rid == start) {
            start = occ->overrides[i].start;
            end = occ->overrides[i].end;
        }
    }
    printf("%s[", occ->first ? "" : ",");
    print_instant(start, occ->all_day);
    putchar(',');
    print_instant(end, occ->all_day);
    putchar(']');
    occ->first = 0;
    occ->count++;
}

/* Every X-LIC-ERROR under comp, as JSON strings (comma-separated after the first). */
static void print_errors(icalcomponent *comp, int *first) {
    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        if (!*first) putchar(',');
        *first = 0;
        char where[200];
        snprintf(where, sizeof where, "%s: ", icalcomponent_kind_to_string(icalcomponent_isa(comp)));
        char *message = malloc(strlen(where) + strlen(icalproperty_get_xlicerror(p)) + 1);
        strcpy(message, where);
        strcat(message, icalproperty_get_xlicerror(p));
        json_string(message);
        free(message);
    }
    for (icalcomponent *c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        print_errors(c, first);
}

static void one_file(const char *path) {
    json_string(path);
    printf(":{");
    char *text = read_file(path);
    icalcomponent *cal = text ? icalparser_parse_string(text) : NULL;
    free(text);
    if (!cal) {
        printf("\"errors\":[\"not parsed: %s\"],\"events\":{}}", icalerror_strerror(icalerrno));
        return;
    }
    icalrestriction_check(cal);
    printf("\"errors\":[");
    int first = 1;
    print_errors(cal, &first);
    printf("],\"events\":{");
    struct icaltimetype from = icaltime_from_timet_with_zone(0, 0, icaltimezone_get_utc_timezone());
    from.year = 1900;
    struct icaltimetype to = icaltime_from_timet_with_zone(until, 0, icaltimezone_get_utc_timezone());
    int n_overrides = 0, first_event = 1;
    struct override *overrides = NULL;
    for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        if (icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY) == NULL) continue;
        overrides = realloc(overrides, (n_overrides + 1) * sizeof *overrides);
        struct icaltimetype end = icalcomponent_get_dtend(ev);
        /* icalcomponent_get_recurrenceid() leaves out the zone: attach its TZID's VTIMEZONE */
        icalproperty *rid_prop = icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY);
        struct icaltimetype rid = icalproperty_get_recurrenceid(rid_prop);
        icalparameter *tzid = icalproperty_get_first_parameter(rid_prop, ICAL_TZID_PARAMETER);
        if (tzid && !rid.is_date)
            rid = icaltime_set_timezone(&rid, icalcomponent_get_timezone(cal, icalparameter_get_tzid(tzid)));
        overrides[n_overrides++] = (struct override){
            icalcomponent_get_uid(ev), instant(rid),
            instant(icalcomponent_get_dtstart(ev)),
            icaltime_is_null_time(end) ? instant(icalcomponent_get_dtstart(ev)) : instant(end)};
    }
    for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        if (icalcomponent_get_first_property(ev, ICAL_RECURRENCEID_PROPERTY) != NULL) continue;
        struct occurrences occ = {icalcomponent_get_dtstart(ev).is_date, 0, 1,
                                  icalcomponent_get_uid(ev), overrides, n_overrides};
        printf("%s", first_event ? "" : ",");
        first_event = 0;
        json_string(icalcomponent_get_uid(ev));
        printf(":[");
        icalcomponent_foreach_recurrence(ev, from, to, on_occurrence, &occ);
        putchar(']');
    }
    printf("}}");
    free(overrides);
    icalcomponent_free(cal);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s UNTIL MAX FILE...\n", argv[0]);
        return 2;
    }
    until = (time_t)atoll(argv[1]);
    max_per_event = atol(argv[2]);
    putchar('{');
    for (int i = 3; i < argc; i++) {
        if (i > 3) putchar(',');
        one_file(argv[i]);
    }
    printf("}\n");
    return 0;
}
