/* dispatch_termination: a unit asks to end a ticket without a reply (终止), a supervisor rules.
 *
 *   POST /v1/tickets/{id}/terminate  {"reason"}            the holding unit, before it replies
 *   GET  /v1/terminations                                  the pending requests
 *   POST /v1/terminations/{id}       {"approve", "note"}   a supervisor's ruling
 *
 * A termination is for what no unit can answer (the caller withdrew, a duplicate the door
 * missed, a matter outside every unit's remit): it is audited, the request and the ruling
 * each an event naming who and why. Approved, the ticket is CLOSED with no callback, and sla
 * ends the round's clocks without a verdict (a terminated ticket is neither on time nor late).
 * Pending requests wait in "terminations" (ticket id -> packed TerminationRequested).
 * Loop thread. */
#include "dispatch_internal.h"

#include "arena.h"
#include "hl_error.h"
#include "mask.h"

#include <stdlib.h>
#include <string.h>

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

int dispatch_request_termination(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                                 cmd_reply_t *reply)
{
    const Hotline__RequestTermination *rq = cmd->request_termination;
    const char *id = str_or_empty(rq->ticket_id), *unit = str_or_empty(rq->unit);
    const char *reason = str_or_empty(rq->reason);
    if (!dispatch_text_ok(reply, "requestTermination.reason", reason, DISPATCH_NOTE_MAX_CHARS,
                          "say why the ticket ends without a reply"))
        return 0;
    dispatch_assignment_t a;
    int rc = dispatch_load_held(self, txn, cmd, "requestTermination", id, &unit, reply, &a);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    if (a.state != HOTLINE__TICKET_STATUS__TICKET_DISPATCHED &&
        a.state != HOTLINE__TICKET_STATUS__TICKET_SIGNED &&
        a.state != HOTLINE__TICKET_STATUS__TICKET_REWORK)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "requestTermination.ticketId",
                          "ticket %s is %s: only a ticket not yet replied to is terminated", id,
                          dispatch_state_name(a.state));
    MDB_val v;
    rc = store_get(txn, self->terminations, id, strlen(id), &v);
    if (rc == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "requestTermination.ticketId",
                          "ticket %s already waits for a supervisor's ruling on its termination",
                          id);
    if (rc != HL_ENOTFOUND)
        return rc;
    Hotline__TerminationRequested body = HOTLINE__TERMINATION_REQUESTED__INIT;
    body.unit = (char *)unit;
    body.round = a.round;
    body.reason = (char *)reason;
    rc = dispatch_pending_put(txn, self->terminations, id, &body.base);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TERMINATION_REQUESTED;
    ev.termination_requested = &body;
    if (!rc)
        rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, unit, a.state, a.round);
}

int dispatch_review_termination(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                                cmd_reply_t *reply)
{
    const Hotline__ReviewTermination *rv = cmd->review_termination;
    const char *id = str_or_empty(rv->ticket_id), *note = str_or_empty(rv->note);
    if (!*id || strlen(id) > DISPATCH_TICKET_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "reviewTermination.ticketId",
                          "required: the id of a ticket with a pending termination "
                          "(GET /v1/terminations lists them)");
    if (!dispatch_text_ok(reply, "reviewTermination.note", note, DISPATCH_NOTE_MAX_CHARS,
                          rv->approve ? NULL : "tell the unit why the ticket goes on"))
        return 0;
    Hotline__TerminationRequested *pending;
    int rc = dispatch_pending_get(txn, self->terminations, id,
                                  &hotline__termination_requested__descriptor, reply->arena,
                                  (ProtobufCMessage **)&pending);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "reviewTermination.ticketId",
                          "ticket %s has no pending termination (GET /v1/terminations lists "
                          "them)", id);
    if (rc)
        return rc;
    dispatch_assignment_t old;
    if ((rc = dispatch_assignment_get(self, txn, id, &old)))
        return rc;
    bool current = old.round == pending->round && strcmp(old.unit, pending->unit) == 0 &&
                   (old.state == HOTLINE__TICKET_STATUS__TICKET_DISPATCHED ||
                    old.state == HOTLINE__TICKET_STATUS__TICKET_SIGNED ||
                    old.state == HOTLINE__TICKET_STATUS__TICKET_REWORK);
    if (rv->approve && !current)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "reviewTermination.ticketId",
                          "ticket %s is %s with unit %s now: the termination asked in round %u "
                          "no longer applies (reject it to close it)", id,
                          dispatch_state_name(old.state), old.unit, (unsigned)pending->round);
    dispatch_assignment_t a = old; /* its strings are old's: put it before any other write */
    if (rv->approve) {
        int64_t now = hclock_now_ms(self->clock);
        a.state = HOTLINE__TICKET_STATUS__TICKET_CLOSED;
        a.closed_ms = now;
        a.updated_ms = now;
        if ((rc = dispatch_assignment_put(self, txn, &a, &old)))
            return rc;
        /* Nothing is left to rule on for a closed ticket. */
        MDB_dbi moot[] = {self->extensions, self->returns, self->holds};
        for (size_t i = 0; i < sizeof moot / sizeof *moot; i++)
            if ((rc = store_del(txn, moot[i], id, strlen(id))) && rc != HL_ENOTFOUND)
                return rc;
    }
    Hotline__TicketStatus state = a.state;
    if ((rc = store_del(txn, self->terminations, id, strlen(id))))
        return rc;
    Hotline__TerminationReviewed body = HOTLINE__TERMINATION_REVIEWED__INIT;
    body.unit = pending->unit;
    body.round = pending->round;
    body.approved = rv->approve;
    body.note = (char *)note;
    body.by = cmd->by ? cmd->by->name : (char *)str_or_empty(cmd->actor);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TERMINATION_REVIEWED;
    ev.termination_reviewed = &body;
    rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, pending->unit, state, pending->round);
}

static json_t *pending_json(const char *id, size_t id_len, const ProtobufCMessage *msg)
{
    const Hotline__TerminationRequested *r = (const Hotline__TerminationRequested *)msg;
    return json_pack("{s:s%, s:s, s:I, s:o*}", "ticketId", id, id_len, "unit", r->unit, "round",
                     (json_int_t)r->round, "reason", dispatch_masked_json(r->reason));
}

int dispatch_terminations_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out)
{
    return dispatch_pending_list(txn, self->terminations,
                                 &hotline__termination_requested__descriptor, limit,
                                 pending_json, out);
}
