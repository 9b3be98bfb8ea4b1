/* sla_store: clock records and their indexes, and the things that change them: a round's
 * clocks start (the first step of each ladder put on the scheduler), a clock stops (its pending
 * step cancelled), a deadline moves (an extension), a step fires (called by the scheduler; it
 * puts the clock's next step). Each runs inside the caller's write
 * transaction and appends its event in it, so state, steps and events commit together; each is
 * guarded by the stored state (started once, stopped once, fired once), so applying an event
 * twice changes nothing. Loop thread.
 *
 * Clock record (value of sla_clocks), fixed header then the clock as an SlaClockStarted:
 *   [0] version (1)  [1] flags (SLA_F_*)  [2] ladder flags (SLA_L_*)  [3] the step on the
 *   scheduler (SLA_STEP_*, 0: none)  [4..12) start_ms BE64  [12..20) stopped_ms BE64
 *   [20..) packed hotline.SlaClockStarted (due, warn, the ladder's plan, policy, ...)
 * Flags change in place without repacking the message. Records of the first release have 0 in
 * [2] and [3] and both their warning and breach on the scheduler: they run as before. */
#include "sla_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

/* SUSPENDED: stopped without a verdict because the ticket joined an incident (its reply is
 * judged by the incident's clock: sla_incident.c); an unlink starts the round's clocks afresh. */
/* PAUSED: the ticket is on hold; [12..20) holds when it paused, nothing is on the scheduler. */
enum { SLA_F_STOPPED = 1, SLA_F_ON_TIME = 2, SLA_F_WARNED = 4, SLA_F_BREACHED = 8,
       SLA_F_SUSPENDED = 16, SLA_F_PAUSED = 32 };
enum { SLA_L_REMINDED = 1, SLA_L_RED = 2, SLA_L_SUPERVISED = 4 };

#define REC_VERSION 1
#define REC_HEADER 20
#define REC_MAX 1024 /* strings are bounded (sla_clock_t), so a record always fits */
#define KEY_MAX (8 + SLA_TICKET_ID_MAX + 1 + 4 + 1) /* the largest key: sla_due's */
#define STEP_TAIL (1 + 4 + 1)                        /* a step id after ticket \0 */

/* Indexed by hotline.SlaClock: the label and the running count's meta key of each clock. */
static const char *const LABEL[] = {"unknown", "sign", "reply", "response", "callback"};
static const char *const RUNNING_KEY[] = {"running.unknown", "running.sign", "running.reply",
                                          "running.response", "running.callback"};
#define NCLOCKS (sizeof LABEL / sizeof *LABEL)

const char *sla_clock_label(Hotline__SlaClock clock)
{
    return (unsigned)clock < NCLOCKS ? LABEL[clock] : LABEL[0];
}

const char *sla_clock_name(Hotline__SlaClock clock)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&hotline__sla_clock__descriptor, (int)clock);
    return v ? v->name : "SLA_CLOCK_UNSPECIFIED";
}

/* ---- keys ---- */

static size_t put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ticket \0 round clock: a ticket's clocks are adjacent, by round then clock. */
static size_t clock_key(uint8_t *out, const char *ticket, uint32_t round, Hotline__SlaClock c)
{
    size_t n = strlen(ticket);
    memcpy(out, ticket, n + 1);
    n += 1;
    n += put_be32(out + n, round);
    out[n++] = (uint8_t)c;
    return n;
}

/* A step's scheduler id: ticket \0 clock round step. */
static size_t step_id(uint8_t *out, const char *ticket, Hotline__SlaClock c, uint32_t round,
                      int step)
{
    size_t n = strlen(ticket);
    memcpy(out, ticket, n + 1);
    n += 1;
    out[n++] = (uint8_t)c;
    n += put_be32(out + n, round);
    out[n++] = (uint8_t)step;
    return n;
}

/* due_ms ticket \0 round clock: running clocks, the most urgent first. */
static size_t due_key(uint8_t *out, int64_t due_ms, const char *ticket, uint32_t round,
                      Hotline__SlaClock c)
{
    store_be64_put(out, (uint64_t)due_ms);
    return 8 + clock_key(out + 8, ticket, round, c);
}

/* The ticket id inside a key at off, NUL-terminated by construction; its length or -1. */
static long key_ticket(const MDB_val *k, size_t off, size_t tail)
{
    const uint8_t *p = k->mv_data;
    if (k->mv_size < off + 1 + tail)
        return -1;
    const uint8_t *nul = memchr(p + off, 0, k->mv_size - off);
    if (!nul || (size_t)(nul - p) + 1 + tail != k->mv_size || nul == p + off)
        return -1;
    return (long)(nul - (p + off));
}

/* ---- records ---- */

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

