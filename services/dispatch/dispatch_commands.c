/* dispatch_commands: what a unit does with a ticket it holds: sign for it (签收), reply; and
 * the command switch (contact and notes: dispatch_workflow.c, incidents: dispatch_incident.c).
 *
 * Runs inside the group-commit transaction (cmdexec). Every check happens before the first
 * write, and a refusal names the field and what would make the command acceptable; cmdexec
 * rolls back whatever a refused command wrote anyway. Field names are those of the Command
 * as JSON ("signTicket.unit"), the same whether the command came over the bus, through
 * POST /v1/commands or through POST /v1/tickets/{id}/sign.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "mask.h"
#include "pbjson.h"
#include "slog.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

bool dispatch_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

int dispatch_append(dispatch_t *self, MDB_txn *txn, const char *ticket_id, Hotline__Event *ev)
{
    ev->ticket_id = (char *)ticket_id;
    return evlog_append(self->log, txn, ev);
}

bool dispatch_text_ok(cmd_reply_t *reply, const char *field, const char *text, long max_chars,
                      const char *required)
{
    long chars = utf8_chars(text);
    if (chars < 0)
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, field, "is not valid UTF-8");
    else if (required && dispatch_blank(text))
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, field, "required: %s", required);
    else if (chars > max_chars)
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, field, "is %ld characters long; at most %ld",
                   chars, max_chars);
    else
        return true;
    return false;
}

int dispatch_refuse_unsigned(cmd_reply_t *reply, const char *name, const char *ticket_id,
                             const dispatch_assignment_t *a)
{
    char field[48];
    snprintf(field, sizeof field, "%s.ticketId", name);
    return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, field,
                      "ticket %s is %s (round %u): sign for it first", ticket_id,
                      dispatch_state_name(a->state), (unsigned)a->round);
}

static int load_for_unit(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                         const char *name, const char *ticket_id, const char **unitp,
                         cmd_reply_t *reply, dispatch_assignment_t *a, bool *assisting);

int dispatch_load_held(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                       const char *name, const char *ticket_id, const char **unitp,
                       cmd_reply_t *reply, dispatch_assignment_t *a)
{
    return load_for_unit(self, txn, cmd, name, ticket_id, unitp, reply, a, NULL);
}

int dispatch_load_held_or_assisted(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                                   const char *name, const char *ticket_id, const char **unitp,
                                   cmd_reply_t *reply, dispatch_assignment_t *a, bool *assisting)
{
    return load_for_unit(self, txn, cmd, name, ticket_id, unitp, reply, a, assisting);
}

/* assisting NULL: the unit must hold the ticket; otherwise assisting on it will do, and
 * *assisting tells which. */
