/* txq: group commit of queued items in one LMDB write transaction per loop iteration. */
#include "txq.h"

#include "hclock.h"
#include "hl_error.h"
#include "slog.h"

#include <stdlib.h>
#include <string.h>

#define TXQ_MAX_LISTENERS 8

struct txq {
    uv_loop_t *loop;
    store_t *store;
    uv_check_t check;    /* runs the batch after the poll phase's I/O callbacks */
    uv_idle_t idle;      /* keeps poll from blocking while items wait */
    txq_item_t *head, *tail;
    unsigned waiting;
    unsigned max_batch;
    bool full;           /* the last batch could not be written: HL_ENOSPC or HL_EIO */
    struct {
        txq_commit_fn fn;
        void *ctx;
    } listeners[TXQ_MAX_LISTENERS];
    int nlisteners;
    txq_stats_t stats;
    int closed;          /* handles closed so far, at destroy */
};

static void on_check(uv_check_t *h);
static void on_idle(uv_idle_t *h)
{
    (void)h; /* only there to make the loop's poll non-blocking */
}

int txq_create(txq_t **out, uv_loop_t *loop, store_t *store, unsigned max_batch)
{
    txq_t *self = calloc(1, sizeof *self);
    if (!self)
        return HL_ENOMEM;
    self->loop = loop;
    self->store = store;
    self->max_batch = max_batch ? max_batch : 10000;
    uv_check_init(loop, &self->check);
    uv_idle_init(loop, &self->idle);
    self->check.data = self;
    self->idle.data = self;
    uv_check_start(&self->check, on_check);
    /* The check handle alone must not keep the loop alive. */
    uv_unref((uv_handle_t *)&self->check);
    *out = self;
    return 0;
}

void txq_submit(txq_t *self, txq_item_t *item)
{
    item->next = NULL;
    if (self->tail)
        self->tail->next = item;
    else
        self->head = item;
    self->tail = item;
    self->waiting++;
    if (!uv_is_active((uv_handle_t *)&self->idle))
        uv_idle_start(&self->idle, on_idle);
}

int txq_on_commit(txq_t *self, txq_commit_fn fn, void *ctx)
{
    if (self->nlisteners == TXQ_MAX_LISTENERS)
        return HL_ETOOBIG;
    self->listeners[self->nlisteners].fn = fn;
    self->listeners[self->nlisteners].ctx = ctx;
    self->nlisteners++;
    return 0;
}

void txq_unlisten(txq_t *self, txq_commit_fn fn, void *ctx)
{
    for (int i = 0; i < self->nlisteners; i++) {
        if (self->listeners[i].fn == fn && self->listeners[i].ctx == ctx) {
            memmove(&self->listeners[i], &self->listeners[i + 1],
                    (size_t)(self->nlisteners - i - 1) * sizeof self->listeners[0]);
            self->nlisteners--;
            return;
        }
    }
}

/* Apply n items from list inside one transaction; rcs[i] gets each item's own outcome.
 * Returns 0 if the transaction committed, or the code that sank the whole batch.
 *
 * Without savepoints (safe false) the items write straight into the batch's transaction, and
 * the first item that fails sinks it: it may have written part of its work, which nothing
 * but a savepoint could take back. *rerun then asks for the batch again the safe way: each
 * item in a nested transaction, committed into the batch's when the item succeeds and
 * aborted when it fails. A failed commit is not re-run: it may have reached the disk (a
 * flush that failed after the meta page was written), and applying its items again could do
 * them twice. (An item that hides an LMDB error sinks the batch either way: LMDB marks the
 * parent of a failed child transaction too.) */
static int run_batch(txq_t *self, txq_item_t *list, unsigned n, int *rcs, bool safe,
                     bool *rerun)
{
    *rerun = false;
    MDB_txn *txn;
    int rc = store_write_begin(self->store, &txn);
    if (rc)
        return rc;
    txq_item_t *it = list;
    for (unsigned i = 0; i < n; i++, it = it->next) {
        if (!safe) {
            rcs[i] = it->apply(it, txn);
        } else {
            MDB_txn *child;
            rc = store_child_begin(self->store, txn, &child);
            if (rc)
                goto abort;
            rcs[i] = it->apply(it, child);
            if (rcs[i] == 0)
                rcs[i] = store_write_commit(self->store, &child);
            else
                store_write_abort(&child);
        }
        if (rcs[i] == HL_EFULL || rcs[i] == HL_ETXNFULL) {
            /* Store-level failure: the transaction is unusable, retry the batch. */
            rc = rcs[i];
            goto abort;
        }
        if (rcs[i] != 0 && !safe) {
            *rerun = true;
            rc = rcs[i];
            goto abort;
        }
    }
    uint64_t t0 = hclock_mono_ns();
    rc = store_write_commit(self->store, &txn);
    self->stats.last_commit_s = (double)(hclock_mono_ns() - t0) / 1e9;
    return rc;
abort:
    store_write_abort(&txn);
    return rc;
}

