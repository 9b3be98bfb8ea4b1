/* dispatch_store: assignment records and the two structures kept beside them in the same
 * transactions, a unit's queue (by state) and per-unit counts.
 *
 * "assignments"  ticket id -> the record, a versioned byte layout (below)
 * "unit_queue"   0 unit-number state ticket-id -> ""   the queue a unit works through, by
 *                state (the unit's number: dispatch_units.c)
 * "unit_counts"  unit NUL state -> BE u64         for the queue summary and the gauges
 * State is one byte (the hotline.TicketStatus number), so a unit's tickets in one state are
 * one contiguous key range and a queue page costs what it returns, however many closed
 * tickets the unit has behind it.
 *
 * Record layout, version 1 (all integers big-endian):
 *   0 version (1), 1 state, 2 urgency, 3 flags (bit 0: resolved), 4..7 round,
 *   8..63 received, dispatched, signed, replied, reopened, closed, updated (int64 ms),
 *   then ticket_id, unit, category_code, district, route, result, reason, each NUL-ended;
 *   version 2 adds caller_name, caller_phone, incident_id (NUL-ended) and flags bit 1
 *   (confidential); version 1 records are read with those empty;
 *   version 3 adds, after the strings, contacted (int64 ms, the first contact with the citizen
 *   in the current round, 0 = none yet) and notes (u32, progress notes so far); older records
 *   are read with both 0. Flags bit 2 (designated: a dispatcher named the unit, which may not
 *   return the ticket) came with version 3 too; older records have it clear;
 *   version 4 adds, after that tail, street and community (NUL-ended): an incident's area is
 *   matched on them when existing tickets are linked by rule; older records read them "".
 *   Flags bit 3 (supervised: rated unsatisfied twice, 督办) needs no new version: older records
 *   have it clear.
 * Version 5 (compact; written from 2026-12-07): 0 version (5), 1 state, 2 urgency, 3 flags
 *   (as above), 4 which times are set (bit i for received, dispatched, signed, contacted,
 *   replied, reopened, closed, updated), then varints (common/base/bytes.h): round, notes, and the
 *   set times: received as a number, the others as zigzag differences from received; then
 *   category_code, district, result, reason, caller_name, caller_phone, incident_id, street,
 *   community, each NUL-ended; then the route: a varint, its number in "route_texts", or 0
 *   followed by the text itself, NUL-ended; last the unit the same way, by its number
 *   (dispatch_units.c) or 0 and its id. The ticket id is the key alone.
 * "route_texts" and "unit_numbers" number each distinct route text and unit once
 *   (common/storage/names.h): a record shows the text that routed it whatever the catalogue
 *   has become (its configuration's rules carry no line numbers; editions may come and go).
 * Later fields are appended after these; a reader ignores bytes it does not know.
 * Loop thread. */
#include "dispatch_internal.h"

#include "bytes.h"
#include "hl_error.h"
#include "names.h"
#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 5 /* 1: without caller and incident; 2: without contact and notes;
                          * 3: without street and community; 4: fixed-width, with its id */
#define TAIL_BYTES_V3 12  /* contacted (8), notes (4) */
#define HEADER_BYTES 64   /* versions 1 to 4 */
#define HEADER_BYTES_V5 5
#define NSTRINGS 10
#define NSTRINGS_V1 7 /* records written before caller and incident were kept */
#define NSTRINGS_V5 9
#define NTIMES 7
#define NTIMES_V5 8
#define QUEUE_KEY_MAX (DISPATCH_UNIT_ID_MAX + 2 + DISPATCH_TICKET_ID_MAX)

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* ---- version 5 ---------------------------------------------------------------------- */

static void strings_v5(const dispatch_assignment_t *a, const char *s[NSTRINGS_V5])
{
    s[0] = str_or_empty(a->category_code);
    s[1] = str_or_empty(a->district);
    s[2] = str_or_empty(a->result);
    s[3] = str_or_empty(a->reason);
    s[4] = str_or_empty(a->caller_name);
    s[5] = str_or_empty(a->caller_phone);
    s[6] = str_or_empty(a->incident_id);
    s[7] = str_or_empty(a->street);
    s[8] = str_or_empty(a->community);
}

