/* intake_peers: the other intake instances' tickets, kept here too.
 *
 * N intakes answer at one address, so a citizen's lookup, an operator's list or a repeat call
 * may reach any of them. Each intake follows the others' logs (the feeds named intake,
 * intake-2, ... other than its own name) and keeps their tickets' views, received-time index
 * and repeat keys beside its own: the answer does not depend on the instance the balancer
 * picked, and a caller who rings again is linked whichever instance takes the call (once the
 * first call's TicketReceived has arrived: milliseconds on one host).
 *
 * Status events from dispatch, sla and callback about a peer's ticket can arrive before the
 * peer's TicketReceived (the feeds are independent). They land on a placeholder view (the id,
 * no received time) that the TicketReceived completes, keeping the status they advanced. */
#include "intake_internal.h"

#include "intake_door.h"
#include "intake_status.h"

#include "hl_error.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>

/* The instance number in the middle of a ticket id ("20261207-2-000123": 2), 0 when the id
 * has another shape. */
static unsigned id_instance(const char *id)
{
    const char *a = strchr(id, '-');
    if (!a || a - id != 8)
        return 0;
    char *end;
    unsigned long n = strtoul(a + 1, &end, 10);
    return *end == '-' && end > a + 1 && n <= 99 ? (unsigned)n : 0;
}

bool intake_peer_ticket(const intake_t *self, const char *id)
{
    unsigned n = self->npeers ? id_instance(id) : 0;
    return n && n != self->instance;
}

int intake_peer_placeholder(intake_t *self, const char *id, arena_t *arena,
                            Hotline__TicketView **out)
{
    Hotline__TicketView *v = arena_alloc(arena, sizeof *v);
    Hotline__Ticket *t = arena_alloc(arena, sizeof *t);
    if (!v || !t)
        return HL_ENOMEM;
    hotline__ticket_view__init(v);
    hotline__ticket__init(t);
    t->id = arena_strdup(arena, id);
    if (!t->id)
        return HL_ENOMEM;
    v->ticket = t;
    v->status = HOTLINE__TICKET_STATUS__TICKET_RECEIVED;
    SLOG_DEBUG("peer_ticket_placeholder", "ticket=%s instance=%u", id, self->instance);
    *out = v;
    return 0;
}

/* A peer's new ticket: its view (completing a placeholder), time index and repeat key. */
static int peer_received(intake_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    Hotline__Ticket *t = ev->ticket_received ? ev->ticket_received->ticket : NULL;
    if (!t || !t->id || !*t->id)
        return 0;
    arena_reset(self->scratch);
    Hotline__TicketView *v;
    int64_t prev_updated = INTAKE_VIEW_NEW;
    int rc = intake_view_get(self, txn, t->id, self->scratch, &v);
    if (rc == 0 && v->ticket && v->ticket->received_ms)
        return 0; /* known already (a feed batch applied again after a crash) */
    bool in_incident = t->incident_id && *t->incident_id;
    if (rc == HL_ENOTFOUND) {
        v = arena_alloc(self->scratch, sizeof *v);
        if (!v)
            return HL_ENOMEM;
        hotline__ticket_view__init(v);
        v->status = intake_initial_status(t, in_incident);
    } else if (rc) {
        return rc;
    } else {
        prev_updated = v->updated_ms;
        if (v->status == HOTLINE__TICKET_STATUS__TICKET_RECEIVED) /* nothing advanced it */
            v->status = intake_initial_status(t, in_incident);
    }
    v->ticket = t;
    if (v->last_contact_ms < t->received_ms)
        v->last_contact_ms = t->received_ms;
    if (v->updated_ms < t->received_ms)
        v->updated_ms = t->received_ms;
    if (intake_status_final(v->status) && !v->closed_ms)
        v->closed_ms = t->received_ms;
    if (in_incident && (!v->incident_id || !*v->incident_id))
        v->incident_id = t->incident_id;
    if ((rc = intake_view_incident(self, txn, v, self->scratch)) ||
        (rc = intake_view_replace(self, txn, v, prev_updated)) ||
        (rc = intake_by_time_put(self, txn, t->received_ms, t->id)))
        return rc;
    bool dispatch = !t->outcome ||
                    t->outcome->disposition == HOTLINE__DISPOSITION__DISPOSITION_DISPATCH;
    return dispatch ? intake_repeat_remember(self, txn, t) : 0;
}

/* A repeat call a peer took: the ticket's count and last contact. */
static int peer_repeat(intake_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    if (!ev->repeat_contact || !ev->ticket_id || !*ev->ticket_id)
        return 0;
    arena_reset(self->scratch);
    Hotline__TicketView *v;
    int64_t prev_updated = INTAKE_VIEW_NEW;
    int rc = intake_view_get(self, txn, ev->ticket_id, self->scratch, &v);
    if (rc == HL_ENOTFOUND)
        rc = intake_peer_placeholder(self, ev->ticket_id, self->scratch, &v);
    else if (rc == 0)
        prev_updated = v->updated_ms;
    if (rc)
        return rc;
    if (ev->repeat_contact->repeat_count > v->repeat_count)
        v->repeat_count = ev->repeat_contact->repeat_count;
    if (ev->time_ms > v->last_contact_ms)
        v->last_contact_ms = ev->time_ms;
    if (ev->time_ms > v->updated_ms)
        v->updated_ms = ev->time_ms;
    return intake_view_replace(self, txn, v, prev_updated);
}

int intake_apply_peer(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    intake_t *self = ctx;
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_TICKET_RECEIVED: return peer_received(self, txn, ev);
    case HOTLINE__EVENT__BODY_REPEAT_CONTACT: return peer_repeat(self, txn, ev);
    default: return 0;
    }
}
