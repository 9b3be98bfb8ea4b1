/* dispatch_incident: incidents declared by dispatchers. An incident is one fault many people
 * report (a burst main, an outage): it has a category prefix, an area and an ETA. Intake
 * follows these events and joins new tickets in the incident's category and area to it at
 * the door, telling the caller the ETA; such tickets are not dispatched one by one.
 *
 *   POST /v1/incidents               {"categoryPrefix", "area": {...}, "etaMs", "summary", "unit"}
 *   POST /v1/incidents/{id}          {"etaMs", "summary"}              (update)
 *   POST /v1/incidents/{id}/close    {"resolution"}  (every linked ticket is replied with it:
 *                                    dispatch_close.c)
 *   POST /v1/incidents/{id}/link, /unlink                   (dispatch_link.c)
 *   GET  /v1/incidents[?all=true]    active ones (all with ?all=true)
 *
 * A wide incident (incidentLimits: a one-letter prefix, a whole district) swallows many
 * unrelated tickets, so only a supervisor may declare one. Summaries and resolutions are typed
 * by staff and read to callers: phone numbers in them are masked before they are stored.
 * Crews are a later issue. Loop thread. */
#include "dispatch_internal.h"
#include "dispatch_workorder.h"

#include "calendar.h"
#include "category.h"
#include "hl_error.h"
#include "incident.h"
#include "mask.h"
#include "pbjson.h"
#include "slog.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX 500
#define RESOLUTION_MAX 2000

/* The stored value: one byte (1 = closed) + the packed IncidentDeclared, kept current. */
static int incident_put(dispatch_t *self, MDB_txn *txn, const Hotline__IncidentDeclared *inc,
                        bool closed)
{
    size_t len = hotline__incident_declared__get_packed_size(inc);
    void *at;
    int rc = store_put_reserve(txn, self->incidents, inc->incident_id, strlen(inc->incident_id),
                               1 + len, 0, &at);
    if (rc)
        return rc;
    ((uint8_t *)at)[0] = closed ? 1 : 0;
    hotline__incident_declared__pack(inc, (uint8_t *)at + 1);
    return 0;
}

int dispatch_incident_get(dispatch_t *self, MDB_txn *txn, const char *id, arena_t *arena,
                          Hotline__IncidentDeclared **out, bool *closed)
{
    MDB_val v;
    int rc = store_get(txn, self->incidents, id, strlen(id), &v);
    if (rc)
        return rc;
    if (v.mv_size < 1)
        return HL_ECORRUPT;
    *closed = ((const uint8_t *)v.mv_data)[0] != 0;
    *out = hotline__incident_declared__unpack(arena_allocator(arena), v.mv_size - 1,
                                              (const uint8_t *)v.mv_data + 1);
    return *out ? 0 : HL_ECORRUPT;
}


static int append(dispatch_t *self, MDB_txn *txn, Hotline__Event *ev)
{
    return evlog_append(self->log, txn, ev);
}

/* Staff text for callers, with phone numbers masked (a copy in the reply's arena). */
static char *masked(cmd_reply_t *reply, const char *text)
{
    char *s = arena_strdup(reply->arena, text ? text : "");
    if (s)
        mask_phones(s);
    return s;
}

