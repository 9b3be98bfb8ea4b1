/* intake_apply: the dispatch, sla and callback feeds, applied to the status views, and
 * dispatch's incidents kept for the door (intake_door.c matches new tickets against them).
 *
 * The three feeds are independent, so their events can arrive in any order relative to each
 * other (a callback's TicketClosed before dispatch's TicketReplied, say). The view's status
 * therefore only moves forward: by rework round first, then by stage within a round, and
 * CLOSED is final. Fields (due times, texts) are filled whatever the order.
 * Loop thread. */
#include "intake_internal.h"

#include "intake_status.h"

#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <string.h>

static int stage(Hotline__TicketStatus s)
{
    switch (s) {
    case HOTLINE__TICKET_STATUS__TICKET_RECEIVED: return 1;
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED: return 2;
    case HOTLINE__TICKET_STATUS__TICKET_REWORK: return 2; /* back at the unit */
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED: return 3;
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED: return 4;
    case HOTLINE__TICKET_STATUS__TICKET_CLOSED: return 9;
    default: return 0;
    }
}

/* Move the status forward only: (round, stage) must grow; CLOSED never changes. */
static bool advance(Hotline__TicketView *v, uint32_t round, Hotline__TicketStatus status)
{
    if (v->status == HOTLINE__TICKET_STATUS__TICKET_CLOSED)
        return false;
    if (status != HOTLINE__TICKET_STATUS__TICKET_CLOSED &&
        (round < v->rework_round || (round == v->rework_round && stage(status) <= stage(v->status))))
        return false;
    if (round > v->rework_round) {
        /* A new round: what the previous one signed and replied no longer applies. */
        v->rework_round = round;
        v->signed_ms = v->replied_ms = 0;
        v->sign_due_ms = v->reply_due_ms = 0;
        v->sign_breached = v->reply_breached = false;
        v->callback_due_ms = 0;
    }
    v->status = status;
    return true;
}

/* An event of a later round than the view knows means the ticket was reopened for that
 * round, even if dispatch's TicketReopened has not arrived yet on its feed. */
static bool same_round(Hotline__TicketView *v, uint32_t round)
{
    if (round > v->rework_round)
        advance(v, round, HOTLINE__TICKET_STATUS__TICKET_REWORK);
    return round == v->rework_round;
}

static void apply_sla(Hotline__TicketView *v, const Hotline__Event *ev)
{
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED: {
        const Hotline__SlaClockStarted *e = ev->sla_clock_started;
        if (!same_round(v, e->round))
            break;
        if (e->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN)
            v->sign_due_ms = e->due_ms;
        else if (e->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY)
            v->reply_due_ms = e->due_ms;
        break;
    }
    case HOTLINE__EVENT__BODY_SLA_CLOCK_EXTENDED: {
        /* An approved extension: the caller is told the new date. */
        const Hotline__SlaClockExtended *e = ev->sla_clock_extended;
        if (same_round(v, e->round) && e->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY)
            v->reply_due_ms = e->due_ms;
        break;
    }
    case HOTLINE__EVENT__BODY_SLA_BREACHED: {
        const Hotline__SlaBreached *e = ev->sla_breached;
        if (!same_round(v, e->round))
            break;
        if (e->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN)
            v->sign_breached = true;
        else if (e->clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY)
            v->reply_breached = true;
        break;
    }
    default:
        break;
    }
}