static int decode(const MDB_val *v, sla_clock_t *out)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < REC_HEADER || p[0] != REC_VERSION)
        return HL_ECORRUPT;
    Hotline__SlaClockStarted *st =
        hotline__sla_clock_started__unpack(NULL, v->mv_size - REC_HEADER, p + REC_HEADER);
    if (!st)
        return HL_ECORRUPT;
    memset(out, 0, sizeof *out);
    out->stopped = p[1] & SLA_F_STOPPED;
    out->on_time = p[1] & SLA_F_ON_TIME;
    out->warned = p[1] & SLA_F_WARNED;
    out->breached = p[1] & SLA_F_BREACHED;
    out->suspended = p[1] & SLA_F_SUSPENDED;
    out->reminded = p[2] & SLA_L_REMINDED;
    out->red = p[2] & SLA_L_RED;
    out->supervised = p[2] & SLA_L_SUPERVISED;
    out->pending = p[3];
    out->paused = p[1] & SLA_F_PAUSED;
    out->start_ms = (int64_t)store_be64_get(p + 4);
    out->stopped_ms = (int64_t)store_be64_get(p + 12);
    if (out->paused) {
        out->paused_ms = out->stopped_ms;
        out->stopped_ms = 0;
    }
    out->limit_unit = st->limit_unit;
    out->policy_version = st->policy_version;
    out->clock = st->clock;
    out->round = st->round;
    out->due_ms = st->due_ms;
    out->warn_ms = st->warn_ms;
    out->reminder_ms = st->reminder_ms;
    out->red_ms = st->red_ms;
    out->supervision_ms = st->supervision_ms;
    copy_str(out->policy, sizeof out->policy, st->policy);
    copy_str(out->limit, sizeof out->limit, st->limit);
    copy_str(out->unit, sizeof out->unit, st->unit);
    copy_str(out->category, sizeof out->category, st->category_code);
    hotline__sla_clock_started__free_unpacked(st, NULL);
    return 0;
}

int sla_clock_get(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                  Hotline__SlaClock clock, sla_clock_t *out)
{
    if (!ticket_id || !*ticket_id || strlen(ticket_id) > SLA_TICKET_ID_MAX)
        return HL_ENOTFOUND;
    uint8_t key[KEY_MAX];
    MDB_val v;
    int rc = store_get(txn, self->clocks, key, clock_key(key, ticket_id, round, clock), &v);
    return rc ? rc : decode(&v, out);
}

/* A stored record copied into buf (REC_MAX bytes), to change and put back; *len its size. */
static int record_copy(sla_t *self, MDB_txn *txn, const uint8_t *key, size_t klen, uint8_t *buf,
                       size_t *len)
{
    MDB_val v;
    int rc = store_get(txn, self->clocks, key, klen, &v);
    if (rc)
        return rc;
    if (v.mv_size < REC_HEADER || v.mv_size > REC_MAX)
        return HL_ECORRUPT;
    memcpy(buf, v.mv_data, v.mv_size);
    *len = v.mv_size;
    return 0;
}

/* A change to a stored record's header, made in place. */
typedef struct rec_change {
    uint8_t flags;      /* SLA_F_* to add */
    uint8_t ladder;     /* SLA_L_* to add */
    int pending;        /* the step now on the scheduler (0: none), or -1: unchanged */
    int64_t stopped_ms; /* with SLA_F_STOPPED or SLA_F_PAUSED: when */
} rec_change_t;

static int record_change(sla_t *self, MDB_txn *txn, const uint8_t *key, size_t klen,
                         const rec_change_t *ch)
{
    uint8_t buf[REC_MAX];
    size_t len;
    int rc = record_copy(self, txn, key, klen, buf, &len);
    if (rc)
        return rc;
    buf[1] |= ch->flags;
    buf[2] |= ch->ladder;
    if (ch->pending >= 0)
        buf[3] = (uint8_t)ch->pending;
    if (ch->flags & (SLA_F_STOPPED | SLA_F_PAUSED))
        store_be64_put(buf + 12, (uint64_t)ch->stopped_ms);
    return store_put(txn, self->clocks, key, klen, buf, len, 0);
}

static int count_add(sla_t *self, MDB_txn *txn, Hotline__SlaClock clock, int delta)
{
    const char *k = RUNNING_KEY[(unsigned)clock < NCLOCKS ? clock : 0];
    return store_add_u64(txn, self->meta, k, strlen(k), delta < 0 ? -1 : 1, NULL);
}

int sla_running_count(sla_t *self, MDB_txn *txn, Hotline__SlaClock clock, uint64_t *out)
{
    const char *k = RUNNING_KEY[(unsigned)clock < NCLOCKS ? clock : 0];
    return store_get_u64(txn, self->meta, k, strlen(k), out);
}

static int step_put(sla_t *self, MDB_txn *txn, const char *ticket, Hotline__SlaClock clock,
                    uint32_t round, int step, int64_t at_ms)
{
    uint8_t id[SLA_TICKET_ID_MAX + 1 + STEP_TAIL];
    return scheduler_put(self->steps, txn, id, step_id(id, ticket, clock, round, step), at_ms,
                         NULL, 0);
}

/* Cancel a step; one already fired (or never put) is not an error. */
static int step_cancel(sla_t *self, MDB_txn *txn, const char *ticket, Hotline__SlaClock clock,
                       uint32_t round, int step)
{
    uint8_t id[SLA_TICKET_ID_MAX + 1 + STEP_TAIL];
    int rc = scheduler_cancel(self->steps, txn, id, step_id(id, ticket, clock, round, step));
    return rc == HL_ENOTFOUND ? 0 : rc;
}

