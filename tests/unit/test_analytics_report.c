/* analytics_report: the monthly report's query (month, format, refusals naming the
 * parameter), its CSV (the fixed columns, one row per unit in order, the totals row, rates
 * with 4 decimals or empty, units quoted when they must be, only the month's local days) and
 * that every figure equals GET /v1/kpis of the same days by unit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analytics_fixture.h"

#include <stdlib.h>
#include <string.h>

#define NCOLUMNS (1 + ANALYTICS_NCOUNTERS + 3 + 12)

static void test_parse(void **state)
{
    (void)state;
    analytics_report_t r;
    analytics_error_t err;
    assert_int_equal(analytics_report_parse("month=2026-11", &r, &err), 0);
    assert_string_equal(r.month, "2026-11");
    assert_int_equal(r.format, ANALYTICS_REPORT_JSON);
    assert_true(r.period.from_day == day_of(2026, 11, 1) &&
                r.period.to_day == day_of(2026, 11, 30));
    assert_int_equal(r.period.by, ANALYTICS_DIM_UNIT);
    assert_int_equal(analytics_report_parse("month=2028-02&format=csv", &r, &err), 0);
    assert_int_equal(r.format, ANALYTICS_REPORT_CSV);
    assert_true(r.period.to_day - r.period.from_day == 28); /* a leap February */
    assert_int_equal(analytics_report_parse("format=json&month=2026-12", &r, &err), 0);
    assert_true(r.period.to_day == day_of(2026, 12, 31));

    static const struct {
        const char *query, *field, *says;
    } bad[] = {
        {"", "month", "month=YYYY-MM"},
        {"format=csv", "month", "month=YYYY-MM"},
        {"month=", "month", "month=YYYY-MM"},
        {"month=2026-13", "month", "month 13 is outside 01..12"},
        {"month=2026-00", "month", "month 0"},
        {"month=26-11", "month", "is not a month: write YYYY-MM"},
        {"month=2026-11-01", "month", "is not a month"},
        {"month=1969-12", "month", "1970 or later"},
        {"month=%FF", "month", "\"?\" is not a month"},
        {"month=2026-11&format=xml", "format", "allowed: csv, json"},
        {"month=2026-11&format=", "format", "allowed: csv, json"},
        {"month=2026-11&by=unit", "by", "unknown parameter \"by\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (analytics_report_parse(bad[i].query, &r, &err) != HL_EINVAL)
            fail_msg("%s was accepted", bad[i].query);
        assert_string_equal(err.field, bad[i].field);
        if (!strstr(err.message, bad[i].says))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].query, err.message, bad[i].says);
    }
}

/* ---- a month of events ---- */

#define CREW "crew \"A\", north" /* a unit whose name needs quoting */

static void november(fixture_t *f)
{
    const Hotline__SlaClock SIGN = HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN;
    int64_t t = utc_ms(2026, 11, 3, 1, 0); /* 09:00 local */
    received(f, 1, t, "A", "W01", "North");
    dispatched(f, 1, t, "A", "water-supply", "W01", 0);
    clock_started(f, 1, t, "A", SIGN, "water-supply", "W01");
    clock_stopped(f, 2, t + 60000, "A", SIGN, true);
    signed_(f, 2, t + 60000, "A", "water-supply");
    replied(f, 3, t + 120000, "A", "water-supply");
    scheduled(f, 1, t + 130000, "A", "water-supply");
    rated(f, 2, t + 150000, "A", "water-supply", HOTLINE__RATING__RATING_SATISFIED, true);
    t = utc_ms(2026, 11, 10, 2, 0);
    received(f, 2, t, "B", "W06", "South");
    dispatched(f, 4, t, "B", "billing", "W06", 0);
    clock_started(f, 3, t, "B", SIGN, "billing", "W06");
    clock_stopped(f, 4, t + 60000, "B", SIGN, false);
    breached(f, 5, t + 60000, "B", SIGN, "billing");
    received(f, 3, t, "C", "W04", "South");
    dispatched(f, 5, t, "C", CREW, "W04", 0);
    clock_started(f, 6, t, "C", SIGN, CREW, "W04");
    clock_stopped(f, 7, t + 60000, "C", SIGN, true);
    /* Three thirds: 1/3 on time, written 0.3333. */
    for (int i = 0; i < 2; i++) {
        char id[8];
        snprintf(id, sizeof id, "C%d", i);
        received(f, 10 + (uint64_t)i, t, id, "W04", "South");
        dispatched(f, 10 + (uint64_t)i, t, id, CREW, "W04", 0);
        clock_started(f, 10 + (uint64_t)i, t, id, SIGN, CREW, "W04");
        clock_stopped(f, 20 + (uint64_t)i, t + 60000, id, SIGN, false);
    }
    /* Outside the month by the centre's day (UTC+8): 31 Oct 23:00 and 1 Dec 00:30 local. */
    received(f, 30, utc_ms(2026, 10, 31, 15, 0), "OCT", "W06", "South");
    dispatched(f, 30, utc_ms(2026, 10, 31, 15, 0), "OCT", "billing", "W06", 0);
    received(f, 31, utc_ms(2026, 11, 30, 16, 30), "DEC", "W06", "South");
    dispatched(f, 31, utc_ms(2026, 11, 30, 16, 30), "DEC", "billing", "W06", 0);
}

