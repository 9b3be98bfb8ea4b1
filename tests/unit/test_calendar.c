/* calendar: the shipped 2025 and 2026 calendars, working-day deadlines across holidays and
 * make-up days, warnings before due, local days at UTC+8, and bad year files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "calendar.h"
#include "hl_error.h"
#include "unit.h"

#include <stdio.h>

static calendar_t *cal;

static int setup(void **state)
{
    (void)state;
    char err[256];
    return calendar_load(&cal, NULL, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    calendar_destroy(&cal);
    return 0;
}

/* Local (UTC+8) wall time to UTC ms. */
static int64_t local_ms(int y, int m, int d, int hh, int mm)
{
    return calendar_day_start_ms(cal, calendar_day_from_ymd(y, m, d)) +
           (int64_t)hh * 3600000 + (int64_t)mm * 60000;
}

static void expect_local(int64_t utc_ms, const char *want)
{
    char buf[64];
    calendar_format_local(cal, utc_ms, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_civil_dates(void **state)
{
    (void)state;
    assert_int_equal(calendar_day_from_ymd(1970, 1, 1), 0);
    assert_int_equal(calendar_weekday(calendar_day_from_ymd(2026, 11, 25)), 3); /* Wednesday */
    int y, m, d;
    calendar_ymd_from_day(calendar_day_from_ymd(2024, 2, 29), &y, &m, &d);
    assert_true(y == 2024 && m == 2 && d == 29);
    /* 2026-11-24T16:30Z is already the 25th in Beijing. */
    int64_t utc = (calendar_day_from_ymd(2026, 11, 24) * 86400000LL) + 16 * 3600000 + 1800000;
    assert_int_equal(calendar_local_day(cal, utc), calendar_day_from_ymd(2026, 11, 25));
    expect_local(utc, "2026-11-25 00:30 +08:00");
}

static void test_shipped_years(void **state)
{
    (void)state;
    assert_true(calendar_has_year(cal, 2025));
    assert_true(calendar_has_year(cal, 2026));
    /* 2025 (docs/domain.md): Spring Festival 28 Jan - 4 Feb off, Sun 26 Jan and Sat 8 Feb work. */
    assert_false(calendar_is_working_day(cal, calendar_day_from_ymd(2025, 1, 28)));
    assert_false(calendar_is_working_day(cal, calendar_day_from_ymd(2025, 2, 4)));
    assert_true(calendar_is_working_day(cal, calendar_day_from_ymd(2025, 1, 26)));
    assert_true(calendar_is_working_day(cal, calendar_day_from_ymd(2025, 2, 8)));
    assert_true(calendar_is_working_day(cal, calendar_day_from_ymd(2025, 9, 28)));
    assert_true(calendar_is_working_day(cal, calendar_day_from_ymd(2025, 10, 11)));
    assert_false(calendar_is_working_day(cal, calendar_day_from_ymd(2025, 10, 8)));
    /* An ordinary weekend and weekday. */
    assert_false(calendar_is_working_day(cal, calendar_day_from_ymd(2026, 11, 28)));
    assert_true(calendar_is_working_day(cal, calendar_day_from_ymd(2026, 11, 25)));
    /* A year with no file: Monday to Friday. */
    assert_false(calendar_has_year(cal, 2031));
    assert_true(calendar_is_working_day(cal, calendar_day_from_ymd(2031, 1, 1))); /* Wed */
}

static void test_working_days_across_spring_festival(void **state)
{
    (void)state;
    /* Dispatched Sat 2026-02-14 (a make-up working day, the last before the 15-23 Feb
     * holiday) at 16:00: five working days are 24, 25, 26, 27 Feb and Sat 28 Feb (make-up). */
    Hotline__Limit five = HOTLINE__LIMIT__INIT;
    five.value = 5;
    five.unit = HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS;
    int64_t due;
    assert_int_equal(calendar_add(cal, local_ms(2026, 2, 14, 16, 0), &five, &due), 0);
    expect_local(due, "2026-02-28 23:59 +08:00");
    /* Yellow warning one working day before: the end of Fri 27 Feb. */
    Hotline__Limit one = five;
    one.value = 1;
    int64_t warn;
    assert_int_equal(calendar_subtract(cal, due, &one, &warn), 0);
    expect_local(warn, "2026-02-27 23:59 +08:00");
    /* Sign-for in one working day from the same instant: the next working day, 24 Feb. */
    assert_int_equal(calendar_add(cal, local_ms(2026, 2, 14, 16, 0), &one, &due), 0);
    expect_local(due, "2026-02-24 23:59 +08:00");
    /* 2025 National Day: dispatched Tue 30 Sep -> 9, 10, Sat 11 (make-up), 13, 14 Oct. */
    assert_int_equal(calendar_add(cal, local_ms(2025, 9, 30, 10, 0), &five, &due), 0);
    expect_local(due, "2025-10-14 23:59 +08:00");
}

static void test_other_units(void **state)
{
    (void)state;
    int64_t start = local_ms(2026, 11, 25, 10, 0), due;
    Hotline__Limit l = HOTLINE__LIMIT__INIT;
    l.value = 20;
    l.unit = HOTLINE__DURATION_UNIT__DURATION_MINUTES;
    assert_int_equal(calendar_add(cal, start, &l, &due), 0);
    assert_int_equal(due - start, 20 * 60000);
    l.value = 24;
    l.unit = HOTLINE__DURATION_UNIT__DURATION_HOURS;
    assert_int_equal(calendar_add(cal, start, &l, &due), 0);
    assert_int_equal(due - start, 24 * 3600000LL);
    l.value = 2;
    l.unit = HOTLINE__DURATION_UNIT__DURATION_NATURAL_DAYS;
    assert_int_equal(calendar_add(cal, start, &l, &due), 0);
    expect_local(due, "2026-11-27 10:00 +08:00");
    l.value = 0;
    assert_int_equal(calendar_add(cal, start, &l, &due), HL_EINVAL);
    l.value = 5;
    l.unit = HOTLINE__DURATION_UNIT__DURATION_UNIT_UNSPECIFIED;
    assert_int_equal(calendar_add(cal, start, &l, &due), HL_EINVAL);
    /* Callback: 09:00 on the working day after a Friday reply is Monday. */
    int64_t at = calendar_next_working_at(cal, local_ms(2026, 11, 27, 17, 0), 9);
    expect_local(at, "2026-11-30 09:00 +08:00");
    char text[32];
    l.unit = HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS;
    calendar_limit_text(&l, text, sizeof text);
    assert_string_equal(text, "5 working days");
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_year_files(void **state)
{
    (void)state;
    char *dir = unit_tmpdir();
    Hotline__CalendarConfig cfg = HOTLINE__CALENDAR_CONFIG__INIT;
    cfg.dir = dir;
    calendar_t *c;
    char err[256];
    write_file(dir, "2027.json", "{\"year\": 2027, \"holidays\": [\"2027-01-01\"], "
                                 "\"workdays\": [\"2027-01-09\"]}");
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), 0);
    assert_true(calendar_has_year(c, 2027) && calendar_has_year(c, 2026));
    assert_false(calendar_is_working_day(c, calendar_day_from_ymd(2027, 1, 1)));
    assert_true(calendar_is_working_day(c, calendar_day_from_ymd(2027, 1, 9)));
    calendar_destroy(&c);
    write_file(dir, "2027.json", "{\"year\": 2027, \"holidays\": [\"2027-02-30\"]}");
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "holidays[0]"));
    write_file(dir, "2027.json", "{\"year\": 2027, \"workdays\": [\"2027-01-06\"]}");
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "not a Saturday or Sunday"));
    write_file(dir, "2027.json", "{\"year\": 2027, \"holiday\": []}");
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "2027.json"));
    cfg.dir = "/nonexistent/calendar";
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_ENOTFOUND);
    /* The zone: "Z" is UTC (0 minutes alone reads as unset), "-05:30" works, junk does not. */
    cfg.dir = NULL;
    cfg.utc_offset = "Z";
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), 0);
    assert_int_equal(calendar_offset_minutes(c), 0);
    calendar_destroy(&c);
    cfg.utc_offset = "-05:30";
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), 0);
    assert_int_equal(calendar_offset_minutes(c), -330);
    calendar_destroy(&c);
    cfg.utc_offset = "UTC+8";
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "calendar.utcOffset"));
    unit_tmpdir_cleanup(dir);
}

