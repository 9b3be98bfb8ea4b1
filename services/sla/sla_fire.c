/* sla_fire: the scheduler's fire function for the ladder: a round's entry fires every step of
 * its clocks that is due (their events, their flags) and goes back at the round's next step, in
 * the pass's transaction; a step is held a second while sla has not read the producer that could
 * have stopped its clock. An older release's entry of one clock fires the same way, the clock
 * then joining its round's entry. */
#include "sla_record.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

/* An entry's id taken apart: a round's (ticket \0 round; *step 0) or, put by an older
 * release, one clock's step (ticket \0 clock round step). False when sla did not write it. */
static bool entry_parse(const scheduler_entry_t *e, char *ticket, Hotline__SlaClock *clock,
                        uint32_t *round, int *step)
{
    const uint8_t *p = e->id, *nul = memchr(p, 0, e->id_len);
    if (!nul || nul == p || (size_t)(nul - p) > SLA_TICKET_ID_MAX)
        return false;
    size_t tail = e->id_len - (size_t)(nul - p) - 1;
    memcpy(ticket, p, (size_t)(nul - p) + 1);
    if (tail == ROUND_TAIL) {
        *clock = HOTLINE__SLA_CLOCK__SLA_CLOCK_UNSPECIFIED;
        *round = sla_be32(nul + 1);
        *step = 0;
        return true;
    }
    if (tail != STEP_TAIL)
        return false;
    *clock = (Hotline__SlaClock)nul[1];
    *round = sla_be32(nul + 2);
    *step = nul[6];
    return *step >= SLA_STEP_WARN && *step <= SLA_STEP_SUPERVISE;
}

int sla_step_event(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c, int step)
{
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)ticket;
    Hotline__SlaWarning w = HOTLINE__SLA_WARNING__INIT;
    Hotline__SlaBreached b = HOTLINE__SLA_BREACHED__INIT;
    Hotline__SlaEscalated x = HOTLINE__SLA_ESCALATED__INIT;
    char *unit = (char *)c->unit;
    if (step == SLA_STEP_WARN) {
        w.clock = c->clock;
        w.due_ms = c->due_ms;
        w.round = c->round;
        w.unit = unit;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_WARNING;
        ev.sla_warning = &w;
    } else if (step == SLA_STEP_BREACH) {
        b.clock = c->clock;
        b.due_ms = c->due_ms;
        b.round = c->round;
        b.unit = unit;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_BREACHED;
        ev.sla_breached = &b;
    } else {
        x.clock = c->clock;
        x.step = sla_step_kind(step);
        x.due_ms = c->due_ms;
        x.at_ms = sla_step_at(c, step);
        x.round = c->round;
        x.unit = unit;
        x.policy = (char *)c->policy;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_ESCALATED;
        ev.sla_escalated = &x;
    }
    return evlog_append(self->log, txn, &ev);
}

static void mark_given(sla_clock_t *c, int step)
{
    switch (step) {
    case SLA_STEP_REMIND: c->reminded = true; break;
    case SLA_STEP_WARN: c->warned = true; break;
    case SLA_STEP_BREACH: c->breached = true; break;
    case SLA_STEP_RED: c->red = true; break;
    case SLA_STEP_SUPERVISE: c->supervised = true; break;
    default: break;
    }
}

/* sla lags behind the feed that stops the clock (dispatch's; callback's for a callback clock):
 * a backlog, or a restart that has not yet heard from it. A step is given only once sla has
 * read what that producer recorded up to the step's instant, since a sign, reply or rating in
 * the backlog would have stopped the clock (and a card once sent cannot be taken back). A
 * producer unheard-from since start-up, or whose feed has made no progress, for longer than
 * SLA_FEED_GRACE_MS (it is down) holds nothing back any more. */
static bool must_wait(sla_t *self, Hotline__SlaClock clock, int64_t at_ms)
{
    bool cb = clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, known;
    uint64_t behind, now_ns = hclock_mono_ns();
    int64_t newest;
    if (!self->svc ||
        service_feed_behind(self->svc, cb ? "callback" : "dispatch", &known, &behind, &newest))
        return false;
    if (!known)
        return (now_ns - self->created_ns) / 1000000u < SLA_FEED_GRACE_MS;
    if (behind == 0 || newest >= at_ms)
        return false;
    sla_feed_watch_t *w = &self->watch[cb];
    if (newest != w->newest_ms || !w->since_ns) { /* progress: the wait goes on */
        w->newest_ms = newest;
        w->since_ns = now_ns;
    }
    return (now_ns - w->since_ns) / 1000000u < SLA_FEED_GRACE_MS;
}

/* A round's clocks as a fire sees them: which changed, which are held back this pass. */
typedef struct round_clocks {
    sla_round_t r;
    bool changed[SLA_ROUND_MAX], held[SLA_ROUND_MAX];
} round_clocks_t;

