/* intake_status: the stored status views and their index by last change. The feeds that
 * change the views are applied in intake_apply.c; the door reads them in intake_door.c.
 * Loop thread. */
#include "intake_status.h"

#include "hl_error.h"

#include <string.h>

/* The ticket stand-in of a view whose ticket is not here (yet): its id only, received_ms 0. */
static int ticket_stub(const char *id, arena_t *arena, Hotline__Ticket **out)
{
    Hotline__Ticket *t = arena_alloc(arena, sizeof *t);
    if (!t)
        return HL_ENOMEM;
    hotline__ticket__init(t);
    t->id = arena_strdup(arena, id);
    *out = t;
    return t->id ? 0 : HL_ENOMEM;
}

/* The status record, or a view of the layout before the split (with its ticket). */
static int status_read(intake_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                       Hotline__TicketView **out)
{
    MDB_val v;
    size_t idlen = strlen(id);
    int rc = store_get(txn, self->status, id, idlen, &v);
    if (rc == HL_ENOTFOUND)
        rc = store_get(txn, self->tickets, id, idlen, &v);
    if (rc)
        return rc;
    *out = hotline__ticket_view__unpack(arena_allocator(arena), v.mv_size, v.mv_data);
    return *out ? 0 : HL_ECORRUPT;
}

int intake_status_get(intake_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                      Hotline__TicketView **out)
{
    int rc = status_read(self, txn, id, arena, out);
    if (!rc && !(*out)->ticket)
        rc = ticket_stub(id, arena, &(*out)->ticket);
    return rc;
}

int intake_view_get(intake_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                    Hotline__TicketView **out)
{
    int rc = status_read(self, txn, id, arena, out);
    if (rc || (*out)->ticket)
        return rc;
    MDB_val v;
    rc = store_get(txn, self->recorded, id, strlen(id), &v);
    if (rc == HL_ENOTFOUND) /* a peer's ticket whose receipt has not arrived: a placeholder */
        return ticket_stub(id, arena, &(*out)->ticket);
    if (rc)
        return rc;
    (*out)->ticket = hotline__ticket__unpack(arena_allocator(arena), v.mv_size, v.mv_data);
    return (*out)->ticket ? 0 : HL_ECORRUPT;
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
    int rc = store_get(txn, self->status, id, strlen(id), &old);
    if (rc == HL_ENOTFOUND)
        rc = store_get(txn, self->tickets, id, strlen(id), &old);
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

/* The ticket as recorded, written once: for a new view, or when a view first carries its
 * ticket (a peer's receipt completing its placeholder, a view of the old layout moving to
 * the new one, whose old record goes). */
static int recorded_put(intake_t *self, MDB_txn *txn, const Hotline__Ticket *t, size_t idlen,
                        bool is_new)
{
    if (!t->received_ms)
        return 0; /* a stand-in (intake_peer_placeholder): the receipt writes the ticket */
    if (!is_new) {
        MDB_val v;
        int rc = store_get(txn, self->recorded, t->id, idlen, &v);
        if (rc != HL_ENOTFOUND)
            return rc;
        rc = store_del(txn, self->tickets, t->id, idlen);
        if (rc && rc != HL_ENOTFOUND)
            return rc;
    }
    void *at;
    int rc = store_put_reserve(txn, self->recorded, t->id, idlen, hotline__ticket__get_packed_size(t),
                               0, &at);
    if (!rc)
        hotline__ticket__pack(t, at);
    return rc;
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
    if (prev_updated_ms == INTAKE_VIEW_NEW || prev_updated_ms != view->updated_ms)
        rc = store_put(txn, self->updates, key, update_key(key, view->updated_ms, id, idlen), "",
                       0, 0);
    if (!rc)
        rc = recorded_put(self, txn, view->ticket, idlen, prev_updated_ms == INTAKE_VIEW_NEW);
    if (rc)
        return rc;
    Hotline__TicketView status = *view;
    status.ticket = NULL;
    void *at;
    rc = store_put_reserve(txn, self->status, id, idlen,
                           hotline__ticket_view__get_packed_size(&status), 0, &at);
    if (rc)
        return rc;
    hotline__ticket_view__pack(&status, at);
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

int intake_by_time_put(intake_t *self, MDB_txn *txn, int64_t received_ms, const char *id)
{
    size_t idlen = strlen(id);
    if (idlen > 64)
        return HL_EINVAL;
    uint8_t key[8 + 64];
    store_be64_put(key, (uint64_t)received_ms);
    memcpy(key + 8, id, idlen);
    return store_put(txn, self->by_time, key, 8 + idlen, "", 0, 0);
}

Hotline__TicketStatus intake_initial_status(const Hotline__Ticket *t, bool in_incident)
{
    switch (t->outcome ? t->outcome->disposition : HOTLINE__DISPOSITION__DISPOSITION_DISPATCH) {
    case HOTLINE__DISPOSITION__DISPOSITION_ANSWERED: return HOTLINE__TICKET_STATUS__TICKET_ANSWERED;
    case HOTLINE__DISPOSITION__DISPOSITION_REFERRED: return HOTLINE__TICKET_STATUS__TICKET_REFERRED;
    case HOTLINE__DISPOSITION__DISPOSITION_NOT_ACCEPTED:
        return HOTLINE__TICKET_STATUS__TICKET_NOT_ACCEPTED;
    default:
        return in_incident ? HOTLINE__TICKET_STATUS__TICKET_LINKED
                           : HOTLINE__TICKET_STATUS__TICKET_RECEIVED;
    }
}

int intake_by_time_key(const MDB_val *key, int64_t *received_ms, char *id, size_t id_size)
{
    if (key->mv_size <= 8 || key->mv_size - 8 >= id_size || key->mv_size > 8 + 64)
        return HL_ECORRUPT;
    *received_ms = (int64_t)store_be64_get(key->mv_data);
    memcpy(id, (const char *)key->mv_data + 8, key->mv_size - 8);
    id[key->mv_size - 8] = '\0';
    return 0;
}

bool intake_status_final(Hotline__TicketStatus s)
{
    return s == HOTLINE__TICKET_STATUS__TICKET_CLOSED ||
           s == HOTLINE__TICKET_STATUS__TICKET_ANSWERED ||
           s == HOTLINE__TICKET_STATUS__TICKET_REFERRED ||
           s == HOTLINE__TICKET_STATUS__TICKET_NOT_ACCEPTED;
}
