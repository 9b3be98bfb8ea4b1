/* dispatch: the state machine (dispatch_fixture.h drives it in-process). Checked: the
 * assignment, the queue index and counts, the events appended, refusals with their status and
 * field, and that replayed events never apply twice. Incidents: test_dispatch_incident.c. */
#include "dispatch_fixture.h"

/* ---- tests ------------------------------------------------------------------------------ */

static void test_dispatch_exactly_once(void **state)
{
    fixture_t *f = *state;
    received(f, "20251125-1-000001", "W0402", "Gulou");
    snap_t s;
    assert_int_equal(get(f, "20251125-1-000001", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    assert_int_equal(s.round, 0);
    assert_string_equal(s.unit, "repair-crew-mains");
    assert_string_equal(s.route, "catalogue 0: W0402 -> repair-crew-mains");
    assert_string_equal(s.category, "W0402");
    assert_string_equal(s.district, "Gulou");
    assert_int_equal(s.urgency, HOTLINE__URGENCY__URGENCY_NORMAL); /* unspecified = normal */
    assert_int_equal(s.dispatched_ms / 1000, T0 / 1000);

    assert_int_equal(evlog_head(f->log), 1);
    Hotline__Event *ev = event_at(f, 1);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_DISPATCHED);
    assert_string_equal(ev->ticket_id, "20251125-1-000001");
    assert_string_equal(ev->source, "dispatch");
    assert_string_equal(ev->ticket_dispatched->unit, "repair-crew-mains");
    assert_string_equal(ev->ticket_dispatched->category_code, "W0402");
    assert_string_equal(ev->ticket_dispatched->district, "Gulou");
    assert_int_equal(ev->ticket_dispatched->urgency, HOTLINE__URGENCY__URGENCY_NORMAL);
    assert_int_equal(ev->ticket_dispatched->round, 0);
    assert_string_equal(ev->ticket_dispatched->route, "catalogue 0: W0402 -> repair-crew-mains");
    assert_int_equal(ev->ticket_dispatched->catalogue_version, 0); /* from the configuration */
    assert_int_equal(ev->ticket_dispatched->rule_line, 0);
    hotline__event__free_unpacked(ev, NULL);

    /* The same TicketReceived again (a replay from an old cursor, or intake re-sending):
     * nothing new, however often. Even when the catalogue would now route it elsewhere. */
    received_at(f, 1, "20251125-1-000001", "W0402", "Gulou", HOTLINE__URGENCY__URGENCY_URGENT);
    received_at(f, 7, "20251125-1-000001", "W01", "", HOTLINE__URGENCY__URGENCY_URGENT);
    assert_int_equal(evlog_head(f->log), 1);
    assert_int_equal(get(f, "20251125-1-000001", &s), 0);
    assert_string_equal(s.unit, "repair-crew-mains");
    assert_int_equal(count(f, "repair-crew-mains", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED), 1);

    /* Urgency is kept as given; an unknown category goes to the fallback desk. */
    received_at(f, 0, "20251125-1-000002", "P07", "Gulou", HOTLINE__URGENCY__URGENCY_VERY_URGENT);
    assert_int_equal(get(f, "20251125-1-000002", &s), 0);
    assert_string_equal(s.unit, "dispatch-desk");
    assert_string_equal(s.route, "catalogue 0: fallback -> dispatch-desk");
    assert_int_equal(s.urgency, HOTLINE__URGENCY__URGENCY_VERY_URGENT);
    assert_int_equal(evlog_head(f->log), 2);
}

static void test_unroutable_event_skipped(void **state)
{
    fixture_t *f = *state;
    /* No id anywhere: logged and skipped, never an error (which would stall the feed). */
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.category_code = "W01";
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.seq = 1;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    apply(f, dispatch_apply_intake, &ev);
    /* An id too long for an index key. */
    char long_id[80];
    memset(long_id, '7', 65);
    long_id[65] = '\0';
    t.id = long_id;
    apply(f, dispatch_apply_intake, &ev);
    /* Events dispatch does not handle. */
    Hotline__TestEvent te = HOTLINE__TEST_EVENT__INIT;
    Hotline__Event other = HOTLINE__EVENT__INIT;
    other.body_case = HOTLINE__EVENT__BODY_TEST;
    other.test = &te;
    apply(f, dispatch_apply_intake, &other);
    apply(f, dispatch_apply_callback, &other);
    assert_int_equal(evlog_head(f->log), 0);
    /* Follow-ups for tickets dispatch never saw. */
    rework(f, "20251125-1-999999", 0, "repair-crew", "unsatisfied");
    closed(f, "20251125-1-999999");
    assert_int_equal(evlog_head(f->log), 0);
}

static void test_full_cycle(void **state)
{
    fixture_t *f = *state;
    const char *id = "20251125-1-000010";
    const char *unit = "repair-crew-north";
    received(f, id, "W0401", "Gulou");
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED), 1);

    hclock_advance_ms(f->clock, 60000);
    expect_ok(sign(f, id, unit), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    snap_t s;
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_SIGNED);
    assert_int_equal(s.signed_ms / 1000, (T0 + 60000) / 1000);
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED), 0);
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_SIGNED), 1);
    Hotline__Event *ev = event_at(f, 2);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_SIGNED);
    assert_string_equal(ev->ticket_id, id);
    assert_string_equal(ev->ticket_signed->unit, unit);
    assert_int_equal(ev->ticket_signed->round, 0);
    hotline__event__free_unpacked(ev, NULL);

    expect_ok(reply(f, id, unit, "Replaced the leaking valve at No. 12.", true),
              HOTLINE__TICKET_STATUS__TICKET_REPLIED, 0);
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    assert_string_equal(s.result, "Replaced the leaking valve at No. 12.");
    assert_true(s.resolved);
    ev = event_at(f, 3);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_REPLIED);
    assert_string_equal(ev->ticket_replied->unit, unit);
    assert_string_equal(ev->ticket_replied->result, "Replaced the leaking valve at No. 12.");
    assert_true(ev->ticket_replied->resolved);
    assert_int_equal(ev->ticket_replied->round, 0);
    hotline__event__free_unpacked(ev, NULL);

    /* The citizen is unsatisfied: back to the holder for round 1. */
    rework(f, id, 0, unit, "still leaking");
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    assert_int_equal(s.round, 1);
    assert_string_equal(s.reason, "still leaking");
    assert_int_equal(s.signed_ms, 0);
    assert_int_equal(s.replied_ms, 0);
    assert_true(s.reopened_ms > 0);
    ev = event_at(f, 4);
    assert_int_equal(ev->body_case, HOTLINE__EVENT__BODY_TICKET_REOPENED);
    assert_string_equal(ev->ticket_id, id);
    assert_string_equal(ev->ticket_reopened->unit, unit);
    assert_int_equal(ev->ticket_reopened->round, 1);
    assert_string_equal(ev->ticket_reopened->reason, "still leaking");
    hotline__event__free_unpacked(ev, NULL);
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_REPLIED), 0);
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_REWORK), 1);

    /* The same rework again (replay): no second reopening, no round 2. */
    rework(f, id, 0, unit, "still leaking");
    assert_int_equal(evlog_head(f->log), 4);
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.round, 1);

    /* Round 1: a reply before signing is refused; sign, reply. */
    expect_refusal(reply(f, id, unit, "done", true), HOTLINE__STATUS__CONFLICT,
                   "replyTicket.ticketId", "sign for it first");
    expect_ok(sign(f, id, unit), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 1);
    expect_ok(reply(f, id, unit, "Valve and joint replaced; pressure test passed.", false),
              HOTLINE__TICKET_STATUS__TICKET_REPLIED, 1);
    ev = event_at(f, 6);
    assert_int_equal(ev->ticket_replied->round, 1);
    assert_false(ev->ticket_replied->resolved);
    hotline__event__free_unpacked(ev, NULL);
    /* A rework for the old round now is stale. */
    rework(f, id, 0, unit, "late duplicate");
    assert_int_equal(evlog_head(f->log), 6);

    closed(f, id);
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    assert_true(s.closed_ms > 0);
    assert_int_equal(evlog_head(f->log), 6); /* closing needs no event of dispatch's */
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_REPLIED), 0);
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_CLOSED), 1);
    closed(f, id); /* replay */
    assert_int_equal(count(f, unit, HOTLINE__TICKET_STATUS__TICKET_CLOSED), 1);
    /* Nothing more to do on a closed ticket, and no rework of it. */
    expect_refusal(sign(f, id, unit), HOTLINE__STATUS__CONFLICT, "signTicket.ticketId", "CLOSED");
    expect_refusal(reply(f, id, unit, "again", true), HOTLINE__STATUS__CONFLICT,
                   "replyTicket.ticketId", "CLOSED");
    rework(f, id, 1, unit, "after close");
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
    assert_int_equal(evlog_head(f->log), 6);
}

