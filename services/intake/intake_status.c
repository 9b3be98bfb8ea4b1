/* intake_status: the stored status views and their index by last change. The feeds that
 * change the views are applied in intake_apply.c; the door reads them in intake_door.c.
 * Loop thread. */
#include "intake_status.h"

#include "bytes.h"
#include "hl_error.h"

#include <stdlib.h>
#include <string.h>

int intake_status_open(intake_t *self)
{
    MDB_txn *txn;
    uint64_t n = 0;
    int rc = store_read_begin(service_store(self->svc), &txn);
    if (rc)
        return rc;
    rc = store_count(txn, self->updates, &n);
    store_read_end(&txn);
    self->old_updates = n > 0;
    return rc;
}

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

/* The old updates index's key: updated ms (big-endian) + id. */
static size_t update_key(uint8_t *out, int64_t updated_ms, const char *id, size_t idlen)
{
    store_be64_put(out, (uint64_t)updated_ms);
    memcpy(out + 8, id, idlen);
    return 8 + idlen;
}

/* The change index ("changed"): the second of the last change (big-endian 32 bits) + id ->
 * its ms (big-endian 64). A view's entry moves only when a change falls in another second:
 * the few changes of a ticket in its first moments (received, dispatched, its clocks) rewrite
 * one entry in place, and entries go in nearly in order, so its pages stay full (the exact
 * ms-keyed index moved its entry at every change and ended a third full). */
static uint32_t change_second(int64_t ms)
{
    return ms > 0 ? (uint32_t)(ms / 1000 > UINT32_MAX ? UINT32_MAX : ms / 1000) : 0;
}

static size_t change_key(uint8_t *out, int64_t ms, const char *id, size_t idlen)
{
    uint32_t sec = change_second(ms);
    out[0] = (uint8_t)(sec >> 24);
    out[1] = (uint8_t)(sec >> 16);
    out[2] = (uint8_t)(sec >> 8);
    out[3] = (uint8_t)sec;
    memcpy(out + 4, id, idlen);
    return 4 + idlen;
}

/* Move a view's entry in the change index from its previous change (INTAKE_VIEW_NEW: none). */
static int change_move(intake_t *self, MDB_txn *txn, const char *id, size_t idlen,
                       int64_t prev_ms, int64_t now_ms)
{
    uint8_t key[8 + 64];
    int rc = 0;
    bool from_old = false; /* its entry was in the old index: it must go into the new one */
    if (prev_ms != INTAKE_VIEW_NEW && self->old_updates) {
        rc = store_del(txn, self->updates, key, update_key(key, prev_ms, id, idlen));
        if (rc && rc != HL_ENOTFOUND)
            return rc;
        from_old = rc == 0;
    }
    if (prev_ms == now_ms && !from_old)
        return 0; /* its entry is where it was */
    if (prev_ms != INTAKE_VIEW_NEW && change_second(prev_ms) != change_second(now_ms)) {
        rc = store_del(txn, self->changed, key, change_key(key, prev_ms, id, idlen));
        if (rc && rc != HL_ENOTFOUND)
            return rc;
    }
    uint8_t at[8];
    store_be64_put(at, (uint64_t)now_ms);
    return store_put(txn, self->changed, key, change_key(key, now_ms, id, idlen), at, 8, 0);
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
    int rc = change_move(self, txn, id, idlen, prev_updated_ms, view->updated_ms);
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

/* A change found by the scan: its ms and id. */
typedef struct change {
    int64_t ms;
    char id[65];
} change_t;

typedef struct changes {
    change_t *v;
    size_t n, cap;
    int64_t from_ms, to_ms;
    size_t max;     /* the old index: stop after this many */
    uint32_t stop;  /* the change index: stop at the first key of this second or later */
} changes_t;

static int changes_add(changes_t *c, int64_t ms, const void *id, size_t idlen)
{
    if (idlen == 0 || idlen > 64 || ms < c->from_ms || ms >= c->to_ms)
        return 0;
    if (array_reserve(&c->v, &c->cap, c->n + 1, sizeof *c->v))
        return HL_ENOMEM;
    c->v[c->n].ms = ms;
    memcpy(c->v[c->n].id, id, idlen);
    c->v[c->n].id[idlen] = '\0';
    c->n++;
    return 0;
}

static int old_visit(void *ctx, const store_entry_t *e)
{
    changes_t *c = ctx;
    const MDB_val *k = &e->key;
    if (k->mv_size <= 8 || k->mv_size > 8 + 64)
        return 0;
    int64_t at = (int64_t)store_be64_get(k->mv_data);
    if (at >= c->to_ms || c->n >= c->max)
        return 1;
    return changes_add(c, at, (const char *)k->mv_data + 8, k->mv_size - 8);
}

static int change_visit(void *ctx, const store_entry_t *e)
{
    changes_t *c = ctx;
    const MDB_val *k = &e->key;
    if (k->mv_size <= 4 || k->mv_size > 4 + 64 || e->val.mv_size != 8)
        return 0;
    const uint8_t *p = k->mv_data;
    uint32_t sec = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (sec >= c->stop)
        return 1;
    if ((int64_t)sec * 1000 >= c->to_ms)
        return 1;
    int rc = changes_add(c, (int64_t)store_be64_get(e->val.mv_data), p + 4, k->mv_size - 4);
    if (!rc && c->n >= c->max && c->stop == UINT32_MAX)
        c->stop = sec + 1; /* enough: finish this second (its changes are not in order) */
    return rc;
}

static int change_cmp(const void *a, const void *b)
{
    const change_t *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

int intake_updates_scan(intake_t *self, MDB_txn *txn, int64_t from_ms, int64_t to_ms,
                        size_t max, intake_update_fn fn, void *ctx)
{
    if (from_ms < 0)
        from_ms = 0;
    changes_t c = {.from_ms = from_ms, .to_ms = to_ms, .max = max, .stop = UINT32_MAX};
    /* The old index first (views not changed since the layout changed), then the change
     * index second by second until max are found; sorted together, the first max. */
    uint8_t start[8];
    store_be64_put(start, (uint64_t)from_ms);
    int rc = store_scan(txn, self->updates, &(store_range_t){.from = start, .from_len = 8},
                        old_visit, &c);
    size_t old = c.n;
    c.max = old + max;
    uint8_t sec[4];
    change_key(sec, from_ms, "", 0);
    if (!rc)
        rc = store_scan(txn, self->changed, &(store_range_t){.from = sec, .from_len = 4},
                        change_visit, &c);
    if (!rc && c.n > 1)
        qsort(c.v, c.n, sizeof *c.v, change_cmp);
    for (size_t i = 0; !rc && i < c.n && i < max; i++)
        rc = fn(ctx, c.v[i].id, c.v[i].ms);
    free(c.v);
    return rc;
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
