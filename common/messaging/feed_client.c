/* feed_client: pull a producer's feed and apply it exactly once. Loop thread. */
#include "feed_client.h"

#include "arena.h"
#include "hl_error.h"
#include "slog.h"
#include "zsock.h"

#include "hotline/bus.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define RETRY_MS 1000

typedef enum { FC_IDLE, FC_WAITING, FC_APPLYING, FC_STOPPED } fc_state_t;

struct feed_client {
    uv_loop_t *loop;
    void *zctx;
    store_t *store;
    txq_t *txq;
    MDB_dbi cursors;
    char *producer, *endpoint, *consumer;
    bus_cred_t cred;
    unsigned batch_max, wait_ms, reply_timeout_ms, linger_ms;
    feed_apply_fn apply;
    feed_batch_end_fn batch_end;
    void *ctx;
    zsock_t *sock;
    uv_timer_t timer;          /* reply timeout, retry pause, or linger */
    fc_state_t state;
    uint64_t request_id;       /* of the fetch in flight */
    Hotline__FeedBatch *batch; /* being applied (owned) */
    arena_t *arena;            /* the event being applied is unpacked here, reset after it */
    txq_item_t item;
    bool destroyed;            /* destroy requested while a batch was in the txq */
    uint64_t pending_cursor;   /* cursor and count written by the batch being committed */
    uint64_t pending_applied;
    uint64_t pending_skipped;
    uint64_t quiet_from_ms;    /* the previous commit, or the end of the linger after it
                                * (monotonic; 0: none yet) */
    uint64_t arrival_ms;       /* when the batch being applied arrived */
    feed_client_stats_t stats;
};

static void send_fetch(feed_client_t *self);

static int connect_sock(feed_client_t *self);

static void on_timeout(uv_timer_t *h)
{
    feed_client_t *self = h->data;
    if (self->state == FC_WAITING) {
        /* No reply: the producer may have died with our request. Start over. */
        self->stats.reconnects++;
        SLOG_WARN("feed_reconnect", "producer=%s endpoint=%s cursor=%llu reason=\"no reply\"",
                  self->producer, self->endpoint, (unsigned long long)self->stats.cursor);
        zsock_destroy(&self->sock, 0);
    }
    /* No socket (a reconnect failed, e.g. out of file descriptors): try again, later too. */
    if (!self->sock && connect_sock(self) != 0) {
        self->state = FC_IDLE;
        uv_timer_start(&self->timer, on_timeout, RETRY_MS, 0);
        return;
    }
    send_fetch(self);
}

static int read_cursor(feed_client_t *self, uint64_t *cursor)
{
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    rc = store_get_u64(txn, self->cursors, self->producer, strlen(self->producer), cursor);
    store_read_end(&txn);
    return rc;
}

static int apply_batch(txq_item_t *item, MDB_txn *txn)
{
    feed_client_t *self = (feed_client_t *)((char *)item - offsetof(feed_client_t, item));
    uint64_t cursor = self->stats.cursor, applied = 0, skipped = 0;
    /* Sequence numbers are dense from the batch's start (the producer's first retained
     * event when it has trimmed past us): the position says which seq an event is. */
    uint64_t base = self->batch->first_seq > cursor + 1 ? self->batch->first_seq : cursor + 1;
    for (size_t i = 0; i < self->batch->n_events; i++) {
        ProtobufCBinaryData *b = &self->batch->events[i];
        /* In the arena: no malloc per field, no free per field (apply keeps nothing). */
        arena_reset(self->arena);
        Hotline__Event *ev = hotline__event__unpack(arena_allocator(self->arena), b->len, b->data);
        if (!ev) {
            /* Cannot happen with a healthy producer; never block the feed on it silently,
             * and step past it, or the next fetch would bring it back forever. */
            skipped++;
            SLOG_ERROR("feed_event_undecodable", "producer=%s seq=%llu bytes=%zu",
                       self->producer, (unsigned long long)(base + i), b->len);
            if (base + i > cursor)
                cursor = base + i;
            continue;
        }
        if (ev->seq <= cursor) /* a replay of something already applied */
            continue;
        int rc = self->apply(self->ctx, txn, ev);
        uint64_t seq = ev->seq;
        if (rc)
            return rc;
        cursor = seq;
        applied++;
    }
    if (self->batch_end) {
        int rc = self->batch_end(self->ctx, txn);
        if (rc)
            return rc;
    }
    uint8_t v[8];
    store_be64_put(v, cursor);
    int rc = store_put(txn, self->cursors, self->producer, strlen(self->producer), v, 8, 0);
    /* Taken over by batch_done only if this transaction commits (apply may run again). */
    self->pending_cursor = cursor;
    self->pending_applied = applied;
    self->pending_skipped = skipped;
    return rc;
}

static void free_self(feed_client_t *self);

