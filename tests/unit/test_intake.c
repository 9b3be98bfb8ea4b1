/* intake: the ticket model's rules at the door, and the status view built from events that
 * arrive on three independent feeds in any order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hl_error.h"
#include "intake.h"
#include "intake_internal.h" /* a fixture with only the status sub-databases */
#include "intake_status.h"
#include "unit.h"

#include <string.h>

/* ---- rules ---- */

typedef struct ticket_fx {
    Hotline__Ticket t;
    Hotline__Contact c;
    Hotline__Location l;
    Hotline__GeoPoint p;
} ticket_fx_t;

static void good_ticket(ticket_fx_t *f)
{
    hotline__ticket__init(&f->t);
    hotline__contact__init(&f->c);
    hotline__location__init(&f->l);
    hotline__geo_point__init(&f->p);
    f->t.category_code = "W01";
    f->t.description = "no water since 7 this morning";
    f->c.phone = "+86 138-1234-5678";
    f->l.district = "Gulou";
    f->t.contact = &f->c;
    f->t.location = &f->l;
}

/* Run the check; return the field it named ("" when the ticket passed). */
static const char *check(const Hotline__Ticket *t, arena_t *a)
{
    Hotline__CommandReply r = HOTLINE__COMMAND_REPLY__INIT;
    cmd_reply_t reply = {&r, a};
    assert_int_equal(intake_ticket_check(t, &reply), 0);
    if (r.status == HOTLINE__STATUS__OK)
        return "";
    assert_int_equal(r.status, HOTLINE__STATUS__INVALID);
    assert_true(strlen(r.message) > 10); /* a message a person can act on */
    return r.field;
}

static void test_ticket_rules(void **state)
{
    (void)state;
    arena_t *a;
    arena_create(&a);
    ticket_fx_t f;
    good_ticket(&f);
    assert_string_equal(check(&f.t, a), "");
    f.t.category_code = "w01";
    assert_string_equal(check(&f.t, a), "ticket.categoryCode");
    f.t.category_code = "W04021234";
    assert_string_equal(check(&f.t, a), "ticket.categoryCode");
    f.t.category_code = "W0402";
    assert_string_equal(check(&f.t, a), "");
    f.t.description = "   ";
    assert_string_equal(check(&f.t, a), "ticket.description");
    good_ticket(&f);
    f.c.phone = "";
    assert_string_equal(check(&f.t, a), "ticket.contact.phone");
    f.c.anonymous = true; /* anonymous callers need no number */
    assert_string_equal(check(&f.t, a), "");
    f.c.phone = "call me";
    assert_string_equal(check(&f.t, a), "ticket.contact.phone");
    good_ticket(&f);
    f.l.district = "";
    assert_string_equal(check(&f.t, a), "ticket.location");
    f.l.point = &f.p;
    f.p.lat = 26.08;
    f.p.long_ = 119.3;
    assert_string_equal(check(&f.t, a), "");
    f.p.lat = 91;
    assert_string_equal(check(&f.t, a), "ticket.location.point");
    good_ticket(&f);
    char *urls[] = {"https://example.org/a.jpg", "ftp://x"};
    f.t.media_urls = urls;
    f.t.n_media_urls = 2;
    assert_string_equal(check(&f.t, a), "ticket.mediaUrls[1]");
    good_ticket(&f);
    f.t.id = "20261125-1-000001";
    assert_string_equal(check(&f.t, a), "ticket.id");
    assert_string_equal(check(NULL, a), "ticket");
    arena_destroy(&a);
}

/* ---- status view ---- */

typedef struct fixture {
    char *dir;
    store_t *store;
    intake_t in;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir};
    f->in.instance = 1;
    f->in.repeat_window_ms = 3600000;
    if (store_open(&f->store, &o) || store_db(f->store, "tickets", 0, &f->in.tickets) ||
        store_db(f->store, "recorded", 0, &f->in.recorded) ||
        store_db(f->store, "status", 0, &f->in.status) ||
        store_db(f->store, "changed", 0, &f->in.changed) ||
        store_db(f->store, "updates", 0, &f->in.updates) ||
        store_db(f->store, "by_time", 0, &f->in.by_time) ||
        store_db(f->store, "repeats", 0, &f->in.repeats) ||
        store_db(f->store, "incidents", 0, &f->in.incidents) ||
        arena_create(&f->in.scratch))
        return -1;
    /* A recorded ticket, as intake_submit leaves it. */
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = "T1";
    t.category_code = "W01";
    t.received_ms = 1;
    Hotline__TicketView v = HOTLINE__TICKET_VIEW__INIT;
    v.ticket = &t;
    v.status = HOTLINE__TICKET_STATUS__TICKET_RECEIVED;
    MDB_txn *txn;
    if (store_write_begin(f->store, &txn) || intake_view_put(&f->in, txn, &v) ||
        store_write_commit(f->store, &txn))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    arena_destroy(&f->in.scratch);
    store_close(&f->store);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