static void times_v5(const dispatch_assignment_t *a, int64_t t[NTIMES_V5])
{
    t[0] = a->received_ms;
    t[1] = a->dispatched_ms;
    t[2] = a->signed_ms;
    t[3] = a->contacted_ms;
    t[4] = a->replied_ms;
    t[5] = a->reopened_ms;
    t[6] = a->closed_ms;
    t[7] = a->updated_ms;
}

/* Everything but the strings and the route (p NULL: count only); returns the bytes. */
static size_t put_head(const dispatch_assignment_t *a, uint8_t *p)
{
    int64_t t[NTIMES_V5];
    times_v5(a, t);
    uint8_t set = 0;
    for (int i = 0; i < NTIMES_V5; i++)
        set |= t[i] ? (uint8_t)(1u << i) : 0;
    if (p) {
        p[0] = RECORD_VERSION;
        p[1] = (uint8_t)a->state;
        p[2] = (uint8_t)a->urgency;
        p[3] = (a->resolved ? 1 : 0) | (a->confidential ? 2 : 0) | (a->designated ? 4 : 0) |
               (a->supervised ? 8 : 0);
        p[4] = set;
    }
    size_t n = HEADER_BYTES_V5;
    n += varint_put(p ? p + n : NULL, a->round);
    n += varint_put(p ? p + n : NULL, a->notes);
    for (int i = 0; i < NTIMES_V5; i++)
        if (t[i])
            n += varint_put(p ? p + n : NULL, i == 0 ? (uint64_t)t[0]
                                                              : zigzag_diff(t[0], t[i]));
    return n;
}

size_t dispatch_assignment_size(const dispatch_assignment_t *a)
{
    const char *s[NSTRINGS_V5];
    strings_v5(a, s);
    size_t n = put_head(a, NULL);
    for (int i = 0; i < NSTRINGS_V5; i++)
        n += strlen(s[i]) + 1;
    n += varint_put(NULL, a->route_no);
    if (!a->route_no)
        n += strlen(str_or_empty(a->route)) + 1;
    return n + 1 + strlen(str_or_empty(a->unit)) + 1; /* 0: the unit by name */
}

/* The record into out; returns where the route starts. */
static size_t encode(const dispatch_assignment_t *a, uint8_t *out)
{
    uint8_t *p = out + put_head(a, out);
    const char *s[NSTRINGS_V5];
    strings_v5(a, s);
    for (int i = 0; i < NSTRINGS_V5; i++) {
        size_t n = strlen(s[i]) + 1;
        memcpy(p, s[i], n);
        p += n;
    }
    size_t route_at = (size_t)(p - out);
    p += varint_put(p, a->route_no);
    if (!a->route_no) {
        size_t n = strlen(str_or_empty(a->route)) + 1;
        memcpy(p, str_or_empty(a->route), n);
        p += n;
    }
    *p++ = 0;
    memcpy(p, str_or_empty(a->unit), strlen(str_or_empty(a->unit)) + 1);
    return route_at;
}

void dispatch_assignment_encode(const dispatch_assignment_t *a, uint8_t *out)
{
    encode(a, out);
}

/* The NUL-ended string at *p (before end) into *out; -1 when it has no end. */
static int take_string(const uint8_t **p, const uint8_t *end, const char **out)
{
    const uint8_t *nul = *p < end ? memchr(*p, 0, (size_t)(end - *p)) : NULL;
    if (!nul)
        return -1;
    *out = (const char *)*p;
    *p = nul + 1;
    return 0;
}

/* A number (a varint, *no), or 0 and the text itself (*text; NULL when numbered). */
static int take_numbered(const uint8_t **p, const uint8_t *end, uint32_t *no, const char **text)
{
    uint64_t v;
    if (varint_get(p, end, &v) || v > UINT32_MAX)
        return -1;
    *no = (uint32_t)v;
    *text = NULL;
    return v ? 0 : take_string(p, end, text);
}

