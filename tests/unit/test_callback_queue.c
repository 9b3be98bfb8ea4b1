/* callback's queue by priority: vulnerable callers before incidents before the rest, earliest
 * due first within each, whether the ticket's contact came before or after the reply; and a
 * store written by the version before priorities (task records version 1, the queue keyed by
 * time alone) read and migrated at start. Promises: test_callback_promise.c; the cap:
 * test_callback_fatigue.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "callback_fixture.h"

static Hotline__CallbackPriority next_priority(fixture_t *f, const char *agent, const char *want)
{
    assert_string_equal(next_id(f, agent), want);
    return f->reply->callback_task->priority;
}

static void test_priority_order(void **state)
{
    fixture_t *f = *state;
    /* Due Mon 23, Tue 24 and Wed 25 Nov at 09:00 (now Wed 10:00): all due at once. */
    received(f, "O-early", "13800000001", "Zhao", false);
    replied(f, "O-early", 0, local_ms(2026, 11, 20, 15, 0));
    received(f, "I-reply", "13800000002", "Qian", false);
    replied_in(f, "I-reply", 0, local_ms(2026, 11, 23, 15, 0), "INC-7");
    received_as(f, "I-intake", "13800000003", false, "INC-7");
    replied(f, "I-intake", 0, local_ms(2026, 11, 24, 15, 0));
    received_as(f, "V-late", "13800000004", true, NULL);
    replied(f, "V-late", 0, local_ms(2026, 11, 24, 15, 0));
    /* The reply before the contact: queued as ordinary, moved up when intake's word comes. */
    replied(f, "V-after", 0, local_ms(2026, 11, 23, 15, 0));
    json_t *l = list(f, CALLBACK_LIST_DUE);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 5);
    assert_string_equal(item_str(l, 4, "ticketId"), "V-after");
    assert_string_equal(item_str(l, 4, "priority"), "ordinary");
    json_decref(l);
    received_as(f, "V-after", "13800000005", true, NULL);

    const char *order[] = {"V-after", "V-late", "I-reply", "I-intake", "O-early"};
    const char *names[] = {"vulnerable", "vulnerable", "incident", "incident", "ordinary"};
    l = list(f, CALLBACK_LIST_DUE);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(item_str(l, i, "ticketId"), order[i]);
        assert_string_equal(item_str(l, i, "priority"), names[i]);
    }
    json_decref(l);
    assert_int_equal(next_priority(f, "a1", "V-after"),
                     HOTLINE__CALLBACK_PRIORITY__CALLBACK_PRIORITY_VULNERABLE);
    assert_int_equal(next_priority(f, "a2", "V-late"),
                     HOTLINE__CALLBACK_PRIORITY__CALLBACK_PRIORITY_VULNERABLE);
    assert_int_equal(next_priority(f, "a3", "I-reply"),
                     HOTLINE__CALLBACK_PRIORITY__CALLBACK_PRIORITY_INCIDENT);
    assert_int_equal(next_priority(f, "a4", "I-intake"),
                     HOTLINE__CALLBACK_PRIORITY__CALLBACK_PRIORITY_INCIDENT);
    assert_int_equal(next_priority(f, "a5", "O-early"),
                     HOTLINE__CALLBACK_PRIORITY__CALLBACK_PRIORITY_ORDINARY);
    /* The ticket view says it too, and a replayed contact changes nothing. */
    received_as(f, "V-late", "13800000004", true, NULL);
    MDB_txn *txn;
    json_t *v;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(callback_ticket_view(f->cb, txn, "V-late", &v), 0);
    store_read_end(&txn);
    assert_string_equal(item_str(v, 0, "priority"), "vulnerable");
    json_decref(v);
    assert_int_equal(json_integer_value(json_object_get(l = list(f, CALLBACK_LIST_DUE), "count")),
                     5);
    json_decref(l);
}

/* A vulnerable caller's callback that falls due later still goes first: priority is not a
 * tie-break but the queue's first key. */
