/* analytics' private parts, shared by analytics*.c only. */
#ifndef HOTLINE_ANALYTICS_INTERNAL_H
#define HOTLINE_ANALYTICS_INTERNAL_H

#include "analytics.h"
#include "bytes.h"


struct analytics {
    store_t *store;
    MDB_dbi tickets;          /* layout 3: ticket id -> dimensions (emptied by the rebuild) */
    MDB_dbi counters;         /* day + dim + value + counter -> u64 (big-endian) */
    MDB_dbi timeline;         /* ticket id -> dimensions + compact events (layout 4) */
    MDB_dbi verdicts;         /* ticket id + clock + round -> how it was counted */
    MDB_dbi meta;             /* "layout" -> the counters' layout version (be64) */
    calendar_t *cal;          /* the centre's zone: periods are its local days */
    hclock_t *clock;          /* "today" (not owned) */
    bool basically_satisfied; /* satisfaction policy switch (docs/domain.md KPIs) */
    /* Business metrics: families and the totals already added to them. */
    metrics_t *metrics;
    metric_t *m_tickets, *m_clocks, *m_callbacks, *m_ratings, *m_resolved, *m_rework;
    metric_t *m_known_tickets, *m_timeline_events;
    uint64_t shown[ANALYTICS_NCOUNTERS];
    struct tl_rec *rec;       /* the record being applied (reused) */
    uint64_t tl_added;        /* events added to timelines in the batch being applied */
    /* The counter changes of the batch being applied, one entry per counter key, written once
     * each by analytics_batch_end (analytics_store.c). */
    struct {
        struct analytics_pending *e; /* entries, in first-touched order */
        size_t n, cap;
        uint32_t *slots;             /* open addressing: entry index + 1, 0 empty */
        size_t nslots;               /* a power of two, at least 2 x cap */
        uint8_t *keys;               /* the entries' keys, back to back */
        size_t keys_len, keys_cap;
        MDB_txn *txn;                /* the transaction they belong to */
    } pend;
    /* Hotspot detection (analytics_hotspot.c), from the hotspots config block. */
    struct {
        bool on;             /* enabled, and there is a log to raise on */
        evlog_t *log;        /* analytics' own log (not owned): HotspotDetected goes there */
        MDB_dbi keys;        /* view + prefix + area or cell -> the key's window / baseline */
        MDB_dbi window;      /* key NUL be64 ms ticket id -> district NUL street NUL community */
        int64_t window_ms;   /* the sliding window, event time */
        uint32_t min_count;  /* the threshold's floor */
        double factor;       /* the threshold over the baseline */
        double half_life_ms; /* the baseline's */
        int64_t cooldown_ms; /* a raised key stays quiet at least this long */
        uint32_t grid_m;     /* grid cell side; 0: no grid view */
        uint32_t prefix_chars;
    } hs;
};

/* The per-ticket dimension record. */
#define ANALYTICS_FLAG_RECEIVED 0x01   /* counted as received */
#define ANALYTICS_FLAG_DISPATCHED 0x02 /* counted as dispatched (first round-0 dispatch) */

typedef struct analytics_ticket {
    uint8_t flags;
    int64_t received_ms; /* 0 until TicketReceived is seen */
    char category[ANALYTICS_VALUE_MAX + 1];
    char district[ANALYTICS_VALUE_MAX + 1];
    char unit[ANALYTICS_VALUE_MAX + 1];
} analytics_ticket_t;

/* ---- analytics_compact.c: a ticket's record in memory (analytics_timeline.c stores it) ---- */


typedef struct tl_rec {
    analytics_ticket_t t; /* the ticket's dimensions */
    int64_t base_ms;      /* the first event's time: the events' times are kept from it */
    uint32_t *off;        /* the string table: offsets in strs, lengths (<= 255) */
    uint8_t *len;
    size_t nstr, cap;
    bytebuf_t strs;
    bytebuf_t evs;         /* the events: (varint length | compact event)* */
    size_t stored;        /* the stored value's size (room included), 0 for a new record */
    bytebuf_t scratch;     /* one event being encoded */
} tl_rec_t;

/* An event's header, its source pointing into the record or a constant. */
typedef struct tl_head {
    uint32_t kind; /* the body case */
    uint64_t seq;
    int64_t time_ms;
    const char *source;
    size_t source_len;
} tl_head_t;

