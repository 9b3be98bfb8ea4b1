/* scheduler: durable "do this at instant T" for a service (docs/architecture.md): SLA ladder
 * steps, callback attempts, webhook retries, appeal and hotspot windows all use it, none keeps a
 * timer of its own.
 *
 * Entries live in the owning service's LMDB: an index keyed by big-endian due time and the
 * entry's stable id (its payload beside it), and an id -> due time index, so that putting,
 * rescheduling and cancelling by id are O(log n). A caller that keeps each entry's due time
 * itself (opts.caller_keeps_due) has no id index: it cancels with scheduler_cancel_at. One libuv timer is armed for the earliest
 * entry, measured on the service clock (hclock: a test clock moves it). When it goes off, a
 * group-commit item fires every due entry, up to per_pass of them, in ONE transaction: each
 * entry is removed and its effect (fire()) written together, so across kill -9 every entry
 * fires exactly once, and never before its instant. The timer is re-armed after each pass,
 * after any commit that put an entry earlier than the armed instant, and whenever the clock is
 * moved; its delay is capped (arm_max_ms) so a stepped real clock is noticed.
 *
 * Loop thread only. scheduler_stop must run before the txq is destroyed (the service skeleton does
 * both in order for schedulers made with service_scheduler). */
#ifndef HOTLINE_SCHEDULER_H
#define HOTLINE_SCHEDULER_H

#include "hclock.h"
#include "metrics.h"
#include "store.h"
#include "txq.h"

#include <stdint.h>
#include <uv.h>

#define SCHEDULER_ID_MAX 256 /* bytes in an entry id */

typedef struct scheduler scheduler_t;

/* One due entry, valid during the fire() call. */
typedef struct scheduler_entry {
    const void *id;
    size_t id_len;
    int64_t due_ms;
    const void *payload;
    size_t payload_len;
} scheduler_entry_t;

/* Perform e's effect inside txn. The entry is already removed in txn; fire may scheduler_put the
 * same id (or others) again. Return 0, or an HL_E code: the whole pass rolls back (nothing
 * fired, nothing removed) and is retried after a pause. */
typedef int (*scheduler_fire_fn)(void *ctx, MDB_txn *txn, const scheduler_entry_t *e);

typedef struct scheduler_opts {
    const char *name; /* sub-database prefix ("sla_steps" -> sla_steps.due, .ids) and
                            * the metrics label */
    scheduler_fire_fn fire;
    void *ctx;
    unsigned per_pass;   /* entries fired per transaction at most (default 2000) */
    unsigned arm_max_ms; /* look again at least this often (default 60000) */
    metrics_t *metrics;  /* NULL: no metrics */
    /* The caller knows when each of its entries is due (it keeps the instant with its own
     * state) and cancels with scheduler_cancel_at: no id index is written, and scheduler_put
     * does not move an id already scheduled at another instant (the caller cancels it first;
     * the same id at the same instant is replaced). Entries an older release put with an id
     * index are still found by scheduler_cancel / scheduler_due and leave it when they go. */
    bool caller_keeps_due;
    /* What hotline_sched_pending_<name> shows, read in txn (with ctx): NULL, the entries
     * scheduled. An owner whose one entry stands for several steps counts the steps. */
    int (*pending)(void *ctx, MDB_txn *txn, uint64_t *n);
} scheduler_opts_t;

typedef struct scheduler_stats {
    uint64_t fired;  /* entries fired (committed passes) */
    uint64_t passes; /* committed passes that fired at least one entry */
    uint64_t failed_passes;
    int64_t armed_for_ms; /* the instant the timer is armed for, 0 = not armed */
} scheduler_stats_t;

/* Open (or create) the indexes in store. Nothing is armed until scheduler_start. Errors: store
 * errors, HL_EINVAL (no name or fire), HL_ENOMEM. */
int scheduler_create(scheduler_t **out, uv_loop_t *loop, store_t *store, txq_t *txq,
                     hclock_t *clock, const scheduler_opts_t *opts);

/* Arm the timer from the store: entries left by the last run fire now if they are due. */
int scheduler_start(scheduler_t *self);

/* Put id (1..SCHEDULER_ID_MAX bytes) to fire at due_ms with payload (copied), inside a write
 * transaction; an id already scheduled is moved to the new instant and payload (reschedule).
 * Errors: HL_EINVAL (bad id), store errors. */
int scheduler_put(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len, int64_t due_ms,
                  const void *payload, size_t payload_len);

/* Cancel id inside a write transaction. HL_ENOTFOUND when it is not scheduled. */
int scheduler_cancel(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len);

/* Cancel id scheduled at due_ms (no id index read). HL_ENOTFOUND when it is not there. */
int scheduler_cancel_at(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len,
                        int64_t due_ms);

/* When id is due (any transaction), from the id index (caller_keeps_due: only the entries an
 * older release put). HL_ENOTFOUND when it is not scheduled. */
int scheduler_due(scheduler_t *self, MDB_txn *txn, const void *id, size_t id_len, int64_t *due_ms);

/* Entries scheduled, and the earliest due time (HL_ENOTFOUND when none). */
int scheduler_count(scheduler_t *self, MDB_txn *txn, uint64_t *n);
int scheduler_next(scheduler_t *self, MDB_txn *txn, int64_t *due_ms);

const scheduler_stats_t *scheduler_stats(const scheduler_t *self);

/* Close the timer and stop listening to the txq and the clock (shutdown begins, or a start-up
 * that failed after scheduler_create): no pass is started after this; one in flight finishes
 * with the txq. Call it before the txq and clock go, started or not. The loop must run
 * afterwards. */
void scheduler_stop(scheduler_t *self);

/* Free (after the txq is gone). Nulls *self. */
void scheduler_destroy(scheduler_t **self);

#endif
