/* connector: the queue, its leases, outcomes and dead letters. Loop thread.
 * The transfers themselves are in connector_curl.c. */
#include "connector_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ATTEMPTS_DEFAULT 8
#define BACKOFF_FIRST_DEFAULT 1000
#define BACKOFF_CAP_DEFAULT 300000
#define TIMEOUT_DEFAULT 10000
#define LEASE_MARGIN_DEFAULT 5000
#define MAX_IN_FLIGHT_DEFAULT 32
#define MAX_BODY_DEFAULT (1u << 20)
#define HOLD_FACTOR 4 /* leased requests held in memory per slot */
/* An entry that fires while the connector holds all it may waits for the time a hold takes
 * to drain (HOLD_FACTOR x the mean request time, within these bounds), times its place among
 * the entries deferred since the last commit, counted in holds. */
#define DEFER_MIN_MS 10
#define DEFER_MAX_MS 2000

static const double DELIVERY_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                          2.5,   5,    10,    30,   60,  300,  900, 3600};

/* ---- the stored record ------------------------------------------------------------------
 * One encoding for queued and dead deliveries, big-endian:
 *   u8 version (1), u8 content type length, u16 error length, u32 attempts,
 *   i64 enqueued_ms, i64 dead_ms (0 while queued), u32 body length,
 *   content type, last error, body. */

#define REC_VERSION 1
#define REC_HEAD 28

typedef struct rec {
    unsigned attempts;
    int64_t enqueued_ms, dead_ms;
    const char *ctype;
    size_t ctype_len;
    const char *error;
    size_t error_len;
    const void *body;
    size_t body_len;
} rec_t;

static void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t rec_size(const rec_t *r)
{
    return REC_HEAD + r->ctype_len + r->error_len + r->body_len;
}

/* Pack r into a new buffer (caller frees); NULL on ENOMEM. */
static uint8_t *rec_pack(const rec_t *r, size_t *len)
{
    *len = rec_size(r);
    uint8_t *p = malloc(*len);
    if (!p)
        return NULL;
    p[0] = REC_VERSION;
    p[1] = (uint8_t)r->ctype_len;
    p[2] = (uint8_t)(r->error_len >> 8);
    p[3] = (uint8_t)r->error_len;
    be32_put(p + 4, r->attempts);
    store_be64_put(p + 8, (uint64_t)r->enqueued_ms);
    store_be64_put(p + 16, (uint64_t)r->dead_ms);
    be32_put(p + 24, (uint32_t)r->body_len);
    uint8_t *w = p + REC_HEAD;
    memcpy(w, r->ctype, r->ctype_len);
    w += r->ctype_len;
    if (r->error_len)
        memcpy(w, r->error, r->error_len);
    w += r->error_len;
    if (r->body_len)
        memcpy(w, r->body, r->body_len);
    return p;
}

/* r points into p: valid as long as p is. */
static int rec_unpack(const void *data, size_t len, rec_t *r)
{
    const uint8_t *p = data;
    if (len < REC_HEAD || p[0] != REC_VERSION)
        return HL_ECORRUPT;
    r->ctype_len = p[1];
    r->error_len = (size_t)p[2] << 8 | p[3];
    r->attempts = be32_get(p + 4);
    r->enqueued_ms = (int64_t)store_be64_get(p + 8);
    r->dead_ms = (int64_t)store_be64_get(p + 16);
    r->body_len = be32_get(p + 24);
    if (REC_HEAD + r->ctype_len + r->error_len + r->body_len != len)
        return HL_ECORRUPT;
    r->ctype = (const char *)p + REC_HEAD;
    r->error = r->ctype + r->ctype_len;
    r->body = r->error + r->error_len;
    return 0;
}

void conn_req_body(const conn_req_t *q, const void **body, size_t *len, const char **ctype,
                   size_t *ctype_len)
{
    rec_t r;
    rec_unpack(q->record, q->record_len, &r); /* checked when the entry fired */
    *body = r.body;
    *len = r.body_len;
    *ctype = r.ctype;
    *ctype_len = r.ctype_len;
}

/* ---- requests in memory ---- */

static void req_link(conn_req_t **head, conn_req_t *q)
{
    q->prev = NULL;
    q->next = *head;
    if (*head)
        (*head)->prev = q;
    *head = q;
}

