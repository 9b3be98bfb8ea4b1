/* sla's clock records across releases (sla_fixture.h drives sla in-process): a version-1
 * record (a header then a packed SlaClockStarted, its step on the scheduler with an id index)
 * is read, answers the same JSON as the version-2 record of the same clock, climbs its ladder,
 * pauses and resumes, and stops with its step cancelled; a first-release record (warning and
 * breach both on the scheduler) stops with both cancelled; version-2 records of the release
 * with one scheduler entry per clock (id ticket \0 clock round step) climb their ladders as the
 * same clocks on one entry per round do, each step once, and join their round's entry. */
#include "sla_fixture.h"

#include "scheduler.h"
#include "sla_record.h"

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* sla's sub-databases, opened before any write transaction of the test. */
typedef struct dbs {
    MDB_dbi clocks, due, meta, steps_due, steps_ids;
} dbs_t;

static dbs_t dbs(fx_t *f)
{
    dbs_t d;
    assert_int_equal(store_db(f->store, "sla_clocks", 0, &d.clocks), 0);
    assert_int_equal(store_db(f->store, "sla_due", 0, &d.due), 0);
    assert_int_equal(store_db(f->store, "sla_meta", 0, &d.meta), 0);
    assert_int_equal(store_db(f->store, "sla_steps.due", 0, &d.steps_due), 0);
    assert_int_equal(store_db(f->store, "sla_steps.ids", 0, &d.steps_ids), 0);
    return d;
}

/* ticket \0 round(BE32) clock: sla_clocks' key. */
static size_t clock_key(uint8_t *k, const char *ticket, uint32_t round, Hotline__SlaClock c)
{
    size_t n = strlen(ticket) + 1;
    memcpy(k, ticket, n);
    be32(k + n, round);
    k[n + 4] = (uint8_t)c;
    return n + 5;
}

/* A step on the scheduler as the releases with an id index put it: sla_steps.due (BE64 instant
 * with the top bit flipped, then the id) and sla_steps.ids (id -> that instant). */
static void put_step(const dbs_t *d, MDB_txn *txn, const char *ticket, Hotline__SlaClock c,
                     uint32_t round, int step, int64_t at, bool id_index)
{
    uint8_t id[64], key[72];
    size_t n = strlen(ticket) + 1;
    memcpy(id, ticket, n);
    id[n] = (uint8_t)c;
    be32(id + n + 1, round);
    id[n + 5] = (uint8_t)step;
    n += 6;
    be64(key, (uint64_t)at ^ (UINT64_C(1) << 63));
    memcpy(key + 8, id, n);
    assert_int_equal(store_put(txn, d->steps_due, key, 8 + n, "", 0, 0), 0);
    if (id_index)
        assert_int_equal(store_put(txn, d->steps_ids, id, n, key, 8, 0), 0);
}

static void put_step_v1(const dbs_t *d, MDB_txn *txn, const char *ticket, Hotline__SlaClock c,
                        uint32_t round, int step, int64_t at)
{
    put_step(d, txn, ticket, c, round, step, at, true);
}

/* c written as a version-1 record under ticket, running, with its due entry and running count,
 * and its steps on the scheduler: pending, or (0, the first release) warning and breach. */
static void put_v1(fx_t *f, const char *ticket, const sla_clock_t *c)
{
    Hotline__SlaClockStarted st = HOTLINE__SLA_CLOCK_STARTED__INIT;
    st.clock = c->clock;
    st.due_ms = c->due_ms;
    st.warn_ms = c->warn_ms;
    st.policy = (char *)c->policy;
    st.limit = (char *)c->limit;
    st.round = c->round;
    st.unit = (char *)c->unit;
    st.category_code = (char *)c->category;
    st.reminder_ms = c->reminder_ms;
    st.red_ms = c->red_ms;
    st.supervision_ms = c->supervision_ms;
    st.limit_unit = c->limit_unit;
    st.policy_version = c->policy_version;
    uint8_t rec[1024] = {1, 0, 0, c->pending};
    be64(rec + 4, (uint64_t)c->start_ms);
    size_t len = 20 + hotline__sla_clock_started__pack(&st, rec + 20);
    dbs_t d = dbs(f);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    uint8_t key[160], dk[168];
    size_t klen = clock_key(key, ticket, c->round, c->clock);
    assert_int_equal(store_put(txn, d.clocks, key, klen, rec, len, 0), 0);
    be64(dk, (uint64_t)c->due_ms);
    memcpy(dk + 8, key, klen);
    assert_int_equal(store_put(txn, d.due, dk, 8 + klen, "", 0, 0), 0);
    const char *run = c->clock == SIGN ? "running.sign" : "running.reply";
    assert_int_equal(store_add_u64(txn, d.meta, run, strlen(run), 1, NULL), 0);
    /* counted as sla_waiting_open counts an earlier release's store at start-up */
    assert_int_equal(store_add_u64(txn, d.meta, "steps.waiting", 13, 1, NULL), 0);
    if (c->pending) {
        put_step_v1(&d, txn, ticket, c->clock, c->round, c->pending, c->pending_at_ms);
    } else {
        put_step_v1(&d, txn, ticket, c->clock, c->round, SLA_STEP_WARN, c->warn_ms);
        put_step_v1(&d, txn, ticket, c->clock, c->round, SLA_STEP_BREACH, c->due_ms);
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);
}

