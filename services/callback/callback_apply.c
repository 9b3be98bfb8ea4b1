/* callback_apply: what the intake and dispatch feeds change here. Runs inside the transaction
 * that also stores the feed's cursor (and may be re-run after a map growth), so it acts only
 * through txn. The two feeds are independent: a reply may arrive before the ticket's contact,
 * so tasks never depend on the contact being known (it is looked up when a task is handed
 * out), and a contact arriving later sets the task's priority (a vulnerable caller, an
 * incident joined at intake). Loop thread. */
#include "callback_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>

/* TicketReceived: keep the number to call, and give a task already waiting for it (the reply
 * came first) the priority the ticket asks for. A replay stores the same contact again. */
static int on_received(callback_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__Ticket *ticket = ev->ticket_received->ticket;
    const char *id = ev->ticket_id && *ev->ticket_id ? ev->ticket_id : ticket ? ticket->id : NULL;
    if (!ticket || !callback_id_ok(id)) {
        SLOG_WARN("event_skipped", "kind=ticket_received seq=%llu reason=\"%s\"",
                  (unsigned long long)ev->seq,
                  !ticket ? "no ticket" : "ticket id empty, too long or not printable");
        return 0;
    }
    int rc = callback_contact_put(self, txn, id, ticket);
    uint32_t round;
    if (!rc)
        rc = callback_task_pending_round(self, txn, id, &round);
    if (rc)
        return rc == HL_ENOTFOUND ? 0 : rc;
    task_t t;
    uint8_t prio;
    if ((rc = callback_task_load(self, txn, id, round, &t)))
        return rc;
    rc = callback_task_priority(self, txn, &t, &prio);
    if (!rc && prio != t.prio)
        rc = callback_task_reprioritize(self, txn, &t, prio);
    callback_task_clear(&t);
    return rc;
}

/* End the ticket's pending task of a round before `round`, whose reply the citizen will no
 * longer be asked about. */
static int cancel_older(callback_t *self, MDB_txn *txn, const char *id, uint32_t round,
                        const char *why)
{
    uint32_t pending;
    int rc = callback_task_pending_round(self, txn, id, &pending);
    if (rc == HL_ENOTFOUND || (rc == 0 && pending >= round))
        return 0;
    if (rc)
        return rc;
    task_t t;
    rc = callback_task_load(self, txn, id, pending, &t);
    if (rc)
        return rc;
    char note[96];
    snprintf(note, sizeof note, "%s %u", why, (unsigned)round);
    if ((t.state == TASK_PENDING || t.state == TASK_SURVEY) &&
        !(rc = callback_promise_keep(self, txn, &t)))
        rc = callback_task_finish(self, txn, &t, TASK_CANCELLED, note);
    SLOG_DEBUG("callback_cancelled", "ticket=%s round=%u reason=\"%s\"", id, (unsigned)pending,
               note);
    callback_task_clear(&t);
    return rc;
}

/* TicketReplied: one callback per (ticket, round), at callHour on the working day after the
 * reply or at the time promised to the citizen before it (callback_promise.c); for an
 * incident's replies one per caller (callback_incident.c). A replayed reply finds its task and
 * changes nothing. */
static int on_replied(callback_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__TicketReplied *r = ev->ticket_replied;
    const char *id = ev->ticket_id;
    if (!callback_id_ok(id)) {
        SLOG_WARN("event_skipped",
                  "kind=ticket_replied seq=%llu reason=\"ticket id empty, too "
                  "long or not printable\"",
                  (unsigned long long)ev->seq);
        return 0;
    }
    task_t t;
    int rc = callback_task_load(self, txn, id, r->round, &t);
    if (rc == 0) {
        callback_task_clear(&t);
        return 0; /* scheduled already: a replay, or dispatch sent the reply twice */
    }
    if (rc != HL_ENOTFOUND)
        return rc;
    uint32_t pending;
    rc = callback_task_pending_round(self, txn, id, &pending);
    if (rc == 0 && pending > r->round) {
        SLOG_WARN("event_skipped",
                  "kind=ticket_replied seq=%llu ticket=%s round=%u "
                  "reason=\"round %u is already waiting for its callback\"",
                  (unsigned long long)ev->seq, id, (unsigned)r->round, (unsigned)pending);
        return 0;
    }
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    if ((rc = cancel_older(self, txn, id, r->round, "superseded by the reply of round")))
        return rc;
    bool joined;
    if ((rc = callback_incident_join(self, txn, ev, &joined)))
        return rc;
    if (joined) /* the caller's call about the incident covers this ticket too */
        return callback_promise_join(self, txn, id,
                                     ev->time_ms > 0 ? ev->time_ms : hclock_now_ms(self->clock));

    if ((rc = callback_task_init(&t, id, r->round)))
        return rc;
    t.state = TASK_PENDING;
    t.unit_resolved = r->resolved;
    t.incident = r->incident_id && *r->incident_id;
    /* The reply's own time, not ours: a feed that lagged must not push the call back. */
    t.replied_ms = ev->time_ms > 0 ? ev->time_ms : hclock_now_ms(self->clock);
    t.due_ms = calendar_next_working_at(self->cal, t.replied_ms, (int)self->cfg.call_hour);
    rc = callback_task_set(&t.unit, r->unit);
    if (!rc)
        rc = callback_task_set(&t.reply_text, r->result);
    if (!rc)
        rc = callback_task_priority(self, txn, &t, &t.prio);
    if (!rc)
        rc = callback_promise_take(self, txn, &t);
    if (!rc)
        rc = callback_task_save(self, txn, 0, 0, &t);
    if (!rc) {
        Hotline__CallbackScheduled cs = HOTLINE__CALLBACK_SCHEDULED__INIT;
        cs.due_ms = t.due_ms;
        cs.round = t.round;
        cs.unit = t.unit;
        rc = callback_event_append(self, txn, t.ticket_id, HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED,
                                   &cs);
    }
    if (!rc)
        SLOG_DEBUG("callback_scheduled", "ticket=%s round=%u due_ms=%lld unit=%s priority=%s%s", id,
                   (unsigned)t.round, (long long)t.due_ms, t.unit, callback_prio_name(t.prio),
                   t.promised_ms ? " promised=true" : "");
    callback_task_clear(&t);
    return rc;
}

/* TicketReopened: the unit works on the ticket again, so a callback still waiting for an
 * earlier round would ask about a reply that no longer stands. The next reply schedules the
 * next round's callback. */
static int on_reopened(callback_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    if (!callback_id_ok(ev->ticket_id))
        return 0; /* nothing of ours can be keyed by it */
    return cancel_older(self, txn, ev->ticket_id, ev->ticket_reopened->round,
                        "ticket reopened for round");
}

int callback_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    callback_t *self = ctx;
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_TICKET_RECEIVED: return on_received(self, txn, ev);
    case HOTLINE__EVENT__BODY_TICKET_REPLIED: return on_replied(self, txn, ev);
    case HOTLINE__EVENT__BODY_TICKET_REOPENED: return on_reopened(self, txn, ev);
    default: return 0;
    }
}
