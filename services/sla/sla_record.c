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

const char *sla_limit_text(const sla_clock_t *c, char *buf, size_t size)
{
    if (c->limit[0])
        return c->limit;
    limit_text(c, buf, size);
    return buf;
}

/* ---- parts versions 2 and 3 share ---- */

/* A ladder instant as version 3 keeps it: from the due, in whole minutes when it is (the
 * ladder's steps mostly fall a whole number of days or hours from it): zigzag(minutes) << 1 | 1,
 * else zigzag(ms) << 1. */
static uint8_t *wr_from_due(uint8_t *p, int64_t at_ms, int64_t due_ms)
{
    int64_t d = at_ms - due_ms;
    bool min = d % 60000 == 0;
    if (min)
        d /= 60000;
    uint64_t z = ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
    return wr_u(p, z << 1 | min);
}

static int64_t rd_from_due(rd_t *r, int64_t due_ms)
{
    uint64_t v = rd_u(r), z = v >> 1;
    int64_t d = (int64_t)((z >> 1) ^ -(z & 1));
    return due_ms + (v & 1 ? d * 60000 : d);
}

/* A clock's due from its start, its other instants (from its start in version 2, from its due
 * in version 3: v3), then its limit. */
static uint8_t *wr_times(uint8_t *p, const sla_clock_t *c, uint8_t has, const int64_t *opt,
                         bool v3)
{
    p = wr_t_at(p, c->due_ms, c->start_ms);
    for (unsigned i = 0; i < 5; i++)
        if (has & (1u << i))
            p = v3 ? wr_from_due(p, opt[i], c->due_ms) : wr_t_at(p, opt[i], c->start_ms);
    p = wr_u(p, c->limit_unit);
    p = wr_u(p, c->limit_value);
    return wr_u(p, c->limit_anchor);
}

/* The policy's edition and name, the unit and the category. */
static uint8_t *wr_strs(uint8_t *p, const sla_clock_t *c)
{
    p = wr_u(p, c->policy_version);
    p = wr_str(p, c->policy);
    p = wr_str(p, c->unit);
    return wr_str(p, c->category);
}

static void rd_strs(rd_t *r, sla_clock_t *c)
{
    c->policy_version = (uint32_t)rd_u(r);
    rd_str(r, c->policy, sizeof c->policy);
    rd_str(r, c->unit, sizeof c->unit);
    rd_str(r, c->category, sizeof c->category);
}

static void rd_times(rd_t *r, sla_clock_t *c, uint8_t has, bool v3)
{
    c->due_ms = rd_t_at(r, c->start_ms);
    int64_t *opt[] = {&c->warn_ms, &c->reminder_ms, &c->red_ms, &c->supervision_ms,
                      &c->pending_at_ms};
    for (unsigned i = 0; i < 5; i++)
        if (has & (1u << i))
            *opt[i] = v3 ? rd_from_due(r, c->due_ms) : rd_t_at(r, c->start_ms);
    c->limit_unit = (uint32_t)rd_u(r);
    c->limit_value = (uint32_t)rd_u(r);
    c->limit_anchor = (uint32_t)rd_u(r);
}

/* The instants a clock has (has bits 0-3) and, held back, when its pending step is due (bit 4,
 * opt[4]). */
static uint8_t times_has(const sla_clock_t *c, int64_t *opt)
{
    uint8_t has = 0;
    int64_t o[5] = {c->warn_ms, c->reminder_ms, c->red_ms, c->supervision_ms, 0};
    for (unsigned i = 0; i < 4; i++)
        if (o[i])
            has |= (uint8_t)(1u << i);
    if (!c->pending_by_id && c->pending && c->pending_at_ms &&
        c->pending_at_ms != sla_step_at(c, c->pending)) {
        has |= REC_HAS_PENDING_AT;
        o[4] = c->pending_at_ms;
    }
    memcpy(opt, o, sizeof o);
    return has;
}