static void test_priority_before_due_time(void **state)
{
    fixture_t *f = *state;
    received(f, "O-1", "13800000011", "Zhao", false);
    replied(f, "O-1", 0, local_ms(2026, 11, 16, 15, 0)); /* due a week ago */
    received_as(f, "V-1", "13800000012", true, NULL);
    replied(f, "V-1", 0, local_ms(2026, 11, 25, 11, 0)); /* due tomorrow 09:00 */
    assert_string_equal(next_id(f, "a1"), "O-1");        /* V-1 is not due yet */
    assert_int_equal(record(f, "O-1", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_SATISFIED, "", "a1"),
                     HOTLINE__STATUS__OK);
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    received(f, "O-2", "13800000013", "Sun", false);
    replied(f, "O-2", 0, local_ms(2026, 11, 20, 15, 0));
    assert_string_equal(next_id(f, "a2"), "V-1");
    assert_string_equal(next_id(f, "a3"), "O-2");
}

/* ---- a store of the version before priorities ---- */

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Task states as version 1 stored them. */
enum { OLD_PENDING = 1, OLD_DONE = 2 };

/* A version 1 task record, as that version wrote it; its length. */
static size_t v1_record(uint8_t *buf, uint8_t state, uint8_t rating, uint32_t round,
                        int64_t replied, int64_t due, int64_t done, const char *const strs[6])
{
    uint8_t *p = buf;
    *p++ = 1; /* version */
    *p++ = state;
    *p++ = rating ? HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED : 0;
    *p++ = rating;
    *p++ = 1 | (rating ? 4 : 0); /* unit resolved, satisfied */
    be32(p, round);
    be32(p + 4, rating ? 1 : 0);
    p += 8;
    int64_t times[] = {replied, due, 0, done};
    for (int i = 0; i < 4; i++, p += 8)
        store_be64_put(p, (uint64_t)times[i]);
    for (int i = 0; i < 6; i++) {
        size_t n = strlen(strs[i]);
        be32(p, (uint32_t)n);
        memcpy(p + 4, strs[i], n);
        p += 4 + n;
    }
    return (size_t)(p - buf);
}

static size_t task_key(uint8_t *out, const char *id, uint32_t round)
{
    size_t n = strlen(id);
    memcpy(out, id, n + 1);
    be32(out + n + 1, round);
    return n + 5;
}

typedef struct old_store {
    store_t *store;
    MDB_txn *txn;
    MDB_dbi tasks, due, done, pending, contacts;
} old_store_t;

/* One task as the old version kept it: its record, its pending round and its queue (due)
 * or done entry, and the caller's contact. */
static void old_task(old_store_t *o, const char *id, uint8_t state, uint8_t rating, int64_t replied,
                     int64_t due, int64_t done, const char *phone)
{
    const char *const strs[6] = {"water-north",
                                 "valve replaced",
                                 "",
                                 rating ? "a9" : "",
                                 "",
                                 rating ? "rated satisfied: closed" : ""};
    uint8_t rec[512], key[128], ikey[136];
    size_t rlen = v1_record(rec, state, rating, 0, replied, due, done, strs);
    size_t klen = task_key(key, id, 0);
    assert_int_equal(store_put(o->txn, o->tasks, key, klen, rec, rlen, 0), 0);
    store_be64_put(ikey, (uint64_t)(state == OLD_PENDING ? due : done));
    memcpy(ikey + 8, key, klen);
    assert_int_equal(
        store_put(o->txn, state == OLD_PENDING ? o->due : o->done, ikey, 8 + klen, "", 0, 0), 0);
    if (state == OLD_PENDING) {
        uint8_t r[4];
        be32(r, 0);
        assert_int_equal(store_put(o->txn, o->pending, id, strlen(id), r, 4, 0), 0);
    }
    /* The old contact: id, contact, confidential, received_ms (no vulnerable flag). */
    Hotline__Contact c = HOTLINE__CONTACT__INIT;
    c.phone = (char *)phone;
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = (char *)id;
    t.contact = &c;
    uint8_t packed[256];
    size_t plen = hotline__ticket__pack(&t, packed);
    assert_int_equal(store_put(o->txn, o->contacts, id, strlen(id), packed, plen, 0), 0);
}