/* A zone with daylight saving (Europe/Berlin, tz database): local days of 23 and 25 hours, a
 * working-day deadline across the change, times shown in the offset in force; and a zone
 * without (Asia/Shanghai) agrees with the fixed +08:00 everywhere. */
static calendar_t *zone_cal(const char *zone)
{
    Hotline__CalendarConfig cfg = HOTLINE__CALENDAR_CONFIG__INIT;
    cfg.zone = (char *)zone;
    calendar_t *c;
    char err[256] = "";
    if (calendar_load(&c, &cfg, err, sizeof err) != 0)
        fail_msg("calendar_load(%s): %s", zone, err);
    return c;
}

static void expect_in(const calendar_t *c, int64_t utc_ms, const char *want)
{
    char buf[64];
    calendar_format_local(c, utc_ms, buf, sizeof buf);
    assert_string_equal(buf, want);
}

#define UTC_MS(y, m, d, hh, mm) \
    (calendar_day_from_ymd(y, m, d) * 86400000LL + (hh) * 3600000LL + (mm) * 60000LL)

static void test_zone_with_daylight_saving(void **state)
{
    (void)state;
    calendar_t *c = zone_cal("Europe/Berlin");
    assert_string_equal(calendar_zone(c), "Europe/Berlin");
    /* Sun 29 March 2026: clocks go from 02:00 CET to 03:00 CEST. The day is 23 hours. */
    int64_t mar29 = calendar_day_from_ymd(2026, 3, 29);
    assert_int_equal(calendar_day_start_ms(c, mar29), UTC_MS(2026, 3, 28, 23, 0));
    assert_int_equal(calendar_day_start_ms(c, mar29 + 1), UTC_MS(2026, 3, 29, 22, 0));
    assert_int_equal(calendar_day_end_ms(c, mar29) - calendar_day_start_ms(c, mar29) + 1,
                     23 * 3600000LL);
    expect_in(c, UTC_MS(2026, 3, 29, 0, 59), "2026-03-29 01:59 +01:00");
    expect_in(c, UTC_MS(2026, 3, 29, 1, 0), "2026-03-29 03:00 +02:00");
    assert_int_equal(calendar_local_day(c, UTC_MS(2026, 3, 29, 21, 59)), mar29);
    assert_int_equal(calendar_local_day(c, UTC_MS(2026, 3, 29, 22, 0)), mar29 + 1);
    /* Fri 27 March 16:00 CET + 1 working day: the end of Monday 30 March, in CEST. */
    Hotline__Limit one = HOTLINE__LIMIT__INIT;
    one.value = 1;
    one.unit = HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS;
    int64_t due;
    assert_int_equal(calendar_add(c, UTC_MS(2026, 3, 27, 15, 0), &one, &due), 0);
    assert_int_equal(due, UTC_MS(2026, 3, 30, 21, 59) + 59999);
    expect_in(c, due, "2026-03-30 23:59 +02:00");
    /* ... and 1 working day before it: the end of Friday, still in CET. */
    int64_t warn;
    assert_int_equal(calendar_subtract(c, due, &one, &warn), 0);
    expect_in(c, warn, "2026-03-27 23:59 +01:00");
    /* 24 hours stay 24 hours across the change (a duration, not a wall-clock reading). */
    Hotline__Limit day24 = HOTLINE__LIMIT__INIT;
    day24.value = 24;
    day24.unit = HOTLINE__DURATION_UNIT__DURATION_HOURS;
    assert_int_equal(calendar_add(c, UTC_MS(2026, 3, 28, 11, 0), &day24, &due), 0);
    expect_in(c, due, "2026-03-29 13:00 +02:00");
    /* Sun 25 October 2026: back from 03:00 CEST to 02:00 CET. The day is 25 hours. */
    int64_t oct25 = calendar_day_from_ymd(2026, 10, 25);
    assert_int_equal(calendar_day_end_ms(c, oct25) - calendar_day_start_ms(c, oct25) + 1,
                     25 * 3600000LL);
    /* 9:00 local on the working day after Saturday 24 October: Monday, in CET. */
    expect_in(c, calendar_next_working_at(c, UTC_MS(2026, 10, 24, 10, 0), 9),
              "2026-10-26 09:00 +01:00");
    calendar_destroy(&c);

    /* New York, in the same process: the zone switches; DST ends Sun 1 November 2026. */
    calendar_t *ny = zone_cal("America/New_York");
    int64_t nov1 = calendar_day_from_ymd(2026, 11, 1);
    assert_int_equal(calendar_day_start_ms(ny, nov1), UTC_MS(2026, 11, 1, 4, 0));
    assert_int_equal(calendar_day_start_ms(ny, nov1 + 1), UTC_MS(2026, 11, 2, 5, 0));
    expect_in(ny, UTC_MS(2026, 11, 1, 5, 30), "2026-11-01 01:30 -04:00");
    expect_in(ny, UTC_MS(2026, 11, 1, 6, 30), "2026-11-01 01:30 -05:00");
    calendar_destroy(&ny);

    /* Shanghai has had no daylight saving since 1991: the same as the fixed +08:00. */
    calendar_t *sh = zone_cal("Asia/Shanghai");
    for (int64_t day = calendar_day_from_ymd(2025, 1, 1); day < calendar_day_from_ymd(2027, 1, 1);
         day += 7) {
        assert_int_equal(calendar_day_start_ms(sh, day), calendar_day_start_ms(cal, day));
        assert_int_equal(calendar_local_day(sh, day * 86400000LL), calendar_local_day(cal, day * 86400000LL));
    }
    calendar_destroy(&sh);
}

