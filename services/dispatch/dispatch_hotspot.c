/* dispatch_hotspot: analytics' HotspotDetected turned into an incident by policy.
 *
 *   hotspots.mode "auto"     declared at once (its category prefix and area, the catalogue's
 *                            unit), then every open matching ticket linked, the hotspot's own
 *                            included; a wide one (incidentLimits) waits as a suggestion
 *   hotspots.mode "suggest"  kept for a dispatcher or supervisor (the default: a centre opts
 *                            into auto)
 *   hotspots.mode "off"      recorded as ignored
 * Whatever the mode, a hotspot an open incident already covers (same prefix, the incident's
 * area holds the hotspot's) is not declared again: its tickets are linked to that incident.
 *
 *   GET  /v1/hotspots[?all=true]         pending suggestions (all with ?all=true)
 *   POST /v1/hotspots/{id}/accept        declare it (AcceptHotspot)
 *   POST /v1/hotspots/{id}/dismiss       {"reason"} (DismissHotspot)
 *
 * Record: hotspot id -> state byte, incident id NUL, packed HotspotDetected; the feed apply
 * and the commands change it in their transaction, so a replayed HotspotDetected (already
 * recorded) changes nothing. Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "incident.h"
#include "mask.h"
#include "pbjson.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_MAX 500

typedef enum {
    HS_PENDING = 0,
    HS_ACCEPTED = 1,  /* declared (auto or by hand) */
    HS_DISMISSED = 2,
    HS_COVERED = 3,   /* an open incident held it already */
    HS_IGNORED = 4,   /* mode "off" */
} hs_state_t;

static const char *const STATE_NAMES[] = {"pending", "accepted", "dismissed", "covered",
                                          "ignored"};

int dispatch_hotspot_check(const Hotline__DispatchConfig *cfg, char *err, size_t err_size)
{
    const char *mode = cfg->hotspots ? cfg->hotspots->mode : "";
    if (strcmp(mode, "auto") && strcmp(mode, "suggest") && strcmp(mode, "off")) {
        snprintf(err, err_size, "hotspots.mode must be \"auto\", \"suggest\" or \"off\" (got "
                 "\"%.40s\")", mode);
        return HL_EINVAL;
    }
    return 0;
}

static const char *mode_of(const dispatch_t *self)
{
    return self->cfg->hotspots && self->cfg->hotspots->mode ? self->cfg->hotspots->mode : "";
}

/* ---- the record ---- */

static int record_put(dispatch_t *self, MDB_txn *txn, const Hotline__HotspotDetected *hd,
                      hs_state_t state, const char *incident)
{
    size_t il = strlen(incident), len = hotline__hotspot_detected__get_packed_size(hd);
    void *at;
    int rc = store_put_reserve(txn, self->hotspots, hd->hotspot_id, strlen(hd->hotspot_id),
                               1 + il + 1 + len, 0, &at);
    if (rc)
        return rc;
    uint8_t *p = at;
    p[0] = (uint8_t)state;
    memcpy(p + 1, incident, il + 1);
    hotline__hotspot_detected__pack(hd, p + 2 + il);
    return 0;
}

/* The record of id: state, incident id (copied into incident), message (into arena). */
static int record_parse(const MDB_val *v, arena_t *arena, hs_state_t *state, char *incident,
                        size_t incident_size, Hotline__HotspotDetected **hd)
{
    const uint8_t *p = v->mv_data;
    const uint8_t *nul = v->mv_size > 1 ? memchr(p + 1, 0, v->mv_size - 1) : NULL;
    if (!nul || p[0] > HS_IGNORED)
        return HL_ECORRUPT;
    *state = (hs_state_t)p[0];
    snprintf(incident, incident_size, "%.*s", (int)(nul - p - 1), (const char *)p + 1);
    size_t off = (size_t)(nul - p) + 1;
    *hd = hotline__hotspot_detected__unpack(arena ? arena_allocator(arena) : NULL,
                                            v->mv_size - off, p + off);
    return *hd ? 0 : HL_ECORRUPT;
}

/* ---- from a hotspot to an incident ---- */

/* The incident's area: the hotspot's district and street; a community only without a street
 * (a grid hotspot whose tickets share no street). */
static void area_of(const Hotline__HotspotDetected *hd, Hotline__IncidentArea *a)
{
    hotline__incident_area__init(a);
    a->district = hd->district;
    a->street = hd->street;
    a->community = hd->street && *hd->street ? "" : hd->community;
}

typedef struct cover_walk {
    const Hotline__HotspotDetected *hd;
    char id[DISPATCH_TICKET_ID_MAX + 1]; /* the covering incident, "" when none */
} cover_walk_t;