int dispatch_incident_declare(dispatch_t *self, MDB_txn *txn, const Hotline__DeclareIncident *d,
                              bool may_be_wide, cmd_reply_t *reply)
{
    const Hotline__Status INVALID = HOTLINE__STATUS__INVALID;
    if (!d->category_prefix || strlen(d->category_prefix) > 7 ||
        !category_prefix_valid(d->category_prefix))
        return cmd_refuse(reply, INVALID, "declareIncident.categoryPrefix",
                          "required: the category code or prefix the incident covers, e.g. W01");
    const Hotline__IncidentArea *a = d->area;
    if (!a || ((!a->district || !*a->district) && (!a->street || !*a->street) &&
               (!a->community || !*a->community)))
        return cmd_refuse(reply, INVALID, "declareIncident.area",
                          "required: the district, street or community it covers (an incident "
                          "everywhere would swallow every ticket)");
    if (!d->summary || !*d->summary || strlen(d->summary) > SUMMARY_MAX)
        return cmd_refuse(reply, INVALID, "declareIncident.summary",
                          "required, at most %d bytes: what callers are told", SUMMARY_MAX);
    char why[160];
    if (!may_be_wide &&
        incident_is_wide(self->cfg->incident_limits, d->category_prefix, a, why, sizeof why))
        return cmd_refuse(reply, HOTLINE__STATUS__FORBIDDEN, "declareIncident.area",
                          "a wide incident must be declared by a supervisor: %s "
                          "(incidentLimits); narrow it or ask a supervisor", why);
    int64_t now = hclock_now_ms(self->clock);
    if (d->eta_ms && d->eta_ms < now - 3600000)
        return cmd_refuse(reply, INVALID, "declareIncident.etaMs",
                          "the ETA is in the past; give UTC milliseconds of the expected fix");
    const char *unit = d->unit && *d->unit ? d->unit : NULL;
    dispatch_match_t m;
    if (!unit) {
        dispatch_catalogue_match(self->cat, d->category_prefix,
                                 a->district ? a->district : "", &m);
        unit = m.unit;
    } else if (!dispatch_catalogue_unit_name(self->cat, unit)) {
        return cmd_refuse(reply, INVALID, "declareIncident.unit",
                          "unit '%s' is not in the catalogue", unit);
    }
    /* INC-20261125-001: readable on the phone, like ticket ids, and dated like them: the
     * local day in the centre's configured zone, the one every service reads. */
    int y, mo, da;
    calendar_ymd_from_day(calendar_local_day(self->cal, now), &y, &mo, &da);
    char date[16];
    snprintf(date, sizeof date, "%04d%02d%02d", y, mo, da);
    uint64_t seq;
    int rc = store_add_u64(txn, self->incident_seq, date, 8, 1, &seq);
    if (rc)
        return rc;
    char *id = arena_printf(reply->arena, "INC-%s-%03llu", date, (unsigned long long)seq);
    Hotline__IncidentDeclared inc = HOTLINE__INCIDENT_DECLARED__INIT;
    inc.incident_id = id;
    inc.category_prefix = d->category_prefix;
    inc.area = (Hotline__IncidentArea *)a;
    inc.eta_ms = d->eta_ms;
    inc.summary = masked(reply, d->summary);
    inc.unit = (char *)unit;
    if (!inc.summary)
        return HL_ENOMEM;
    rc = incident_put(self, txn, &inc, false);
    if (rc)
        return rc;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_INCIDENT_DECLARED;
    ev.incident_declared = &inc;
    rc = append(self, txn, &ev);
    if (rc)
        return rc;
    /* One crew work order per incident: an incident held by a crew sends it the job once,
     * however many callers join it. */
    if (dispatch_crew_connector(self, unit)) {
        char location[600];
        snprintf(location, sizeof location, "%s%s%s", a->street ? a->street : "",
                 a->street && *a->street && a->community && *a->community ? ", " : "",
                 a->community ? a->community : "");
        dispatch_wo_request_t wo = {
            .incident_id = id,
            .crew = unit,
            .category = d->category_prefix,
            .district = a->district,
            .location = location,
            .description = inc.summary,
            .raised_by = "dispatch",
            .trigger = "incident",
            .urgency = HOTLINE__URGENCY__URGENCY_URGENT,
        };
        bool existing;
        if ((rc = dispatch_workorder_raise(self, txn, &wo, NULL, &existing)))
            return rc;
    }
    Hotline__IncidentResult *res = arena_calloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__incident_result__init(res);
    res->incident_id = id;
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_INCIDENT;
    reply->msg->incident = res;
    SLOG_INFO("incident_declared", "incident=%s category=%s unit=%s", id, d->category_prefix,
              unit);
    return 0;
}

static int declare(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                   cmd_reply_t *reply)
{
    /* No principal: auth is off (in-process tests, the CLI on a local store). */
    bool supervisor = !cmd->by || cmd->by->role == HOTLINE__ROLE__ROLE_SUPERVISOR;
    return dispatch_incident_declare(self, txn, cmd->declare_incident, supervisor, reply);
}

