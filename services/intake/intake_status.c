/* intake_status: the status view, kept from the dispatch, sla and callback feeds.
 *
 * The three feeds are independent, so their events can arrive in any order relative to each
 * other (a callback's TicketClosed before dispatch's TicketReplied, say). The view's status
 * therefore only moves forward: by rework round first, then by stage within a round, and
 * CLOSED is final. Fields (due times, texts) are filled whatever the order. */
#include "intake.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

int intake_view_get(intake_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                    Hotline__TicketView **out)
{
    MDB_val v;
    int rc = store_get(txn, self->tickets, id, strlen(id), &v);
    if (rc)
        return rc;
    *out = hotline__ticket_view__unpack(arena_allocator(arena), v.mv_size, v.mv_data);
    return *out ? 0 : HL_ECORRUPT;
}

/* The updates index key: updated ms (big-endian) + id. */
static size_t update_key(uint8_t *out, int64_t updated_ms, const char *id, size_t idlen)
{
    store_be64_put(out, (uint64_t)updated_ms);
    memcpy(out + 8, id, idlen);
    return 8 + idlen;
}

int intake_view_put(intake_t *self, MDB_txn *txn, const Hotline__TicketView *view)
{
    const char *id = view->ticket->id;
    int64_t prev_updated = INTAKE_VIEW_NEW;
    MDB_val old;
    int rc = store_get(txn, self->tickets, id, strlen(id), &old);
    if (rc == 0) {
        Hotline__TicketView *prev = hotline__ticket_view__unpack(NULL, old.mv_size, old.mv_data);
        if (!prev)
            return HL_ECORRUPT;
        prev_updated = prev->updated_ms;
        hotline__ticket_view__free_unpacked(prev, NULL);
    } else if (rc != HL_ENOTFOUND) {
        return rc;
    }
    return intake_view_replace(self, txn, view, prev_updated);
}

int intake_view_replace(intake_t *self, MDB_txn *txn, const Hotline__TicketView *view,
                        int64_t prev_updated_ms)
{
    const char *id = view->ticket->id;
    size_t idlen = strlen(id);
    if (idlen > 64)
        return HL_EINVAL;
    /* Move the view's entry in the updates index from its previous change time. */
    uint8_t key[8 + 64];
    int rc = 0;
    if (prev_updated_ms != INTAKE_VIEW_NEW && prev_updated_ms != view->updated_ms) {
        rc = store_del(txn, self->updates, key, update_key(key, prev_updated_ms, id, idlen));
        if (rc && rc != HL_ENOTFOUND)
            return rc;
    }
    rc = store_put(txn, self->updates, key, update_key(key, view->updated_ms, id, idlen), "", 0,
                   0);
    if (rc)
        return rc;
    void *at;
    rc = store_put_reserve(txn, self->tickets, id, idlen,
                           hotline__ticket_view__get_packed_size(view), 0, &at);
    if (rc)
        return rc;
    hotline__ticket_view__pack(view, at);
    return 0;
}

typedef struct updates_walk {
    int64_t to_ms;
    size_t max, n;
    intake_update_fn fn;
    void *ctx;
    int fn_rc; /* what fn said when it stopped the walk */
} updates_walk_t;

static int updates_visit(void *ctx, const store_entry_t *e)
{
    updates_walk_t *w = ctx;
    const MDB_val *k = &e->key;
    if (w->n == w->max)
        return 1;
    w->n++;
    if (k->mv_size <= 8 || k->mv_size > 8 + 64)
        return 0;
    int64_t at = (int64_t)store_be64_get(k->mv_data);
    if (at >= w->to_ms)
        return 1;
    char id[65];
    memcpy(id, (const char *)k->mv_data + 8, k->mv_size - 8);
    id[k->mv_size - 8] = '\0';
    return w->fn_rc = w->fn(w->ctx, id, at);
}

int intake_updates_scan(intake_t *self, MDB_txn *txn, int64_t from_ms, int64_t to_ms,
                        size_t max, intake_update_fn fn, void *ctx)
{
    uint8_t start[8];
    store_be64_put(start, (uint64_t)(from_ms > 0 ? from_ms : 0));
    updates_walk_t w = {to_ms, max, 0, fn, ctx, 0};
    int rc = store_scan(txn, self->updates, &(store_range_t){.from = start, .from_len = 8},
                        updates_visit, &w);
    return rc ? rc : w.fn_rc;
}

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
    case HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED:
        if (same_round(v, ev->callback_scheduled->round))
            v->callback_due_ms = ev->callback_scheduled->due_ms;
        break;
    case HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED:
        v->callback_due_ms = ev->callback_attempted->next_due_ms;
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

int intake_apply_status(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    intake_t *self = ctx;
    if (ev->body_case == HOTLINE__EVENT__BODY_INCIDENT_DECLARED ||
        ev->body_case == HOTLINE__EVENT__BODY_INCIDENT_UPDATED ||
        ev->body_case == HOTLINE__EVENT__BODY_INCIDENT_CLOSED)
        return intake_incident_apply(self, txn, ev);
    if (!ev->ticket_id || !*ev->ticket_id)
        return 0;
    arena_reset(self->scratch);
    Hotline__TicketView *v;
    int rc = intake_view_get(self, txn, ev->ticket_id, self->scratch, &v);
    if (rc == HL_ENOTFOUND) {
        /* Not one of ours (another intake instance's ticket): nothing to show here. */
        SLOG_DEBUG("status_event_unknown_ticket", "ticket=%s source=%s", ev->ticket_id,
                   ev->source);
        return 0;
    }
    if (rc)
        return rc;
    int64_t prev_updated = v->updated_ms;
    apply_event(v, ev);
    if (ev->time_ms > v->updated_ms)
        v->updated_ms = ev->time_ms;
    return intake_view_replace(self, txn, v, prev_updated);
}
