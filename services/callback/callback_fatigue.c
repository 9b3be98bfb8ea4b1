/* callback_fatigue: the anti-fatigue cap. A person who keeps calling the hotline should not be
 * called back for every ticket: a callback falling due for a caller (by phone key,
 * common/phone.h) already reached fatigueMaxCalls times in the last fatigueWindowDays days is
 * not made. The task ends as skipped, the ticket closes ("callback skipped: ...", as an
 * unreachable one does, so dispatch, sla, intake and analytics see it closed) and the skip is
 * counted (meta "skipped": hotline_callback_skipped_total, and the done list).
 *
 * What counts as a call: a rated one (the citizen was reached and rated). Unreachable attempts
 * do not: nobody was bothered into answering. One call that settles a caller's several
 * tickets of an incident is one call. What is capped: a task's first call, when it falls due.
 * Not a retry after an unreachable attempt (that callback was already let through), not a time
 * the citizen agreed to (PromiseCallback: they asked for it), and not tasks already in the
 * queue together (each was checked when it fell due), and not a caller whose number callback
 * does not know yet (intake's word has not come: nobody to count).
 *
 * Each caller's history is kept in `calls` (phone key NUL, time, ticket id): entries older than
 * the window are pruned whenever that caller is looked at. Runs inside the caller's
 * transaction (a scheduler pass, a command). Loop thread. */
#include "callback_internal.h"

#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000LL
#define CALL_KEY_MAX (PHONE_KEY_MAX + 1 + 8 + CALLBACK_ID_MAX)

/* The caller's key prefix in `calls` (phone key and its NUL); 0 when the number is unknown. */
static int caller_prefix(callback_t *self, MDB_txn *txn, const char *ticket_id,
                         uint8_t key[CALL_KEY_MAX], size_t *len)
{
    char phone[PHONE_KEY_MAX + 1];
    size_t n = 0;
    int rc = callback_person_key(self, txn, ticket_id, phone, &n);
    *len = rc || !n ? 0 : n + 1;
    memcpy(key, phone, n);
    key[n] = '\0';
    return rc;
}

typedef struct history {
    size_t prefix_len;
    int64_t since; /* calls at or before this are past the window */
    unsigned calls;
} history_t;

static int history_visit(void *ctx, const store_entry_t *e)
{
    history_t *h = ctx;
    if (e->key.mv_size < h->prefix_len + 8 ||
        (int64_t)store_be64_get((const uint8_t *)e->key.mv_data + h->prefix_len) <= h->since)
        return store_scan_del(e); /* past the window (or not a call key): pruned */
    h->calls++;
    return 0;
}

/* The caller's calls in the window ending now; the older ones are pruned. */
static int history_count(callback_t *self, MDB_txn *txn, const uint8_t *prefix, size_t len,
                         unsigned *calls)
{
    int64_t window = (int64_t)self->cfg.fatigue_window_days * DAY_MS;
    history_t h = {.prefix_len = len, .since = hclock_now_ms(self->clock) - window};
    store_range_t r = {.prefix = prefix, .prefix_len = len};
    int rc = store_scan(txn, self->calls, &r, history_visit, &h);
    *calls = h.calls;
    return rc;
}

int callback_fatigue_note_call(callback_t *self, MDB_txn *txn, const task_t *t)
{
    uint8_t key[CALL_KEY_MAX];
    size_t len;
    int rc = caller_prefix(self, txn, t->ticket_id, key, &len);
    if (rc || !len)
        return rc;
    store_be64_put(key + len, (uint64_t)hclock_now_ms(self->clock));
    size_t il = strlen(t->ticket_id);
    memcpy(key + len + 8, t->ticket_id, il);
    if ((rc = store_put(txn, self->calls, key, len + 8 + il, "", 0, 0)))
        return rc;
    unsigned calls;
    return history_count(self, txn, key, len, &calls);
}

/* Skip t: the events that close its ticket (and the tickets riding on its call), the count,
 * and the task's end. */
static int skip(callback_t *self, MDB_txn *txn, task_t *t, unsigned calls)
{
    char reason[128], closed[160];
    snprintf(reason, sizeof reason,
             "the caller was reached %u times in the last %u days (at most %u)", calls,
             self->cfg.fatigue_window_days, self->cfg.fatigue_max_calls);
    snprintf(closed, sizeof closed, "callback skipped: %s", reason);
    Hotline__CallbackSkipped cs = HOTLINE__CALLBACK_SKIPPED__INIT;
    cs.round = t->round;
    cs.unit = t->unit;
    cs.reason = reason;
    cs.calls_in_window = calls;
    cs.window_days = self->cfg.fatigue_window_days;
    Hotline__TicketClosed tc = HOTLINE__TICKET_CLOSED__INIT;
    tc.reason = closed;
    int rc =
        callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_CALLBACK_SKIPPED, &cs);
    if (!rc)
        rc =
            callback_event_append(self, txn, t->ticket_id, HOTLINE__EVENT__BODY_TICKET_CLOSED, &tc);
    if (!rc)
        rc = callback_incident_settle(self, txn, t, NULL, &tc, NULL);
    if (!rc)
        rc = store_add_u64(txn, self->meta, "skipped", 7, 1, NULL);
    if (!rc)
        rc = callback_task_finish(self, txn, t, TASK_SKIPPED, closed);
    if (!rc)
        SLOG_INFO("callback_skipped", "ticket=%s round=%u calls_in_window=%u window_days=%u",
                  t->ticket_id, (unsigned)t->round, calls, self->cfg.fatigue_window_days);
    return rc;
}

int callback_fatigue_check(callback_t *self, MDB_txn *txn, task_t *t, bool *skipped)
{
    *skipped = false;
    if (!self->cfg.fatigue_max_calls || t->attempts > 0 || t->promised_ms)
        return 0;
    uint8_t key[CALL_KEY_MAX];
    size_t len;
    unsigned calls;
    int rc = caller_prefix(self, txn, t->ticket_id, key, &len);
    if (rc || !len || (rc = history_count(self, txn, key, len, &calls)))
        return rc;
    if (calls < self->cfg.fatigue_max_calls)
        return 0;
    *skipped = true;
    return skip(self, txn, t, calls);
}

int callback_skipped_count(callback_t *self, MDB_txn *txn, uint64_t *out)
{
    return store_get_u64(txn, self->meta, "skipped", 7, out);
}