static uint64_t steps_pending(fx_t *f)
{
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(scheduler_count(sla_steps(f->sla), txn, &n), 0);
    store_read_end(&txn);
    return n;
}

static json_t *due_json(fx_t *f)
{
    MDB_txn *txn;
    json_t *j = NULL;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(sla_due_json(f->sla, txn, INT64_MAX, 100, &j), 0);
    store_read_end(&txn);
    return j;
}

/* The clock of a ticket started now, as version 2 wrote it. */
static sla_clock_t started(fx_t *f, const char *ticket, Hotline__SlaClock clock, int64_t t0)
{
    dispatched(f, ticket, "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    return get_clock(f, ticket, 0, clock);
}

/* Events of ticket after seq h, of kind k (0: any). */
static size_t events_of(fx_t *f, uint64_t h, const char *ticket, Hotline__Event__BodyCase k)
{
    collected_t got;
    collect(f, h, &got);
    size_t n = 0;
    for (size_t i = 0; i < got.n; i++)
        n += strcmp(got.ev[i]->ticket_id, ticket) == 0 && (!k || got.ev[i]->body_case == k);
    collected_free(&got);
    return n;
}

static void test_v1_record_reads_and_climbs(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0); /* a Monday */
    sla_clock_t c = started(f, "NEW-1", REPLY, t0);
    assert_int_equal(c.pending, SLA_STEP_REMIND);
    assert_false(c.pending_by_id);
    assert_int_equal(c.pending_at_ms, c.reminder_ms);
    assert_true(c.warn_ms > c.reminder_ms);
    uint64_t steps0 = steps_pending(f); /* NEW-1's sign and reply */
    /* The same clock as a version-1 record of another ticket. */
    put_v1(f, "OLD-1", &c);
    assert_int_equal(steps_pending(f), steps0 + 1);
    sla_clock_t o = get_clock(f, "OLD-1", 0, REPLY);
    assert_true(o.pending_by_id);
    assert_int_equal(o.pending, SLA_STEP_REMIND);
    assert_int_equal(o.start_ms, c.start_ms);
    assert_int_equal(o.due_ms, c.due_ms);
    assert_int_equal(o.warn_ms, c.warn_ms);
    assert_int_equal(o.reminder_ms, c.reminder_ms);
    assert_int_equal(o.red_ms, c.red_ms);
    assert_int_equal(o.supervision_ms, c.supervision_ms);
    assert_int_equal(o.limit_unit, c.limit_unit);
    assert_string_equal(o.policy, "default");
    assert_string_equal(o.limit, "5 working days");
    assert_string_equal(o.unit, c.unit);
    assert_string_equal(o.category, "W06");
    /* Both records answer the same JSON. */
    json_t *a = clocks_json(f, "NEW-1"), *b = clocks_json(f, "OLD-1");
    assert_true(json_equal(json_array_get(json_object_get(a, "clocks"), 1),
                           json_array_get(json_object_get(b, "clocks"), 0)));
    json_decref(a);
    json_decref(b);
    json_t *due = due_json(f);
    assert_int_equal(json_array_size(json_object_get(due, "clocks")), 3); /* NEW-1 x 2, OLD-1 */
    json_decref(due);
    /* The old step fires once; the next goes on the scheduler without an id index. */
    uint64_t h = head(f);
    fire(f, c.reminder_ms);
    assert_int_equal(events_of(f, h, "OLD-1", 0), 1);
    assert_int_equal(events_of(f, h, "OLD-1", K_ESCALATED), 1);
    o = get_clock(f, "OLD-1", 0, REPLY);
    assert_true(o.reminded);
    assert_false(o.pending_by_id);
    assert_int_equal(o.pending, SLA_STEP_WARN);
    assert_int_equal(o.pending_at_ms, c.warn_ms);
    assert_string_equal(o.limit, "5 working days");
    MDB_txn *txn;
    int64_t at;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    uint8_t id[16] = "OLD-1";
    id[6] = (uint8_t)REPLY;
    id[11] = SLA_STEP_REMIND;
    assert_int_equal(scheduler_due(sla_steps(f->sla), txn, id, 12, &at), HL_ENOTFOUND);
    store_read_end(&txn);
    /* Replied: the warning leaves the scheduler, the verdict is kept. */
    uint64_t steps1 = steps_pending(f);
    replied(f, "OLD-1", 0, c.reminder_ms + MIN_MS);
    assert_int_equal(steps_pending(f), steps1 - 1);
    o = get_clock(f, "OLD-1", 0, REPLY);
    assert_true(o.stopped && o.on_time);
    assert_int_equal(o.stopped_ms, c.reminder_ms + MIN_MS);
    assert_string_equal(o.policy, "default");
    assert_int_equal(running(f, REPLY), 1); /* NEW-1's */
    h = head(f);
    fire(f, c.red_ms + HOUR_MS);
    assert_true(events_of(f, h, "NEW-1", K_BREACHED) > 0);
    assert_int_equal(events_of(f, h, "OLD-1", 0), 0);
    steps_waiting(f); /* the count follows the older records */
}