static void test_refusals(void **state)
{
    fixture_t *f = *state;
    const char *id = "20251125-1-000020";
    received(f, id, "W0601", "Taijiang"); /* billing */
    uint64_t head = evlog_head(f->log);

    expect_refusal(sign(f, "20251125-1-404404", "billing"), HOTLINE__STATUS__NOT_FOUND,
                   "signTicket.ticketId", "20251125-1-404404");
    expect_refusal(sign(f, "", "billing"), HOTLINE__STATUS__INVALID, "signTicket.ticketId",
                   "required");
    expect_refusal(sign(f, id, ""), HOTLINE__STATUS__INVALID, "signTicket.unit", "required");
    expect_refusal(sign(f, id, "drainage"), HOTLINE__STATUS__FORBIDDEN, "signTicket.unit",
                   "is not with unit");
    expect_refusal(sign_as(f, id, "billing", "unit:drainage"), HOTLINE__STATUS__FORBIDDEN, "actor",
                   "unit:drainage");
    expect_refusal(reply(f, id, "billing", "paid", true), HOTLINE__STATUS__CONFLICT,
                   "replyTicket.ticketId", "DISPATCHED");
    assert_int_equal(evlog_head(f->log), head);

    expect_ok(sign_as(f, id, "billing", "unit:billing"), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    expect_refusal(sign(f, id, "billing"), HOTLINE__STATUS__CONFLICT, "signTicket.ticketId",
                   "already SIGNED");
    expect_refusal(reply(f, id, "drainage", "paid", true), HOTLINE__STATUS__FORBIDDEN,
                   "replyTicket.unit", "is not with unit");

    /* The result: required, at most 2000 characters (not bytes), valid UTF-8. */
    expect_refusal(reply(f, id, "billing", "", true), HOTLINE__STATUS__INVALID,
                   "replyTicket.result", "required");
    expect_refusal(reply(f, id, "billing", " \n\t ", true), HOTLINE__STATUS__INVALID,
                   "replyTicket.result", "required");
    expect_refusal(reply(f, id, "billing", "bad \xC3\x28 bytes", true), HOTLINE__STATUS__INVALID,
                   "replyTicket.result", "UTF-8");
    expect_refusal(reply(f, id, "billing", "overlong \xC0\xAF", true), HOTLINE__STATUS__INVALID,
                   "replyTicket.result", "UTF-8");
    static char text[3 * 2001 + 1];
    for (int i = 0; i < 2001; i++)
        memcpy(text + 3 * i, "\xE6\xB0\xB4", 3); /* 水: 3 bytes, one character */
    text[3 * 2001] = '\0';
    expect_refusal(reply(f, id, "billing", text, true), HOTLINE__STATUS__INVALID,
                   "replyTicket.result", "2001 characters");
    assert_int_equal(evlog_head(f->log), head + 1);
    snap_t s;
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_SIGNED);

    text[3 * 2000] = '\0'; /* exactly 2000 characters, 6000 bytes */
    expect_ok(reply(f, id, "billing", text, true), HOTLINE__TICKET_STATUS__TICKET_REPLIED, 0);
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(strlen(s.result), 6000);
    expect_refusal(reply(f, id, "billing", "again", true), HOTLINE__STATUS__CONFLICT,
                   "replyTicket.ticketId", "already REPLIED");
    expect_refusal(sign(f, id, "billing"), HOTLINE__STATUS__CONFLICT, "signTicket.ticketId",
                   "REPLIED");

    /* A command dispatch does not take. */
    Hotline__SubmitTicket sub = HOTLINE__SUBMIT_TICKET__INIT;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_SUBMIT_TICKET;
    cmd.submit_ticket = &sub;
    expect_refusal(run(f, &cmd), HOTLINE__STATUS__INVALID, "body", "not submitTicket");
}

