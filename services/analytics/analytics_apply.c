/* analytics_apply: one event from any of the four feeds -> the ticket's timeline, its
 * dimension record and the counters of the event's local day and month (analytics_count,
 * which a rebuild runs again over the kept timeline). Runs inside the feed batch's
 * write transaction (which also stores the cursor), so it acts only through txn: it may run
 * again after a map growth. The counter changes are summed in memory over the batch and
 * written by analytics_batch_end in the same transaction (analytics_store.c). Loop thread. */
#include "analytics_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

#define MAX_COUNTS 4 /* counters one event moves at most (a rating: done, rated, resolved, level) */

typedef struct effect {
    analytics_counter_t ids[MAX_COUNTS];
    int64_t deltas[MAX_COUNTS];
    int n;
    int64_t at_ms; /* the instant whose day the counts go to: 0 = the event's own */
    bool no_unit;  /* counted under no unit: what happens at the door (a receipt, a repeat
                      call) is the centre's, whichever feed arrives first */
    const char *unit, *category, *district; /* carried by the event itself, NULL if not */
} effect_t;

static const analytics_counter_t RATING_COUNTER[] = {
    [HOTLINE__RATING__RATING_VERY_SATISFIED] = ANALYTICS_RATING_VERY_SATISFIED,
    [HOTLINE__RATING__RATING_SATISFIED] = ANALYTICS_RATING_SATISFIED,
    [HOTLINE__RATING__RATING_BASICALLY_SATISFIED] = ANALYTICS_RATING_BASICALLY_SATISFIED,
    [HOTLINE__RATING__RATING_DISSATISFIED] = ANALYTICS_RATING_DISSATISFIED,
    [HOTLINE__RATING__RATING_VERY_DISSATISFIED] = ANALYTICS_RATING_VERY_DISSATISFIED,
};

static void count_by(effect_t *e, analytics_counter_t id, int64_t delta)
{
    if (e->n < MAX_COUNTS) {
        e->ids[e->n] = id;
        e->deltas[e->n++] = delta;
    }
}

static void count(effect_t *e, analytics_counter_t id)
{
    count_by(e, id, 1);
}

static bool rating_known(Hotline__Rating r)
{
    return r > 0 && (size_t)r < sizeof RATING_COUNTER / sizeof *RATING_COUNTER;
}

/* A rating leaves the KPIs (eligible false: an upheld appeal) or comes back, in the period it
 * was recorded in: late appeals change past periods (docs/domain.md "KPIs"). */
static void eligibility_counts(const Hotline__KpiEligibilityChanged *k, effect_t *e)
{
    int64_t sign = k->eligible ? 1 : -1;
    e->unit = k->unit;
    e->at_ms = k->rated_ms;
    count_by(e, ANALYTICS_RATED, sign);
    if (k->resolved)
        count_by(e, ANALYTICS_RESOLVED, sign);
    if (rating_known(k->rating))
        count_by(e, RATING_COUNTER[k->rating], sign);
    count_by(e, ANALYTICS_RATINGS_EXCLUDED, -sign);
}

static bool set(const char *s)
{
    return s && *s;
}

/* Fill an empty field of the record from the event (feeds are not ordered with respect to
 * each other: sla may tell about a ticket before dispatch's or intake's event arrives). */
static bool fill(char *field, const char *value)
{
    if (field[0] || !set(value))
        return false;
    analytics_value_copy(field, value);
    return true;
}

static void clock_counts(effect_t *e, Hotline__SlaClock clock, analytics_counter_t sign,
                         analytics_counter_t reply)
{
    if (clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_SIGN)
        count(e, sign);
    else if (clock == HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY)
        count(e, reply);
    /* An unspecified clock is kept in the timeline but counted nowhere. */
}


