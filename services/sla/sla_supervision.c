/* sla_supervision: a ticket under supervision (督办) after a second unsatisfied result.
 * Callback's SupervisionRequested names the rework round that was rated unsatisfied again (r);
 * dispatch reopens the ticket for round r + 1 and marks it supervised. sla gives that round's
 * reply clock its supervision notice at once rather than a working day after its red card:
 * SlaEscalated SUPERVISION, at_ms the request's time, once (the clock's SLA_L_SUPERVISED flag,
 * which the ladder reads too). The two feeds are not ordered with each other, so a request
 * read before the round's clock started waits in sla_meta until it does.
 *
 * sla_meta "v/" ticket \0 round(BE32) -> the request's time (BE64). Inside the feed batch's
 * write transaction. Loop thread. */
#include "sla_record.h"

#include "hl_error.h"
#include "slog.h"

#include <string.h>

static size_t wait_key(uint8_t *key, const char *ticket, uint32_t round)
{
    size_t n = strlen(ticket);
    key[0] = 'v';
    key[1] = '/';
    memcpy(key + 2, ticket, n + 1);
    key[n + 3] = (uint8_t)(round >> 24);
    key[n + 4] = (uint8_t)(round >> 16);
    key[n + 5] = (uint8_t)(round >> 8);
    key[n + 6] = (uint8_t)round;
    return n + 7;
}

/* The notice on (ticket, round)'s reply clock: HL_ENOTFOUND when it has not started. */
static int give(sla_t *self, MDB_txn *txn, const char *ticket, uint32_t round, int64_t at_ms)
{
    sla_round_t r;
    sla_clock_t *rp;
    int rc = sla_round_clock_load(self, txn, ticket, round, HOTLINE__SLA_CLOCK__SLA_CLOCK_REPLY,
                                  &r, &rp);
    if (rc)
        return rc;
    if (rp->stopped || rp->supervised)
        return 0; /* replied already, or the notice is out */
    sla_rec_change_t ch = {.ladder = SLA_L_SUPERVISED, .pending = -1};
    sla_rec_apply(rp, &ch);
    if ((rc = sla_round_save(self, txn, &r)))
        return rc;
    sla_clock_t c = *rp;
    c.supervision_ms = at_ms; /* the event says when it was given: now, not the ladder's day */
    SLOG_INFO("sla_supervision_notice", "ticket=%s round=%u unit=%s reason=\"second unsatisfied "
              "result\"", ticket, (unsigned)round, c.unit);
    return sla_step_event(self, txn, ticket, &c, SLA_STEP_SUPERVISE);
}

int sla_supervision_requested(sla_t *self, MDB_txn *txn, const Hotline__Event *ev)
{
    const Hotline__SupervisionRequested *sv = ev->supervision_requested;
    uint32_t round = sv->round + 1; /* the rework round the unsatisfied rating opened */
    int64_t at = ev->time_ms ? ev->time_ms : hclock_now_ms(self->clock);
    int rc = give(self, txn, ev->ticket_id, round, at);
    if (rc != HL_ENOTFOUND)
        return rc;
    uint8_t key[2 + SLA_TICKET_ID_MAX + 1 + 4], val[8];
    store_be64_put(val, (uint64_t)at);
    return store_put(txn, self->meta, key, wait_key(key, ev->ticket_id, round), val, 8, 0);
}

int sla_supervision_started(sla_t *self, MDB_txn *txn, const char *ticket_id, uint32_t round)
{
    uint8_t key[2 + SLA_TICKET_ID_MAX + 1 + 4];
    size_t klen = wait_key(key, ticket_id, round);
    MDB_val v;
    int rc = store_get(txn, self->meta, key, klen, &v);
    if (rc == HL_ENOTFOUND)
        return 0;
    if (rc)
        return rc;
    int64_t at = v.mv_size == 8 ? (int64_t)store_be64_get(v.mv_data) : hclock_now_ms(self->clock);
    rc = store_del(txn, self->meta, key, klen);
    return rc ? rc : give(self, txn, ticket_id, round, at);
}