/* Put a clock's next step (c as it will be stored) on the scheduler; *step is it (0: none). */
static int next_put(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c,
                    int *step)
{
    *step = sla_ladder_next(c);
    if (!*step)
        return 0;
    return step_put(self, txn, ticket, c->clock, c->round, *step, sla_step_at(c, *step));
}

/* Cancel what a clock has on the scheduler: its next step, or for a record of the first
 * release (pending 0) its warning and breach. */
static int pending_cancel(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c)
{
    if (c->pending)
        return step_cancel(self, txn, ticket, c->clock, c->round, c->pending);
    int rc = c->warn_ms ? step_cancel(self, txn, ticket, c->clock, c->round, SLA_STEP_WARN) : 0;
    return rc ? rc : step_cancel(self, txn, ticket, c->clock, c->round, SLA_STEP_BREACH);
}

/* ---- start ---- */

static int start_one(sla_t *self, MDB_txn *txn, const sla_round_in_t *in,
                     const Hotline__SlaPolicy *p, Hotline__SlaClock clock,
                     const Hotline__Limit *limit)
{
    uint8_t key[KEY_MAX];
    size_t klen = clock_key(key, in->ticket_id, in->round, clock);
    MDB_val old;
    int rc = store_get(txn, self->clocks, key, klen, &old);
    if (rc == 0)
        return 0; /* started before: one set of clocks per (ticket, clock, round) */
    if (rc != HL_ENOTFOUND)
        return rc;
    int64_t due, warn = 0;
    if (calendar_add(self->cal, in->start_ms, limit, &due) != 0)
        return HL_EINTERNAL; /* the table was validated at start-up */
    /* A warning that would fall at or before the start (a 1-working-day limit started on a
     * weekend, warned 1 working day before) is dropped rather than fired at once: it would
     * tell nothing the SlaClockStarted does not, and would turn every such ticket yellow on
     * arrival. The breach still fires. warn_ms 0 says "no warning". */
    if (p->warn_before && p->warn_before->value > 0) {
        int64_t w;
        if (calendar_subtract(self->cal, due, p->warn_before, &w) == 0 && w > in->start_ms &&
            w < due)
            warn = w;
    }
    sla_ladder_t ladder;
    sla_plan_t plan;
    sla_ladder_effective(sla_table(self), p, &ladder);
    sla_ladder_plan(self->cal, &ladder, limit, in->start_ms, due, warn, &plan);
    sla_clock_t c = {.clock = clock, .round = in->round, .start_ms = in->start_ms,
                     .due_ms = due, .warn_ms = warn, .reminder_ms = plan.reminder_ms,
                     .red_ms = plan.red_ms, .supervision_ms = plan.supervision_ms};
    /* bounded copies of the strings, so the record stays under REC_MAX */
    calendar_limit_text(limit, c.limit, sizeof c.limit);
    copy_str(c.unit, sizeof c.unit, in->unit);
    copy_str(c.category, sizeof c.category, in->category);
    Hotline__SlaClockStarted st = HOTLINE__SLA_CLOCK_STARTED__INIT;
    st.clock = clock;
    st.due_ms = due;
    st.warn_ms = warn;
    st.policy = p->name;
    st.limit = c.limit;
    st.round = in->round;
    st.unit = c.unit;
    st.category_code = c.category;
    st.reminder_ms = plan.reminder_ms;
    st.red_ms = plan.red_ms;
    st.supervision_ms = plan.supervision_ms;
    st.limit_unit = (uint32_t)limit->unit;
    st.policy_version = self->policy_version;
    if (clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY) {
        /* What dispatch enforces by the policy, read off sla's feed (0: its own settings). */
        int64_t until;
        if (p->return_window && p->return_window->value &&
            calendar_add(self->cal, in->start_ms, p->return_window, &until) == 0)
            st.return_until_ms = until;
        st.extension_max_working_days = p->extension_max_working_days;
    }
    int first;
    rc = next_put(self, txn, in->ticket_id, &c, &first);
    if (rc)
        return rc;
    uint8_t rec[REC_MAX] = {REC_VERSION, 0, 0, (uint8_t)first};
    size_t packed = hotline__sla_clock_started__get_packed_size(&st);
    if (REC_HEADER + packed > sizeof rec)
        return HL_EINTERNAL;
    store_be64_put(rec + 4, (uint64_t)in->start_ms);
    hotline__sla_clock_started__pack(&st, rec + REC_HEADER);
    rc = store_put(txn, self->clocks, key, klen, rec, REC_HEADER + packed, 0);
    uint8_t dk[KEY_MAX];
    if (!rc)
        rc = store_put(txn, self->due, dk, due_key(dk, due, in->ticket_id, in->round, clock), "",
                       0, 0);
    if (!rc)
        rc = count_add(self, txn, clock, +1);
    if (rc)
        return rc;
    self->dirty = true;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)in->ticket_id;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED;
    ev.sla_clock_started = &st;
    return evlog_append(self->log, txn, &ev);
}

static const Hotline__SlaPolicy *policy_of(sla_t *self, const sla_round_in_t *in)
{
    sla_keys_t k = {.category = in->category, .urgency = in->urgency,
                    .appeal_type = in->appeal_type, .channel = in->channel};
    return sla_policy_match_keys(sla_table(self), &k);
}