static int cover_visit(void *ctx, const store_entry_t *e)
{
    cover_walk_t *w = ctx;
    const uint8_t *v = e->val.mv_data;
    if (e->val.mv_size < 1 || v[0]) /* closed */
        return 0;
    Hotline__IncidentDeclared *inc =
        hotline__incident_declared__unpack(NULL, e->val.mv_size - 1, v + 1);
    if (!inc)
        return 0;
    Hotline__IncidentArea a;
    area_of(w->hd, &a);
    incident_place_t p = {w->hd->category_prefix, a.district, a.street, a.community};
    bool covers = incident_covers(inc, &p);
    if (covers)
        snprintf(w->id, sizeof w->id, "%s", inc->incident_id);
    hotline__incident_declared__free_unpacked(inc, NULL);
    return covers ? 1 : 0;
}

/* An open (not closed, not closing) incident covering hd, into id ("" when none). */
static int covering(dispatch_t *self, MDB_txn *txn, const Hotline__HotspotDetected *hd,
                    char id[DISPATCH_TICKET_ID_MAX + 1])
{
    cover_walk_t w = {.hd = hd};
    int rc = store_scan(txn, self->incidents, NULL, cover_visit, &w);
    if (!rc && *w.id && dispatch_incident_closing(self, txn, w.id))
        *w.id = '\0';
    snprintf(id, DISPATCH_TICKET_ID_MAX + 1, "%s", w.id);
    return rc;
}

/* Link the hotspot's tickets (and, with rule, every open ticket the incident covers). */
static int link_all(dispatch_t *self, MDB_txn *txn, const char *incident,
                    const Hotline__HotspotDetected *hd, bool rule, const char *by,
                    uint32_t *linked)
{
    uint32_t by_rule = 0, by_list = 0;
    int rc = rule ? dispatch_incident_link(self, txn, incident, NULL, 0, "hotspot", by, &by_rule)
                  : 0;
    if (!rc && hd->n_ticket_ids)
        rc = dispatch_incident_link(self, txn, incident, (const char *const *)hd->ticket_ids,
                                    hd->n_ticket_ids, "hotspot", by, &by_list);
    *linked = by_rule + by_list;
    return rc;
}

static int accepted_event(dispatch_t *self, MDB_txn *txn, const char *hotspot,
                          const char *incident, const char *how, const char *by, uint32_t linked)
{
    Hotline__HotspotAccepted ha = HOTLINE__HOTSPOT_ACCEPTED__INIT;
    ha.hotspot_id = (char *)hotspot;
    ha.incident_id = (char *)incident;
    ha.how = (char *)how;
    ha.by = (char *)by;
    ha.linked = linked;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_HOTSPOT_ACCEPTED;
    ev.hotspot_accepted = &ha;
    SLOG_INFO("hotspot_accepted", "hotspot=%s incident=%s how=%s linked=%u", hotspot, incident,
              how, linked);
    return evlog_append(self->log, txn, &ev);
}

/* Declare hd as an incident (answered in reply: a refusal leaves no writes), link its tickets,
 * and record it accepted. */
static int declare(dispatch_t *self, MDB_txn *txn, const Hotline__HotspotDetected *hd,
                   bool may_be_wide, const char *how, const char *by, cmd_reply_t *reply)
{
    Hotline__IncidentArea a;
    area_of(hd, &a);
    const char *place = *a.street ? a.street : *a.community ? a.community : a.district;
    char summary[400];
    snprintf(summary, sizeof summary, "hotspot: %u reports of %s in %s in %lld min", hd->count,
             hd->category_prefix, *place ? place : "one place",
             (long long)(hd->window_ms / 60000));
    Hotline__DeclareIncident d = HOTLINE__DECLARE_INCIDENT__INIT;
    d.category_prefix = hd->category_prefix;
    d.area = &a;
    d.summary = summary;
    int rc = dispatch_incident_declare(self, txn, &d, may_be_wide, reply);
    if (rc || reply->msg->status != HOTLINE__STATUS__OK)
        return rc;
    const char *incident = reply->msg->incident->incident_id;
    uint32_t linked = 0;
    if ((rc = link_all(self, txn, incident, hd, true, by, &linked)) ||
        (rc = record_put(self, txn, hd, HS_ACCEPTED, incident)))
        return rc;
    return accepted_event(self, txn, hd->hotspot_id, incident, how, by, linked);
}

