/* analytics_verdict: when a deadline counts in the on-time KPIs (docs/domain.md "KPIs").
 *
 * A clock counts once, in the period where it was decided: stopped in time (on time, on the day
 * it stopped), or its deadline passed unstopped (late, on the day of the deadline: SlaBreached,
 * or a late SlaClockStopped when no breach was seen). A clock still running and not yet due
 * counts nowhere, so a day's on-time rate never shows clocks that may still be met. A clock
 * counted late whose deadline an approved extension moved, and which then stops on time,
 * moves from late (its deadline's day) to on time (its stop's day).
 *
 * Sub-database verdicts: ticket id | 0x00 | clock (1) | be32 round
 *                        -> state (1 on time, 2 late) | be64 day | unit
 * On-time closure: a TicketClosed counts closedOnTime when no reply of the ticket (any round)
 * was judged late (its verdicts, read at the close).
 *
 * Inside the feed batch's write transaction; an event applied again (same source and seq) never
 * reaches here (analytics_apply). Loop thread. */
#include "analytics_internal.h"

#include "hl_error.h"

#include <string.h>

enum { V_ON_TIME = 1, V_LATE = 2 };
#define V_FIXED 9

typedef struct clock_ids {
    analytics_counter_t due, on_time, late;
} clock_ids_t;

/* The counters of a clock kind; false for a clock no KPI is made of. */
static bool ids_of(Hotline__SlaClock clock, clock_ids_t *out)
{
    switch (clock) {
    case HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN:
        *out = (clock_ids_t){ANALYTICS_SIGN_DUE, ANALYTICS_SIGNED_ON_TIME, ANALYTICS_SIGNED_LATE};
        return true;
    case HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY:
        *out = (clock_ids_t){ANALYTICS_REPLY_DUE, ANALYTICS_REPLIED_ON_TIME,
                             ANALYTICS_REPLIED_LATE};
        return true;
    case HOTLINE__SLA_CLOCK__SLA_CLOCK_RESPONSE:
        *out = (clock_ids_t){ANALYTICS_RESPONSE_DUE, ANALYTICS_RESPONDED_ON_TIME,
                             ANALYTICS_RESPONDED_LATE};
        return true;
    case HOTLINE__SLA_CLOCK__SLA_CLOCK_CALLBACK:
        *out = (clock_ids_t){ANALYTICS_CALLBACK_CLOCKS_DUE, ANALYTICS_CALLED_BACK_ON_TIME,
                             ANALYTICS_CALLED_BACK_LATE};
        return true;
    default: return false;
    }
}

static size_t verdict_key(uint8_t *key, const char *ticket, Hotline__SlaClock clock,
                          uint32_t round)
{
    size_t n = strlen(ticket);
    memcpy(key, ticket, n + 1);
    key[n + 1] = (uint8_t)clock;
    key[n + 2] = (uint8_t)(round >> 24);
    key[n + 3] = (uint8_t)(round >> 16);
    key[n + 4] = (uint8_t)(round >> 8);
    key[n + 5] = (uint8_t)round;
    return n + 6;
}

/* +sign on the clock's due count and on its on-time or late count, on day, under unit and the
 * ticket's category and district. */
static int count(analytics_t *self, MDB_txn *txn, const clock_ids_t *ids, int state, int64_t day,
                 int64_t sign, const char *unit, const analytics_ticket_t *t)
{
    int rc = analytics_add_everywhere(self, txn, day, ids->due, sign, unit, t->category,
                                      t->district);
    if (!rc)
        rc = analytics_add_everywhere(self, txn, day, state == V_ON_TIME ? ids->on_time : ids->late,
                                      sign, unit, t->category, t->district);
    return rc;
}

