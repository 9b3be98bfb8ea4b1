/* callback_sched: a pending task waits on the shared scheduler (common/scheduler.h) until its
 * instant; when that comes, callback_fire moves it into the due queue, inside the scheduler's
 * pass, so the entry's removal and the task's queueing commit together (exactly once across
 * kill -9). A retry goes back on the scheduler; a finished task leaves it. Loop thread. */
#include "callback_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

#define SCHED_NAME "callback_calls" /* sub-databases callback_calls.due / .ids */

int callback_sched_put(callback_t *self, MDB_txn *txn, const task_t *t)
{
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, t->ticket_id, t->round);
    return scheduler_put(self->sched, txn, key, klen, t->due_ms, NULL, 0);
}

int callback_sched_cancel(callback_t *self, MDB_txn *txn, const task_t *t)
{
    uint8_t key[TASK_KEY_MAX];
    size_t klen = callback_task_key(key, t->ticket_id, t->round);
    int rc = scheduler_cancel(self->sched, txn, key, klen);
    return rc == HL_ENOTFOUND ? 0 : rc;
}

/* The task's instant has come: into the queue, if it still waits. An entry that names no
 * pending task (ended in the same transaction that would have cancelled it, or a damaged
 * key) is dropped with a word in the log: firing it again would not help. */
static int fire(void *ctx, MDB_txn *txn, const scheduler_entry_t *e)
{
    callback_t *self = ctx;
    char id[CALLBACK_ID_MAX + 1];
    uint32_t round;
    task_t t;
    int rc = callback_task_key_parse(e->id, e->id_len, id, &round);
    if (!rc)
        rc = callback_task_load(self, txn, id, round, &t);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT) {
        SLOG_WARN("callback_due_skipped", "due_ms=%lld reason=\"%s\"", (long long)e->due_ms,
                  rc == HL_ENOTFOUND ? "no such task" : "not a task key");
        return 0;
    }
    if (rc)
        return rc;
    if (t.state == TASK_PENDING) {
        rc = callback_queue_put(self, txn, &t);
        SLOG_DEBUG("callback_due", "ticket=%s round=%u due_ms=%lld attempts=%u", t.ticket_id,
                   (unsigned)t.round, (long long)t.due_ms, (unsigned)t.attempts);
    }
    callback_task_clear(&t);
    return rc;
}

scheduler_opts_t callback_scheduler_opts(callback_t *self)
{
    return (scheduler_opts_t){.name = SCHED_NAME, .fire = fire, .ctx = self};
}

/* A queued task whose instant is later than now: back on the scheduler. */
typedef struct requeue {
    callback_t *self;
    MDB_txn *txn;
    unsigned n;
} requeue_t;

static int requeue_visit(void *ctx, const store_entry_t *e)
{
    requeue_t *r = ctx;
    if (e->key.mv_size < 9)
        return HL_ECORRUPT;
    const uint8_t *k = e->key.mv_data;
    /* scheduler_put copies the id before store_scan_del makes the key invalid */
    int rc = scheduler_put(r->self->sched, r->txn, k + 8, e->key.mv_size - 8,
                           (int64_t)store_be64_get(k), NULL, 0);
    if (!rc)
        rc = store_scan_del(e);
    r->n += !rc;
    return rc;
}

int callback_attach(callback_t *self, scheduler_t *sched, MDB_txn *txn)
{
    self->sched = sched;
    uint8_t from[8];
    store_be64_put(from, (uint64_t)hclock_now_ms(self->clock) + 1);
    requeue_t r = {self, txn, 0};
    int rc = store_scan(txn, self->due, &(store_range_t){.from = from, .from_len = 8},
                        requeue_visit, &r);
    if (!rc && r.n)
        SLOG_INFO("callback_requeued", "tasks_count=%u reason=\"queued before their instant\"",
                  r.n);
    return rc;
}
