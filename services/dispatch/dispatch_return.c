/* dispatch_return: a unit asks to give a ticket back (退单), a dispatcher rules on it.
 *
 * The holding unit asks within the return window (returnWindow, default 2 working days from
 * dispatch), before it replies, with a reason and the basis; a unit the hotline designated
 * (指定: named by a dispatcher's redirect or by an approved return) may not. The request waits
 * in "returns" (ticket id -> packed ReturnRequested) for a dispatcher: approved, the ticket
 * goes to the unit the dispatcher names, as designated, to be signed for there; rejected, it
 * stays, and the unit is told why. Either way a ReturnReviewed event records the ruling.
 * Inside the group-commit transaction, every check before the first write. Loop thread. */
#include "dispatch_internal.h"

#include "arena.h"
#include "hl_error.h"
#include "mask.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* The pending request of ticket id (into arena); HL_ENOTFOUND when there is none. */
static int pending_get(dispatch_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                       Hotline__ReturnRequested **out)
{
    return dispatch_pending_get(txn, self->returns, id, &hotline__return_requested__descriptor,
                                arena, (ProtobufCMessage **)out);
}

static int pending_put(dispatch_t *self, MDB_txn *txn, const char *id,
                       const Hotline__ReturnRequested *r)
{
    return dispatch_pending_put(txn, self->returns, id, &r->base);
}

int dispatch_request_return(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                            cmd_reply_t *reply)
{
    const Hotline__RequestReturn *rr = cmd->request_return;
    const char *id = str_or_empty(rr->ticket_id), *unit = str_or_empty(rr->unit);
    const char *reason = str_or_empty(rr->reason), *basis = str_or_empty(rr->basis);
    if (!dispatch_text_ok(reply, "requestReturn.reason", reason, DISPATCH_NOTE_MAX_CHARS,
                          "say why the ticket is not this unit's") ||
        !dispatch_text_ok(reply, "requestReturn.basis", basis, DISPATCH_NOTE_MAX_CHARS,
                          "the rule, boundary or fact the return rests on"))
        return 0;
    const Hotline__Limit *window = self->cfg->return_window;
    dispatch_assignment_t a;
    int rc = dispatch_load_held(self, txn, cmd, "requestReturn", id, &unit, reply, &a);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    if (a.state != HOTLINE__TICKET_STATUS__TICKET_DISPATCHED &&
        a.state != HOTLINE__TICKET_STATUS__TICKET_SIGNED)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "requestReturn.ticketId",
                          "ticket %s is %s: a return is asked for before the reply", id,
                          dispatch_state_name(a.state));
    if (a.designated)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "requestReturn.ticketId",
                          "ticket %s was designated to unit %s by the hotline: it may not be "
                          "returned (ask a dispatcher if it truly is not yours)", id, unit);
    /* The window of the round's sla policy, else the centre's returnWindow. */
    int64_t now = hclock_now_ms(self->clock), ends;
    if ((rc = dispatch_return_until(self, txn, id, a.round, &ends)))
        return rc;
    if (!ends && (!window || !window->value))
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "requestReturn",
                          "this centre takes no returns (returnWindow.value is 0): ask a "
                          "dispatcher to redirect the ticket");
    if (!ends && (rc = calendar_add(self->cal, a.dispatched_ms, window, &ends)))
        return rc;
    if (now > ends) {
        char when[64];
        calendar_format_local(self->cal, ends, when, sizeof when);
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "requestReturn.ticketId",
                          "the return window of ticket %s ended at %s: handle it, or ask a "
                          "dispatcher to redirect it", id, when);
    }
    Hotline__ReturnRequested *pending;
    rc = pending_get(self, txn, id, reply->arena, &pending);
    if (rc == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "requestReturn.ticketId",
                          "ticket %s already waits for a dispatcher's ruling on its return",
                          id);
    if (rc != HL_ENOTFOUND)
        return rc;
    Hotline__ReturnRequested body = HOTLINE__RETURN_REQUESTED__INIT;
    body.unit = (char *)unit;
    body.round = a.round;
    body.reason = (char *)reason;
    body.basis = (char *)basis;
    body.window_ends_ms = ends;
    rc = pending_put(self, txn, id, &body);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_RETURN_REQUESTED;
    ev.return_requested = &body;
    if (!rc)
        rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, unit, a.state, a.round);
}