static void test_first_release_record_stops_both_steps(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0);
    sla_clock_t c = started(f, "NEW-2", REPLY, t0);
    uint64_t steps0 = steps_pending(f);
    /* The first release: no ladder beyond warning and breach, both on the scheduler. */
    c.pending = 0;
    c.reminder_ms = c.red_ms = c.supervision_ms = 0;
    c.limit_unit = 0;
    put_v1(f, "OLD-2", &c);
    assert_int_equal(steps_pending(f), steps0 + 2);
    sla_clock_t o = get_clock(f, "OLD-2", 0, REPLY);
    assert_true(o.pending_by_id);
    assert_int_equal(o.pending, 0);
    replied(f, "OLD-2", 0, c.warn_ms - MIN_MS);
    assert_int_equal(steps_pending(f), steps0); /* warning and breach both gone */
    o = get_clock(f, "OLD-2", 0, REPLY);
    assert_true(o.stopped && o.on_time);
    assert_false(o.warned);
    assert_string_equal(o.limit, "5 working days");
    uint64_t h = head(f);
    fire(f, c.due_ms + HOUR_MS);
    assert_int_equal(events_of(f, h, "OLD-2", 0), 0);
    assert_true(events_of(f, h, "NEW-2", K_WARNING) > 0);
    steps_waiting(f); /* the count follows the older records */
}

/* A first-release record whose warning and breach fall due in one pass: each fires once, and
 * the pass does not trip over the breach's entry the warning's fire leaves in place. */
static void test_first_release_steps_in_one_pass(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0);
    sla_clock_t c = started(f, "NEW-7", REPLY, t0);
    c.pending = 0;
    c.reminder_ms = c.red_ms = c.supervision_ms = 0;
    c.limit_unit = 0;
    put_v1(f, "OLD-7", &c);
    uint64_t h = head(f);
    fire(f, c.due_ms + HOUR_MS);
    assert_int_equal(events_of(f, h, "OLD-7", K_WARNING), 1);
    assert_int_equal(events_of(f, h, "OLD-7", K_BREACHED), 1);
    assert_int_equal(events_of(f, h, "OLD-7", 0), 2);
    sla_clock_t o = get_clock(f, "OLD-7", 0, REPLY);
    assert_true(o.warned && o.breached && !o.stopped);
    h = head(f);
    fire(f, c.due_ms + 30 * 24 * HOUR_MS);
    assert_int_equal(events_of(f, h, "OLD-7", 0), 0);
    steps_waiting(f); /* the count follows the older records */
}

static void test_v1_record_held_and_resumed(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0);
    sla_clock_t c = started(f, "NEW-3", REPLY, t0);
    uint64_t steps0 = steps_pending(f);
    put_v1(f, "OLD-3", &c);
    /* On hold before its reminder: the step an older release put leaves with its id. */
    hold(f, "OLD-3", 1, false, t0 + HOUR_MS);
    assert_int_equal(steps_pending(f), steps0);
    sla_clock_t o = get_clock(f, "OLD-3", 0, REPLY);
    assert_true(o.paused);
    assert_int_equal(o.pending, 0);
    assert_int_equal(o.paused_ms, t0 + HOUR_MS);
    assert_int_equal(o.due_ms, c.due_ms);
    /* Resumed a day later: the reminder comes back, due where the record says. */
    hold(f, "OLD-3", 2, true, t0 + 25 * HOUR_MS);
    assert_int_equal(steps_pending(f), steps0 + 1);
    o = get_clock(f, "OLD-3", 0, REPLY);
    assert_false(o.paused);
    assert_false(o.pending_by_id);
    assert_int_equal(o.pending, SLA_STEP_REMIND);
    assert_true(o.due_ms > c.due_ms);
    assert_int_equal(o.pending_at_ms, o.reminder_ms);
    assert_true(o.reminder_ms > c.reminder_ms);
    replied(f, "OLD-3", 0, t0 + 26 * HOUR_MS);
    assert_int_equal(steps_pending(f), steps0);
    assert_true(get_clock(f, "OLD-3", 0, REPLY).on_time);
    steps_waiting(f); /* the count follows the older records */
}