int sla_store_start_round(sla_t *self, MDB_txn *txn, const sla_round_in_t *in)
{
    const Hotline__SlaPolicy *p = policy_of(self, in);
    if (!p)
        return HL_EINTERNAL; /* validation guarantees a catch-all */
    /* A rework round's reply runs on the policy's rework limit, when it has one. */
    const Hotline__Limit *reply = in->round > 0 && p->rework && p->rework->value ? p->rework
                                                                                  : p->reply;
    int rc = start_one(self, txn, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, p->sign);
    if (!rc)
        rc = start_one(self, txn, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY, reply);
    if (!rc && p->response && p->response->value)
        rc = start_one(self, txn, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE, p->response);
    return rc;
}

int sla_store_start_callback(sla_t *self, MDB_txn *txn, const sla_round_in_t *in)
{
    const Hotline__SlaPolicy *p = policy_of(self, in);
    if (!p || !p->callback || !p->callback->value)
        return 0; /* no callback clock in this policy */
    return start_one(self, txn, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, p->callback);
}

/* ---- stop ---- */

/* Take a running clock off the scheduler and the due view, its record changed by ch (stopped
 * or paused). */
static int take_off(sla_t *self, MDB_txn *txn, const char *ticket_id, const sla_clock_t *c,
                    const rec_change_t *ch)
{
    uint8_t key[KEY_MAX], dk[KEY_MAX];
    int rc = record_change(self, txn, key, clock_key(key, ticket_id, c->round, c->clock), ch);
    if (!rc)
        rc = pending_cancel(self, txn, ticket_id, c);
    if (!rc) {
        rc = store_del(txn, self->due, dk, due_key(dk, c->due_ms, ticket_id, c->round, c->clock));
        rc = rc == HL_ENOTFOUND ? 0 : rc;
    }
    return rc;
}

/* Stop a running clock: with a verdict (on time or late, SlaClockStopped) or, suspended,
 * without one and without an event. */
static int halt(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                Hotline__SlaClock clock, int64_t at_ms, bool suspend)
{
    sla_clock_t c;
    int rc = sla_clock_get(self, txn, ticket_id, round, clock, &c);
    if (rc)
        return rc;
    if (c.stopped)
        return 0; /* stopped before: a replayed sign / reply changes nothing */
    if (c.paused) {
        /* Stopped while on hold: the pause ends here, and the verdict is against the deadline
         * it moved. */
        rc = sla_store_resume(self, txn, ticket_id, round, clock, at_ms);
        if (!rc)
            rc = sla_clock_get(self, txn, ticket_id, round, clock, &c);
        if (rc)
            return rc;
    }
    bool on_time = at_ms <= c.due_ms;
    rec_change_t ch = {.flags = suspend ? SLA_F_STOPPED | SLA_F_SUSPENDED
                                        : SLA_F_STOPPED | (on_time ? SLA_F_ON_TIME : 0),
                       .pending = 0, .stopped_ms = at_ms};
    /* A stopped clock climbs no further: its pending step goes with it. */
    rc = take_off(self, txn, ticket_id, &c, &ch);
    if (!rc)
        rc = count_add(self, txn, clock, -1);
    if (rc)
        return rc;
    self->dirty = true;
    if (suspend)
        return 0;
    Hotline__SlaClockStopped sp = HOTLINE__SLA_CLOCK_STOPPED__INIT;
    sp.clock = clock;
    sp.on_time = on_time;
    sp.due_ms = c.due_ms;
    sp.round = round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)ticket_id;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED;
    ev.sla_clock_stopped = &sp;
    return evlog_append(self->log, txn, &ev);
}

int sla_store_stop(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                   Hotline__SlaClock clock, int64_t at_ms)
{
    return halt(self, txn, ticket_id, round, clock, at_ms, false);
}

int sla_store_suspend(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                      Hotline__SlaClock clock, int64_t at_ms)
{
    return halt(self, txn, ticket_id, round, clock, at_ms, true);
}

int sla_store_restart_round(sla_t *self, MDB_txn *txn, const sla_round_in_t *in)
{
    static const Hotline__SlaClock clocks[SLA_NROUND_CLOCKS] = SLA_ROUND_CLOCKS;
    for (int i = 0; i < SLA_NROUND_CLOCKS; i++) {
        sla_clock_t c;
        int rc = sla_clock_get(self, txn, in->ticket_id, in->round, clocks[i], &c);
        if (rc == HL_ENOTFOUND || (rc == 0 && !c.suspended))
            continue; /* never started (started below), or running / judged: left alone */
        if (rc)
            return rc;
        /* A suspended clock gives way to a fresh one from the unlink: its steps and due
         * entry went at the suspension. */
        uint8_t key[KEY_MAX];
        rc = store_del(txn, self->clocks, key, clock_key(key, in->ticket_id, in->round, clocks[i]));
        if (rc)
            return rc;
    }
    return sla_store_start_round(self, txn, in);
}

/* ---- an incident's clock (sla_incident.c) ---- */