int dispatch_apply_analytics(void *ctx, MDB_txn *txn, const Hotline__Event *ev)
{
    dispatch_t *self = ctx;
    const Hotline__HotspotDetected *hd = ev->hotspot_detected;
    if (ev->body_case != HOTLINE__EVENT__BODY_HOTSPOT_DETECTED || !hd || !hd->hotspot_id ||
        !*hd->hotspot_id || strlen(hd->hotspot_id) > DISPATCH_TICKET_ID_MAX ||
        !hd->category_prefix || !*hd->category_prefix)
        return 0;
    MDB_val v;
    int rc = store_get(txn, self->hotspots, hd->hotspot_id, strlen(hd->hotspot_id), &v);
    if (rc != HL_ENOTFOUND)
        return rc; /* 0: recorded already (a replay) */
    char incident[DISPATCH_TICKET_ID_MAX + 1];
    if ((rc = covering(self, txn, hd, incident)))
        return rc;
    if (*incident) {
        uint32_t linked = 0;
        if ((rc = link_all(self, txn, incident, hd, false, "dispatch", &linked)) ||
            (rc = record_put(self, txn, hd, HS_COVERED, incident)))
            return rc;
        return accepted_event(self, txn, hd->hotspot_id, incident, "covered", "dispatch",
                              linked);
    }
    const char *mode = mode_of(self);
    if (strcmp(mode, "off") == 0)
        return record_put(self, txn, hd, HS_IGNORED, "");
    if (strcmp(mode, "auto") == 0) {
        arena_t *arena;
        if (arena_create(&arena))
            return HL_ENOMEM;
        Hotline__CommandReply msg = HOTLINE__COMMAND_REPLY__INIT;
        cmd_reply_t reply = {&msg, arena};
        rc = declare(self, txn, hd, false, "auto", "dispatch", &reply);
        bool refused = !rc && msg.status != HOTLINE__STATUS__OK;
        if (refused) /* wide, or no such unit: a person decides */
            SLOG_INFO("hotspot_suggested", "hotspot=%s reason=\"%s\"", hd->hotspot_id,
                      msg.message);
        arena_destroy(&arena);
        if (rc || !refused)
            return rc;
    }
    SLOG_INFO("hotspot_pending", "hotspot=%s category=%s count=%u", hd->hotspot_id,
              hd->category_prefix, hd->count);
    return record_put(self, txn, hd, HS_PENDING, "");
}

/* ---- commands ---- */

static int load_pending(dispatch_t *self, MDB_txn *txn, const char *field, const char *id,
                        cmd_reply_t *reply, Hotline__HotspotDetected **hd)
{
    if (!id || !*id || strlen(id) > DISPATCH_TICKET_ID_MAX)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, field,
                          "required: the hotspot id (HS-...), at most %d bytes",
                          DISPATCH_TICKET_ID_MAX);
    MDB_val v;
    int rc = store_get(txn, self->hotspots, id, strlen(id), &v);
    if (rc == HL_ENOTFOUND)
        return cmd_refuse(reply, HOTLINE__STATUS__NOT_FOUND, field, "no hotspot %s", id);
    hs_state_t state;
    char incident[DISPATCH_TICKET_ID_MAX + 1];
    if (!rc)
        rc = record_parse(&v, reply->arena, &state, incident, sizeof incident, hd);
    if (rc)
        return rc;
    if (state != HS_PENDING)
        return cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, field,
                          "hotspot %s is %s%s%s: only pending hotspots may be accepted or "
                          "dismissed", id, STATE_NAMES[state], *incident ? " with incident " : "",
                          incident);
    return 0;
}

int dispatch_hotspot_command(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                             cmd_reply_t *reply)
{
    const char *by = cmd->by ? cmd->by->name : cmd->actor ? cmd->actor : "";
    Hotline__HotspotDetected *hd = NULL;
    if (cmd->body_case == HOTLINE__COMMAND__BODY_ACCEPT_HOTSPOT) {
        int rc = load_pending(self, txn, "acceptHotspot.hotspotId",
                              cmd->accept_hotspot->hotspot_id, reply, &hd);
        if (rc || !hd)
            return rc;
        bool supervisor = !cmd->by || cmd->by->role == HOTLINE__ROLE__ROLE_SUPERVISOR;
        return declare(self, txn, hd, supervisor, "accepted", by, reply);
    }
    const Hotline__DismissHotspot *d = cmd->dismiss_hotspot;
    int rc = load_pending(self, txn, "dismissHotspot.hotspotId", d->hotspot_id, reply, &hd);
    if (rc || !hd)
        return rc;
    if (!dispatch_text_ok(reply, "dismissHotspot.reason", d->reason ? d->reason : "",
                          REASON_MAX, "why it is not an incident (read by supervisors)"))
        return 0;
    char *reason = arena_strdup(reply->arena, d->reason);
    if (!reason)
        return HL_ENOMEM;
    mask_phones(reason);
    if ((rc = record_put(self, txn, hd, HS_DISMISSED, "")))
        return rc;
    Hotline__HotspotDismissed hx = HOTLINE__HOTSPOT_DISMISSED__INIT;
    hx.hotspot_id = hd->hotspot_id;
    hx.reason = reason;
    hx.by = (char *)by;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_HOTSPOT_DISMISSED;
    ev.hotspot_dismissed = &hx;
    SLOG_INFO("hotspot_dismissed", "hotspot=%s", hd->hotspot_id);
    return evlog_append(self->log, txn, &ev);
}

