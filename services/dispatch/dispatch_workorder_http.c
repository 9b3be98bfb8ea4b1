/* dispatch_workorder_http: the work order routes.
 *
 *   POST /v1/workorders                    {"ticketId"|"incidentId", "crew", "note"}  dispatcher
 *   POST /v1/workorders/{id}/status        {"status", "note", "photoUrls"}     the crew holding it
 *   GET  /v1/workorders?crew=&state=&limit=&after=     dispatcher, supervisor; a crew its own
 *   GET  /v1/workorders/{id}                           dispatcher, supervisor; a crew its own
 *   GET  /v1/workorders/dead?limit=        the crews' dead letters   dispatcher, supervisor, admin
 *   POST /v1/workorders/dead/{key}/replay  send one again            dispatcher, admin
 * Cancelling is the cancelWorkOrder command (POST /v1/commands, `hotline workorder cancel`).
 * Actions run as commands (idempotency, group commit); queries read in a read transaction.
 * Loop thread. */
#include "dispatch_internal.h"

#include "hl_error.h"
#include "pbjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000

/* ---- listing ------------------------------------------------------------------------------ */

typedef struct wo_walk {
    dispatch_t *self;
    MDB_txn *txn;
    arena_t *arena;
    Hotline__WorkOrderState state;
    const char *after;
    size_t left;
    json_t *out;
    bool *more;
    bool by_crew; /* keys are crew NUL id */
} wo_walk_t;

static int wo_visit(void *ctx, const store_entry_t *e)
{
    wo_walk_t *w = ctx;
    const char *k = e->key.mv_data;
    size_t off = 0;
    if (w->by_crew) {
        const char *nul = memchr(k, '\0', e->key.mv_size);
        off = nul ? (size_t)(nul - k) + 1 : e->key.mv_size;
    }
    char id[DISPATCH_WO_ID_MAX + 1];
    size_t len = e->key.mv_size - off;
    if (len > DISPATCH_WO_ID_MAX)
        return 0;
    memcpy(id, k + off, len);
    id[len] = '\0';
    if (*w->after && strcmp(id, w->after) <= 0)
        return 0;
    arena_reset(w->arena);
    Hotline__WorkOrder *wo;
    int rc = dispatch_workorder_get(w->self, w->txn, id, w->arena, &wo);
    if (rc == HL_ENOTFOUND || rc == HL_ECORRUPT)
        return 0;
    if (rc)
        return rc;
    if (w->state && wo->state != w->state)
        return 0;
    if (!w->left) {
        *w->more = true;
        return 1;
    }
    json_t *j = pbjson_encode(&wo->base, false);
    if (!j || json_array_append_new(w->out, j))
        return HL_ENOMEM;
    w->left--;
    return 0;
}

