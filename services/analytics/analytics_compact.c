/* analytics_compact: one event as analytics keeps it in its ticket's record: what the counts
 * read and what GET /v1/tickets/{id}/timeline shows, without free text or contact data (intake
 * owns the ticket as recorded and its notes). Pure over a record's string table; loop thread.
 *
 *   event  kind (the Event's body field number) | source | varint seq | zz(time_ms - base)
 *          | body (absent when the event has no body message)
 *   source 0-4 intake, dispatch, sla, callback, analytics; 5 none; 16 + string index
 *   body   (varint field number | value)* 0 over the body message's kept fields, in the
 *          descriptor's order, only those set:
 *            integers, enums: zigzag varint (signed types; int64 fields named *_ms as the
 *                             difference from the event's time) or varint (unsigned, bool)
 *            float, double:   4 or 8 bytes, little-endian bit pattern
 *            string:          varint index in the record's string table
 *            message:         its own fields, then 0
 *   Kept: every single (non-repeated) scalar and sub-message except the caller's contact, the
 *   caller's position and the sla ladder's plan (warn/reminder/red/supervision/return-until
 *   instants); of the strings only codes, ids, units, who acted and why a ticket closed
 *   (KEPT_STRINGS). Dropped: repeated fields, bytes, and every other string (descriptions,
 *   notes, other reasons, comments, results, summaries, addresses, names, phones, routes,
 *   policy names). Decoding gives an Event whose dropped fields
 *   are empty: analytics_count reads none of them. */
#include "analytics_internal.h"

#include "hl_error.h"
#include "mask.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define BODY_DEPTH_MAX 4

/* Strings kept (in every message, or in the one named), and whether their phones are masked
 * (those counted by are kept as sent, as the counts read them live). */
static const struct {
    const char *name;
    bool counted;
    const char *message; /* NULL: any */
} KEPT_STRINGS[] = {
    {"reason", false, "hotline.TicketClosed"}, /* why it closed: "rated satisfied", ... */
    {"unit", true, NULL},
    {"category_code", true, NULL},
    {"district", true, NULL},
    {"incident_id", true, NULL},
    {"to_unit", false, NULL},
    {"from_unit", false, NULL},
    {"category_prefix", false, NULL},
    {"reason_code", false, NULL},
    {"hotspot_id", false, NULL},
    {"work_order_id", false, NULL},
    {"survey_id", false, NULL},
    {"ticket_id", false, NULL},
    {"agent", false, NULL},
    {"crew", false, NULL},
    {"by", false, NULL},
    {"filed_by", false, NULL},
    {"raised_by", false, NULL},
    {"reviewed_by", false, NULL},
    {"trigger", false, NULL},
    {"view", false, NULL},
    {"channel", false, NULL},
    {"source", false, NULL},
};
static const char *const DROPPED[] = {"contact", "point", "warn_ms", "reminder_ms", "red_ms",
                                      "supervision_ms", "return_until_ms"};
static const char *const SOURCES[] = {"intake", "dispatch", "sla", "callback", "analytics"};
#define SOURCE_NONE 5
#define SOURCE_TABLE 16

/* ---- bytes ---- */

int tl_get_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *out)
{
    const uint8_t *q = p + *at;
    if (*at > n || varint_get(&q, p + n, out))
        return HL_ECORRUPT;
    *at = (size_t)(q - p);
    return 0;
}

uint64_t tl_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

int64_t tl_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- the string table ---- */

void tl_rec_reset(tl_rec_t *r)
{
    memset(&r->t, 0, sizeof r->t);
    r->base_ms = 0;
    r->nstr = 0;
    r->strs.n = 0;
    r->evs.n = 0;
    r->stored = 0;
}

void tl_rec_fini(tl_rec_t *r)
{
    free(r->off);
    free(r->len);
    free(r->strs.p);
    free(r->evs.p);
    free(r->scratch.p);
    memset(r, 0, sizeof *r);
}

const char *tl_rec_str(const tl_rec_t *r, size_t i, size_t *n)
{
    *n = r->len[i];
    return (const char *)r->strs.p + r->off[i];
}

int tl_rec_intern(tl_rec_t *r, const char *s, size_t n, uint64_t *index)
{
    n = utf8_cut(s, n, 255);
    for (size_t i = 0; i < r->nstr; i++)
        if (r->len[i] == n && memcmp(r->strs.p + r->off[i], s, n) == 0) {
            *index = i;
            return 0;
        }
    return tl_rec_push(r, s, n, index);
}