static void req_unlink(conn_req_t **head, conn_req_t *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        *head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

static conn_req_t *req_find(conn_req_t *head, const void *key, size_t key_len)
{
    for (; head; head = head->next)
        if (head->key_len == key_len && memcmp(head->key, key, key_len) == 0)
            return head;
    return NULL;
}

static void req_free(conn_req_t *q)
{
    if (!q)
        return;
    free(q->record);
    free(q);
}

static void flight_gauge(connector_t *self)
{
    self->stats.in_flight = self->nflight;
    self->stats.running = self->nrunning;
    if (self->m_flight)
        metric_set(self->m_flight, (const char *const[]){self->name}, self->nflight);
}

/* ---- firing: lease, then send after the commit ---- */

static int on_fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    connector_t *self = ctx;
    rec_t r;
    if (rec_unpack(e->payload, e->payload_len, &r) != 0) {
        char key[CONNECTOR_KEY_MAX + 1];
        snprintf(key, sizeof key, "%.*s", (int)e->id_len, (const char *)e->id);
        SLOG_ERROR("connector_record_corrupt", "connector=%s key=%s next=\"dropped\"", self->name,
                   SLOG_Q(key));
        return 0; /* removed with the pass: a record that does not decode cannot be sent */
    }
    if (self->stopped) /* the last pass, run by the txq after connector_stop: not sent now */
        return scheduler_put(self->sched, txn, e->id, e->id_len, e->due_ms, e->payload,
                             e->payload_len);
    int64_t now = hclock_now_ms(self->clock);
    int64_t lease = now + (int64_t)self->opts.timeout_ms + (int64_t)self->opts.lease_margin_ms;
    if (req_find(self->flight, e->id, e->id_len)) /* still on the wire: only extend the lease */
        return scheduler_put(self->sched, txn, e->id, e->id_len, lease, e->payload, e->payload_len);
    conn_req_t *q = req_find(self->staged, e->id, e->id_len); /* a batch applied again */
    unsigned hold = HOLD_FACTOR * self->opts.max_in_flight;
    if (!q && self->nflight + self->nstaged >= hold) {
        /* Spread what cannot be held over later passes, a hold's worth each, instead of
         * moving the whole backlog to one instant and back on every pass. */
        self->stats.deferred++;
        double drain = self->mean_request_ms * HOLD_FACTOR;
        int64_t step = drain < DEFER_MIN_MS   ? DEFER_MIN_MS
                       : drain > DEFER_MAX_MS ? DEFER_MAX_MS
                                              : (int64_t)drain;
        int64_t wait = step * (1 + (int64_t)(self->deferred_since_commit++ / hold));
        return scheduler_put(self->sched, txn, e->id, e->id_len, now + wait, e->payload,
                             e->payload_len);
    }
    int rc = scheduler_put(self->sched, txn, e->id, e->id_len, lease, e->payload, e->payload_len);
    if (rc)
        return rc;
    uint8_t *copy = malloc(e->payload_len);
    if (!copy)
        return HL_ENOMEM;
    memcpy(copy, e->payload, e->payload_len);
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q) {
            free(copy);
            return HL_ENOMEM;
        }
        q->conn = self;
        memcpy(q->key, e->id, e->id_len);
        q->key_len = e->id_len;
        req_link(&self->staged, q);
        self->nstaged++;
    }
    free(q->record);
    q->record = copy;
    q->record_len = e->payload_len;
    q->lease_ms = lease;
    q->attempts = r.attempts + 1;
    q->enqueued_ms = r.enqueued_ms;
    return 0;
}

static void refresh_dead_gauge(connector_t *self)
{
    self->dead_dirty = false;
    if (!self->m_dead)
        return;
    MDB_txn *txn;
    uint64_t n = 0;
    if (store_read_begin(self->store, &txn) != 0)
        return;
    if (store_count(txn, self->dead, &n) == 0)
        metric_set(self->m_dead, (const char *const[]){self->name}, (double)n);
    store_read_end(&txn);
}

static conn_req_t *queue_pop(connector_t *self)
{
    conn_req_t *q = self->queue;
    if (q) {
        self->queue = q->qnext;
        if (!self->queue)
            self->queue_tail = NULL;
        q->qnext = NULL;
    }
    return q;
}

