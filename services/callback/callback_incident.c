/* callback_incident: one call per caller of an incident. When an incident closes, dispatch
 * replies each of its tickets (TicketReplied with incident_id); a caller who reported the
 * burst main five times must be called once, not five times, and that one rating settles all
 * five tickets (each gets its own CallbackRated and TicketClosed / ReworkRequested, as if it
 * had been called, so dispatch, intake and analytics need nothing new).
 *
 * Sub-databases:
 *   incident_callers  incident id NUL caller key (phone.h) -> TASK_KEY of the caller's call:
 *                     the first of the caller's tickets replied, whose task is the call
 *   incident_members  TASK_KEY of that call + member ticket id -> round (be32) + unit: the
 *                     caller's other tickets, settled with the call and then removed
 *   incident_covered  member ticket id -> the ticket whose call covers it (answers "why no
 *                     callback for this ticket")
 * A ticket whose caller is not known (intake's contact has not arrived, or no number) gets a
 * call of its own. Loop thread. */
#include "callback_internal.h"

#include "hl_error.h"
#include "phone.h"
#include "slog.h"

#include <stdio.h>
#include <string.h>

#define CALLER_KEY_MAX (CALLBACK_ID_MAX + 1 + PHONE_KEY_MAX)
#define MEMBER_KEY_MAX (TASK_KEY_MAX + CALLBACK_ID_MAX)

int callback_incident_open(callback_t *self, store_t *store)
{
    int rc = store_db(store, "incident_callers", 0, &self->incident_callers);
    if (!rc)
        rc = store_db(store, "incident_members", 0, &self->incident_members);
    if (!rc)
        rc = store_db(store, "incident_covered", 0, &self->incident_covered);
    return rc;
}

/* incident NUL caller key, or 0 when the caller is not known. */
static int caller_key(callback_t *self, MDB_txn *txn, const char *incident, const char *ticket,
                      uint8_t key[CALLER_KEY_MAX], size_t *klen)
{
    *klen = 0;
    size_t il = strlen(incident);
    if (il == 0 || il > CALLBACK_ID_MAX)
        return 0;
    arena_t *arena;
    if (arena_create(&arena))
        return HL_ENOMEM;
    Hotline__Ticket *t = NULL;
    int rc = callback_contact_get(self, txn, ticket, arena_allocator(arena), &t);
    char digits[PHONE_KEY_MAX + 1] = "";
    size_t dl = 0;
    if (rc == 0 && t->contact)
        dl = phone_key(t->contact->phone, digits);
    arena_destroy(&arena);
    if (rc && rc != HL_ENOTFOUND && rc != HL_ECORRUPT)
        return rc;
    if (dl < 5)
        return 0; /* no number to tell callers apart: a call of its own */
    memcpy(key, incident, il);
    key[il] = '\0';
    memcpy(key + il + 1, digits, dl);
    *klen = il + 1 + dl;
    return 0;
}

int callback_incident_join(callback_t *self, MDB_txn *txn, const Hotline__Event *ev,
                           bool *joined)
{
    *joined = false;
    const Hotline__TicketReplied *r = ev->ticket_replied;
    if (!r->incident_id || !*r->incident_id)
        return 0;
    /* A reply read again (an old cursor) for a ticket that rode on another's call: it has
     * its call, even when that call is over by now; never a second one. */
    MDB_val cov;
    int crc = store_get(txn, self->incident_covered, ev->ticket_id, strlen(ev->ticket_id), &cov);
    if (crc == 0) {
        *joined = true;
        return 0;
    }
    if (crc != HL_ENOTFOUND)
        return crc;
    uint8_t ck[CALLER_KEY_MAX];
    size_t cklen;
    int rc = caller_key(self, txn, r->incident_id, ev->ticket_id, ck, &cklen);
    if (rc || !cklen)
        return rc;
    uint8_t mine[TASK_KEY_MAX];
    size_t minelen = callback_task_key(mine, ev->ticket_id, r->round);
    MDB_val v;
    rc = store_get(txn, self->incident_callers, ck, cklen, &v);
    if (rc == 0) {
        char lead[CALLBACK_ID_MAX + 1];
        uint32_t lround;
        task_t t;
        int prc = callback_task_key_parse(v.mv_data, v.mv_size, lead, &lround);
        if (!prc)
            prc = callback_task_load(self, txn, lead, lround, &t);
        if (prc && prc != HL_ENOTFOUND && prc != HL_ECORRUPT)
            return prc;
        bool pending = !prc && t.state == TASK_PENDING && strcmp(lead, ev->ticket_id) != 0;
        if (!prc)
            callback_task_clear(&t);
        if (pending) {
            /* The caller's call is already scheduled: this ticket rides on it. */
            uint8_t lk[TASK_KEY_MAX];
            size_t lklen = callback_task_key(lk, lead, lround);
            uint8_t mk[MEMBER_KEY_MAX];
            size_t il = strlen(ev->ticket_id);
            memcpy(mk, lk, lklen);
            memcpy(mk + lklen, ev->ticket_id, il);
            const char *unit = r->unit ? r->unit : "";
            size_t ul = strlen(unit) > 128 ? 128 : strlen(unit);
            uint8_t val[4 + 128];
            val[0] = (uint8_t)(r->round >> 24);
            val[1] = (uint8_t)(r->round >> 16);
            val[2] = (uint8_t)(r->round >> 8);
            val[3] = (uint8_t)r->round;
            memcpy(val + 4, unit, ul);
            rc = store_put(txn, self->incident_members, mk, lklen + il, val, 4 + ul, 0);
            if (!rc)
                rc = store_put(txn, self->incident_covered, ev->ticket_id, il, lead,
                               strlen(lead), 0);
            if (!rc) {
                *joined = true;
                SLOG_DEBUG("callback_joined", "ticket=%s incident=%s call=%s", ev->ticket_id,
                           r->incident_id, lead);
            }
            return rc;
        }
    } else if (rc != HL_ENOTFOUND) {
        return rc;
    }
    /* The caller's first ticket of the incident (or their earlier call is over): this
     * ticket's own task, created next by the caller, is the call. */
    return store_put(txn, self->incident_callers, ck, cklen, mine, minelen, 0);
}

