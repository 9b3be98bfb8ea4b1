/* analytics_timeline: each ticket's dimensions and events, one record per ticket (layout 4).
 *
 *   timeline  key   ticket id
 *             value 0x02 | flags | zz(base_ms) | received | category | district | unit
 *                   | nstr | (len8 | bytes) x nstr | varint events length
 *                   | (varint length | compact event)* | room
 *     received: 0 when unknown, else zz(received_ms - base_ms) + 1; category, district, unit:
 *     0 when unknown, else 1 + their index in the string table (the events' strings are there
 *     too: analytics_compact.c). base_ms is the first stored event's time. Events are kept in
 *     the order they were applied; a (source, seq) appears once, which is what makes a replay
 *     after a crash change nothing. room: zero bytes left for the next events. A ticket's
 *     events come from four feeds in quick succession; a record that grew would be moved
 *     out of its page, and pages left full behind the newest tickets would split in halves.
 *     So a record that has to grow takes ROOM bytes more than it needs, and is rewritten in
 *     place (same size) while its events fit.
 *
 * Layout 3 kept one entry per event (key: ticket id | 0x00 | be64(time ^ sign bit) | source |
 * 0x00 | be64 seq; value: the masked packed Event) and the dimensions apart in `tickets`. The
 * rebuild that opening such a store starts (analytics_rebuild.c) turns each ticket's entries
 * into its record. */
#include "analytics_internal.h"

#include "hl_error.h"
#include "pbjson.h"

#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 2
#define ROOM 96 /* about what a ticket's first stage (dispatch, two clocks) adds */
#define TIMELINE_MAX_EVENTS 10000 /* per answer: a ticket has tens, this only bounds memory */

/* ---- the record ---- */

static void dim_from(const tl_rec_t *r, uint64_t ref, char *out)
{
    size_t n = 0;
    const char *s = ref ? tl_rec_str(r, (size_t)(ref - 1), &n) : "";
    if (n > ANALYTICS_VALUE_MAX)
        n = ANALYTICS_VALUE_MAX; /* not written so: interned dimensions are cut already */
    memcpy(out, s, n);
    out[n] = '\0';
}

int analytics_record_parse(tl_rec_t *r, const uint8_t *v, size_t n)
{
    tl_rec_reset(r);
    if (n < 2 || v[0] != RECORD_VERSION)
        return HL_ECORRUPT;
    r->t.flags = v[1];
    size_t at = 2;
    uint64_t base, recv, dims[3], nstr, evs_len;
    int rc = tl_get_varint(v, n, &at, &base);
    if (!rc)
        rc = tl_get_varint(v, n, &at, &recv);
    for (int i = 0; !rc && i < 3; i++)
        rc = tl_get_varint(v, n, &at, &dims[i]);
    if (!rc)
        rc = tl_get_varint(v, n, &at, &nstr);
    if (rc || nstr > n)
        return HL_ECORRUPT;
    for (uint64_t i = 0; i < nstr; i++) {
        uint64_t idx;
        if (at >= n || v[at] > n - at - 1)
            return HL_ECORRUPT;
        size_t len = v[at];
        if ((rc = tl_rec_push(r, (const char *)v + at + 1, len, &idx)))
            return rc;
        at += 1 + len;
    }
    for (int i = 0; i < 3; i++)
        if (dims[i] > nstr)
            return HL_ECORRUPT;
    if ((rc = tl_get_varint(v, n, &at, &evs_len)) || evs_len > n - at)
        return HL_ECORRUPT;
    r->stored = n;
    r->base_ms = tl_unzigzag(base);
    r->t.received_ms = recv ? (int64_t)((uint64_t)r->base_ms + (uint64_t)tl_unzigzag(recv - 1)) : 0;
    dim_from(r, dims[0], r->t.category);
    dim_from(r, dims[1], r->t.district);
    dim_from(r, dims[2], r->t.unit);
    return bytebuf_put(&r->evs, v + at, (size_t)evs_len);
}

static int put_dim(tl_rec_t *r, bytebuf_t *b, const char *s)
{
    uint64_t i = 0;
    int rc = *s ? tl_rec_intern(r, s, strlen(s), &i) : 0;
    return rc ? rc : bytebuf_put_varint(b, *s ? i + 1 : 0);
}

int analytics_record_encode(tl_rec_t *r, bytebuf_t *out)
{
    /* The dimensions go into the table first: the table is written after them. */
    uint8_t fixed[2] = {RECORD_VERSION, r->t.flags};
    int rc = bytebuf_put(out, fixed, 2);
    if (!rc)
        rc = bytebuf_put_varint(out, tl_zigzag(r->base_ms));
    if (!rc)
        rc = bytebuf_put_varint(out, r->t.received_ms
                                    ? tl_zigzag((int64_t)((uint64_t)r->t.received_ms -
                                                          (uint64_t)r->base_ms)) + 1
                                    : 0);
    if (!rc)
        rc = put_dim(r, out, r->t.category);
    if (!rc)
        rc = put_dim(r, out, r->t.district);
    if (!rc)
        rc = put_dim(r, out, r->t.unit);
    if (!rc)
        rc = bytebuf_put_varint(out, r->nstr);
    for (size_t i = 0; !rc && i < r->nstr; i++) {
        size_t n;
        const char *s = tl_rec_str(r, i, &n);
        uint8_t len = (uint8_t)n;
        rc = bytebuf_put(out, &len, 1);
        if (!rc)
            rc = bytebuf_put(out, s, n);
    }
    if (!rc)
        rc = bytebuf_put_varint(out, r->evs.n);
    if (!rc)
        rc = bytebuf_put(out, r->evs.p, r->evs.n);
    return rc;
}

