/* intake_export: the export's query (both days, the range, status, service_code, refusals
 * naming the parameter), and its CSV over a real store in-process: the 17 GeoReport bulk
 * columns, only the range's local days, oldest first, filters, every value as Open311's item
 * gives it (caller data masked, no description on a confidential ticket), RFC 4180 quoting of
 * a description with a comma, quotes and a line break, the bounds refused whole, and the
 * same file written in steps (one per loop turn in the route). */
#include "open311_fixture.h"

#include "intake_export.h"

#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>

#define NCOLUMNS 17

static void test_parse(void **state)
{
    query_fx_t *f = *state;
    intake_export_t q;
    intake_export_error_t err;
    assert_int_equal(intake_export_parse(&f->in, "from=2026-11-01&to=2026-11-30", &q, &err), 0);
    assert_true(q.want_open && q.want_closed && !q.service_code[0]);
    assert_true(q.from_ms == T0 - 24 * DAY_MS); /* local midnight, UTC+8 */
    assert_true(q.to_ms == T0 + 6 * DAY_MS - 1);
    assert_int_equal(
        intake_export_parse(&f->in, "from=2026-11-25&to=2026-11-25&status=closed&service_code=W04",
                            &q, &err),
        0);
    assert_true(!q.want_open && q.want_closed);
    assert_string_equal(q.service_code, "W04");
    /* 366 days is the most; empty optional parameters are absent ones. */
    assert_int_equal(intake_export_parse(
                         &f->in, "from=2025-11-25&to=2026-11-25&status=&service_code=", &q, &err),
                     0);
    assert_true(q.want_open && q.want_closed && !q.service_code[0]);

    static const struct {
        const char *query, *field, *says;
    } bad[] = {
        {"", "from", "required"},
        {"to=2026-11-30", "from", "required"},
        {"from=2026-11-01", "to", "required"},
        {"from=2026-13-01&to=2026-11-30", "from", "month 13 is outside 01..12"},
        {"from=2026-11-01&to=2026-11-31", "to", "day 31 is outside 01..30"},
        {"from=yesterday&to=2026-11-30", "from", "write YYYY-MM-DD"},
        {"from=2026-11-30&to=2026-11-01", "to", "before from"},
        {"from=2025-11-24&to=2026-11-25", "to", "at most 366"},
        {"from=2026-11-01&to=2026-11-30&status=pending", "status", "open or closed"},
        {"from=2026-11-01&to=2026-11-30&status=%FF", "status", "\"?\" is not a status"},
        {"from=2026-11-01&to=2026-11-30&service_code=w4", "service_code", "e.g. W04"},
        {"from=2026-11-01&to=2026-11-30&service_code=W0123456789012345", "service_code",
         "service code"},
        {"from=2026-11-01&to=2026-11-30&start_date=2026-11-01", "start_date",
         "unknown parameter \"start_date\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (intake_export_parse(&f->in, bad[i].query, &q, &err) != HL_EINVAL)
            fail_msg("%s was accepted", bad[i].query);
        assert_string_equal(err.field, bad[i].field);
        if (!strstr(err.message, bad[i].says))
            fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].query, err.message, bad[i].says);
        assert_true(utf8_valid(err.message, strlen(err.message)));
    }
}

/* Run an export; returns the text (caller frees), or NULL with *which on HL_ETOOBIG. */
static char *export(query_fx_t *f, const char *query, const intake_export_limits_t *lim,
                    size_t *rows, const char **which)
{
    intake_export_t q;
    intake_export_error_t err;
    if (intake_export_parse(&f->in, query, &q, &err))
        fail_msg("%s refused: %s: %s", query, err.field, err.message);
    MDB_txn *txn;
    char *text;
    size_t len;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    int rc = intake_export_csv(&f->in, txn, &q, lim, &text, &len, rows, which);
    store_read_end(&txn);
    if (rc == HL_ETOOBIG)
        return NULL;
    assert_int_equal(rc, 0);
    assert_int_equal(len, strlen(text));
    assert_true(utf8_valid(text, len));
    return text;
}

/* The ids of an export's rows, comma-separated, into out. */
static void ids(char *text, char *out, size_t size)
{
    char *p = text, *fields[NCOLUMNS + 1];
    out[0] = '\0';
    assert_int_equal(unit_csv_record(&p, fields, NCOLUMNS + 1), NCOLUMNS); /* the header */
    while (unit_csv_record(&p, fields, NCOLUMNS + 1)) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n ? "," : "", fields[0] + 11); /* the sequence */
    }
}