typedef struct settle {
    callback_t *self;
    MDB_txn *txn;
    const Hotline__CallbackRated *rated; /* NULL: closed unreached or skipped */
    const Hotline__TicketClosed *closed; /* what each member's ticket gets, NULL: rework */
    const char *rework_reason;
    size_t prefix_len;
    unsigned n;
} settle_t;

static int settle_visit(void *ctx, const store_entry_t *e)
{
    settle_t *s = ctx;
    size_t il = e->key.mv_size - s->prefix_len;
    if (e->val.mv_size < 4 || il == 0 || il > CALLBACK_ID_MAX)
        return store_scan_del(e);
    char id[CALLBACK_ID_MAX + 1], unit[129];
    memcpy(id, (const char *)e->key.mv_data + s->prefix_len, il);
    id[il] = '\0';
    const uint8_t *v = e->val.mv_data;
    uint32_t round = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    size_t ul = e->val.mv_size - 4 > 128 ? 128 : e->val.mv_size - 4;
    memcpy(unit, v + 4, ul);
    unit[ul] = '\0';
    int rc = store_scan_del(e); /* settled once: e's bytes are copied above */
    if (rc)
        return rc;
    if (s->rated) {
        Hotline__CallbackRated cr = *s->rated;
        cr.round = round;
        cr.unit = unit;
        if ((rc = callback_event_append(s->self, s->txn, id, HOTLINE__EVENT__BODY_CALLBACK_RATED,
                                        &cr)))
            return rc;
    }
    Hotline__ReworkRequested rw = HOTLINE__REWORK_REQUESTED__INIT;
    rw.round = round;
    rw.unit = unit;
    rw.reason = (char *)s->rework_reason;
    rc = s->closed ? callback_event_append(s->self, s->txn, id, HOTLINE__EVENT__BODY_TICKET_CLOSED,
                                           (void *)s->closed)
                   : callback_event_append(s->self, s->txn, id,
                                           HOTLINE__EVENT__BODY_REWORK_REQUESTED, &rw);
    s->n += !rc;
    return rc;
}

int callback_incident_settle(callback_t *self, MDB_txn *txn, const task_t *call,
                             const Hotline__CallbackRated *rated,
                             const Hotline__TicketClosed *closed, const char *rework_reason)
{
    uint8_t lk[TASK_KEY_MAX];
    size_t lklen = callback_task_key(lk, call->ticket_id, call->round);
    settle_t s = {self, txn, rated, closed, rework_reason, lklen, 0};
    store_range_t r = {.prefix = lk, .prefix_len = lklen};
    int rc = store_scan(txn, self->incident_members, &r, settle_visit, &s);
    if (!rc && s.n)
        SLOG_INFO("callback_settled_with_call", "ticket=%s tickets_count=%u outcome=\"%s\"",
                  call->ticket_id, s.n, closed ? closed->reason : rework_reason);
    return rc;
}

int callback_incident_covered_by(callback_t *self, MDB_txn *txn, const char *ticket,
                                 char lead[CALLBACK_ID_MAX + 1])
{
    MDB_val v;
    int rc = store_get(txn, self->incident_covered, ticket, strlen(ticket), &v);
    if (rc)
        return rc;
    store_val_str(&v, lead, CALLBACK_ID_MAX + 1);
    return 0;
}
