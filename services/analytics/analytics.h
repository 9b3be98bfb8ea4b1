/* analytics: KPIs by period / unit / category / district, and every ticket's full timeline,
 * built from the feeds of intake, dispatch, sla and callback.
 *
 * State, all in the service's own LMDB (analytics_store.c and analytics_timeline.c give the
 * layouts):
 *   counters  (local day, dimension, value, counter) -> u64, plus an "all time" period
 *   timeline  ticket id -> one record: its dimensions (category, district, unit, received
 *             time), the "already counted once" flags, and each event applied, compact (what
 *             the counts read and the timeline shows; no free text, no contact data)
 * Every change is made by analytics_apply (and, for the counters summed over a feed batch,
 * analytics_batch_end) inside the transaction that also stores the feed cursor, so counts
 * are exactly once; an event in its ticket's record (by source and seq) doubles as the "this
 * event was applied" marker, so even a logic replay of the same event cannot count twice.
 *
 * Reads (KPIs, timeline) run in read transactions on the loop thread. Loop thread only. */
#ifndef HOTLINE_ANALYTICS_H
#define HOTLINE_ANALYTICS_H

#include "calendar.h"
#include "hclock.h"
#include "metrics.h"
#include "service.h"
#include "store.h"

#include "hotline/config.pb-c.h"
#include "hotline/event.pb-c.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

extern const service_desc_t analytics_service;

/* Longest dimension value (unit, category, district) and ticket id kept in a key; longer
 * ones are cut (values) or the event is not stored (ids): LMDB keys are at most 511 bytes. */
#define ANALYTICS_VALUE_MAX 128
#define ANALYTICS_ID_MAX 64
#define ANALYTICS_SOURCE_MAX 32