static int load_for_unit(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                         const char *name, const char *ticket_id, const char **unitp,
                         cmd_reply_t *reply, dispatch_assignment_t *a, bool *assisting)
{
    char fid[48], funit[48];
    snprintf(fid, sizeof fid, "%s.ticketId", name);
    snprintf(funit, sizeof funit, "%s.unit", name);
    const Hotline__Principal *by = cmd->by;
    if (by && by->role == HOTLINE__ROLE__ROLE_UNIT) {
        if (**unitp && strcmp(*unitp, by->subject) != 0) {
            cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, funit,
                       "your token acts for unit %s, not %.64s: leave unit out, or use a "
                       "token of that unit", by->subject, *unitp);
            return DISPATCH_REFUSED;
        }
        *unitp = by->subject;
    }
    const char *unit = *unitp;
    if (!*ticket_id) {
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, fid,
                   "required: the id of the ticket, as intake gave it "
                   "(e.g. 20261125-1-000123)");
        return DISPATCH_REFUSED;
    }
    if (strlen(ticket_id) > DISPATCH_TICKET_ID_MAX) {
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, fid,
                   "longer than %d bytes: no ticket has such an id", DISPATCH_TICKET_ID_MAX);
        return DISPATCH_REFUSED;
    }
    if (!*unit) {
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, funit,
                   "required: the id of the unit acting, which must hold the ticket");
        return DISPATCH_REFUSED;
    }
    if (strlen(unit) > DISPATCH_UNIT_ID_MAX) {
        cmd_refuse(reply, HOTLINE__STATUS__INVALID, funit,
                   "longer than %d bytes: no unit has such an id "
                   "(GET /v1/catalogue lists them)",
                   DISPATCH_UNIT_ID_MAX);
        return DISPATCH_REFUSED;
    }
    /* With access checks off (tests of the runtime), an actor that says it is a unit may at
     * least not act for another one. */
    const char *actor = str_or_empty(cmd->actor);
    if (strncmp(actor, "unit:", 5) == 0 && strcmp(actor + 5, unit) != 0) {
        cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, "actor",
                   "actor %.80s may not act for unit %s", actor, unit);
        return DISPATCH_REFUSED;
    }
    int rc = dispatch_assignment_get(self, txn, ticket_id, a);
    if (rc == HL_ENOTFOUND) {
        cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, fid,
                   "ticket %s is not at dispatch: check the id (a ticket just "
                   "submitted to intake arrives here within moments)",
                   ticket_id);
        return DISPATCH_REFUSED;
    }
    if (rc)
        return rc;
    if (assisting)
        *assisting = strcmp(a->unit, unit) != 0 && dispatch_assists_on(self, txn, ticket_id, unit);
    if (strcmp(a->unit, unit) != 0 && !(assisting && *assisting)) {
        /* Not naming the holder: a unit learns nothing of other units' tickets. */
        cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, funit,
                   "ticket %s is not with unit %s: a unit acts only on the tickets it holds",
                   ticket_id, unit);
        return DISPATCH_REFUSED;
    }
    return 0;
}

int dispatch_action_answer(cmd_reply_t *reply, const char *ticket_id, const char *unit,
                           Hotline__TicketStatus status, uint32_t round)
{
    Hotline__TicketActionResult *res = arena_alloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__ticket_action_result__init(res);
    res->ticket_id = arena_strdup(reply->arena, ticket_id);
    res->unit = arena_strdup(reply->arena, unit);
    if (!res->ticket_id || !res->unit)
        return HL_ENOMEM;
    res->status = status;
    res->round = round;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_TICKET_ACTION;
    reply->msg->ticket_action = res;
    return 0;
}

static int sign(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply)
{
    const Hotline__SignTicket *st = cmd->sign_ticket;
    const char *id = str_or_empty(st->ticket_id), *unit = str_or_empty(st->unit);
    dispatch_assignment_t old;
    int rc = dispatch_load_held(self, txn, cmd, "signTicket", id, &unit, reply, &old);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    switch (old.state) {
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED:
    case HOTLINE__TICKET_STATUS__TICKET_REWORK: break;
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "signTicket.ticketId",
                          "ticket %s is already SIGNED (round %u): "
                          "reply when the work is done",
                          id, (unsigned)old.round);
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "signTicket.ticketId",
                          "ticket %s is REPLIED (round %u) and waits for the callback; it "
                          "comes back as REWORK if the citizen is not satisfied",
                          id, (unsigned)old.round);
    default:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "signTicket.ticketId",
                          "ticket %s is %s: there is nothing to sign for", id,
                          dispatch_state_name(old.state));
    }
    int64_t now = hclock_now_ms(self->clock);
    dispatch_assignment_t a = old;
    a.state = HOTLINE__TICKET_STATUS__TICKET_SIGNED;
    a.signed_ms = now;
    a.updated_ms = now;
    rc = dispatch_assignment_put(self, txn, &a, &old);
    if (rc)
        return rc;
    Hotline__TicketSigned ts = HOTLINE__TICKET_SIGNED__INIT;
    ts.unit = (char *)unit;
    ts.round = a.round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_SIGNED;
    ev.ticket_signed = &ts;
    rc = evlog_append(self->log, txn, &ev);
    if (!rc)
        rc = dispatch_action_answer(reply, id, unit, a.state, a.round);
    return rc;
}