/* Start held requests while slots are free. */
static void send_queued(connector_t *self)
{
    while (self->nrunning < self->opts.max_in_flight && self->queue) {
        conn_req_t *q = queue_pop(self);
        int rc = conn_curl_send(self, q);
        if (rc) {
            char at[32];
            hclock_format_utc(q->lease_ms, at, sizeof at);
            SLOG_WARN("connector_send_failed", "connector=%s key=%s reason=%s next=\"retry at %s\"",
                      self->name, SLOG_Q(q->key), SLOG_Q(hl_strerror(rc)), at);
            req_unlink(&self->flight, q);
            self->nflight--;
            req_free(q);
            continue;
        }
        q->started_ns = hclock_mono_ns();
        self->nrunning++;
        self->stats.started++;
    }
    flight_gauge(self);
}

/* After every commit: send what the committed passes leased. A staged request whose lease is
 * not in the store belongs to a pass that was rolled back: its entry fires again later. */
static void on_commit(void *ctx)
{
    connector_t *self = ctx;
    self->deferred_since_commit = 0;
    if (self->dead_dirty)
        refresh_dead_gauge(self);
    if (!self->staged)
        return;
    MDB_txn *txn = NULL;
    int rc = store_read_begin(self->store, &txn);
    while (self->staged) {
        conn_req_t *q = self->staged;
        req_unlink(&self->staged, q);
        self->nstaged--;
        int64_t due = 0;
        if (rc || scheduler_due(self->sched, txn, q->key, q->key_len, &due) != 0 ||
            due != q->lease_ms) {
            req_free(q);
            continue;
        }
        req_link(&self->flight, q);
        self->nflight++;
        q->qnext = NULL;
        if (self->queue_tail)
            self->queue_tail->qnext = q;
        else
            self->queue = q;
        self->queue_tail = q;
    }
    if (txn)
        store_read_end(&txn);
    send_queued(self);
}

/* ---- outcomes ---- */

static unsigned backoff_ms(const connector_t *self, unsigned attempts)
{
    uint64_t d = self->opts.backoff_first_ms;
    for (unsigned i = 1; i < attempts && d < self->opts.backoff_cap_ms; i++)
        d *= 2;
    if (d > self->opts.backoff_cap_ms)
        d = self->opts.backoff_cap_ms;
    /* Equal jitter: half fixed, half random, so that many deliveries that failed together
     * (the receiver went down) do not come back together. */
    uint32_t half = (uint32_t)(d / 2);
    return half + randombytes_uniform(half + 1) + (uint32_t)(d & 1);
}

static conn_req_t *of_item(txq_item_t *item)
{
    return (conn_req_t *)((char *)item - offsetof(conn_req_t, item));
}

static int outcome_apply(txq_item_t *item, MDB_txn *txn)
{
    conn_req_t *q = of_item(item);
    connector_t *self = q->conn;
    int64_t due;
    int rc = scheduler_due(self->sched, txn, q->key, q->key_len, &due);
    q->outcome = CONN_OUT_GONE;
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (q->ok) {
        q->outcome = CONN_OUT_DELIVERED;
        return scheduler_cancel(self->sched, txn, q->key, q->key_len);
    }
    rec_t r;
    if (rec_unpack(q->record, q->record_len, &r) != 0)
        return HL_EINTERNAL;
    int64_t now = hclock_now_ms(self->clock);
    r.attempts = q->attempts;
    r.error = q->error;
    r.error_len = strlen(q->error);
    bool dead = q->attempts >= self->opts.max_attempts;
    if (dead)
        r.dead_ms = now;
    size_t len;
    uint8_t *packed = rec_pack(&r, &len);
    if (!packed)
        return HL_ENOMEM;
    if (dead) {
        rc = scheduler_cancel(self->sched, txn, q->key, q->key_len);
        if (!rc)
            rc = store_put(txn, self->dead, q->key, q->key_len, packed, len, 0);
        self->dead_dirty = true;
        q->outcome = CONN_OUT_DEAD;
    } else {
        q->next_ms = now + backoff_ms(self, q->attempts);
        rc = scheduler_put(self->sched, txn, q->key, q->key_len, q->next_ms, packed, len);
        q->outcome = CONN_OUT_RETRY;
    }
    free(packed);
    return rc;
}

static void sent_inc(connector_t *self, const char *outcome)
{
    if (self->m_sent)
        metric_inc(self->m_sent, (const char *const[]){self->name, outcome});
}

