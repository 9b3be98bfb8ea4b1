/* calendar: working days from yearly files; local days at a fixed UTC offset, or in a zone of the
 * tz database read through the C library (localtime_r with TZ set to the zone), daylight saving
 * included. */
#include "calendar.h"

#include "hl_error.h"
#include "pbjson.h"
#include "slog.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL
#define MAX_YEARS 64
#define MAX_SPAN_DAYS 3650

extern const char *const calendar_embedded[]; /* generated from data/calendar */

typedef struct year {
    int year;
    int64_t *holidays; /* sorted day numbers */
    size_t nholidays;
    int64_t *workdays; /* sorted day numbers (weekend days that are worked) */
    size_t nworkdays;
} year_t;

struct calendar {
    int offset_min;        /* the centre's fixed UTC offset (no zone), or the zone's at load */
    char zone[CALENDAR_ZONE_MAX + 1]; /* "" = the fixed offset */
    year_t years[MAX_YEARS];
    size_t nyears;
};

/* ---- civil dates (proleptic Gregorian), after H. Hinnant's days_from_civil ---- */

int64_t calendar_day_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void calendar_ymd_from_day(int64_t day, int *y, int *m, int *d)
{
    day += 719468;
    int64_t era = (day >= 0 ? day : day - 146096) / 146097;
    int64_t doe = day - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int calendar_weekday(int64_t day)
{
    int64_t w = (day + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

/* ---- dates and months as written ---- */

/* n digits at text, then NUL or sep; *out their value. */
static bool digits_then(const char *text, int n, char sep, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return text[n] == sep;
}

static int days_in_month(int y, int m)
{
    return (int)(m == 12 ? calendar_day_from_ymd(y + 1, 1, 1) - calendar_day_from_ymd(y, 12, 1)
                         : calendar_day_from_ymd(y, m + 1, 1) - calendar_day_from_ymd(y, m, 1));
}

/* The year and month of "YYYY-MM" followed by tail; the reason in why when they are not. */
static int year_month(const char *text, char tail, const char *shape, int *y, int *m, char *why,
                      size_t why_size)
{
    if (!digits_then(text, 4, '-', y) || !digits_then(text + 5, 2, tail, m)) {
        snprintf(why, why_size, "\"%.40s\" is not a %s", text, shape);
        return HL_EINVAL;
    }
    if (*y < 1970) {
        snprintf(why, why_size, "\"%s\": the year must be 1970 or later", text);
        return HL_EINVAL;
    }
    if (*m < 1 || *m > 12) {
        snprintf(why, why_size, "\"%s\": month %d is outside 01..12", text, *m);
        return HL_EINVAL;
    }
    return 0;
}

int calendar_date_parse(const char *text, int64_t *day, char *why, size_t why_size)
{
    int y, m, d;
    int rc = year_month(text, '-', "date: write YYYY-MM-DD, e.g. 2026-11-25", &y, &m, why,
                        why_size);
    if (rc)
        return rc;
    if (!digits_then(text + 8, 2, '\0', &d)) {
        snprintf(why, why_size, "\"%.40s\" is not a date: write YYYY-MM-DD, e.g. 2026-11-25",
                 text);
        return HL_EINVAL;
    }
    if (d < 1 || d > days_in_month(y, m)) {
        snprintf(why, why_size, "\"%s\": day %d is outside 01..%02d for that month", text, d,
                 days_in_month(y, m));
        return HL_EINVAL;
    }
    *day = calendar_day_from_ymd(y, m, d);
    return 0;
}

int calendar_month_parse(const char *text, int64_t *first_day, int *ndays, char *why,
                         size_t why_size)
{
    int y, m;
    int rc = year_month(text, '\0', "month: write YYYY-MM, e.g. 2026-11", &y, &m, why,
                        why_size);
    if (rc)
        return rc;
    *first_day = calendar_day_from_ymd(y, m, 1);
    *ndays = days_in_month(y, m);
    return 0;
}

void calendar_date_format(int64_t day, char *out, size_t out_size)
{
    int y, m, d;
    calendar_ymd_from_day(day, &y, &m, &d);
    snprintf(out, out_size, "%04d-%02d-%02d", y, m, d);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- the zone ---- */

/* The zone the C library has loaded through TZ; one per process in a service, switched (and
 * read again) only when calendars of several zones share a process (tests). Loop thread. */
static char tz_loaded[CALENDAR_ZONE_MAX + 2];

/* The zone's UTC offset at an instant, in seconds. */
static long zone_offset_s(const char *zone, int64_t utc_ms)
{
    if (strcmp(tz_loaded + 1, zone) != 0) {
        char spec[CALENDAR_ZONE_MAX + 2];
        snprintf(spec, sizeof spec, ":%s", zone); /* ":" = a file of the tz database */
        setenv("TZ", spec, 1);
        tzset();
        snprintf(tz_loaded, sizeof tz_loaded, "%s", spec);
    }
    time_t t = (time_t)floor_div(utc_ms, 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return 0;
    return tm.tm_gmtoff;
}

/* The centre's offset from UTC at an instant, in ms. */
static int64_t offset_ms_at(const calendar_t *self, int64_t utc_ms)
{
    if (!self->zone[0])
        return (int64_t)self->offset_min * 60000;
    return (int64_t)zone_offset_s(self->zone, utc_ms) * 1000;
}

int64_t calendar_local_day(const calendar_t *self, int64_t utc_ms)
{
    return floor_div(utc_ms + offset_ms_at(self, utc_ms), DAY_MS);
}

int64_t calendar_day_start_ms(const calendar_t *self, int64_t day)
{
    int64_t midnight = day * DAY_MS; /* local midnight read as UTC */
    if (!self->zone[0])
        return midnight - (int64_t)self->offset_min * 60000;
    /* The day starts at the first instant whose local day is day. Its offset is the one in
     * force a little before or a little after local midnight (the two differ only when a
     * change falls near midnight; where midnight itself is skipped, the day starts at the
     * change). */
    int64_t best = INT64_MAX;
    const int64_t probes[2] = {midnight - 14 * 3600000LL, midnight + 14 * 3600000LL};
    for (int i = 0; i < 2; i++) {
        int64_t t = midnight - offset_ms_at(self, probes[i]);
        if (calendar_local_day(self, t) != day) {
            /* midnight skipped: the change itself, within the hour after t */
            int64_t lo = t, hi = t + 3 * 3600000LL;
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (calendar_local_day(self, mid) >= day)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            t = lo;
        }
        if (calendar_local_day(self, t) == day && calendar_local_day(self, t - 1) < day &&
            t < best)
            best = t;
    }
    return best != INT64_MAX ? best : midnight - offset_ms_at(self, midnight);
}

int64_t calendar_day_end_ms(const calendar_t *self, int64_t day)
{
    return calendar_day_start_ms(self, day + 1) - 1;
}

int calendar_offset_minutes(const calendar_t *self)
{
    return self->offset_min;
}

const char *calendar_zone(const calendar_t *self)
{
    return self->zone;
}

/* A tz database name: letters, digits and "/_+-", no "..", not absolute, and a TZif file
 * under TZDIR (default /usr/share/zoneinfo): the C library would take anything else as UTC
 * without a word. */
static int check_zone(const char *zone, char *err, size_t err_size)
{
    size_t n = strlen(zone);
    bool ok = n > 0 && n <= CALENDAR_ZONE_MAX && zone[0] != '/' && !strstr(zone, "..");
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)zone[i]) || strchr("/_+-", zone[i]);
    if (!ok) {
        snprintf(err, err_size, "calendar.zone: \"%.64s\" is not a tz database name (1 to %d "
                 "letters, digits and / _ + -, e.g. Asia/Shanghai)", zone, CALENDAR_ZONE_MAX);
        return HL_EINVAL;
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    bool tzif = f && fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    if (f)
        fclose(f);
    if (!tzif) {
        snprintf(err, err_size, "calendar.zone: \"%s\" is not in the tz database (%s is %s): "
                 "give a name such as Asia/Shanghai or Europe/Berlin, or install tzdata", zone,
                 path, f ? "not a TZif file" : "missing");
        return HL_EINVAL;
    }
    return 0;
}

/* ---- year files ---- */

static const year_t *find_year(const calendar_t *self, int year)
{
    for (size_t i = 0; i < self->nyears; i++)
        if (self->years[i].year == year)
            return &self->years[i];
    return NULL;
}

bool calendar_has_year(const calendar_t *self, int year)
{
    return find_year(self, year) != NULL;
}

static bool contains(const int64_t *days, size_t n, int64_t day)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (days[mid] == day)
            return true;
        if (days[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool calendar_is_working_day(const calendar_t *self, int64_t day)
{
    int y, m, d;
    calendar_ymd_from_day(day, &y, &m, &d);
    int wd = calendar_weekday(day);
    bool weekend = wd == 0 || wd == 6;
    const year_t *yr = find_year(self, y);
    if (!yr)
        return !weekend;
    if (weekend)
        return contains(yr->workdays, yr->nworkdays, day);
    return !contains(yr->holidays, yr->nholidays, day);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* "YYYY-MM-DD" of the given year into a day number. */
static int parse_date(const char *text, int year, int64_t *day)
{
    int y, m, d;
    char tail;
    if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || strlen(text) != 10)
        return HL_EINVAL;
    if (y != year || m < 1 || m > 12 || d < 1 || d > 31)
        return HL_EINVAL;
    *day = calendar_day_from_ymd(y, m, d);
    int cy, cm, cd;
    calendar_ymd_from_day(*day, &cy, &cm, &cd);
    return cy == y && cm == m && cd == d ? 0 : HL_EINVAL; /* rejects 2026-02-30 */
}

static int load_days(const char *origin, const char *field, char **texts, size_t n, int year,
                     int64_t **out, char *err, size_t err_size)
{
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return HL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (parse_date(texts[i], year, &(*out)[i])) {
            snprintf(err, err_size, "%s: %s[%zu]: \"%.40s\" is not a date YYYY-MM-DD in %d",
                     origin, field, i, texts[i], year);
            return HL_EINVAL;
        }
    }
    qsort(*out, n, sizeof **out, cmp_i64);
    return 0;
}

static void year_free(year_t *y)
{
    free(y->holidays);
    free(y->workdays);
    memset(y, 0, sizeof *y);
}

/* Parse one year file's JSON and put it in the calendar (replacing the same year). */
static int add_year(calendar_t *self, const char *origin, const char *json, size_t len,
                    char *err, size_t err_size)
{
    ProtobufCMessage *msg;
    pbjson_error_t perr;
    if (pbjson_decode(&hotline__calendar_year__descriptor, json, len, NULL, &msg, &perr)) {
        snprintf(err, err_size, "%s: %s%s%s", origin, perr.field, *perr.field ? ": " : "",
                 perr.message);
        return HL_EINVAL;
    }
    Hotline__CalendarYear *cy = (Hotline__CalendarYear *)msg;
    year_t y = {.year = (int)cy->year};
    int rc = 0;
    if (cy->year < 1970 || cy->year > 2200) {
        snprintf(err, err_size, "%s: year: %u is not a year from 1970 to 2200", origin,
                 cy->year);
        rc = HL_EINVAL;
    }
    if (!rc)
        rc = load_days(origin, "holidays", cy->holidays, cy->n_holidays, y.year, &y.holidays,
                       err, err_size);
    if (!rc)
        rc = load_days(origin, "workdays", cy->workdays, cy->n_workdays, y.year, &y.workdays,
                       err, err_size);
    y.nholidays = cy->n_holidays;
    y.nworkdays = cy->n_workdays;
    for (size_t i = 0; !rc && i < y.nworkdays; i++) {
        int wd = calendar_weekday(y.workdays[i]);
        if (wd != 0 && wd != 6) {
            snprintf(err, err_size, "%s: workdays[%zu]: %s is not a Saturday or Sunday; list "
                     "only weekend days that are worked (make-up days)", origin, i,
                     cy->workdays[i]);
            rc = HL_EINVAL;
        }
        if (!rc && contains(y.holidays, y.nholidays, y.workdays[i])) {
            snprintf(err, err_size, "%s: workdays[%zu]: %s is also listed as a holiday", origin,
                     i, cy->workdays[i]);
            rc = HL_EINVAL;
        }
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    if (rc) {
        year_free(&y);
        return rc;
    }
    for (size_t i = 0; i < self->nyears; i++) {
        if (self->years[i].year == y.year) {
            year_free(&self->years[i]);
            self->years[i] = y;
            return 0;
        }
    }
    if (self->nyears == MAX_YEARS) {
        snprintf(err, err_size, "%s: more than %d calendar years", origin, MAX_YEARS);
        year_free(&y);
        return HL_ETOOBIG;
    }
    self->years[self->nyears++] = y;
    return 0;
}

static int load_dir(calendar_t *self, const char *dir, char *err, size_t err_size)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, err_size, "calendar.dir: cannot open directory %s", dir);
        return HL_ENOTFOUND;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n != 9 || strcmp(e->d_name + 4, ".json") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(err, err_size, "%s: cannot read", path);
            rc = HL_EIO;
            break;
        }
        char buf[65536];
        size_t len = fread(buf, 1, sizeof buf, f);
        bool too_big = !feof(f);
        fclose(f);
        if (too_big) {
            snprintf(err, err_size, "%s: larger than %zu bytes", path, sizeof buf);
            rc = HL_ETOOBIG;
            break;
        }
        rc = add_year(self, path, buf, len, err, err_size);
    }
    closedir(d);
    return rc;
}

int calendar_load(calendar_t **out, const Hotline__CalendarConfig *cfg, char *err,
                  size_t err_size)
{
    *out = NULL; /* a failed load leaves nothing for the caller to free */
    calendar_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->offset_min = cfg && cfg->utc_offset_minutes ? cfg->utc_offset_minutes
                                                      : CALENDAR_DEFAULT_OFFSET_MIN;
    int rc = 0;
    if (cfg && cfg->utc_offset && *cfg->utc_offset) {
        /* "Z", "+08:00", "-05:30": the only way to say UTC itself (0 minutes reads as unset). */
        const char *o = cfg->utc_offset;
        int hh, mm;
        char sign, tail;
        if (strcmp(o, "Z") == 0 || strcmp(o, "z") == 0) {
            self->offset_min = 0;
        } else if (sscanf(o, "%c%2d:%2d%c", &sign, &hh, &mm, &tail) == 3 &&
                   (sign == '+' || sign == '-') && strlen(o) == 6 && mm < 60) {
            self->offset_min = (sign == '-' ? -1 : 1) * (hh * 60 + mm);
        } else {
            snprintf(err, err_size, "calendar.utcOffset: \"%.16s\" is not Z or +HH:MM / -HH:MM",
                     o);
            rc = HL_EINVAL;
        }
    }
    if (!rc && (self->offset_min < -14 * 60 || self->offset_min > 14 * 60)) {
        snprintf(err, err_size, "calendar.utcOffsetMinutes: %d is outside -840..840",
                 self->offset_min);
        rc = HL_EINVAL;
    }
    if (!rc && cfg && cfg->zone && *cfg->zone) {
        rc = check_zone(cfg->zone, err, err_size);
        if (!rc) {
            snprintf(self->zone, sizeof self->zone, "%s", cfg->zone);
            self->offset_min = (int)(zone_offset_s(self->zone, (int64_t)time(NULL) * 1000) / 60);
        }
    }
    for (size_t i = 0; !rc && calendar_embedded[i]; i++)
        rc = add_year(self, "embedded calendar", calendar_embedded[i],
                      strlen(calendar_embedded[i]), err, err_size);
    if (!rc && cfg && cfg->dir && *cfg->dir)
        rc = load_dir(self, cfg->dir, err, err_size);
    if (rc) {
        calendar_destroy(&self);
        return rc;
    }
    char years[256] = "";
    for (size_t i = 0; i < self->nyears; i++)
        snprintf(years + strlen(years), sizeof years - strlen(years), "%s%d", i ? "," : "",
                 self->years[i].year);
    SLOG_INFO("calendar_loaded", "years=%s zone=%s utc_offset_minutes=%d other_years=\"Monday-"
              "Friday, no holidays: add data/calendar/YYYY.json\"", years,
              self->zone[0] ? self->zone : "fixed", self->offset_min);
    *out = self;
    return 0;
}

void calendar_destroy(calendar_t **self)
{
    if (!self || !*self)
        return;
    for (size_t i = 0; i < (*self)->nyears; i++)
        year_free(&(*self)->years[i]);
    free(*self);
    *self = NULL;
}

/* ---- deadline arithmetic ---- */

static int check_limit(const Hotline__Limit *limit, int64_t *ms_per_unit)
{
    if (!limit || limit->value == 0)
        return HL_EINVAL;
    switch (limit->unit) {
    case HOTLINE__DURATION_UNIT__DURATION_MINUTES: *ms_per_unit = 60000; break;
    case HOTLINE__DURATION_UNIT__DURATION_HOURS: *ms_per_unit = 3600000; break;
    case HOTLINE__DURATION_UNIT__DURATION_NATURAL_DAYS: *ms_per_unit = DAY_MS; break;
    case HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS: *ms_per_unit = 0; break;
    default: return HL_EINVAL;
    }
    if ((*ms_per_unit ? (int64_t)limit->value * *ms_per_unit / DAY_MS : limit->value) >
        MAX_SPAN_DAYS)
        return HL_EINVAL;
    return 0;
}

/* Step n working days from day (exclusive) in direction dir (+1 / -1). */
static int64_t step_working_days(const calendar_t *self, int64_t day, unsigned n, int dir)
{
    for (unsigned done = 0; done < n;) {
        day += dir;
        if (calendar_is_working_day(self, day))
            done++;
    }
    return day;
}

/* A counted deadline moved to its anchor: the end of the working day it falls on (a day off
 * counts as the next working day), or the end of the working day after that. */
static int64_t anchored(const calendar_t *self, int64_t due_ms, Hotline__LimitAnchor anchor)
{
    if (anchor != HOTLINE__LIMIT_ANCHOR__ANCHOR_END_OF_SAME_WORKING_DAY &&
        anchor != HOTLINE__LIMIT_ANCHOR__ANCHOR_END_OF_NEXT_WORKING_DAY)
        return due_ms;
    int64_t day = calendar_local_day(self, due_ms);
    if (!calendar_is_working_day(self, day))
        day = step_working_days(self, day, 1, +1);
    if (anchor == HOTLINE__LIMIT_ANCHOR__ANCHOR_END_OF_NEXT_WORKING_DAY)
        day = step_working_days(self, day, 1, +1);
    return calendar_day_end_ms(self, day);
}

int calendar_add(const calendar_t *self, int64_t start_ms, const Hotline__Limit *limit,
                 int64_t *due_ms)
{
    int64_t unit_ms;
    if (check_limit(limit, &unit_ms))
        return HL_EINVAL;
    if (unit_ms) {
        *due_ms = anchored(self, start_ms + (int64_t)limit->value * unit_ms, limit->anchor);
        return 0;
    }
    int64_t day = step_working_days(self, calendar_local_day(self, start_ms), limit->value, +1);
    *due_ms = anchored(self, calendar_day_end_ms(self, day), limit->anchor);
    return 0;
}

int calendar_subtract(const calendar_t *self, int64_t due_ms, const Hotline__Limit *limit,
                      int64_t *out_ms)
{
    int64_t unit_ms;
    if (check_limit(limit, &unit_ms))
        return HL_EINVAL;
    if (unit_ms) {
        *out_ms = due_ms - (int64_t)limit->value * unit_ms;
        return 0;
    }
    int64_t day = step_working_days(self, calendar_local_day(self, due_ms), limit->value, -1);
    *out_ms = calendar_day_end_ms(self, day);
    return 0;
}

int64_t calendar_shift_working_days(const calendar_t *self, int64_t at_ms, unsigned n)
{
    if (n > MAX_SPAN_DAYS)
        n = MAX_SPAN_DAYS;
    int64_t day = calendar_local_day(self, at_ms);
    int64_t to = step_working_days(self, day, n, +1);
    if (at_ms == calendar_day_end_ms(self, day))
        return calendar_day_end_ms(self, to);
    int64_t into = at_ms - calendar_day_start_ms(self, day);
    int64_t out = calendar_day_start_ms(self, to) + into;
    int64_t end = calendar_day_end_ms(self, to);
    return out < end ? out : end; /* a day shortened by daylight saving */
}

unsigned calendar_working_days_between(const calendar_t *self, int64_t from_day, int64_t to_day)
{
    unsigned n = 0;
    if (to_day - from_day > MAX_SPAN_DAYS)
        to_day = from_day + MAX_SPAN_DAYS;
    for (int64_t d = from_day; d < to_day; d++)
        n += calendar_is_working_day(self, d);
    return n;
}

int64_t calendar_next_working_at(const calendar_t *self, int64_t after_ms, int hour)
{
    int64_t day = step_working_days(self, calendar_local_day(self, after_ms), 1, +1);
    return calendar_day_start_ms(self, day) + (int64_t)hour * 3600000;
}

void calendar_limit_text(const Hotline__Limit *limit, char *out, size_t out_size)
{
    static const char *const names[] = {"?", "minute", "hour", "natural day", "working day"};
    unsigned u = limit && limit->unit <= 4 ? (unsigned)limit->unit : 0;
    unsigned v = limit ? limit->value : 0;
    const char *anchor =
        !limit ? ""
        : limit->anchor == HOTLINE__LIMIT_ANCHOR__ANCHOR_END_OF_SAME_WORKING_DAY
            ? ", by the end of that working day"
        : limit->anchor == HOTLINE__LIMIT_ANCHOR__ANCHOR_END_OF_NEXT_WORKING_DAY
            ? ", by the end of the next working day"
            : "";
    snprintf(out, out_size, "%u %s%s%s", v, names[u], v == 1 ? "" : "s", anchor);
}

void calendar_format_local(const calendar_t *self, int64_t utc_ms, char *out, size_t out_size)
{
    int offset_min = (int)(offset_ms_at(self, utc_ms) / 60000);
    int64_t local = utc_ms + (int64_t)offset_min * 60000;
    int64_t day = floor_div(local, DAY_MS);
    int64_t in_day = local - day * DAY_MS;
    int y, m, d;
    calendar_ymd_from_day(day, &y, &m, &d);
    int off = offset_min < 0 ? -offset_min : offset_min;
    snprintf(out, out_size, "%04d-%02d-%02d %02d:%02d %c%02d:%02d", y, m, d,
             (int)(in_day / 3600000), (int)(in_day / 60000 % 60), offset_min < 0 ? '-' : '+',
             off / 60, off % 60);
}
