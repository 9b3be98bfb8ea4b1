/* dispatch_workorder: crew work orders, their events and their webhooks.
 *
 * A work order is raised for a ticket (automatically when the ticket is dispatched,
 * redirected, returned to or reopened at a crew; or by a dispatcher) or for an incident (by a
 * dispatcher, or the incident code through dispatch_workorder_raise). Its id is
 * WO-<ticket or incident id>-<n>, n counting that source's work orders, so the same source
 * and crew never get two open ones: raising again answers the open one.
 *
 * Every raise and change writes the record, appends its event (WorkOrderRaised,
 * WorkOrderChanged, WorkOrderStatus) and, for raises and changes, enqueues the webhook to the
 * crew's connector, all in the caller's transaction. The webhook's Idempotency-Key is
 * <work order id>.<revision>: the crew system applies each revision once, however often it
 * is sent. Free text is masked (common/access/mask) before it is stored or sent.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "mask.h"
#include "pbjson.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCE_ORDERS_MAX 64 /* work orders one ticket or incident may have had */

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static bool is_open(Hotline__WorkOrderState s)
{
    return s != HOTLINE__WORK_ORDER_STATE__WORK_ORDER_DONE &&
           s != HOTLINE__WORK_ORDER_STATE__WORK_ORDER_CANCELLED;
}

/* ---- records ---------------------------------------------------------------------------- */

int dispatch_workorder_get(dispatch_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                           Hotline__WorkOrder **out)
{
    if (!self->crews)
        return HL_ENOTFOUND;
    MDB_val v;
    int rc = store_get(txn, self->crews->orders, id, strlen(id), &v);
    if (rc)
        return rc;
    *out = hotline__work_order__unpack(arena_allocator(arena), v.mv_size, v.mv_data);
    return *out ? 0 : HL_ECORRUPT;
}

static int index_put(MDB_txn *txn, MDB_dbi dbi, const char *a, const char *id)
{
    char key[2 * DISPATCH_WO_ID_MAX + 2];
    int n = snprintf(key, sizeof key, "%s%c%s", a, '\0', id);
    if (n < 0 || (size_t)n >= sizeof key)
        return HL_EINVAL;
    return store_put(txn, dbi, key, (size_t)n, "", 0, 0);
}

int dispatch_workorder_store(dispatch_t *self, MDB_txn *txn, const Hotline__WorkOrder *wo)
{
    size_t len = hotline__work_order__get_packed_size(wo);
    void *at;
    int rc = store_put_reserve(txn, self->crews->orders, wo->id, strlen(wo->id), len, 0, &at);
    if (!rc)
        hotline__work_order__pack(wo, at);
    return rc;
}

/* The webhook of one revision: {"kind", "change"?, "reason"?, "workOrder"} as JSON, keyed
 * <id>.<revision>. A key already queued (a batch applied again) is not queued twice. */
static int send_webhook(dispatch_t *self, MDB_txn *txn, const Hotline__WorkOrder *wo, const char *kind,
                Hotline__WorkOrderChange change, const char *reason)
{
    connector_t *conn = dispatch_crew_connector(self, wo->crew);
    if (!conn) /* the crew is no longer configured: recorded, nobody to tell */
        return 0;
    json_t *body = json_pack("{s:s, s:o}", "kind", kind, "workOrder", pbjson_encode(&wo->base, false));
    if (!body)
        return HL_ENOMEM;
    if (change) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
            &hotline__work_order_change__descriptor, (int)change);
        json_object_set_new(body, "change",
                            json_string(v ? v->name + strlen("WORK_ORDER_CHANGE_") : "?"));
        json_object_set_new(body, "reason", json_string(str_or_empty(reason)));
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(body);
    if (!text)
        return HL_ENOMEM;
    char key[DISPATCH_WO_ID_MAX + 16];
    int n = snprintf(key, sizeof key, "%s.%u", wo->id, (unsigned)wo->revision);
    int rc = connector_enqueue(conn, txn, key, (size_t)n, text, strlen(text), "application/json");
    free(text);
    return rc == HL_EEXIST ? 0 : rc;
}

static int append(dispatch_t *self, MDB_txn *txn, const Hotline__WorkOrder *wo, Hotline__Event *ev)
{
    return dispatch_append(self, txn, str_or_empty(wo->ticket_id), ev);
}

/* ---- the ticket's text, for work orders ------------------------------------------------- */