/* A step's place on the ladder: at one instant the earlier rung goes first. */
static int rank(int step)
{
    return step == SLA_STEP_REMIND ? 0 : step < SLA_STEP_REMIND ? step : step - 1;
}

/* The clock of r whose step is due first (at or before now), or r->n; *step: which. */
static size_t first_due(const round_clocks_t *rc, int64_t now, int *step)
{
    const sla_round_t *r = &rc->r;
    size_t best = r->n;
    int64_t best_at = 0;
    for (size_t i = 0; i < r->n; i++) {
        const sla_clock_t *c = &r->c[i];
        int s = c->on_round && !c->paused && !rc->held[i] ? sla_ladder_next(c) : 0;
        if (!s)
            continue;
        int64_t at = sla_step_at(c, s);
        if (c->pending == s && c->pending_at_ms > at)
            at = c->pending_at_ms; /* held back */
        if (at <= now && (best == r->n || at < best_at ||
                          (at == best_at && rank(s) < rank(*step)))) {
            best = i;
            best_at = at;
            *step = s;
        }
    }
    return best;
}

/* A clock with an entry of its own (an older release put it) joins its round's entry. Any
 * other entry it has (a first-release record's breach) stays: it may be due in this very pass,
 * which must find it there; it fires once more and finds its step given. */
static void join_round(round_clocks_t *rc, Hotline__SlaClock clock)
{
    sla_round_t *r = &rc->r;
    for (size_t i = 0; i < r->n; i++) {
        sla_clock_t *c = &r->c[i];
        if (c->clock != clock || c->on_round)
            continue;
        sla_next_set(c);
        rc->changed[i] = true;
    }
}

/* Every step of the round due by now, earliest first, each once (the ladder flags say which
 * were given); a step sla must hold back (must_wait) is due again a second later. */
static int give_due(sla_t *self, MDB_txn *txn, const char *ticket, round_clocks_t *rc)
{
    int64_t now = hclock_now_ms(self->clock);
    int step = 0;
    for (size_t i; (i = first_due(rc, now, &step)) < rc->r.n;) {
        sla_clock_t *c = &rc->r.c[i];
        rc->changed[i] = true;
        if (must_wait(self, c->clock, sla_step_at(c, step))) {
            if (self->m_held)
                metric_inc(self->m_held, NULL);
            /* The record says when the step is due now: the round's entry goes there. */
            c->pending = (uint8_t)step;
            c->pending_at_ms = now + SLA_WAIT_RETRY_MS;
            rc->held[i] = true;
            continue;
        }
        mark_given(c, step);
        sla_next_set(c);
        int erc = sla_step_event(self, txn, ticket, c, step);
        if (erc)
            return erc;
    }
    return 0;
}

int sla_store_fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    sla_t *self = ctx;
    char ticket[SLA_TICKET_ID_MAX + 1];
    Hotline__SlaClock clock;
    uint32_t round;
    int step;
    self->dirty = true; /* the entry is gone: the pending gauge follows */
    if (!entry_parse(e, ticket, &clock, &round, &step)) {
        SLOG_WARN("sla_step_corrupt", "id_bytes=%zu next=\"entry dropped\"", e->id_len);
        return 0;
    }
    round_clocks_t r = {.changed = {0}};
    int rc = sla_round_load(self, txn, ticket, round, &r.r);
    if (rc == HL_ECORRUPT) { /* one damaged record must not hold every other ticket's steps */
        SLOG_WARN("sla_step_orphan", "ticket=%s round=%u reason=\"%s\" next=\"entry dropped\"",
                  ticket, round, hl_strerror(rc));
        return 0;
    }
    if (rc)
        return rc;
    if (!r.r.n) {
        SLOG_WARN("sla_step_orphan", "ticket=%s round=%u reason=\"no clock\" "
                  "next=\"entry dropped\"", ticket, round);
        return 0;
    }
    /* The round's own entry has gone with this pass; one of an older release leaves the
     * round's entry (if any) where it is, at was. */
    int64_t was = step ? sla_round_entry_at(&r.r) : 0;
    if (step)
        join_round(&r, clock);
    if ((rc = give_due(self, txn, ticket, &r)))
        return rc;
    bool changed = false;
    for (size_t i = 0; i < r.r.n; i++)
        changed |= r.changed[i];
    if (changed && (rc = sla_round_save(self, txn, &r.r)))
        return rc;
    /* The next step of the round: an entry at was (a stop cancels there) or a new one. An
     * entry left earlier than the records say only fires once more and finds nothing due. */
    int64_t at = sla_round_entry_at(&r.r);
    uint8_t id[KEY_MAX];
    size_t n = sla_round_id(id, ticket, round);
    return at && at != was ? scheduler_put(self->steps, txn, id, n, at, NULL, 0) : 0;
}
