/* sla_round: one round of a ticket's clocks, loaded from where it is stored (the ticket record
 * in sla_tickets for the latest round; version-1 and -2 records in sla_clocks for older rounds
 * and the releases before), changed in memory and saved in the same write transaction; the
 * inputs a rework round needs; the round's scheduler entry. Layouts: sla_record.h. Loop
 * thread. */
#include "sla_record.h"

#include "hl_error.h"
#include "slog.h"

#include <inttypes.h>
#include <string.h>

static int rows_visit(void *ctx, const store_entry_t *e)
{
    sla_round_t *r = ctx;
    if (r->n == SLA_ROUND_MAX)
        return 1;
    if (sla_record_decode(&e->val, &r->c[r->n]) == 0)
        r->n++;
    else
        SLOG_WARN("sla_record_corrupt", "ticket=%s round=%u bytes=%zu next=\"clock skipped\"",
                  r->ticket, r->round, e->val.mv_size);
    return 0;
}

/* A ticket record of the releases before (a packed TicketDispatched): the inputs alone. */
static int inputs_of_v2(const MDB_val *v, sla_inputs_t *in)
{
    Hotline__TicketDispatched *t = hotline__ticket_dispatched__unpack(NULL, v->mv_size,
                                                                     v->mv_data);
    if (!t)
        return HL_ECORRUPT;
    *in = (sla_inputs_t){.known = true, .round = t->round, .urgency = t->urgency,
                         .appeal_type = t->appeal_type, .channel = t->channel};
    sla_copy_str(in->unit, sizeof in->unit, t->unit);
    sla_copy_str(in->category, sizeof in->category, t->category_code);
    hotline__ticket_dispatched__free_unpacked(t, NULL);
    return 0;
}

/* The ticket record into r (found, v3, t), its clocks too when want_clocks. */
static int record_get(sla_t *self, MDB_txn *txn, const char *ticket, sla_round_t *r,
                      bool want_clocks)
{
    MDB_val v;
    int rc = store_get(txn, self->tickets, ticket, strlen(ticket), &v);
    r->found = rc == 0;
    r->v3 = r->found && sla_ticket_is_v3(&v);
    r->t.n = 0;
    if (rc == HL_ENOTFOUND) {
        memset(&r->t.in, 0, sizeof r->t.in);
        r->t.round = 0;
        return 0;
    }
    if (rc)
        return rc;
    if (r->v3)
        return sla_ticket_decode(&v, &r->t, want_clocks);
    rc = inputs_of_v2(&v, &r->t.in);
    r->t.round = r->t.in.round;
    return rc;
}

int sla_inputs_get(sla_t *self, MDB_txn *txn, const char *ticket, sla_inputs_t *out)
{
    sla_round_t r;
    int rc = record_get(self, txn, ticket, &r, false);
    *out = r.t.in;
    if (rc == HL_ECORRUPT)
        out->known = false;
    return rc;
}

/* ---- the count of clocks with a step waiting ---- */

#define WAITING_KEY "steps.waiting"

bool sla_clock_waiting(const sla_clock_t *c)
{
    if (c->stopped || c->paused)
        return false;
    if (c->on_round || c->pending)
        return c->pending != 0;
    /* A record of the releases before with no step of its own: one of the first release
     * still has its breach on the scheduler (by id) until the breach is given; one whose
     * ladder ran out (pending 0, the breach given) has nothing there. */
    return c->pending_by_id && !c->breached;
}

static unsigned waiting_of(const sla_clock_t *c, size_t n)
{
    unsigned w = 0;
    for (size_t i = 0; i < n; i++)
        w += sla_clock_waiting(&c[i]);
    return w;
}

/* sla_meta's count follows what r's save changes (r->waiting: what its load read). */
static int waiting_update(sla_t *self, MDB_txn *txn, sla_round_t *r)
{
    unsigned now = waiting_of(r->c, r->n);
    if (now == r->waiting)
        return 0;
    int rc = store_add_u64(txn, self->meta, WAITING_KEY, sizeof WAITING_KEY - 1,
                           (int64_t)now - (int64_t)r->waiting, NULL);
    if (!rc)
        r->waiting = now;
    return rc;
}

int sla_waiting_count(void *ctx, MDB_txn *txn, uint64_t *n)
{
    sla_t *self = ctx;
    return store_get_u64(txn, self->meta, WAITING_KEY, sizeof WAITING_KEY - 1, n);
}

static int ticket_visit(void *ctx, const store_entry_t *e)
{
    sla_ticket_rec_t t;
    if (sla_ticket_is_v3(&e->val) && sla_ticket_decode(&e->val, &t, true) == 0)
        *(uint64_t *)ctx += waiting_of(t.c, t.n);
    return 0;
}