static void outcome_done(txq_item_t *item, int rc)
{
    conn_req_t *q = of_item(item);
    connector_t *self = q->conn;
    char at[32];
    if (rc) {
        hclock_format_utc(q->lease_ms, at, sizeof at);
        SLOG_WARN("connector_outcome_not_stored",
                  "connector=%s key=%s delivered=%d reason=%s next=\"sent again at %s\"",
                  self->name, SLOG_Q(q->key), q->ok, SLOG_Q(hl_strerror(rc)), at);
    } else if (q->outcome == CONN_OUT_DELIVERED) {
        self->stats.delivered++;
        sent_inc(self, "delivered");
        double s = (double)(hclock_now_ms(self->clock) - q->enqueued_ms) / 1000.0;
        if (self->m_latency)
            metric_observe(self->m_latency, (const char *const[]){self->name}, s < 0 ? 0 : s);
        SLOG_DEBUG("connector_delivered", "connector=%s key=%s attempts=%u", self->name,
                   SLOG_Q(q->key), q->attempts);
    } else if (q->outcome == CONN_OUT_RETRY) {
        self->stats.retried++;
        sent_inc(self, "retried");
        hclock_format_utc(q->next_ms, at, sizeof at);
        SLOG_WARN("connector_send_failed",
                  "connector=%s key=%s attempt=%u max_attempts=%u reason=%s next=\"retry at %s\"",
                  self->name, SLOG_Q(q->key), q->attempts, self->opts.max_attempts,
                  SLOG_Q(q->error), at);
    } else if (q->outcome == CONN_OUT_DEAD) {
        self->stats.dead++;
        sent_inc(self, "dead");
        SLOG_ERROR("connector_dead_letter",
                   "connector=%s key=%s attempts=%u reason=%s next=\"kept as a dead letter until "
                   "replayed\"",
                   self->name, SLOG_Q(q->key), q->attempts, SLOG_Q(q->error));
    }
    req_unlink(&self->flight, q);
    self->nflight--;
    flight_gauge(self);
    req_free(q);
}

void conn_req_finished(connector_t *self, conn_req_t *q)
{
    self->nrunning--;
    double ms = (double)(hclock_mono_ns() - q->started_ns) / 1e6;
    self->mean_request_ms = 0.8 * self->mean_request_ms + 0.2 * ms;
    q->item.apply = outcome_apply;
    q->item.done = outcome_done;
    txq_submit(self->txq, &q->item);
    send_queued(self);
}

void conn_req_aborted(connector_t *self, conn_req_t *q, bool running)
{
    if (running)
        self->nrunning--;
    SLOG_INFO("connector_send_aborted", "connector=%s key=%s next=\"sent again after restart\"",
              self->name, SLOG_Q(q->key));
    req_unlink(&self->flight, q);
    self->nflight--;
    req_free(q);
}

/* ---- the API ---- */