static int reply_ticket(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                        cmd_reply_t *reply)
{
    const Hotline__ReplyTicket *rt = cmd->reply_ticket;
    const char *id = str_or_empty(rt->ticket_id), *unit = str_or_empty(rt->unit);
    const char *result = str_or_empty(rt->result);
    /* Protobuf-c does not check strings on unpack, and the reply text is read out to
     * citizens and shown on web pages. */
    if (!dispatch_text_ok(reply, "replyTicket.result", result, DISPATCH_RESULT_MAX_CHARS,
                          "say what was done, in words the citizen is told"))
        return 0;
    dispatch_assignment_t old;
    int rc = dispatch_load_held(self, txn, cmd, "replyTicket", id, &unit, reply, &old);
    if (rc)
        return rc == DISPATCH_REFUSED ? 0 : rc;
    switch (old.state) {
    case HOTLINE__TICKET_STATUS__TICKET_SIGNED: break;
    case HOTLINE__TICKET_STATUS__TICKET_DISPATCHED:
    case HOTLINE__TICKET_STATUS__TICKET_REWORK:
        return dispatch_refuse_unsigned(reply, "replyTicket", id, &old);
    case HOTLINE__TICKET_STATUS__TICKET_REPLIED:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "replyTicket.ticketId",
                          "ticket %s is already REPLIED in round %u; "
                          "it waits for the callback",
                          id, (unsigned)old.round);
    default:
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "replyTicket.ticketId",
                          "ticket %s is %s: there is nothing to reply to", id,
                          dispatch_state_name(old.state));
    }
    if (dispatch_on_hold(self, txn, id, &rc))
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "replyTicket.ticketId",
                          "ticket %s is on hold: a dispatcher resumes it before the reply "
                          "(POST /v1/holds/%s {\"resume\": true})", id, id);
    if (rc)
        return rc;
    int64_t now = hclock_now_ms(self->clock);
    dispatch_assignment_t a = old;
    a.state = HOTLINE__TICKET_STATUS__TICKET_REPLIED;
    a.result = result;
    a.resolved = rt->resolved;
    a.replied_ms = now;
    a.updated_ms = now;
    rc = dispatch_assignment_put(self, txn, &a, &old);
    if (rc)
        return rc;
    Hotline__TicketReplied tr = HOTLINE__TICKET_REPLIED__INIT;
    tr.unit = (char *)unit;
    tr.result = (char *)result;
    tr.resolved = rt->resolved;
    tr.round = a.round;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.ticket_id = (char *)id;
    ev.body_case = HOTLINE__EVENT__BODY_TICKET_REPLIED;
    ev.ticket_replied = &tr;
    rc = evlog_append(self->log, txn, &ev);
    if (!rc)
        rc = dispatch_action_answer(reply, id, unit, a.state, a.round);
    return rc;
}

