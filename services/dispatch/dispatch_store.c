/* dispatch_store: assignment records and the two structures kept beside them in the same
 * transactions, a unit's queue (by state) and per-unit counts.
 *
 * "assignments"  ticket id -> the record, a versioned byte layout (below)
 * "unit_queue"   unit NUL state ticket-id -> ""   the queue a unit works through, by state
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
 * Later fields are appended after these; a reader ignores bytes it does not know.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_VERSION 4 /* 1: without caller and incident; 2: without contact and notes;
                          * 3: without street and community */
#define TAIL_BYTES_V3 12  /* contacted (8), notes (4) */
#define HEADER_BYTES 64
#define NSTRINGS 10
#define NSTRINGS_V1 7 /* records written before caller and incident were kept */
#define NTIMES 7
#define QUEUE_KEY_MAX (DISPATCH_UNIT_ID_MAX + 2 + DISPATCH_TICKET_ID_MAX)

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static void strings_of(const dispatch_assignment_t *a, const char *s[NSTRINGS])
{
    s[0] = str_or_empty(a->ticket_id);
    s[1] = str_or_empty(a->unit);
    s[2] = str_or_empty(a->category_code);
    s[3] = str_or_empty(a->district);
    s[4] = str_or_empty(a->route);
    s[5] = str_or_empty(a->result);
    s[6] = str_or_empty(a->reason);
    s[7] = str_or_empty(a->caller_name);
    s[8] = str_or_empty(a->caller_phone);
    s[9] = str_or_empty(a->incident_id);
}

static void times_of(const dispatch_assignment_t *a, int64_t t[NTIMES])
{
    t[0] = a->received_ms;
    t[1] = a->dispatched_ms;
    t[2] = a->signed_ms;
    t[3] = a->replied_ms;
    t[4] = a->reopened_ms;
    t[5] = a->closed_ms;
    t[6] = a->updated_ms;
}

size_t dispatch_assignment_size(const dispatch_assignment_t *a)
{
    const char *s[NSTRINGS];
    strings_of(a, s);
    size_t n = HEADER_BYTES;
    for (int i = 0; i < NSTRINGS; i++)
        n += strlen(s[i]) + 1;
    return n + TAIL_BYTES_V3 + strlen(str_or_empty(a->street)) + 1 +
           strlen(str_or_empty(a->community)) + 1;
}

void dispatch_assignment_encode(const dispatch_assignment_t *a, uint8_t *out)
{
    out[0] = RECORD_VERSION;
    out[1] = (uint8_t)a->state;
    out[2] = (uint8_t)a->urgency;
    out[3] = (a->resolved ? 1 : 0) | (a->confidential ? 2 : 0) | (a->designated ? 4 : 0) |
             (a->supervised ? 8 : 0);
    out[4] = (uint8_t)(a->round >> 24);
    out[5] = (uint8_t)(a->round >> 16);
    out[6] = (uint8_t)(a->round >> 8);
    out[7] = (uint8_t)a->round;
    int64_t t[NTIMES];
    times_of(a, t);
    for (int i = 0; i < NTIMES; i++)
        store_be64_put(out + 8 + 8 * i, (uint64_t)t[i]);
    const char *s[NSTRINGS];
    strings_of(a, s);
    uint8_t *p = out + HEADER_BYTES;
    for (int i = 0; i < NSTRINGS; i++) {
        size_t n = strlen(s[i]) + 1;
        memcpy(p, s[i], n);
        p += n;
    }
    store_be64_put(p, (uint64_t)a->contacted_ms);
    p[8] = (uint8_t)(a->notes >> 24);
    p[9] = (uint8_t)(a->notes >> 16);
    p[10] = (uint8_t)(a->notes >> 8);
    p[11] = (uint8_t)a->notes;
    p += TAIL_BYTES_V3;
    const char *v4[2] = {str_or_empty(a->street), str_or_empty(a->community)};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(v4[i]) + 1;
        memcpy(p, v4[i], n);
        p += n;
    }
}

