/* dispatch_workflow: the unit's steps between signing and replying (docs/domain.md lifecycle):
 * the first contact with the citizen (the response clock stops at it) and progress notes.
 *
 * Like sign and reply (dispatch_commands.c): inside the group-commit transaction, every check
 * before the first write, refusals naming the field. Each step is an event in dispatch's log;
 * the record keeps the first contact of the round and how many notes there are. Notes and
 * contact notes are free text: views other than the holding unit's mask phone numbers in them.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"

#include <string.h>

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

int dispatch_contact(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                     cmd_reply_t *reply)
{
    const Hotline__ContactCitizen *cc = cmd->contact_citizen;
    const char *id = str_or_empty(cc->ticket_id), *unit = str_or_empty(cc->unit);
    const char *note = str_or_empty(cc->note);
    if (!dispatch_text_ok(reply, "contactCitizen.note", note, DISPATCH_NOTE_MAX_CHARS, NULL))
        return 0;
    dispatch_assignment_t old;
    int rc = dispatch_load_held(self, txn, cmd, "contactCitizen", id, &unit, reply, &old);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    switch (old.state) {
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED: break;
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED:
    case HOTLINE__TICKET_STATUS__TICKET_REWORK:
        return dispatch_refuse_unsigned(reply, "contactCitizen", id, &old);
    default:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "contactCitizen.ticketId",
                          "ticket %s is %s: contact is recorded between signing and replying",
                          id, dispatch_state_name(old.state));
    }
    int64_t now = hclock_now_ms(self->clock);
    bool first = old.contacted_ms == 0;
    dispatch_assignment_t a = old;
    if (first)
        a.contacted_ms = now;
    a.updated_ms = now;
    rc = dispatch_assignment_put(self, txn, &a, &old);
    if (rc)
        return rc;
    Hotline__CitizenContacted body = HOTLINE__CITIZEN_CONTACTED__INIT;
    body.unit = (char *)unit;
    body.round = a.round;
    body.note = (char *)note;
    body.first = first;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_CITIZEN_CONTACTED;
    ev.citizen_contacted = &body;
    rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, unit, a.state, a.round);
}

int dispatch_note(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                  cmd_reply_t *reply)
{
    const Hotline__AddTicketNote *an = cmd->add_ticket_note;
    const char *id = str_or_empty(an->ticket_id), *unit = str_or_empty(an->unit);
    const char *text = str_or_empty(an->text);
    if (!dispatch_text_ok(reply, "addTicketNote.text", text, DISPATCH_NOTE_MAX_CHARS,
                          "say what happened, in a sentence"))
        return 0;
    dispatch_assignment_t old;
    bool assisting = false;
    int rc = dispatch_load_held_or_assisted(self, txn, cmd, "addTicketNote", id, &unit, reply,
                                            &old, &assisting);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    switch (old.state) {
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED:
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED:
    case HOTLINE__TICKET_STATUS__TICKET_REWORK:
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED: break;
    default:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "addTicketNote.ticketId",
                          "ticket %s is %s: notes go on open tickets", id,
                          dispatch_state_name(old.state));
    }
    dispatch_assignment_t a = old;
    a.notes++;
    a.updated_ms = hclock_now_ms(self->clock);
    rc = dispatch_assignment_put(self, txn, &a, &old);
    if (rc)
        return rc;
    Hotline__TicketNoted body = HOTLINE__TICKET_NOTED__INIT;
    body.unit = (char *)unit;
    body.round = a.round;
    body.text = (char *)text;
    body.assisting = assisting;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_NOTED;
    ev.ticket_noted = &body;
    rc = dispatch_append(self, txn, id, &ev);
    return rc ? rc : dispatch_action_answer(reply, id, unit, a.state, a.round);
}
