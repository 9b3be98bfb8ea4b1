/* analytics_batch_end: a feed batch's counter changes summed in memory and written once per
 * counter, with exactly the counts one transaction per event gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analytics_fixture.h"

#include <stdio.h>

/* A batch's counter changes are summed in memory and written once per counter at its end
 * (analytics_batch_end), with what the same events give one transaction each: a stored count
 * never goes below 0, so "back in" then "out" for a rating never counted leaves ratingsExcluded
 * at 1 (0 -> 0 -> 1), not at their sum 0. Reads in the batch's transaction see the sums. */
static void test_batch_sums(void **state)
{
    fixture_t *f = *state;
    int64_t t = utc_ms(2026, 11, 30, 3, 0);
    int64_t day = day_of(2026, 11, 30);
    Hotline__KpiEligibilityChanged in = HOTLINE__KPI_ELIGIBILITY_CHANGED__INIT, out;
    in.unit = "billing";
    in.rating = HOTLINE__RATING__RATING_SATISFIED;
    in.rated_ms = t;
    in.eligible = true;
    in.reason_code = "not-our-remit";
    out = in;
    out.eligible = false;
    Hotline__Event a = envelope("callback", 1, t, "A"), b = envelope("callback", 2, t, "A");
    a.body_case = b.body_case = HOTLINE__EVENT__BODY_KPI_ELIGIBILITY_CHANGED;
    a.kpi_eligibility_changed = &in;
    b.kpi_eligibility_changed = &out;
    Hotline__TicketSigned s = HOTLINE__TICKET_SIGNED__INIT;
    s.unit = "billing";
    Hotline__Event c = envelope("dispatch", 1, t, "A"), d = envelope("dispatch", 2, t, "B");
    c.body_case = d.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
    c.ticket_signed = d.ticket_signed = &s;

    MDB_txn *txn;
    uint64_t n;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(analytics_apply(f->an, txn, &a), 0);
    assert_int_equal(analytics_apply(f->an, txn, &b), 0);
    assert_int_equal(analytics_apply(f->an, txn, &c), 0);
    assert_int_equal(analytics_apply(f->an, txn, &d), 0);
    assert_int_equal(
        analytics_counter_get(f->an, txn, day, ANALYTICS_DIM_UNIT, "billing", ANALYTICS_SIGNED, &n),
        0);
    assert_int_equal(n, 2);
    assert_int_equal(analytics_counter_get(f->an, txn, day, ANALYTICS_DIM_ALL, "",
                                           ANALYTICS_RATINGS_EXCLUDED, &n),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(analytics_batch_end(f->an, txn), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_RATINGS_EXCLUDED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "billing", ANALYTICS_RATINGS_EXCLUDED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_RATED), 0);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 2);
    assert_int_equal(counter(f, analytics_month_of(day), ANALYTICS_DIM_UNIT, "billing",
                             ANALYTICS_SIGNED),
                     2);
    assert_int_equal(counter(f, ANALYTICS_ALL_TIME, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 2);

    /* Dropped with an aborted transaction: nothing of it is written by the next batch. */
    c.seq = 3;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(analytics_apply(f->an, txn, &c), 0);
    analytics_batch_drop(f->an);
    store_write_abort(&txn);
    d.seq = 4;
    apply_one(f, &d);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 3);
    /* Many counters in one batch (the table grows): each is right. */
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    for (int i = 0; i < 3000; i++) {
        char unit[16];
        snprintf(unit, sizeof unit, "u%d", i);
        s.unit = unit;
        d.seq = 10 + (uint64_t)i;
        assert_int_equal(analytics_apply(f->an, txn, &d), 0);
    }
    assert_int_equal(analytics_batch_end(f->an, txn), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_ALL, "", ANALYTICS_SIGNED), 3003);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "u0", ANALYTICS_SIGNED), 1);
    assert_int_equal(counter(f, day, ANALYTICS_DIM_UNIT, "u2999", ANALYTICS_SIGNED), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_sums, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
