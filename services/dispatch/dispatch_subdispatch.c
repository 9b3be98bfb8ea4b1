/* dispatch_subdispatch: the holding unit passes a ticket down to a subordinate unit (下派).
 *
 *   POST /v1/tickets/{id}/subdispatch  {"toUnit", "note"}   the holding unit
 *
 * The subordinate is a unit whose catalogue line names the holder as its parent (a district
 * office and its street offices). It holds the ticket from then on, in the state the ticket
 * was in: the round's clocks run on, since the hotline's deadline does not change with who
 * does the work. The parent keeps reading the ticket and may add notes (it is added to the
 * ticket's assisting units). Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"

#include <string.h>

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static int count_one(void *ctx, const char *unit)
{
    (void)unit;
    ++*(size_t *)ctx;
    return 0;
}

int dispatch_subdispatch(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                         cmd_reply_t *reply)
{
    const Hotline__SubDispatchTicket *sd = cmd->sub_dispatch_ticket;
    const char *id = str_or_empty(sd->ticket_id), *unit = str_or_empty(sd->unit);
    const char *to = str_or_empty(sd->to_unit), *note = str_or_empty(sd->note);
    if (!*to || strlen(to) > DISPATCH_UNIT_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "subDispatchTicket.toUnit",
                          "required: the subordinate unit to pass the ticket to");
    if (!dispatch_text_ok(reply, "subDispatchTicket.note", note, DISPATCH_NOTE_MAX_CHARS, NULL))
        return 0;
    dispatch_assignment_t old;
    int rc = dispatch_load_held(self, txn, cmd, "subDispatchTicket", id, &unit, reply, &old);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    const char *parent = dispatch_catalogue_parent(self->cat, to);
    if (!parent || strcmp(parent, unit) != 0)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "subDispatchTicket.toUnit",
                          "unit '%.64s' is not under unit %s in the catalogue (a unit line "
                          "names its parent); a dispatcher redirects to other units", to, unit);
    if (old.state != HOTLINE__TICKET_STATUS__TICKET_DISPATCHED &&
        old.state != HOTLINE__TICKET_STATUS__TICKET_SIGNED &&
        old.state != HOTLINE__TICKET_STATUS__TICKET_REWORK)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "subDispatchTicket.ticketId",
                          "ticket %s is %s: only a ticket not yet replied to is passed down", id,
                          dispatch_state_name(old.state));
    size_t readers = 0;
    if ((rc = dispatch_assists_each(self, txn, id, count_one, &readers)))
        return rc;
    if (readers >= DISPATCH_READERS_MAX - 1)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "subDispatchTicket.ticketId",
                          "ticket %s has been passed down too many times already (%zu units "
                          "read it); ask a dispatcher to redirect it", id, readers);
    /* unit may point into old's record: copy it before the write. */
    char from[DISPATCH_UNIT_ID_MAX + 1];
    strcpy(from, unit);
    dispatch_assignment_t a = old;
    a.unit = to;
    a.updated_ms = hclock_now_ms(self->clock);
    if ((rc = dispatch_assignment_put(self, txn, &a, &old)))
        return rc;
    if ((rc = dispatch_assists_add(self, txn, id, from)))
        return rc;
    Hotline__TicketSubDispatched body = HOTLINE__TICKET_SUB_DISPATCHED__INIT;
    body.from_unit = from;
    body.to_unit = (char *)to;
    body.round = a.round;
    body.note = (char *)note;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_SUB_DISPATCHED;
    ev.ticket_sub_dispatched = &body;
    rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, to, a.state, a.round);
}