static void test_rows_and_filters(void **state)
{
    query_fx_t *f = *state;
    size_t rows;
    const char *which;
    char got[512];
    char *text = export(f, "from=2026-11-25&to=2026-11-25", NULL, &rows, &which);
    assert_int_equal(rows, 10);
    assert_int_equal(strncmp(text,
                             "service_request_id,status,status_notes,service_name,service_code,"
                             "description,agency_responsible,service_notice,requested_datetime,"
                             "updated_datetime,expected_datetime,address,address_id,zipcode,lat,"
                             "long,media_url\r\n",
                             212),
                     0);
    ids(text, got, sizeof got);
    assert_string_equal(got, "000001,000002,000003,000004,000005,000006,000007,000008,000009,"
                             "000010"); /* oldest first; August's is outside */
    free(text);
    text = export(f, "from=2026-08-17&to=2026-11-24", NULL, &rows, &which);
    ids(text, got, sizeof got);
    assert_string_equal(got, "000001"); /* 20260817-1-000001 alone */
    free(text);
    text = export(f, "from=2026-11-26&to=2026-11-30", NULL, &rows, &which);
    assert_int_equal(rows, 0);
    assert_int_equal(strlen(text), 212); /* the header alone */
    free(text);
    text = export(f, "from=2026-11-25&to=2026-11-25&status=closed", NULL, &rows, &which);
    ids(text, got, sizeof got);
    assert_string_equal(got, "000008,000009,000010");
    free(text);
    text = export(f, "from=2026-11-01&to=2026-11-30&status=open&service_code=W04", NULL, &rows,
                  &which);
    ids(text, got, sizeof got);
    assert_string_equal(got, "000002,000004,000006");
    free(text);
}

/* Every cell is what Open311's item says, as text; absent members are empty cells. */
static void test_values_are_open311s(void **state)
{
    query_fx_t *f = *state;
    size_t rows;
    const char *which;
    char *text = export(f, "from=2026-11-25&to=2026-11-25", NULL, &rows, &which);
    assert_null(strstr(text, "13812345678"));
    assert_null(strstr(text, "Wang"));
    assert_null(strstr(text, "wang@example.cn"));
    char *p = text, *header[NCOLUMNS + 1], *row[NCOLUMNS + 1];
    unit_csv_record(&p, header, NCOLUMNS + 1);
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    for (size_t n = 0; unit_csv_record(&p, row, NCOLUMNS + 1) == NCOLUMNS; n++) {
        Hotline__TicketView *v;
        assert_int_equal(intake_view_get(&f->in, txn, row[0], f->in.scratch, &v), 0);
        json_t *item = open311_request_item(&f->o, v, false);
        for (size_t i = 0; i < NCOLUMNS; i++) {
            json_t *val = json_object_get(item, header[i]);
            char want[1300];
            if (json_is_string(val))
                snprintf(want, sizeof want, "%s", json_string_value(val));
            else if (json_is_real(val))
                snprintf(want, sizeof want, "%.10g", json_real_value(val));
            else
                want[0] = '\0';
            if (strcmp(want, row[i]) != 0)
                fail_msg("%s %s: CSV [%s], Open311 [%s]", row[0], header[i], row[i], want);
        }
        json_decref(item);
        if (strcmp(row[0], "20261125-1-000004") == 0) {
            assert_string_equal(row[1], "open");
            assert_string_equal(row[5], "No water; call me on 138****5678");
            assert_string_equal(row[6], "water-supply");
            assert_string_equal(row[10], "2026-11-26T03:00:00+08:00");
            assert_string_equal(row[14], "26.08");
            assert_string_equal(row[15], "119.3");
        }
        if (strcmp(row[0], "20261125-1-000006") == 0)
            assert_string_equal(row[5], ""); /* confidential */
    }
    store_read_end(&txn);
    free(text);
}