int dispatch_workorder_remember(dispatch_t *self, MDB_txn *txn, const char *id,
                                const Hotline__Ticket *t)
{
    if (!self->crews || !self->crews->n || !t || !id || !*id)
        return 0;
    Hotline__Ticket brief = HOTLINE__TICKET__INIT;
    Hotline__Location loc = HOTLINE__LOCATION__INIT;
    const Hotline__Location *l = t->location;
    char *d = mask_phones_dup(t->description), *street = mask_phones_dup(l ? l->street : NULL),
         *comm = mask_phones_dup(l ? l->community : NULL),
         *addr = mask_phones_dup(l ? l->address : NULL);
    int rc = HL_ENOMEM;
    if (d && street && comm && addr) {
        brief.description = d;
        loc.street = street;
        loc.community = comm;
        loc.address = addr;
        brief.location = &loc;
        size_t len = hotline__ticket__get_packed_size(&brief);
        void *at;
        rc = store_put_reserve(txn, self->crews->briefs, id, strlen(id), len, 0, &at);
        if (!rc)
            hotline__ticket__pack(&brief, at);
    }
    free(d);
    free(street);
    free(comm);
    free(addr);
    return rc;
}

int dispatch_workorder_brief(dispatch_t *self, MDB_txn *txn, const char *ticket_id,
                             arena_t *arena, dispatch_wo_request_t *rq)
{
    MDB_val v;
    int rc = self->crews ? store_get(txn, self->crews->briefs, ticket_id, strlen(ticket_id), &v)
                         : HL_ENOTFOUND;
    if (rc)
        return rc == HL_ENOTFOUND ? 0 : rc;
    Hotline__Ticket *b = hotline__ticket__unpack(arena_allocator(arena), v.mv_size, v.mv_data);
    if (!b)
        return 0; /* unreadable: the work order goes without the text */
    const Hotline__Location *l = b->location;
    const char *parts[] = {l ? l->street : NULL, l ? l->community : NULL, l ? l->address : NULL};
    char *where = arena_strdup(arena, "");
    for (size_t i = 0; where && i < 3; i++)
        if (parts[i] && *parts[i])
            where = arena_printf(arena, "%s%s%s", where, *where ? ", " : "", parts[i]);
    rq->description = b->description;
    rq->location = where;
    return where ? 0 : HL_ENOMEM;
}

/* ---- raising ---------------------------------------------------------------------------- */

typedef struct src_list {
    char ids[SOURCE_ORDERS_MAX][DISPATCH_WO_ID_MAX + 1];
    size_t n, total;
} src_list_t;

static int src_visit(void *ctx, const store_entry_t *e)
{
    src_list_t *l = ctx;
    const char *nul = memchr(e->key.mv_data, '\0', e->key.mv_size);
    size_t off = nul ? (size_t)(nul - (const char *)e->key.mv_data) + 1 : e->key.mv_size;
    size_t len = e->key.mv_size - off;
    l->total++;
    if (l->n < SOURCE_ORDERS_MAX && len <= DISPATCH_WO_ID_MAX) {
        memcpy(l->ids[l->n], (const char *)e->key.mv_data + off, len);
        l->ids[l->n++][len] = '\0';
    }
    return 0;
}

/* The open work orders of a ticket or an incident (of one crew, or of any when crew is
 * NULL), unpacked into arena: at most SOURCE_ORDERS_MAX in open[]; *total counts every work
 * order the source ever had (the next one is numbered *total + 1). */
static int open_orders(dispatch_t *self, MDB_txn *txn, const char *source, const char *crew,
                       arena_t *arena, Hotline__WorkOrder **open, size_t *nopen, size_t *total)
{
    *nopen = 0;
    src_list_t *have = malloc(sizeof *have);
    if (!have)
        return HL_ENOMEM;
    have->n = have->total = 0;
    store_range_t r = {.prefix = source, .prefix_len = strlen(source) + 1};
    int rc = store_scan(txn, self->crews->by_source, &r, src_visit, have);
    for (size_t i = 0; !rc && i < have->n; i++) {
        Hotline__WorkOrder *wo;
        rc = dispatch_workorder_get(self, txn, have->ids[i], arena, &wo);
        if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
            rc = 0;
        else if (!rc && is_open(wo->state) && (!crew || strcmp(wo->crew, crew) == 0))
            open[(*nopen)++] = wo;
    }
    *total = have->total;
    free(have);
    return rc;
}

