/* sla_record: a clock record (value of sla_clocks) read and written; layouts in sla_record.h.
 * Version 2 holds the clock's fields (times as varints from the start, the limit as numbers);
 * version 1 records (a header then a packed SlaClockStarted) are still read, and are written
 * back as version 2 the first time they change. Loop thread. */
#include "sla_record.h"

#include "hl_error.h"

#include <stdio.h>
#include <string.h>

/* ---- varints ---- */

typedef struct rd {
    const uint8_t *p, *end;
    bool bad;
} rd_t;

static uint64_t rd_u(rd_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

/* A time stored as its signed distance from the start. */
static int64_t rd_t_at(rd_t *r, int64_t start_ms)
{
    uint64_t z = rd_u(r);
    return start_ms + (int64_t)((z >> 1) ^ -(z & 1));
}

static void rd_str(rd_t *r, char *dst, size_t size)
{
    uint64_t n = rd_u(r);
    if (r->bad || n >= size || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        dst[0] = '\0';
        return;
    }
    memcpy(dst, r->p, (size_t)n);
    dst[n] = '\0';
    r->p += n;
}

static uint8_t *wr_u(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *wr_t_at(uint8_t *p, int64_t at_ms, int64_t start_ms)
{
    int64_t d = at_ms - start_ms;
    return wr_u(p, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
}

static uint8_t *wr_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    p = wr_u(p, n);
    memcpy(p, s, n);
    return p + n;
}

/* ---- the limit as text ---- */

static void limit_text(const sla_clock_t *c, char *out, size_t size)
{
    Hotline__Limit l = HOTLINE__LIMIT__INIT;
    l.value = c->limit_value;
    l.unit = (Hotline__DurationUnit)c->limit_unit;
    l.anchor = (Hotline__LimitAnchor)c->limit_anchor;
    calendar_limit_text(&l, out, size);
}

/* ---- decode ---- */

static void header_flags(const uint8_t *p, sla_clock_t *out)
{
    out->stopped = p[1] & SLA_F_STOPPED;
    out->on_time = p[1] & SLA_F_ON_TIME;
    out->warned = p[1] & SLA_F_WARNED;
    out->breached = p[1] & SLA_F_BREACHED;
    out->suspended = p[1] & SLA_F_SUSPENDED;
    out->paused = p[1] & SLA_F_PAUSED;
    out->reminded = p[2] & SLA_L_REMINDED;
    out->red = p[2] & SLA_L_RED;
    out->supervised = p[2] & SLA_L_SUPERVISED;
    out->pending = p[3];
}

static int decode_v1(const MDB_val *v, sla_clock_t *out)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < REC_V1_HEADER)
        return HL_ECORRUPT;
    Hotline__SlaClockStarted *st =
        hotline__sla_clock_started__unpack(NULL, v->mv_size - REC_V1_HEADER, p + REC_V1_HEADER);
    if (!st)
        return HL_ECORRUPT;
    header_flags(p, out);
    out->pending_by_id = true; /* the first releases kept an id index */
    out->start_ms = (int64_t)store_be64_get(p + 4);
    out->stopped_ms = (int64_t)store_be64_get(p + 12);
    out->limit_unit = st->limit_unit;
    out->policy_version = st->policy_version;
    out->clock = st->clock;
    out->round = st->round;
    out->due_ms = st->due_ms;
    out->warn_ms = st->warn_ms;
    out->reminder_ms = st->reminder_ms;
    out->red_ms = st->red_ms;
    out->supervision_ms = st->supervision_ms;
    sla_copy_str(out->policy, sizeof out->policy, st->policy);
    sla_copy_str(out->limit, sizeof out->limit, st->limit);
    sla_copy_str(out->unit, sizeof out->unit, st->unit);
    sla_copy_str(out->category, sizeof out->category, st->category_code);
    hotline__sla_clock_started__free_unpacked(st, NULL);
    return 0;
}

static int decode_v2(const MDB_val *v, sla_clock_t *out)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < REC_V2_HEADER)
        return HL_ECORRUPT;
    header_flags(p, out);
    out->clock = (Hotline__SlaClock)p[4];
    uint8_t has = p[5];
    rd_t r = {p + REC_V2_HEADER, p + v->mv_size, false};
    out->round = (uint32_t)rd_u(&r);
    out->start_ms = (int64_t)rd_u(&r);
    out->stopped_ms = (int64_t)rd_u(&r);
    out->due_ms = rd_t_at(&r, out->start_ms);
    int64_t *opt[] = {&out->warn_ms, &out->reminder_ms, &out->red_ms, &out->supervision_ms,
                      &out->pending_at_ms};
    for (unsigned i = 0; i < sizeof opt / sizeof *opt; i++)
        if (has & (1u << i))
            *opt[i] = rd_t_at(&r, out->start_ms);
    out->limit_unit = (uint32_t)rd_u(&r);
    out->limit_value = (uint32_t)rd_u(&r);
    out->limit_anchor = (uint32_t)rd_u(&r);
    out->policy_version = (uint32_t)rd_u(&r);
    rd_str(&r, out->policy, sizeof out->policy);
    rd_str(&r, out->unit, sizeof out->unit);
    rd_str(&r, out->category, sizeof out->category);
    if (has & REC_HAS_LIMIT_TEXT)
        rd_str(&r, out->limit, sizeof out->limit);
    else
        limit_text(out, out->limit, sizeof out->limit);
    if (r.bad || r.p != r.end)
        return HL_ECORRUPT;
    out->pending_by_id = has & REC_HAS_PENDING_BY_ID;
    out->on_round = has & REC_ON_ROUND;
    if (out->pending && !out->pending_by_id && !(has & REC_HAS_PENDING_AT))
        out->pending_at_ms = sla_step_at(out, out->pending);
    return 0;
}

