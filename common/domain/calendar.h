/* calendar: the centre's working days and its time zone, and deadline arithmetic on them.
 *
 * A working day is Monday to Friday, except the year file's holidays, plus its make-up
 * weekend working days (调休). Year files are data (data/calendar/YYYY.json, a
 * hotline.CalendarYear), never derived; the shipped ones are compiled in, and a directory of
 * further files can be loaded over them. For a year with no file the calendar falls back to
 * Monday-Friday and says so once in the log.
 *
 * Times are UTC milliseconds; days are the centre's local days: at a fixed UTC offset (default
 * UTC+8), or in a zone of the tz database by name (calendar.zone), whose days are 23 or 25 hours
 * long where daylight saving starts or ends. Limits in working days end at the end
 * (23:59:59.999 local) of the n-th working day after the start day; natural days are 24-hour
 * steps; hours and minutes are durations.
 *
 * A calendar with a zone sets the process's TZ to it (the C library reads the tz database):
 * one zone per process, loop thread only (several zones in one process work, each switch
 * reading the zone again). Without a zone: immutable after load, any thread. */
#ifndef HOTLINE_CALENDAR_H
#define HOTLINE_CALENDAR_H

#include "hotline/config.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct calendar calendar_t;

#define CALENDAR_DEFAULT_OFFSET_MIN 480 /* UTC+8 */
#define CALENDAR_ZONE_MAX 64            /* bytes in a zone name */

/* Load the embedded years, then every YYYY.json in dir (NULL or "" = none), which replace an
 * embedded year of the same number. On failure *out is NULL and err names the file, the field
 * and the rule.
 * Errors: HL_EINVAL, HL_ENOTFOUND (dir), HL_EIO, HL_ENOMEM. */
int calendar_load(calendar_t **out, const Hotline__CalendarConfig *cfg, char *err,
                  size_t err_size);
void calendar_destroy(calendar_t **self);

/* Day numbers: days since 1970-01-01 in the local calendar. */
int64_t calendar_day_from_ymd(int y, int m, int d);
void calendar_ymd_from_day(int64_t day, int *y, int *m, int *d);
int calendar_weekday(int64_t day); /* 0 = Sunday .. 6 = Saturday */

/* A date as people and query strings write it, "YYYY-MM-DD" (exactly: four, two and two
 * digits; 1970-01-01 to 9999-12-31), into its day number. Errors: HL_EINVAL, with the reason
 * in why, quoting the text: "\"2026-13-01\": month 13 is outside 01..12". */
int calendar_date_parse(const char *text, int64_t *day, char *why, size_t why_size);
/* A month "YYYY-MM" (1970-01 to 9999-12): the day number of its first day and how many days
 * it has. Errors as calendar_date_parse. */
int calendar_month_parse(const char *text, int64_t *first_day, int *ndays, char *why,
                         size_t why_size);
/* "YYYY-MM-DD" of a day number (out_size >= 11). */
void calendar_date_format(int64_t day, char *out, size_t out_size);

/* The local day of a UTC instant, and the UTC instants where a local day starts and ends. */
int64_t calendar_local_day(const calendar_t *self, int64_t utc_ms);
int64_t calendar_day_start_ms(const calendar_t *self, int64_t day);
int64_t calendar_day_end_ms(const calendar_t *self, int64_t day); /* 23:59:59.999 */
int calendar_offset_minutes(const calendar_t *self); /* the fixed offset, or the zone's at load */
const char *calendar_zone(const calendar_t *self);  /* the zone's name, "" for a fixed offset */

bool calendar_is_working_day(const calendar_t *self, int64_t day);
/* True when the year has a file (embedded or loaded). */
bool calendar_has_year(const calendar_t *self, int year);

/* start + limit, then moved to the limit's anchor (ANCHOR_END_OF_SAME_WORKING_DAY: the end of
 * the working day that instant falls on, a day off counting as the next working day;
 * ANCHOR_END_OF_NEXT_WORKING_DAY: the end of the working day after that). Errors: HL_EINVAL
 * (no unit, value 0, or beyond 3650 days). */
int calendar_add(const calendar_t *self, int64_t start_ms, const Hotline__Limit *limit,
                 int64_t *due_ms);
/* due - limit: for warnings ("1 working day before due" = the end of the working day before
 * due's day). Same errors. */
int calendar_subtract(const calendar_t *self, int64_t due_ms, const Hotline__Limit *limit,
                      int64_t *out_ms);

/* The same local time of day, n working days later (the end of a day stays the end of a day).
 * For moving a deadline's steps by an extension or a pause. */
int64_t calendar_shift_working_days(const calendar_t *self, int64_t at_ms, unsigned n);

/* Working days d with from_day <= d < to_day (0 when to_day <= from_day; at most 3650 days are
 * looked at). */
unsigned calendar_working_days_between(const calendar_t *self, int64_t from_day, int64_t to_day);

/* hour:00 local on the first working day after the local day of after_ms. */
int64_t calendar_next_working_at(const calendar_t *self, int64_t after_ms, int hour);

/* "5 working days", "20 minutes": for events and people. */
void calendar_limit_text(const Hotline__Limit *limit, char *out, size_t out_size);
/* "2026-02-28 23:59 +08:00" in the centre's zone. */
void calendar_format_local(const calendar_t *self, int64_t utc_ms, char *out, size_t out_size);

#endif