static void apply(fixture_t *f, Hotline__Event *ev)
{
    ev->ticket_id = "T1";
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(intake_apply_status(&f->in, txn, ev), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
}

static Hotline__TicketView *view(fixture_t *f, arena_t *a)
{
    MDB_txn *txn;
    Hotline__TicketView *v;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(intake_view_get(&f->in, txn, "T1", a, &v), 0);
    store_read_end(&txn);
    return v;
}

static void test_status_moves_forward_only(void **state)
{
    fixture_t *f = *state;
    arena_t *a;
    arena_create(&a);
    /* sla's feed runs ahead of dispatch's: the due time lands before the dispatch. */
    Hotline__SlaClockStarted cs = HOTLINE__SLA_CLOCK_STARTED__INIT;
    cs.clock = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY;
    cs.due_ms = 5000;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED;
    ev.sla_clock_started = &cs;
    ev.time_ms = 10;
    apply(f, &ev);
    Hotline__TicketDispatched td = HOTLINE__TICKET_DISPATCHED__INIT;
    td.unit = "water-supply";
    ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    ev.ticket_dispatched = &td;
    ev.time_ms = 5;
    apply(f, &ev);
    Hotline__TicketView *v = view(f, a);
    assert_int_equal(v->status, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    assert_string_equal(v->unit, "water-supply");
    assert_int_equal(v->reply_due_ms, 5000);
    assert_int_equal(v->updated_ms, 10);
    /* callback's feed runs ahead: closed before dispatch's reply shows up. */
    Hotline__TicketClosed tc = HOTLINE__TICKET_CLOSED__INIT;
    ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_CLOSED;
    ev.ticket_closed = &tc;
    ev.time_ms = 30;
    apply(f, &ev);
    Hotline__TicketReplied tr = HOTLINE__TICKET_REPLIED__INIT;
    tr.result = "valve replaced";
    tr.resolved = true;
    ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &tr;
    ev.time_ms = 20;
    apply(f, &ev);
    v = view(f, a);
    assert_int_equal(v->status, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    assert_string_equal(v->reply_text, "valve replaced"); /* the field still filled in */
    assert_int_equal(v->closed_ms, 30);
    arena_destroy(&a);
}

static void test_rework_round(void **state)
{
    fixture_t *f = *state;
    arena_t *a;
    arena_create(&a);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    Hotline__TicketReplied tr = HOTLINE__TICKET_REPLIED__INIT;
    tr.result = "done";
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &tr;
    apply(f, &ev);
    assert_int_equal(view(f, a)->status, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    Hotline__TicketReopened ro = HOTLINE__TICKET_REOPENED__INIT;
    ro.round = 1;
    ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REOPENED;
    ev.ticket_reopened = &ro;
    apply(f, &ev);
    Hotline__TicketView *v = view(f, a);
    assert_int_equal(v->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    assert_int_equal(v->rework_round, 1);
    assert_int_equal(v->replied_ms, 0);
    /* A late round-0 sign does not pull the ticket back. */
    Hotline__TicketSigned ts = HOTLINE__TICKET_SIGNED__INIT;
    ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
    ev.ticket_signed = &ts;
    apply(f, &ev);
    assert_int_equal(view(f, a)->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    ts.round = 1;
    apply(f, &ev);
    assert_int_equal(view(f, a)->status, HOTLINE__TICKET_STATUS__TICKET_SIGNED);
    arena_destroy(&a);
}

/* sla's clock for round 1 arrives before dispatch's TicketReopened: the due time is kept. */
static void test_next_round_clock_before_reopen(void **state)
{
    fixture_t *f = *state;
    arena_t *a;
    arena_create(&a);
    Hotline__SlaClockStarted cs = HOTLINE__SLA_CLOCK_STARTED__INIT;
    cs.clock = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY;
    cs.due_ms = 9000;
    cs.round = 1;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED;
    ev.sla_clock_started = &cs;
    apply(f, &ev);
    Hotline__TicketReopened ro = HOTLINE__TICKET_REOPENED__INIT;
    ro.round = 1;
    ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REOPENED;
    ev.ticket_reopened = &ro;
    apply(f, &ev);
    Hotline__TicketView *v = view(f, a);
    assert_int_equal(v->rework_round, 1);
    assert_int_equal(v->status, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    assert_int_equal(v->reply_due_ms, 9000);
    arena_destroy(&a);
}

/* ---- another intake instance's tickets (intake_peers.c) ---- */

static int apply_to(fixture_t *f, feed_apply_fn fn, const char *id, Hotline__Event *ev)
{
    ev->ticket_id = (char *)id;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    int rc = fn(&f->in, txn, ev);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    return rc;
}

/* dispatch's feed: the ticket dispatched to water-supply at at_ms. */
static int dispatched(fixture_t *f, const char *id, int64_t at_ms)
{
    Hotline__TicketDispatched td = HOTLINE__TICKET_DISPATCHED__INIT;
    td.unit = "water-supply";
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_DISPATCHED;
    ev.ticket_dispatched = &td;
    ev.time_ms = at_ms;
    return apply_to(f, intake_apply_status, id, &ev);
}

static int view_of(fixture_t *f, const char *id, arena_t *a, Hotline__TicketView **v)
{
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    int rc = intake_view_get(&f->in, txn, id, a, v);
    store_read_end(&txn);
    return rc;
}

static size_t entries(fixture_t *f, MDB_dbi db)
{
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_count(txn, db, &n), 0);
    store_read_end(&txn);
    return (size_t)n;
}

/* dispatch's feed brings a peer's ticket before the peer's own feed does: the status waits on a
 * placeholder, and the TicketReceived completes it without pulling the status back. */
static void test_peer_ticket_in_any_order(void **state)
{
    fixture_t *f = *state;
    f->in.npeers = 1;
    arena_t *a;
    arena_create(&a);
    const char *id = "20261207-2-000001";
    assert_int_equal(dispatched(f, id, 7), 0);
    Hotline__TicketView *v;
    assert_int_equal(view_of(f, id, a, &v), 0);
    assert_int_equal(v->status, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    assert_int_equal(v->ticket->received_ms, 0); /* a placeholder */
    assert_int_equal(entries(f, f->in.by_time), 0); /* not listed yet */

    ticket_fx_t t;
    good_ticket(&t);
    t.t.id = (char *)id;
    t.t.received_ms = 5;
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t.t;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    ev.time_ms = 5;
    ev.source = "intake-2";
    for (int again = 0; again < 2; again++) { /* a batch applied twice changes nothing */
        assert_int_equal(apply_to(f, intake_apply_peer, id, &ev), 0);
        assert_int_equal(view_of(f, id, a, &v), 0);
        assert_int_equal(v->status, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
        assert_string_equal(v->unit, "water-supply");
        assert_int_equal(v->ticket->received_ms, 5);
        assert_string_equal(v->ticket->category_code, "W01");
        assert_int_equal(v->updated_ms, 7);
        assert_int_equal(entries(f, f->in.by_time), 1);
        assert_int_equal(entries(f, f->in.repeats), 1); /* the caller's repeat key */
    }

    /* The peer took a repeat call on it. */
    Hotline__RepeatContact rc = HOTLINE__REPEAT_CONTACT__INIT;
    rc.repeat_count = 2;
    ev = (Hotline__Event)HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_REPEAT_CONTACT;
    ev.repeat_contact = &rc;
    ev.time_ms = 9;
    assert_int_equal(apply_to(f, intake_apply_peer, id, &ev), 0);
    assert_int_equal(view_of(f, id, a, &v), 0);
    assert_int_equal(v->repeat_count, 2);
    assert_int_equal(v->last_contact_ms, 9);

    /* An unknown ticket of this instance, or a peer's when no peer is followed: nothing. */
    assert_int_equal(dispatched(f, "20261207-1-000009", 0), 0);
    assert_int_equal(view_of(f, "20261207-1-000009", a, &v), HL_ENOTFOUND);
    f->in.npeers = 0;
    assert_int_equal(dispatched(f, "20261207-3-000001", 0), 0);
    assert_int_equal(view_of(f, "20261207-3-000001", a, &v), HL_ENOTFOUND);
    arena_destroy(&a);
}

/* A view stored before the split (ticket and status in one "tickets" record) reads as before,
 * and its next status change moves it to the two records. */
static void test_view_of_old_layout(void **state)
{
    fixture_t *f = *state;
    arena_t *a;
    arena_create(&a);
    const char *id = "20261130-1-000042";
    ticket_fx_t t;
    good_ticket(&t);
    t.t.id = (char *)id;
    t.t.received_ms = 1000;
    Hotline__TicketView old = HOTLINE__TICKET_VIEW__INIT;
    old.ticket = &t.t;
    old.status = HOTLINE__TICKET_STATUS__TICKET_RECEIVED;
    old.updated_ms = 1000;
    uint8_t buf[1024];
    size_t len = hotline__ticket_view__pack(&old, buf);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, f->in.tickets, id, strlen(id), buf, len, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);

    Hotline__TicketView *v;
    assert_int_equal(view_of(f, id, a, &v), 0);
    assert_int_equal(v->ticket->received_ms, 1000);
    assert_string_equal(v->ticket->category_code, "W01");
    assert_int_equal(entries(f, f->in.status), 1); /* the fixture's T1 only */

    assert_int_equal(dispatched(f, id, 2000), 0);
    assert_int_equal(entries(f, f->in.tickets), 0); /* moved */
    assert_int_equal(entries(f, f->in.status), 2);
    assert_int_equal(entries(f, f->in.recorded), 2);
    assert_int_equal(view_of(f, id, a, &v), 0);
    assert_int_equal(v->status, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    assert_string_equal(v->unit, "water-supply");
    assert_int_equal(v->ticket->received_ms, 1000);
    assert_string_equal(v->ticket->category_code, "W01");
    assert_int_equal(v->updated_ms, 2000);

    /* The status record holds no copy of the ticket. */
    MDB_val sv;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_get(txn, f->in.status, id, strlen(id), &sv), 0);
    Hotline__TicketView *st = hotline__ticket_view__unpack(NULL, sv.mv_size, sv.mv_data);
    store_read_end(&txn);
    assert_non_null(st);
    assert_null(st->ticket);
    hotline__ticket_view__free_unpacked(st, NULL);
    arena_destroy(&a);
}

typedef struct seen_changes {
    char ids[8][32];
    int64_t ms[8];
    int n;
} seen_changes_t;

static int seen_change(void *ctx, const char *id, int64_t ms)
{
    seen_changes_t *s = ctx;
    assert_true(s->n < 8);
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", id);
    s->ms[s->n++] = ms;
    return 0;
}

static seen_changes_t changes(fixture_t *f, int64_t from, int64_t to, size_t max)
{
    seen_changes_t s = {0};
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(intake_updates_scan(&f->in, txn, from, to, max, seen_change, &s), 0);
    store_read_end(&txn);
    return s;
}

/* Write view id (received at received_ms) as changed at updated_ms, its previous change at
 * prev_ms. */
static void changed_at(fixture_t *f, const char *id, int64_t received_ms, int64_t updated_ms,
                       int64_t prev_ms)
{
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = (char *)id;
    t.received_ms = received_ms;
    Hotline__TicketView v = HOTLINE__TICKET_VIEW__INIT;
    v.ticket = &t;
    v.updated_ms = updated_ms;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(intake_view_replace(&f->in, txn, &v, prev_ms), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
}

/* Views by last change: one entry per view, oldest change first whatever second it fell in,
 * the window and the limit kept; an entry of the old ms-keyed index is read with them and
 * leaves it at its view's next change. */
static void test_changes_in_order(void **state)
{
    fixture_t *f = *state;
    /* The fixture's T1 changed at 0 (received). Three views change, two in the same second in
     * the opposite order of their ids. */
    assert_int_equal(dispatched(f, "T1", 5900), 0);
    assert_int_equal(dispatched(f, "T1", 6100), 0); /* another second: the entry moves */
    changed_at(f, "T3", 5200, 5200, INTAKE_VIEW_NEW);
    changed_at(f, "T2", 5700, 5700, INTAKE_VIEW_NEW);
    /* A view of the old layout, indexed by the old index at 5500. */
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    uint8_t key[8 + 2];
    store_be64_put(key, 5500);
    memcpy(key + 8, "T9", 2);
    assert_int_equal(store_put(txn, f->in.updates, key, sizeof key, "", 0, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    f->in.old_updates = true;

    seen_changes_t s = changes(f, 0, 100000, 100);
    assert_int_equal(s.n, 4);
    const char *want[] = {"T3", "T9", "T2", "T1"};
    const int64_t want_ms[] = {5200, 5500, 5700, 6100};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(s.ids[i], want[i]);
        assert_int_equal(s.ms[i], want_ms[i]);
    }
    s = changes(f, 5300, 6100, 100); /* [from, to) */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "T9");
    assert_string_equal(s.ids[1], "T2");
    s = changes(f, 0, 100000, 2); /* the first two */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "T3");
    assert_string_equal(s.ids[1], "T9");

    /* A change that leaves T9's time as it was (an older event, read late) still moves its
     * entry from the old index to the new one. */
    changed_at(f, "T9", 5500, 5500, 5500);
    assert_int_equal(entries(f, f->in.updates), 0);
    s = changes(f, 0, 100000, 100);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.ids[1], "T9");
    assert_int_equal(s.ms[1], 5500);

    /* T9's next change takes its entry along. */
    changed_at(f, "T9", 5500, 7000, 5500);
    assert_int_equal(entries(f, f->in.updates), 0);
    assert_int_equal(entries(f, f->in.changed), 4);
    s = changes(f, 0, 100000, 100);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.ids[3], "T9");
    assert_int_equal(s.ms[3], 7000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticket_rules),
        cmocka_unit_test_setup_teardown(test_status_moves_forward_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rework_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_round_clock_before_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_ticket_in_any_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_of_old_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changes_in_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
