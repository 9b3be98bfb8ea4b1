/* dispatch_catalogue: editions of the routing catalogue, loaded without a restart.
 *
 *   GET  /v1/catalogue[?format=text]  the edition in use: JSON (with the file form in "text"),
 *                                      or only the file form (text/plain)
 *   GET  /v1/catalogue/match  ?categoryCode=&district=&street=&community=&urgency=
 *                                      where such a ticket would go, and by which rule
 *   POST /v1/catalogue/diff  {"text"}  what loading the file would change (nothing stored)
 *   POST /v1/catalogue       {"text"}  load it: command LoadCatalogue -> CatalogueLoaded
 *
 * Edition 0 is built from the configuration (routes, units, fallbackUnit). Each loaded file
 * becomes edition n + 1 in "catalogue" (BE u32 version -> BE i64 loaded ms, who NUL, text),
 * kept for the record; the highest is the one in use, also after a restart. A file is refused
 * whole when a line breaks a rule (the message names the line), and when it drops a unit
 * that still holds open tickets (they would have nobody to go back to).
 *
 * The command writes the edition inside its group-commit transaction; the catalogue in memory
 * is swapped only after that transaction commits (dispatch_catalogue_after_commit reads the
 * newest stored edition), so a rolled-back load changes nothing, and tickets dispatched in the
 * same batch as the load still record the edition that routed them.
 * Loop thread. */
#include "dispatch_internal.h"

#include "editions.h"
#include "hl_error.h"
#include "slog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The newest stored edition: *version (0 = none), its text (borrowed from txn). */
static int newest(dispatch_t *self, MDB_txn *txn, uint32_t *version, const char **text,
                  size_t *len)
{
    edition_t e;
    int rc = editions_newest(txn, self->catalogue, &e);
    *version = e.version;
    *text = e.text;
    *len = e.len;
    return rc;
}

/* Use the newest stored edition if it is not the one in memory. */
static int adopt_newest(dispatch_t *self)
{
    MDB_txn *txn;
    int rc = store_read_begin(self->store, &txn);
    if (rc)
        return rc;
    uint32_t version;
    const char *text = NULL;
    size_t len = 0;
    rc = newest(self, txn, &version, &text, &len);
    if (!rc && version != 0 && version != self->cat->version) {
        char err[512];
        dispatch_catalogue_t *cat;
        rc = dispatch_catalogue_parse(&cat, text, len, err, sizeof err);
        if (rc) {
            /* It was checked when it was loaded; a newer build may be stricter. Keep routing
             * with what is in memory and say so loudly. */
            SLOG_ERROR("catalogue_unreadable",
                       "version=%u reason=\"%s\" next=\"routing with edition %u; load a "
                       "corrected file (hotline catalogue load)\"",
                       version, err, self->cat->version);
        } else {
            dispatch_catalogue_stamp(cat, version, text, len);
            dispatch_catalogue_destroy(&self->cat);
            self->cat = cat;
            SLOG_INFO("catalogue_in_use", "version=%u label=\"%s\" rules=%zu units=%zu", version,
                      cat->label, cat->nrules, cat->nunits);
        }
    }
    store_read_end(&txn);
    return rc == HL_EINVAL ? 0 : rc;
}

int dispatch_catalogue_open(dispatch_t *self)
{
    int rc = store_db(self->store, "catalogue", 0, &self->catalogue);
    return rc ? rc : adopt_newest(self);
}

void dispatch_catalogue_after_commit(dispatch_t *self)
{
    if (!self->catalogue_dirty)
        return;
    int rc = adopt_newest(self);
    if (rc)
        SLOG_WARN("catalogue_not_swapped", "reason=\"%s\" next=\"retry after the next commit\"",
                  hl_strerror(rc));
    else
        self->catalogue_dirty = false;
}

static const Hotline__TicketStatus OPEN[] = {
    HOTLINE__TICKET_STATUS__TICKET_DISPATCHED, HOTLINE__TICKET_STATUS__TICKET_SIGNED,
    HOTLINE__TICKET_STATUS__TICKET_REPLIED,    HOTLINE__TICKET_STATUS__TICKET_REWORK,
    HOTLINE__TICKET_STATUS__TICKET_LINKED,
};

/* A unit of the edition in use that the new one drops, and that still holds open tickets:
 * refused (answered). Returns DISPATCH_REFUSED, 0, or a store error. */
