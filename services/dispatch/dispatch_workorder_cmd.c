/* dispatch_workorder_cmd: the work order commands.
 *   RaiseWorkOrder         dispatcher: for a ticket or an incident, with a crew
 *   CancelWorkOrder        dispatcher: the crew system is told
 *   UpdateWorkOrderStatus  the crew holding it: ASSIGNED, EN_ROUTE, ON_SITE, DONE, forward only
 *   ReplayDeadLetter       dispatcher, admin (dispatch_crew.c)
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "mask.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_MAX_CHARS 1000 /* under pbjson's 1024 per string */
#define PHOTOS_MAX 20      /* in one update */
#define PHOTOS_KEPT 100    /* on one work order */
#define PHOTO_URL_MAX 2048

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static int answer(cmd_reply_t *reply, Hotline__WorkOrder *wo, bool existing)
{
    Hotline__WorkOrderResult *res = arena_alloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__work_order_result__init(res);
    res->work_order = wo;
    res->existing = existing;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_WORK_ORDER;
    reply->msg->work_order = res;
    return 0;
}

/* The configured crews, "a, b, c", for refusals (arena). */
static char *crew_names(dispatch_t *self, arena_t *arena)
{
    char *out = arena_strdup(arena, "");
    for (size_t i = 0; out && self->crews && i < self->crews->n; i++)
        out = arena_printf(arena, "%s%s%s", out, i ? ", " : "", self->crews->crew[i].unit);
    return out && *out ? out : "none are configured (crews[])";
}

static int refuse_crew(dispatch_t *self, cmd_reply_t *reply, const char *crew)
{
    return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "raiseWorkOrder.crew",
                      "'%.64s' is not a crew; crews: %s", crew, crew_names(self, reply->arena));
}

static int raise_for_ticket(dispatch_t *self, MDB_txn *txn, const Hotline__RaiseWorkOrder *r,
                            const char *by, cmd_reply_t *reply, dispatch_wo_request_t *rq)
{
    const char *id = r->ticket_id;
    dispatch_assignment_t a;
    int rc = dispatch_assignment_get(self, txn, id, &a);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "raiseWorkOrder.ticketId",
                          "ticket %.64s is not at dispatch: check the id", id);
    if (rc)
        return rc;
    if (a.state == HOTLINE__TICKET_STATUS__TICKET_CLOSED)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "raiseWorkOrder.ticketId",
                          "ticket %s is CLOSED: there is nothing left to repair", id);
    arena_t *ar = reply->arena;
    rq->ticket_id = id;
    rq->crew = r->crew && *r->crew ? r->crew : arena_strdup(ar, a.unit);
    rq->category = arena_strdup(ar, a.category_code);
    rq->district = arena_strdup(ar, a.district);
    rq->urgency = a.urgency;
    rc = dispatch_workorder_brief(self, txn, id, ar, rq);
    if (rc)
        return rc;
    rq->raised_by = by;
    rq->trigger = "dispatcher";
    return rq->crew && rq->category && rq->district ? 0 : HL_ENOMEM;
}

static int raise_for_incident(dispatch_t *self, MDB_txn *txn, const Hotline__RaiseWorkOrder *r,
                              const char *by, cmd_reply_t *reply, dispatch_wo_request_t *rq)
{
    Hotline__IncidentDeclared *inc;
    bool closed = false;
    int rc = dispatch_incident_get(self, txn, r->incident_id, reply->arena, &inc, &closed);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, "raiseWorkOrder.incidentId",
                          "incident %.64s is not known: GET /v1/incidents lists them",
                          r->incident_id);
    if (rc)
        return rc;
    if (closed)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "raiseWorkOrder.incidentId",
                          "incident %s is closed", r->incident_id);
    const Hotline__IncidentArea *area = inc->area;
    rq->incident_id = r->incident_id;
    rq->crew = r->crew && *r->crew ? r->crew : str_or_empty(inc->unit);
    rq->category = inc->category_prefix;
    rq->district = area ? area->district : "";
    rq->location = area ? arena_printf(reply->arena, "%s%s%s", str_or_empty(area->street),
                                       area->street && *area->street ? ", " : "",
                                       str_or_empty(area->community))
                        : "";
    rq->description = inc->summary;
    rq->urgency = HOTLINE__URGENCY__URGENCY_URGENT;
    rq->raised_by = by;
    rq->trigger = "incident";
    return 0;
}