static void test_rework_guards(void **state)
{
    fixture_t *f = *state;
    const char *id = "20251125-1-000030";
    received(f, id, "W05", "");
    /* Not replied yet: a rework request is stale or wrong, and ignored. */
    rework(f, id, 0, "meter-service", "?");
    expect_ok(sign(f, id, "meter-service"), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    rework(f, id, 0, "meter-service", "?");
    snap_t s;
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_SIGNED);
    expect_ok(reply(f, id, "meter-service", "Meter replaced.", true),
              HOTLINE__TICKET_STATUS__TICKET_REPLIED, 0);
    /* A round that does not exist yet. */
    rework(f, id, 3, "meter-service", "?");
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    assert_int_equal(evlog_head(f->log), 3);
    /* Naming another unit still reopens it at the holder. */
    rework(f, id, 0, "billing", "reading still wrong");
    assert_int_equal(get(f, id, &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    assert_string_equal(s.unit, "meter-service");
    Hotline__Event *ev = event_at(f, 4);
    assert_string_equal(ev->ticket_reopened->unit, "meter-service");
    hotline__event__free_unpacked(ev, NULL);
    /* Signing a REWORK ticket is the normal way into round 1. */
    expect_ok(sign(f, id, "meter-service"), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 1);
}

static void test_queue(void **state)
{
    fixture_t *f = *state;
    char id[32];
    for (int i = 5; i >= 1; i--) { /* arrival order differs from id order */
        snprintf(id, sizeof id, "20251125-1-00010%d", i);
        received(f, id, "W0801", "");
    }
    received(f, "20251125-1-000200", "W0901", ""); /* another unit */
    expect_ok(sign(f, "20251125-1-000102", "customer-service"),
              HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    const char *cs = "customer-service";
    bool more;
    ids_t q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "", 10, &more);
    assert_int_equal(q.n, 4);
    assert_false(more);
    assert_string_equal(q.id[0], "20251125-1-000101");
    assert_string_equal(q.id[1], "20251125-1-000103");
    assert_string_equal(q.id[3], "20251125-1-000105");
    q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, NULL, 2, &more);
    assert_int_equal(q.n, 2);
    assert_true(more);
    q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "20251125-1-000103", 2, &more);
    assert_int_equal(q.n, 2);
    assert_string_equal(q.id[0], "20251125-1-000104");
    assert_string_equal(q.id[1], "20251125-1-000105");
    assert_false(more);
    q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "", 0, &more);
    assert_int_equal(q.n, 0); /* limit 0 only tells whether there is any */
    assert_true(more);
    q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_SIGNED, "", 10, &more);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.id[0], "20251125-1-000102");
    q = queue(f, "drainage", HOTLINE__TICKET_STATUS__TICKET_SIGNED, "", 10, &more);
    assert_int_equal(q.n, 0);
    q = queue(f, "no-such-unit", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "", 10, &more);
    assert_int_equal(q.n, 0);
    /* A unit whose id is a prefix of another's does not see the other's tickets. */
    q = queue(f, "customer", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "", 10, &more);
    assert_int_equal(q.n, 0);
    assert_int_equal(count(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED), 4);
    assert_int_equal(count(f, "drainage", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED), 1);
}