int dispatch_review_return(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                           cmd_reply_t *reply)
{
    const Hotline__ReviewReturn *rv = cmd->review_return;
    const char *id = str_or_empty(rv->ticket_id), *to = str_or_empty(rv->to_unit);
    const char *note = str_or_empty(rv->note);
    if (!*id || strlen(id) > DISPATCH_TICKET_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "reviewReturn.ticketId",
                          "required: the id of a ticket with a pending return "
                          "(GET /v1/returns lists them)");
    if (rv->approve && (!*to || strlen(to) > DISPATCH_UNIT_ID_MAX ||
                        !dispatch_catalogue_unit_name(self->cat, to)))
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "reviewReturn.toUnit",
                          "%s: an approved return names the unit the ticket goes to, one of "
                          "the catalogue's (GET /v1/catalogue)",
                          *to ? "not a unit of the catalogue" : "required");
    if (!dispatch_text_ok(reply, "reviewReturn.note", note, DISPATCH_NOTE_MAX_CHARS,
                          rv->approve ? NULL : "tell the unit why it keeps the ticket"))
        return 0;
    Hotline__ReturnRequested *pending;
    int rc = pending_get(self, txn, id, reply->arena, &pending);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "reviewReturn.ticketId",
                          "ticket %s has no pending return (GET /v1/returns lists them)", id);
    if (rc)
        return rc;
    dispatch_assignment_t old;
    rc = dispatch_assignment_get(self, txn, id, &old);
    if (rc)
        return rc;
    if (rv->approve && strcmp(to, pending->unit) == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "reviewReturn.toUnit",
                          "unit %s asked to return the ticket: approve it to another unit, or "
                          "reject it", to);
    /* Replied (or reopened) since it asked: the return is moot; a rejection still records
     * the ruling. */
    bool current = old.round == pending->round && strcmp(old.unit, pending->unit) == 0 &&
                   (old.state == HOTLINE__TICKET_STATUS__TICKET_DISPATCHED ||
                    old.state == HOTLINE__TICKET_STATUS__TICKET_SIGNED);
    if (rv->approve && !current)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "reviewReturn.ticketId",
                          "ticket %s is %s with unit %s now: the return it asked for in round "
                          "%u no longer applies (reject it to close it)", id,
                          dispatch_state_name(old.state), old.unit, (unsigned)pending->round);
    dispatch_assignment_t a = old; /* its strings are old's: put it before any other write */
    if (rv->approve) {
        a.unit = to;
        a.state = HOTLINE__TICKET_STATUS__TICKET_DISPATCHED; /* signed for again, there */
        a.designated = true;
        a.signed_ms = 0;
        a.contacted_ms = 0;
        a.updated_ms = hclock_now_ms(self->clock);
        rc = dispatch_assignment_put(self, txn, &a, &old);
        if (rc)
            return rc;
    }
    Hotline__TicketStatus state = a.state;
    uint32_t round = a.round;
    rc = store_del(txn, self->returns, id, strlen(id));
    if (rc)
        return rc;
    Hotline__ReturnReviewed body = HOTLINE__RETURN_REVIEWED__INIT;
    body.unit = pending->unit;
    body.round = pending->round;
    body.approved = rv->approve;
    body.to_unit = rv->approve ? (char *)to : "";
    body.note = (char *)note;
    body.by = cmd->by ? cmd->by->name : (char *)str_or_empty(cmd->actor);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_RETURN_REVIEWED;
    ev.return_reviewed = &body;
    rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc
              : dispatch_action_answer(reply, id, rv->approve ? to : pending->unit, state,
                                       round);
}

static json_t *pending_json(const char *id, size_t id_len, const ProtobufCMessage *msg)
{
    const Hotline__ReturnRequested *r = (const Hotline__ReturnRequested *)msg;
    char ends[24];
    snprintf(ends, sizeof ends, "%lld", (long long)r->window_ends_ms);
    return json_pack("{s:s%, s:s, s:I, s:o*, s:o*, s:s}", "ticketId", id, id_len, "unit", r->unit,
                     "round", (json_int_t)r->round, "reason", dispatch_masked_json(r->reason),
                     "basis", dispatch_masked_json(r->basis), "windowEndsMs", ends);
}

int dispatch_returns_list(dispatch_t *self, MDB_txn *txn, size_t limit, json_t *out)
{
    return dispatch_pending_list(txn, self->returns, &hotline__return_requested__descriptor,
                                 limit, pending_json, out);
}