int dispatch_workorder_list(dispatch_t *self, MDB_txn *txn, const char *crew,
                            Hotline__WorkOrderState state, const char *after, size_t limit,
                            json_t *out, bool *more)
{
    *more = false;
    if (!self->crews)
        return 0;
    arena_t *arena;
    if (arena_create(&arena))
        return HL_ENOMEM;
    wo_walk_t w = {self, txn, arena, state, after ? after : "", limit, out, more, crew != NULL};
    char from[2 * DISPATCH_WO_ID_MAX + 2];
    int n = 0;
    store_range_t r = {0};
    if (crew) {
        n = snprintf(from, sizeof from, "%s%c%s", crew, '\0', w.after);
        r.prefix = from;
        r.prefix_len = strlen(crew) + 1;
    } else {
        n = snprintf(from, sizeof from, "%s", w.after);
    }
    r.from = from;
    r.from_len = n > 0 ? (size_t)n : 0;
    int rc = store_scan(txn, crew ? self->crews->by_crew : self->crews->orders, &r, wo_visit, &w);
    arena_destroy(&arena);
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static bool query_text(httpd_req_t *req, const char *name, char *out, size_t size)
{
    int rc = httpd_query_param(httpd_req_query(req), name, out, size);
    if (rc == HL_ENOTFOUND) {
        out[0] = '\0';
        return true;
    }
    if (rc < 0) {
        service_http_error(req, 400, name, "at most %zu bytes", size - 1);
        return false;
    }
    return true;
}

static bool query_limit(httpd_req_t *req, size_t *out)
{
    char buf[16];
    if (!query_text(req, "limit", buf, sizeof buf))
        return false;
    *out = LIST_LIMIT_DEFAULT;
    if (!buf[0])
        return true;
    char *end = NULL;
    unsigned long v = buf[0] >= '0' && buf[0] <= '9' ? strtoul(buf, &end, 10) : 0;
    if (!end || *end || v < 1 || v > LIST_LIMIT_MAX) {
        service_http_error(req, 400, "limit", "must be a whole number from 1 to %d",
                           LIST_LIMIT_MAX);
        return false;
    }
    *out = v;
    return true;
}

static bool read_begin(dispatch_t *self, httpd_req_t *req, MDB_txn **txn)
{
    int rc = store_read_begin(self->store, txn);
    if (rc)
        service_http_error(req, 503, NULL, "cannot read the store: %s", hl_strerror(rc));
    return rc == 0;
}

/* The id in segment n; answers 400 / 404 itself. */
static bool path_id(httpd_req_t *req, unsigned n, const char *field, char *out, size_t size)
{
    int rc = service_path_segment(req, n, out, size);
    if (rc == HL_ETOOBIG)
        service_http_error(req, 400, field, "longer than %zu bytes", size - 1);
    else if (rc <= 0)
        service_http_error(req, 404, field, "the path names no %s", field);
    return rc > 0;
}

/* Segment n is word and nothing follows it; answers 404 itself. */
static bool path_ends_with(httpd_req_t *req, unsigned n, const char *word, const char *usage)
{
    char got[16], extra[2];
    if (service_path_segment(req, n, got, sizeof got) > 0 && strcmp(got, word) == 0 &&
        service_path_segment(req, n + 1, extra, sizeof extra) == HL_ENOTFOUND)
        return true;
    service_http_error(req, 404, NULL, "no such resource; use %s", usage);
    return false;
}

/* ---- queries ------------------------------------------------------------------------------ */

static void on_list(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char crew[DISPATCH_UNIT_ID_MAX + 1], state_text[32], after[DISPATCH_WO_ID_MAX + 1];
    size_t limit;
    if (!query_text(req, "crew", crew, sizeof crew) ||
        !query_text(req, "state", state_text, sizeof state_text) ||
        !query_text(req, "after", after, sizeof after) || !query_limit(req, &limit))
        return;
    Hotline__WorkOrderState state = 0;
    if (state_text[0]) {
        const ProtobufCEnumDescriptor *ed = &hotline__work_order_state__descriptor;
        for (unsigned i = 1; i < ed->n_values && !state; i++)
            if (strcasecmp(ed->values[i].name, state_text) == 0 ||
                strcasecmp(ed->values[i].name + strlen("WORK_ORDER_"), state_text) == 0)
                state = (Hotline__WorkOrderState)ed->values[i].value;
        if (!state) {
            service_http_error(req, 400, "state",
                               "one of RAISED, ASSIGNED, EN_ROUTE, ON_SITE, DONE, CANCELLED");
            return;
        }
    }
    const auth_principal_t *who = service_req_principal(req);
    if (who->role == HOTLINE__ROLE__ROLE_CREW) {
        if (crew[0] && strcmp(crew, who->subject) != 0) {
            service_http_error(req, 403, "crew",
                               "your token is crew %s's: a crew lists only its own work "
                               "orders (crew=%s or leave it out)",
                               who->subject, who->subject);
            return;
        }
        snprintf(crew, sizeof crew, "%s", who->subject);
    }
    MDB_txn *txn;
    if (!read_begin(self, req, &txn))
        return;
    json_t *list = json_array();
    bool more = false;
    int rc = list ? dispatch_workorder_list(self, txn, crew[0] ? crew : NULL, state, after,
                                            limit, list, &more)
                  : HL_ENOMEM;
    store_read_end(&txn);
    if (rc) {
        json_decref(list);
        service_http_error(req, 500, NULL, "cannot list the work orders: %s", hl_strerror(rc));
        return;
    }
    json_t *body = json_pack("{s:o, s:b}", "workOrders", list, "more", more);
    size_t n = json_array_size(list);
    if (body && more && n)
        json_object_set(body, "next", json_object_get(json_array_get(list, n - 1), "id"));
    service_http_json(req, 200, body);
}

static void on_show(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    char id[DISPATCH_WO_ID_MAX + 1], extra[2];
    if (!path_id(req, 2, "workOrderId", id, sizeof id))
        return;
    if (service_path_segment(req, 3, extra, sizeof extra) != HL_ENOTFOUND) {
        service_http_error(req, 404, NULL, "no such resource; use GET /v1/workorders/{id}");
        return;
    }
    MDB_txn *txn;
    if (!read_begin(self, req, &txn))
        return;
    arena_t *arena = NULL;
    Hotline__WorkOrder *wo = NULL;
    int rc = arena_create(&arena) ? HL_ENOMEM : dispatch_workorder_get(self, txn, id, arena, &wo);
    const auth_principal_t *who = service_req_principal(req);
    json_t *body = NULL;
    if (!rc && who->role == HOTLINE__ROLE__ROLE_CREW && strcmp(wo->crew, who->subject) != 0)
        rc = HL_ECONFLICT;
    else if (!rc && !(body = pbjson_encode(&wo->base, false)))
        rc = HL_ENOMEM;
    store_read_end(&txn);
    arena_destroy(&arena);
    if (rc == HL_ENOTFOUND)
        service_http_error(req, 404, "workOrderId", "work order %s is not known: check the id",
                           id);
    else if (rc == HL_ECONFLICT)
        service_http_error(req, 403, "workOrderId",
                           "work order %s is not crew %s's: a crew reads only its own", id,
                           who->subject);
    else if (rc)
        service_http_error(req, 500, NULL, "cannot read the work order: %s", hl_strerror(rc));
    else
        service_http_json(req, 200, body);
}

static void on_dead(httpd_req_t *req, void *ctx)
{
    dispatch_t *self = ctx;
    size_t limit;
    if (!query_limit(req, &limit))
        return;
    MDB_txn *txn;
    if (!read_begin(self, req, &txn))
        return;
    json_t *list = json_array();
    int rc = list ? dispatch_crews_dead_list(self, txn, limit, list) : HL_ENOMEM;
    store_read_end(&txn);
    if (rc) {
        json_decref(list);
        service_http_error(req, 500, NULL, "cannot list the dead letters: %s", hl_strerror(rc));
        return;
    }
    service_http_json(req, 200, json_pack("{s:o}", "deadLetters", list));
}

/* ---- actions ------------------------------------------------------------------------------ */

static void run(dispatch_t *self, httpd_req_t *req, uint32_t body_case, ProtobufCMessage *body)
{
    Hotline__Command *cmd = service_command_new(body_case, body);
    if (!cmd) {
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    service_http_command(self->svc, req, cmd);
}

static void on_raise(httpd_req_t *req, void *ctx)
{
    ProtobufCMessage *body = service_http_body(req, &hotline__raise_work_order__descriptor);
    if (body)
        run(ctx, req, HOTLINE__COMMAND__BODY_RAISE_WORK_ORDER, body);
}

static void on_status(httpd_req_t *req, void *ctx)
{
    static const char usage[] = "POST /v1/workorders/{id}/status";
    char id[DISPATCH_WO_ID_MAX + 1];
    if (!path_id(req, 2, "workOrderId", id, sizeof id) ||
        !path_ends_with(req, 3, "status", usage))
        return;
    Hotline__UpdateWorkOrderStatus *u = (Hotline__UpdateWorkOrderStatus *)service_http_body(
        req, &hotline__update_work_order_status__descriptor);
    if (!u)
        return;
    if (!service_take_path_id(req, &u->work_order_id, "workOrderId", id)) {
        protobuf_c_message_free_unpacked(&u->base, NULL);
        return;
    }
    run(ctx, req, HOTLINE__COMMAND__BODY_UPDATE_WORK_ORDER_STATUS, &u->base);
}

static void on_replay(httpd_req_t *req, void *ctx)
{
    static const char usage[] = "POST /v1/workorders/dead/{key}/replay";
    char key[CONNECTOR_KEY_MAX + 1];
    if (!path_id(req, 3, "key", key, sizeof key) || !path_ends_with(req, 4, "replay", usage))
        return;
    Hotline__ReplayDeadLetter *r = malloc(sizeof *r);
    if (r)
        hotline__replay_dead_letter__init(r);
    if (!r || !(r->key = strdup(key))) {
        free(r);
        service_http_error(req, 500, NULL, "out of memory");
        return;
    }
    run(ctx, req, HOTLINE__COMMAND__BODY_REPLAY_DEAD_LETTER, &r->base);
}

/* Who may call what. The more specific rows come first: routes are tried in order. */
static const service_route_t ROUTES[] = {
    {"GET", "/v1/workorders/dead", AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_ADMIN, on_dead},
    {"POST", "/v1/workorders/dead/*", AUTH_DISPATCHER | AUTH_ADMIN, on_replay},
    {"POST", "/v1/workorders", AUTH_DISPATCHER, on_raise},
    {"POST", "/v1/workorders/*", AUTH_CREW, on_status},
    {"GET", "/v1/workorders", AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_CREW, on_list},
    {"GET", "/v1/workorders/*", AUTH_DISPATCHER | AUTH_SUPERVISOR | AUTH_CREW, on_show},
};

int dispatch_workorder_routes(dispatch_t *self, service_t *svc)
{
    return service_routes(svc, ROUTES, sizeof ROUTES / sizeof *ROUTES, self);
}