static void test_old_store_migrated(void **state)
{
    fixture_t *f = *state;
    close_all(f);
    old_store_t o = {0};
    store_opts_t so = {.path = f->dir};
    assert_int_equal(store_open(&o.store, &so), 0);
    const char *names[] = {"tasks", "due", "done", "pending", "contacts"};
    MDB_dbi *dbis[] = {&o.tasks, &o.due, &o.done, &o.pending, &o.contacts};
    for (int i = 0; i < 5; i++)
        assert_int_equal(store_db(o.store, names[i], 0, dbis[i]), 0);
    assert_int_equal(store_write_begin(o.store, &o.txn), 0);
    /* Due yesterday (in the old queue), due tomorrow (queued too early by the old version),
     * and one rated last week. */
    old_task(&o, "OLD-A", OLD_PENDING, 0, local_ms(2026, 11, 23, 15, 0),
             local_ms(2026, 11, 24, 9, 0), 0, "13900000001");
    old_task(&o, "OLD-B", OLD_PENDING, 0, local_ms(2026, 11, 25, 8, 0),
             local_ms(2026, 11, 26, 9, 0), 0, "13900000002");
    old_task(&o, "OLD-D", OLD_DONE, HOTLINE__RATING__RATING_SATISFIED,
             local_ms(2026, 11, 16, 15, 0), local_ms(2026, 11, 17, 9, 0),
             local_ms(2026, 11, 17, 9, 30), "13900000003");
    assert_int_equal(store_write_commit(o.store, &o.txn), 0);
    store_close(&o.store);

    assert_int_equal(open_all(f), 0);
    settle(f);
    json_t *l = list(f, CALLBACK_LIST_DUE);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 1);
    assert_string_equal(item_str(l, 0, "ticketId"), "OLD-A");
    assert_string_equal(item_str(l, 0, "priority"), "ordinary");
    assert_string_equal(item_str(l, 0, "unit"), "water-north");
    json_decref(l);
    assert_int_equal(scheduled(f, NULL), 1); /* OLD-B waits for its instant */
    assert_int_equal(pending(f), 2);
    l = list(f, CALLBACK_LIST_DONE);
    assert_string_equal(item_str(l, 0, "ticketId"), "OLD-D");
    assert_string_equal(item_str(l, 0, "state"), "done");
    assert_string_equal(item_str(l, 0, "rating"), "RATING_SATISFIED");
    json_decref(l);

    /* A vulnerable caller of the new version goes first; the old task is handed out and
     * recorded, and written back in the new layout. */
    received_as(f, "NEW-V", "13900000004", true, NULL);
    replied(f, "NEW-V", 0, local_ms(2026, 11, 24, 15, 0));
    assert_string_equal(next_id(f, "a1"), "NEW-V");
    assert_string_equal(f->reply->callback_task->phone, "13900000004");
    assert_string_equal(next_id(f, "a2"), "OLD-A");
    assert_string_equal(f->reply->callback_task->phone, "13900000001");
    assert_int_equal(record(f, "OLD-A", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_SATISFIED, "", "a2"),
                     HOTLINE__STATUS__OK);
    /* Started again: nothing left to migrate, nothing lost. */
    close_all(f);
    assert_int_equal(open_all(f), 0);
    settle(f);
    l = list(f, CALLBACK_LIST_DUE);
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 1);
    assert_string_equal(item_str(l, 0, "ticketId"), "NEW-V");
    json_decref(l);
    assert_int_equal(record(f, "NEW-V", HOTLINE__CALLBACK_OUTCOME__CALLBACK_RATED,
                            HOTLINE__RATING__RATING_SATISFIED, "", "a1"),
                     HOTLINE__STATUS__OK);
    expect_refusal(f, next(f, "a3"), HOTLINE__STATUS__NOT_FOUND, "", "1 not yet due");
    clock_at(f, local_ms(2026, 11, 26, 9, 0));
    assert_string_equal(next_id(f, "a3"), "OLD-B");
    assert_int_equal(f->reply->callback_task->due_ms, local_ms(2026, 11, 26, 9, 0));
    l = list(f, CALLBACK_LIST_DONE); /* latest first */
    assert_int_equal(json_integer_value(json_object_get(l, "count")), 3);
    assert_string_equal(item_str(l, 0, "ticketId"), "NEW-V");
    assert_string_equal(item_str(l, 1, "ticketId"), "OLD-A");
    assert_string_equal(item_str(l, 1, "state"), "done");
    assert_string_equal(item_str(l, 1, "note"), "rated satisfied: closed");
    assert_string_equal(item_str(l, 2, "ticketId"), "OLD-D");
    json_decref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_priority_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_before_due_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_store_migrated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