int sla_record_decode(const MDB_val *v, sla_clock_t *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *p = v->mv_data;
    int rc = v->mv_size < 1          ? HL_ECORRUPT
             : p[0] == REC_VERSION_1 ? decode_v1(v, out)
             : p[0] == REC_VERSION   ? decode_v2(v, out)
                                     : HL_ECORRUPT;
    if (!rc && out->paused) { /* one slot: when it paused, while paused */
        out->paused_ms = out->stopped_ms;
        out->stopped_ms = 0;
    }
    return rc;
}

/* ---- encode ---- */

/* c as a version-2 record in out (REC_MAX bytes); its length. The strings are bounded by
 * sla_clock_t's arrays, so a record always fits. */
static size_t encode(const sla_clock_t *c, uint8_t *out)
{
    uint8_t has = 0;
    int64_t opt[] = {c->warn_ms, c->reminder_ms, c->red_ms, c->supervision_ms, 0};
    for (unsigned i = 0; i < 4; i++)
        if (opt[i])
            has |= (uint8_t)(1u << i);
    if (c->pending_by_id) /* pending 0: a first-release clock's warning and breach */
        has |= REC_HAS_PENDING_BY_ID;
    else if (c->pending && c->pending_at_ms && c->pending_at_ms != sla_step_at(c, c->pending)) {
        has |= REC_HAS_PENDING_AT; /* held back: due later than its step */
        opt[4] = c->pending_at_ms;
    }
    if (c->on_round && !c->pending_by_id)
        has |= REC_ON_ROUND;
    /* A clock started by this release has its limit as numbers (start_one made the text
     * from them); one read from a version-1 record keeps its text. */
    bool own_text = !c->limit_value || !c->limit_unit;
    if (own_text)
        has |= REC_HAS_LIMIT_TEXT;
    out[0] = REC_VERSION;
    out[1] = (uint8_t)((c->stopped ? SLA_F_STOPPED : 0) | (c->on_time ? SLA_F_ON_TIME : 0) |
                       (c->warned ? SLA_F_WARNED : 0) | (c->breached ? SLA_F_BREACHED : 0) |
                       (c->suspended ? SLA_F_SUSPENDED : 0) | (c->paused ? SLA_F_PAUSED : 0));
    out[2] = (uint8_t)((c->reminded ? SLA_L_REMINDED : 0) | (c->red ? SLA_L_RED : 0) |
                       (c->supervised ? SLA_L_SUPERVISED : 0));
    out[3] = c->pending;
    out[4] = (uint8_t)c->clock;
    out[5] = has;
    uint8_t *p = out + REC_V2_HEADER;
    p = wr_u(p, c->round);
    p = wr_u(p, (uint64_t)c->start_ms);
    p = wr_u(p, (uint64_t)(c->paused ? c->paused_ms : c->stopped_ms));
    p = wr_t_at(p, c->due_ms, c->start_ms);
    for (unsigned i = 0; i < sizeof opt / sizeof *opt; i++)
        if (has & (1u << i))
            p = wr_t_at(p, opt[i], c->start_ms);
    p = wr_u(p, c->limit_unit);
    p = wr_u(p, c->limit_value);
    p = wr_u(p, c->limit_anchor);
    p = wr_u(p, c->policy_version);
    p = wr_str(p, c->policy);
    p = wr_str(p, c->unit);
    p = wr_str(p, c->category);
    if (own_text)
        p = wr_str(p, c->limit);
    return (size_t)(p - out);
}

int sla_record_put(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c)
{
    uint8_t key[KEY_MAX], rec[REC_MAX];
    size_t klen = sla_clock_key(key, ticket, c->round, c->clock);
    return store_put(txn, self->clocks, key, klen, rec, encode(c, rec), 0);
}

int sla_record_change(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round,
                      Hotline__SlaClock clock, const sla_rec_change_t *ch)
{
    sla_clock_t c;
    int rc = sla_clock_get(self, txn, ticket, round, clock, &c);
    if (rc)
        return rc;
    uint8_t hdr[4] = {0, ch->flags, ch->ladder, 0};
    sla_clock_t add;
    header_flags(hdr, &add);
    c.stopped |= add.stopped;
    c.on_time |= add.on_time;
    c.warned |= add.warned;
    c.breached |= add.breached;
    c.suspended |= add.suspended;
    c.reminded |= add.reminded;
    c.red |= add.red;
    c.supervised |= add.supervised;
    if (ch->pending >= 0) {
        c.pending = (uint8_t)ch->pending;
        c.pending_by_id = false;
        c.on_round = true;
        c.pending_at_ms = !c.pending        ? 0
                          : ch->pending_at_ms ? ch->pending_at_ms
                                              : sla_step_at(&c, c.pending);
    }
    if (ch->flags & SLA_F_PAUSED) {
        c.paused = true;
        c.paused_ms = ch->stopped_ms;
    } else if (ch->flags & SLA_F_STOPPED) {
        c.stopped_ms = ch->stopped_ms;
    }
    return sla_record_put(self, txn, ticket, &c);
}