static int check_dropped(dispatch_t *self, MDB_txn *txn, const dispatch_catalogue_t *new,
                         cmd_reply_t *reply)
{
    const dispatch_catalogue_t *old = self->cat;
    for (size_t i = 0; i <= old->nunits + old->nrules; i++) {
        const char *u = i < old->nunits                ? old->units[i].id
                        : i < old->nunits + old->nrules ? old->rules[i - old->nunits].unit
                                                       : old->fallback;
        if (dispatch_catalogue_unit_name(new, u))
            continue;
        uint64_t open = 0;
        for (size_t s = 0; s < sizeof OPEN / sizeof *OPEN; s++) {
            uint64_t n;
            int rc = dispatch_unit_count(self, txn, u, OPEN[s], &n);
            if (rc)
                return rc;
            open += n;
        }
        if (open) {
            cmd_refuse(reply, HOTLINE__STATUS__CONFLICT, "loadCatalogue.text",
                       "the file drops unit %s, which holds %llu open tickets; keep its unit "
                       "line until they are closed or redirected",
                       u, (unsigned long long)open);
            return DISPATCH_REFUSED;
        }
    }
    return 0;
}

int dispatch_load_catalogue(dispatch_t *self, MDB_txn *txn, const Hotline__Command *cmd,
                            cmd_reply_t *reply)
{
    const char *text = cmd->load_catalogue->text ? cmd->load_catalogue->text : "";
    size_t len = strlen(text);
    char err[512];
    dispatch_catalogue_t *cat;
    int rc = dispatch_catalogue_parse(&cat, text, len, err, sizeof err);
    if (rc == HL_EINVAL)
        return cmd_refuse(reply, HOTLINE__STATUS__INVALID, "loadCatalogue.text", "%s", err);
    if (rc)
        return rc;
    rc = check_dropped(self, txn, cat, reply);
    uint32_t version = 0;
    const char *ignored;
    size_t ignored_len;
    if (!rc)
        rc = newest(self, txn, &version, &ignored, &ignored_len);
    if (rc) {
        dispatch_catalogue_destroy(&cat);
        return rc == DISPATCH_REFUSED ? 0 : rc;
    }
    version = (version > self->cat->version ? version : self->cat->version) + 1;
    dispatch_catalogue_stamp(cat, version, text, len);
    const char *by = cmd->by && cmd->by->name ? cmd->by->name : cmd->actor ? cmd->actor : "";
    rc = editions_put(txn, self->catalogue, version, hclock_now_ms(self->clock), by, text, len);
    Hotline__CatalogueLoaded body = HOTLINE__CATALOGUE_LOADED__INIT;
    body.version = version;
    body.label = (char *)cat->label;
    body.rules = (uint32_t)cat->nrules;
    body.units = (uint32_t)cat->nunits;
    body.sha256 = cat->sha256;
    body.by = (char *)by;
    Hotline__Event ev = HOTLINE__EVENT__INIT;
    ev.body_case = HOTLINE__EVENT__BODY_CATALOGUE_LOADED;
    ev.catalogue_loaded = &body;
    if (!rc)
        rc = evlog_append(self->log, txn, &ev);
    if (!rc) {
        Hotline__CatalogueResult *res = arena_calloc(reply->arena, sizeof *res);
        if (!res)
            rc = HL_ENOMEM;
        else {
            hotline__catalogue_result__init(res);
            res->version = version;
            res->label = arena_strdup(reply->arena, cat->label);
            res->rules = body.rules;
            res->units = body.units;
            res->sha256 = arena_strdup(reply->arena, cat->sha256);
            reply->msg->result_case = HOTLINE__COMMAND_REPLY__RESULT_CATALOGUE;
            reply->msg->catalogue = res;
            if (!res->label || !res->sha256)
                rc = HL_ENOMEM;
        }
    }
    if (!rc) {
        self->catalogue_dirty = true;
        SLOG_INFO("catalogue_loaded", "version=%u label=\"%s\" rules=%zu units=%zu by=\"%s\"",
                  version, cat->label, cat->nrules, cat->nunits, by);
    }
    dispatch_catalogue_destroy(&cat);
    return rc;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static void on_show(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char format[8] = "";
    int rc = httpd_query_param(httpd_req_query(req), "format", format, sizeof format);
    if (rc >= 0 && strcmp(format, "text") == 0) {
        char *text = dispatch_catalogue_render(self->cat);
        if (!text) {
            service_http_error(req, 500, NULL, "out of memory");
            return;
        }
        httpd_respond(req, 200, "text/plain; charset=utf-8", text, strlen(text));
        free(text);
        return;
    }
    if (rc >= 0 && *format && strcmp(format, "json") != 0) {
        service_http_error(req, 400, "format", "'%s' is not a format: json (the default) or text",
                           format);
        return;
    }
    json_t *body = dispatch_catalogue_json(self->cat);
    char *text = dispatch_catalogue_render(self->cat);
    if (!body || !text) {
        json_decref(body);
        free(text);
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    json_object_set_new(body, "text", json_string(text));
    free(text);
    service_http_json(req, 200, body);
}

/* The file from {"text": ...}; NULL when answered (400). */
static Hotline__LoadCatalogue *body_of(httpd_req_t *req)
{
    return (Hotline__LoadCatalogue *)service_http_body(req, &hotline__load_catalogue__descriptor);
}

static void on_diff(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    Hotline__LoadCatalogue *body = body_of(req);
    if (!body)
        return;
    const char *text = body->text ? body->text : "";
    char err[512];
    dispatch_catalogue_t *cat;
    int rc = dispatch_catalogue_parse(&cat, text, strlen(text), err, sizeof err);
    protobuf_c_message_free_unpacked(&body->base, NULL);
    if (rc == HL_EINVAL) {
        service_http_error(req, 400, "text", "%s", err);
        return;
    }
    if (rc) {
        service_http_error(req, 500, NULL, "%s", hl_strerror(rc));
        return;
    }
    json_t *diff = dispatch_catalogue_diff(self->cat, cat);
    dispatch_catalogue_destroy(&cat);
    service_http_json(req, 200, diff);
}

static void on_load(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    Hotline__LoadCatalogue *body = body_of(req);
    if (!body)
        return;
    Hotline__Command *cmd =
        service_command_new(HOTLINE__COMMAND__BODY_LOAD_CATALOGUE, &body->base);
    if (!cmd) {
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

/* "URGENT" or "URGENCY_URGENT", any case: the number, or -1. */
static int urgency_parse(const char *text)
{
    char name[40];
    snprintf(name, sizeof name, "%s%s", strncasecmp(text, "URGENCY_", 8) == 0 ? "" : "URGENCY_",
             text);
    for (char *p = name; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value_by_name(&hotline__urgency__descriptor, name);
    return v ? v->value : -1;
}

/* One optional query parameter into out; false when answered (400). */
static bool param(httpd_req_t *req, const char *name, char *out, size_t size)
{
    int rc = httpd_query_param(httpd_req_query(req), name, out, size);
    if (rc == HL_ENOTFOUND)
        out[0] = '\0';
    else if (rc < 0) {
        service_http_error(req, 400, name, "at most %zu bytes", size - 1);
        return false;
    }
    return true;
}

static void on_match(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char category[32], district[CATALOGUE_AREA_MAX + 4], street[CATALOGUE_AREA_MAX + 4],
        community[CATALOGUE_AREA_MAX + 4], urgency[32];
    if (!param(req, "categoryCode", category, sizeof category) ||
        !param(req, "district", district, sizeof district) ||
        !param(req, "street", street, sizeof street) ||
        !param(req, "community", community, sizeof community) ||
        !param(req, "urgency", urgency, sizeof urgency))
        return;
    dispatch_where_t w = {category, district, street, community, false};
    if (*urgency) {
        int u = urgency_parse(urgency);
        if (u < 0) {
            service_http_error(req, 400, "urgency",
                               "'%s' is not an urgency: NORMAL, URGENT or VERY_URGENT", urgency);
            return;
        }
        w.urgent = dispatch_urgent((Hotline__Urgency)u);
    }
    dispatch_match_t m;
    dispatch_catalogue_route(self->cat, &w, &m);
    const char *name = dispatch_catalogue_unit_name(self->cat, m.unit);
    json_t *assist = json_array();
    for (size_t i = 0; i < m.nassist; i++)
        json_array_append_new(assist, json_string(m.assist[i]));
    service_http_json(req, 200,
                      json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:o}", "unit", m.unit, "name",
                                name ? name : m.unit, "route", m.route, "routeIndex", m.index,
                                "line", (json_int_t)m.line, "catalogueVersion",
                                (json_int_t)m.version, "assistingUnits", assist));
}

/* Anyone with a role reads the catalogue; the centre's supervisors and admins change it. */
static const service_route_t ROUTES[] = {
    {"GET", "/v1/catalogue", AUTH_ANY_ROLE, on_show},
    {"GET", "/v1/catalogue/match", AUTH_ANY_ROLE, on_match},
    {"POST", "/v1/catalogue/diff", AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_ADMIN, on_diff},
    {"POST", "/v1/catalogue", AUTH_SUPERVISOR | AUTH_ADMIN, on_load},
};

int dispatch_catalogue_routes(dispatch_t *self, service_t *svc)
{
    return service_routes(svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