static void apply_event(Hotline__TicketView *v, const Hotline__Event *ev)
{
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_TICKET_DISPATCHED: {
        const Hotline__TicketDispatched *e = ev->ticket_dispatched;
        if (advance(v, e->round, HOTLINE__TICKET_STATUS__TICKET_DISPATCHED) ||
            e->round == v->rework_round) {
            v->unit = e->unit;
            v->dispatched_ms = ev->time_ms;
        }
        break;
    }
    case HOTLINE__EVENT__BODY_RETURN_REVIEWED:
        if (ev->return_reviewed->approved && ev->return_reviewed->round == v->rework_round)
            v->unit = ev->return_reviewed->to_unit;
        break;
    case HOTLINE__EVENT__BODY_TICKET_REDIRECTED:
        if (ev->ticket_redirected->round == v->rework_round)
            v->unit = ev->ticket_redirected->to_unit; /* the caller is told who has it now */
        break;
    case HOTLINE__EVENT__BODY_TICKET_SUB_DISPATCHED:
        if (ev->ticket_sub_dispatched->round == v->rework_round)
            v->unit = ev->ticket_sub_dispatched->to_unit;
        break;
    case HOTLINE__EVENT__BODY_TERMINATION_REVIEWED:
        /* Ended without a reply: closed, with no due dates left to show. */
        if (ev->termination_reviewed->approved &&
            ev->termination_reviewed->round == v->rework_round) {
            advance(v, v->rework_round, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
            v->closed_ms = ev->time_ms;
            v->sign_due_ms = v->reply_due_ms = 0;
        }
        break;
    case HOTLINE__EVENT__BODY_TICKET_SIGNED:
        advance(v, ev->ticket_signed->round, HOTLINE__TICKET_STATUS__TICKET_SIGNED);
        if (ev->ticket_signed->round == v->rework_round)
            v->signed_ms = ev->time_ms;
        break;
    case HOTLINE__EVENT__BODY_TICKET_REPLIED: {
        const Hotline__TicketReplied *e = ev->ticket_replied;
        advance(v, e->round, HOTLINE__TICKET_STATUS__TICKET_REPLIED);
        if (e->round == v->rework_round) {
            v->replied_ms = ev->time_ms;
            v->reply_text = e->result;
            v->resolved = e->resolved;
        }
        break;
    }
    case HOTLINE__EVENT__BODY_TICKET_REOPENED:
        advance(v, ev->ticket_reopened->round, HOTLINE__TICKET_STATUS__TICKET_REWORK);
        break;
    case HOTLINE__EVENT__BODY_TICKET_LINKED:
        /* Joined an incident after dispatch: the caller now waits for the incident (its ETA
         * is read at each view, intake_view_incident). Not a stage: it is set as it comes,
         * unless the ticket has moved on (replied, closed, a later round). */
        if (ev->ticket_linked->round == v->rework_round && stage(v->status) <= 3 &&
            v->status != HOTLINE__TICKET_STATUS__TICKET_CLOSED) {
            v->status = HOTLINE__TICKET_STATUS__TICKET_LINKED;
            v->incident_id = ev->ticket_linked->incident_id;
            v->unit = ev->ticket_linked->unit;
            /* sla suspends the ticket's own deadlines: the incident's ETA is the one to tell */
            v->sign_due_ms = v->reply_due_ms = 0;
        }
        break;
    case HOTLINE__EVENT__BODY_TICKET_UNLINKED:
        if (v->status == HOTLINE__TICKET_STATUS__TICKET_LINKED &&
            ev->ticket_unlinked->round == v->rework_round) {
            v->status = HOTLINE__TICKET_STATUS__TICKET_DISPATCHED;
            v->unit = ev->ticket_unlinked->unit;
            v->dispatched_ms = ev->time_ms;
            v->incident_id = (char *)"";
            v->incident_eta_ms = 0;
            v->incident_summary = (char *)"";
            v->signed_ms = 0;
            v->sign_due_ms = v->reply_due_ms = 0; /* sla starts them again */
        }
        break;
    case HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED:
        if (same_round(v, ev->callback_scheduled->round))
            v->callback_due_ms = ev->callback_scheduled->due_ms;
        break;
    case HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED:
        v->callback_due_ms = ev->callback_attempted->next_due_ms;
        break;
    case HOTLINE__EVENT__BODY_CALLBACK_PROMISED: /* a time agreed with the citizen */
        if (!ev->callback_promised->before_reply && same_round(v, ev->callback_promised->round))
            v->callback_due_ms = ev->callback_promised->at_ms;
        break;
    case HOTLINE__EVENT__BODY_CALLBACK_RATED:
        same_round(v, ev->callback_rated->round);
        v->rating = ev->callback_rated->rating;
        v->rated_resolved = ev->callback_rated->resolved;
        break;
    case HOTLINE__EVENT__BODY_TICKET_CLOSED:
        advance(v, v->rework_round, HOTLINE__TICKET_STATUS__TICKET_CLOSED);
        v->closed_ms = ev->time_ms;
        break;
    default:
        apply_sla(v, ev);
        break;
    }
}

static int incident_put(intake_t *self, MDB_txn *txn, const Hotline__IncidentDeclared *inc)
{
    size_t len = hotline__incident_declared__get_packed_size(inc);
    void *at;
    int rc = store_put_reserve(txn, self->incidents, inc->incident_id, strlen(inc->incident_id),
                               len, 0, &at);
    if (rc)
        return rc;
    hotline__incident_declared__pack(inc, at);
    return 0;
}

