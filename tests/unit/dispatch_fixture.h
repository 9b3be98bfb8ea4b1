/* dispatch_fixture: what the test_dispatch* programs share. The state machine, driven
 * in-process against a store in a temporary directory: feed events go through
 * dispatch_apply_intake / dispatch_apply_callback and commands through dispatch_command, each
 * in its own write transaction the way the runtime runs them (a refused command's transaction
 * is aborted, as cmdexec does); readers for assignments and appended events. Everything is
 * static inline so each test program compiles only what it uses. */
#ifndef HOTLINE_TESTS_UNIT_DISPATCH_FIXTURE_H
#define HOTLINE_TESTS_UNIT_DISPATCH_FIXTURE_H

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

static inline int setup(void **state)
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

static inline int teardown(void **state)
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

static inline void apply(fixture_t *f, feed_apply_fn fn, const Hotline__Event *ev)
{
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    assert_int_equal(fn(f->d, txn, ev), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    evlog_committed(f->log);
}

/* intake's TicketReceived, as seq (0 = the next one). */
static inline void received_at(fixture_t *f, uint64_t seq, const char *id, const char *category,
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

static inline void received(fixture_t *f, const char *id, const char *category, const char *district)
{
    received_at(f, 0, id, category, district, HOTLINE__URGENCY__URGENCY_UNSPECIFIED);
}

static inline void rework(fixture_t *f, const char *id, uint32_t round, const char *unit,
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

static inline void closed(fixture_t *f, const char *id)
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

static inline answer_t run(fixture_t *f, Hotline__Command *cmd)
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
    } else if (msg.status == HOTLINE__STATUS__OK &&
               cmd->body_case != HOTLINE__COMMAND__BODY_DISMISS_HOTSPOT) { /* answers no result */
        assert_int_equal(msg.result_case, HOTLINE__COMMAND_REPLY__RESULT_TICKET_ACTION);
        a.result_status = msg.ticket_action->status;
        a.result_round = msg.ticket_action->round;
        snprintf(a.result_unit, sizeof a.result_unit, "%s", msg.ticket_action->unit);
    }
    arena_destroy(&arena);
    return a;
}

static inline answer_t sign_as(fixture_t *f, const char *id, const char *unit, const char *actor)
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

static inline answer_t sign(fixture_t *f, const char *id, const char *unit)
{
    return sign_as(f, id, unit, NULL);
}

static inline answer_t reply(fixture_t *f, const char *id, const char *unit, const char *result,
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

static inline void expect_ok(answer_t a, Hotline__TicketStatus status, uint32_t round)
{
    if (a.status != HOTLINE__STATUS__OK)
        fail_msg("refused (%d) %s: %s", a.status, a.field, a.message);
    assert_int_equal(a.result_status, status);
    assert_int_equal(a.result_round, round);
}

static inline void expect_refusal(answer_t a, Hotline__Status status, const char *field, const char *text)
{
    if (a.status != status || strcmp(a.field, field) != 0 || !strstr(a.message, text))
        fail_msg("expected status %d field %s message with \"%s\"; got %d %s \"%s\"", status, field,
                 text, a.status, a.field, a.message);
}

/* ---- reading back ------------------------------------------------------------------------ */

static inline int get(fixture_t *f, const char *id, snap_t *s)
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

static inline uint64_t count(fixture_t *f, const char *unit, Hotline__TicketStatus state)
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

static inline int collect(void *ctx, const dispatch_assignment_t *a)
{
    ids_t *ids = ctx;
    snprintf(ids->id[ids->n++], sizeof ids->id[0], "%s", a->ticket_id);
    return 0;
}

static inline ids_t queue(fixture_t *f, const char *unit, Hotline__TicketStatus state, const char *after,
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

static inline int unpack_event(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    Hotline__Event **out = ctx;
    *out = hotline__event__unpack(NULL, len, bytes);
    return 1; /* one is enough */
}

/* The event at seq in dispatch's log (caller frees), NULL past the head. */
static inline Hotline__Event *event_at(fixture_t *f, uint64_t seq)
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

/* A new ticket at a place (incidents and hotspots match areas on it), joined at the door to
 * incident when that is not NULL. */
static inline void received_where(fixture_t *f, const char *id, const char *category,
                                  const char *district, const char *street,
                                  const char *community, const char *incident)
{
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    loc.district = (char *)district;
    loc.street = (char *)street;
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

/* A ticket in a community of Taijiang. */
static inline void received_in(fixture_t *f, const char *id, const char *category, const char *community,
                        const char *incident)
{
    received_where(f, id, category, "Taijiang", "", community, incident);
}

#endif