int sla_store_start_clock(sla_t *self, MDB_txn *txn, const sla_round_in_t *in,
                          Hotline__SlaClock clock)
{
    const Hotline__SlaPolicy *p = policy_of(self, in);
    if (!p)
        return HL_EINTERNAL; /* validation guarantees a catch-all */
    const Hotline__Limit *limit = clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN       ? p->sign
                                  : clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE ? p->response
                                  : clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK ? p->callback
                                                                                    : p->reply;
    return limit && limit->value ? start_one(self, txn, in, p, clock, limit) : 0;
}

/* ---- extend ---- */

/* How far a clock's steps move: by working days (an extension; a pause of a working-day limit)
 * or by a duration (a pause of any other limit). */
typedef struct shift {
    uint32_t working_days;
    int64_t ms;
} shift_t;

/* x moved by the shift when it is a step still to give, else as it was. */
static int64_t moved(const calendar_t *cal, int64_t x, bool given, const shift_t *sh)
{
    if (!x || given)
        return x;
    if (!sh->working_days)
        return x + sh->ms;
    /* The same time of day, so a yellow card 4 hours before the end of the day stays 4 hours
     * before the moved deadline. */
    return calendar_shift_working_days(cal, x, sh->working_days);
}

/* Move a clock's deadline and every step not yet given by sh, and write it back: record, due
 * index, the next step on the scheduler (none while it stays paused). clear takes flags off
 * (SLA_F_PAUSED on a resume). before / after: the clock around the change. HL_ENOTFOUND (no
 * such clock), HL_ECONFLICT (it has stopped). */
static int reschedule(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                      Hotline__SlaClock clock, const shift_t *sh, uint8_t clear,
                      sla_clock_t *before, sla_clock_t *after)
{
    if (!ticket_id || !*ticket_id || strlen(ticket_id) > SLA_TICKET_ID_MAX)
        return HL_ENOTFOUND;
    uint8_t key[KEY_MAX], rec[REC_MAX];
    size_t klen = clock_key(key, ticket_id, round, clock), len;
    int rc = record_copy(self, txn, key, klen, rec, &len);
    if (rc)
        return rc;
    MDB_val v = {.mv_size = len, .mv_data = rec};
    if ((rc = decode(&v, before)) != 0)
        return rc;
    if (before->stopped)
        return HL_ECONFLICT;
    Hotline__SlaClockStarted *st =
        hotline__sla_clock_started__unpack(NULL, len - REC_HEADER, rec + REC_HEADER);
    if (!st)
        return HL_ECORRUPT;
    const sla_clock_t *c = before;
    sla_clock_t *m = after;
    *m = *c;
    m->due_ms = moved(self->cal, c->due_ms, false, sh);
    m->warn_ms = moved(self->cal, c->warn_ms, c->warned, sh);
    m->reminder_ms = moved(self->cal, c->reminder_ms, c->reminded, sh);
    m->red_ms = moved(self->cal, c->red_ms, c->red, sh);
    m->supervision_ms = moved(self->cal, c->supervision_ms, c->supervised, sh);
    m->paused = c->paused && !(clear & SLA_F_PAUSED);
    st->due_ms = m->due_ms;
    st->warn_ms = m->warn_ms;
    st->reminder_ms = m->reminder_ms;
    st->red_ms = m->red_ms;
    st->supervision_ms = m->supervision_ms;
    size_t packed = hotline__sla_clock_started__get_packed_size(st);
    rc = REC_HEADER + packed > sizeof rec ? HL_EINTERNAL : 0;
    if (!rc)
        hotline__sla_clock_started__pack(st, rec + REC_HEADER);
    hotline__sla_clock_started__free_unpacked(st, NULL);
    if (!rc)
        rc = pending_cancel(self, txn, ticket_id, c);
    int next = 0;
    if (!rc && !m->paused)
        rc = next_put(self, txn, ticket_id, m, &next);
    m->pending = (uint8_t)next;
    rec[1] &= (uint8_t)~clear;
    rec[3] = (uint8_t)next;
    if (clear & SLA_F_PAUSED)
        store_be64_put(rec + 12, 0);
    if (!rc)
        rc = store_put(txn, self->clocks, key, klen, rec, REC_HEADER + packed, 0);
    /* A paused clock is out of the due view; it comes back when it runs again. */
    uint8_t dk[KEY_MAX];
    if (!rc && !c->paused) {
        rc = store_del(txn, self->due, dk, due_key(dk, c->due_ms, ticket_id, round, clock));
        rc = rc == HL_ENOTFOUND ? 0 : rc;
    }
    if (!rc && !m->paused)
        rc = store_put(txn, self->due, dk, due_key(dk, m->due_ms, ticket_id, round, clock), "",
                       0, 0);
    if (!rc)
        self->dirty = true;
    return rc;
}

int sla_store_extend(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                     Hotline__SlaClock clock, uint32_t working_days)
{
    /* The steps not yet given move by the same working days (so none lands on a weekend);
     * those given stay in the log. A breach already raised stays too, and the clock's verdict
     * follows the new deadline. */
    shift_t sh = {.working_days = working_days};
    sla_clock_t c, m;
    int rc = reschedule(self, txn, ticket_id, round, clock, &sh, 0, &c, &m);
    if (rc)
        return rc;
    Hotline__SlaClockExtended x = HOTLINE__SLA_CLOCK_EXTENDED__INIT;
    x.clock = clock;
    x.round = round;
    x.old_due_ms = c.due_ms;
    x.due_ms = m.due_ms;
    x.warn_ms = c.warned ? 0 : m.warn_ms;
    x.reminder_ms = c.reminded ? 0 : m.reminder_ms;
    x.red_ms = c.red ? 0 : m.red_ms;
    x.supervision_ms = c.supervised ? 0 : m.supervision_ms;
    x.working_days = working_days;
    x.unit = c.unit;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)ticket_id;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_EXTENDED;
    ev.sla_clock_extended = &x;
    return evlog_append(self->log, txn, &ev);
}