/* Counter ids. They are part of the stored keys: never renumber, only append. */
typedef enum {
    ANALYTICS_RECEIVED = 0,          /* TicketReceived (once per ticket) */
    ANALYTICS_DISPATCHED = 1,        /* TicketDispatched round 0 (once per ticket) */
    ANALYTICS_REDISPATCHED = 2,      /* any later TicketDispatched (rework round, re-routing) */
    ANALYTICS_REWORKED = 3,          /* TicketReopened */
    ANALYTICS_SIGNED = 4,            /* TicketSigned */
    ANALYTICS_REPLIED = 5,           /* TicketReplied */
    ANALYTICS_CLOSED = 6,            /* TicketClosed */
    ANALYTICS_SIGN_STARTED = 7,      /* SlaClockStarted SIGN */
    ANALYTICS_SIGNED_ON_TIME = 8,    /* SIGN clocks stopped in time (the stop's day) */
    ANALYTICS_SIGNED_LATE = 9,       /* SIGN clocks whose deadline passed unstopped (its day) */
    ANALYTICS_REPLY_STARTED = 10,    /* SlaClockStarted REPLY */
    ANALYTICS_REPLIED_ON_TIME = 11,  /* REPLY clocks, as SIGN (analytics_verdict.c) */
    ANALYTICS_REPLIED_LATE = 12,
    ANALYTICS_SIGN_WARNINGS = 13,    /* SlaWarning SIGN */
    ANALYTICS_REPLY_WARNINGS = 14,   /* SlaWarning REPLY */
    ANALYTICS_SIGN_BREACHED = 15,    /* SlaBreached SIGN */
    ANALYTICS_REPLY_BREACHED = 16,   /* SlaBreached REPLY */
    ANALYTICS_CALLBACKS_DUE = 17,    /* CallbackScheduled */
    ANALYTICS_CALLBACKS_DONE = 18,   /* CallbackRated (the citizen was reached) */
    ANALYTICS_UNREACHABLE = 19,      /* CallbackAttempted (an attempt that reached no one) */
    ANALYTICS_RATED = 20,            /* CallbackRated */
    ANALYTICS_RESOLVED = 21,         /* CallbackRated with resolved */
    ANALYTICS_REWORK_REQUESTED = 22, /* ReworkRequested */
    ANALYTICS_RATING_VERY_SATISFIED = 23, /* CallbackRated by rating, the five levels */
    ANALYTICS_RATING_SATISFIED = 24,
    ANALYTICS_RATING_BASICALLY_SATISFIED = 25,
    ANALYTICS_RATING_DISSATISFIED = 26,
    ANALYTICS_RATING_VERY_DISSATISFIED = 27,
    ANALYTICS_ANSWERED = 28,         /* TicketReceived closed at the door with an answer */
    ANALYTICS_REFERRED = 29,         /* ... referred to an emergency line */
    ANALYTICS_NOT_ACCEPTED = 30,     /* ... not accepted */
    ANALYTICS_REPEAT_CALLS = 31,     /* RepeatContact: a call linked to the caller's open ticket */
    ANALYTICS_INCIDENT_LINKED = 32,  /* TicketReceived joined to a known incident at the door */
    ANALYTICS_RATINGS_EXCLUDED = 33, /* KpiEligibilityChanged: ratings taken out of the KPIs (an
                                        upheld appeal), on the day of the rating; they leave
                                        rated, resolved and their level there */
    /* Clocks decided in the period (on time + late): the on-time rates' denominators. A clock
     * still running and not yet due counts nowhere (analytics_verdict.c). */
    ANALYTICS_SIGN_DUE = 34,
    ANALYTICS_REPLY_DUE = 35,
    ANALYTICS_RESPONSE_DUE = 36,     /* RESPONSE clocks (first contact with the citizen) */
    ANALYTICS_RESPONDED_ON_TIME = 37,
    ANALYTICS_RESPONDED_LATE = 38,
    ANALYTICS_CALLBACK_CLOCKS_DUE = 39, /* CALLBACK clocks (the callback after the reply) */
    ANALYTICS_CALLED_BACK_ON_TIME = 40,
    ANALYTICS_CALLED_BACK_LATE = 41,
    ANALYTICS_RETURN_REQUESTS = 42,  /* ReturnRequested: a unit asked to hand a ticket back */
    ANALYTICS_RETURNED = 43,         /* ReturnReviewed approved: the ticket went back (退单) */
    ANALYTICS_CLOSED_ON_TIME = 44,   /* TicketClosed with no reply of any round judged late */
    ANALYTICS_NCOUNTERS = 45
} analytics_counter_t;

/* Dimensions a counter is kept by. The letter is part of the stored key. */
typedef enum {
    ANALYTICS_DIM_NONE = 0,  /* "by" not given */
    ANALYTICS_DIM_ALL = 'a', /* the whole centre */
    ANALYTICS_DIM_UNIT = 'u',
    ANALYTICS_DIM_CATEGORY = 'c',
    ANALYTICS_DIM_DISTRICT = 'd',
    /* Pairs, for one dimension broken down within a value of another ("unit=billing&by=
     * category"): the value is "first" 0x1f "second", stored in both orders so either side
     * can be the filter (a prefix scan). */
    ANALYTICS_DIM_UNIT_CATEGORY = 'x',
    ANALYTICS_DIM_CATEGORY_UNIT = 'X',
    ANALYTICS_DIM_UNIT_DISTRICT = 'y',
    ANALYTICS_DIM_DISTRICT_UNIT = 'Y',
    ANALYTICS_DIM_CATEGORY_DISTRICT = 'z',
    ANALYTICS_DIM_DISTRICT_CATEGORY = 'Z',
} analytics_dim_t;

/* The periods counters are kept for: each local day (its day number), each local month
 * (ANALYTICS_MONTH_BASE + year * 12 + month - 1: a year's query reads 12 buckets, not 365
 * days), and all time (what /metrics shows). They sort in that order. */
#define ANALYTICS_MONTH_BASE ((int64_t)1 << 40)
#define ANALYTICS_ALL_TIME INT64_MAX

/* The month bucket of a local day number. */
int64_t analytics_month_of(int64_t day);

/* Days in one KPI query at most (five years). */
#define ANALYTICS_MAX_DAYS 1830