/* ---- HTTP ---- */

typedef struct list_walk {
    json_t *list;
    bool want_all;
} list_walk_t;

static int list_visit(void *ctx, const store_entry_t *e)
{
    list_walk_t *w = ctx;
    hs_state_t state;
    char incident[DISPATCH_TICKET_ID_MAX + 1];
    Hotline__HotspotDetected *hd;
    if (record_parse(&e->val, NULL, &state, incident, sizeof incident, &hd))
        return 0; /* a record that does not decode is left out, not an error */
    if (state == HS_PENDING || w->want_all) {
        /* Places are typed at the door: a number written into one is not shown. */
        char *texts[] = {hd->district, hd->street, hd->community};
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
            if (texts[i] && texts[i] != protobuf_c_empty_string)
                mask_phones(texts[i]);
        json_t *j = pbjson_encode(&hd->base, false);
        if (j) {
            json_object_set_new(j, "state", json_string(STATE_NAMES[state]));
            if (*incident)
                json_object_set_new(j, "incidentId", json_string(incident));
            json_array_append_new(w->list, j);
        }
    }
    hotline__hotspot_detected__free_unpacked(hd, NULL);
    return 0;
}

static void on_list(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char all[8];
    list_walk_t w = {json_array(),
                     httpd_query_param(httpd_req_query(req), "all", all, sizeof all) > 0 &&
                         strcmp(all, "true") == 0};
    MDB_txn *txn;
    if (store_read_begin(self->store, &txn)) {
        json_decref(w.list);
        service_http_error(req, 503, NULL, "store unavailable");
        return;
    }
    store_scan(txn, self->hotspots, NULL, list_visit, &w); /* answers with what it read */
    store_read_end(&txn);
    service_http_json(req, 200, json_pack("{s:s, s:o}", "mode", mode_of(self), "hotspots",
                                          w.list));
}

static void on_post(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char id[DISPATCH_TICKET_ID_MAX + 1], action[16], extra[2];
    bool ok = service_path_segment(req, 2, id, sizeof id) > 0 &&
              service_path_segment(req, 3, action, sizeof action) > 0 &&
              service_path_segment(req, 4, extra, sizeof extra) == HL_ENOTFOUND;
    bool accept = ok && strcmp(action, "accept") == 0;
    if (!accept && !(ok && strcmp(action, "dismiss") == 0)) {
        service_http_error(req, 404, NULL,
                           "POST /v1/hotspots/{id}/accept or /v1/hotspots/{id}/dismiss");
        return;
    }
    ProtobufCMessage *body = service_http_body(
        req, accept ? &hotline__accept_hotspot__descriptor : &hotline__dismiss_hotspot__descriptor);
    if (!body)
        return;
    char **field = accept ? &((Hotline__AcceptHotspot *)body)->hotspot_id
                          : &((Hotline__DismissHotspot *)body)->hotspot_id;
    if (!service_take_path_id(req, field, "hotspotId", id)) {
        protobuf_c_message_free_unpacked(body, NULL);
        return;
    }
    Hotline__Command *cmd = service_command_new(
        accept ? HOTLINE__COMMAND__BODY_ACCEPT_HOTSPOT : HOTLINE__COMMAND__BODY_DISMISS_HOTSPOT,
        body);
    if (!cmd) {
        service_http_error(req, 503, NULL, "out of memory; retry");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

/* Dispatchers and supervisors decide on suggestions; both may read the list. */
static const service_route_t ROUTES[] = {
    {"GET", "/v1/hotspots", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_list},
    {"POST", "/v1/hotspots/*", AUTH_DISPATCHER | AUTH_SUPERVISOR, on_post},
};

int dispatch_hotspot_routes(dispatch_t *self, service_t *svc)
{
    return service_routes(svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
