/* dispatch_hold: a dispatcher or supervisor puts a ticket on hold (挂起), and resumes it.
 *
 *   POST /v1/holds/{id}  {"reason"}                 on hold (a ticket not yet replied to)
 *   POST /v1/holds/{id}  {"resume": true, "reason"}  resumed
 *   GET  /v1/holds                                   the tickets on hold
 *
 * A hold is for a wait outside the unit's reach (a court ruling, a citizen abroad, a part on
 * order): while it lasts the round's clocks are paused (sla follows TicketHeld / TicketResumed
 * and moves every deadline by the pause) and the unit cannot reply. Tickets on hold wait in
 * "holds" (ticket id -> packed TicketHeld). A hold is the centre's decision, audited like the
 * other rulings: each event names who and why. Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"

#include <stdio.h>
#include <string.h>

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static bool open_state(Hotline__TicketStatus s)
{
    return s == HOTLINE__TICKET_STATUS__TICKET_DISPATCHED ||
           s == HOTLINE__TICKET_STATUS__TICKET_SIGNED || s == HOTLINE__TICKET_STATUS__TICKET_REWORK;
}

bool dispatch_on_hold(dispatch_t *self, MDB_txn *txn, const char *id, int *rc)
{
    MDB_val v;
    *rc = store_get(txn, self->holds, id, strlen(id), &v);
    if (*rc == HL_ENOTFOUND) {
        *rc = 0;
        return false;
    }
    return *rc == 0;
}

int dispatch_hold(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                  cmd_reply_t *reply)
{
    const Hotline__HoldTicket *rq = cmd->hold_ticket;
    const char *id = str_or_empty(rq->ticket_id), *reason = str_or_empty(rq->reason);
    if (!*id || strlen(id) > DISPATCH_TICKET_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "holdTicket.ticketId",
                          "required: the id of a ticket at a unit, not yet replied to");
    if (!dispatch_text_ok(reply, "holdTicket.reason", reason, DISPATCH_NOTE_MAX_CHARS,
                          rq->resume ? NULL : "say what the ticket waits for"))
        return 0;
    dispatch_assignment_t a;
    int rc = dispatch_assignment_get(self, txn, id, &a);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "holdTicket.ticketId",
                          "ticket %s is not known to dispatch", id);
    if (rc)
        return rc;
    Hotline__TicketHeld *held = NULL;
    rc = dispatch_pending_get(txn, self->holds, id, &hotline__ticket_held__descriptor,
                              reply->arena, (ProtobufCMessage **)&held);
    if (rc && rc != HL_ENOTFOUND)
        return rc;
    const char *by = cmd->by ? cmd->by->name : str_or_empty(cmd->actor);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    Hotline__TicketHeld h = HOTLINE__TICKET_HELD__INIT;
    Hotline__TicketResumed r = HOTLINE__TICKET_RESUMED__INIT;
    if (!rq->resume) {
        if (held)
            return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "holdTicket.ticketId",
                              "ticket %s is already on hold (resume it with \"resume\": true)",
                              id);
        if (!open_state(a.state))
            return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "holdTicket.ticketId",
                              "ticket %s is %s: only a ticket at a unit, not yet replied to, "
                              "goes on hold", id, dispatch_state_name(a.state));
        h.unit = (char *)a.unit;
        h.round = a.round;
        h.reason = (char *)reason;
        h.by = (char *)by;
        h.since_ms = hclock_now_ms(self->clock);
        rc = dispatch_pending_put(txn, self->holds, id, &h.base);
        ev.body_case = HOTLINE__EVENT__BODY_TICKET_HELD;
        ev.ticket_held = &h;
    } else {
        if (!held)
            return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "holdTicket.ticketId",
                              "ticket %s is not on hold (GET /v1/holds lists those that are)",
                              id);
        r.unit = held->unit;
        r.round = held->round;
        r.reason = (char *)reason;
        r.by = (char *)by;
        r.held_since_ms = held->since_ms;
        rc = store_del(txn, self->holds, id, strlen(id));
        ev.body_case = HOTLINE__EVENT__BODY_TICKET_RESUMED;
        ev.ticket_resumed = &r;
    }
    if (!rc)
        rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, a.unit, a.state, a.round);
}

static json_t *hold_json(const char *id, size_t id_len, const ProtobufCMessage *msg)
{
    const Hotline__TicketHeld *h = (const Hotline__TicketHeld *)msg;
    char since[24];
    snprintf(since, sizeof since, "%lld", (long long)h->since_ms);
    return json_pack("{s:s%, s:s, s:I, s:o*, s:s, s:s}", "ticketId", id, id_len, "unit",
                     h->unit, "round", (json_int_t)h->round, "reason",
                     dispatch_masked_json(h->reason), "by", h->by, "sinceMs", since);
}

int dispatch_holds_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out)
{
    return dispatch_pending_list(txn, self->holds, &hotline__ticket_held__descriptor, limit,
                                 hold_json, out);
}
