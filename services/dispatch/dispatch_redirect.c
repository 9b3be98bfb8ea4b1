/* dispatch_redirect: a dispatcher sends a ticket to another unit (改派) before it is signed for,
 * with the reason, and may name that unit as designated (指定: it may not ask to return it).
 *
 * The round's clocks run on: a redirect does not give the new unit more time than the ticket
 * had (sla keeps the round's sign and reply clocks; the event names both units for the
 * record). A signed ticket is not redirected here: its unit asks to return it instead.
 * Inside the group-commit transaction, every check before the first write. Loop thread. */
#include "dispatch_internal.h"

#include "arena.h"
#include "hl_error.h"

#include <string.h>

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* The ticket id and the unit to send it to are given, sane, and the unit is in the catalogue.
 * False when not (answered). */
static bool target_ok(dispatch_t *self, const char *id, const char *to, cmd_reply_t *reply)
{
    const Hotline__Status INVALID = HOTLINE__STATUS__INVALID;
    if (!*id)
        cmd_refuse(reply, INVALID, "redirectTicket.ticketId",
                   "required: the id of the ticket, as intake gave it (e.g. 20261125-1-000123)");
    else if (strlen(id) > DISPATCH_TICKET_ID_MAX)
        cmd_refuse(reply, INVALID, "redirectTicket.ticketId",
                   "longer than %d bytes: no ticket has such an id", DISPATCH_TICKET_ID_MAX);
    else if (!*to)
        cmd_refuse(reply, INVALID, "redirectTicket.toUnit",
                   "required: the unit to send the ticket to (GET /v1/catalogue lists them)");
    else if (strlen(to) > DISPATCH_UNIT_ID_MAX || !dispatch_catalogue_unit_name(self->cat, to))
        cmd_refuse(reply, INVALID, "redirectTicket.toUnit",
                   "unit '%.64s' is not in the catalogue (GET /v1/catalogue lists them)", to);
    else
        return true;
    return false;
}

int dispatch_redirect(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply)
{
    const Hotline__RedirectTicket *rt = cmd->redirect_ticket;
    const char *id = str_or_empty(rt->ticket_id), *to = str_or_empty(rt->to_unit);
    const char *reason = str_or_empty(rt->reason);
    if (!target_ok(self, id, to, reply) ||
        !dispatch_text_ok(reply, "redirectTicket.reason", reason, DISPATCH_NOTE_MAX_CHARS,
                          "say why the ticket changes unit"))
        return 0;
    dispatch_assignment_t old;
    int rc = dispatch_assignment_get(self, txn, id, &old);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "redirectTicket.ticketId",
                          "ticket %s is not at dispatch: check the id", id);
    if (rc)
        return rc;
    switch (old.state) {
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED:
    case HOTLINE__TICKET_STATUS__TICKET_REWORK: break;
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "redirectTicket.ticketId",
                          "ticket %s is signed for by unit %s: a signed ticket changes unit "
                          "only when that unit asks to return it",
                          id, old.unit);
    default:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "redirectTicket.ticketId",
                          "ticket %s is %s: only a ticket waiting to be signed for is "
                          "redirected", id, dispatch_state_name(old.state));
    }
    if (strcmp(old.unit, to) == 0)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "redirectTicket.toUnit",
                          "ticket %s is already with unit %s", id, to);
    /* old's strings live in the store's page: copy the one needed after the write. */
    char *from = arena_strdup(reply->arena, old.unit);
    if (!from)
        return HL_ENOMEM;
    dispatch_assignment_t a = old;
    a.unit = to;
    a.designated = rt->designated;
    a.updated_ms = hclock_now_ms(self->clock);
    rc = dispatch_assignment_put(self, txn, &a, &old);
    if (rc)
        return rc;
    Hotline__TicketRedirected body = HOTLINE__TICKET_REDIRECTED__INIT;
    body.from_unit = from;
    body.to_unit = (char *)to;
    body.round = a.round;
    body.reason = (char *)reason;
    body.designated = rt->designated;
    body.by = cmd->by ? cmd->by->name : (char *)str_or_empty(cmd->actor);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REDIRECTED;
    ev.ticket_redirected = &body;
    rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, to, a.state, a.round);
}
