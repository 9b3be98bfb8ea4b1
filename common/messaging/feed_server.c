/* feed_server: long-poll feed fetches over the bus. Loop thread. */
#include "feed_server.h"

#include "hclock.h"
#include "hl_error.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>

typedef struct parked {
    bus_peer_t peer;
    uint64_t after;
    unsigned max_events;
    uint64_t deadline_ms; /* monotonic */
    char consumer[64];
    struct parked *next;
} parked_t;

struct feed_server {
    store_t *store;
    evlog_t *log;
    bus_t *bus;
    feed_server_opts_t opts;
    uv_timer_t timer;     /* fires at the earliest parked deadline */
    parked_t *parked;     /* unordered list; small (one per consumer) */
    feed_server_stats_t stats;
};

typedef struct batch_builder {
    uint8_t **bufs;       /* copies of event bytes (LMDB memory is only valid in the txn) */
    ProtobufCBinaryData *events;
    size_t n, cap;
    int rc;
} batch_builder_t;

static uint64_t mono_ms(void)
{
    return hclock_mono_ns() / 1000000u;
}

static int collect(void *ctx, uint64_t seq, const uint8_t *event, size_t len)
{
    (void)seq;
    batch_builder_t *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        ProtobufCBinaryData *ev = realloc(b->events, cap * sizeof *ev);
        if (!ev)
            return HL_ENOMEM;
        b->events = ev;
        b->cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return HL_ENOMEM;
    memcpy(copy, event, len);
    b->events[b->n].data = copy;
    b->events[b->n].len = len;
    b->n++;
    return 0;
}

static void builder_free(batch_builder_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->events[i].data);
    free(b->events);
}

/* Answer with whatever the log has after `after` (possibly nothing). */
static void answer(feed_server_t *self, const bus_peer_t *peer, uint64_t after,
                   unsigned max_events)
{
    batch_builder_t b = {0};
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc == 0) {
        rc = evlog_read(self->log, txn, after, max_events, self->opts.max_bytes, collect, &b);
        store_read_end(&txn);
    }
    if (rc < 0) {
        SLOG_ERROR("feed_read_failed", "after_seq=%llu reason=\"%s\"",
                   (unsigned long long)after, hl_strerror(rc));
        builder_free(&b);
        Hotline__BusError err = HOTLINE__BUS_ERROR__INIT;
        err.status = HOTLINE__STATUS__INTERNAL;
        err.message = "the producer could not read its log";
        Hotline__BusReply reply = HOTLINE__BUS_REPLY__INIT;
        reply.body_case = HOTLINE__BUS_REPLY__BODY_ERROR;
        reply.error = &err;
        bus_reply(self->bus, peer, &reply);
        return;
    }
    Hotline__FeedBatch batch = HOTLINE__FEED_BATCH__INIT;
    batch.head_seq = evlog_head(self->log);
    batch.first_seq = evlog_first(self->log);
    batch.n_events = b.n;
    batch.events = b.events;
    Hotline__BusReply reply = HOTLINE__BUS_REPLY__INIT;
    reply.body_case = HOTLINE__BUS_REPLY__BODY_BATCH;
    reply.batch = &batch;
    bus_reply(self->bus, peer, &reply);
    self->stats.events_sent += b.n;
    if (b.n == 0)
        self->stats.empty_replies++;
    builder_free(&b);
}

static void arm_timer(feed_server_t *self);

static void on_timer(uv_timer_t *h)
{
    feed_server_t *self = h->data;
    uint64_t now = mono_ms();
    parked_t **pp = &self->parked;
    while (*pp) {
        parked_t *p = *pp;
        if (p->deadline_ms <= now) {
            *pp = p->next;
            self->stats.parked--;
            answer(self, &p->peer, p->after, p->max_events);
            free(p);
        } else {
            pp = &p->next;
        }
    }
    arm_timer(self);
}

static void arm_timer(feed_server_t *self)
{
    if (!self->parked) {
        uv_timer_stop(&self->timer);
        return;
    }
    uint64_t earliest = UINT64_MAX;
    for (parked_t *p = self->parked; p; p = p->next)
        if (p->deadline_ms < earliest)
            earliest = p->deadline_ms;
    uint64_t now = mono_ms();
    uv_timer_start(&self->timer, on_timer, earliest > now ? earliest - now : 0, 0);
}

int feed_server_create(feed_server_t **out, uv_loop_t *loop, store_t *store, evlog_t *log,
                       bus_t *bus, const feed_server_opts_t *opts)
{
    feed_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->store = store;
    self->log = log;
    self->bus = bus;
    if (opts)
        self->opts = *opts;
    if (!self->opts.max_events)
        self->opts.max_events = 1000;
    if (!self->opts.max_bytes)
        self->opts.max_bytes = 4u << 20;
    if (!self->opts.max_wait_ms)
        self->opts.max_wait_ms = 30000;
    if (!self->opts.max_parked)
        self->opts.max_parked = 1024;
    uv_timer_init(loop, &self->timer);
    self->timer.data = self;
    *out = self;
    return 0;
}

void feed_server_fetch(feed_server_t *self, const bus_peer_t *peer,
                       const Hotline__FeedFetch *fetch)
{
    self->stats.fetches++;
    /* A cursor beyond the head is not something a consumer can have applied: never let one
     * (from a bug or a hostile peer) exempt that consumer from holding the log. */
    if (fetch->consumer && *fetch->consumer)
        evlog_consumer_seen(self->log, fetch->consumer,
                            fetch->after_seq < evlog_head(self->log) ? fetch->after_seq
                                                                     : evlog_head(self->log));
    unsigned max = fetch->max_events ? fetch->max_events : self->opts.max_events;
    if (max > self->opts.max_events)
        max = self->opts.max_events;
    unsigned wait = fetch->wait_ms < self->opts.max_wait_ms ? fetch->wait_ms
                                                            : self->opts.max_wait_ms;
    if (evlog_head(self->log) > fetch->after_seq || wait == 0 ||
        self->stats.parked >= self->opts.max_parked) {
        answer(self, peer, fetch->after_seq, max);
        return;
    }
    parked_t *p = calloc(1, sizeof *p);
    if (!p) {
        answer(self, peer, fetch->after_seq, max);
        return;
    }
    p->peer = *peer;
    p->after = fetch->after_seq;
    p->max_events = max;
    p->deadline_ms = mono_ms() + wait;
    snprintf(p->consumer, sizeof p->consumer, "%s", fetch->consumer ? fetch->consumer : "");
    p->next = self->parked;
    self->parked = p;
    self->stats.parked++;
    arm_timer(self);
}

void feed_server_notify(feed_server_t *self)
{
    uint64_t head = evlog_head(self->log);
    parked_t **pp = &self->parked;
    bool changed = false;
    while (*pp) {
        parked_t *p = *pp;
        if (head > p->after) {
            *pp = p->next;
            self->stats.parked--;
            answer(self, &p->peer, p->after, p->max_events);
            free(p);
            changed = true;
        } else {
            pp = &p->next;
        }
    }
    if (changed)
        arm_timer(self);
}

const feed_server_stats_t *feed_server_stats(const feed_server_t *self)
{
    return &self->stats;
}

static void on_close(uv_handle_t *h)
{
    free(h->data);
}

void feed_server_destroy(feed_server_t **self)
{
    if (!self || !*self)
        return;
    feed_server_t *fs = *self;
    while (fs->parked) {
        parked_t *p = fs->parked;
        fs->parked = p->next;
        answer(fs, &p->peer, p->after, p->max_events);
        free(p);
    }
    uv_close((uv_handle_t *)&fs->timer, on_close);
    *self = NULL;
}