int tl_get_varint(const uint8_t *p, size_t n, size_t *at, uint64_t *out);
uint64_t tl_zigzag(int64_t v);
int64_t tl_unzigzag(uint64_t v);
void tl_rec_reset(tl_rec_t *r);
void tl_rec_fini(tl_rec_t *r);
/* String i of the table (not NUL-terminated). */
const char *tl_rec_str(const tl_rec_t *r, size_t i, size_t *n);
/* The index of s (cut to 255 bytes) in the table, added when missing. */
int tl_rec_intern(tl_rec_t *r, const char *s, size_t n, uint64_t *index);
/* s (at most 255 bytes) added to the table as its last string, without looking for it. */
int tl_rec_push(tl_rec_t *r, const char *s, size_t n, uint64_t *index);
/* ev, compacted, after the record's events (built from ev as decoded: no packing). */
int tl_rec_append(tl_rec_t *r, const Hotline__Event *ev);
/* The event at *at of the record's events (moves *at past it). */
int tl_rec_next(const tl_rec_t *r, size_t *at, const uint8_t **p, size_t *n);
int tl_event_head(const tl_rec_t *r, const uint8_t *p, size_t n, tl_head_t *h, size_t *body_at);
/* A malloc'd Event (hotline__event__free_unpacked) of ticket_id from one compact event. */
int tl_event_decode(const tl_rec_t *r, const uint8_t *p, size_t n, const char *ticket_id,
                    Hotline__Event **out);

/* ---- analytics_timeline.c: the timeline sub-database ---- */

/* meta: how many events the timelines hold (be64; written at each batch's end). */
#define ANALYTICS_EVENTS_KEY "timeline_events"

/* Parse a stored record value into r (HL_ECORRUPT when it is not one). */
int analytics_record_parse(tl_rec_t *r, const uint8_t *v, size_t n);
/* r as a stored value, after out's bytes. */
int analytics_record_encode(tl_rec_t *r, bytebuf_t *out);
/* Store r as ticket id's record. */
int analytics_record_put(analytics_t *self, MDB_txn *txn, const char *id, size_t id_len,
                         tl_rec_t *r);
/* Whether the record holds the event (source, seq). */
int analytics_record_has(const tl_rec_t *r, const char *source, uint64_t seq, bool *has);
/* A key of the timeline: the ticket id it belongs to (*old: a layout-3 entry, one event). */
int analytics_timeline_key(const MDB_val *key, size_t *id_len, bool *old);
/* The events of the ticket in r in time order (time, source, seq): *out malloc'd, each
 * event freed with hotline__event__free_unpacked. */
int analytics_record_events(const tl_rec_t *r, const char *ticket_id, Hotline__Event ***out,
                            size_t *n);
/* delta on one counter; value as analytics_counter_get's (a pair: "a" 0x1f "b", each side cut
 * to ANALYTICS_VALUE_MAX by the caller). Kept in memory until analytics_batch_end writes it
 * inside txn (analytics_counter_get in txn sees it before). Errors: HL_ENOMEM. */
int analytics_counter_add(analytics_t *self, MDB_txn *txn, int64_t period, analytics_dim_t dim,
                          const char *value, analytics_counter_t id, int64_t delta);
/* Free the pending counter changes' memory (analytics_close). */
void analytics_pending_fini(analytics_t *self);
/* analytics_rebuild.c: rebuild when the stored layout is older than this version's, or when
 * asked (force), with logged progress; a new store is marked current. */
int analytics_layout_check(analytics_t *self, bool force);

/* analytics_apply.c: an event's counts and dimension record (not its timeline entry): the
 * part of analytics_apply a rebuild runs again. */
int analytics_count(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev,
                    analytics_ticket_t *t);

/* delta on counter id for day, for the whole centre and for each known dimension value (the
 * all-time totals only go up: a negative delta leaves them). */
int analytics_add_everywhere(analytics_t *self, MDB_txn *txn, int64_t day, analytics_counter_t id,
                             int64_t delta, const char *unit, const char *category,
                             const char *district);
/* analytics_verdict.c: SlaClockStopped / SlaBreached -> the clock's on-time or late count in
 * the period where it was decided, once per clock. t: the ticket's dimensions. */
int analytics_verdict(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev,
                      const analytics_ticket_t *t);
/* TicketClosed: closedOnTime on day when no reply of the ticket (any round) was judged late. */
int analytics_closure(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev,
                      const analytics_ticket_t *t, int64_t day);

/* Visit the counters of one period and dimension whose value starts with prefix (NULL or ""
 * for all values; "v" 0x1f for the pairs of v; "v" 0x00 for v alone): fn(ctx, value, id,
 * count), value with the prefix removed. */
typedef void (*analytics_counter_visit_fn)(void *ctx, const char *value, unsigned id,
                                           uint64_t count);
int analytics_counters_scan(analytics_t *self, MDB_txn *txn, int64_t period, analytics_dim_t dim,
                            const char *prefix, size_t prefix_len,
                            analytics_counter_visit_fn fn, void *ctx);