static answer_t ask_return(fixture_t *f, const char *id, const char *unit)
{
    Hotline__RequestReturn rr = HOTLINE__REQUEST_RETURN__INIT;
    rr.ticket_id = (char *)id;
    rr.unit = (char *)unit;
    rr.reason = "not ours";
    rr.basis = "after the meter";
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_REQUEST_RETURN;
    cmd.request_return = &rr;
    return run(f, &cmd);
}

/* The return window: 2 working days after the day of dispatch, to the end of the second one
 * in the centre's zone (Tue 2025-11-25 08:00 local -> Thu 23:59:59.999 local = 15:59:59Z). */

static void test_return_window(void **state)
{
    fixture_t *f = *state;
    const char *unit = "repair-crew-north";
    received(f, "20251125-1-000031", "W0401", "Gulou");
    received(f, "20251125-1-000032", "W0401", "Gulou");
    hclock_set_ms(f->clock, T0 + (2 * 24 + 15) * 3600000LL + 59 * 60000); /* Thu 23:59 local */
    expect_ok(ask_return(f, "20251125-1-000031", unit), HOTLINE__TICKET_STATUS__TICKET_DISPATCHED,
              0);
    hclock_set_ms(f->clock, T0 + (2 * 24 + 16) * 3600000LL + 60000); /* Fri 00:01 local */
    expect_refusal(ask_return(f, "20251125-1-000032", unit), HOTLINE__STATUS__CONFLICT,
                   "requestReturn.ticketId", "return window of ticket 20251125-1-000032 ended");
}