int dispatch_assignment_decode(const void *data, size_t len, dispatch_assignment_t *out)
{
    const uint8_t *b = data;
    if (len < HEADER_BYTES || b[0] < 1 || b[0] > RECORD_VERSION ||
        b[1] < HOTLINE__TICKET_STATUS__TICKET_RECEIVED ||
        b[1] > HOTLINE__TICKET_STATUS__TICKET_LINKED ||
        b[2] > HOTLINE__URGENCY__URGENCY_VERY_URGENT)
        return HL_ECORRUPT;
    memset(out, 0, sizeof *out);
    out->state = (Hotline__TicketStatus)b[1];
    out->urgency = (Hotline__Urgency)b[2];
    out->resolved = (b[3] & 1) != 0;
    out->confidential = (b[3] & 2) != 0;
    out->designated = (b[3] & 4) != 0;
    out->supervised = (b[3] & 8) != 0;
    out->round = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
    int64_t *t[NTIMES] = {&out->received_ms, &out->dispatched_ms, &out->signed_ms, &out->replied_ms,
                          &out->reopened_ms, &out->closed_ms,     &out->updated_ms};
    for (int i = 0; i < NTIMES; i++)
        *t[i] = (int64_t)store_be64_get(b + 8 + 8 * i);
    const char **s[NSTRINGS] = {&out->ticket_id,   &out->unit,         &out->category_code,
                                &out->district,    &out->route,        &out->result,
                                &out->reason,      &out->caller_name,  &out->caller_phone,
                                &out->incident_id};
    size_t off = HEADER_BYTES;
    int present = b[0] == 1 ? NSTRINGS_V1 : NSTRINGS;
    for (int i = present; i < NSTRINGS; i++)
        *s[i] = ""; /* an older record: the field did not exist yet */
    for (int i = 0; i < present; i++) {
        const uint8_t *nul = off < len ? memchr(b + off, 0, len - off) : NULL;
        if (!nul)
            return HL_ECORRUPT;
        *s[i] = (const char *)b + off;
        off = (size_t)(nul - b) + 1;
    }
    if (b[0] >= 3) {
        if (len - off < TAIL_BYTES_V3)
            return HL_ECORRUPT;
        const uint8_t *p = b + off;
        out->contacted_ms = (int64_t)store_be64_get(p);
        out->notes = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
        off += TAIL_BYTES_V3;
    }
    out->street = out->community = "";
    if (b[0] >= 4) {
        const char **v4[2] = {&out->street, &out->community};
        for (int i = 0; i < 2; i++) {
            const uint8_t *nul = off < len ? memchr(b + off, 0, len - off) : NULL;
            if (!nul)
                return HL_ECORRUPT;
            *v4[i] = (const char *)b + off;
            off = (size_t)(nul - b) + 1;
        }
    }
    return 0;
}

/* ---- keys --------------------------------------------------------------------------- */

/* unit NUL state [ticket id]: written into out (QUEUE_KEY_MAX bytes); returns the length,
 * or 0 when an identifier is too long to be a key (never for what dispatch stored). */
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
    rc = dispatch_assignment_decode(v.mv_data, v.mv_size, out);
    if (rc)
        SLOG_ERROR("assignment_corrupt", "ticket=%s bytes=%zu", ticket_id, v.mv_size);
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
    char nkey[QUEUE_KEY_MAX], okey[QUEUE_KEY_MAX];
    size_t nlen = make_key(nkey, str_or_empty(a->unit), a->state, id), olen = 0;
    if (!nlen)
        return HL_EINVAL;
    size_t ncount = nlen - idlen, ocount = 0;
    bool moved = !old || old->state != a->state || strcmp(old->unit, a->unit) != 0;
    /* For the crews' work orders, after the writes (dispatch_workorder_follow). */
    char ounit[DISPATCH_UNIT_ID_MAX + 1] = "", unit[DISPATCH_UNIT_ID_MAX + 1];
    snprintf(unit, sizeof unit, "%s", str_or_empty(a->unit));
    if (old)
        snprintf(ounit, sizeof ounit, "%s", str_or_empty(old->unit));
    Hotline__TicketStatus ostate = old ? old->state : 0, state = a->state;
    if (old && moved) {
        olen = make_key(okey, old->unit, old->state, id);
        if (!olen)
            return HL_EINVAL;
        ocount = olen - idlen;
    }
    size_t vlen = dispatch_assignment_size(a);
    uint8_t *val = malloc(vlen);
    if (!val)
        return HL_ENOMEM;
    dispatch_assignment_encode(a, val);

    int rc = store_put(txn, self->assignments, id, idlen, val, vlen, 0);
    free(val);
    if (rc || !moved)
        return rc;
    if (olen) {
        rc = store_del(txn, self->queue, okey, olen);
        if (rc && rc != HL_ENOTFOUND)
            return rc;
        rc = count_add(self, txn, okey, ocount, -1);
        if (rc)
            return rc;
    }
    rc = store_put(txn, self->queue, nkey, nlen, "", 0, 0);
    if (!rc)
        rc = count_add(self, txn, nkey, ncount, +1);
    if (!rc)
        rc = dispatch_workorder_follow(self, txn, id, old ? ounit : NULL, ostate, unit, state);
    return rc;
}

/* ---- reading queues and counts -------------------------------------------------------- */

typedef struct queue_walk {
    dispatch_t *self;
    MDB_txn *txn;
    const char *start; /* unit NUL state [after]: the prefix, then "after" itself */
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
    char start[QUEUE_KEY_MAX];
    size_t plen = make_key(start, unit, state, NULL);
    if (!plen)
        return 0; /* no such unit can hold tickets */
    size_t slen = make_key(start, unit, state, after);
    if (!slen)
        return HL_EINVAL;
    queue_walk_t w = {self, txn, start, plen, slen, limit, 0, more, fn, ctx, 0};
    store_range_t r = {.from = start, .from_len = slen, .prefix = start, .prefix_len = plen};
    int rc = store_scan(txn, self->queue, &r, queue_visit, &w);
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