static char *report_csv(fixture_t *f, const char *query)
{
    analytics_report_t r;
    analytics_error_t err;
    assert_int_equal(analytics_report_parse(query, &r, &err), 0);
    MDB_txn *txn;
    char *text;
    size_t len;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(analytics_report_csv(f->an, txn, &r, &text, &len), 0);
    store_read_end(&txn);
    assert_int_equal(len, strlen(text));
    return text;
}

/* The value of column name in a row, given the header. */
static const char *cell(char **header, char **row, const char *name)
{
    for (size_t i = 0; i < NCOLUMNS; i++)
        if (strcmp(header[i], name) == 0)
            return row[i];
    fail_msg("no column %s", name);
    return NULL;
}

static void test_csv_rows(void **state)
{
    fixture_t *f = *state;
    november(f);
    char *text = report_csv(f, "month=2026-11&format=csv");
    assert_non_null(strstr(text, "\r\n\"crew \"\"A\"\", north\",0,")); /* RFC 4180 quoting */
    /* Records end in CRLF: header, billing, the crew, water-supply, the totals. */
    char *p = text, *header[NCOLUMNS + 1], *rows[5][NCOLUMNS + 1];
    assert_int_equal(unit_csv_record(&p, header, NCOLUMNS + 1), NCOLUMNS);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(unit_csv_record(&p, rows[i], NCOLUMNS + 1), NCOLUMNS);
    assert_int_equal(unit_csv_record(&p, rows[4], NCOLUMNS + 1), 0); /* nothing more */
    assert_string_equal(header[0], "unit");
    assert_string_equal(header[1], "received");
    assert_string_equal(header[ANALYTICS_NCOUNTERS], "closedOnTime");
    assert_string_equal(header[ANALYTICS_NCOUNTERS + 1], "warnings");
    assert_string_equal(header[ANALYTICS_NCOUNTERS + 4], "onTimeSignRate");
    assert_string_equal(header[NCOLUMNS - 1], "onTimeClosureRate");
    assert_string_equal(rows[0][0], "billing");
    assert_string_equal(rows[1][0], CREW); /* unquoted again */
    assert_string_equal(rows[2][0], "water-supply");
    assert_string_equal(rows[3][0], ANALYTICS_REPORT_TOTAL);
    /* Only November's local days: billing dispatched B, not OCT or DEC. */
    assert_string_equal(cell(header, rows[0], "dispatched"), "1");
    assert_string_equal(cell(header, rows[0], "signedLate"), "1");
    assert_string_equal(cell(header, rows[0], "breached"), "1");
    assert_string_equal(cell(header, rows[0], "onTimeSignRate"), "0.0000");
    assert_string_equal(cell(header, rows[1], "onTimeSignRate"), "0.3333");
    assert_string_equal(cell(header, rows[2], "onTimeSignRate"), "1.0000");
    assert_string_equal(cell(header, rows[2], "satisfactionRate"), "1.0000");
    assert_string_equal(cell(header, rows[2], "callbackRate"), "1.0000");
    /* No denominator: empty. */
    assert_string_equal(cell(header, rows[0], "satisfactionRate"), "");
    assert_string_equal(cell(header, rows[2], "responseRate"), "");
    /* The whole centre: five tickets received in November (none by a unit: received comes
     * before any unit is known), 2 of 5 sign clocks on time. */
    assert_string_equal(cell(header, rows[3], "received"), "5");
    assert_string_equal(cell(header, rows[0], "received"), "0");
    assert_string_equal(cell(header, rows[3], "signDue"), "5");
    assert_string_equal(cell(header, rows[3], "onTimeSignRate"), "0.4000");
    assert_string_equal(cell(header, rows[3], "directAnswerRate"), "0.0000");
    free(text);
}