static int decode_v5(const uint8_t *b, size_t len, dispatch_assignment_t *out)
{
    const uint8_t *p = b + HEADER_BYTES_V5, *end = b + len;
    uint64_t round, notes, v;
    if (varint_get(&p, end, &round) || round > UINT32_MAX ||
        varint_get(&p, end, &notes) || notes > UINT32_MAX)
        return HL_ECORRUPT;
    out->round = (uint32_t)round;
    out->notes = (uint32_t)notes;
    int64_t *t[NTIMES_V5] = {&out->received_ms, &out->dispatched_ms, &out->signed_ms,
                             &out->contacted_ms, &out->replied_ms,   &out->reopened_ms,
                             &out->closed_ms,    &out->updated_ms};
    for (int i = 0; i < NTIMES_V5; i++) {
        if (!(b[4] & (1u << i)))
            continue;
        if (varint_get(&p, end, &v))
            return HL_ECORRUPT;
        *t[i] = i == 0 ? (int64_t)v : zigzag_undiff(out->received_ms, v);
    }
    const char **s[NSTRINGS_V5] = {&out->category_code, &out->district,    &out->result,
                                   &out->reason,        &out->caller_name, &out->caller_phone,
                                   &out->incident_id,   &out->street,      &out->community};
    for (int i = 0; i < NSTRINGS_V5; i++)
        if (take_string(&p, end, s[i]))
            return HL_ECORRUPT;
    if (take_numbered(&p, end, &out->route_no, &out->route) ||
        take_numbered(&p, end, &out->unit_no, &out->unit))
        return HL_ECORRUPT;
    return 0;
}

/* ---- versions 1 to 4 (read only) ------------------------------------------------------ */

static int decode_v4(const uint8_t *b, size_t len, dispatch_assignment_t *out)
{
    if (len < HEADER_BYTES)
        return HL_ECORRUPT;
    out->round = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    int64_t *t[NTIMES] = {&out->received_ms, &out->dispatched_ms, &out->signed_ms, &out->replied_ms,
                          &out->reopened_ms, &out->closed_ms,     &out->updated_ms};
    for (int i = 0; i < NTIMES; i++)
        *t[i] = (int64_t)store_be64_get(b + 8 + 8 * i);
    const char **s[NSTRINGS] = {&out->ticket_id,   &out->unit,         &out->category_code,
                                &out->district,    &out->route,        &out->result,
                                &out->reason,      &out->caller_name,  &out->caller_phone,
                                &out->incident_id};
    const uint8_t *p = b + HEADER_BYTES, *end = b + len;
    int present = b[0] == 1 ? NSTRINGS_V1 : NSTRINGS;
    for (int i = present; i < NSTRINGS; i++)
        *s[i] = ""; /* an older record: the field did not exist yet */
    for (int i = 0; i < present; i++)
        if (take_string(&p, end, s[i]))
            return HL_ECORRUPT;
    if (b[0] >= 3) {
        if ((size_t)(end - p) < TAIL_BYTES_V3)
            return HL_ECORRUPT;
        out->contacted_ms = (int64_t)store_be64_get(p);
        out->notes = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
        p += TAIL_BYTES_V3;
    }
    out->street = out->community = "";
    if (b[0] >= 4 && (take_string(&p, end, &out->street) ||
                      take_string(&p, end, &out->community)))
        return HL_ECORRUPT;
    return 0;
}