/* ticket's round 0 (sign and reply clocks, dispatched with urgency NORMAL) as the releases
 * before the ticket record stored it: a version-2 record per clock in sla_clocks and a packed
 * TicketDispatched in sla_tickets, a due key per clock in sla_due. per_clock: as the release with one scheduler entry per
 * clock left them (records without REC_ON_ROUND, each pending step on an entry of its own at
 * the record's instant, no round entry); else as the one with round entries (the round's
 * entry stays). */
static void to_old_layout(fx_t *f, const char *ticket, bool per_clock)
{
    const Hotline__SlaClock clocks[2] = {SIGN, REPLY};
    sla_clock_t was[2] = {get_clock(f, ticket, 0, SIGN), get_clock(f, ticket, 0, REPLY)};
    dbs_t d = dbs(f);
    MDB_dbi tickets;
    assert_int_equal(store_db(f->store, "sla_tickets", 0, &tickets), 0);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    int64_t first = 0;
    for (int i = 0; i < 2; i++) {
        sla_clock_t c = was[i];
        assert_true(c.on_round && c.due_on_round && c.pending != 0);
        c.on_round = !per_clock;
        c.due_on_round = false; /* a due key of its own, as every release before had */
        uint8_t key[160], rec[REC_MAX];
        size_t klen = clock_key(key, ticket, 0, clocks[i]);
        size_t len = sla_record_encode(&c, rec);
        assert_int_equal(rec[0], 2);
        assert_int_equal(!!(rec[5] & 0x80), !per_clock);
        assert_int_equal(store_put(txn, d.clocks, key, klen, rec, len, 0), 0);
        uint8_t dk[168];
        be64(dk, (uint64_t)c.due_ms);
        memcpy(dk + 8, key, klen);
        assert_int_equal(store_put(txn, d.due, dk, 8 + klen, "", 0, 0), 0);
        if (per_clock)
            put_step(&d, txn, ticket, clocks[i], 0, c.pending, c.pending_at_ms, false);
        if (!first || c.pending_at_ms < first)
            first = c.pending_at_ms;
    }
    Hotline__TicketDispatched td = HOTLINE__TICKET_DISPATCHED__INIT; /* sla_tickets' value */
    td.unit = was[0].unit;
    td.category_code = was[0].category;
    td.urgency = HOTLINE__URGENCY__URGENCY_NORMAL;
    uint8_t buf[256];
    size_t n = hotline__ticket_dispatched__pack(&td, buf);
    assert_int_equal(store_put(txn, tickets, ticket, strlen(ticket), buf, n, 0), 0);
    uint8_t dk[160];
    size_t tn = strlen(ticket) + 1;
    be64(dk, (uint64_t)(was[0].due_ms < was[1].due_ms ? was[0].due_ms : was[1].due_ms));
    memcpy(dk + 8, ticket, tn);
    be32(dk + 8 + tn, 0);
    assert_int_equal(store_del(txn, d.due, dk, 8 + tn + 4), 0);
    if (per_clock) {
        uint8_t rk[160];
        be64(rk, (uint64_t)first ^ (UINT64_C(1) << 63));
        memcpy(rk + 8, ticket, tn);
        be32(rk + 8 + tn, 0);
        assert_int_equal(store_del(txn, d.steps_due, rk, 8 + tn + 4), 0);
    }
    assert_int_equal(store_write_commit(f->store, &txn), 0);
}

static void to_per_clock_entries(fx_t *f, const char *ticket)
{
    to_old_layout(f, ticket, true);
}

/* Where ticket's round-0 clocks are: 1 the ticket record (version 3), 2 records of their own
 * (version 2) beside a ticket record of the releases before. */
static int layout_of(fx_t *f, const char *ticket)
{
    dbs_t d = dbs(f);
    MDB_dbi tickets;
    assert_int_equal(store_db(f->store, "sla_tickets", 0, &tickets), 0);
    MDB_txn *txn;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    MDB_val v, row;
    uint8_t key[160];
    assert_int_equal(store_get(txn, tickets, ticket, strlen(ticket), &v), 0);
    bool v3 = v.mv_size > 2 && ((uint8_t *)v.mv_data)[0] == 0 && ((uint8_t *)v.mv_data)[1] == 3;
    int rrc = store_get(txn, d.clocks, key, clock_key(key, ticket, 0, SIGN), &row);
    store_read_end(&txn);
    if (v3 && rrc == HL_ENOTFOUND)
        return 1;
    return !v3 && rrc == 0 ? 2 : 0;
}