/* Commit up to n items from the head of the queue, growing the map or splitting the batch as
 * needed. Returns how many items were taken off the queue (each got done()). */
static unsigned commit_some(txq_t *self, unsigned n)
{
    int stack_rcs[256];
    int *rcs = n <= 256 ? stack_rcs : malloc(n * sizeof *rcs);
    if (!rcs) {
        n = 256;
        rcs = stack_rcs;
    }
    int rc;
    bool safe = false, rerun;
    for (;;) {
        /* An item the transaction never reached keeps this: it failed with the batch. */
        for (unsigned i = 0; i < n; i++)
            rcs[i] = HL_EAGAIN;
        rc = run_batch(self, self->head, n, rcs, safe, &rerun);
        if (rerun) {
            /* An item failed without savepoints: nothing was kept; the same items again,
             * each in its own savepoint. */
            self->stats.retries++;
            self->stats.safe_reruns++;
            safe = true;
            continue;
        }
        if (rc == HL_EFULL) {
            self->stats.retries++;
            rc = store_grow(self->store);
            if (rc == 0)
                continue;
            rc = HL_ENOSPC;
            break;
        }
        if (rc == HL_ETXNFULL && n > 1) {
            self->stats.retries++;
            n /= 2;
            continue;
        }
        break;
    }
    bool was_full = self->full;
    /* LMDB reports a write cut short by a full disk as EIO: both mean "cannot write". */
    bool unwritable = rc == HL_ENOSPC || rc == HL_EIO;
    self->full = unwritable;
    if (rc == 0) {
        self->stats.commits++;
        self->stats.last_batch = n;
        if (n > self->stats.max_batch_seen)
            self->stats.max_batch_seen = n;
        if (was_full)
            SLOG_INFO("store_writable_again", "path=%s", store_path(self->store));
        for (int i = 0; i < self->nlisteners; i++)
            self->listeners[i].fn(self->listeners[i].ctx);
    } else if (!was_full || !unwritable) {
        SLOG_ERROR("commit_failed", "path=%s items=%u reason=\"%s\" next=\"%s\"",
                   store_path(self->store), n, hl_strerror(rc),
                   unwritable ? "refusing new work until writes succeed again (disk space)"
                              : "items answered with the error");
    }
    for (unsigned i = 0; i < n; i++) {
        txq_item_t *it = self->head;
        self->head = it->next;
        if (!self->head)
            self->tail = NULL;
        self->waiting--;
        int item_rc = rc ? rc : rcs[i];
        if (item_rc)
            self->stats.failed_items++;
        else
            self->stats.items++;
        it->done(it, item_rc);
    }
    if (rcs != stack_rcs)
        free(rcs);
    return n;
}

void txq_flush(txq_t *self)
{
    /* done() callbacks may submit more; those wait for the next iteration. */
    unsigned budget = self->waiting;
    while (budget > 0 && self->head) {
        unsigned n = budget < self->max_batch ? budget : self->max_batch;
        unsigned took = commit_some(self, n);
        budget = took >= budget ? 0 : budget - took;
    }
    if (!self->head)
        uv_idle_stop(&self->idle);
}

static void on_check(uv_check_t *h)
{
    txq_t *self = h->data;
    if (self->head)
        txq_flush(self);
}

unsigned txq_waiting(const txq_t *self)
{
    return self->waiting;
}

bool txq_full(const txq_t *self)
{
    return self->full;
}

const txq_stats_t *txq_stats(const txq_t *self)
{
    return &self->stats;
}

static void on_close(uv_handle_t *h)
{
    txq_t *self = h->data;
    /* Both handles live in self: free after the second close callback. */
    if (++self->closed == 2)
        free(self);
}

void txq_destroy(txq_t **self)
{
    if (!self || !*self)
        return;
    txq_t *q = *self;
    while (q->head)
        txq_flush(q);
    uv_check_stop(&q->check);
    uv_idle_stop(&q->idle);
    uv_close((uv_handle_t *)&q->check, on_close);
    uv_close((uv_handle_t *)&q->idle, on_close);
    *self = NULL;
}
