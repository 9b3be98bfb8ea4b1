/* txq: group commit. Work that changes state is queued as items; once per loop iteration
 * (after the I/O callbacks have queued whatever arrived) every waiting item is applied inside
 * ONE write transaction, which is committed once (one fsync), and only then is each item told
 * its outcome. Throughput is batch size x fsync rate, and the batch is simply what arrived
 * while the previous commit was flushing: no timer, no added delay.
 *
 * An item that fails leaves no trace and the rest of the batch still commits. The items are
 * applied straight in the batch's transaction; if one returns an error (it may have written
 * part of its work), the transaction is aborted and the batch applied again the safe way,
 * each item in its own nested transaction (a savepoint) that its failure rolls back. Nested
 * transactions cost (LMDB copies every page an item touches into the child), so only a batch
 * with a failure pays for them, and pays twice. When the map is full the whole transaction is
 * aborted, the map grows and the batch is re-applied; apply() must therefore only act through
 * the transaction (no side effects outside it) until done() reports the commit, and may run
 * more than once. When the store cannot grow or the disk is full, every item of the batch gets
 * HL_ENOSPC and nothing is half-stored.
 *
 * Loop thread only. */
#ifndef HOTLINE_TXQ_H
#define HOTLINE_TXQ_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

typedef struct txq txq_t;
typedef struct txq_item txq_item_t;

struct txq_item {
    /* Apply inside txn. Return 0 to keep everything it wrote, or an HL_E code to have none
     * of it kept (done() gets the code). HL_EFULL / HL_ETXNFULL from LMDB must be returned as
     * is: the batch is retried. Returning 0 after an outcome that changes nothing (a refusal
     * decided before any write) is what keeps a batch on the fast path. */
    int (*apply)(txq_item_t *item, MDB_txn *txn);
    /* After the commit (rc 0) or the failure. The item may be freed here. */
    void (*done)(txq_item_t *item, int rc);
    txq_item_t *next;  /* queue link, owned by txq */
};

typedef void (*txq_commit_fn)(void *ctx);

typedef struct txq_stats {
    uint64_t commits;       /* successful transactions */
    uint64_t items;         /* items committed */
    uint64_t failed_items;  /* items whose apply or commit failed */
    uint64_t retries;       /* batches re-applied after map growth, a split or a failure */
    uint64_t safe_reruns;   /* of which re-applied with a savepoint per item after an item
                               failed without them */
    unsigned last_batch;
    unsigned max_batch_seen;
    double last_commit_s;   /* duration of the last commit (fsync) */
} txq_stats_t;

/* max_batch: at most this many items per transaction (0 = 10000). */
int txq_create(txq_t **out, uv_loop_t *loop, store_t *store, unsigned max_batch);

/* Queue an item. It is applied in this loop iteration's batch (or the next). */
void txq_submit(txq_t *self, txq_item_t *item);

/* Run the waiting batch now (used at shutdown for the last commit). */
void txq_flush(txq_t *self);

/* Be told after each successful commit (before items' done()), e.g. to wake feed readers. */
int txq_on_commit(txq_t *self, txq_commit_fn fn, void *ctx);

/* Stop telling fn (the pair given to txq_on_commit; nothing when it is not listening). Not from
 * inside a commit listener. */
void txq_unlisten(txq_t *self, txq_commit_fn fn, void *ctx);

/* Items waiting, and true while the store cannot write (disk full or failing, or at its size
 * limit): the last batch failed with HL_ENOSPC or HL_EIO. */
unsigned txq_waiting(const txq_t *self);
bool txq_full(const txq_t *self);
const txq_stats_t *txq_stats(const txq_t *self);

/* Stop: items still waiting are committed first (flush), then handles close. The loop must
 * run afterwards for the close callbacks. Nulls *self. */
void txq_destroy(txq_t **self);

#endif