int dispatch_assignment_decode(const void *data, size_t len, const char *ticket_id,
                               dispatch_assignment_t *out)
{
    const uint8_t *b = data;
    if (len < HEADER_BYTES_V5 || b[0] < 1 || b[0] > RECORD_VERSION ||
        b[1] < HOTLINE__TICKET_STATUS__TICKET_RECEIVED ||
        b[1] > HOTLINE__TICKET_STATUS__TICKET_LINKED ||
        b[2] > HOTLINE__URGENCY__URGENCY_VERY_URGENT)
        return HL_ECORRUPT;
    memset(out, 0, offsetof(dispatch_assignment_t, id_buf));
    out->unit_no = 0;
    out->state = (Hotline__TicketStatus)b[1];
    out->urgency = (Hotline__Urgency)b[2];
    out->resolved = (b[3] & 1) != 0;
    out->confidential = (b[3] & 2) != 0;
    out->designated = (b[3] & 4) != 0;
    out->supervised = (b[3] & 8) != 0;
    if (b[0] < 5)
        return decode_v4(b, len, out);
    snprintf(out->id_buf, sizeof out->id_buf, "%s", str_or_empty(ticket_id));
    out->ticket_id = out->id_buf;
    return decode_v5(b, len, out);
}

/* ---- keys --------------------------------------------------------------------------- */

/* unit NUL state [ticket id] (the counts' keys: no ticket id): written into out
 * (QUEUE_KEY_MAX bytes); returns the length, or 0 when an identifier is too long to be a key
 * (never for what dispatch stored). */
static size_t make_key(char *out, const char *unit, Hotline__TicketStatus state,
                       const char *ticket_id)
{
    size_t ulen = strlen(unit), tlen = ticket_id ? strlen(ticket_id) : 0;
    if (ulen == 0 || ulen > DISPATCH_UNIT_ID_MAX || tlen > DISPATCH_TICKET_ID_MAX)
        return 0;
    memcpy(out, unit, ulen);
    out[ulen] = '\0';
    out[ulen + 1] = (char)state;
    memcpy(out + ulen + 2, ticket_id ? ticket_id : "", tlen);
    return ulen + 2 + tlen;
}

/* s (NULL: "") into out, cut to size - 1 bytes (make_key refused longer units already). */
static void copy_id(char *out, size_t size, const char *s)
{
    size_t n = s ? strnlen(s, size - 1) : 0;
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
}

static int count_add(dispatch_t *self, MDB_txn *txn, const char *key, size_t klen, int delta)
{
    self->counts_dirty = true;
    /* Counts are kept in step with the queue; store_add_u64 never lets one wrap below 0. */
    return store_add_u64(txn, self->counts, key, klen, delta < 0 ? -1 : 1, NULL);
}

int dispatch_assignment_get(dispatch_t *self, MDB_txn *txn, const char *ticket_id,
                            dispatch_assignment_t *out)
{
    size_t len = strlen(ticket_id);
    if (len == 0 || len > DISPATCH_TICKET_ID_MAX)
        return HL_ENOTFOUND;
    MDB_val v;
    int rc = store_get(txn, self->assignments, ticket_id, len, &v);
    if (rc)
        return rc;
    rc = dispatch_assignment_decode(v.mv_data, v.mv_size, ticket_id, out);
    if (!rc && out->route_no)
        rc = dispatch_route_text(self, txn, out);
    if (!rc && out->unit_no) {
        rc = dispatch_unit_name(self, txn, out->unit_no, out->unit_buf);
        out->unit = out->unit_buf;
    }
    if (rc == HL_ECORRUPT)
        SLOG_ERROR("assignment_corrupt", "ticket=%s bytes=%zu route=%u", ticket_id, v.mv_size,
                   (unsigned)out->route_no);
    return rc;
}

