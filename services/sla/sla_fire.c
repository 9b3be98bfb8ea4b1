/* sla_fire: the scheduler's fire function for the ladder: a clock's step given (its event, its
 * flag) and the next step put, in the pass's transaction; held a second while sla has not read
 * the producer that could have stopped the clock. */
#include "sla_record.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

/* A step's id, taken apart; false when it is not one sla wrote. */
static bool step_parse(const scheduler_entry_t *e, char *ticket, Hotline__SlaClock *clock,
                       uint32_t *round, int *step)
{
    MDB_val k = {.mv_size = e->id_len, .mv_data = (void *)e->id};
    long tlen = sla_key_ticket(&k, 0, STEP_TAIL);
    if (tlen <= 0 || tlen > SLA_TICKET_ID_MAX)
        return false;
    const uint8_t *p = e->id;
    memcpy(ticket, p, (size_t)tlen + 1);
    *clock = (Hotline__SlaClock)p[tlen + 1];
    *round = sla_be32(p + tlen + 2);
    *step = p[tlen + 6];
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

static uint8_t given_flag(int step, uint8_t *ladder)
{
    *ladder = step == SLA_STEP_REMIND ? SLA_L_REMINDED
              : step == SLA_STEP_RED  ? SLA_L_RED
              : step == SLA_STEP_SUPERVISE ? SLA_L_SUPERVISED
                                           : 0;
    return step == SLA_STEP_WARN ? SLA_F_WARNED : step == SLA_STEP_BREACH ? SLA_F_BREACHED : 0;
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

int sla_store_fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    sla_t *self = ctx;
    char ticket[SLA_TICKET_ID_MAX + 1];
    Hotline__SlaClock clock;
    uint32_t round;
    int step;
    self->dirty = true; /* the entry is gone: the pending gauge follows */
    if (!step_parse(e, ticket, &clock, &round, &step)) {
        SLOG_WARN("sla_step_corrupt", "id_bytes=%zu next=\"entry dropped\"", e->id_len);
        return 0;
    }
    sla_clock_t c;
    int rc = sla_clock_get(self, txn, ticket, round, clock, &c);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT) {
        SLOG_WARN("sla_step_orphan", "ticket=%s round=%u clock=%s reason=\"%s\" "
                  "next=\"entry dropped\"", ticket, round, sla_clock_label(clock),
                  hl_strerror(rc));
        return 0;
    }
    if (rc)
        return rc;
    if (c.stopped || c.paused || sla_step_given(&c, step))
        return 0; /* a stop or pause cancels its step: only a store from elsewhere gets here */
    if (must_wait(self, clock, sla_step_at(&c, step))) {
        if (self->m_held)
            metric_inc(self->m_held, NULL);
        /* The record says when the step is due now: a stop cancels it there. */
        sla_rec_change_t held = {.pending = step,
                                 .pending_at_ms = hclock_now_ms(self->clock) + SLA_WAIT_RETRY_MS};
        rc = sla_step_put(self, txn, ticket, clock, round, step, held.pending_at_ms);
        return rc ? rc : sla_record_change(self, txn, ticket, round, clock, &held);
    }
    mark_given(&c, step);
    /* The next step goes on the scheduler in the same transaction: the ladder climbs one step
     * per pass, each exactly once. A first-release record (pending 0) has its breach on the
     * scheduler already: putting it again only moves it to the same instant. */
    int next;
    rc = sla_next_put(self, txn, ticket, &c, &next);
    sla_rec_change_t ch = {.pending = next};
    ch.flags = given_flag(step, &ch.ladder);
    if (!rc)
        rc = sla_record_change(self, txn, ticket, round, clock, &ch);
    if (!rc)
        rc = sla_step_event(self, txn, ticket, &c, step);
    return rc;
}