/* ---- pause ---- */

int sla_store_pause(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                    Hotline__SlaClock clock, int64_t at_ms)
{
    sla_clock_t c;
    int rc = sla_clock_get(self, txn, ticket_id, round, clock, &c);
    if (rc)
        return rc;
    if (c.stopped || c.paused)
        return 0; /* nothing runs, or paused already */
    rec_change_t ch = {.flags = SLA_F_PAUSED, .pending = 0, .stopped_ms = at_ms};
    rc = take_off(self, txn, ticket_id, &c, &ch);
    if (rc)
        return rc;
    self->dirty = true;
    Hotline__SlaClockPaused p = HOTLINE__SLA_CLOCK_PAUSED__INIT;
    p.clock = clock;
    p.round = round;
    p.due_ms = c.due_ms;
    p.unit = c.unit;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)ticket_id;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_PAUSED;
    ev.sla_clock_paused = &p;
    return evlog_append(self->log, txn, &ev);
}

static bool working_day_limit(const sla_clock_t *c)
{
    if (c->limit_unit)
        return c->limit_unit == HOTLINE__DURATION_UNIT__DURATION_WORKING_DAYS;
    return strstr(c->limit, "working day") != NULL; /* a clock of the first release */
}

int sla_store_resume(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                     Hotline__SlaClock clock, int64_t at_ms)
{
    sla_clock_t c;
    int rc = sla_clock_get(self, txn, ticket_id, round, clock, &c);
    if (rc)
        return rc;
    if (c.stopped || !c.paused)
        return 0;
    /* A working-day limit moves by the working days the pause took (from the day it began up
     * to the day it ended, that one not counted: a pause within one day moves nothing); any
     * other limit by the pause's length. */
    shift_t sh = {0};
    int64_t at = at_ms > c.paused_ms ? at_ms : c.paused_ms;
    if (working_day_limit(&c))
        sh.working_days = calendar_working_days_between(
            self->cal, calendar_local_day(self->cal, c.paused_ms),
            calendar_local_day(self->cal, at));
    else
        sh.ms = at - c.paused_ms;
    sla_clock_t before, m;
    if ((rc = reschedule(self, txn, ticket_id, round, clock, &sh, SLA_F_PAUSED, &before, &m)))
        return rc;
    Hotline__SlaClockResumed r = HOTLINE__SLA_CLOCK_RESUMED__INIT;
    r.clock = clock;
    r.round = round;
    r.paused_ms = c.paused_ms;
    r.old_due_ms = c.due_ms;
    r.due_ms = m.due_ms;
    r.working_days = sh.working_days;
    r.shift_ms = sh.ms;
    r.unit = c.unit;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)ticket_id;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_RESUMED;
    ev.sla_clock_resumed = &r;
    return evlog_append(self->log, txn, &ev);
}

/* ---- fire ---- */

/* A step's id, taken apart; false when it is not one sla wrote. */
static bool step_parse(const scheduler_entry_t *e, char *ticket, Hotline__SlaClock *clock,
                       uint32_t *round, int *step)
{
    MDB_val k = {.mv_size = e->id_len, .mv_data = (void *)e->id};
    long tlen = key_ticket(&k, 0, STEP_TAIL);
    if (tlen <= 0 || tlen > SLA_TICKET_ID_MAX)
        return false;
    const uint8_t *p = e->id;
    memcpy(ticket, p, (size_t)tlen + 1);
    *clock = (Hotline__SlaClock)p[tlen + 1];
    *round = get_be32(p + tlen + 2);
    *step = p[tlen + 6];
    return *step >= SLA_STEP_WARN && *step <= SLA_STEP_SUPERVISE;
}

/* The event of one step: SlaWarning (yellow card), SlaBreached (overdue), else SlaEscalated. */
static int step_event(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c,
                      int step)
{
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)ticket;
    Hotline__SlaWarning w = HOTLINE__SLA_WARNING__INIT;
    Hotline__SlaBreached b = HOTLINE__SLA_BREACHED__INIT;
    Hotline__SlaEscalated x = HOTLINE__SLA_ESCALATED__INIT;
    char *unit = (char *)c->unit;
    if (step == SLA_STEP_WARN) {
        w.clock = c->clock;
        w.due_ms = c->due_ms;
        w.round = c->round;
        w.unit = unit;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_WARNING;
        ev.sla_warning = &w;
    } else if (step == SLA_STEP_BREACH) {
        b.clock = c->clock;
        b.due_ms = c->due_ms;
        b.round = c->round;
        b.unit = unit;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_BREACHED;
        ev.sla_breached = &b;
    } else {
        x.clock = c->clock;
        x.step = sla_step_kind(step);
        x.due_ms = c->due_ms;
        x.at_ms = sla_step_at(c, step);
        x.round = c->round;
        x.unit = unit;
        x.policy = (char *)c->policy;
        ev.body_case = HOTLINE__EVENT__BODY_SLA_ESCALATED;
        ev.sla_escalated = &x;
    }
    return evlog_append(self->log, txn, &ev);
}