int dispatch_assignment_put(dispatch_t *self, MDB_txn *txn, const dispatch_assignment_t *a,
                            const dispatch_assignment_t *old)
{
    /* a and old may point into LMDB pages that the first write below can move: take every
     * byte needed (the record and all keys) before writing anything. */
    char id[DISPATCH_TICKET_ID_MAX + 1];
    size_t idlen = strlen(str_or_empty(a->ticket_id));
    if (idlen == 0 || idlen > DISPATCH_TICKET_ID_MAX)
        return HL_EINVAL;
    memcpy(id, a->ticket_id, idlen + 1);
    char nkey[QUEUE_KEY_MAX], okey[QUEUE_KEY_MAX]; /* of the counts: unit NUL state */
    size_t nlen = make_key(nkey, str_or_empty(a->unit), a->state, NULL), olen = 0;
    if (!nlen)
        return HL_EINVAL;
    bool moved = !old || old->state != a->state || strcmp(old->unit, a->unit) != 0;
    /* For the crews' work orders, after the writes (dispatch_workorder_follow). */
    char ounit[DISPATCH_UNIT_ID_MAX + 1] = "", unit[DISPATCH_UNIT_ID_MAX + 1];
    copy_id(unit, sizeof unit, a->unit);
    if (old)
        copy_id(ounit, sizeof ounit, old->unit);
    Hotline__TicketStatus ostate = old ? old->state : 0, state = a->state;
    if (old && moved) {
        olen = make_key(okey, old->unit, old->state, NULL);
        if (!olen)
            return HL_EINVAL;
    }
    size_t vlen = dispatch_assignment_size(a);
    uint8_t *val = malloc(vlen + 2 * VARINT_MAX);
    if (!val)
        return HL_ENOMEM;
    /* Every byte of a is in val (and unit) from here: the writes below may move it. */
    size_t route_at = encode(a, val);
    vlen -= 1 + strlen(unit) + 1; /* the unit by name: its number instead, below */
    int rc = 0;
    if (!a->route_no && vlen - route_at > 2) {
        /* A new route text: numbered in "route_texts", its number in place of the text. */
        uint8_t *text = val + route_at + 1;
        uint32_t n;
        rc = names_number(txn, self->route_texts, (const char *)text, vlen - route_at - 2, true,
                          &n);
        if (!rc && n)
            vlen = route_at + varint_put(val + route_at, n);
    }
    uint32_t number = 0;
    if (!rc)
        rc = dispatch_unit_number(self, txn, unit, true, &number);
    if (!rc)
        vlen += varint_put(val + vlen, number);
    if (!rc)
        rc = store_put(txn, self->assignments, id, idlen, val, vlen, 0);
    free(val);
    if (rc || !moved)
        return rc;
    uint8_t qkey[DISPATCH_QUEUE_KEY_MAX];
    uint32_t onumber;
    if (olen) {
        rc = dispatch_unit_number(self, txn, ounit, false, &onumber);
        if (!rc && onumber)
            rc = store_del(txn, self->queue, qkey,
                           dispatch_queue_key(qkey, onumber, ostate, id, idlen));
        if (rc && rc != HL_ENOTFOUND)
            return rc;
        rc = count_add(self, txn, okey, olen, -1);
        if (rc)
            return rc;
    }
    rc = store_put(txn, self->queue, qkey, dispatch_queue_key(qkey, number, state, id, idlen), "",
                   0, 0);
    if (!rc)
        rc = count_add(self, txn, nkey, nlen, +1);
    if (!rc)
        rc = dispatch_workorder_follow(self, txn, id, old ? ounit : NULL, ostate, unit, state);
    return rc;
}

/* ---- reading queues and counts -------------------------------------------------------- */

typedef struct queue_walk {
    dispatch_t *self;
    MDB_txn *txn;
    const uint8_t *start; /* the prefix (0, unit number, state), then "after" itself */
    size_t plen, slen;
    size_t limit, seen;
    bool *more;
    dispatch_visit_fn fn;
    void *ctx;
    int fn_rc; /* what fn said when it stopped the walk */
} queue_walk_t;

static int queue_visit(void *ctx, const store_entry_t *e)
{
    queue_walk_t *w = ctx;
    const MDB_val *k = &e->key;
    if (k->mv_size <= w->plen)
        return 1; /* past this unit and state */
    if (w->slen > w->plen && k->mv_size == w->slen && memcmp(k->mv_data, w->start, w->slen) == 0)
        return 0; /* "after" itself */
    if (w->seen == w->limit) {
        *w->more = true;
        return 1;
    }
    size_t tlen = k->mv_size - w->plen;
    char id[DISPATCH_TICKET_ID_MAX + 1];
    if (tlen > DISPATCH_TICKET_ID_MAX)
        return HL_ECORRUPT;
    memcpy(id, (const char *)k->mv_data + w->plen, tlen);
    id[tlen] = '\0';
    dispatch_assignment_t a;
    int rc = dispatch_assignment_get(w->self, w->txn, id, &a);
    if (rc)
        return rc;
    w->seen++;
    return w->fn_rc = w->fn(w->ctx, &a);
}