static int row_visit(void *ctx, const store_entry_t *e)
{
    sla_clock_t c;
    if (sla_record_decode(&e->val, &c) == 0)
        *(uint64_t *)ctx += sla_clock_waiting(&c);
    return 0;
}

int sla_waiting_scan(sla_t *self, MDB_txn *txn, uint64_t *n)
{
    *n = 0;
    store_range_t all = {0};
    int rc = store_scan(txn, self->tickets, &all, ticket_visit, n);
    return rc ? rc : store_scan(txn, self->clocks, &all, row_visit, n);
}

/* Whether sla_meta holds the count: 0 (yes), HL_ENOTFOUND, or a store error. */
static int waiting_kept(sla_t *self)
{
    MDB_txn *txn;
    MDB_val v;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    rc = store_get(txn, self->meta, WAITING_KEY, sizeof WAITING_KEY - 1, &v);
    store_read_end(&txn);
    return rc;
}

int sla_waiting_open(sla_t *self)
{
    int rc = waiting_kept(self);
    if (rc != HL_ENOTFOUND)
        return rc; /* kept (every start but the first of this release), or an error */
    /* A store of an earlier release: counted once, from every record. */
    MDB_txn *txn;
    uint64_t n = 0;
    rc = store_write_begin(self->store, &txn);
    if (rc)
        return rc;
    rc = sla_waiting_scan(self, txn, &n);
    if (!rc)
        rc = store_add_u64(txn, self->meta, WAITING_KEY, sizeof WAITING_KEY - 1, (int64_t)n,
                           NULL);
    if (!rc && n)
        SLOG_INFO("sla_steps_counted", "clocks_with_a_step_waiting=%" PRIu64, n);
    if (rc) {
        store_write_abort(&txn);
        return rc;
    }
    return store_write_commit(self->store, &txn);
}

/* ---- a round ---- */

static int round_loaded(sla_round_t *r, int rc)
{
    r->waiting = rc ? 0 : waiting_of(r->c, r->n);
    return rc;
}

int sla_round_load(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                   sla_round_t *r)
{
    r->ticket = ticket;
    r->round = round;
    r->n = 0;
    r->rows = false;
    r->waiting = 0;
    int rc = record_get(self, txn, ticket, r, true);
    if (rc)
        return rc;
    r->latest = !r->found || round >= r->t.round;
    if (r->v3 && round == r->t.round && r->t.n) {
        r->n = r->t.n;
        memcpy(r->c, r->t.c, r->n * sizeof *r->c);
        return round_loaded(r, 0);
    }
    if (r->v3 && round > r->t.round)
        return 0; /* a round newer than the record's: nothing of it is stored anywhere */
    uint8_t id[KEY_MAX];
    store_range_t range = {.prefix = id, .prefix_len = sla_round_id(id, ticket, round)};
    rc = store_scan(txn, self->clocks, &range, rows_visit, r);
    r->rows = r->n > 0;
    return round_loaded(r, rc);
}

sla_clock_t *sla_round_clock(sla_round_t *r, Hotline__SlaClock clock)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->c[i].clock == clock)
            return &r->c[i];
    return NULL;
}

sla_clock_t *sla_round_add(sla_round_t *r, Hotline__SlaClock clock)
{
    if (r->n == SLA_ROUND_MAX)
        return NULL;
    size_t i = r->n;
    while (i > 0 && r->c[i - 1].clock > clock) {
        r->c[i] = r->c[i - 1];
        i--;
    }
    r->n++;
    memset(&r->c[i], 0, sizeof r->c[i]);
    r->c[i].clock = clock;
    r->c[i].round = r->round;
    return &r->c[i];
}

static int row_del(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                   Hotline__SlaClock clock)
{
    uint8_t key[KEY_MAX];
    int rc = store_del(txn, self->clocks, key, sla_clock_key(key, ticket, round, clock));
    return rc == HL_ENOTFOUND ? 0 : rc;
}

int sla_round_drop(sla_t *self, MDB_txn *txn, sla_round_t *r, Hotline__SlaClock clock)
{
    sla_clock_t *c = sla_round_clock(r, clock);
    if (!c)
        return 0;
    size_t i = (size_t)(c - r->c);
    memmove(&r->c[i], &r->c[i + 1], (r->n - i - 1) * sizeof *r->c);
    r->n--;
    return r->rows ? row_del(self, txn, r->ticket, r->round, clock) : 0;
}

static int rows_put(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c,
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t key[KEY_MAX], rec[REC_MAX];
        size_t klen = sla_clock_key(key, ticket, c[i].round, c[i].clock);
        int rc = store_put(txn, self->clocks, key, klen, rec, sla_record_encode(&c[i], rec), 0);
        if (rc)
            return rc;
    }
    return 0;
}