/* Update or close: the incident must exist and be active. */
static int change(dispatch_t *self, MDB_txn *txn, const char *field, const char *id,
                  const Hotline__UpdateIncident *upd, const Hotline__CloseIncident *cls,
                  cmd_reply_t *reply)
{
    if (!id || !*id)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field, "required: the incident id");
    Hotline__IncidentDeclared *inc;
    bool closed;
    int rc = dispatch_incident_get(self, txn, id, reply->arena, &inc, &closed);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, field, "no incident %s", id);
    if (rc)
        return rc;
    if (closed)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, field, "incident %s is closed", id);
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    if (upd) {
        if (upd->summary && strlen(upd->summary) > SUMMARY_MAX)
            return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "updateIncident.summary",
                              "at most %d bytes", SUMMARY_MAX);
        /* Unset fields (0, "") leave what is there: an update may carry either. */
        if (upd->eta_ms && upd->eta_ms < hclock_now_ms(self->clock) - 3600000)
            return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "updateIncident.etaMs",
                              "the ETA is in the past; give UTC milliseconds of the expected "
                              "fix");
        if (upd->eta_ms)
            inc->eta_ms = upd->eta_ms;
        Hotline__IncidentUpdated *u = arena_calloc(reply->arena, sizeof *u);
        if (!u)
            return HL_ENOMEM;
        hotline__incident_updated__init(u);
        u->incident_id = upd->incident_id;
        u->eta_ms = upd->eta_ms;
        u->summary = upd->summary;
        if (upd->summary && *upd->summary && !(u->summary = masked(reply, upd->summary)))
            return HL_ENOMEM;
        if (u->summary && *u->summary)
            inc->summary = u->summary;
        ev.body_case = HOTLINE__EVENT__BODY_INCIDENT_UPDATED;
        ev.incident_updated = u;
    } else {
        if (!cls->resolution || dispatch_blank(cls->resolution))
            return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "closeIncident.resolution",
                              "required: what was done, told to every linked caller (their "
                              "tickets are replied with it)");
        if (!dispatch_text_ok(reply, "closeIncident.resolution", cls->resolution,
                              RESOLUTION_MAX, NULL))
            return 0;
        Hotline__IncidentClosed *c = arena_calloc(reply->arena, sizeof *c);
        if (!c)
            return HL_ENOMEM;
        hotline__incident_closed__init(c);
        c->incident_id = cls->incident_id;
        if (!(c->resolution = masked(reply, cls->resolution)))
            return HL_ENOMEM;
        ev.body_case = HOTLINE__EVENT__BODY_INCIDENT_CLOSED;
        ev.incident_closed = c;
    }
    rc = incident_put(self, txn, inc, cls != NULL);
    if (!rc)
        rc = append(self, txn, &ev);
    if (rc)
        return rc;
    Hotline__IncidentResult *res = arena_calloc(reply->arena, sizeof *res);
    if (!res)
        return HL_ENOMEM;
    hotline__incident_result__init(res);
    res->incident_id = arena_strdup(reply->arena, id);
    if (cls) {
        /* After IncidentClosed in the log: consumers learn the close before its replies. */
        unsigned replied = 0;
        bool closing = false;
        rc = dispatch_close_start(self, txn, res->incident_id, ev.incident_closed->resolution,
                                  &replied, &closing);
        if (rc)
            return rc;
        res->replied = replied;
        res->closing = closing;
        SLOG_INFO("incident_closed", "incident=%s replied=%u closing=%s", id, replied,
                  closing ? "true" : "false");
    }
    reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_INCIDENT;
    reply->msg->incident = res;
    return 0;
}

int dispatch_incident_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                              cmd_reply_t *reply)
{
    switch (cmd->body_case) {
    case HOTLINE__COMMAND__BODY_DECLARE_INCIDENT:
        return declare(self, txn, cmd, reply);
    case HOTLINE__COMMAND__BODY_UPDATE_INCIDENT:
        return change(self, txn, "updateIncident.incidentId", cmd->update_incident->incident_id,
                      cmd->update_incident, NULL, reply);
    default:
        return change(self, txn, "closeIncident.incidentId", cmd->close_incident->incident_id,
                      NULL, cmd->close_incident, reply);
    }
}

/* ---- HTTP ---- */