/* Raise, with the new or open record unpacked into arena (*out). */
int dispatch_workorder_raise_in(dispatch_t *self, MDB_txn *txn, const dispatch_wo_request_t *rq,
                    arena_t *arena, Hotline__WorkOrder **out, bool *existing)
{
    *existing = false;
    bool ticket = rq->ticket_id && *rq->ticket_id, incident = rq->incident_id && *rq->incident_id;
    if (!self->crews || ticket == incident || !dispatch_crew_connector(self, rq->crew))
        return HL_EINVAL;
    const char *source = ticket ? rq->ticket_id : rq->incident_id;
    if (strlen(source) > DISPATCH_TICKET_ID_MAX)
        return HL_EINVAL;
    Hotline__WorkOrder *open[SOURCE_ORDERS_MAX];
    size_t nopen, total;
    int rc = open_orders(self, txn, source, rq->crew, arena, open, &nopen, &total);
    if (rc)
        return rc;
    if (nopen) {
        *existing = true;
        *out = open[0];
        return 0;
    }
    size_t n = total + 1;

    int64_t now = hclock_now_ms(self->clock);
    Hotline__WorkOrder *wo = arena_calloc(arena, sizeof *wo);
    if (!wo)
        return HL_ENOMEM;
    hotline__work_order__init(wo);
    wo->id = arena_printf(arena, "WO-%s-%zu", source, n);
    wo->ticket_id = arena_strdup(arena, ticket ? source : "");
    wo->incident_id = arena_strdup(arena, incident ? source : "");
    wo->crew = arena_strdup(arena, rq->crew);
    wo->state = HOTLINE__WORK_ORDER_STATE__WORK_ORDER_RAISED;
    wo->category_code = arena_strdup(arena, str_or_empty(rq->category));
    wo->district = arena_strdup(arena, str_or_empty(rq->district));
    char *text[3] = {mask_phones_dup(rq->location), mask_phones_dup(rq->description),
                     mask_phones_dup(rq->note)};
    if (text[0] && text[1] && text[2]) {
        wo->location = arena_strdup(arena, text[0]);
        wo->description = arena_strdup(arena, text[1]);
        wo->note = arena_strdup(arena, text[2]);
    }
    free(text[0]);
    free(text[1]);
    free(text[2]);
    wo->urgency = rq->urgency;
    wo->raised_by = arena_strdup(arena, str_or_empty(rq->raised_by));
    wo->trigger = arena_strdup(arena, str_or_empty(rq->trigger));
    wo->revision = 1;
    wo->raised_ms = wo->updated_ms = now;
    wo->status_note = wo->cancel_reason = "";
    if (!wo->id || !wo->ticket_id || !wo->incident_id || !wo->crew || !wo->category_code ||
        !wo->district || !wo->location || !wo->description || !wo->note || !wo->raised_by ||
        !wo->trigger)
        return HL_ENOMEM;
    if (strlen(wo->id) > DISPATCH_WO_ID_MAX)
        return HL_EINVAL;
    rc = dispatch_workorder_store(self, txn, wo);
    if (!rc)
        rc = index_put(txn, self->crews->by_source, source, wo->id);
    if (!rc)
        rc = index_put(txn, self->crews->by_crew, wo->crew, wo->id);
    if (!rc) {
        Hotline__WorkOrderRaised raised = HOTLINE__WORK_ORDER_RAISED__INIT;
        raised.work_order = wo;
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.body_case = HOTLINE__EVENT__BODY_WORK_ORDER_RAISED;
        ev.work_order_raised = &raised;
        rc = append(self, txn, wo, &ev);
    }
    if (!rc)
        rc = send_webhook(self, txn, wo, "raised", 0, NULL);
    if (!rc)
        SLOG_DEBUG("work_order_raised", "id=%s crew=%s trigger=%s", wo->id, wo->crew, wo->trigger);
    *out = wo;
    return rc;
}

int dispatch_workorder_raise(dispatch_t *self, MDB_txn *txn, const dispatch_wo_request_t *rq,
                             char *id_out, bool *existing)
{
    arena_t *arena;
    if (arena_create(&arena))
        return HL_ENOMEM;
    Hotline__WorkOrder *wo = NULL;
    bool had = false;
    int rc = dispatch_workorder_raise_in(self, txn, rq, arena, &wo, &had);
    if (!rc && id_out)
        snprintf(id_out, DISPATCH_WO_ID_MAX + 1, "%s", wo->id);
    if (existing)
        *existing = had;
    arena_destroy(&arena);
    return rc;
}

/* ---- changes ---------------------------------------------------------------------------- */

/* Close an open work order (the ticket closed or left the crew, or a dispatcher cancelled
 * it): a new revision, its event and its webhook. */
int dispatch_workorder_change(dispatch_t *self, MDB_txn *txn, Hotline__WorkOrder *wo,
                              Hotline__WorkOrderChange what, const char *reason, arena_t *arena)
{
    wo->state = HOTLINE__WORK_ORDER_STATE__WORK_ORDER_CANCELLED;
    wo->revision++;
    wo->updated_ms = hclock_now_ms(self->clock);
    char *r = mask_phones_dup(reason);
    wo->cancel_reason = r ? arena_strdup(arena, r) : NULL;
    free(r);
    if (!wo->cancel_reason)
        return HL_ENOMEM;
    r = wo->cancel_reason;
    int rc = dispatch_workorder_store(self, txn, wo);
    if (!rc) {
        Hotline__WorkOrderChanged ch = HOTLINE__WORK_ORDER_CHANGED__INIT;
        ch.work_order_id = wo->id;
        ch.crew = wo->crew;
        ch.change = what;
        ch.reason = r;
        ch.revision = wo->revision;
        ch.state = wo->state;
        Hotline__Event ev = HOTLINE__EVENT__INIT;
        ev.body_case = HOTLINE__EVENT__BODY_WORK_ORDER_CHANGED;
        ev.work_order_changed = &ch;
        rc = append(self, txn, wo, &ev);
    }
    if (!rc)
        rc = send_webhook(self, txn, wo, "changed", what, r);
    return rc;
}

