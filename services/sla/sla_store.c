/* sla_store: clock records and their indexes (layout: sla_record.h), a round's clocks started
 * (the first step of each ladder put on the scheduler) and a clock stopped (its pending step
 * cancelled), inside the caller's write transaction with their events, so state, steps and
 * events commit together; each guarded by the stored state (started once, stopped once), so
 * applying an event twice changes nothing. Deadlines that move: sla_move.c; steps that fire:
 * sla_fire.c; JSON views: sla_views.c. Loop thread. */
#include "sla_record.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

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

/* ticket \0 round clock: a ticket's clocks are adjacent, by round then clock. */
size_t sla_clock_key(uint8_t *out, const char *ticket, uint32_t round, Hotline__SlaClock c)
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
size_t sla_due_key(uint8_t *out, int64_t due_ms, const char *ticket, uint32_t round,
                      Hotline__SlaClock c)
{
    store_be64_put(out, (uint64_t)due_ms);
    return 8 + sla_clock_key(out + 8, ticket, round, c);
}

/* The ticket id inside a key at off, NUL-terminated by construction; its length or -1. */
long sla_key_ticket(const MDB_val *k, size_t off, size_t tail)
{
    const uint8_t *p = k->mv_data;
    if (k->mv_size < off + 1 + tail)
        return -1;
    const uint8_t *nul = memchr(p + off, 0, k->mv_size - off);
    if (!nul || (size_t)(nul - p) + 1 + tail != k->mv_size || nul == p + off)
        return -1;
    return (long)(nul - (p + off));
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

/* Cancel a step due at at_ms, or (at_ms 0) one an older release put with an id index; one
 * already fired (or never put) is not an error. */
static int step_cancel(sla_t *self, MDB_txn *txn, const char *ticket, Hotline__SlaClock clock,
                       uint32_t round, int step, int64_t at_ms)
{
    uint8_t id[SLA_TICKET_ID_MAX + 1 + STEP_TAIL];
    size_t n = step_id(id, ticket, clock, round, step);
    int rc = at_ms ? scheduler_cancel_at(self->steps, txn, id, n, at_ms)
                   : scheduler_cancel(self->steps, txn, id, n);
    return rc == HL_ENOTFOUND ? 0 : rc;
}

/* A round's entry id: ticket \0 round, the prefix of the round's clock keys. */
size_t sla_round_id(uint8_t *out, const char *ticket, uint32_t round)
{
    size_t n = strlen(ticket);
    memcpy(out, ticket, n + 1);
    return n + 1 + put_be32(out + n + 1, round);
}

void sla_next_set(sla_clock_t *c)
{
    int step = c->paused ? 0 : sla_ladder_next(c);
    c->pending = (uint8_t)step;
    c->pending_at_ms = step ? sla_step_at(c, step) : 0;
    c->pending_by_id = false;
    c->on_round = true;
}

int64_t sla_clock_entry_at(const sla_clock_t *c)
{
    return c->on_round && c->pending && !c->stopped && !c->paused ? c->pending_at_ms : 0;
}

/* Cancel what a clock has on the scheduler: its next step, or for a record of the first
 * release (pending 0, version 1) its warning and breach. */
int sla_pending_cancel(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c)
{
    if (c->on_round)
        return 0; /* on the round's entry: sla_round_keys_move */
    if (c->pending)
        return step_cancel(self, txn, ticket, c->clock, c->round, c->pending,
                           c->pending_by_id ? 0 : c->pending_at_ms);
    if (!c->pending_by_id)
        return 0; /* nothing on the scheduler */
    int rc = c->warn_ms ? step_cancel(self, txn, ticket, c->clock, c->round, SLA_STEP_WARN, 0)
                        : 0;
    return rc ? rc : step_cancel(self, txn, ticket, c->clock, c->round, SLA_STEP_BREACH, 0);
}

/* ---- start ---- */

/* Start a clock of r (loaded; saved by the caller) unless it has one of that kind: one set
 * of clocks per (ticket, clock, round). */
static int start_one(sla_t *self, MDB_txn *txn, sla_round_t *r, const sla_round_in_t *in,
                     const Hotline__SlaPolicy *p, Hotline__SlaClock clock,
                     const Hotline__Limit *limit)
{
    if (sla_round_clock(r, clock))
        return 0; /* started before */
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
    sla_clock_t *slot = sla_round_add(r, clock);
    if (!slot)
        return HL_EINTERNAL;
    sla_clock_t c = {.clock = clock, .round = in->round, .start_ms = in->start_ms,
                     .due_ms = due, .warn_ms = warn, .reminder_ms = plan.reminder_ms,
                     .red_ms = plan.red_ms, .supervision_ms = plan.supervision_ms,
                     .limit_unit = (uint32_t)limit->unit, .limit_value = limit->value,
                     .limit_anchor = (uint32_t)limit->anchor,
                     .policy_version = self->policy_version};
    /* bounded copies of the strings, so the record stays under REC_MAX */
    calendar_limit_text(limit, c.limit, sizeof c.limit);
    sla_copy_str(c.policy, sizeof c.policy, p->name);
    sla_copy_str(c.unit, sizeof c.unit, in->unit);
    sla_copy_str(c.category, sizeof c.category, in->category);
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
    sla_next_set(&c); /* on the round's entry and due key: the caller moves them */
    c.due_on_round = true;
    *slot = c;
    int rc = count_add(self, txn, clock, +1);
    if (rc)
        return rc;
    self->dirty = true;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)in->ticket_id;
    ev.body_case = HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED;
    ev.sla_clock_started = &st;
    rc = evlog_append(self->log, txn, &ev);
    if (rc || clock != HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY || in->round == 0)
        return rc;
    /* A supervision request that waited for this clock: given on the stored clock. */
    rc = sla_round_save(self, txn, r);
    if (!rc)
        rc = sla_supervision_started(self, txn, in->ticket_id, in->round);
    return rc ? rc : sla_round_load(self, txn, in->ticket_id, in->round, r);
}