/* What ev counts and which dimensions it carries; updates the dimensions t (*dirty when it did). */
static void classify(const Hotline__Event *ev, analytics_ticket_t *t, effect_t *e, bool *dirty)
{
    /* The one-of members share one pointer: a body case with no body (only a hand-built
     * event can have one) is kept in the timeline and counted nowhere. */
    if (!ev->ticket_received)
        return;
    switch (ev->body_case) {
    case HOTLINE__EVENT__BODY_TICKET_RECEIVED: {
        const Hotline__Ticket *tk = ev->ticket_received ? ev->ticket_received->ticket : NULL;
        /* A receipt is the centre's, not a unit's: counted under no unit, whichever feed
         * arrives first (a dispatch read before it would otherwise lend it its unit, and a
         * rebuild, reading in time order, would not). */
        e->no_unit = true;
        if (tk) {
            e->category = tk->category_code;
            e->district = tk->location ? tk->location->district : NULL;
            /* Intake's own word on what and where wins over copies seen earlier. */
            if (set(tk->category_code) && strcmp(t->category, tk->category_code) != 0) {
                analytics_value_copy(t->category, tk->category_code);
                *dirty = true;
            }
            if (set(e->district) && strcmp(t->district, e->district) != 0) {
                analytics_value_copy(t->district, e->district);
                *dirty = true;
            }
        }
        if (!t->received_ms) {
            t->received_ms = tk && tk->received_ms ? tk->received_ms : ev->time_ms;
            *dirty = true;
        }
        if (!(t->flags & ANALYTICS_FLAG_RECEIVED)) {
            t->flags |= ANALYTICS_FLAG_RECEIVED;
            *dirty = true;
            count(e, ANALYTICS_RECEIVED);
            /* What happened at the door: most go on to dispatch; these do not. */
            switch (tk && tk->outcome ? tk->outcome->disposition
                                      : HOTLINE__DISPOSITION__DISPOSITION_DISPATCH) {
            case HOTLINE__DISPOSITION__DISPOSITION_ANSWERED: count(e, ANALYTICS_ANSWERED); break;
            case HOTLINE__DISPOSITION__DISPOSITION_REFERRED: count(e, ANALYTICS_REFERRED); break;
            case HOTLINE__DISPOSITION__DISPOSITION_NOT_ACCEPTED:
                count(e, ANALYTICS_NOT_ACCEPTED);
                break;
            default:
                if (tk && tk->incident_id && *tk->incident_id)
                    count(e, ANALYTICS_INCIDENT_LINKED);
                break;
            }
        }
        break;
    }
    case HOTLINE__EVENT__BODY_REPEAT_CONTACT: /* the centre's, like a receipt */
        e->no_unit = true;
        count(e, ANALYTICS_REPEAT_CALLS);
        break;
    case HOTLINE__EVENT__BODY_TICKET_DISPATCHED: {
        const Hotline__TicketDispatched *d = ev->ticket_dispatched;
        e->unit = d->unit;
        e->category = d->category_code;
        e->district = d->district;
        /* The unit holding the ticket changes on re-dispatch: the latest dispatch wins. */
        if (set(d->unit) && strcmp(t->unit, d->unit) != 0) {
            analytics_value_copy(t->unit, d->unit);
            *dirty = true;
        }
        if (d->round == 0 && !(t->flags & ANALYTICS_FLAG_DISPATCHED)) {
            t->flags |= ANALYTICS_FLAG_DISPATCHED;
            *dirty = true;
            count(e, ANALYTICS_DISPATCHED);
        } else {
            count(e, ANALYTICS_REDISPATCHED);
        }
        break;
    }
    case HOTLINE__EVENT__BODY_TICKET_SIGNED:
        e->unit = ev->ticket_signed->unit;
        count(e, ANALYTICS_SIGNED);
        break;
    case HOTLINE__EVENT__BODY_TICKET_REPLIED:
        e->unit = ev->ticket_replied->unit;
        count(e, ANALYTICS_REPLIED);
        break;
    case HOTLINE__EVENT__BODY_TICKET_REOPENED:
        e->unit = ev->ticket_reopened->unit;
        count(e, ANALYTICS_REWORKED);
        break;
    case HOTLINE__EVENT__BODY_SLA_CLOCK_STARTED:
        e->unit = ev->sla_clock_started->unit;
        e->category = ev->sla_clock_started->category_code;
        clock_counts(e, ev->sla_clock_started->clock, ANALYTICS_SIGN_STARTED,
                     ANALYTICS_REPLY_STARTED);
        break;
    /* SlaClockStopped and SlaBreached are also verdicts: analytics_verdict.c counts those. */
    case HOTLINE__EVENT__BODY_SLA_WARNING:
        e->unit = ev->sla_warning->unit;
        clock_counts(e, ev->sla_warning->clock, ANALYTICS_SIGN_WARNINGS, ANALYTICS_REPLY_WARNINGS);
        break;
    case HOTLINE__EVENT__BODY_SLA_BREACHED:
        e->unit = ev->sla_breached->unit;
        clock_counts(e, ev->sla_breached->clock, ANALYTICS_SIGN_BREACHED, ANALYTICS_REPLY_BREACHED);
        break;
    case HOTLINE__EVENT__BODY_CALLBACK_SCHEDULED:
        e->unit = ev->callback_scheduled->unit;
        count(e, ANALYTICS_CALLBACKS_DUE);
        break;
    case HOTLINE__EVENT__BODY_CALLBACK_ATTEMPTED: count(e, ANALYTICS_UNREACHABLE); break;
    case HOTLINE__EVENT__BODY_CALLBACK_RATED: {
        const Hotline__CallbackRated *r = ev->callback_rated;
        e->unit = r->unit;
        count(e, ANALYTICS_CALLBACKS_DONE);
        count(e, ANALYTICS_RATED);
        if (r->resolved)
            count(e, ANALYTICS_RESOLVED);
        /* The raw level is counted; "satisfied" is derived from the levels at query time
         * under analytics' own policy switch, so changing it re-reads every period. */
        if (rating_known(r->rating))
            count(e, RATING_COUNTER[r->rating]);
        break;
    }
    case HOTLINE__EVENT__BODY_REWORK_REQUESTED:
        e->unit = ev->rework_requested->unit;
        count(e, ANALYTICS_REWORK_REQUESTED);
        break;
    case HOTLINE__EVENT__BODY_TICKET_CLOSED: count(e, ANALYTICS_CLOSED); break;
    case HOTLINE__EVENT__BODY_RETURN_REQUESTED:
        e->unit = ev->return_requested->unit;
        count(e, ANALYTICS_RETURN_REQUESTS);
        break;
    case HOTLINE__EVENT__BODY_RETURN_REVIEWED:
        e->unit = ev->return_reviewed->unit; /* the unit that handed it back */
        if (ev->return_reviewed->approved)
            count(e, ANALYTICS_RETURNED);
        break;
    case HOTLINE__EVENT__BODY_KPI_ELIGIBILITY_CHANGED:
        eligibility_counts(ev->kpi_eligibility_changed, e);
        break;
    default: break; /* kept in the timeline, counted nowhere */
    }
    *dirty |= fill(t->unit, e->unit);
    *dirty |= fill(t->category, e->category);
    *dirty |= fill(t->district, e->district);
}