/* The report's figures are GET /v1/kpis' of the same days by unit, number for number. */
static void test_equals_kpis(void **state)
{
    fixture_t *f = *state;
    november(f);
    char *text = report_csv(f, "month=2026-11&format=csv");
    json_t *doc = kpis(f, "from=2026-11-01&to=2026-11-30&by=unit", day_of(2026, 12, 5));
    char *p = text, *header[NCOLUMNS + 1], *row[NCOLUMNS + 1];
    unit_csv_record(&p, header, NCOLUMNS + 1);
    size_t nrows = 0;
    for (; unit_csv_record(&p, row, NCOLUMNS + 1) == NCOLUMNS; nrows++) {
        json_t *block = strcmp(row[0], ANALYTICS_REPORT_TOTAL) == 0
                            ? json_object_get(doc, "totals")
                            : json_array_get(json_object_get(doc, "groups"), nrows);
        if (block != json_object_get(doc, "totals"))
            assert_string_equal(json_string_value(json_object_get(block, "key")), row[0]);
        for (size_t i = 1; i < NCOLUMNS; i++) {
            json_t *v = json_object_get(block, header[i]);
            if (!v)
                v = json_object_get(json_object_get(block, "rates"), header[i]);
            char want[32];
            if (json_is_integer(v))
                snprintf(want, sizeof want, "%lld", (long long)json_integer_value(v));
            else if (json_is_real(v))
                snprintf(want, sizeof want, "%.4f", json_real_value(v));
            else if (json_is_null(v))
                want[0] = '\0';
            else
                fail_msg("%s is not in GET /v1/kpis", header[i]);
            if (strcmp(want, row[i]) != 0)
                fail_msg("%s %s: report %s, kpis %s", row[0], header[i], row[i], want);
        }
    }
    assert_int_equal(nrows, json_array_size(json_object_get(doc, "groups")) + 1);
    free(text);
    json_decref(doc);

    /* The JSON form is that document with the month. */
    analytics_report_t r;
    analytics_error_t err;
    assert_int_equal(analytics_report_parse("month=2026-11", &r, &err), 0);
    MDB_txn *txn;
    json_t *rep;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(analytics_report_json(f->an, txn, &r, &rep), 0);
    store_read_end(&txn);
    assert_string_equal(json_string_value(json_object_get(rep, "month")), "2026-11");
    assert_string_equal(json_string_value(json_object_get(rep, "from")), "2026-11-01");
    assert_string_equal(json_string_value(json_object_get(rep, "to")), "2026-11-30");
    assert_string_equal(json_string_value(json_object_get(rep, "by")), "unit");
    assert_int_equal(json_array_size(json_object_get(rep, "groups")), 3);
    json_decref(rep);
}

static void test_empty_month(void **state)
{
    fixture_t *f = *state;
    char *text = report_csv(f, "month=2027-01&format=csv");
    /* The header and the totals row, all zero, every rate empty. */
    char *second = strstr(text, "\r\n") + 2;
    assert_int_equal(strncmp(second, ANALYTICS_REPORT_TOTAL ",0,0,", 12), 0);
    assert_ptr_equal(strstr(second, "\r\n"), second + strlen(second) - 2);
    assert_string_equal(second + strlen(second) - 16, ",0,,,,,,,,,,,,\r\n"); /* 12 rates */
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_csv_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equals_kpis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_month, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