/* The ladder events of ticket's clock after seq h, one line each ("kind clock step at"), in
 * log order (across clocks due at one instant the order is the scheduler's). */
static void ladder_of(fx_t *f, uint64_t h, const char *ticket, Hotline__SlaClock want,
                      char *out, size_t size)
{
    collected_t got;
    collect(f, h, &got);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < got.n; i++) {
        const Hotline__Event *e = got.ev[i];
        if (strcmp(e->ticket_id, ticket) != 0)
            continue;
        int clock = -1, step = -1;
        long long at = 0;
        if (e->body_case == K_WARNING) {
            clock = e->sla_warning->clock;
            at = e->sla_warning->due_ms;
        } else if (e->body_case == K_BREACHED) {
            clock = e->sla_breached->clock;
            at = e->sla_breached->due_ms;
        } else if (e->body_case == K_ESCALATED) {
            clock = e->sla_escalated->clock;
            step = e->sla_escalated->step;
            at = e->sla_escalated->at_ms;
        }
        if (clock != (int)want)
            continue;
        used += (size_t)snprintf(out + used, size - used, "%d:%d:%d:%lld\n", e->body_case,
                                 clock, step, at);
        assert_true(used < size);
    }
    collected_free(&got);
}

/* Since seq h, the sign and reply clocks of tickets a and b gave the same steps (at least
 * one each), in the same order. */
static void same_ladders(fx_t *f, uint64_t h, const char *a, const char *b)
{
    char x[4096], y[4096];
    for (Hotline__SlaClock k = SIGN; k <= REPLY; k++) {
        ladder_of(f, h, a, k, x, sizeof x);
        ladder_of(f, h, b, k, y, sizeof y);
        assert_string_equal(x, y);
        assert_true(strlen(x) > 0);
    }
}