static void header_put(uint8_t *out, const sla_clock_t *c)
{
    out[0] = (uint8_t)((c->stopped ? SLA_F_STOPPED : 0) | (c->on_time ? SLA_F_ON_TIME : 0) |
                       (c->warned ? SLA_F_WARNED : 0) | (c->breached ? SLA_F_BREACHED : 0) |
                       (c->suspended ? SLA_F_SUSPENDED : 0) | (c->paused ? SLA_F_PAUSED : 0) |
                       (c->due_on_round ? SLA_F_DUE_ROUND : 0));
    out[1] = (uint8_t)((c->reminded ? SLA_L_REMINDED : 0) | (c->red ? SLA_L_RED : 0) |
                       (c->supervised ? SLA_L_SUPERVISED : 0));
    out[2] = c->pending;
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
    out->due_on_round = p[1] & SLA_F_DUE_ROUND;
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
    rd_times(&r, out, has, false);
    rd_strs(&r, out);
    if (has & REC_HAS_LIMIT_TEXT)
        rd_str(&r, out->limit, sizeof out->limit); /* else made when shown: sla_limit_text */
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
size_t sla_record_encode(const sla_clock_t *c, uint8_t *out)
{
    int64_t opt[5];
    uint8_t has = times_has(c, opt);
    if (c->pending_by_id) /* pending 0: a first-release clock's warning and breach */
        has |= REC_HAS_PENDING_BY_ID;
    else if (c->on_round)
        has |= REC_ON_ROUND;
    /* A clock started by this release has its limit as numbers (start_one made the text
     * from them); one read from a version-1 record keeps its text. */
    bool own_text = !c->limit_value || !c->limit_unit;
    if (own_text)
        has |= REC_HAS_LIMIT_TEXT;
    out[0] = REC_VERSION;
    header_put(out + 1, c);
    out[4] = (uint8_t)c->clock;
    out[5] = has;
    uint8_t *p = out + REC_V2_HEADER;
    p = wr_u(p, c->round);
    p = wr_u(p, (uint64_t)c->start_ms);
    p = wr_u(p, (uint64_t)(c->paused ? c->paused_ms : c->stopped_ms));
    p = wr_times(p, c, has, opt, false);
    p = wr_strs(p, c);
    if (own_text)
        p = wr_str(p, c->limit);
    return (size_t)(p - out);
}

void sla_rec_apply(sla_clock_t *c, const sla_rec_change_t *ch)
{
    uint8_t hdr[4] = {0, ch->flags, ch->ladder, 0};
    sla_clock_t add;
    header_flags(hdr, &add);
    c->stopped |= add.stopped;
    c->on_time |= add.on_time;
    c->warned |= add.warned;
    c->breached |= add.breached;
    c->suspended |= add.suspended;
    c->reminded |= add.reminded;
    c->red |= add.red;
    c->supervised |= add.supervised;
    if (ch->pending >= 0) {
        c->pending = (uint8_t)ch->pending;
        c->pending_by_id = false;
        c->on_round = true;
        c->pending_at_ms = !c->pending        ? 0
                           : ch->pending_at_ms ? ch->pending_at_ms
                                               : sla_step_at(c, c->pending);
    }
    if (ch->flags & SLA_F_PAUSED) {
        c->paused = true;
        c->paused_ms = ch->stopped_ms;
    } else if (ch->flags & SLA_F_STOPPED) {
        c->stopped_ms = ch->stopped_ms;
    }
}

/* ---- the ticket record (version 3) ---- */

static bool own_strs(const sla_clock_t *c, const sla_clock_t *shared)
{
    return c->policy_version != shared->policy_version || strcmp(c->policy, shared->policy) ||
           strcmp(c->unit, shared->unit) || strcmp(c->category, shared->category);
}

size_t sla_ticket_encode(const sla_ticket_rec_t *t, uint8_t *out)
{
    const sla_inputs_t *in = &t->in;
    const sla_clock_t *sh = t->n ? &t->c[0] : NULL;
    bool same = sh && in->known && !strcmp(sh->unit, in->unit) &&
                !strcmp(sh->category, in->category);
    out[0] = 0;
    out[1] = TREC_VERSION;
    out[2] = (uint8_t)((in->known ? TREC_INPUTS : 0) | (same ? TREC_SAME_STRS : 0));
    uint8_t *p = wr_u(out + 3, t->round);
    if (in->known) {
        p = wr_u(p, (uint64_t)in->urgency);
        p = wr_u(p, (uint64_t)in->appeal_type);
        p = wr_u(p, (uint64_t)in->channel);
        p = wr_str(p, in->unit);
        p = wr_str(p, in->category);
    }
    p = wr_u(p, t->n);
    if (sh) {
        p = wr_u(p, (uint64_t)sh->start_ms);
        p = wr_u(p, sh->policy_version);
        p = wr_str(p, sh->policy);
        if (!same) {
            p = wr_str(p, sh->unit);
            p = wr_str(p, sh->category);
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        const sla_clock_t *c = &t->c[i];
        int64_t opt[5];
        uint8_t has = times_has(c, opt);
        bool own_text = !c->limit_value || !c->limit_unit, own = own_strs(c, sh);
        has |= (uint8_t)((own_text ? TREC_C_LIMIT_TEXT : 0) |
                         (c->start_ms != sh->start_ms ? TREC_C_OWN_START : 0) |
                         (own ? TREC_C_OWN_STRS : 0));
        p[0] = (uint8_t)c->clock;
        header_put(p + 1, c);
        p[4] = has;
        p += 5;
        if (has & TREC_C_OWN_START)
            p = wr_u(p, (uint64_t)c->start_ms);
        int64_t stop = c->paused ? c->paused_ms : c->stopped_ms;
        p = wr_u(p, stop != 0); /* then when, from the start */
        if (stop)
            p = wr_t_at(p, stop, c->start_ms);
        p = wr_times(p, c, has, opt, true);
        if (own)
            p = wr_strs(p, c);
        if (own_text)
            p = wr_str(p, c->limit);
    }
    return (size_t)(p - out);
}

bool sla_ticket_is_v3(const MDB_val *v)
{
    const uint8_t *p = v->mv_data;
    return v->mv_size >= 3 && p[0] == 0 && p[1] == TREC_VERSION;
}

int sla_ticket_decode(const MDB_val *v, sla_ticket_rec_t *t, bool clocks)
{
    const uint8_t *p = v->mv_data;
    memset(t, 0, offsetof(sla_ticket_rec_t, c));
    if (!sla_ticket_is_v3(v))
        return HL_ECORRUPT;
    uint8_t flags = p[2];
    rd_t r = {p + 3, p + v->mv_size, false};
    t->round = (uint32_t)rd_u(&r);
    sla_inputs_t *in = &t->in;
    in->known = flags & TREC_INPUTS;
    in->round = t->round;
    if (in->known) {
        in->urgency = (Hotline__Urgency)rd_u(&r);
        in->appeal_type = (Hotline__AppealType)rd_u(&r);
        in->channel = (Hotline__Channel)rd_u(&r);
        rd_str(&r, in->unit, sizeof in->unit);
        rd_str(&r, in->category, sizeof in->category);
    }
    uint64_t n = rd_u(&r);
    if (r.bad || n > SLA_ROUND_MAX)
        return HL_ECORRUPT;
    if (!clocks)
        return 0;
    t->n = (size_t)n;
    sla_clock_t sh = {.round = t->round};
    if (n) {
        sh.start_ms = (int64_t)rd_u(&r);
        sh.policy_version = (uint32_t)rd_u(&r);
        rd_str(&r, sh.policy, sizeof sh.policy);
        if (flags & TREC_SAME_STRS) {
            memcpy(sh.unit, in->unit, sizeof in->unit);
            memcpy(sh.category, in->category, sizeof in->category);
        } else {
            rd_str(&r, sh.unit, sizeof sh.unit);
            rd_str(&r, sh.category, sizeof sh.category);
        }
    }
    for (size_t i = 0; i < t->n && !r.bad; i++) {
        sla_clock_t *c = &t->c[i];
        if (r.end - r.p < 5) {
            r.bad = true;
            break;
        }
        *c = sh;
        uint8_t hdr[4] = {0, r.p[1], r.p[2], r.p[3]};
        header_flags(hdr, c);
        c->clock = (Hotline__SlaClock)r.p[0];
        uint8_t has = r.p[4];
        r.p += 5;
        c->on_round = true;
        if (has & TREC_C_OWN_START)
            c->start_ms = (int64_t)rd_u(&r);
        if (rd_u(&r)) /* 0: neither stopped nor paused */
            *(c->paused ? &c->paused_ms : &c->stopped_ms) = rd_t_at(&r, c->start_ms);
        rd_times(&r, c, has, true);
        if (has & TREC_C_OWN_STRS)
            rd_strs(&r, c);
        if (has & TREC_C_LIMIT_TEXT)
            rd_str(&r, c->limit, sizeof c->limit); /* else made when shown */
        if (c->pending && !(has & REC_HAS_PENDING_AT))
            c->pending_at_ms = sla_step_at(c, c->pending);
    }
    return r.bad || r.p != r.end ? HL_ECORRUPT : 0;
}