/* Every open work order of the ticket (of one crew, or of any when crew is NULL) changed. */
static int change_open(dispatch_t *self, MDB_txn *txn, const char *ticket_id, const char *crew,
                       Hotline__WorkOrderChange what, const char *reason)
{
    arena_t *arena;
    if (arena_create(&arena))
        return HL_ENOMEM;
    Hotline__WorkOrder *open[SOURCE_ORDERS_MAX];
    size_t nopen, total;
    int rc = open_orders(self, txn, ticket_id, crew, arena, open, &nopen, &total);
    for (size_t i = 0; !rc && i < nopen; i++)
        rc = dispatch_workorder_change(self, txn, open[i], what, reason, arena);
    arena_destroy(&arena);
    return rc;
}

static int raise_for_ticket(dispatch_t *self, MDB_txn *txn, const char *ticket_id,
                            const char *trigger)
{
    dispatch_assignment_t a;
    int rc = dispatch_assignment_get(self, txn, ticket_id, &a);
    if (rc)
        return rc == HL_ENOTFOUND || rc == HL_ECORRUPT ? 0 : rc;
    arena_t *arena;
    if (arena_create(&arena))
        return HL_ENOMEM;
    /* Copy what the raise needs: a borrows from pages its writes may move. */
    dispatch_wo_request_t rq = {
        .ticket_id = arena_strdup(arena, a.ticket_id),
        .crew = arena_strdup(arena, a.unit),
        .category = arena_strdup(arena, a.category_code),
        .district = arena_strdup(arena, a.district),
        .urgency = a.urgency,
        .raised_by = "dispatch",
        .trigger = trigger,
    };
    rc = dispatch_workorder_brief(self, txn, ticket_id, arena, &rq);
    if (!rc && (!rq.ticket_id || !rq.crew || !rq.category || !rq.district))
        rc = HL_ENOMEM;
    Hotline__WorkOrder *wo;
    bool existing;
    if (!rc)
        rc = dispatch_workorder_raise_in(self, txn, &rq, arena, &wo, &existing);
    arena_destroy(&arena);
    return rc;
}

int dispatch_workorder_follow(dispatch_t *self, MDB_txn *txn, const char *ticket_id,
                              const char *old_unit, Hotline__TicketStatus old_state,
                              const char *new_unit, Hotline__TicketStatus new_state)
{
    if (!self->crews || !self->crews->n)
        return 0;
    bool old_crew = old_unit && dispatch_crew_connector(self, old_unit);
    bool new_crew = dispatch_crew_connector(self, new_unit) != NULL;
    if (!old_crew && !new_crew)
        return 0;
    bool moved = old_unit && strcmp(old_unit, new_unit) != 0;
    int rc = 0;
    if (new_state == HOTLINE__TICKET_STATUS__TICKET_CLOSED)
        return change_open(self, txn, ticket_id, NULL, HOTLINE__WORK_ORDER_CHANGE__WORK_ORDER_CHANGE_TICKET_CLOSED,
                           "the ticket was closed");
    if (moved && old_crew) {
        char reason[160];
        /* Not naming the new holder: the old crew's system learns nothing of other units. */
        snprintf(reason, sizeof reason, "the ticket went to another unit");
        rc = change_open(self, txn, ticket_id, old_unit,
                         HOTLINE__WORK_ORDER_CHANGE__WORK_ORDER_CHANGE_REDIRECTED, reason);
    }
    if (rc || !new_crew)
        return rc;
    /* A signed ticket moves only by sub-dispatch: the crew below gets the job too. */
    if (new_state != HOTLINE__TICKET_STATUS__TICKET_DISPATCHED &&
        new_state != HOTLINE__TICKET_STATUS__TICKET_REWORK &&
        !(moved && new_state == HOTLINE__TICKET_STATUS__TICKET_SIGNED))
        return 0;
    const char *trigger = !old_unit ? "dispatched"
                          : moved   ? "reassigned"
                          : old_state == HOTLINE__TICKET_STATUS__TICKET_REPLIED ? "reopened"
                                                                                 : "dispatched";
    return raise_for_ticket(self, txn, ticket_id, trigger);
}