static void test_per_clock_entries_join_the_round(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0); /* a Monday */
    uint64_t steps0 = steps_pending(f);
    dispatched(f, "NEW-5", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    dispatched(f, "OLD-5", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    assert_int_equal(steps_pending(f), steps0 + 2); /* a round entry each */
    assert_true(get_clock(f, "NEW-5", 0, SIGN).on_round);
    to_per_clock_entries(f, "OLD-5");
    assert_int_equal(layout_of(f, "OLD-5"), 2);
    assert_int_equal(steps_pending(f), steps0 + 3); /* NEW-5's round, OLD-5's sign and reply */
    sla_clock_t s = get_clock(f, "OLD-5", 0, SIGN), r = get_clock(f, "OLD-5", 0, REPLY);
    assert_false(s.on_round || r.on_round);
    uint64_t h = head(f);
    /* The sign clock's first step: its own entry fires, the clock joins the round's entry. */
    fire(f, s.pending_at_ms);
    assert_int_equal(events_of(f, h, "OLD-5", 0), events_of(f, h, "NEW-5", 0));
    assert_true(events_of(f, h, "OLD-5", 0) > 0);
    assert_true(get_clock(f, "OLD-5", 0, SIGN).on_round);
    assert_false(get_clock(f, "OLD-5", 0, REPLY).on_round);
    /* Then both ladders to the top: the same events, each step once, as NEW-5's. */
    for (int day = 1; day <= 30; day++)
        fire(f, t0 + (int64_t)day * 24 * HOUR_MS);
    assert_true(get_clock(f, "OLD-5", 0, REPLY).on_round);
    same_ladders(f, h, "OLD-5", "NEW-5");
    s = get_clock(f, "OLD-5", 0, SIGN);
    r = get_clock(f, "OLD-5", 0, REPLY);
    assert_true(s.warned && s.breached && s.red && s.supervised);
    assert_true(r.reminded && r.warned && r.breached && r.red && r.supervised);
    assert_int_equal(steps_pending(f), steps0); /* both ladders climbed: no entry left */
    /* Replied, late: their clocks stop (the callback clocks the replies start climb alike). */
    replied(f, "OLD-5", 0, t0 + 31 * 24 * HOUR_MS);
    replied(f, "NEW-5", 0, t0 + 31 * 24 * HOUR_MS);
    h = head(f);
    fire(f, t0 + 60 * 24 * HOUR_MS);
    assert_int_equal(events_of(f, h, "OLD-5", 0), events_of(f, h, "NEW-5", 0));
    assert_true(get_clock(f, "OLD-5", 0, REPLY).stopped);
    steps_waiting(f); /* the count follows the conversions */
}

/* Both per-clock entries due in one pass with the round's entry the first made: each step
 * still once, and a stop leaves nothing behind. */
static void test_per_clock_entries_in_one_pass(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0);
    uint64_t steps0 = steps_pending(f);
    dispatched(f, "NEW-6", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    dispatched(f, "OLD-6", "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    to_per_clock_entries(f, "OLD-6");
    uint64_t h = head(f);
    fire(f, t0 + 6 * 24 * HOUR_MS); /* past the sign ladder and the reply's yellow card */
    same_ladders(f, h, "OLD-6", "NEW-6");
    assert_true(get_clock(f, "OLD-6", 0, REPLY).warned);
    signed_(f, "OLD-6", 0, t0 + 7 * 24 * HOUR_MS);
    replied(f, "OLD-6", 0, t0 + 7 * 24 * HOUR_MS);
    signed_(f, "NEW-6", 0, t0 + 7 * 24 * HOUR_MS);
    replied(f, "NEW-6", 0, t0 + 7 * 24 * HOUR_MS);
    h = head(f);
    fire(f, t0 + 60 * 24 * HOUR_MS);
    assert_int_equal(events_of(f, h, "OLD-6", 0), events_of(f, h, "NEW-6", 0));
    assert_int_equal(steps_pending(f), steps0);
    steps_waiting(f); /* the count follows the conversions */
}

/* The clocks of a ticket equal, as GET /v1/clocks shows them. */
static void same_view(fx_t *f, const char *a, const char *b)
{
    json_t *x = clocks_json(f, a), *y = clocks_json(f, b);
    assert_true(json_array_size(json_object_get(x, "clocks")) > 0);
    assert_true(json_equal(json_object_get(x, "clocks"), json_object_get(y, "clocks")));
    json_decref(x);
    json_decref(y);
}

/* Records of the release before the ticket record (a version-2 record per clock, a packed
 * TicketDispatched) are read and answer as the ticket record does; the round's first change
 * converts them; a rework round picks its policy from the inputs they kept, and the older
 * round stays in view. */
static void test_old_records_read_and_converted(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0);
    const char *tk[2] = {"NEW-8", "OLD-8"};
    for (int i = 0; i < 2; i++)
        dispatched(f, tk[i], "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0);
    uint64_t steps = steps_pending(f);
    to_old_layout(f, "OLD-8", false);
    assert_int_equal(layout_of(f, "OLD-8"), 2);
    assert_int_equal(layout_of(f, "NEW-8"), 1);
    assert_int_equal(steps_pending(f), steps);
    same_view(f, "NEW-8", "OLD-8");
    json_t *due = due_json(f);
    assert_int_equal(json_array_size(json_object_get(due, "clocks")), 4);
    json_decref(due);
    for (int i = 0; i < 2; i++)
        signed_(f, tk[i], 0, t0 + MIN_MS);
    assert_int_equal(layout_of(f, "OLD-8"), 1);
    assert_true(get_clock(f, "OLD-8", 0, SIGN).stopped);
    same_view(f, "NEW-8", "OLD-8");
    uint64_t h = head(f);
    for (int i = 0; i < 2; i++) {
        replied(f, tk[i], 0, t0 + HOUR_MS);
        reopened(f, tk[i], "water-north", 1, t0 + 2 * HOUR_MS);
    }
    sla_clock_t o = get_clock(f, "OLD-8", 1, REPLY), n = get_clock(f, "NEW-8", 1, REPLY);
    assert_string_equal(o.policy, n.policy);
    assert_string_equal(o.category, "W06");
    assert_int_equal(o.due_ms, n.due_ms);
    assert_true(get_clock(f, "OLD-8", 0, REPLY).stopped);
    same_view(f, "NEW-8", "OLD-8");
    fire(f, t0 + 40 * 24 * HOUR_MS);
    same_ladders(f, h, "OLD-8", "NEW-8");
    assert_int_equal(events_of(f, h, "OLD-8", 0), events_of(f, h, "NEW-8", 0));
    steps_waiting(f); /* the count follows the conversions */
}

/* GET /v1/due over round keys and (a ticket of the releases before) clock keys: every running
 * clock once, by due then ticket, as when each clock had a key; the limit and "more" alike. */
static void test_due_view_in_clock_order(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0);
    const char *tk[3] = {"A-10", "B-10", "C-10"};
    for (int i = 0; i < 3; i++)
        dispatched(f, tk[i], "W06", HOTLINE__URGENCY__URGENCY_NORMAL, 0, t0 + i * MIN_MS);
    to_old_layout(f, "B-10", false);
    dbs_t d = dbs(f);
    MDB_txn *txn;
    uint64_t keys;
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_count(txn, d.due, &keys), 0);
    store_read_end(&txn);
    assert_int_equal(keys, 4); /* A's and C's rounds, B's two clocks */
    const char *want = "A-10 SLA_CLOCK_SIGN,B-10 SLA_CLOCK_SIGN,C-10 SLA_CLOCK_SIGN,"
                       "A-10 SLA_CLOCK_REPLY,B-10 SLA_CLOCK_REPLY,C-10 SLA_CLOCK_REPLY,";
    for (unsigned limit = 1; limit <= 7; limit++) {
        json_t *j;
        assert_int_equal(store_read_begin(f->store, &txn), 0);
        assert_int_equal(sla_due_json(f->sla, txn, INT64_MAX, limit, &j), 0);
        store_read_end(&txn);
        char got[512] = "";
        json_t *cl = json_object_get(j, "clocks");
        for (size_t i = 0; i < json_array_size(cl); i++) {
            json_t *o = json_array_get(cl, i);
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s %s,",
                     json_string_value(json_object_get(o, "ticketId")),
                     json_string_value(json_object_get(o, "clock")));
        }
        size_t n = json_array_size(cl);
        assert_int_equal(n, limit < 6 ? limit : 6);
        assert_int_equal(strncmp(got, want, strlen(got)), 0);
        assert_int_equal(json_is_true(json_object_get(j, "more")), limit < 6);
        json_decref(j);
    }
    /* A signs: its round's key moves to its reply's due; B's sign key goes. */
    signed_(f, "A-10", 0, t0 + 5 * MIN_MS);
    signed_(f, "B-10", 0, t0 + 5 * MIN_MS);
    json_t *due = due_json(f);
    json_t *cl = json_object_get(due, "clocks");
    assert_int_equal(json_array_size(cl), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cl, 0), "ticketId")),
                        "C-10");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cl, 1), "ticketId")),
                        "A-10");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cl, 2), "ticketId")),
                        "B-10");
    json_decref(due);
    assert_int_equal(store_read_begin(f->store, &txn), 0);
    assert_int_equal(store_count(txn, d.due, &keys), 0);
    store_read_end(&txn);
    assert_int_equal(keys, 3);
}

