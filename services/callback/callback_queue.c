/* callback_queue: the agents' queue by priority. A task's priority comes from its ticket: a
 * vulnerable caller (Ticket.vulnerable_caller, from intake) first, then a ticket of an incident
 * (joined at intake, Ticket.incident_id, or replied by the incident's close,
 * TicketReplied.incident_id), then the rest. It is set when the task is made and again when the
 * caller's contact arrives (the two feeds are independent: the reply may come first), and is
 * the first byte of the task's `queue` key, so the queue's order is the hand-out order.
 *
 * The queue of versions before priorities (`due`: time + TASK_KEY) is moved here at start:
 * each entry to the queue under its task's priority (those tasks were stored without one and
 * their contacts without the vulnerable flag, so they are ordinary unless their reply was an
 * incident's), or back on the scheduler when its instant has not come. Loop thread. */
#include "callback_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

const char *callback_prio_name(uint8_t prio)
{
    switch (prio) {
    case PRIO_VULNERABLE: return "vulnerable";
    case PRIO_INCIDENT: return "incident";
    default: return "ordinary";
    }
}

int callback_task_priority(callback_t *self, MDB_txn *txn, const task_t *t, uint8_t *prio)
{
    Hotline__Ticket *contact = NULL;
    int rc = callback_contact_get(self, txn, t->ticket_id, NULL, &contact);
    if (rc && rc != HL_ENOTFOUND && rc != HL_ECORRUPT)
        return rc;
    bool vulnerable = contact && contact->vulnerable_caller;
    bool incident = t->incident || (contact && contact->incident_id && *contact->incident_id);
    if (contact)
        hotline__ticket__free_unpacked(contact, NULL);
    *prio = vulnerable ? PRIO_VULNERABLE : incident ? PRIO_INCIDENT : PRIO_ORDINARY;
    return 0;
}

int callback_task_reprioritize(callback_t *self, MDB_txn *txn, task_t *t, uint8_t prio)
{
    int queued = callback_queued(self, txn, t);
    if (queued < 0)
        return queued;
    int rc = queued ? callback_queue_del(self, txn, t, t->due_ms) : 0;
    if (rc)
        return rc;
    t->prio = prio;
    if ((rc = callback_task_save(self, txn, t->state, t->due_ms, t)))
        return rc;
    return queued ? callback_queue_put(self, txn, t) : 0;
}

/* One entry of the old queue: into the new one, or back on the scheduler. */
typedef struct migrate {
    callback_t *self;
    MDB_txn *txn;
    int64_t now;
    unsigned queued, rescheduled, dropped;
} migrate_t;

static int migrate_visit(void *ctx, const store_entry_t *e)
{
    migrate_t *m = ctx;
    task_t t;
    int rc = callback_task_load_indexed(m->self, m->txn, &e->key, DONE_KEY_PREFIX, &t);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT) {
        m->dropped++; /* names no task: nothing to hand out */
        return store_scan_del(e);
    }
    if (rc)
        return rc;
    /* The record's own instant: the key's was the same, written by the same save. */
    if (t.state != TASK_PENDING) {
        m->dropped++;
    } else if (t.due_ms > m->now) {
        rc = callback_sched_put(m->self, m->txn, &t);
        m->rescheduled++;
    } else {
        uint8_t prio;
        rc = callback_task_priority(m->self, m->txn, &t, &prio);
        if (!rc) {
            t.prio = prio;
            rc = callback_task_save(m->self, m->txn, t.state, t.due_ms, &t);
        }
        if (!rc)
            rc = callback_queue_put(m->self, m->txn, &t);
        m->queued++;
    }
    callback_task_clear(&t);
    return rc ? rc : store_scan_del(e);
}

/* Queued tasks whose instant is later than now go back on the scheduler. */
typedef struct requeue {
    callback_t *self;
    MDB_txn *txn;
    unsigned n;
} requeue_t;

static int requeue_visit(void *ctx, const store_entry_t *e)
{
    requeue_t *r = ctx;
    if (e->key.mv_size <= QUEUE_KEY_PREFIX)
        return HL_ECORRUPT;
    const uint8_t *k = e->key.mv_data;
    /* scheduler_put copies the id before store_scan_del makes the key invalid */
    int rc =
        scheduler_put(r->self->sched, r->txn, k + QUEUE_KEY_PREFIX,
                      e->key.mv_size - QUEUE_KEY_PREFIX, (int64_t)store_be64_get(k + 1), NULL, 0);
    if (!rc)
        rc = store_scan_del(e);
    r->n += !rc;
    return rc;
}

int callback_attach(callback_t *self, scheduler_t *sched, MDB_txn *txn)
{
    self->sched = sched;
    int64_t now = hclock_now_ms(self->clock);
    migrate_t m = {self, txn, now, 0, 0, 0};
    int rc = store_scan(txn, self->legacy_due, NULL, migrate_visit, &m);
    if (!rc && (m.queued || m.rescheduled || m.dropped))
        SLOG_INFO("callback_queue_migrated",
                  "queued_count=%u rescheduled_count=%u dropped_count=%u "
                  "reason=\"the queue of an earlier version, without priorities\"",
                  m.queued, m.rescheduled, m.dropped);
    requeue_t r = {self, txn, 0};
    for (uint8_t prio = PRIO_VULNERABLE; !rc && prio <= PRIO_ORDINARY; prio++) {
        uint8_t from[QUEUE_KEY_PREFIX];
        from[0] = prio;
        store_be64_put(from + 1, (uint64_t)now + 1);
        store_range_t range = {
            .from = from, .from_len = sizeof from, .prefix = from, .prefix_len = 1};
        rc = store_scan(txn, self->queue, &range, requeue_visit, &r);
    }
    if (!rc && r.n)
        SLOG_INFO("callback_requeued", "tasks_count=%u reason=\"queued before their instant\"",
                  r.n);
    return rc;
}