/* ---- reply_due: sla's deadlines as dispatch keeps them, in every layout on disk ---- */

static answer_t ask_extension(fixture_t *f, const char *id, uint32_t days)
{
    Hotline__RequestExtension rq = HOTLINE__REQUEST_EXTENSION__INIT;
    rq.ticket_id = (char *)id;
    rq.unit = "repair-crew-mains";
    rq.working_days = days;
    rq.reason = "parts on order";
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_REQUEST_EXTENSION;
    cmd.request_extension = &rq;
    return run(f, &cmd);
}

/* Write a reply_due record as it is on disk (bytes given), as older versions left it. */
static void due_raw(fixture_t *f, const char *id, const uint8_t *bytes, size_t len)
{
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_put(txn, f->d->reply_due, id, strlen(id), bytes, len, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
}

static size_t be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return (size_t)bytes;
}

static size_t due_stored(fixture_t *f, const char *id)
{
    MDB_txn *txn;
    MDB_val v;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_get(txn, f->d->reply_due, id, strlen(id), &v), 0);
    size_t n = v.mv_size;
    store_read_end(&txn);
    return n;
}

static void test_reply_due_records(void **state)
{
    fixture_t *f = *state;
    const int64_t DAY = 86400000LL;
    hclock_set_ms(f->clock, T0 + DAY);
    received(f, "T-v2", "W0402", "Gulou");
    received(f, "T-v1", "W0402", "Gulou");
    received(f, "T-v3", "W0402", "Gulou");
    /* Version 2 (28 bytes): round 0, due in 10 days, nothing granted, the policy's return
     * window over a day ago, at most 3 days' extension. */
    uint8_t b[28];
    size_t n = be(b, 0, 4);
    n += be(b + n, (uint64_t)(T0 + 11 * DAY), 8);
    n += be(b + n, 0, 4);
    n += be(b + n, (uint64_t)T0, 8);
    n += be(b + n, 3, 4);
    due_raw(f, "T-v2", b, n);
    expect_refusal(ask_extension(f, "T-v2", 4), HOTLINE__STATUS__INVALID,
                   "requestExtension.workingDays", "1 to 3 working days");
    expect_refusal(ask_return(f, "T-v2", "repair-crew-mains"), HOTLINE__STATUS__CONFLICT, "requestReturn.ticketId",
                   "return window");
    /* Version 1 (16 bytes): no policy part, so the centre's limit (10); due yesterday. */
    be(b + 4, (uint64_t)T0, 8);
    due_raw(f, "T-v1", b, 16);
    expect_refusal(ask_extension(f, "T-v1", 11), HOTLINE__STATUS__INVALID,
                   "requestExtension.workingDays", "1 to 10 working days");
    expect_refusal(ask_extension(f, "T-v1", 2), HOTLINE__STATUS__CONFLICT,
                   "requestExtension.ticketId", "was due");
    /* What sla's feed writes now: the compact layout, read back the same. */
    Hotline__SlaClockStarted st = HOTLINE__SLA_CLOCK_STARTED__INIT;
    st.clock = HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY;
    st.round = 0;
    st.due_ms = T0 + 11 * DAY;
    st.return_until_ms = T0; /* over */
    st.extension_max_working_days = 2;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = "T-v3";
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED;
    ev.sla_clock_started = &st;
    apply(f, dispatch_apply_sla, &ev);
    assert_true(due_stored(f, "T-v3") < 16);
    expect_refusal(ask_extension(f, "T-v3", 3), HOTLINE__STATUS__INVALID,
                   "requestExtension.workingDays", "1 to 2 working days");
    expect_refusal(ask_return(f, "T-v3", "repair-crew-mains"), HOTLINE__STATUS__CONFLICT, "requestReturn.ticketId",
                   "return window");
    expect_ok(ask_extension(f, "T-v3", 2), HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, 0);
    /* A return window still open (in a day) is taken from the compact record too. */
    st.return_until_ms = T0 + 2 * DAY;
    ev.ticket_id = "T-v2";
    apply(f, dispatch_apply_sla, &ev);
    expect_ok(ask_return(f, "T-v2", "repair-crew-mains"), HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, 0);
}