int tl_rec_push(tl_rec_t *r, const char *s, size_t n, uint64_t *index)
{
    if (r->nstr == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        uint32_t *off = realloc(r->off, cap * sizeof *off);
        if (!off)
            return HL_ENOMEM;
        r->off = off;
        uint8_t *len = realloc(r->len, cap);
        if (!len)
            return HL_ENOMEM;
        r->len = len;
        r->cap = cap;
    }
    r->off[r->nstr] = (uint32_t)r->strs.n;
    r->len[r->nstr] = (uint8_t)n;
    if (bytebuf_put(&r->strs, s, n))
        return HL_ENOMEM;
    *index = r->nstr++;
    return 0;
}

/* ---- encoding ---- */

static bool named(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

/* -1: not kept; else 1 when its phones are masked, 0 when kept as it is. */
static int string_rule(const ProtobufCMessageDescriptor *d, const char *name)
{
    for (size_t i = 0; i < sizeof KEPT_STRINGS / sizeof *KEPT_STRINGS; i++)
        if (strcmp(name, KEPT_STRINGS[i].name) == 0 &&
            (!KEPT_STRINGS[i].message || strcmp(d->name, KEPT_STRINGS[i].message) == 0))
            return KEPT_STRINGS[i].counted ? 0 : 1;
    return -1;
}

static bool kept(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED || f->type == PROTOBUF_C_TYPE_BYTES ||
        named(f->name, DROPPED, sizeof DROPPED / sizeof *DROPPED))
        return false;
    return f->type != PROTOBUF_C_TYPE_STRING || string_rule(d, f->name) >= 0;
}

static bool is_signed(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
           t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_ENUM ||
           t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 ||
           t == PROTOBUF_C_TYPE_SFIXED64;
}

static bool is_64(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 ||
           t == PROTOBUF_C_TYPE_SFIXED64 || t == PROTOBUF_C_TYPE_UINT64 ||
           t == PROTOBUF_C_TYPE_FIXED64 || t == PROTOBUF_C_TYPE_DOUBLE;
}

/* An int64 that is an instant: stored as its distance from the event's time. */
static bool is_instant(const ProtobufCFieldDescriptor *f)
{
    size_t n = strlen(f->name);
    return is_64(f->type) && f->type != PROTOBUF_C_TYPE_DOUBLE && n > 3 &&
           strcmp(f->name + n - 3, "_ms") == 0;
}

/* What becomes of a field, worked out once per field (the names are compared only then). */
enum { F_DROP = 0, F_KEEP = 1, F_STRING = 2, F_MASKED = 3, F_INSTANT = 4 };
#define RULES 2048 /* a power of two, above the number of fields in all messages */

static uint8_t rule_of(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
    static struct {
        const ProtobufCFieldDescriptor *f;
        uint8_t rule;
    } cache[RULES]; /* loop thread: one analytics at a time uses it; the rules never change */
    size_t i = ((uintptr_t)f >> 4) & (RULES - 1);
    for (size_t k = 0; k < RULES && cache[i].f; k++, i = (i + 1) & (RULES - 1))
        if (cache[i].f == f)
            return cache[i].rule;
    uint8_t rule = !kept(d, f)                         ? F_DROP
                   : f->type == PROTOBUF_C_TYPE_STRING ? (string_rule(d, f->name) > 0 ? F_MASKED
                                                                                      : F_STRING)
                   : is_instant(f)                     ? F_INSTANT
                                                       : F_KEEP;
    if (!cache[i].f) {
        cache[i].f = f;
        cache[i].rule = rule;
    }
    return rule;
}

/* A scalar's bits (sign-extended for signed 32-bit types). */
static uint64_t scalar_get(const void *v, ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)v ? 1 : 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return *(const uint32_t *)v;
    default:
        if (is_64(t))
            return *(const uint64_t *)v;
        return (uint64_t)(int64_t)*(const int32_t *)v;
    }
}

static void scalar_set(void *v, ProtobufCType t, uint64_t x)
{
    if (t == PROTOBUF_C_TYPE_BOOL)
        *(protobuf_c_boolean *)v = x != 0;
    else if (is_64(t))
        *(uint64_t *)v = x;
    else
        *(uint32_t *)v = (uint32_t)x;
}

static bool present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)m;
    const void *v = base + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        const char *s = *(char *const *)v;
        return s && *s;
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(void *const *)v != NULL;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    return f->label == PROTOBUF_C_LABEL_REQUIRED || scalar_get(v, f->type) != 0;
}

static int put_string(tl_rec_t *r, bytebuf_t *out, const char *s, bool mask)
{
    uint64_t i;
    size_t n = strlen(s);
    int rc;
    if (mask && n >= 7) { /* a phone in it: masked, as every text leaving analytics is */
        char *m = strndup(s, 255);
        if (!m)
            return HL_ENOMEM;
        mask_phones(m);
        rc = tl_rec_intern(r, m, strlen(m), &i);
        free(m);
    } else {
        rc = tl_rec_intern(r, s, n, &i);
    }
    return rc ? rc : bytebuf_put_varint(out, i);
}