/* The pair value "a" 0x1f "b" into out (2 * ANALYTICS_VALUE_MAX + 2 bytes). */
static const char *pair(char *out, const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    memcpy(out, a, na);
    out[na] = 0x1f;
    memcpy(out + na + 1, b, nb + 1);
    return out;
}

/* delta on id in one period: the centre, each known dimension, each known pair (both orders). */
static int add_period(analytics_t *self, MDB_txn *txn, int64_t period, analytics_counter_t id,
                      int64_t delta, const char *u, const char *c, const char *d)
{
    char p[2 * ANALYTICS_VALUE_MAX + 2];
    const struct {
        analytics_dim_t dim;
        const char *a, *b; /* b NULL: a single dimension */
    } cells[] = {
        {ANALYTICS_DIM_UNIT, u, NULL},
        {ANALYTICS_DIM_CATEGORY, c, NULL},
        {ANALYTICS_DIM_DISTRICT, d, NULL},
        {ANALYTICS_DIM_UNIT_CATEGORY, u, c},
        {ANALYTICS_DIM_CATEGORY_UNIT, c, u},
        {ANALYTICS_DIM_UNIT_DISTRICT, u, d},
        {ANALYTICS_DIM_DISTRICT_UNIT, d, u},
        {ANALYTICS_DIM_CATEGORY_DISTRICT, c, d},
        {ANALYTICS_DIM_DISTRICT_CATEGORY, d, c},
    };
    int rc = analytics_counter_add(self, txn, period, ANALYTICS_DIM_ALL, "", id, delta);
    /* A dimension not known yet (no unit before dispatch) is left out of its breakdowns. */
    for (size_t i = 0; !rc && i < sizeof cells / sizeof *cells; i++) {
        if (!*cells[i].a || (cells[i].b && !*cells[i].b))
            continue;
        rc = analytics_counter_add(self, txn, period, cells[i].dim,
                                   cells[i].b ? pair(p, cells[i].a, cells[i].b) : cells[i].a, id,
                                   delta);
    }
    return rc;
}