int analytics_record_put(analytics_t *self, MDB_txn *txn, const char *id, size_t id_len,
                         tl_rec_t *r)
{
    bytebuf_t *b = &r->scratch;
    b->n = 0;
    int rc = analytics_record_encode(r, b);
    size_t size = b->n <= r->stored ? r->stored : b->n + ROOM;
    if (!rc)
        rc = bytebuf_reserve(b, size - b->n);
    if (rc)
        return rc;
    memset(b->p + b->n, 0, size - b->n);
    rc = store_put(txn, self->timeline, id, id_len, b->p, size, 0);
    if (!rc)
        r->stored = size;
    return rc;
}

int analytics_record_has(const tl_rec_t *r, const char *source, uint64_t seq, bool *has)
{
    *has = false;
    size_t sn = strlen(source ? source : ""), at = 0;
    while (at < r->evs.n) {
        const uint8_t *p;
        size_t n;
        tl_head_t h;
        int rc = tl_rec_next(r, &at, &p, &n);
        if (!rc)
            rc = tl_event_head(r, p, n, &h, NULL);
        if (rc)
            return rc;
        if (h.seq == seq && h.source_len == sn && memcmp(h.source, source, sn) == 0) {
            *has = true;
            return 0;
        }
    }
    return 0;
}

int analytics_timeline_key(const MDB_val *key, size_t *id_len, bool *old)
{
    const char *id = key->mv_data;
    size_t n = strnlen(id, key->mv_size);
    *old = n < key->mv_size;
    *id_len = n;
    return n == 0 || n > ANALYTICS_ID_MAX || (*old && key->mv_size < n + 18) ? HL_ECORRUPT : 0;
}

/* The layout-3 key order: time, then source, then seq. */
static int by_key_order(const void *x, const void *y)
{
    const Hotline__Event *a = *(Hotline__Event *const *)x, *b = *(Hotline__Event *const *)y;
    if (a->time_ms != b->time_ms)
        return a->time_ms < b->time_ms ? -1 : 1;
    int c = strcmp(a->source, b->source);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int analytics_record_events(const tl_rec_t *r, const char *ticket_id, Hotline__Event ***out,
                            size_t *n)
{
    Hotline__Event **evs = NULL;
    size_t k = 0, cap = 0, at = 0;
    int rc = 0;
    while (!rc && at < r->evs.n) {
        const uint8_t *p;
        size_t len;
        if ((rc = tl_rec_next(r, &at, &p, &len)))
            break;
        if (k == cap) {
            cap = cap ? 2 * cap : 16;
            Hotline__Event **m = realloc(evs, cap * sizeof *m);
            if (!m) {
                rc = HL_ENOMEM;
                break;
            }
            evs = m;
        }
        if (!(rc = tl_event_decode(r, p, len, ticket_id, &evs[k])))
            k++;
    }
    if (rc) {
        for (size_t i = 0; i < k; i++)
            hotline__event__free_unpacked(evs[i], NULL);
        free(evs);
        return rc;
    }
    if (k)
        qsort(evs, k, sizeof *evs, by_key_order);
    *out = evs;
    *n = k;
    return 0;
}

/* ---- GET /v1/tickets/{id}/timeline ---- */

int analytics_timeline(analytics_t *self, MDB_txn *txn, const char *ticket_id, json_t **out)
{
    *out = NULL;
    if (!analytics_ticket_id_valid(ticket_id))
        return HL_EINVAL;
    MDB_val v;
    int rc = store_get(txn, self->timeline, ticket_id, strlen(ticket_id), &v);
    if (rc)
        return rc; /* HL_ENOTFOUND: no event of it yet */
    tl_rec_t r = {0};
    Hotline__Event **evs = NULL;
    size_t n = 0;
    rc = analytics_record_parse(&r, v.mv_data, v.mv_size);
    if (!rc)
        rc = analytics_record_events(&r, ticket_id, &evs, &n);
    tl_rec_fini(&r);
    json_t *arr = rc ? NULL : json_array();
    if (!rc && !arr)
        rc = HL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!rc && i < TIMELINE_MAX_EVENTS) {
            json_t *j = pbjson_encode(&evs[i]->base, false);
            if (!j || json_array_append_new(arr, j))
                rc = HL_ENOMEM;
        }
        hotline__event__free_unpacked(evs[i], NULL);
    }
    free(evs);
    if (!rc && n == 0)
        rc = HL_ENOTFOUND;
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = json_pack("{s:s, s:o}", "ticketId", ticket_id, "events", arr);
    if (*out && n > TIMELINE_MAX_EVENTS)
        json_object_set_new(*out, "truncated", json_true());
    return *out ? 0 : HL_ENOMEM;
}