static uint8_t given_flag(int step, uint8_t *ladder)
{
    *ladder = step == SLA_STEP_REMIND ? SLA_L_REMINDED
              : step == SLA_STEP_RED  ? SLA_L_RED
              : step == SLA_STEP_SUPERVISE ? SLA_L_SUPERVISED
                                           : 0;
    return step == SLA_STEP_WARN ? SLA_F_WARNED : step == SLA_STEP_BREACH ? SLA_F_BREACHED : 0;
}

static void mark_given(sla_clock_t *c, int step)
{
    switch (step) {
    case SLA_STEP_REMIND: c->reminded = true; break;
    case SLA_STEP_WARN: c->warned = true; break;
    case SLA_STEP_BREACH: c->breached = true; break;
    case SLA_STEP_RED: c->red = true; break;
    case SLA_STEP_SUPERVISE: c->supervised = true; break;
    default: break;
    }
}

/* sla lags behind the feed that stops the clock (dispatch's; callback's for a callback clock):
 * a backlog, or a restart that has not yet heard from it. A step is given only once sla has
 * read what that producer recorded up to the step's instant, since a sign, reply or rating in
 * the backlog would have stopped the clock (and a card once sent cannot be taken back). A
 * producer unheard-from since start-up, or whose feed has made no progress, for longer than
 * SLA_FEED_GRACE_MS (it is down) holds nothing back any more. */
static bool must_wait(sla_t *self, Hotline__SlaClock clock, int64_t at_ms)
{
    bool cb = clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, known;
    uint64_t behind, now_ns = hclock_mono_ns();
    int64_t newest;
    if (!self->svc ||
        service_feed_behind(self->svc, cb ? "callback" : "dispatch", &known, &behind, &newest))
        return false;
    if (!known)
        return (now_ns - self->created_ns) / 1000000u < SLA_FEED_GRACE_MS;
    if (behind == 0 || newest >= at_ms)
        return false;
    sla_feed_watch_t *w = &self->watch[cb];
    if (newest != w->newest_ms || !w->since_ns) { /* progress: the wait goes on */
        w->newest_ms = newest;
        w->since_ns = now_ns;
    }
    return (now_ns - w->since_ns) / 1000000u < SLA_FEED_GRACE_MS;
}

int sla_store_fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    sla_t *self = ctx;
    char ticket[SLA_TICKET_ID_MAX + 1];
    Hotline__SlaClock clock;
    uint32_t round;
    int step;
    self->dirty = true; /* the entry is gone: the pending gauge follows */
    if (!step_parse(e, ticket, &clock, &round, &step)) {
        SLOG_WARN("sla_step_corrupt", "id_bytes=%zu next=\"entry dropped\"", e->id_len);
        return 0;
    }
    sla_clock_t c;
    int rc = sla_clock_get(self, txn, ticket, round, clock, &c);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT) {
        SLOG_WARN("sla_step_orphan", "ticket=%s round=%u clock=%s reason=\"%s\" "
                  "next=\"entry dropped\"", ticket, round, sla_clock_label(clock),
                  hl_strerror(rc));
        return 0;
    }
    if (rc)
        return rc;
    if (c.stopped || c.paused || sla_step_given(&c, step))
        return 0; /* a stop or pause cancels its step: only a store from elsewhere gets here */
    if (must_wait(self, clock, sla_step_at(&c, step))) {
        if (self->m_held)
            metric_inc(self->m_held, NULL);
        return step_put(self, txn, ticket, clock, round, step,
                        hclock_now_ms(self->clock) + SLA_WAIT_RETRY_MS);
    }
    mark_given(&c, step);
    /* The next step goes on the scheduler in the same transaction: the ladder climbs one step
     * per pass, each exactly once. A first-release record (pending 0) has its breach on the
     * scheduler already: putting it again only moves it to the same instant. */
    int next;
    rc = next_put(self, txn, ticket, &c, &next);
    rec_change_t ch = {.pending = next};
    ch.flags = given_flag(step, &ch.ladder);
    uint8_t key[KEY_MAX];
    if (!rc)
        rc = record_change(self, txn, key, clock_key(key, ticket, round, clock), &ch);
    if (!rc)
        rc = step_event(self, txn, ticket, &c, step);
    return rc;
}

/* ---- views ---- */

static json_t *ms_string(int64_t ms)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)ms);
    return json_string(b);
}

static void add_time(sla_t *self, json_t *o, const char *name, int64_t ms)
{
    char key[32], local[48];
    snprintf(key, sizeof key, "%sMs", name);
    json_object_set_new(o, key, ms_string(ms));
    calendar_format_local(self->cal, ms, local, sizeof local);
    snprintf(key, sizeof key, "%sLocal", name);
    json_object_set_new(o, key, json_string(local));
}