static int put_message(tl_rec_t *r, bytebuf_t *out, const ProtobufCMessage *m, int64_t time_ms,
                       int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    int rc = 0;
    for (unsigned i = 0; !rc && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        uint8_t rule = rule_of(d, f);
        if (rule == F_DROP || !present(m, f))
            continue;
        const void *v = (const char *)m + f->offset;
        rc = bytebuf_put_varint(out, f->id);
        if (rc)
            break;
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
            rc = put_string(r, out, *(char *const *)v, rule == F_MASKED);
            break;
        case PROTOBUF_C_TYPE_MESSAGE:
            if (depth >= BODY_DEPTH_MAX)
                rc = bytebuf_put_varint(out, 0); /* kept empty */
            else
                rc = put_message(r, out, *(ProtobufCMessage *const *)v, time_ms, depth + 1);
            break;
        case PROTOBUF_C_TYPE_FLOAT:
        case PROTOBUF_C_TYPE_DOUBLE: {
            uint64_t bits = scalar_get(v, f->type);
            uint8_t b[8];
            size_t n = f->type == PROTOBUF_C_TYPE_FLOAT ? 4 : 8;
            for (size_t k = 0; k < n; k++)
                b[k] = (uint8_t)(bits >> (8 * k));
            rc = bytebuf_put(out, b, n);
            break;
        }
        default: {
            uint64_t x = scalar_get(v, f->type);
            if (rule == F_INSTANT)
                x -= (uint64_t)time_ms;
            rc = bytebuf_put_varint(out, is_signed(f->type) ? tl_zigzag((int64_t)x) : x);
            break;
        }
        }
    }
    return rc ? rc : bytebuf_put_varint(out, 0);
}

static int put_source(tl_rec_t *r, bytebuf_t *out, const char *s)
{
    if (!s || !*s)
        return bytebuf_put_varint(out, SOURCE_NONE);
    for (size_t i = 0; i < sizeof SOURCES / sizeof *SOURCES; i++)
        if (strcmp(s, SOURCES[i]) == 0)
            return bytebuf_put_varint(out, i);
    uint64_t i;
    int rc = tl_rec_intern(r, s, strlen(s), &i);
    return rc ? rc : bytebuf_put_varint(out, SOURCE_TABLE + i);
}

/* The body message of ev, or NULL. */
static const ProtobufCMessage *body_of(const Hotline__Event *ev)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&hotline__event__descriptor, ev->body_case);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return *(ProtobufCMessage *const *)((const char *)ev + f->offset);
}

int tl_rec_append(tl_rec_t *r, const Hotline__Event *ev)
{
    if (!r->evs.n)
        r->base_ms = ev->time_ms; /* the first event's time: the others are stored from it */
    bytebuf_t *e = &r->scratch;
    e->n = 0;
    int rc = bytebuf_put_varint(e, (uint64_t)ev->body_case);
    if (!rc)
        rc = put_source(r, e, ev->source);
    if (!rc)
        rc = bytebuf_put_varint(e, ev->seq);
    if (!rc)
        rc = bytebuf_put_varint(e, tl_zigzag((int64_t)((uint64_t)ev->time_ms - (uint64_t)r->base_ms)));
    const ProtobufCMessage *body = body_of(ev);
    if (!rc && body)
        rc = put_message(r, e, body, ev->time_ms, 0);
    if (!rc)
        rc = bytebuf_put_varint(&r->evs, e->n);
    if (!rc)
        rc = bytebuf_put(&r->evs, e->p, e->n);
    return rc;
}

/* ---- decoding ---- */

int tl_rec_next(const tl_rec_t *r, size_t *at, const uint8_t **p, size_t *n)
{
    uint64_t len;
    int rc = tl_get_varint(r->evs.p, r->evs.n, at, &len);
    if (rc || len > r->evs.n - *at)
        return HL_ECORRUPT;
    *p = r->evs.p + *at;
    *n = (size_t)len;
    *at += (size_t)len;
    return 0;
}