static uint64_t mono_ms(void)
{
    return uv_hrtime() / 1000000u + 1; /* never 0: 0 means "none yet" */
}

/* The linger is over: the feed counts as quiet from now, as from a commit. */
static void on_linger(uv_timer_t *h)
{
    feed_client_t *self = h->data;
    self->quiet_from_ms = mono_ms();
    on_timeout(h); /* state FC_IDLE: reconnects if it must, then send_fetch */
}

/* After a committed batch of n events: whether to wait before the next fetch. Only when the
 * batch was small and took everything the producer had (a backlog, or a producer capping its
 * batches below batch_max / 2, is fetched at once), and events are flowing: the batch arrived
 * less than linger_ms after the previous commit, or after the end of the linger that followed
 * it (else a steady stream would linger only every other batch). Measured to the batch's
 * arrival, not to its commit, so that slow commits on a busy disk do not turn lingering off. */
static bool should_linger(feed_client_t *self, size_t n, bool backlog)
{
    bool flowing = self->quiet_from_ms && self->arrival_ms >= self->quiet_from_ms &&
                   self->arrival_ms - self->quiet_from_ms < self->linger_ms;
    self->quiet_from_ms = mono_ms();
    if (!self->linger_ms || !flowing || backlog || n >= self->batch_max / 2)
        return false;
    self->stats.lingers++;
    return true;
}

static void batch_done(txq_item_t *item, int rc)
{
    feed_client_t *self = (feed_client_t *)((char *)item - offsetof(feed_client_t, item));
    size_t n = self->batch->n_events;
    bool backlog = self->batch->head_seq > self->pending_cursor;
    if (rc == 0) {
        self->stats.events_applied += self->pending_applied;
        self->stats.events_skipped += self->pending_skipped;
        self->stats.cursor = self->pending_cursor;
        self->stats.batches++;
    } else {
        self->stats.apply_failures++;
        SLOG_WARN("feed_apply_failed",
                  "producer=%s cursor=%llu reason=\"%s\" next=\"retry in %d ms\"",
                  self->producer, (unsigned long long)self->stats.cursor, hl_strerror(rc),
                  RETRY_MS);
    }
    hotline__feed_batch__free_unpacked(self->batch, NULL);
    self->batch = NULL;
    if (self->destroyed) {
        free_self(self);
        return;
    }
    self->state = FC_IDLE;
    if (rc != 0)
        uv_timer_start(&self->timer, on_timeout, RETRY_MS, 0);
    else if (should_linger(self, n, backlog))
        uv_timer_start(&self->timer, on_linger, self->linger_ms, 0);
    else
        send_fetch(self);
}

static void on_reply(zsock_t *sock, zmq_msg_t *frames, size_t n, void *ctx)
{
    (void)sock;
    feed_client_t *self = ctx;
    if (n != 1 || self->state != FC_WAITING)
        return;
    Hotline__BusReply *reply =
        hotline__bus_reply__unpack(NULL, zmq_msg_size(&frames[0]), zmq_msg_data(&frames[0]));
    if (!reply)
        return;
    if (reply->request_id != self->request_id) { /* stale: an answer to an abandoned fetch */
        hotline__bus_reply__free_unpacked(reply, NULL);
        return;
    }
    uv_timer_stop(&self->timer);
    if (reply->body_case != HOTLINE__BUS_REPLY__BODY_BATCH) {
        SLOG_WARN("feed_fetch_refused", "producer=%s reason=\"%s\"", self->producer,
                  reply->body_case == HOTLINE__BUS_REPLY__BODY_ERROR && reply->error->message
                      ? reply->error->message
                      : "unexpected reply");
        hotline__bus_reply__free_unpacked(reply, NULL);
        self->state = FC_IDLE;
        uv_timer_start(&self->timer, on_timeout, RETRY_MS, 0);
        return;
    }
    Hotline__FeedBatch *batch = reply->batch;
    reply->batch = NULL;
    reply->body_case = HOTLINE__BUS_REPLY__BODY__NOT_SET;
    hotline__bus_reply__free_unpacked(reply, NULL);
    self->stats.head = batch->head_seq;
    if (batch->first_seq > self->stats.cursor + 1 && batch->n_events > 0) {
        self->stats.gaps++;
        SLOG_ERROR("feed_gap", "producer=%s cursor=%llu first_seq=%llu "
                   "reason=\"the producer trimmed events this consumer never applied\"",
                   self->producer, (unsigned long long)self->stats.cursor,
                   (unsigned long long)batch->first_seq);
    }
    if (batch->n_events == 0) {
        hotline__feed_batch__free_unpacked(batch, NULL);
        self->state = FC_IDLE;
        send_fetch(self);
        return;
    }
    self->batch = batch;
    self->arrival_ms = mono_ms();
    self->state = FC_APPLYING;
    txq_submit(self->txq, &self->item);
}