/* The ticket record's codec: every field of every clock comes back as written, shared or its
 * own, instants a whole number of minutes from the due or not, before or after it. */
static void test_ticket_record_round_trip(void **state)
{
    (void)state;
    sla_ticket_rec_t t = {.round = 3, .n = 3};
    t.in = (sla_inputs_t){.known = true, .round = 3, .urgency = HOTLINE__URGENCY__URGENCY_URGENT,
                          .appeal_type = (Hotline__AppealType)2, .channel = (Hotline__Channel)3};
    strcpy(t.in.unit, "water-north");
    strcpy(t.in.category, "W0402");
    int64_t t0 = 1772416800123; /* ms precision, as events carry */
    for (size_t i = 0; i < t.n; i++) {
        sla_clock_t *c = &t.c[i];
        *c = (sla_clock_t){.clock = (Hotline__SlaClock)(i + 1), .round = 3, .start_ms = t0,
                           .due_ms = t0 + 86400000 * 3 + 7, .limit_unit = 4, .limit_value = 3,
                           .policy_version = 9, .on_round = true, .due_on_round = true};
        c->warn_ms = c->due_ms - 86400000;         /* whole minutes before */
        c->reminder_ms = c->due_ms - 1234567;       /* not whole minutes */
        c->red_ms = c->due_ms + 3600000;            /* whole minutes after */
        c->supervision_ms = c->due_ms + 7200001;    /* not, after */
        strcpy(c->policy, "water-urgent");
        strcpy(c->unit, "water-north");
        strcpy(c->category, "W0402");
        strcpy(c->limit, "3 working days");
    }
    t.c[0].reminded = t.c[0].warned = true;
    t.c[0].pending = SLA_STEP_BREACH;
    t.c[0].pending_at_ms = t.c[0].due_ms + 1000; /* held back a second */
    t.c[1].paused = true;
    t.c[1].paused_ms = t0 + 5000;
    t.c[2].start_ms = t0 + 999; /* the callback clock: its own start, unit, limit text */
    t.c[2].stopped = t.c[2].on_time = t.c[2].suspended = true;
    t.c[2].stopped_ms = t0 - 17; /* before its start: a producer's clock behind */
    strcpy(t.c[2].unit, "callback-desk");
    t.c[2].limit_value = 0;
    strcpy(t.c[2].limit, "within the hour");
    uint8_t buf[TREC_MAX];
    size_t n = sla_ticket_encode(&t, buf);
    MDB_val v = {.mv_size = n, .mv_data = buf};
    assert_true(sla_ticket_is_v3(&v));
    sla_ticket_rec_t back;
    assert_int_equal(sla_ticket_decode(&v, &back, true), 0);
    assert_int_equal(back.round, 3);
    assert_int_equal(back.n, 3);
    assert_true(back.in.known);
    assert_int_equal(back.in.urgency, t.in.urgency);
    assert_int_equal(back.in.appeal_type, t.in.appeal_type);
    assert_int_equal(back.in.channel, t.in.channel);
    assert_string_equal(back.in.unit, "water-north");
    assert_string_equal(back.in.category, "W0402");
    for (size_t i = 0; i < 3; i++) {
        const sla_clock_t *a = &t.c[i], *b = &back.c[i];
        char text[96];
        if (!a->limit_value)
            assert_string_equal(b->limit, a->limit); /* kept as text */
        else /* made from the numbers when shown */
            assert_string_equal(sla_limit_text(b, text, sizeof text), "3 working days");
        assert_int_equal(b->clock, a->clock);
        assert_int_equal(b->round, a->round);
        const int64_t at[][2] = {{a->start_ms, b->start_ms}, {a->due_ms, b->due_ms},
                                 {a->warn_ms, b->warn_ms}, {a->stopped_ms, b->stopped_ms},
                                 {a->reminder_ms, b->reminder_ms}, {a->red_ms, b->red_ms},
                                 {a->supervision_ms, b->supervision_ms},
                                 {a->pending_at_ms, b->pending_at_ms},
                                 {a->paused_ms, b->paused_ms}};
        for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
            assert_int_equal(at[k][1], at[k][0]);
        const bool fl[][2] = {{a->stopped, b->stopped}, {a->on_time, b->on_time},
                              {a->warned, b->warned}, {a->breached, b->breached},
                              {a->reminded, b->reminded}, {a->red, b->red},
                              {a->supervised, b->supervised}, {a->paused, b->paused},
                              {a->suspended, b->suspended}, {a->on_round, b->on_round},
                              {a->due_on_round, b->due_on_round},
                              {a->pending_by_id, b->pending_by_id}};
        for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++)
            assert_int_equal(fl[k][1], fl[k][0]);
        assert_int_equal(b->pending, a->pending);
        assert_int_equal(b->limit_unit, a->limit_unit);
        assert_int_equal(b->limit_value, a->limit_value);
        assert_int_equal(b->limit_anchor, a->limit_anchor);
        assert_int_equal(b->policy_version, a->policy_version);
        assert_string_equal(b->policy, a->policy);
        assert_string_equal(b->unit, a->unit);
        assert_string_equal(b->category, a->category);
    }
    /* A damaged record is refused, not read past its end. */
    for (size_t cut = 3; cut < n; cut++) {
        MDB_val s = {.mv_size = cut, .mv_data = buf};
        assert_int_equal(sla_ticket_decode(&s, &back, true), HL_ECORRUPT);
    }
}

