/* analytics_rebuild against the live counts, where the kept timeline differs from what was
 * applied: analytics keeps each event with personal data masked, and a ticket id whose digits
 * look like a phone number to the masker (a daily sequence past 999,999: intake writes it with
 * %06llu, which then widens to 7 digits) is masked in the kept copy too. The rebuild must count
 * each kept event under its own ticket all the same, not merge tickets whose masked ids meet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analytics_fixture.h"

#include <string.h>

static void test_rebuild_keeps_ticket_ids(void **state)
{
    fixture_t *f = *state;
    /* Masked, both read "20261125-*-***0012": the same last four digits. */
    const char *a = "20261125-1-1000012", *b = "20261125-1-1010012";
    int64_t t = utc_ms(2026, 11, 25, 2, 0);
    received(f, 1, t, a, "W01", "Gulou");
    received(f, 2, t + 1000, b, "W06", "Cangshan");
    dispatched(f, 1, t + 2000, a, "water-supply", "W01", 0);
    dispatched(f, 2, t + 3000, b, "billing", "W06", 0);
    signed_(f, 3, t + 4000, b, "billing");
    rated(f, 1, t + 86400000, a, "water-supply", HOTLINE__RATING__RATING_SATISFIED, true);
    const char *query = "period=2026-11&by=unit";
    json_t *before = kpis(f, query, day_of(2026, 11, 30));
    json_t *tot = json_object_get(before, "totals");
    assert_int_equal(jint(tot, "received"), 2);
    assert_int_equal(jint(tot, "dispatched"), 2);
    assert_int_equal(jint(group(before, "billing"), "signed"), 1);

    analytics_rebuild_stats_t st;
    assert_int_equal(analytics_rebuild(f->an, NULL, NULL, &st), 0);
    assert_int_equal(st.done, 6);
    json_t *after = kpis(f, query, day_of(2026, 11, 30));
    tot = json_object_get(after, "totals");
    assert_int_equal(jint(tot, "received"), 2);
    assert_int_equal(jint(tot, "dispatched"), 2);
    assert_int_equal(jint(tot, "redispatched"), 0);
    /* b's signing stays with b (billing, W06), not with a's unit or category. */
    assert_int_equal(jint(group(after, "billing"), "signed"), 1);
    assert_int_equal(jint(group(after, "water-supply"), "signed"), 0);
    assert_true(json_equal(before, after));
    json_t *cats = kpis(f, "period=2026-11&by=category", day_of(2026, 11, 30));
    assert_int_equal(jint(group(cats, "W06"), "signed"), 1);
    assert_int_equal(jint(group(cats, "W01"), "received"), 1);
    json_decref(cats);
    json_decref(before);
    json_decref(after);
}

static json_t *timeline_of(fixture_t *f, const char *id)
{
    MDB_txn *txn;
    json_t *doc = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(analytics_timeline(f->an, txn, id, &doc), 0);
    store_read_end(&txn);
    return json_object_get(doc, "events") ? doc : NULL;
}

static uint64_t entries(fixture_t *f, const char *db)
{
    MDB_dbi dbi;
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_db(f->store, db, 0, &dbi), 0);
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_count(txn, dbi, &n), 0);
    store_read_end(&txn);
    return n;
}

/* A store written by layout 3 (one masked packed Event per timeline entry) is read at the next
 * start: each ticket's entries become its record, counted again, and the timeline shows them. */
static void test_reads_layout3_store(void **state)
{
    fixture_t *f = *state;
    const char *a = "20261125-1-000001", *b = "20261125-1-000002";
    int64_t t = utc_ms(2026, 11, 25, 2, 0);
    f->layout3 = true;
    received(f, 1, t, a, "W01", "Gulou");
    received(f, 2, t + 1000, b, "W06", "Cangshan");
    dispatched(f, 1, t + 2000, a, "water-supply", "W01", 0);
    dispatched(f, 2, t + 3000, b, "billing", "W06", 0);
    signed_(f, 3, t + 4000, b, "billing");
    replied(f, 4, t + 5000, b, "billing");
    f->layout3 = false;
    assert_int_equal(entries(f, "timeline"), 6);
    /* As layout 3 left its store: the counters' layout mark 3. */
    MDB_dbi meta;
    MDB_txn *txn;
    uint8_t v[8];
    store_be64_put(v, 3);
    assert_int_equal(store_db(f->store, "meta", 0, &meta), 0);
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, meta, "layout", 6, v, 8, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);

    analytics_close(&f->an);
    assert_int_equal(open_analytics(f), 0); /* rebuilds: the layout is older */
    assert_int_equal(entries(f, "timeline"), 2); /* one record per ticket, no entry left */
    const char *query = "period=2026-11&by=unit";
    json_t *doc = kpis(f, query, day_of(2026, 11, 30));
    json_t *tot = json_object_get(doc, "totals");
    assert_int_equal(jint(tot, "received"), 2);
    assert_int_equal(jint(tot, "dispatched"), 2);
    assert_int_equal(jint(group(doc, "billing"), "signed"), 1);
    assert_int_equal(jint(group(doc, "billing"), "replied"), 1);
    assert_int_equal(jint(group(doc, "water-supply"), "dispatched"), 1);
    json_decref(doc);

    json_t *tl = timeline_of(f, b);
    assert_non_null(tl);
    json_t *events = json_object_get(tl, "events");
    assert_int_equal(json_array_size(events), 4);
    const char *kinds[] = {"ticketReceived", "ticketDispatched", "ticketSigned", "ticketReplied"};
    for (size_t i = 0; i < 4; i++)
        assert_non_null(json_object_get(json_array_get(events, i), kinds[i]));
    json_t *tk = json_object_get(json_object_get(json_array_get(events, 0), "ticketReceived"),
                                 "ticket");
    assert_string_equal(json_string_value(json_object_get(tk, "categoryCode")), "W06");
    char *text = json_dumps(events, JSON_COMPACT);
    assert_null(strstr(text, "5678")); /* not even the masked phone: no contact, no free text */
    assert_null(strstr(text, "no water"));
    free(text);
    json_decref(tl);

    /* Converted records behave as records: a replay changes nothing, a new event is kept. */
    signed_(f, 3, t + 4000, b, "billing");
    rated(f, 1, t + 86400000, b, "billing", HOTLINE__RATING__RATING_SATISFIED, true);
    doc = kpis(f, query, day_of(2026, 11, 30));
    assert_int_equal(jint(group(doc, "billing"), "signed"), 1);
    assert_int_equal(jint(group(doc, "billing"), "rated"), 1);
    json_decref(doc);
    tl = timeline_of(f, b);
    assert_int_equal(json_array_size(json_object_get(tl, "events")), 5);
    json_decref(tl);
    analytics_rebuild_stats_t st;
    assert_int_equal(analytics_rebuild(f->an, NULL, NULL, &st), 0);
    assert_int_equal(st.total, 7);
    assert_int_equal(st.done, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rebuild_keeps_ticket_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_layout3_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