static const Hotline__SlaPolicy *policy_of(sla_t *self, const sla_round_in_t *in)
{
    sla_keys_t k = {.category = in->category, .urgency = in->urgency,
                    .appeal_type = in->appeal_type, .channel = in->channel};
    return sla_policy_match_keys(sla_table(self), &k);
}

/* The ticket's inputs from in, bounded (a record must never outgrow a page for a bad
 * string). */
static void inputs_set(sla_round_t *r, const sla_round_in_t *in)
{
    sla_inputs_t *t = &r->t.in;
    *t = (sla_inputs_t){.known = true, .round = in->round, .urgency = in->urgency,
                        .appeal_type = in->appeal_type, .channel = in->channel};
    sla_copy_str(t->unit, sizeof t->unit, in->unit);
    sla_copy_str(t->category, sizeof t->category, in->category);
}

/* Start a round's clocks (restart: where they were suspended, those first dropped), keep its
 * inputs (in->keep), save it and move its entry, all in txn. */
static int round_start(sla_t *self, MDB_txn *txn, const sla_round_in_t *in, bool restart)
{
    const Hotline__SlaPolicy *p = policy_of(self, in);
    if (!p)
        return HL_EINTERNAL; /* validation guarantees a catch-all */
    /* A rework round's reply runs on the policy's rework limit, when it has one. */
    const Hotline__Limit *reply = in->round > 0 && p->rework && p->rework->value ? p->rework
                                                                                  : p->reply;
    sla_round_t r;
    int rc = sla_round_load(self, txn, in->ticket_id, in->round, &r);
    static const Hotline__SlaClock clocks[SLA_NROUND_CLOCKS] = SLA_ROUND_CLOCKS;
    for (int i = 0; !rc && restart && i < SLA_NROUND_CLOCKS; i++) {
        /* A suspended clock gives way to a fresh one from the unlink: its step and due
         * entry went at the suspension. Running or judged clocks are left alone. */
        const sla_clock_t *c = sla_round_clock(&r, clocks[i]);
        if (c && c->suspended)
            rc = sla_round_drop(self, txn, &r, clocks[i]);
    }
    if (rc)
        return rc;
    if (in->keep && r.latest)
        inputs_set(&r, in);
    sla_round_keys_t was;
    sla_round_keys(&r, &was);
    rc = start_one(self, txn, &r, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN, p->sign);
    if (!rc)
        rc = start_one(self, txn, &r, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY, reply);
    if (!rc && p->response && p->response->value)
        rc = start_one(self, txn, &r, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE,
                       p->response);
    if (!rc)
        rc = sla_round_save(self, txn, &r);
    return rc ? rc : sla_round_keys_move(self, txn, &r, &was);
}

