/* dispatch: the state machine, driven in-process against a store in a temporary directory.
 * Feed events go through dispatch_apply_intake / dispatch_apply_callback and commands
 * through dispatch_command, each in its own write transaction the way the runtime runs them
 * (a refused command's transaction is aborted, as cmdexec does). Checked: the assignment,
 * the queue index and counts, the events appended, refusals with their status and field,
 * and that replayed events never apply twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dispatch.h"
#include "dispatch_internal.h" /* the close fan-out in chunks */
#include "hl_error.h"
#include "pbjson.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

#define T0 1764028800000LL /* 2025-11-25T00:00:00Z */

typedef struct fixture {
    char *dir;
    store_t *store;
    hclock_t *clock;
    evlog_t *log;
    Hotline__DispatchConfig *cfg;
    dispatch_t *d;
    uint64_t intake_seq; /* seq of the last event fed from "intake" */
} fixture_t;

/* What a test keeps of an assignment after its read transaction ends. */
typedef struct snap {
    Hotline__TicketStatus state;
    uint32_t round;
    char unit[80], route[128], result[8192], reason[256], district[64], category[32];
    Hotline__Urgency urgency;
    bool resolved;
    int64_t dispatched_ms, signed_ms, replied_ms, reopened_ms, closed_ms;
} snap_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    f->dir = unit_tmpdir();
    store_opts_t o = {.path = f->dir};
    if (store_open(&f->store, &o) || hclock_create(&f->clock, true))
        return -1;
    hclock_set_ms(f->clock, T0);
    evlog_opts_t lo = {.source = "dispatch", .retention_ms = 3600 * 1000};
    if (evlog_open(&f->log, f->store, f->clock, &lo))
        return -1;
    const char *json = dispatch_service.default_config_json;
    pbjson_error_t perr;
    if (pbjson_decode(&hotline__dispatch_config__descriptor, json, strlen(json), NULL,
                      (ProtobufCMessage **)&f->cfg, &perr))
        return -1;
    char err[256];
    if (dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err)) {
        fprintf(stderr, "dispatch_create: %s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    dispatch_destroy(&f->d);
    assert_null(f->d);
    protobuf_c_message_free_unpacked(&f->cfg->base, NULL);
    evlog_close(&f->log);
    store_close(&f->store);
    hclock_destroy(&f->clock);
    unit_tmpdir_cleanup(f->dir);
    free(f);
    return 0;
}

/* ---- driving ---------------------------------------------------------------------------- */

static void apply(fixture_t *f, feed_apply_fn fn, const Hotline__Event *ev)
{
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(fn(f->d, txn, ev), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
}

/* intake's TicketReceived, as seq (0 = the next one). */
static void received_at(fixture_t *f, uint64_t seq, const char *id, const char *category,
                        const char *district, Hotline__Urgency urgency)
{
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    loc.district = (char *)district;
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = (char *)id;
    t.category_code = (char *)category;
    t.urgency = urgency;
    t.location = &loc;
    t.received_ms = T0 - 60000;
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "intake";
    ev.seq = seq ? seq : ++f->intake_seq;
    ev.ticket_id = (char *)id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    apply(f, dispatch_apply_intake, &ev);
}

static void received(fixture_t *f, const char *id, const char *category, const char *district)
{
    received_at(f, 0, id, category, district, HOTLINE__URGENCY__URGENCY_UNSPECIFIED);
}

static void rework(fixture_t *f, const char *id, uint32_t round, const char *unit,
                   const char *reason)
{
    Hotline__ReworkRequested rr = HOTLINE__REWORK_REQUESTED__INIT;
    rr.round = round;
    rr.unit = (char *)unit;
    rr.reason = (char *)reason;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "callback";
    ev.ticket_id = (char *)id;
    ev.body_case = HOTLINE__EVENT__BODY_REWORK_REQUESTED;
    ev.rework_requested = &rr;
    apply(f, dispatch_apply_callback, &ev);
}

static void closed(fixture_t *f, const char *id)
{
    Hotline__TicketClosed tc = HOTLINE__TICKET_CLOSED__INIT;
    tc.reason = "rated satisfied";
    tc.rating = HOTLINE__RATING__RATING_SATISFIED;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "callback";
    ev.ticket_id = (char *)id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_CLOSED;
    ev.ticket_closed = &tc;
    apply(f, dispatch_apply_callback, &ev);
}

/* A command's answer, kept after its arena is gone. */
typedef struct answer {
    Hotline__Status status;
    char field[64], message[512];
    Hotline__TicketStatus result_status;
    uint32_t result_round;
    char result_unit[80];
    char incident_id[64]; /* what declareIncident answered */
    size_t linked;        /* what linkTickets linked */
    unsigned replied;     /* closeIncident: replied in its transaction */
    bool closing;         /* closeIncident: the rest goes in chunks */
} answer_t;

static answer_t run(fixture_t *f, Hotline__Command *cmd)
{
    arena_t *arena;
    assert_int_equal(arena_create(&arena), 0);
    Hotline__CommandReply msg = HOTLINE__COMMAND_REPLY__INIT;
    cmd_reply_t reply = {&msg, arena};
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(dispatch_command(f->d, txn, cmd, &reply), 0);
    if (msg.status == HOTLINE__STATUS__OK) {
        assert_int_equal(store_write_commit(f->store, &txn), 0);
        evlog_committed(f->log);
    } else {
        store_write_abort(&txn); /* what cmdexec does with a refusal */
    }
    answer_t a = {.status = msg.status};
    snprintf(a.field, sizeof a.field, "%s", msg.field ? msg.field : "");
    snprintf(a.message, sizeof a.message, "%s", msg.message ? msg.message : "");
    if (msg.status == HOTLINE__STATUS__OK &&
        msg.result_case == HOTLINE__COMMAND_REPLY__RESULT_INCIDENT) {
        snprintf(a.incident_id, sizeof a.incident_id, "%s", msg.incident->incident_id);
        a.replied = msg.incident->replied;
        a.closing = msg.incident->closing;
    } else if (msg.status == HOTLINE__STATUS__OK &&
               msg.result_case == HOTLINE__COMMAND_REPLY__RESULT_LINK_TICKETS) {
        a.linked = msg.link_tickets->n_linked;
    } else if (msg.status == HOTLINE__STATUS__OK) {
        assert_int_equal(msg.result_case, HOTLINE__COMMAND_REPLY__RESULT_TICKET_ACTION);
        a.result_status = msg.ticket_action->status;
        a.result_round = msg.ticket_action->round;
        snprintf(a.result_unit, sizeof a.result_unit, "%s", msg.ticket_action->unit);
    }
    arena_destroy(&arena);
    return a;
}

static answer_t sign_as(fixture_t *f, const char *id, const char *unit, const char *actor)
{
    Hotline__SignTicket st = HOTLINE__SIGN_TICKET__INIT;
    st.ticket_id = (char *)id;
    st.unit = (char *)unit;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.actor = (char *)(actor ? actor : "");
    cmd.body_case = HOTLINE__COMMAND__BODY_SIGN_TICKET;
    cmd.sign_ticket = &st;
    return run(f, &cmd);
}

static answer_t sign(fixture_t *f, const char *id, const char *unit)
{
    return sign_as(f, id, unit, NULL);
}

static answer_t reply(fixture_t *f, const char *id, const char *unit, const char *result,
                      bool resolved)
{
    Hotline__ReplyTicket rt = HOTLINE__REPLY_TICKET__INIT;
    rt.ticket_id = (char *)id;
    rt.unit = (char *)unit;
    rt.result = (char *)result;
    rt.resolved = resolved;
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = HOTLINE__COMMAND__BODY_REPLY_TICKET;
    cmd.reply_ticket = &rt;
    return run(f, &cmd);
}

static void expect_ok(answer_t a, Hotline__TicketStatus status, uint32_t round)
{
    if (a.status != HOTLINE__STATUS__OK)
        fail_msg("refused (%d) %s: %s", a.status, a.field, a.message);
    assert_int_equal(a.result_status, status);
    assert_int_equal(a.result_round, round);
}

static void expect_refusal(answer_t a, Hotline__Status status, const char *field, const char *text)
{
    if (a.status != status || strcmp(a.field, field) != 0 || !strstr(a.message, text))
        fail_msg("expected status %d field %s message with \"%s\"; got %d %s \"%s\"", status, field,
                 text, a.status, a.field, a.message);
}

/* ---- reading back ------------------------------------------------------------------------ */

static int get(fixture_t *f, const char *id, snap_t *s)
{
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    dispatch_assignment_t a;
    int rc = dispatch_assignment_get(f->d, txn, id, &a);
    if (rc == 0) {
        memset(s, 0, sizeof *s);
        s->state = a.state;
        s->round = a.round;
        s->urgency = a.urgency;
        s->resolved = a.resolved;
        snprintf(s->unit, sizeof s->unit, "%s", a.unit);
        snprintf(s->route, sizeof s->route, "%s", a.route);
        snprintf(s->result, sizeof s->result, "%s", a.result);
        snprintf(s->reason, sizeof s->reason, "%s", a.reason);
        snprintf(s->district, sizeof s->district, "%s", a.district);
        snprintf(s->category, sizeof s->category, "%s", a.category_code);
        s->dispatched_ms = a.dispatched_ms;
        s->signed_ms = a.signed_ms;
        s->replied_ms = a.replied_ms;
        s->reopened_ms = a.reopened_ms;
        s->closed_ms = a.closed_ms;
    }
    store_read_end(&txn);
    return rc;
}

static uint64_t count(fixture_t *f, const char *unit, Hotline__TicketStatus state)
{
    MDB_txn *txn;
    uint64_t n;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(dispatch_unit_count(f->d, txn, unit, state, &n), 0);
    store_read_end(&txn);
    return n;
}

typedef struct ids {
    char id[16][40];
    int n;
} ids_t;

static int collect(void *ctx, const dispatch_assignment_t *a)
{
    ids_t *ids = ctx;
    snprintf(ids->id[ids->n++], sizeof ids->id[0], "%s", a->ticket_id);
    return 0;
}

static ids_t queue(fixture_t *f, const char *unit, Hotline__TicketStatus state, const char *after,
                   size_t limit, bool *more)
{
    ids_t ids = {.n = 0};
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(dispatch_queue_list(f->d, txn, unit, state, after, limit, collect, &ids, more),
                     0);
    store_read_end(&txn);
    return ids;
}

static int unpack_event(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    Hotline__Event **out = ctx;
    *out = hotline__event__unpack(NULL, len, bytes);
    return 1; /* one is enough */
}

/* The event at seq in dispatch's log (caller frees), NULL past the head. */
static Hotline__Event *event_at(fixture_t *f, uint64_t seq)
{
    if (seq > evlog_head(f->log))
        return NULL;
    Hotline__Event *ev = NULL;
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    evlog_read(f->log, txn, seq - 1, 1, 1 << 20, unpack_event, &ev);
    store_read_end(&txn);
    assert_non_null(ev);
    return ev;
}

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

/* A ticket with a community (incidents match areas on it), joined at the door to incident
 * when that is not NULL. */
static void received_in(fixture_t *f, const char *id, const char *category, const char *community,
                        const char *incident)
{
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    loc.district = "Taijiang";
    loc.community = (char *)community;
    Hotline__Ticket t = HOTLINE__TICKET__INIT;
    t.id = (char *)id;
    t.category_code = (char *)category;
    t.location = &loc;
    if (incident)
        t.incident_id = (char *)incident;
    Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
    tr.ticket = &t;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.source = "intake";
    ev.seq = ++f->intake_seq;
    ev.ticket_id = (char *)id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
    ev.ticket_received = &tr;
    apply(f, dispatch_apply_intake, &ev);
}

/* A ticket intake joined to an incident: LINKED while the incident is open, dispatched like
 * any other when the incident is unknown or already closed (intake had not heard yet). */
static void incident_ticket(fixture_t *f, const char *id, const char *incident)
{
    received_in(f, id, "W01", "Riverside", incident);
}

static answer_t incident_cmd(fixture_t *f, uint32_t body_case, ProtobufCMessage *body)
{
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.body_case = body_case;
    cmd.declare_incident = (Hotline__DeclareIncident *)body; /* the one-of shares one pointer */
    return run(f, &cmd);
}

static answer_t declare_riverside(fixture_t *f)
{
    Hotline__IncidentArea area = HOTLINE__INCIDENT_AREA__INIT;
    area.community = "Riverside";
    Hotline__DeclareIncident d = HOTLINE__DECLARE_INCIDENT__INIT;
    d.category_prefix = "W01";
    d.area = &area;
    d.summary = "main repair";
    return incident_cmd(f, HOTLINE__COMMAND__BODY_DECLARE_INCIDENT, &d.base);
}

static void test_incident_links(void **state)
{
    fixture_t *f = *state;
    answer_t a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    char inc[64]; /* a copy: the answers below overwrite a */
    snprintf(inc, sizeof inc, "%s", a.incident_id);

    incident_ticket(f, "T-LINKED", inc);
    snap_t s;
    assert_int_equal(get(f, "T-LINKED", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_LINKED);
    incident_ticket(f, "T-UNKNOWN", "INC-NOPE");
    assert_int_equal(get(f, "T-UNKNOWN", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);

    Hotline__CloseIncident c = HOTLINE__CLOSE_INCIDENT__INIT;
    c.incident_id = inc;
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__INVALID); /* no resolution to tell callers */
    c.resolution = "main repaired";
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    /* The ticket joined at the door is replied with the resolution. */
    assert_int_equal(get(f, "T-LINKED", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    incident_ticket(f, "T-LATE", inc); /* joined at the door just before intake heard */
    assert_int_equal(get(f, "T-LATE", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    assert_string_equal(s.unit, "water-supply");
    /* Closing twice is refused, naming the incident. */
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__CONFLICT);
}

static answer_t link_cmd(fixture_t *f, const char *inc, char **ids, size_t n, bool matching)
{
    Hotline__LinkTickets l = HOTLINE__LINK_TICKETS__INIT;
    l.incident_id = (char *)inc;
    l.ticket_ids = ids;
    l.n_ticket_ids = n;
    l.matching = matching;
    return incident_cmd(f, HOTLINE__COMMAND__BODY_LINK_TICKETS, &l.base);
}

static answer_t unlink_cmd(fixture_t *f, const char *inc, const char *id)
{
    Hotline__UnlinkTicket u = HOTLINE__UNLINK_TICKET__INIT;
    u.incident_id = (char *)inc;
    u.ticket_id = (char *)id;
    return incident_cmd(f, HOTLINE__COMMAND__BODY_UNLINK_TICKET, &u.base);
}

/* Linking by rule takes the open tickets in the incident's category and area; by hand any
 * open ticket, and a closed or replied one is refused naming it; unlink sends a ticket back to
 * the unit it left; the close replies every linked ticket, in chunks when asked. */
static void test_incident_link_unlink_close(void **state)
{
    fixture_t *f = *state;
    answer_t a = declare_riverside(f);
    char inc[64];
    snprintf(inc, sizeof inc, "%s", a.incident_id);
    received_in(f, "R1", "W01", "Riverside", NULL);
    received_in(f, "R2", "W0102", "riverside", NULL);
    received_in(f, "R3", "W01", "Hillside", NULL);
    received_in(f, "R4", "W03", "Riverside", NULL);
    received_in(f, "R5", "W01", "Riverside", NULL);
    expect_ok(sign(f, "R2", "water-supply"), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    expect_ok(sign(f, "R5", "water-supply"), HOTLINE__TICKET_STATUS__TICKET_SIGNED, 0);
    expect_ok(reply(f, "R5", "water-supply", "done", true), HOTLINE__TICKET_STATUS__TICKET_REPLIED,
              0);

    a = link_cmd(f, inc, NULL, 0, true);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_int_equal(a.linked, 2); /* R1 and R2: R3 elsewhere, R4 water quality, R5 replied */
    snap_t s;
    assert_int_equal(get(f, "R2", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_LINKED);
    assert_int_equal(count(f, "water-supply", HOTLINE__TICKET_STATUS__TICKET_SIGNED), 0);
    assert_int_equal(get(f, "R4", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);

    char *hand[] = {"R3"}, *replied[] = {"R5"};
    a = link_cmd(f, inc, hand, 1, false);
    assert_int_equal(a.linked, 1);
    expect_refusal(link_cmd(f, inc, replied, 1, false), HOTLINE__STATUS__CONFLICT,
                   "linkTickets.ticketIds[0]", "ticket R5 is REPLIED");
    expect_refusal(link_cmd(f, inc, hand, 1, true), HOTLINE__STATUS__INVALID,
                   "linkTickets.matching", "not both");
    expect_refusal(link_cmd(f, "INC-NOPE", hand, 1, false), HOTLINE__STATUS__NOT_FOUND,
                   "linkTickets.incidentId", "no incident INC-NOPE");

    expect_ok(unlink_cmd(f, inc, "R3"), HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, 0);
    assert_int_equal(get(f, "R3", &s), 0);
    assert_string_equal(s.unit, "water-supply");
    expect_refusal(unlink_cmd(f, inc, "R3"), HOTLINE__STATUS__CONFLICT, "unlinkTicket.ticketId",
                   "not linked");

    /* A wide incident: refused for a dispatcher, naming the rule; a supervisor may. */
    Hotline__IncidentArea area = HOTLINE__INCIDENT_AREA__INIT;
    area.district = "Gulou";
    Hotline__DeclareIncident d = HOTLINE__DECLARE_INCIDENT__INIT;
    d.category_prefix = "W04";
    d.area = &area;
    d.summary = "call 138 0013 8000";
    Hotline__Principal who = HOTLINE__PRINCIPAL__INIT;
    who.role = HOTLINE__ROLE__ROLE_DISPATCHER;
    who.name = "desk-1";
    Hotline__Command cmd = HOTLINE__COMMAND__INIT;
    cmd.by = &who;
    cmd.body_case = HOTLINE__COMMAND__BODY_DECLARE_INCIDENT;
    cmd.declare_incident = &d;
    expect_refusal(run(f, &cmd), HOTLINE__STATUS__FORBIDDEN, "declareIncident.area",
                   "supervisor");
    who.role = HOTLINE__ROLE__ROLE_SUPERVISOR;
    assert_int_equal(run(f, &cmd).status, HOTLINE__STATUS__OK);

    Hotline__CloseIncident c = HOTLINE__CLOSE_INCIDENT__INIT;
    c.incident_id = inc;
    c.resolution = "main repaired; call 13800138000 with questions";
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_int_equal(get(f, "R1", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    assert_true(s.resolved);
    assert_non_null(strstr(s.result, "main repaired"));
    assert_null(strstr(s.result, "13800138000")); /* masked: callers hear it */
    assert_int_equal(get(f, "R3", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED);
    expect_refusal(link_cmd(f, inc, hand, 1, false), HOTLINE__STATUS__CONFLICT,
                   "linkTickets.incidentId", "closed");

    /* In chunks: two, then the last one, resuming after the last ticket replied. */
    a = declare_riverside(f);
    snprintf(inc, sizeof inc, "%s", a.incident_id);
    incident_ticket(f, "C1", inc);
    incident_ticket(f, "C2", inc);
    incident_ticket(f, "C3", inc);
    MDB_txn *txn;
    unsigned n;
    bool more;
    char last[DISPATCH_TICKET_ID_MAX + 1];
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(dispatch_close_fanout(f->d, txn, inc, "fixed", NULL, 2, &n, &more, last), 0);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(last, "C2");
    assert_int_equal(dispatch_close_fanout(f->d, txn, inc, "fixed", last, 2, &n, &more, last), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(get(f, "C3", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
}

/* More than one transaction's worth: the close replies DISPATCH_CLOSE_CHUNK and marks the
 * incident closing (durably: the mark is in the store); each continuation replies the next
 * chunk and the last one removes the mark. */
static void test_incident_close_in_chunks(void **state)
{
    fixture_t *f = *state;
    answer_t a = declare_riverside(f);
    char inc[64];
    snprintf(inc, sizeof inc, "%s", a.incident_id);
    unsigned n = DISPATCH_CLOSE_CHUNK + 3;
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    for (unsigned i = 0; i < n; i++) { /* joined at the door, in one transaction */
        char id[32];
        snprintf(id, sizeof id, "K%05u", i);
        Hotline__Location loc = HOTLINE__LOCATION__INIT;
        loc.community = "Riverside";
        Hotline__Ticket t = HOTLINE__TICKET__INIT;
        t.id = id;
        t.category_code = "W01";
        t.location = &loc;
        t.incident_id = inc;
        Hotline__TicketReceived tr = HOTLINE__TICKET_RECEIVED__INIT;
        tr.ticket = &t;
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.source = "intake";
        ev.seq = ++f->intake_seq;
        ev.ticket_id = id;
        ev.body_case = HOTLINE__EVENT__BODY_TICKET_RECEIVED;
        ev.ticket_received = &tr;
        assert_int_equal(dispatch_apply_intake(f->d, txn, &ev), 0);
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);

    Hotline__CloseIncident c = HOTLINE__CLOSE_INCIDENT__INIT;
    c.incident_id = inc;
    c.resolution = "fixed";
    a = incident_cmd(f, HOTLINE__COMMAND__BODY_CLOSE_INCIDENT, &c.base);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_int_equal(a.replied, DISPATCH_CLOSE_CHUNK);
    assert_true(a.closing);
    snap_t s;
    assert_int_equal(get(f, "K05002", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_LINKED);
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_true(dispatch_incident_closing(f->d, txn, inc));
    bool more = true;
    assert_int_equal(dispatch_close_continue(f->d, txn, inc, &more), 0);
    assert_false(more);
    assert_false(dispatch_incident_closing(f->d, txn, inc));
    assert_int_equal(dispatch_close_continue(f->d, txn, inc, &more), 0); /* done: nothing */
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    assert_int_equal(get(f, "K05002", &s), 0);
    assert_int_equal(s.state, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
    assert_int_equal(count(f, "water-supply", HOTLINE__TICKET_STATUS__TICKET_REPLIED), n);
}

/* Incident ids carry the local date in the zone of calendar.utcOffsetMinutes / utcOffset, the
 * key every service reads, not a fixed UTC+8: near midnight the two disagree. */
static void test_incident_date_in_zone(void **state)
{
    fixture_t *f = *state;
    hclock_set_ms(f->clock, T0 - 8 * 3600000 - 30 * 60000); /* 2025-11-24T15:30Z */
    /* 23:30 at the default UTC+8 */
    answer_t a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_string_equal(a.incident_id, "INC-20251124-001");

    /* The same instant at UTC+9 is 00:30 on the 25th: a new day, so its own sequence. */
    dispatch_destroy(&f->d);
    f->cfg->calendar->utc_offset_minutes = 540;
    char err[256];
    assert_int_equal(dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err),
                     0);
    a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_string_equal(a.incident_id, "INC-20251125-001");

    /* At UTC-5 (written the other way, which wins over the minutes) 00:30Z on the 25th is
     * still the 24th: the 24th's second incident. */
    dispatch_destroy(&f->d);
    f->cfg->calendar->utc_offset = strdup("-05:00");
    assert_int_equal(dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err),
                     0);
    hclock_set_ms(f->clock, T0 + 30 * 60000);
    a = declare_riverside(f);
    assert_int_equal(a.status, HOTLINE__STATUS__OK);
    assert_string_equal(a.incident_id, "INC-20251124-002");

    /* A zone that is no zone stops dispatch_create, naming the key. */
    dispatch_destroy(&f->d);
    free(f->cfg->calendar->utc_offset);
    f->cfg->calendar->utc_offset = strdup("+8");
    assert_int_equal(dispatch_create(&f->d, f->store, f->log, f->clock, f->cfg, err, sizeof err),
                     HL_EINVAL);
    assert_null(f->d);
    assert_non_null(strstr(err, "calendar.utcOffset"));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dispatch_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unroutable_event_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rework_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_link_unlink_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_close_in_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incident_date_in_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_return_window, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