static int raise_cmd(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                     cmd_reply_t *reply)
{
    const Hotline__RaiseWorkOrder *r = cmd->raise_work_order;
    bool ticket = r->ticket_id && *r->ticket_id, incident = r->incident_id && *r->incident_id;
    if (ticket == incident)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "raiseWorkOrder.ticketId",
                          "give exactly one of ticketId and incidentId");
    if (strlen(ticket ? r->ticket_id : r->incident_id) > DISPATCH_TICKET_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID,
                          ticket ? "raiseWorkOrder.ticketId" : "raiseWorkOrder.incidentId",
                          "longer than %d bytes", DISPATCH_TICKET_ID_MAX);
    if (!dispatch_text_ok(reply, "raiseWorkOrder.note", str_or_empty(r->note), NOTE_MAX_CHARS,
                          NULL))
        return 0;
    const char *by = cmd->by && cmd->by->name && *cmd->by->name ? cmd->by->name : "dispatcher";
    dispatch_wo_request_t rq = {.note = r->note};
    int rc = ticket ? raise_for_ticket(self, txn, r, by, reply, &rq)
                    : raise_for_incident(self, txn, r, by, reply, &rq);
    if (rc || reply->msg->status != HOTLINE__STATUS__OK)
        return rc;
    if (!dispatch_crew_connector(self, rq.crew))
        return refuse_crew(self, reply, rq.crew);
    Hotline__WorkOrder *wo;
    bool existing;
    rc = dispatch_workorder_raise_in(self, txn, &rq, reply->arena, &wo, &existing);
    return rc ? rc : answer(reply, wo, existing);
}

/* ---- a crew's status ---------------------------------------------------------------------- */

static bool url_ok(const char *u)
{
    size_t n = strlen(u);
    if (n > PHOTO_URL_MAX || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
        return false;
    size_t scheme = u[4] == 's' ? 8 : 7;
    if (n == scheme)
        return false;
    for (size_t i = 0; i < n; i++)
        if (u[i] < 0x21 || u[i] > 0x7e)
            return false;
    return true;
}

/* Load the work order named in a command; refuses (NOT_FOUND) when there is none. */
static int load(dispatch_t *self, MDB_txn *txn, const char *id, const char *field,
                cmd_reply_t *reply, Hotline__WorkOrder **wo)
{
    if (!*id || strlen(id) > DISPATCH_WO_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field,
                          "required: a work order id (WO-..., at most %d bytes)",
                          DISPATCH_WO_ID_MAX);
    int rc = dispatch_workorder_get(self, txn, id, reply->arena, wo);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, field,
                          "work order %s is not known: check the id", id);
    return rc;
}