int dispatch_command(void *state, MDB_txn *txn, const Hotline__Command *cmd, cmd_reply_t *reply)
{
    dispatch_t *self = state;
    if (cmd->body_case == HOTLINE__COMMAND__BODY_SIGN_TICKET && cmd->sign_ticket)
        return sign(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REPLY_TICKET && cmd->reply_ticket)
        return reply_ticket(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_CONTACT_CITIZEN && cmd->contact_citizen)
        return dispatch_contact(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_ADD_TICKET_NOTE && cmd->add_ticket_note)
        return dispatch_note(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REQUEST_RETURN && cmd->request_return)
        return dispatch_request_return(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REVIEW_RETURN && cmd->review_return)
        return dispatch_review_return(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REQUEST_EXTENSION && cmd->request_extension)
        return dispatch_request_extension(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REVIEW_EXTENSION && cmd->review_extension)
        return dispatch_review_extension(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REQUEST_TERMINATION && cmd->request_termination)
        return dispatch_request_termination(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REVIEW_TERMINATION && cmd->review_termination)
        return dispatch_review_termination(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_SUB_DISPATCH_TICKET && cmd->sub_dispatch_ticket)
        return dispatch_subdispatch(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_HOLD_TICKET && cmd->hold_ticket)
        return dispatch_hold(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_LOAD_CATALOGUE && cmd->load_catalogue)
        return dispatch_load_catalogue(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_REDIRECT_TICKET && cmd->redirect_ticket)
        return dispatch_redirect(self, txn, cmd, reply);
    if (cmd->body_case == HOTLINE__COMMAND__BODY_DECLARE_INCIDENT ||
        cmd->body_case == HOTLINE__COMMAND__BODY_UPDATE_INCIDENT ||
        cmd->body_case == HOTLINE__COMMAND__BODY_CLOSE_INCIDENT)
        return dispatch_incident_command(self, txn, cmd, reply);
    if ((cmd->body_case == HOTLINE__COMMAND__BODY_ACCEPT_HOTSPOT && cmd->accept_hotspot) ||
        (cmd->body_case == HOTLINE__COMMAND__BODY_DISMISS_HOTSPOT && cmd->dismiss_hotspot))
        return dispatch_hotspot_command(self, txn, cmd, reply);
    if ((cmd->body_case == HOTLINE__COMMAND__BODY_LINK_TICKETS && cmd->link_tickets) ||
        (cmd->body_case == HOTLINE__COMMAND__BODY_UNLINK_TICKET && cmd->unlink_ticket))
        return dispatch_link_command(self, txn, cmd, reply);
    if (cmd->body_case >= HOTLINE__COMMAND__BODY_RAISE_WORK_ORDER &&
        cmd->body_case <= HOTLINE__COMMAND__BODY_REPLAY_DEAD_LETTER)
        return dispatch_workorder_command(self, txn, cmd, reply);
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(&hotline__command__descriptor, cmd->body_case);
    char name[64] = "no action";
    if (f)
        pbjson_json_name(f->name, name, sizeof name);
    return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "body",
                      "dispatch takes signTicket, replyTicket, contactCitizen, addTicketNote, "
                      "requestReturn, reviewReturn, requestExtension, reviewExtension, "
                      "requestTermination, reviewTermination, subDispatchTicket, redirectTicket, "
                      "declareIncident, updateIncident, closeIncident, linkTickets, unlinkTicket, "
                      "loadCatalogue, raiseWorkOrder, cancelWorkOrder, updateWorkOrderStatus and "
                      "replayDeadLetter, "
                      "not %s (PROTOCOL.md says "
                      "which service takes which command)",
                      name);
}

int dispatch_pending_get(MDB_txn *txn, MDB_dbi dbi, const char *id,
                         const ProtobufCMessageDescriptor *desc, arena_t *arena,
                         ProtobufCMessage **out)
{
    MDB_val v;
    int rc = store_get(txn, dbi, id, strlen(id), &v);
    if (rc)
        return rc;
    *out = protobuf_c_message_unpack(desc, arena_allocator(arena), v.mv_size, v.mv_data);
    return *out ? 0 : HL_ECORRUPT;
}

int dispatch_pending_put(MDB_txn *txn, MDB_dbi dbi, const char *id, const ProtobufCMessage *msg)
{
    void *at;
    size_t len = protobuf_c_message_get_packed_size(msg);
    int rc = store_put_reserve(txn, dbi, id, strlen(id), len, 0, &at);
    if (!rc)
        protobuf_c_message_pack(msg, at);
    return rc;
}

typedef struct pending_walk {
    const ProtobufCMessageDescriptor *desc;
    dispatch_pending_json_fn fn;
    json_t *out;
    size_t limit;
} pending_walk_t;

static int pending_one(void *ctx, const store_entry_t *e)
{
    pending_walk_t *w = ctx;
    if (json_array_size(w->out) == w->limit)
        return 1;
    ProtobufCMessage *m = protobuf_c_message_unpack(w->desc, NULL, e->val.mv_size, e->val.mv_data);
    if (!m)
        return HL_ECORRUPT;
    json_t *j = w->fn((const char *)e->key.mv_data, e->key.mv_size, m);
    protobuf_c_message_free_unpacked(m, NULL);
    return j && json_array_append_new(w->out, j) == 0 ? 0 : HL_ENOMEM;
}

int dispatch_pending_list(MDB_txn *txn, MDB_dbi dbi, const ProtobufCMessageDescriptor *desc,
                          size_t limit, dispatch_pending_json_fn fn, json_t *out)
{
    pending_walk_t w = {desc, fn, out, limit};
    return store_scan(txn, dbi, NULL, pending_one, &w);
}

json_t *dispatch_masked_json(const char *text)
{
    char *m = mask_phones_dup(text ? text : "");
    json_t *j = m ? json_string(m) : NULL;
    free(m);
    return j;
}