typedef struct analytics analytics_t;

typedef struct analytics_opts {
    const Hotline__CalendarConfig *calendar; /* only the zone matters; NULL = UTC+8 */
    bool basically_satisfied_counts;         /* "basically satisfied" counts as satisfied */
    hclock_t *clock;                         /* "today" for KPI defaults (required) */
    const Hotline__HotspotConfig *hotspots;  /* NULL or not enabled: no hotspot detection */
    evlog_t *log;                            /* where HotspotDetected goes (NULL: none) */
    bool rebuild;                            /* count everything again at open, logged */
} analytics_opts_t;

/* Check a hotspots block (bounds of each key); err names the key and the rule.
 * Errors: HL_EINVAL. */
int analytics_hotspot_check(const Hotline__HotspotConfig *h, char *err, size_t err_size);

/* Open the sub-databases (tickets, counters, timeline, verdicts, meta) in store, rebuilding the
 * counters when their stored layout is older than this version's. Call at start-up, before
 * any other transaction. err gets a message naming the key on a bad calendar.
 * Errors: HL_EINVAL (calendar), HL_ENOMEM, store errors. */
int analytics_open(analytics_t **out, store_t *store, const analytics_opts_t *opts, char *err,
                   size_t err_size);
void analytics_close(analytics_t **self);

/* Count everything again from the events analytics has kept (its timeline holds every event
 * of the four feeds from sequence 0): counters, verdicts and dimension records are emptied and
 * rebuilt in batches; progress (may be NULL) is called about once a second and at the end.
 * analytics_open does it by itself when the stored counters' layout is older than this
 * version's. Errors: store errors (the next start, seeing the old layout, rebuilds again). */
typedef struct analytics_rebuild_stats {
    uint64_t total;   /* events kept */
    uint64_t done;    /* events counted again so far */
    uint64_t skipped; /* timeline entries or records that could not be read (left out) */
    double seconds;   /* since the start */
} analytics_rebuild_stats_t;
typedef void (*analytics_progress_fn)(void *ctx, const analytics_rebuild_stats_t *st);
int analytics_rebuild(analytics_t *self, analytics_progress_fn progress, void *ctx,
                      analytics_rebuild_stats_t *out);

/* A feed_apply_fn (ctx = analytics_t *): count ev and add it to its ticket's timeline, inside
 * txn. Events without a ticket id, or already applied (same source and seq), change nothing.
 * Errors: store errors (HL_EFULL etc., the batch is retried). */
int analytics_apply(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* A feed_batch_end_fn (ctx = analytics_t *): the counter changes of the analytics_apply calls
 * since the last batch end are summed in memory, and written here, each counter key once,
 * inside txn; call it after a batch's last apply and before txn commits (the feed client
 * does, before it stores the cursor in the same transaction). Whatever happens, nothing is
 * pending afterwards. Errors: store errors (the batch is rolled back and retried). */
int analytics_batch_end(void *ctx, MDB_txn *txn);

/* Forget the pending counter changes: for a caller that aborts a transaction in which
 * analytics_apply succeeded, without analytics_batch_end (a failed apply forgets by itself). */
void analytics_batch_drop(analytics_t *self);

/* One stored counter: period is a local day number (calendar_local_day), a month bucket
 * (analytics_month_of) or ANALYTICS_ALL_TIME; value is "" for ANALYTICS_DIM_ALL, "a" 0x1f "b"
 * for a pair. Missing counters read 0. In the transaction of a batch being applied, the
 * batch's pending changes are included. */
int analytics_counter_get(analytics_t *self, MDB_txn *txn, int64_t period, analytics_dim_t dim,
                          const char *value, analytics_counter_t id, uint64_t *out);

/* The camelCase JSON name of a counter ("signedOnTime"). */
const char *analytics_counter_name(analytics_counter_t id);

/* ---- KPI queries (analytics_kpi.c) ---- */