int sla_round_save(sla_t *self, MDB_txn *txn, sla_round_t *r)
{
    bool own_entries = false;
    for (size_t i = 0; i < r->n; i++) {
        sla_clock_t *c = &r->c[i];
        if (!c->on_round && !c->pending && !c->pending_by_id)
            c->on_round = true; /* nothing on the scheduler: it joins its round freely */
        own_entries |= !c->on_round;
    }
    int rc = waiting_update(self, txn, r);
    if (rc)
        return rc;
    if (!r->latest)
        return rows_put(self, txn, r->ticket, r->c, r->n);
    /* A newer round: the record's clocks (an older round now) move out to sla_clocks. */
    if (r->v3 && r->t.round != r->round && r->t.n)
        rc = rows_put(self, txn, r->ticket, r->t.c, r->t.n);
    /* Clocks with an entry of their own stay records of their own until it is gone. */
    if (!rc && own_entries)
        rc = rows_put(self, txn, r->ticket, r->c, r->n);
    for (size_t i = 0; !rc && !own_entries && r->rows && i < r->n; i++)
        rc = row_del(self, txn, r->ticket, r->round, r->c[i].clock);
    if (rc)
        return rc;
    r->t.round = r->round;
    r->t.n = own_entries ? 0 : r->n;
    memcpy(r->t.c, r->c, r->t.n * sizeof *r->c);
    r->v3 = true;
    r->rows = own_entries;
    uint8_t rec[TREC_MAX];
    return store_put(txn, self->tickets, r->ticket, strlen(r->ticket), rec,
                     sla_ticket_encode(&r->t, rec), 0);
}

int64_t sla_round_entry_at(const sla_round_t *r)
{
    int64_t at = 0;
    for (size_t i = 0; i < r->n; i++) {
        int64_t x = sla_clock_entry_at(&r->c[i]);
        if (x && (!at || x < at))
            at = x;
    }
    return at;
}

int64_t sla_clock_due_at(const sla_clock_t *c)
{
    return c->due_on_round && !c->stopped && !c->paused ? c->due_ms : 0;
}

void sla_round_keys(const sla_round_t *r, sla_round_keys_t *out)
{
    out->step_at = sla_round_entry_at(r);
    out->due_at = 0;
    for (size_t i = 0; i < r->n; i++) {
        int64_t x = sla_clock_due_at(&r->c[i]);
        if (x && (!out->due_at || x < out->due_at))
            out->due_at = x;
    }
}

/* ---- one clock at a time ---- */

int sla_round_clock_load(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                         Hotline__SlaClock clock, sla_round_t *r, sla_clock_t **c)
{
    if (!ticket || !*ticket || strlen(ticket) > SLA_TICKET_ID_MAX)
        return HL_ENOTFOUND;
    int rc = sla_round_load(self, txn, ticket, round, r);
    if (rc)
        return rc;
    *c = sla_round_clock(r, clock);
    return *c ? 0 : HL_ENOTFOUND;
}

int sla_clock_get(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                  Hotline__SlaClock clock, sla_clock_t *out)
{
    sla_round_t r;
    sla_clock_t *c;
    int rc = sla_round_clock_load(self, txn, ticket_id, round, clock, &r, &c);
    if (rc)
        return rc;
    *out = *c;
    sla_limit_text(c, out->limit, sizeof out->limit); /* made here when not stored */
    return 0;
}

/* ---- the round's keys: its scheduler entry and its sla_due key ---- */

int sla_round_keys_move(sla_t *self, MDB_txn *txn, const sla_round_t *r,
                        const sla_round_keys_t *was)
{
    sla_round_keys_t at;
    sla_round_keys(r, &at);
    uint8_t id[8 + KEY_MAX];
    size_t n = sla_round_id(id + 8, r->ticket, r->round);
    int rc = 0;
    if (at.step_at != was->step_at) {
        if (was->step_at)
            rc = scheduler_cancel_at(self->steps, txn, id + 8, n, was->step_at);
        if (rc == HL_ENOTFOUND)
            rc = 0;
        if (!rc && at.step_at)
            rc = scheduler_put(self->steps, txn, id + 8, n, at.step_at, NULL, 0);
    }
    if (!rc && at.due_at != was->due_at) {
        if (was->due_at) {
            store_be64_put(id, (uint64_t)was->due_at);
            rc = store_del(txn, self->due, id, 8 + n);
            rc = rc == HL_ENOTFOUND ? 0 : rc;
        }
        store_be64_put(id, (uint64_t)at.due_at);
        if (!rc && at.due_at)
            rc = store_put(txn, self->due, id, 8 + n, "", 0, 0);
    }
    return rc;
}