int analytics_add_everywhere(analytics_t *self, MDB_txn *txn, int64_t day, analytics_counter_t id,
                             int64_t delta, const char *unit, const char *category,
                             const char *district)
{
    int rc = add_period(self, txn, day, id, delta, unit, category, district);
    if (!rc)
        rc = add_period(self, txn, analytics_month_of(day), id, delta, unit, category, district);
    /* The all-time totals count events for /metrics, whose counters never go down: a rating
     * taken out of the KPIs stays counted there (and ratingsExcluded says how many). */
    if (!rc && delta > 0)
        rc = analytics_counter_add(self, txn, ANALYTICS_ALL_TIME, ANALYTICS_DIM_ALL, "", id, delta);
    return rc;
}

int analytics_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    analytics_t *self = ctx;
    if (!ev->ticket_id || !*ev->ticket_id)
        return 0; /* not about a ticket (test traffic) */
    size_t id_len = strlen(ev->ticket_id);
    if (id_len > ANALYTICS_ID_MAX) {
        SLOG_WARN("event_not_kept",
                  "source=%s seq=%llu reason=\"ticket id longer than %d "
                  "bytes\"",
                  ev->source, (unsigned long long)ev->seq, ANALYTICS_ID_MAX);
        return 0;
    }
    tl_rec_t *rec = self->rec;
    MDB_val v;
    bool seen = false;
    int rc = store_get(txn, self->timeline, ev->ticket_id, id_len, &v);
    if (rc == HL_ENOTFOUND) {
        tl_rec_reset(rec);
        rc = 0;
    } else if (!rc) {
        rc = analytics_record_parse(rec, v.mv_data, v.mv_size);
        if (!rc)
            rc = analytics_record_has(rec, ev->source, ev->seq, &seen);
    }
    if (!rc && !seen) { /* a replay of an applied event changes nothing */
        rc = analytics_count(self, txn, ev, &rec->t);
        if (!rc)
            rc = tl_rec_append(rec, ev);
        if (!rc)
            rc = analytics_record_put(self, txn, ev->ticket_id, id_len, rec);
        if (!rc)
            self->tl_added++;
        /* Not in analytics_count: a rebuild of the counters must not raise hotspots again. */
        if (!rc)
            rc = analytics_hotspot_apply(self, txn, ev);
    }
    if (rc) /* the batch is rolled back: so are its pending counts */
        analytics_batch_drop(self);
    return rc;
}

int analytics_count(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev,
                    analytics_ticket_t *t)
{
    bool dirty = false; /* the record is written with the event anyway */
    effect_t e = {.n = 0};
    classify(ev, t, &e, &dirty);
    int rc = 0;
    /* The event's own dimensions where it carries them, else the ticket's. */
    char unit[ANALYTICS_VALUE_MAX + 1], category[ANALYTICS_VALUE_MAX + 1],
        district[ANALYTICS_VALUE_MAX + 1];
    analytics_value_copy(unit, e.no_unit ? "" : set(e.unit) ? e.unit : t->unit);
    analytics_value_copy(category, set(e.category) ? e.category : t->category);
    analytics_value_copy(district, set(e.district) ? e.district : t->district);
    int64_t day = calendar_local_day(self->cal, e.at_ms ? e.at_ms : ev->time_ms);
    for (int i = 0; i < e.n && !rc; i++)
        rc = analytics_add_everywhere(self, txn, day, e.ids[i], e.deltas[i], unit, category,
                                      district);
    if (!rc) {
        analytics_ticket_t dims = *t;
        analytics_value_copy(dims.unit, unit);
        analytics_value_copy(dims.category, category);
        analytics_value_copy(dims.district, district);
        rc = analytics_verdict(self, txn, ev, &dims);
        if (!rc && ev->body_case == HOTLINE__EVENT__BODY_TICKET_CLOSED)
            rc = analytics_closure(self, txn, ev, &dims, day);
    }
    return rc;
}