typedef struct analytics_query {
    int64_t from_day, to_day; /* local day numbers, inclusive */
    analytics_dim_t by;       /* ANALYTICS_DIM_NONE: totals only */
    analytics_dim_t filter;   /* ANALYTICS_DIM_NONE, or unit / category / district: only the
                                 counts of filter_value */
    char filter_value[ANALYTICS_VALUE_MAX + 1];
} analytics_query_t;

typedef struct analytics_error {
    char field[32];    /* the query parameter at fault */
    char message[256]; /* the rule it broke and how to fix it */
} analytics_error_t;

/* Parse a raw query string (from=YYYY-MM-DD&to=YYYY-MM-DD&by=unit|category|district). A
 * missing end defaults to today (a local day number), or to the other end when today would
 * put to before from. Unknown parameters are refused.
 * Errors: HL_EINVAL (err names the parameter and the rule), HL_ENOMEM. */
int analytics_query_parse(const char *query, int64_t today, analytics_query_t *out,
                          analytics_error_t *err);

/* The KPI document for q: {"from","to","utcOffsetMinutes",["by"],"totals":{counts...,
 * "rates":{...}},"groups":[{"key",counts...,"rates"}]}. *out is a new reference.
 * Errors: store errors, HL_ENOMEM. */
int analytics_kpis(analytics_t *self, MDB_txn *txn, const analytics_query_t *q, json_t **out);

/* The local day number of "today" by the service clock. */
int64_t analytics_today(const analytics_t *self);

/* ---- the monthly report per unit (analytics_report.c) ---- */

typedef enum { ANALYTICS_REPORT_JSON = 0, ANALYTICS_REPORT_CSV = 1 } analytics_report_format_t;

typedef struct analytics_report {
    char month[8];                    /* "2026-11" */
    analytics_query_t period;         /* the month's local days, by unit */
    analytics_report_format_t format; /* json unless format=csv */
} analytics_report_t;

/* Parse month=YYYY-MM[&format=csv|json]; unknown parameters are refused.
 * Errors: HL_EINVAL (err names the parameter and the rule), HL_ENOMEM. */
int analytics_report_parse(const char *query, analytics_report_t *out, analytics_error_t *err);

/* The report as JSON: the KPI document of the month by unit (analytics_kpis: "totals" and one
 * "groups" entry per unit) with "month". *out is a new reference. Errors as analytics_kpis. */
int analytics_report_json(analytics_t *self, MDB_txn *txn, const analytics_report_t *r,
                          json_t **out);

/* The report as CSV (csvw: RFC 4180, CRLF): a header, one row per unit in unit order, then
 * the row "(total)" of the whole centre. Columns: unit, every counter in id order, the
 * derived counts (warnings, breached, satisfied), the rates with 4 decimals (empty without a
 * denominator), named as in GET /v1/kpis. *out is malloc'd (the caller frees).
 * Errors as analytics_kpis. */
int analytics_report_csv(analytics_t *self, MDB_txn *txn, const analytics_report_t *r,
                         char **out, size_t *len);

/* The label of the report's totals row. */
#define ANALYTICS_REPORT_TOTAL "(total)"

/* ---- timeline (analytics_timeline.c) ---- */

/* {"ticketId", "events": [proto3 JSON of each hotline.Event as analytics keeps it (without
 * free text and contact data: analytics_compact.c), in time order]}.
 * Errors: HL_ENOTFOUND (no event about this ticket), HL_ECORRUPT, store errors. */
int analytics_timeline(analytics_t *self, MDB_txn *txn, const char *ticket_id, json_t **out);

/* True when id is acceptable as a ticket id in a path (1-64 of [A-Za-z0-9._-]). */
bool analytics_ticket_id_valid(const char *id);

/* ---- business metrics (analytics_metrics.c) ---- */

/* Register the business counters in m (all series at 0) and load them from the store. */
int analytics_metrics_attach(analytics_t *self, metrics_t *m);

/* Bring the counters up to the all-time totals committed in the store (they only go up).
 * Called after every commit. */
int analytics_metrics_refresh(analytics_t *self);

#endif