int analytics_verdict(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev,
                      const analytics_ticket_t *t)
{
    Hotline__SlaClock clock;
    uint32_t round;
    int64_t due_ms;
    int state;
    const char *unit = t->unit;
    if (ev->body_case == HOTLINE__EVENT__BODY_SLA_CLOCK_STOPPED) {
        const Hotline__SlaClockStopped *s = ev->sla_clock_stopped;
        clock = s->clock;
        round = s->round;
        due_ms = s->due_ms;
        state = s->on_time ? V_ON_TIME : V_LATE;
    } else if (ev->body_case == HOTLINE__EVENT__BODY_SLA_BREACHED) {
        const Hotline__SlaBreached *b = ev->sla_breached;
        clock = b->clock;
        round = b->round;
        due_ms = b->due_ms;
        state = V_LATE;
        if (b->unit && *b->unit)
            unit = b->unit;
    } else {
        return 0;
    }
    clock_ids_t ids;
    if (!ids_of(clock, &ids))
        return 0;
    /* On time: the day it stopped. Late: the day the deadline passed (the event's own time
     * when it carries none). */
    int64_t at = state == V_ON_TIME || !due_ms ? ev->time_ms : due_ms;
    int64_t day = calendar_local_day(self->cal, at);

    uint8_t key[ANALYTICS_ID_MAX + 6];
    size_t klen = verdict_key(key, ev->ticket_id, clock, round);
    MDB_val v;
    int rc = store_get(txn, self->verdicts, key, klen, &v);
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    if (rc == 0) {
        const uint8_t *p = v.mv_data;
        if (v.mv_size < V_FIXED || p[0] != V_LATE || state != V_ON_TIME)
            return 0; /* decided already; only late -> on time (an extension) moves it */
        /* Out of late on the deadline's day, under the unit it was counted for. */
        char old_unit[ANALYTICS_VALUE_MAX + 1];
        size_t ul = v.mv_size - V_FIXED > ANALYTICS_VALUE_MAX ? ANALYTICS_VALUE_MAX
                                                              : v.mv_size - V_FIXED;
        memcpy(old_unit, p + V_FIXED, ul);
        old_unit[ul] = '\0';
        rc = count(self, txn, &ids, V_LATE, (int64_t)store_be64_get(p + 1), -1, old_unit, t);
        if (rc)
            return rc;
    }
    rc = count(self, txn, &ids, state, day, 1, unit, t);
    if (rc)
        return rc;
    uint8_t val[V_FIXED + ANALYTICS_VALUE_MAX];
    size_t ul = strnlen(unit, ANALYTICS_VALUE_MAX);
    val[0] = (uint8_t)state;
    store_be64_put(val + 1, (uint64_t)day);
    memcpy(val + V_FIXED, unit, ul);
    return store_put(txn, self->verdicts, key, klen, val, V_FIXED + ul, 0);
}

/* ---- on-time closure ---- */

typedef struct late_walk {
    bool late;
} late_walk_t;

static int late_visit(void *ctx, const store_entry_t *e)
{
    late_walk_t *w = ctx;
    const uint8_t *k = e->key.mv_data;
    /* ticket id | 0x00 | clock | be32 round: the clock is the 5th byte from the end. */
    if (e->key.mv_size >= 6 && k[e->key.mv_size - 5] == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY &&
        e->val.mv_size >= V_FIXED && ((const uint8_t *)e->val.mv_data)[0] == V_LATE) {
        w->late = true;
        return 1;
    }
    return 0;
}

int analytics_closure(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev,
                      const analytics_ticket_t *t, int64_t day)
{
    uint8_t prefix[ANALYTICS_ID_MAX + 1];
    size_t n = strlen(ev->ticket_id);
    memcpy(prefix, ev->ticket_id, n + 1);
    late_walk_t w = {false};
    store_range_t r = {.prefix = prefix, .prefix_len = n + 1};
    int rc = store_scan(txn, self->verdicts, &r, late_visit, &w);
    if (rc || w.late)
        return rc;
    return analytics_add_everywhere(self, txn, day, ANALYTICS_CLOSED_ON_TIME, 1, t->unit,
                                    t->category, t->district);
}