/* Moving an instant by working days keeps its time of day; the end of a day stays the end. */
static void test_shift_working_days(void **state)
{
    (void)state;
    int64_t fri_20 = local_ms(2026, 11, 27, 20, 0);
    expect_local(calendar_shift_working_days(cal, fri_20, 1), "2026-11-30 20:00 +08:00");
    int64_t end = calendar_day_end_ms(cal, calendar_day_from_ymd(2026, 9, 30));
    expect_local(calendar_shift_working_days(cal, end, 3), "2026-10-10 23:59 +08:00");
    assert_int_equal(calendar_shift_working_days(cal, end, 3),
                     calendar_day_end_ms(cal, calendar_day_from_ymd(2026, 10, 10)));
}

static void test_zone_errors(void **state)
{
    (void)state;
    Hotline__CalendarConfig cfg = HOTLINE__CALENDAR_CONFIG__INIT;
    calendar_t *c = NULL;
    char err[512] = "";
    cfg.zone = "Mars/Olympus_Mons";
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err, "calendar.zone: \"Mars/Olympus_Mons\" is not in the tz database"));
    cfg.zone = "../../etc/passwd";
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "is not a tz database name"));
    cfg.zone = "/etc/localtime";
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    cfg.zone = "Europe"; /* a directory, not a zone */
    assert_int_equal(calendar_load(&c, &cfg, err, sizeof err), HL_EINVAL);
    assert_non_null(strstr(err, "calendar.zone"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_dates),
        cmocka_unit_test(test_shipped_years),
        cmocka_unit_test(test_working_days_across_spring_festival),
        cmocka_unit_test(test_other_units),
        cmocka_unit_test(test_year_files),
        cmocka_unit_test(test_zone_with_daylight_saving),
        cmocka_unit_test(test_zone_errors),
        cmocka_unit_test(test_shift_working_days),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