/* ---- unit_queue keys of earlier versions (unit NUL state ticket id): rewritten at open ---- */

typedef struct keys {
    size_t n, old; /* all keys; those not in the numbered form (0, unit number, ...) */
    char (*k)[128];
    size_t *len;
} keys_t;

static int keys_visit(void *ctx, const store_entry_t *e)
{
    keys_t *k = ctx;
    if (((const uint8_t *)e->key.mv_data)[0] != 0)
        k->old++;
    if (k->k) {
        memcpy(k->k[k->n], e->key.mv_data, e->key.mv_size);
        k->len[k->n] = e->key.mv_size;
    }
    k->n++;
    return 0;
}

static keys_t queue_keys(fixture_t *f, bool copy)
{
    keys_t k = {0};
    if (copy) {
        k.k = calloc(16, sizeof *k.k);
        k.len = calloc(16, sizeof *k.len);
    }
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_scan(txn, f->d->queue, NULL, keys_visit, &k), 0);
    store_read_end(&txn);
    return k;
}

static int drop_visit(void *ctx, const store_entry_t *e)
{
    (void)ctx;
    return store_scan_del(e);
}

static void test_queue_keys_migrated(void **state)
{
    fixture_t *f = *state;
    const char *cs = "repair-crew-mains";
    received(f, "20251125-1-000001", "W0402", "Gulou");
    received(f, "20251125-1-000002", "W0402", "Gulou");
    received(f, "20251125-1-000003", "P07", "Gulou"); /* the fallback desk */
    expect_ok(sign(f, "20251125-1-000002", cs), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    keys_t k = queue_keys(f, true);
    assert_int_equal(k.n, 3);
    assert_int_equal(k.old, 0);
    /* Make the queue what an earlier version left: the same entries keyed by unit name, plus
     * 10,050 more (no records behind them) of a unit with no number yet, to cross a chunk.
     * (The records stay as they are: version 5, their units by number.) */
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(store_scan(txn, f->d->queue, NULL, drop_visit, NULL), 0);
    const char *units[3] = {cs, cs, "dispatch-desk"};
    for (size_t i = 0; i < k.n; i++) {
        Hotline__TicketStatus st;
        const char *id;
        size_t idlen;
        assert_true(dispatch_queue_key_parse(k.k[i], k.len[i], &st, &id, &idlen));
        char old[128];
        size_t ulen = strlen(units[i]);
        memcpy(old, units[i], ulen + 1);
        old[ulen + 1] = (char)st;
        memcpy(old + ulen + 2, id, idlen);
        assert_int_equal(store_put(txn, f->d->queue, old, ulen + 2 + idlen, "", 0, 0), 0);
    }
    for (int i = 0; i < 10050; i++) {
        char old[64];
        int n = snprintf(old, sizeof old, "drainage%c%c20251124-1-%06d", 0,
                         HOTLINE__TICKET_STATUS__TICKET_CLOSED, i);
        assert_int_equal(store_put(txn, f->d->queue, old, (size_t)n, "", 0, 0), 0);
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    free(k.k);
    free(k.len);
    assert_int_equal(queue_keys(f, false).old, 10053);

    /* Open again: every key rewritten, the queues read as before. */
    dispatch_destroy(&f->d);
    char err[256];
    assert_int_equal(dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err), 0);
    k = queue_keys(f, false);
    assert_int_equal(k.n, 10053);
    assert_int_equal(k.old, 0);
    bool more;
    ids_t q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "", 10, &more);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.id[0], "20251125-1-000001");
    q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_SIGNED, "", 10, &more);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.id[0], "20251125-1-000002");
    q = queue(f, "dispatch-desk", HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "", 10, &more);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.id[0], "20251125-1-000003");
    /* A move after the rewrite leaves its old entry behind, as ever. */
    expect_ok(sign(f, "20251125-1-000001", cs), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, "", 10, &more);
    assert_int_equal(q.n, 0);
    q = queue(f, cs, HOTLINE__TICKET_STATUS__TICKET_SIGNED, "", 10, &more);
    assert_int_equal(q.n, 2);
    assert_int_equal(queue_keys(f, false).n, 10053);
    assert_int_equal(count(f, cs, HOTLINE__TICKET_STATUS__TICKET_SIGNED), 2);
    assert_int_equal(count(f, cs, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED), 0);
}