static int connect_sock(feed_client_t *self)
{
    int rc = zsock_create(&self->sock, self->loop, self->zctx, ZMQ_DEALER, on_reply, self);
    if (rc)
        return rc;
    rc = bus_cred_apply(zsock_raw(self->sock), &self->cred);
    if (!rc)
        rc = zsock_connect(self->sock, self->endpoint);
    if (rc)
        zsock_destroy(&self->sock, 0);
    return rc;
}

static void send_fetch(feed_client_t *self)
{
    if (self->state == FC_STOPPED || self->state == FC_APPLYING)
        return;
    if (!self->sock) {
        self->state = FC_IDLE;
        uv_timer_start(&self->timer, on_timeout, RETRY_MS, 0);
        return;
    }
    Hotline__FeedFetch fetch = HOTLINE__FEED_FETCH__INIT;
    fetch.consumer = self->consumer;
    fetch.after_seq = self->stats.cursor;
    fetch.max_events = self->batch_max;
    fetch.wait_ms = self->wait_ms;
    Hotline__BusRequest req = HOTLINE__BUS_REQUEST__INIT;
    req.request_id = ++self->request_id;
    req.body_case = HOTLINE__BUS_REQUEST__BODY_FETCH;
    req.fetch = &fetch;
    if (self->cred.token[0])
        req.token = self->cred.token;
    uint8_t buf[512];
    size_t len = hotline__bus_request__pack(&req, buf);
    const void *parts[1] = {buf};
    size_t lens[1] = {len};
    self->state = FC_WAITING;
    if (zsock_send(self->sock, parts, lens, 1) != 0) {
        /* Queue full or no connection yet: the timeout path reconnects and retries. */
        SLOG_DEBUG("feed_fetch_not_sent", "producer=%s", self->producer);
    }
    uv_timer_start(&self->timer, on_timeout, self->wait_ms + self->reply_timeout_ms, 0);
}

int feed_client_create(feed_client_t **out, uv_loop_t *loop, void *zctx, store_t *store,
                       txq_t *txq, MDB_dbi cursors, const feed_client_opts_t *opts,
                       feed_apply_fn apply, void *ctx)
{
    feed_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->loop = loop;
    self->zctx = zctx;
    self->store = store;
    self->txq = txq;
    self->cursors = cursors;
    self->producer = strdup(opts->producer);
    self->endpoint = strdup(opts->endpoint);
    self->consumer = strdup(opts->consumer);
    self->batch_max = opts->batch_max ? opts->batch_max : 500;
    self->wait_ms = opts->wait_ms ? opts->wait_ms : 1000;
    self->reply_timeout_ms = opts->reply_timeout_ms ? opts->reply_timeout_ms : 3000;
    self->linger_ms = opts->linger_ms;
    self->apply = apply;
    self->batch_end = opts->batch_end;
    self->ctx = ctx;
    if (opts->cred)
        self->cred = *opts->cred;
    self->item.apply = apply_batch;
    self->item.done = batch_done;
    int rc = self->producer && self->endpoint && self->consumer ? 0 : HL_ENOMEM;
    if (!rc)
        rc = arena_create(&self->arena);
    if (!rc)
        rc = read_cursor(self, &self->stats.cursor);
    if (!rc)
        rc = connect_sock(self);
    if (rc) {
        arena_destroy(&self->arena);
        free(self->producer);
        free(self->endpoint);
        free(self->consumer);
        free(self);
        return rc;
    }
    uv_timer_init(loop, &self->timer);
    self->timer.data = self;
    self->state = FC_IDLE;
    SLOG_INFO("feed_follow", "producer=%s endpoint=%s cursor=%llu", self->producer,
              self->endpoint, (unsigned long long)self->stats.cursor);
    *out = self;
    return 0;
}

void feed_client_start(feed_client_t *self)
{
    send_fetch(self);
}

const feed_client_stats_t *feed_client_stats(const feed_client_t *self)
{
    return &self->stats;
}

const char *feed_client_producer(const feed_client_t *self)
{
    return self->producer;
}

static void on_timer_close(uv_handle_t *h)
{
    feed_client_t *self = h->data;
    arena_destroy(&self->arena);
    free(self->producer);
    free(self->endpoint);
    free(self->consumer);
    free(self);
}

static void free_self(feed_client_t *self)
{
    uv_close((uv_handle_t *)&self->timer, on_timer_close);
}

void feed_client_destroy(feed_client_t **self)
{
    if (!self || !*self)
        return;
    feed_client_t *fc = *self;
    *self = NULL;
    bool applying = fc->state == FC_APPLYING;
    fc->state = FC_STOPPED;
    uv_timer_stop(&fc->timer);
    zsock_destroy(&fc->sock, 0);
    if (applying) {
        fc->destroyed = true; /* batch_done frees us once the txq has committed it */
        return;
    }
    free_self(fc);
}