static bool key_ok(const char *key, size_t len)
{
    if (!key || len < 1 || len > CONNECTOR_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return true;
}

static bool text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

int connector_enqueue(connector_t *self, MDB_txn *txn, const char *key, size_t key_len,
                      const void *body, size_t len, const char *content_type)
{
    if (!key_ok(key, key_len) || !text_ok(content_type, 127) || (len && !body))
        return HL_EINVAL;
    if (len > self->opts.max_body_bytes)
        return HL_ETOOBIG;
    int64_t due;
    int rc = scheduler_due(self->sched, txn, key, key_len, &due);
    if (rc == 0)
        return HL_EEXIST;
    if (rc != HL_ENOTFOUND)
        return rc;
    MDB_val v;
    rc = store_get(txn, self->dead, key, key_len, &v);
    if (rc == 0)
        return HL_EEXIST;
    if (rc != HL_ENOTFOUND)
        return rc;
    int64_t now = hclock_now_ms(self->clock);
    rec_t r = {.enqueued_ms = now,
               .ctype = content_type,
               .ctype_len = strlen(content_type),
               .body = body,
               .body_len = len};
    size_t plen;
    uint8_t *packed = rec_pack(&r, &plen);
    if (!packed)
        return HL_ENOMEM;
    rc = scheduler_put(self->sched, txn, key, key_len, now, packed, plen);
    free(packed);
    return rc;
}

typedef struct dead_walk {
    connector_dead_fn fn;
    void *ctx;
} dead_walk_t;

static int dead_visit(void *ctx, const store_entry_t *e)
{
    dead_walk_t *w = ctx;
    rec_t r;
    if (rec_unpack(e->val.mv_data, e->val.mv_size, &r) != 0)
        return HL_ECORRUPT;
    connector_dead_t d = {
        .key = e->key.mv_data,
        .key_len = e->key.mv_size,
        .content_type = r.ctype,
        .content_type_len = r.ctype_len,
        .body = r.body,
        .body_len = r.body_len,
        .last_error = r.error,
        .last_error_len = r.error_len,
        .attempts = r.attempts,
        .enqueued_ms = r.enqueued_ms,
        .dead_ms = r.dead_ms,
    };
    return w->fn(w->ctx, &d);
}

int connector_dead_list(connector_t *self, MDB_txn *txn, connector_dead_fn fn, void *ctx)
{
    if (!fn)
        return HL_EINVAL;
    dead_walk_t w = {fn, ctx};
    return store_scan(txn, self->dead, NULL, dead_visit, &w);
}

int connector_dead_replay(connector_t *self, MDB_txn *txn, const char *key, size_t key_len)
{
    if (!key_ok(key, key_len))
        return HL_EINVAL;
    MDB_val v;
    int rc = store_get(txn, self->dead, key, key_len, &v);
    if (rc)
        return rc;
    rec_t r;
    if (rec_unpack(v.mv_data, v.mv_size, &r) != 0)
        return HL_ECORRUPT;
    int64_t now = hclock_now_ms(self->clock);
    r.attempts = 0;
    r.dead_ms = 0;
    r.enqueued_ms = now;
    size_t plen;
    uint8_t *packed = rec_pack(&r, &plen); /* copies out of the page before it is deleted */
    if (!packed)
        return HL_ENOMEM;
    rc = store_del(txn, self->dead, key, key_len);
    if (!rc)
        rc = scheduler_put(self->sched, txn, key, key_len, now, packed, plen);
    free(packed);
    self->dead_dirty = true;
    return rc;
}

int connector_dead_count(connector_t *self, MDB_txn *txn, uint64_t *n)
{
    return store_count(txn, self->dead, n);
}

const connector_stats_t *connector_stats(const connector_t *self)
{
    return &self->stats;
}

/* ---- life cycle ---- */

static int check_opts(const connector_opts_t *o)
{
    const char *bad = NULL;
    size_t n = o && o->name ? strlen(o->name) : 0;
    if (!o)
        bad = "opts";
    else if (n < 1 || n > CONNECTOR_NAME_MAX ||
             strspn(o->name, "abcdefghijklmnopqrstuvwxyz"
                             "0123456789_") != n)
        bad = "name: 1..24 of [a-z0-9_]";
    else if (!o->url || (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8)))
        bad = "url: http:// or https://";
    else if (!text_ok(o->url, 2048))
        bad = "url: printable ASCII, at most 2048 bytes";
    else if (!o->hmac_key || o->hmac_key_len < 16)
        bad = "hmac_key: at least 16 bytes";
    else if (o->backoff_first_ms && o->backoff_cap_ms && o->backoff_cap_ms < o->backoff_first_ms)
        bad = "backoff_cap_ms: at least backoff_first_ms";
    if (bad)
        SLOG_ERROR("connector_bad_option", "connector=%s reason=%s", o && o->name ? o->name : "",
                   SLOG_Q(bad));
    return bad ? HL_EINVAL : 0;
}

static void set_defaults(connector_opts_t *o)
{
    o->max_attempts = o->max_attempts ? o->max_attempts : MAX_ATTEMPTS_DEFAULT;
    o->backoff_first_ms = o->backoff_first_ms ? o->backoff_first_ms : BACKOFF_FIRST_DEFAULT;
    o->backoff_cap_ms = o->backoff_cap_ms ? o->backoff_cap_ms : BACKOFF_CAP_DEFAULT;
    if (o->backoff_cap_ms < o->backoff_first_ms)
        o->backoff_cap_ms = o->backoff_first_ms;
    o->timeout_ms = o->timeout_ms ? o->timeout_ms : TIMEOUT_DEFAULT;
    o->lease_margin_ms = o->lease_margin_ms ? o->lease_margin_ms : LEASE_MARGIN_DEFAULT;
    o->max_in_flight = o->max_in_flight ? o->max_in_flight : MAX_IN_FLIGHT_DEFAULT;
    o->max_body_bytes = o->max_body_bytes ? o->max_body_bytes : MAX_BODY_DEFAULT;
}