/* ---- route texts: stored once, numbered; the numbers learnt in memory after commits ---- */

static int count_visit(void *ctx, const store_entry_t *e)
{
    (void)e;
    (*(size_t *)ctx)++;
    return 0;
}

static size_t route_entries(fixture_t *f)
{
    size_t n = 0;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_scan(txn, f->d->route_texts, NULL, count_visit, &n), 0);
    store_read_end(&txn);
    return n;
}

static void test_route_texts(void **state)
{
    fixture_t *f = *state;
    const char *mains = "catalogue 0: W0402 -> repair-crew-mains";
    received(f, "20251125-1-000001", "W0402", "Gulou");
    assert_int_equal(route_entries(f), 3); /* by hash, by number, the last number */
    dispatch_routes_after_commit(f->d);    /* what the service does after each commit */
    received(f, "20251125-1-000002", "W0402", "Gulou"); /* by the number in memory */
    assert_int_equal(route_entries(f), 3);
    /* A transaction that numbered a new route and was rolled back leaves nothing behind,
     * in the store or in memory. */
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    loc.district = "Gulou";
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = "20251125-1-000003";
    t.category_code = "P07";
    t.location = &loc;
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = t.id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(dispatch_apply_intake(f->d, txn, &ev), 0);
    store_write_abort(&txn);
    dispatch_routes_after_commit(f->d);
    assert_int_equal(route_entries(f), 3);
    received(f, "20251125-1-000004", "P07", "Gulou");
    dispatch_routes_after_commit(f->d);
    received(f, "20251125-1-000005", "P07", "Gulou");
    assert_int_equal(route_entries(f), 5);
    snap_t s;
    assert_int_equal(get(f, "20251125-1-000002", &s), 0);
    assert_string_equal(s.route, mains);
    assert_int_equal(get(f, "20251125-1-000004", &s), 0);
    assert_string_equal(s.route, "catalogue 0: fallback -> dispatch-desk");
    assert_int_equal(get(f, "20251125-1-000005", &s), 0);
    assert_string_equal(s.route, "catalogue 0: fallback -> dispatch-desk");
    assert_int_equal(get(f, "20251125-1-000003", &s), HL_ENOTFOUND);
    /* The event still says the route in words. */
    Hotline__Event *e = event_at(f, evlog_head(f->log));
    assert_string_equal(e->ticket_dispatched->route, "catalogue 0: fallback -> dispatch-desk");
    hotline__event__free_unpacked(e, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_due_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_keys_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_texts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unroutable_event_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rework_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_return_window, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