/* /link and /unlink: the id from the path goes into the command's incidentId. */
static void on_link(dispatch_t *self, httpd_req_t *req, const char *id, bool link)
{
    ProtobufCMessage *body = service_http_body(
        req, link ? &hotline__link_tickets__descriptor : &hotline__unlink_ticket__descriptor);
    if (!body)
        return;
    char **field = link ? &((Hotline__LinkTickets *)body)->incident_id
                        : &((Hotline__UnlinkTicket *)body)->incident_id;
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = strdup(id);
    Hotline__Command *cmd = service_command_new(
        link ? HOTLINE__COMMAND__BODY_LINK_TICKETS : HOTLINE__COMMAND__BODY_UNLINK_TICKET, body);
    if (!cmd || !*field) {
        if (cmd)
            protobuf_c_message_free_unpacked(&cmd->base, NULL);
        service_http_error(req, 503, NULL, "out of memory; retry");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

static void on_post(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char id[64], action[16], extra[2];
    int has_id = service_path_segment(req, 2, id, sizeof id);
    int has_action = service_path_segment(req, 3, action, sizeof action);
    bool too_long = has_id == HL_ETOOBIG || has_action == HL_ETOOBIG;
    bool is_link = has_action > 0 && strcmp(action, "link") == 0;
    bool is_unlink = has_action > 0 && strcmp(action, "unlink") == 0;
    if (too_long || (has_action > 0 && strcmp(action, "close") != 0 && !is_link && !is_unlink) ||
        service_path_segment(req, 4, extra, sizeof extra) != HL_ENOTFOUND) {
        service_http_error(req, 404, NULL, "POST /v1/incidents, /v1/incidents/{id}, "
                           "/v1/incidents/{id}/close, /link or /unlink");
        return;
    }
    if (is_link || is_unlink) {
        on_link(self, req, id, is_link);
        return;
    }
    const ProtobufCMessageDescriptor *desc =
        has_id <= 0 ? &hotline__declare_incident__descriptor
        : has_action > 0 ? &hotline__close_incident__descriptor
                         : &hotline__update_incident__descriptor;
    ProtobufCMessage *body = service_http_body(req, desc);
    if (!body)
        return;
    uint32_t body_case = HOTLINE__COMMAND__BODY_DECLARE_INCIDENT;
    if (has_id > 0 && has_action > 0) {
        Hotline__CloseIncident *c = (Hotline__CloseIncident *)body;
        if (c->incident_id != protobuf_c_empty_string)
            free(c->incident_id);
        c->incident_id = strdup(id);
        body_case = HOTLINE__COMMAND__BODY_CLOSE_INCIDENT;
    } else if (has_id > 0) {
        Hotline__UpdateIncident *u = (Hotline__UpdateIncident *)body;
        if (u->incident_id != protobuf_c_empty_string)
            free(u->incident_id);
        u->incident_id = strdup(id);
        body_case = HOTLINE__COMMAND__BODY_UPDATE_INCIDENT;
    }
    Hotline__Command *cmd = service_command_new(body_case, body);
    if (!cmd) {
        service_http_error(req, 503, NULL, "out of memory; retry");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

typedef struct list_walk {
    dispatch_t *self;
    MDB_txn *txn;
    json_t *list;
    bool want_all; /* closed ones too */
} list_walk_t;

/* A stored incident that does not decode is left out of the list, not an error. */
static int list_visit(void *ctx, const store_entry_t *e)
{
    const list_walk_t *w = ctx;
    const uint8_t *v = e->val.mv_data;
    if (e->val.mv_size < 1 || (v[0] && !w->want_all))
        return 0;
    Hotline__IncidentDeclared *inc =
        hotline__incident_declared__unpack(NULL, e->val.mv_size - 1, v + 1);
    if (!inc)
        return 0;
    json_t *j = pbjson_encode(&inc->base, false);
    if (j) {
        json_object_set_new(j, "closed", json_boolean(v[0] != 0));
        if (v[0] && dispatch_incident_closing(w->self, w->txn, inc->incident_id))
            json_object_set_new(j, "closing", json_true()); /* replies still being sent */
        json_array_append_new(w->list, j);
    }
    hotline__incident_declared__free_unpacked(inc, NULL);
    return 0;
}

static void on_list(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char all[8];
    bool want_all = httpd_query_param(httpd_req_query(req), "all", all, sizeof all) > 0 &&
                    strcmp(all, "true") == 0;
    MDB_txn *txn;
    if (store_read_begin(self->store, &txn)) {
        service_http_error(req, 503, NULL, "store unavailable");
        return;
    }
    list_walk_t w = {self, txn, json_array(), want_all};
    store_scan(txn, self->incidents, NULL, list_visit, &w); /* answers with what it read */
    store_read_end(&txn);
    service_http_json(req, 200, json_pack("{s:o}", "incidents", w.list));
}

/* Dispatchers declare, update, close, link and unlink; a supervisor may declare too (a wide
 * incident needs one); every role may see them (operators tell callers the ETA). */
static const service_route_t ROUTES[] = {
    {"POST", "/v1/incidents", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_post},
    {"POST", "/v1/incidents/*", AUTH_DISPATCHER, on_post},
    {"GET", "/v1/incidents", AUTH_ANY_ROLE, on_list},
};

int dispatch_incident_routes(dispatch_t *self, service_t *svc)
{
    return service_routes(svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