/* Copy src into dst (size ANALYTICS_VALUE_MAX + 1), cut at a UTF-8 character boundary. */
void analytics_value_copy(char *dst, const char *src);

/* analytics_query.c: "unit", "category", "district" ("" for others). */
const char *analytics_dim_name(analytics_dim_t dim);

/* analytics_query.c: fill err (field, then the message from fmt, both cut to printable ASCII:
 * they may quote what the client sent) and return HL_EINVAL. */
int analytics_refuse(analytics_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- analytics_kpi.c: adding up a period, and the figures derived from the counts (shared
 * by GET /v1/kpis and the monthly report) ---- */

/* One dimension value's counts over a period. */
typedef struct analytics_group {
    char *key; /* the unit, category or district (owned) */
    uint64_t c[ANALYTICS_NCOUNTERS];
} analytics_group_t;

typedef struct analytics_sums {
    uint64_t total[ANALYTICS_NCOUNTERS]; /* the whole centre */
    analytics_group_t *groups;           /* per value of q->by, sorted by key */
    size_t ngroups;
    size_t cap;  /* groups allocated */
    size_t last; /* the group found last: consecutive keys usually share it */
    int rc;      /* the first error while adding */
} analytics_sums_t;

/* Add up the counters of q's days (the totals, and per value of q->by unless NONE) into
 * *out; free with analytics_sums_fini (nothing to free after an error).
 * Errors: HL_ETOOBIG (more distinct values than one answer holds), HL_ENOMEM, store errors. */
int analytics_sum(analytics_t *self, MDB_txn *txn, const analytics_query_t *q,
                  analytics_sums_t *out);
void analytics_sums_fini(analytics_sums_t *s);

/* Counts derived from others, after the counters in every answer; never renumber. */
typedef enum {
    ANALYTICS_WARNINGS = 0,  /* sign + reply warnings */
    ANALYTICS_BREACHED = 1,  /* sign + reply breaches */
    ANALYTICS_SATISFIED = 2, /* by the policy switch (analytics_satisfied) */
    ANALYTICS_NDERIVED = 3
} analytics_derived_t;

/* The rates, in the order every answer gives them (docs/domain.md "KPIs"). */
typedef enum {
    ANALYTICS_ON_TIME_SIGN_RATE = 0,
    ANALYTICS_ON_TIME_REPLY_RATE,
    ANALYTICS_RESPONSE_RATE,
    ANALYTICS_ON_TIME_CALLBACK_RATE,
    ANALYTICS_CALLBACK_RATE,
    ANALYTICS_SATISFACTION_RATE,
    ANALYTICS_RESOLUTION_RATE,
    ANALYTICS_REWORK_RATE,
    ANALYTICS_DIRECT_ANSWER_RATE,
    ANALYTICS_REPEAT_CALL_RATE,
    ANALYTICS_RETURN_RATE,
    ANALYTICS_ON_TIME_CLOSURE_RATE,
    ANALYTICS_NRATES
} analytics_rate_id_t;

typedef struct analytics_ratio {
    uint64_t num, den; /* den 0: no rate (nothing to measure in the period) */
} analytics_ratio_t;

/* Every figure of one block (the totals or a group). */
typedef struct analytics_figures {
    uint64_t count[ANALYTICS_NCOUNTERS];
    uint64_t derived[ANALYTICS_NDERIVED];
    analytics_ratio_t rate[ANALYTICS_NRATES];
} analytics_figures_t;

void analytics_figures(const analytics_t *self, const uint64_t c[ANALYTICS_NCOUNTERS],
                       analytics_figures_t *out);
/* The camelCase names answers use ("warnings", "onTimeSignRate"). */
const char *analytics_derived_name(analytics_derived_t id);
const char *analytics_rate_name(analytics_rate_id_t id);

/* analytics_hotspot.c: open the hotspot sub-databases (nothing when cfg is NULL or disabled,
 * or log is NULL); count one event (a new ticket) and raise HotspotDetected on the log inside
 * txn when a key crosses its threshold. Store errors only. */
int analytics_hotspot_open(analytics_t *self, const Hotline__HotspotConfig *cfg, evlog_t *log);
int analytics_hotspot_apply(analytics_t *self, MDB_txn *txn, const Hotline__Event *ev);

/* analytics_http.c: GET /v1/kpis, GET /v1/reports/monthly and GET /v1/tickets/{id}/timeline. */
int analytics_http_routes(analytics_t *self, service_t *svc);

/* "satisfied" under the policy switch, from the per-rating counts. */
uint64_t analytics_satisfied(const analytics_t *self, const uint64_t c[ANALYTICS_NCOUNTERS]);

#endif
