/* callback_sched: a pending task waits on the shared scheduler (common/scheduler.h) until its
 * instant; when that comes, fire moves it into the due queue, or skips it when its caller is
 * past the anti-fatigue cap (callback_fatigue.c), inside the scheduler's pass, so the entry's
 * removal and the task's queueing (or its skipping, with the events that close the ticket)
 * commit together (exactly once across kill -9); with a survey gateway in mode all it goes to
 * the gateway instead (callback_survey.c). A retry or a promised time goes back on the
 * scheduler; a finished task leaves it. Loop thread. */
#include "callback_survey.h"

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

/* The task's instant has come: into the queue if it still waits, unless the cap skips it. An
 * entry that names no pending task (ended in the same transaction that would have cancelled
 * it, or a damaged key) is dropped with a word in the log: firing it again would not help. */
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
    bool skipped = false, surveyed = false;
    if (t.state == TASK_PENDING)
        rc = callback_fatigue_check(self, txn, &t, &skipped);
    if (!rc && t.state == TASK_PENDING && !skipped) /* survey.mode all: the gateway asks */
        rc = callback_survey_due(self, txn, &t, &surveyed);
    if (!rc && t.state == TASK_PENDING && !skipped && !surveyed) {
        rc = callback_queue_put(self, txn, &t);
        SLOG_DEBUG("callback_due", "ticket=%s round=%u due_ms=%lld attempts=%u priority=%s",
                   t.ticket_id, (unsigned)t.round, (long long)t.due_ms, (unsigned)t.attempts,
                   callback_prio_name(t.prio));
    }
    callback_task_clear(&t);
    return rc;
}

scheduler_opts_t callback_scheduler_opts(callback_t *self)
{
    return (scheduler_opts_t){.name = SCHED_NAME, .fire = fire, .ctx = self};
}