static int apply_incident(intake_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_INCIDENT_DECLARED:
        if (!ev->incident_declared->incident_id || !*ev->incident_declared->incident_id)
            return 0;
        SLOG_INFO("incident_known", "incident=%s category=%s",
                  ev->incident_declared->incident_id, ev->incident_declared->category_prefix);
        return incident_put(self, txn, ev->incident_declared);
    case HOTLINE__EVENT__BODY_INCIDENT_UPDATED: {
        const Hotline__IncidentUpdated *u = ev->incident_updated;
        if (!u->incident_id || !*u->incident_id)
            return 0;
        MDB_val v;
        int rc = store_get(txn, self->incidents, u->incident_id, strlen(u->incident_id), &v);
        if (rc == HL_ENOTFOUND)
            return 0; /* closed already */
        if (rc)
            return rc;
        arena_reset(self->scratch);
        Hotline__IncidentDeclared *inc = hotline__incident_declared__unpack(
            arena_allocator(self->scratch), v.mv_size, v.mv_data);
        if (!inc)
            return HL_ECORRUPT;
        if (u->eta_ms) /* 0 = unchanged */
            inc->eta_ms = u->eta_ms;
        if (u->summary && *u->summary)
            inc->summary = u->summary;
        return incident_put(self, txn, inc);
    }
    case HOTLINE__EVENT__BODY_INCIDENT_CLOSED: {
        const char *id = ev->incident_closed->incident_id;
        if (!id || !*id)
            return 0;
        int rc = store_del(txn, self->incidents, id, strlen(id));
        return rc == HL_ENOTFOUND ? 0 : rc;
    }
    default:
        return 0;
    }
}

int intake_view_incident(intake_t *self, MDB_txn *txn, Hotline__TicketView *v, arena_t *arena)
{
    if (!v->incident_id || !*v->incident_id)
        return 0;
    MDB_val val;
    int rc = store_get(txn, self->incidents, v->incident_id, strlen(v->incident_id), &val);
    if (rc == HL_ENOTFOUND)
        return 0; /* closed: the view keeps what it last showed, and the reply tells the rest */
    if (rc)
        return rc;
    Hotline__IncidentDeclared *inc =
        hotline__incident_declared__unpack(arena_allocator(arena), val.mv_size, val.mv_data);
    if (!inc)
        return HL_ECORRUPT;
    v->incident_eta_ms = inc->eta_ms;
    v->incident_summary = arena_strdup(arena, inc->summary ? inc->summary : "");
    if (!v->incident_summary)
        return HL_ENOMEM;
    mask_phones(v->incident_summary); /* staff text read to callers */
    return 0;
}

int intake_apply_status(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    intake_t *self = ctx;
    if (ev->body_case == HOTLINE__EVENT__BODY_INCIDENT_DECLARED ||
        ev->body_case == HOTLINE__EVENT__BODY_INCIDENT_UPDATED ||
        ev->body_case == HOTLINE__EVENT__BODY_INCIDENT_CLOSED)
        return apply_incident(self, txn, ev);
    if (!ev->ticket_id || !*ev->ticket_id)
        return 0;
    arena_reset(self->scratch);
    Hotline__TicketView *v;
    int64_t prev_updated = INTAKE_VIEW_NEW;
    int rc = intake_status_get(self, txn, ev->ticket_id, self->scratch, &v);
    if (rc == HL_ENOTFOUND && intake_peer_ticket(self, ev->ticket_id)) {
        /* A peer's ticket whose TicketReceived has not arrived yet: it completes this. */
        rc = intake_peer_placeholder(self, ev->ticket_id, self->scratch, &v);
    } else if (rc == HL_ENOTFOUND) {
        /* Not one of ours, nor a followed peer's: nothing to show here. */
        SLOG_DEBUG("status_event_unknown_ticket", "ticket=%s source=%s", ev->ticket_id,
                   ev->source);
        return 0;
    } else if (rc == 0) {
        prev_updated = v->updated_ms;
    }
    if (rc)
        return rc;
    apply_event(v, ev);
    if (ev->body_case == HOTLINE__EVENT__BODY_TICKET_LINKED &&
        (rc = intake_view_incident(self, txn, v, self->scratch)))
        return rc;
    if (ev->time_ms > v->updated_ms)
        v->updated_ms = ev->time_ms;
    return intake_view_replace(self, txn, v, prev_updated);
}