static json_t *clock_json(sla_t *self, const sla_clock_t *c)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "clock",
                          sla_clock_name(c->clock), "round", (int)c->round, "policy", c->policy,
                          "limit", c->limit, "unit", c->unit, "categoryCode", c->category,
                          "running", !c->stopped, "warned", c->warned, "breached", c->breached);
    add_time(self, o, "started", c->start_ms);
    add_time(self, o, "due", c->due_ms);
    if (c->warn_ms)
        add_time(self, o, "warn", c->warn_ms);
    /* The ladder: each step's instant and whether it was given, in firing order. */
    json_t *ladder = json_array();
    static const int order[] = {SLA_STEP_REMIND, SLA_STEP_WARN, SLA_STEP_BREACH, SLA_STEP_RED,
                                SLA_STEP_SUPERVISE};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        int64_t at = sla_step_at(c, order[i]);
        if (!at)
            continue;
        const ProtobufCEnumValue *k =
            protobuf_c_enum_descriptor_get_value(&hotline__sla_step__descriptor,
                                                 (int)sla_step_kind(order[i]));
        json_t *s = json_pack("{s:s, s:s, s:b}", "step", k ? k->name : "?", "label",
                              sla_step_label(order[i]), "given", sla_step_given(c, order[i]));
        add_time(self, s, "at", at);
        json_array_append_new(ladder, s);
    }
    json_object_set_new(o, "ladder", ladder);
    json_object_set_new(o, "policyVersion", json_integer(c->policy_version));
    if (c->paused) { /* on hold: nothing fires until it resumes */
        json_object_set_new(o, "paused", json_true());
        add_time(self, o, "paused", c->paused_ms);
    }
    if (c->stopped) {
        add_time(self, o, "stopped", c->stopped_ms);
        if (c->suspended)
            json_object_set_new(o, "suspended", json_true()); /* linked to an incident */
        else
            json_object_set_new(o, "onTime", json_boolean(c->on_time));
    }
    return o;
}

typedef struct views_walk {
    sla_t *self;
    MDB_txn *txn;
    json_t *arr;
    size_t key_len;    /* clocks: the keys of this length only */
    int64_t before_ms; /* due: clocks due before this */
    unsigned limit;    /* due: at most this many */
    bool more;         /* due: more were left */
} views_walk_t;

static int clock_visit(void *ctx, const store_entry_t *e)
{
    views_walk_t *w = ctx;
    if (e->key.mv_size != w->key_len)
        return 1;
    sla_clock_t c;
    if (decode(&e->val, &c) == 0)
        json_array_append_new(w->arr, clock_json(w->self, &c));
    return 0;
}

int sla_clocks_json(sla_t *self, MDB_txn *txn, const char *ticket_id, json_t **out)
{
    size_t tlen = strlen(ticket_id);
    if (tlen == 0 || tlen > SLA_TICKET_ID_MAX)
        return HL_ENOTFOUND;
    /* ticket \0 is the prefix of its keys */
    store_range_t r = {.prefix = ticket_id, .prefix_len = tlen + 1};
    views_walk_t w = {self, txn, json_array(), tlen + 6, 0, 0, false};
    int rc = store_scan(txn, self->clocks, &r, clock_visit, &w);
    if (!rc && json_array_size(w.arr) == 0)
        rc = HL_ENOTFOUND;
    if (rc) {
        json_decref(w.arr);
        return rc;
    }
    *out = json_pack("{s:s, s:o}", "ticketId", ticket_id, "clocks", w.arr);
    /* A linked ticket names the incident whose clock it follows (sla_incident.c). */
    rc = sla_incident_clocks_json(self, txn, ticket_id, *out);
    if (rc) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int due_visit(void *ctx, const store_entry_t *e)
{
    views_walk_t *w = ctx;
    const MDB_val *k = &e->key;
    if (k->mv_size < 8 || (int64_t)store_be64_get(k->mv_data) >= w->before_ms)
        return 1;
    if (json_array_size(w->arr) == w->limit) {
        w->more = true;
        return 1;
    }
    long tlen = key_ticket(k, 8, 4 + 1);
    if (tlen <= 0 || tlen > SLA_TICKET_ID_MAX)
        return 0;
    const uint8_t *p = (const uint8_t *)k->mv_data + 8;
    char ticket[SLA_TICKET_ID_MAX + 1];
    memcpy(ticket, p, (size_t)tlen);
    ticket[tlen] = '\0';
    sla_clock_t c;
    if (sla_clock_get(w->self, w->txn, ticket, get_be32(p + tlen + 1),
                      (Hotline__SlaClock)p[tlen + 5], &c) == 0) {
        json_t *o = clock_json(w->self, &c);
        json_object_set_new(o, "ticketId", json_string(ticket));
        json_array_append_new(w->arr, o);
    }
    return 0;
}

int sla_due_json(sla_t *self, MDB_txn *txn, int64_t before_ms, unsigned limit, json_t **out)
{
    views_walk_t w = {self, txn, json_array(), 0, before_ms, limit, false};
    int rc = store_scan(txn, self->due, NULL, due_visit, &w);
    if (rc) {
        json_decref(w.arr);
        return rc;
    }
    json_t *before = ms_string(before_ms);
    *out = json_pack("{s:o, s:o, s:b}", "beforeMs", before, "clocks", w.arr, "more", w.more);
    return 0;
}
