/* feed_client: follows another service's event log and applies each event exactly once.
 *
 * One fetch is in flight at a time ("after my cursor, at most K, wait up to W"). A batch is
 * applied through the txq: the consumer's apply() for every event and the new cursor are
 * written in the same transaction, so after a crash the feed resumes from the last committed
 * cursor and a replayed event is never applied twice. Lost replies (the producer was killed,
 * the network hiccuped) are noticed by a reply timeout; the client then reconnects and asks
 * again from its cursor, by itself, for as long as it lives.
 *
 * Linger (linger_ms > 0): after committing a small batch (fewer than batch_max / 2 events)
 * while events are flowing (the batch arrived less than linger_ms after the previous commit,
 * or after the end of the linger that followed it), the next fetch waits linger_ms, so that the next
 * commit carries more events: fewer commits, flushes and CPU per event in a surge, for at
 * most linger_ms more latency per event. An idle feed (previous commit long ago) fetches at
 * once, so a lone event and the one after it are not delayed. Nothing else changes: the
 * cursor is still written in the batch's own transaction.
 *
 * Loop thread only. */
#ifndef HOTLINE_FEED_CLIENT_H
#define HOTLINE_FEED_CLIENT_H

#include "bus.h"
#include "store.h"
#include "txq.h"

#include "hotline/event.pb-c.h"

#include <stdint.h>
#include <uv.h>

typedef struct feed_client feed_client_t;

/* Apply one event inside txn. Return 0, or an HL_E code: the whole batch is rolled back and
 * retried after a pause (so a transient failure loses nothing). */
typedef int (*feed_apply_fn)(void *ctx, MDB_txn *txn, const Hotline__Event *ev);

/* Optional: once per batch, after its last apply and before its cursor is stored, inside the
 * same transaction (ctx as apply's): where a consumer writes what it gathered over the batch.
 * Return as apply. Not called after a failed apply (the batch is rolled back). */
typedef int (*feed_batch_end_fn)(void *ctx, MDB_txn *txn);

typedef struct feed_client_opts {
    const char *producer;      /* producer name: the key of the stored cursor */
    const char *endpoint;      /* producer's bus endpoint */
    const char *consumer;      /* our name, registered with the producer */
    unsigned batch_max;        /* K (default 500) */
    unsigned wait_ms;          /* W (default 1000) */
    unsigned reply_timeout_ms; /* beyond W before reconnecting (default 3000) */
    unsigned linger_ms;        /* pause before the next fetch in a stream (0 = never) */
    const bus_cred_t *cred;    /* how we prove who we are to the producer; NULL = nothing */
    feed_batch_end_fn batch_end; /* NULL: none */
} feed_client_opts_t;

typedef struct feed_client_stats {
    uint64_t cursor;           /* last applied seq (committed) */
    uint64_t head;             /* producer's head at the last reply */
    uint64_t batches;          /* committed: one write transaction each */
    uint64_t lingers;          /* fetches delayed by linger_ms */
    uint64_t events_applied;
    uint64_t events_skipped;   /* undecodable: logged and counted, never silently */
    uint64_t gaps;             /* the producer had trimmed past our cursor */
    uint64_t reconnects;
    uint64_t apply_failures;
} feed_client_stats_t;

/* cursors: the consumer's "cursors" sub-database (producer name -> seq). */
int feed_client_create(feed_client_t **out, uv_loop_t *loop, void *zctx, store_t *store,
                       txq_t *txq, MDB_dbi cursors, const feed_client_opts_t *opts,
                       feed_apply_fn apply, void *ctx);

/* Begin fetching. */
void feed_client_start(feed_client_t *self);

const feed_client_stats_t *feed_client_stats(const feed_client_t *self);
const char *feed_client_producer(const feed_client_t *self);

/* Stop fetching; a batch being applied finishes first (txq_destroy commits it). The loop must
 * run afterwards. Nulls *self. */
void feed_client_destroy(feed_client_t **self);

#endif