int tl_event_head(const tl_rec_t *r, const uint8_t *p, size_t n, tl_head_t *h, size_t *body_at)
{
    uint64_t kind, src, seq, dt;
    size_t at = 0;
    int rc = tl_get_varint(p, n, &at, &kind);
    if (!rc)
        rc = tl_get_varint(p, n, &at, &src);
    if (!rc)
        rc = tl_get_varint(p, n, &at, &seq);
    if (!rc)
        rc = tl_get_varint(p, n, &at, &dt);
    if (rc || kind > UINT32_MAX)
        return HL_ECORRUPT;
    h->kind = (uint32_t)kind;
    h->seq = seq;
    h->time_ms = (int64_t)((uint64_t)r->base_ms + (uint64_t)tl_unzigzag(dt));
    if (src < sizeof SOURCES / sizeof *SOURCES) {
        h->source = SOURCES[src];
        h->source_len = strlen(h->source);
    } else if (src == SOURCE_NONE) {
        h->source = "";
        h->source_len = 0;
    } else if (src >= SOURCE_TABLE && src - SOURCE_TABLE < r->nstr) {
        h->source = tl_rec_str(r, (size_t)(src - SOURCE_TABLE), &h->source_len);
    } else {
        return HL_ECORRUPT;
    }
    if (body_at)
        *body_at = at;
    return 0;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int get_message(const tl_rec_t *r, const uint8_t *p, size_t n, size_t *at,
                       ProtobufCMessage *m, int64_t time_ms, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (;;) {
        uint64_t id;
        int rc = tl_get_varint(p, n, at, &id);
        if (rc)
            return rc;
        if (id == 0)
            return 0;
        const ProtobufCFieldDescriptor *f =
            id <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)id) : NULL;
        if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
            return HL_ECORRUPT;
        char *base = (char *)m;
        void *v = base + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            *(uint32_t *)(base + f->quantifier_offset) = f->id;
        else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
                 f->type != PROTOBUF_C_TYPE_MESSAGE)
            *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
        uint64_t x = 0;
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING: {
            if ((rc = tl_get_varint(p, n, at, &x)) || x >= r->nstr)
                return HL_ECORRUPT;
            size_t len;
            const char *s = tl_rec_str(r, (size_t)x, &len);
            char *copy = dup_n(s, len);
            if (!copy)
                return HL_ENOMEM;
            char **slot = v;
            if (*slot && *slot != f->default_value)
                free(*slot); /* twice in one record: the last wins */
            *slot = copy;
            break;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessageDescriptor *sd = f->descriptor;
            ProtobufCMessage **slot = v;
            if (*slot || depth >= BODY_DEPTH_MAX)
                return HL_ECORRUPT;
            if (!(*slot = malloc(sd->sizeof_message)))
                return HL_ENOMEM;
            sd->message_init(*slot);
            if ((rc = get_message(r, p, n, at, *slot, time_ms, depth + 1)))
                return rc;
            break;
        }
        case PROTOBUF_C_TYPE_FLOAT:
        case PROTOBUF_C_TYPE_DOUBLE: {
            size_t k = f->type == PROTOBUF_C_TYPE_FLOAT ? 4 : 8;
            if (n - *at < k)
                return HL_ECORRUPT;
            for (size_t i = 0; i < k; i++)
                x |= (uint64_t)p[*at + i] << (8 * i);
            *at += k;
            scalar_set(v, f->type, x);
            break;
        }
        case PROTOBUF_C_TYPE_BYTES: return HL_ECORRUPT;
        default:
            if ((rc = tl_get_varint(p, n, at, &x)))
                return rc;
            if (is_signed(f->type))
                x = (uint64_t)tl_unzigzag(x);
            if (is_instant(f))
                x += (uint64_t)time_ms;
            scalar_set(v, f->type, x);
            break;
        }
    }
}

int tl_event_decode(const tl_rec_t *r, const uint8_t *p, size_t n, const char *ticket_id,
                    Hotline__Event **out)
{
    *out = NULL;
    tl_head_t h;
    size_t at;
    int rc = tl_event_head(r, p, n, &h, &at);
    if (rc)
        return rc;
    Hotline__Event *ev = malloc(sizeof *ev);
    if (!ev)
        return HL_ENOMEM;
    hotline__event__init(ev);
    ev->seq = h.seq;
    ev->time_ms = h.time_ms;
    ev->source = dup_n(h.source, h.source_len);
    ev->ticket_id = dup_n(ticket_id, strlen(ticket_id));
    if (!ev->source || !ev->ticket_id)
        rc = HL_ENOMEM;
    const ProtobufCFieldDescriptor *f =
        h.kind ? protobuf_c_message_descriptor_get_field(&hotline__event__descriptor, h.kind)
               : NULL;
    if (!rc && h.kind && (!f || f->type != PROTOBUF_C_TYPE_MESSAGE ||
                          !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)))
        rc = HL_ECORRUPT;
    if (!rc && f) {
        ev->body_case = (Hotline__Event__BodyCase)h.kind;
        if (at < n) { /* else a body case without a body */
            const ProtobufCMessageDescriptor *sd = f->descriptor;
            ProtobufCMessage *body = malloc(sd->sizeof_message);
            if (!body) {
                rc = HL_ENOMEM;
            } else {
                sd->message_init(body);
                *(ProtobufCMessage **)((char *)ev + f->offset) = body;
                rc = get_message(r, p, n, &at, body, h.time_ms, 0);
                if (!rc && at != n)
                    rc = HL_ECORRUPT;
            }
        }
    }
    if (rc) {
        hotline__event__free_unpacked(ev, NULL);
        return rc;
    }
    *out = ev;
    return 0;
}