int dispatch_queue_list(dispatch_t *self, MDB_txn *txn, const char *unit,
                        Hotline__TicketStatus state, const char *after, size_t limit,
                        dispatch_visit_fn fn, void *ctx, bool *more)
{
    *more = false;
    size_t ulen = strlen(unit), alen = after ? strlen(after) : 0;
    if (ulen == 0 || ulen > DISPATCH_UNIT_ID_MAX)
        return 0; /* no such unit can hold tickets */
    if (alen > DISPATCH_TICKET_ID_MAX)
        return HL_EINVAL;
    uint32_t number;
    int rc = dispatch_unit_number(self, txn, unit, false, &number);
    if (rc || !number)
        return rc; /* a unit without a number never held a ticket */
    uint8_t start[DISPATCH_QUEUE_KEY_MAX];
    size_t plen = dispatch_queue_key(start, number, state, NULL, 0);
    size_t slen = dispatch_queue_key(start, number, state, after, alen);
    queue_walk_t w = {self, txn, start, plen, slen, limit, 0, more, fn, ctx, 0};
    store_range_t r = {.from = start, .from_len = slen, .prefix = start, .prefix_len = plen};
    rc = store_scan(txn, self->queue, &r, queue_visit, &w);
    return rc ? rc : w.fn_rc;
}

int dispatch_unit_count(dispatch_t *self, MDB_txn *txn, const char *unit,
                        Hotline__TicketStatus state, uint64_t *out)
{
    *out = 0;
    char key[QUEUE_KEY_MAX];
    size_t klen = make_key(key, unit, state, NULL);
    if (!klen)
        return 0;
    return store_get_u64(txn, self->counts, key, klen, out);
}

typedef struct counts_walk {
    dispatch_count_fn fn;
    void *ctx;
    int fn_rc; /* what fn said when it stopped the walk */
} counts_walk_t;

static int counts_visit(void *ctx, const store_entry_t *e)
{
    counts_walk_t *w = ctx;
    const MDB_val *k = &e->key;
    /* unit NUL state */
    if (k->mv_size < 3 || k->mv_size - 2 > DISPATCH_UNIT_ID_MAX || e->val.mv_size != 8 ||
        ((const char *)k->mv_data)[k->mv_size - 2] != '\0')
        return HL_ECORRUPT;
    char unit[DISPATCH_UNIT_ID_MAX + 1];
    memcpy(unit, k->mv_data, k->mv_size - 2);
    unit[k->mv_size - 2] = '\0';
    Hotline__TicketStatus st = (Hotline__TicketStatus)((const uint8_t *)k->mv_data)[k->mv_size - 1];
    return w->fn_rc = w->fn(w->ctx, unit, st, store_be64_get(e->val.mv_data));
}

int dispatch_counts(dispatch_t *self, MDB_txn *txn, dispatch_count_fn fn, void *ctx)
{
    counts_walk_t w = {fn, ctx, 0};
    int rc = store_scan(txn, self->counts, NULL, counts_visit, &w);
    return rc ? rc : w.fn_rc;
}

/* ---- names and JSON ------------------------------------------------------------------- */

const char *dispatch_state_name(Hotline__TicketStatus state)
{
    switch (state) {
    case HOTLINE__TICKET_STATUS__TICKET_RECEIVED: return "RECEIVED";
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED: return "DISPATCHED";
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED: return "SIGNED";
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED: return "REPLIED";
    case HOTLINE__TICKET_STATUS__TICKET_REWORK: return "REWORK";
    case HOTLINE__TICKET_STATUS__TICKET_CLOSED: return "CLOSED";
    case HOTLINE__TICKET_STATUS__TICKET_LINKED: return "LINKED";
    default: return "UNSPECIFIED";
    }
}