static void register_metrics(connector_t *self, metrics_t *m)
{
    if (!m)
        return;
    self->m_sent = metrics_counter(m, "hotline_connector_sent_total",
                                   "Outbound deliveries by outcome: delivered (2xx), retried "
                                   "(failed, rescheduled), dead (failed max attempts).",
                                   "connector,outcome");
    self->m_dead = metrics_gauge(m, "hotline_connector_dead_letters",
                                 "Deliveries kept as dead letters until replayed.", "connector");
    self->m_flight = metrics_gauge(m, "hotline_connector_in_flight",
                                   "Deliveries held leased: waiting for a slot, on the wire, or "
                                   "recording the outcome.",
                                   "connector");
    self->m_latency = metrics_histogram(
        m, "hotline_connector_delivery_seconds", "From enqueue to the 2xx answer.", "connector",
        DELIVERY_BUCKETS, sizeof DELIVERY_BUCKETS / sizeof *DELIVERY_BUCKETS);
    for (const char *const *o = (const char *const[]){"delivered", "retried", "dead", NULL}; *o;
         o++)
        metric_add(self->m_sent, (const char *const[]){self->name, *o}, 0);
    flight_gauge(self);
}

int connector_create(connector_t **out, uv_loop_t *loop, store_t *store, txq_t *txq,
                     hclock_t *clock, const connector_opts_t *opts)
{
    *out = NULL;
    int rc = check_opts(opts);
    if (rc)
        return rc;
    if (sodium_init() < 0)
        return HL_EIO;
    connector_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    *self = (connector_t){.loop = loop, .store = store, .txq = txq, .clock = clock, .opts = *opts};
    set_defaults(&self->opts);
    self->mean_request_ms = 5; /* a first guess, soon replaced by what is measured */
    snprintf(self->name, sizeof self->name, "%s", opts->name);
    self->opts.name = self->name;
    self->url = strdup(opts->url);
    self->hmac_key = malloc(opts->hmac_key_len);
    if (!self->url || !self->hmac_key) {
        rc = HL_ENOMEM;
        goto fail;
    }
    memcpy(self->hmac_key, opts->hmac_key, opts->hmac_key_len);
    self->opts.url = self->url;
    self->opts.hmac_key = self->hmac_key;
    char db[64];
    snprintf(db, sizeof db, "connector.%s", self->name);
    scheduler_opts_t so = {.name = db, .fire = on_fire, .ctx = self, .metrics = opts->metrics};
    rc = scheduler_create(&self->sched, loop, store, txq, clock, &so);
    snprintf(db, sizeof db, "connector.%s.dead", self->name);
    if (!rc)
        rc = store_db(store, db, 0, &self->dead);
    if (!rc)
        rc = conn_curl_open(self);
    if (!rc)
        rc = txq_on_commit(txq, on_commit, self);
    if (rc)
        goto fail;
    self->listening = true;
    register_metrics(self, opts->metrics);
    *out = self;
    return 0;
fail:
    connector_stop(self);
    connector_destroy(&self);
    return rc;
}

int connector_start(connector_t *self)
{
    refresh_dead_gauge(self);
    return scheduler_start(self->sched);
}

void connector_stop(connector_t *self)
{
    if (!self || self->stopped)
        return;
    self->stopped = true;
    if (self->sched)
        scheduler_stop(self->sched);
    if (self->listening)
        txq_unlisten(self->txq, on_commit, self);
    self->listening = false;
    while (self->staged) {
        conn_req_t *q = self->staged;
        req_unlink(&self->staged, q);
        req_free(q);
    }
    self->nstaged = 0;
    for (conn_req_t *q; (q = queue_pop(self));)
        conn_req_aborted(self, q, false); /* leased: sent after the next start */
    conn_curl_close(self);
}

void connector_destroy(connector_t **self)
{
    if (!self || !*self)
        return;
    connector_t *c = *self;
    while (c->flight) { /* outcomes the txq never ran (destroyed before the txq) */
        conn_req_t *q = c->flight;
        req_unlink(&c->flight, q);
        req_free(q);
    }
    scheduler_destroy(&c->sched);
    if (c->curl_global)
        curl_global_cleanup();
    if (c->hmac_key)
        sodium_memzero(c->hmac_key, c->opts.hmac_key_len);
    free(c->hmac_key);
    free(c->url);
    free(c);
    *self = NULL;
}