static void test_quoting(void **state)
{
    query_fx_t *f = *state;
    put_ticket_text(f, "20261127-1-000001", "W01", T0 + 2 * DAY_MS,
                    HOTLINE__TICKET_STATUS__TICKET_RECEIVED, false,
                    "Leak at the corner, \"big\" one\r\nsince 6; 停水 call 138 1234 5678");
    size_t rows;
    const char *which;
    char *text = export(f, "from=2026-11-27&to=2026-11-27", NULL, &rows, &which);
    assert_int_equal(rows, 1);
    assert_non_null(strstr(text, ",\"Leak at the corner, \"\"big\"\" one\r\nsince 6; 停水 call "
                                 "138 **** 5678\","));
    char *p = text, *fields[NCOLUMNS + 1];
    unit_csv_record(&p, fields, NCOLUMNS + 1);
    assert_int_equal(unit_csv_record(&p, fields, NCOLUMNS + 1), NCOLUMNS);
    assert_string_equal(fields[5], "Leak at the corner, \"big\" one\r\nsince 6; 停水 call 138 **** "
                                   "5678");
    assert_int_equal(unit_csv_record(&p, fields, NCOLUMNS + 1), 0);
    free(text);
}

static void test_limits(void **state)
{
    query_fx_t *f = *state;
    size_t rows;
    const char *which;
    /* More rows than allowed: refused whole, not cut short. */
    intake_export_limits_t lim = {.rows = 9};
    assert_null(export(f, "from=2026-11-25&to=2026-11-25", &lim, &rows, &which));
    assert_string_equal(which, "rows");
    lim.rows = 10;
    char *text = export(f, "from=2026-11-25&to=2026-11-25", &lim, &rows, &which);
    assert_int_equal(rows, 10);
    free(text);
    /* Requests looked at count, matching or not. */
    lim = (intake_export_limits_t){.scan = 5};
    assert_null(export(f, "from=2026-11-25&to=2026-11-25&status=closed", &lim, &rows, &which));
    assert_string_equal(which, "scan");
    lim = (intake_export_limits_t){.bytes = 1000};
    assert_null(export(f, "from=2026-11-25&to=2026-11-25", &lim, &rows, &which));
    assert_string_equal(which, "bytes");
}

/* In steps of a few entries, each in its own transaction (as the route runs it, a step per
 * loop turn), the file is the same as in one go; a bound passed in a later step still
 * refuses the whole. */
/* Run to the end in steps of budget entries, each in a transaction of its own; *steps taken. */
static int run_steps(query_fx_t *f, intake_export_run_t *run, size_t budget, size_t *steps)
{
    int rc = 0;
    bool done = false;
    for (*steps = 0; !rc && !done; (*steps)++) {
        MDB_txn *txn;
        assert_int_equal(store_read_begin(f->store, &txn), 0);
        rc = intake_export_step(run, txn, budget, &done);
        store_read_end(&txn);
    }
    return rc;
}

static void test_steps(void **state)
{
    query_fx_t *f = *state;
    size_t rows;
    const char *which;
    char *whole = export(f, "from=2026-08-01&to=2026-11-30", NULL, &rows, &which);
    assert_int_equal(rows, 11);
    intake_export_t q;
    intake_export_error_t err;
    assert_int_equal(intake_export_parse(&f->in, "from=2026-08-01&to=2026-11-30", &q, &err), 0);
    for (size_t budget = 1; budget <= 12; budget += 11) {
        intake_export_run_t *run;
        assert_int_equal(intake_export_start(&f->in, &q, NULL, &run), 0);
        size_t steps;
        assert_int_equal(run_steps(f, run, budget, &steps), 0);
        assert_true(budget == 1 ? steps >= 11 : steps == 1);
        char *text;
        size_t len;
        assert_int_equal(intake_export_finish(run, &text, &len, &rows), 0);
        assert_int_equal(rows, 11);
        assert_string_equal(text, whole);
        free(text);
        intake_export_free(&run);
    }
    free(whole);
    intake_export_limits_t lim = {.rows = 10};
    intake_export_run_t *run;
    assert_int_equal(intake_export_start(&f->in, &q, &lim, &run), 0);
    size_t steps;
    assert_int_equal(run_steps(f, run, 4, &steps), HL_ETOOBIG);
    assert_int_equal(steps, 3); /* the 11th request, in the third step */
    assert_string_equal(intake_export_limit(run), "rows");
    intake_export_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse, query_setup, query_teardown),
        cmocka_unit_test_setup_teardown(test_rows_and_filters, query_setup, query_teardown),
        cmocka_unit_test_setup_teardown(test_values_are_open311s, query_setup, query_teardown),
        cmocka_unit_test_setup_teardown(test_quoting, query_setup, query_teardown),
        cmocka_unit_test_setup_teardown(test_limits, query_setup, query_teardown),
        cmocka_unit_test_setup_teardown(test_steps, query_setup, query_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