int dispatch_state_parse(const char *text, Hotline__TicketStatus *out)
{
    char up[32];
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof up)
        return HL_EINVAL;
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 'a' + 'A' : text[i]);
    const char *name = strncmp(up, "TICKET_", 7) == 0 ? up + 7 : up;
    for (int s = HOTLINE__TICKET_STATUS__TICKET_RECEIVED;
         s <= HOTLINE__TICKET_STATUS__TICKET_CLOSED; s++) {
        if (strcmp(name, dispatch_state_name((Hotline__TicketStatus)s)) == 0) {
            *out = (Hotline__TicketStatus)s;
            return 0;
        }
    }
    return HL_EINVAL;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : "UNKNOWN";
}

static void set_str(json_t *o, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(o, key, json_string(value));
}

/* int64 as a string, as proto3 JSON writes it; left out when 0 (unset). */
static void set_ms(json_t *o, const char *key, int64_t ms)
{
    if (!ms)
        return;
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)ms);
    json_object_set_new(o, key, json_string(buf));
}

json_t *dispatch_assignment_json(const dispatch_assignment_t *a, bool caller_whole)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_str(o, "ticketId", a->ticket_id);
    set_str(o, "unit", a->unit);
    json_object_set_new(o, "status",
                        json_string(enum_name(&hotline__ticket_status__descriptor, a->state)));
    json_object_set_new(o, "round", json_integer(a->round));
    set_str(o, "categoryCode", a->category_code);
    json_object_set_new(o, "urgency",
                        json_string(enum_name(&hotline__urgency__descriptor, a->urgency)));
    set_str(o, "district", a->district);
    set_str(o, "route", a->route);
    if (caller_whole) {
        set_str(o, "result", a->result);
    } else if (*str_or_empty(a->result)) {
        char *masked = mask_phones_dup(a->result);
        set_str(o, "result", masked ? masked : "");
        free(masked);
    }
    if (a->replied_ms)
        json_object_set_new(o, "resolved", json_boolean(a->resolved));
    if (a->notes)
        json_object_set_new(o, "notes", json_integer(a->notes));
    if (a->designated)
        json_object_set_new(o, "designated", json_true());
    if (a->supervised)
        json_object_set_new(o, "supervised", json_true());
    set_str(o, "reworkReason", a->reason);
    set_str(o, "incidentId", a->incident_id);
    /* The unit contacts the citizen, except on a confidential ticket (docs/architecture.md). */
    if (a->confidential)
        json_object_set_new(o, "caller", json_pack("{s:b}", "confidential", 1));
    else if ((*str_or_empty(a->caller_phone) || *str_or_empty(a->caller_name)) && caller_whole)
        json_object_set_new(o, "caller", json_pack("{s:s, s:s}", "name",
                                                   str_or_empty(a->caller_name), "phone",
                                                   str_or_empty(a->caller_phone)));
    else if (*str_or_empty(a->caller_phone) || *str_or_empty(a->caller_name)) {
        /* Others (dispatchers, supervisors) see that there is a caller, not who. */
        char name[AUTH_NAME_MAX * 4], phone[64];
        mask_name(str_or_empty(a->caller_name), name, sizeof name);
        mask_phone_field(str_or_empty(a->caller_phone), phone, sizeof phone);
        json_object_set_new(o, "caller", json_pack("{s:s, s:s, s:b}", "name", name, "phone",
                                                   phone, "masked", 1));
    }
    set_ms(o, "receivedMs", a->received_ms);
    set_ms(o, "dispatchedMs", a->dispatched_ms);
    set_ms(o, "signedMs", a->signed_ms);
    set_ms(o, "contactedMs", a->contacted_ms);
    set_ms(o, "repliedMs", a->replied_ms);
    set_ms(o, "reopenedMs", a->reopened_ms);
    set_ms(o, "closedMs", a->closed_ms);
    set_ms(o, "updatedMs", a->updated_ms);
    return o;
}