int sla_store_start_round(sla_t *self, MDB_txn *txn, const sla_round_in_t *in)
{
    return round_start(self, txn, in, false);
}

/* One clock of a round started (start_one), the round's entry moved to its first step. */
static int start_in_round(sla_t *self, MDB_txn *txn, const sla_round_in_t *in,
                          const Hotline__SlaPolicy *p, Hotline__SlaClock clock,
                          const Hotline__Limit *limit)
{
    sla_round_t r;
    int rc = sla_round_load(self, txn, in->ticket_id, in->round, &r);
    sla_round_keys_t was = {0, 0};
    if (!rc)
        sla_round_keys(&r, &was);
    if (!rc)
        rc = start_one(self, txn, &r, in, p, clock, limit);
    if (!rc)
        rc = sla_round_save(self, txn, &r);
    return rc ? rc : sla_round_keys_move(self, txn, &r, &was);
}

int sla_store_start_callback(sla_t *self, MDB_txn *txn, const sla_round_in_t *in)
{
    const Hotline__SlaPolicy *p = policy_of(self, in);
    if (!p || !p->callback || !p->callback->value)
        return 0; /* no callback clock in this policy */
    return start_in_round(self, txn, in, p, HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK, p->callback);
}

/* ---- stop ---- */

int sla_due_own_del(sla_t *self, MDB_txn *txn, const char *ticket, const sla_clock_t *c)
{
    if (c->due_on_round || c->paused)
        return 0; /* under its round's key (sla_round_keys_move), or out of the view */
    uint8_t dk[KEY_MAX];
    int rc = store_del(txn, self->due, dk, sla_due_key(dk, c->due_ms, ticket, c->round, c->clock));
    return rc == HL_ENOTFOUND ? 0 : rc;
}

/* Take a running clock off the scheduler and the due view, its record changed by ch (stopped
 * or paused). */
int sla_take_off(sla_t *self, MDB_txn *txn, sla_round_t *r, sla_clock_t *c,
                 const sla_rec_change_t *ch)
{
    sla_round_keys_t was;
    sla_round_keys(r, &was);
    sla_clock_t before = *c;
    sla_rec_apply(c, ch);
    int rc = sla_pending_cancel(self, txn, r->ticket, &before);
    if (!rc)
        rc = sla_due_own_del(self, txn, r->ticket, &before);
    if (!rc)
        rc = sla_round_save(self, txn, r);
    return rc ? rc : sla_round_keys_move(self, txn, r, &was);
}

/* Stop a running clock: with a verdict (on time or late, SlaClockStopped) or, suspended,
 * without one and without an event. */
static int halt(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round,
                Hotline__SlaClock clock, int64_t at_ms, bool suspend)
{
    sla_round_t r;
    sla_clock_t *c;
    int rc = sla_round_clock_load(self, txn, ticket_id, round, clock, &r, &c);
    if (rc)
        return rc;
    if (c->stopped)
        return 0; /* stopped before: a replayed sign / reply changes nothing */
    if (c->paused) {
        /* Stopped while on hold: the pause ends here, and the verdict is against the deadline
         * it moved. */
        rc = sla_store_resume(self, txn, ticket_id, round, clock, at_ms);
        if (!rc)
            rc = sla_round_clock_load(self, txn, ticket_id, round, clock, &r, &c);
        if (rc)
            return rc;
    }
    bool on_time = at_ms <= c->due_ms;
    int64_t due = c->due_ms;
    sla_rec_change_t ch = {.flags = suspend ? SLA_F_STOPPED | SLA_F_SUSPENDED
                                        : SLA_F_STOPPED | (on_time ? SLA_F_ON_TIME : 0),
                       .pending = 0, .stopped_ms = at_ms};
    /* A stopped clock climbs no further: its pending step goes with it. */
    rc = sla_take_off(self, txn, &r, c, &ch);
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
    sp.due_ms = due;
    sp.round = round;
    return evlog_append_body(self->log, txn, ticket_id, HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED,
                             &sp);
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
    return round_start(self, txn, in, true);
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
    return limit && limit->value ? start_in_round(self, txn, in, p, clock, limit) : 0;
}