static int status_cmd(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply)
{
    const Hotline__UpdateWorkOrderStatus *u = cmd->update_work_order_status;
    Hotline__WorkOrderState st = u->status;
    if (st < HOTLINE__WORK_ORDER_STATE__WORK_ORDER_ASSIGNED ||
        st > HOTLINE__WORK_ORDER_STATE__WORK_ORDER_DONE)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "updateWorkOrderStatus.status",
                          "required: one of ASSIGNED, EN_ROUTE, ON_SITE, DONE");
    const char *note = str_or_empty(u->note);
    if (!dispatch_text_ok(reply, "updateWorkOrderStatus.note", note, NOTE_MAX_CHARS, NULL))
        return 0;
    if (u->n_photo_urls > PHOTOS_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "updateWorkOrderStatus.photoUrls",
                          "%zu photos; at most %d in one update", u->n_photo_urls, PHOTOS_MAX);
    for (size_t i = 0; i < u->n_photo_urls; i++)
        if (!url_ok(u->photo_urls[i])) {
            char field[64];
            snprintf(field, sizeof field, "updateWorkOrderStatus.photoUrls[%zu]", i);
            return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field,
                              "not an http:// or https:// URL of at most %d printable "
                              "characters without spaces",
                              PHOTO_URL_MAX);
        }
    const char *id = str_or_empty(u->work_order_id);
    Hotline__WorkOrder *wo = NULL;
    int rc = load(self, txn, id, "updateWorkOrderStatus.workOrderId", reply, &wo);
    if (rc || !wo)
        return rc;
    const Hotline__Principal *by = cmd->by;
    if (by && by->role != HOTLINE__ROLE__ROLE_CREW)
        return cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, "updateWorkOrderStatus",
                          "only a crew reports on a work order: it needs a crew:<crew id> token");
    if (by && strcmp(str_or_empty(by->subject), wo->crew) != 0)
        return cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, "updateWorkOrderStatus.workOrderId",
                          "work order %s is not crew %s's: only the crew it was sent to "
                          "reports on it, with a crew:<that crew> token",
                          id, str_or_empty(by->subject));
    if (wo->state == HOTLINE__WORK_ORDER_STATE__WORK_ORDER_CANCELLED)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "updateWorkOrderStatus.workOrderId",
                          "work order %s was cancelled: stop work on it", id);
    if (wo->state == HOTLINE__WORK_ORDER_STATE__WORK_ORDER_DONE)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "updateWorkOrderStatus.workOrderId",
                          "work order %s is already DONE", id);
    if (st < wo->state)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "updateWorkOrderStatus.status",
                          "work order %s is %s: a status only moves forward (ASSIGNED, "
                          "EN_ROUTE, ON_SITE, DONE)",
                          id, wo->state == HOTLINE__WORK_ORDER_STATE__WORK_ORDER_EN_ROUTE ? "EN_ROUTE"
                              : wo->state == HOTLINE__WORK_ORDER_STATE__WORK_ORDER_ON_SITE
                                  ? "ON_SITE"
                                  : "ASSIGNED");
    if (wo->n_photo_urls + u->n_photo_urls > PHOTOS_KEPT)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "updateWorkOrderStatus.photoUrls",
                          "work order %s has %zu photos; at most %d are kept", id,
                          wo->n_photo_urls, PHOTOS_KEPT);
    char *masked = mask_phones_dup(note);
    if (!masked)
        return HL_ENOMEM;
    char **photos = arena_alloc(reply->arena, (wo->n_photo_urls + u->n_photo_urls + 1) *
                                                  sizeof *photos);
    if (!photos) {
        free(masked);
        return HL_ENOMEM;
    }
    if (wo->n_photo_urls)
        memcpy(photos, wo->photo_urls, wo->n_photo_urls * sizeof *photos);
    if (u->n_photo_urls)
        memcpy(photos + wo->n_photo_urls, u->photo_urls, u->n_photo_urls * sizeof *photos);
    wo->photo_urls = photos;
    wo->n_photo_urls += u->n_photo_urls;
    wo->state = st;
    wo->status_note = arena_strdup(reply->arena, masked);
    wo->updated_ms = hclock_now_ms(self->clock);
    Hotline__WorkOrderStatus ws = HOTLINE__WORK_ORDER_STATUS__INIT;
    ws.work_order_id = wo->id;
    ws.crew = wo->crew;
    ws.status = st;
    ws.note = masked;
    ws.n_photo_urls = u->n_photo_urls;
    ws.photo_urls = u->photo_urls;
    ws.by = by ? by->name : "";
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_WORK_ORDER_STATUS;
    ev.work_order_status = &ws;
    rc = wo->status_note ? dispatch_workorder_store(self, txn, wo) : HL_ENOMEM;
    if (!rc)
        rc = dispatch_append(self, txn, str_or_empty(wo->ticket_id), &ev);
    free(masked);
    return rc ? rc : answer(reply, wo, false);
}

static int cancel_cmd(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                      cmd_reply_t *reply)
{
    const Hotline__CancelWorkOrder *c = cmd->cancel_work_order;
    const char *reason = str_or_empty(c->reason);
    if (!dispatch_text_ok(reply, "cancelWorkOrder.reason", reason, NOTE_MAX_CHARS,
                          "say why, for the crew"))
        return 0;
    const char *id = str_or_empty(c->work_order_id);
    Hotline__WorkOrder *wo = NULL;
    int rc = load(self, txn, id, "cancelWorkOrder.workOrderId", reply, &wo);
    if (rc || !wo)
        return rc;
    if (wo->state == HOTLINE__WORK_ORDER_STATE__WORK_ORDER_CANCELLED ||
        wo->state == HOTLINE__WORK_ORDER_STATE__WORK_ORDER_DONE)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "cancelWorkOrder.workOrderId",
                          "work order %s is already %s", id,
                          wo->state == HOTLINE__WORK_ORDER_STATE__WORK_ORDER_DONE ? "DONE"
                                                                                  : "CANCELLED");
    rc = dispatch_workorder_change(self, txn, wo,
                                   HOTLINE__WORK_ORDER_CHANGE__WORK_ORDER_CHANGE_CANCELLED, reason,
                                   reply->arena);
    return rc ? rc : answer(reply, wo, false);
}

int dispatch_workorder_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                               cmd_reply_t *reply)
{
    if (!self->crews)
        return cmd_refuse(reply, HOTLINE__STATUS__UNAVAILABLE, "body",
                          "work orders are not open in this process");
    switch (cmd->body_case) {
    case HOTLINE__COMMAND__BODY_RAISE_WORK_ORDER: return raise_cmd(self, txn, cmd, reply);
    case HOTLINE__COMMAND__BODY_UPDATE_WORK_ORDER_STATUS: return status_cmd(self, txn, cmd, reply);
    case HOTLINE__COMMAND__BODY_CANCEL_WORK_ORDER: return cancel_cmd(self, txn, cmd, reply);
    case HOTLINE__COMMAND__BODY_REPLAY_DEAD_LETTER: return dispatch_crews_replay(self, txn, cmd, reply);
    default: return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "body", "not a work order command");
    }
}
