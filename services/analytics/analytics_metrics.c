/* analytics_metrics: business counters on /metrics, read from the all-time totals in the
 * store. The metrics registry keeps values in memory, so after every commit (and once at
 * start) the committed totals are read back and the difference is added: the counters then
 * equal the persistent totals, survive restarts and only go up. Loop thread. */
#include "analytics_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

enum { F_TICKETS, F_CLOCKS, F_CALLBACKS, F_RATINGS, F_RESOLVED, F_REWORK };

static const struct {
    analytics_counter_t id;
    int family;
    const char *labels[2];
} MAP[] = {
    {ANALYTICS_RECEIVED, F_TICKETS, {"received"}},
    {ANALYTICS_DISPATCHED, F_TICKETS, {"dispatched"}},
    {ANALYTICS_REDISPATCHED, F_TICKETS, {"redispatched"}},
    {ANALYTICS_SIGNED, F_TICKETS, {"signed"}},
    {ANALYTICS_REPLIED, F_TICKETS, {"replied"}},
    {ANALYTICS_REWORKED, F_TICKETS, {"reworked"}},
    {ANALYTICS_CLOSED, F_TICKETS, {"closed"}},
    {ANALYTICS_SIGN_STARTED, F_CLOCKS, {"sign", "started"}},
    {ANALYTICS_SIGNED_ON_TIME, F_CLOCKS, {"sign", "on_time"}},
    {ANALYTICS_SIGNED_LATE, F_CLOCKS, {"sign", "late"}},
    {ANALYTICS_SIGN_WARNINGS, F_CLOCKS, {"sign", "warned"}},
    {ANALYTICS_SIGN_BREACHED, F_CLOCKS, {"sign", "breached"}},
    {ANALYTICS_REPLY_STARTED, F_CLOCKS, {"reply", "started"}},
    {ANALYTICS_REPLIED_ON_TIME, F_CLOCKS, {"reply", "on_time"}},
    {ANALYTICS_REPLIED_LATE, F_CLOCKS, {"reply", "late"}},
    {ANALYTICS_REPLY_WARNINGS, F_CLOCKS, {"reply", "warned"}},
    {ANALYTICS_REPLY_BREACHED, F_CLOCKS, {"reply", "breached"}},
    {ANALYTICS_CALLBACKS_DUE, F_CALLBACKS, {"scheduled"}},
    {ANALYTICS_RATED, F_CALLBACKS, {"rated"}},
    {ANALYTICS_UNREACHABLE, F_CALLBACKS, {"unreachable"}},
    {ANALYTICS_RATING_VERY_SATISFIED, F_RATINGS, {"very_satisfied"}},
    {ANALYTICS_RATING_SATISFIED, F_RATINGS, {"satisfied"}},
    {ANALYTICS_RATING_BASICALLY_SATISFIED, F_RATINGS, {"basically_satisfied"}},
    {ANALYTICS_RATING_DISSATISFIED, F_RATINGS, {"dissatisfied"}},
    {ANALYTICS_RATING_VERY_DISSATISFIED, F_RATINGS, {"very_dissatisfied"}},
    {ANALYTICS_RESOLVED, F_RESOLVED, {NULL}},
    {ANALYTICS_REWORK_REQUESTED, F_REWORK, {NULL}},
};
#define NMAP (sizeof MAP / sizeof *MAP)

static metric_t *family(analytics_t *self, int f)
{
    switch (f) {
    case F_TICKETS: return self->m_tickets;
    case F_CLOCKS: return self->m_clocks;
    case F_CALLBACKS: return self->m_callbacks;
    case F_RATINGS: return self->m_ratings;
    case F_RESOLVED: return self->m_resolved;
    default: return self->m_rework;
    }
}

int analytics_metrics_attach(analytics_t *self, metrics_t *m)
{
    self->metrics = m;
    self->m_tickets = metrics_counter(
        m, "hotline_tickets_total",
        "Tickets reaching each stage, from every service's events (analytics, all time).", "stage");
    self->m_clocks = metrics_counter(
        m, "hotline_sla_clocks_total",
        "SLA clocks by clock and outcome: started, stopped on time or late, warned, breached.",
        "clock,outcome");
    self->m_callbacks = metrics_counter(
        m, "hotline_callbacks_total",
        "Callbacks scheduled, completed with a rating, and attempts that reached no one.",
        "outcome");
    self->m_ratings =
        metrics_counter(m, "hotline_ratings_total",
                        "Callback ratings by level (raw, before any appeal).", "rating");
    self->m_resolved =
        metrics_counter(m, "hotline_ratings_resolved_total",
                        "Ratings where the citizen said the problem was solved.", NULL);
    self->m_rework = metrics_counter(m, "hotline_rework_requests_total",
                                     "Rework requested after an unsatisfied rating.", NULL);
    self->m_known_tickets =
        metrics_gauge(m, "hotline_analytics_tickets",
                      "Tickets analytics has heard of (dimension records).", NULL);
    self->m_timeline_events = metrics_gauge(m, "hotline_analytics_timeline_events",
                                            "Events stored in ticket timelines.", NULL);
    if (!self->m_tickets || !self->m_clocks || !self->m_callbacks || !self->m_ratings ||
        !self->m_resolved || !self->m_rework || !self->m_known_tickets || !self->m_timeline_events)
        return HL_EINTERNAL;
    /* Every series from the start, so an empty store shows zeros rather than nothing. */
    for (size_t i = 0; i < NMAP; i++)
        metric_add(family(self, MAP[i].family), MAP[i].labels[0] ? MAP[i].labels : NULL, 0);
    memset(self->shown, 0, sizeof self->shown);
    return analytics_metrics_refresh(self);
}

static void take(void *ctx, const char *value, unsigned id, uint64_t n)
{
    (void)value;
    uint64_t *totals = ctx;
    totals[id] = n;
}

static double entries(MDB_txn *txn, MDB_dbi dbi)
{
    uint64_t n;
    return store_count(txn, dbi, &n) == 0 ? (double)n : 0;
}

int analytics_metrics_refresh(analytics_t *self)
{
    if (!self->metrics)
        return 0;
    uint64_t totals[ANALYTICS_NCOUNTERS] = {0};
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    rc = analytics_counters_scan(self, txn, ANALYTICS_ALL_TIME, ANALYTICS_DIM_ALL, NULL, 0, take,
                                 totals);
    if (!rc) {
        uint64_t events = 0;
        metric_set(self->m_known_tickets, NULL, entries(txn, self->timeline));
        rc = store_get_u64(txn, self->meta, ANALYTICS_EVENTS_KEY, sizeof ANALYTICS_EVENTS_KEY - 1,
                           &events);
        metric_set(self->m_timeline_events, NULL, (double)events);
    }
    store_read_end(&txn);
    if (rc)
        return rc;
    for (size_t i = 0; i < NMAP; i++) {
        analytics_counter_t id = MAP[i].id;
        if (totals[id] > self->shown[id])
            metric_add(family(self, MAP[i].family), MAP[i].labels[0] ? MAP[i].labels : NULL,
                       (double)(totals[id] - self->shown[id]));
        self->shown[id] = totals[id];
    }
    return 0;
}