/* A damaged ticket record holds only its own ticket: the other tickets' steps fire (its entry
 * is dropped with a warning) and GET /v1/due shows the others. */
static void test_damaged_record_holds_no_one_else(void **state)
{
    fx_t *f = *state;
    int64_t t0 = local_ms(f, 2026, 3, 2, 10, 0);
    started(f, "BAD-1", REPLY, t0);
    sla_clock_t good = started(f, "GOOD-1", REPLY, t0 + 1000);
    MDB_dbi tickets;
    assert_int_equal(store_db(f->store, "sla_tickets", 0, &tickets), 0);
    MDB_txn *txn;
    assert_int_equal(store_write_begin(f->store, &txn), 0);
    static const uint8_t junk[] = {0, 3, 0, 0, 1, 0xff, 0xff};
    assert_int_equal(store_put(txn, tickets, "BAD-1", 5, junk, sizeof junk, 0), 0);
    assert_int_equal(store_write_commit(f->store, &txn), 0);
    uint64_t h = head(f);
    fire(f, good.due_ms + HOUR_MS); /* settle() fails if a due step is left on the scheduler */
    assert_true(events_of(f, h, "GOOD-1", K_WARNING) > 0);
    assert_int_equal(events_of(f, h, "BAD-1", 0), 0);
    json_t *due = due_json(f);
    json_t *clocks = json_object_get(due, "clocks");
    bool good_shown = false;
    for (size_t i = 0; i < json_array_size(clocks); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(clocks, i), "ticketId"));
        assert_string_not_equal(id, "BAD-1");
        good_shown |= strcmp(id, "GOOD-1") == 0;
    }
    assert_true(good_shown);
    json_decref(due);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_v1_record_reads_and_climbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_release_record_stops_both_steps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_v1_record_held_and_resumed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_release_steps_in_one_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_clock_entries_join_the_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_clock_entries_in_one_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_records_read_and_converted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_due_view_in_clock_order, setup, teardown),
        cmocka_unit_test(test_ticket_record_round_trip),
        cmocka_unit_test_setup_teardown(test_damaged_record_holds_no_one_else, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
